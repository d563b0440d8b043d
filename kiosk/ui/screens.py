"""One small screen per step of the workflow; each draws a CounterView and sends taps.

Screens hold no patient data of their own beyond what they show: the session is the one
place it lives, and a new view (card out, "Terminer", idle) redraws them empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dmpcommon.information import INFORMATION_TEXT, INFORMATION_VERSION
from dmpcommon.vocabulary import (
    AccessMode,
    Authorisation,
    BreakGlassReason,
    ContactChannel,
    DmpStatus,
)
from kiosk.core import CounterView, CounterWorkflow, HolderView, OperatorView, Step
from kiosk.core.ports import Delivery, SummarySection

__all__ = ["SCREENS", "Screen", "holder_label", "operator_label"]

Submit = Callable[[Callable[[CounterWorkflow], object]], None]

_DMP_STATUS = {
    DmpStatus.VALID: "Le patient a un DMP.",
    DmpStatus.NONE: "Le patient n'a pas encore de DMP.",
    DmpStatus.CLOSED: "Le DMP de ce patient est fermé.",
}
_AUTHORISATION = {
    Authorisation.AUTHORISED: "Vous êtes autorisé(e) à le consulter.",
    Authorisation.NOT_AUTHORISED: "Vous n'êtes pas autorisé(e) à le consulter.",
    Authorisation.BLOCKED: "Le patient vous a bloqué(e) sur ce DMP.",
}
_SECTIONS = {
    SummarySection.MEDICATIONS: "Traitements en cours",
    SummarySection.PATHOLOGIES_ALLERGIES: "Allergies et pathologies",
    SummarySection.CARE_HISTORY: "Soins des 24 derniers mois",
    SummarySection.REPORTS: "Derniers comptes rendus",
    SummarySection.EXAM_RESULTS: "Derniers résultats d'examens",
    SummarySection.ADVANCE_DIRECTIVES: "Directives anticipées",
    SummarySection.EMERGENCY_CONTACTS: "Personnes à prévenir",
    SummarySection.OTHER: "Autres documents",
}
_MODES = {
    AccessMode.NORMAL: "",
    AccessMode.REGULATOR: " — accès régulateur",
    AccessMode.BREAK_GLASS: " — accès d'urgence",
}
BREAK_GLASS_REASONS = {
    BreakGlassReason.VITAL_EMERGENCY: "Urgence vitale",
    BreakGlassReason.UNCONSCIOUS_PATIENT: "Patient inconscient ou hors d'état de consentir",
    BreakGlassReason.OTHER: "Autre situation d'urgence (à préciser)",
}
_CHANNELS = (
    (None, "Pas de contact", "none"),
    (ContactChannel.EMAIL, "E-mail", "email"),
    (ContactChannel.SMS, "SMS (mobile)", "sms"),
)


def holder_label(holder: HolderView) -> str:
    """NOM Prénom: twins differ by first name."""
    return f"{holder.nom} {holder.prenom.capitalize()}"


def operator_label(operator: OperatorView) -> str:
    """ "Prénom NOM, structure"."""
    return f"{operator.prenom.capitalize()} {operator.nom}, {operator.structure}"


def _date(iso: str) -> str:
    parts = iso.split("-")
    return "/".join(reversed(parts)) if len(parts) == 3 else iso


def big_button(text: str, name: str) -> QPushButton:
    """A touch target: large, one action."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setMinimumHeight(72)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


def title(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("title")
    label.setWordWrap(True)
    return label


def text(value: str = "", name: str = "") -> QLabel:
    label = QLabel(value)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


class Screen(QWidget):
    """A step's screen: `render` draws a view; taps go to `submit`."""

    step: Step
    keeps_input = False  # True: drawn on entering only, so typing is never reset

    def __init__(self, submit: Submit) -> None:
        super().__init__()
        self.submit = submit
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(48, 32, 48, 32)
        self.layout_.setSpacing(18)

    def draw(self, view: CounterView) -> None:
        """Draw the view (called as this screen becomes or stays the current one)."""

    def clear(self) -> None:
        """Forget what was shown (called when the screen is left): no patient data stays
        in a hidden widget."""


class WelcomeScreen(Screen):
    step = Step.WELCOME

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addStretch()
        self.layout_.addWidget(title("Dossier Médical Partagé"))
        self.layout_.addWidget(
            text("Insérez votre carte professionnelle (CPS ou CPE) pour commencer.", "lead")
        )
        self.layout_.addStretch()


class ReadyScreen(Screen):
    step = Step.READY

    def __init__(self, submit: Submit, on_admin: Callable[[], None]) -> None:
        super().__init__(submit)
        self.hello = title("")
        self.layout_.addWidget(self.hello)
        self.layout_.addStretch()
        self.layout_.addWidget(text("Insérez la carte Vitale du patient.", "lead"))
        self.layout_.addStretch()
        admin = QPushButton("Actions refusées par le service central")
        admin.setObjectName("admin")
        admin.clicked.connect(on_admin)
        self.layout_.addWidget(admin, alignment=Qt.AlignmentFlag.AlignRight)

    def draw(self, view: CounterView) -> None:
        operator = view.operator
        self.hello.setText(f"Bonjour, {operator_label(operator)}" if operator else "")


class HoldersScreen(Screen):
    step = Step.HOLDERS

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Pour qui ?"))
        self.layout_.addWidget(text("Choisissez la personne sur la carte Vitale.", "lead"))
        self.buttons = QVBoxLayout()
        self.layout_.addLayout(self.buttons)
        self.layout_.addStretch()

    def clear(self) -> None:
        while self.buttons.count():
            item = self.buttons.takeAt(0)
            if item is not None and (widget := item.widget()) is not None:
                widget.deleteLater()

    def draw(self, view: CounterView) -> None:
        self.clear()
        for index, holder in enumerate(view.holders):
            label = f"{holder_label(holder)} — né(e) le {_date(holder.birth_date)}"
            if holder.minor:
                label += " — mineur(e)"
            button = big_button(label, f"holder-{index}")
            button.clicked.connect(
                lambda _=False, i=index: self.submit(lambda s: s.choose_holder(i))
            )
            self.buttons.addWidget(button)


class PatientScreen(Screen):
    step = Step.PATIENT

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.name = title("")
        self.identity = text("", "lead")
        self.status = text("", "lead")
        for widget in (self.name, self.identity, self.status):
            self.layout_.addWidget(widget)
        self.create_button = big_button("Créer le DMP", "create")
        self.open_button = big_button("Consulter le DMP", "open")
        self.regulator_button = big_button("Accès régulateur SAMU", "regulator")
        self.break_glass_button = big_button("Accès d'urgence (bris de glace)", "break-glass")
        self.reissue_button = big_button("Nouveau code d'accès pour le patient", "reissue")
        self.close_button = big_button("Fermer le DMP (à la demande du patient)", "close")
        self.reopen_button = big_button("Rouvrir le DMP (à la demande du patient)", "reopen")
        self.close_button.clicked.connect(lambda: submit(lambda s: s.set_closed(True)))
        self.reopen_button.clicked.connect(lambda: submit(lambda s: s.set_closed(False)))
        self.finish_button = big_button("Terminer", "finish")
        self.create_button.clicked.connect(lambda: submit(lambda s: s.start_creation()))
        self.reissue_button.clicked.connect(lambda: submit(lambda s: s.reissue_activation()))
        self.open_button.clicked.connect(lambda: submit(lambda s: s.open_record()))
        self.regulator_button.clicked.connect(
            lambda: submit(lambda s: s.open_record(AccessMode.REGULATOR))
        )
        self.break_glass_button.clicked.connect(lambda: submit(lambda s: s.ask_break_glass()))
        self.finish_button.clicked.connect(lambda: submit(lambda s: s.finish()))
        for button in (
            self.create_button,
            self.open_button,
            self.regulator_button,
            self.break_glass_button,
            self.reissue_button,
            self.close_button,
            self.reopen_button,
            self.finish_button,
        ):
            self.layout_.addWidget(button)
        self.layout_.addStretch()

    def clear(self) -> None:
        for label in (self.name, self.identity, self.status):
            label.clear()

    def draw(self, view: CounterView) -> None:
        patient = view.patient
        self.name.setText(
            f"{holder_label(patient)}, né(e) le {_date(patient.birth_date)}" if patient else ""
        )
        self.identity.setText(
            "Identité récupérée du répertoire national (INS)."
            if view.identity_qualified
            else "Identité à vérifier au retour du réseau (hors ligne)."
        )
        if view.dmp is None:
            self.status.setText("Statut du DMP inconnu hors ligne.")
        else:
            status = _DMP_STATUS[view.dmp]
            professional = view.operator is not None and view.operator.health_professional
            if view.dmp is DmpStatus.VALID and professional and view.authorisation:
                status += " " + _AUTHORISATION[view.authorisation]
            self.status.setText(status)
        self.create_button.setVisible(view.can_create)
        self.open_button.setVisible(view.can_open)
        self.regulator_button.setVisible(view.can_open_as_regulator)
        self.break_glass_button.setVisible(view.can_break_glass)
        self.reissue_button.setVisible(view.can_reissue_activation)
        self.close_button.setVisible(view.can_close)
        self.reopen_button.setVisible(view.can_reopen)
        self.finish_button.setVisible(view.can_finish)


class InformationScreen(Screen):
    step = Step.INFORMATION

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Information du patient"))
        browser = QTextBrowser()
        browser.setObjectName("information")
        browser.setPlainText(INFORMATION_TEXT + f"\n(version {INFORMATION_VERSION})")
        self.layout_.addWidget(browser, stretch=1)
        row = QHBoxLayout()
        back = big_button("Retour", "back")
        back.clicked.connect(lambda: submit(lambda s: s.back()))
        accept = big_button("Le patient a lu l'information : continuer", "accept")
        accept.clicked.connect(lambda: submit(lambda s: s.accept_information(INFORMATION_VERSION)))
        row.addWidget(back, 1)
        row.addWidget(accept, 3)
        self.layout_.addLayout(row)


class ConsentScreen(Screen):
    """Consent (never pre-ticked), representative, emergency choices, contact, doctor."""

    step = Step.CONSENT
    keeps_input = True

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Consentement et choix du patient"))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        form = QVBoxLayout(body)
        form.setSpacing(14)
        self.consent = QCheckBox("Le patient consent à la création de son DMP")
        self.consent.setObjectName("consent")
        form.addWidget(self.consent)
        self.rep_label = text("Représentant légal (le patient est mineur) :")
        self.representative = QComboBox()
        self.representative.setObjectName("representative")
        form.addWidget(self.rep_label)
        form.addWidget(self.representative)
        form.addWidget(text("En cas d'urgence (chaque choix peut être décoché) :", "section"))
        self.etreat = QCheckBox("Accès du médecin régulateur du SAMU (15)")
        self.btg = QCheckBox("Accès d'urgence d'un professionnel (« bris de glace »)")
        self.masked = QCheckBox("Documents masqués visibles dans ces urgences")
        for box, name, why in (
            (self.etreat, "etreat", "Le médecin du 15 peut lire le DMP pour vous secourir."),
            (
                self.btg,
                "btg",
                "En urgence, un soignant peut l'ouvrir en donnant un motif ; c'est tracé et "
                "vous êtes prévenu(e).",
            ),
            (
                self.masked,
                "masked",
                "Les documents que vous masquez restent visibles dans ces deux cas.",
            ),
        ):
            box.setObjectName(name)
            form.addWidget(box)
            form.addWidget(text(why, "hint"))
        form.addWidget(text("Être prévenu des accès et des nouveaux documents :", "section"))
        channels = QHBoxLayout()
        self.channel = QButtonGroup(self)
        for i, (_channel, label, name) in enumerate(_CHANNELS):
            radio = QRadioButton(label)
            radio.setObjectName(f"channel-{name}")
            self.channel.addButton(radio, i)
            channels.addWidget(radio)
        form.addLayout(channels)
        self.address = QLineEdit()
        self.address.setObjectName("address")
        self.address.setPlaceholderText("adresse e-mail ou numéro de mobile")
        form.addWidget(self.address)
        form.addWidget(text("Médecin traitant (RPPS, facultatif) :", "section"))
        self.doctor = QLineEdit()
        self.doctor.setObjectName("doctor")
        form.addWidget(self.doctor)
        self.authorise = QCheckBox("Autoriser le professionnel présent à consulter ce DMP")
        self.authorise.setObjectName("authorise")
        form.addWidget(self.authorise)
        form.addStretch()
        scroll.setWidget(body)
        self.layout_.addWidget(scroll, stretch=1)
        row = QHBoxLayout()
        back = big_button("Retour", "back")
        back.clicked.connect(lambda: submit(lambda s: s.back()))
        create = big_button("Créer le DMP", "create")
        create.clicked.connect(self._create)
        row.addWidget(back, 1)
        row.addWidget(create, 3)
        self.layout_.addLayout(row)

    def form(self) -> dict[str, Any]:
        checked = self.channel.checkedId()
        channel = _CHANNELS[checked][0] if 0 <= checked < len(_CHANNELS) else None
        rep = self.representative.currentData()
        return {
            "consent": self.consent.isChecked(),
            "representative": rep if isinstance(rep, int) else None,
            "etreat": self.etreat.isChecked(),
            "btg": self.btg.isChecked(),
            "masked": self.masked.isChecked(),
            "contact_channel": channel,
            "contact_address": self.address.text(),
            "treating_doctor": self.doctor.text().strip(),
            "authorise_operator": self.authorise.isChecked() and self.authorise.isVisible(),
        }

    def _create(self) -> None:
        form = self.form()

        def create(workflow: CounterWorkflow) -> None:
            workflow.update_form(**form)
            workflow.create()

        self.submit(create)

    def clear(self) -> None:
        self.draw(CounterView(step=Step.CONSENT))

    def draw(self, view: CounterView) -> None:
        form = view.form
        self.consent.setText(
            "Le représentant légal consent à la création du DMP"
            if view.minor
            else "Le patient consent à la création de son DMP"
        )
        self.consent.setChecked(form.consent)
        self.rep_label.setVisible(view.minor)
        self.representative.setVisible(view.minor)
        self.representative.clear()
        for index, adult in view.adults:
            self.representative.addItem(holder_label(adult), index)
        if form.representative is not None:
            self.representative.setCurrentIndex(
                max(0, self.representative.findData(form.representative))
            )
        self.etreat.setChecked(form.etreat)
        self.btg.setChecked(form.btg)
        self.masked.setChecked(form.masked)
        channel_id = next(
            (i for i, (channel, _, _) in enumerate(_CHANNELS) if channel == form.contact_channel),
            0,
        )
        button = self.channel.button(channel_id)
        if button is not None:
            button.setChecked(True)
        self.address.setText(form.contact_address)
        self.doctor.setText(form.treating_doctor)
        operator = view.operator
        self.authorise.setText(
            f"Autoriser {operator.prenom.capitalize()} {operator.nom} à consulter ce DMP"
            if operator
            else "Autoriser le professionnel présent à consulter ce DMP"
        )
        self.authorise.setChecked(form.authorise_operator)
        self.authorise.setVisible(view.can_authorise_operator)


class CreatedScreen(Screen):
    step = Step.CREATED

    def __init__(self, submit: Submit, on_print: Callable[[], None]) -> None:
        super().__init__(submit)
        self.heading = title("")
        self.details = text("", "lead")
        self.layout_.addWidget(self.heading)
        self.layout_.addWidget(self.details)
        self.layout_.addStretch()
        again = big_button("Imprimer de nouveau la fiche", "print")
        again.clicked.connect(on_print)
        finish = big_button("Terminer", "finish")
        finish.clicked.connect(lambda: submit(lambda s: s.finish()))
        self.layout_.addWidget(again)
        self.layout_.addWidget(finish)

    def clear(self) -> None:
        self.heading.clear()
        self.details.clear()

    def draw(self, view: CounterView) -> None:
        sheet = view.sheet
        if sheet is None:
            return
        # "DMP créé" only once the service said so; until then, what is true.
        if sheet.reissued:
            heading = "Nouveau code d'accès remis : l'ancien ne fonctionne plus."
        elif view.creation is Delivery.ACCEPTED:
            heading = "DMP créé."
        elif view.creation is Delivery.REJECTED:
            heading = "Le service a refusé la création : aucun DMP n'a été créé."
        elif sheet.online:
            heading = "Création envoyée : en attente de la réponse du service…"
        else:
            heading = "Création enregistrée : elle sera transmise au retour du réseau."
        self.heading.setText(heading)
        self.details.setText(
            "La fiche remise au patient ne sert pas : reprenez la création avec lui, ou "
            "appelez le support."
            if view.creation is Delivery.REJECTED
            else "La fiche d'accès du patient est imprimée : identifiant et code provisoire "
            "pour activer son accès en ligne."
        )


class BreakGlassScreen(Screen):
    step = Step.BREAK_GLASS
    keeps_input = True

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Accès d'urgence (bris de glace)"))
        self.layout_.addWidget(
            text(
                "Cet accès est exceptionnel : il est tracé avec son motif, et le patient en "
                "est informé.",
                "warning",
            )
        )
        self.reason = QComboBox()
        self.reason.setObjectName("reason")
        for code, label in BREAK_GLASS_REASONS.items():
            self.reason.addItem(label, code.value)
        self.layout_.addWidget(self.reason)
        self.details = QLineEdit()
        self.details.setObjectName("reason-text")
        self.details.setPlaceholderText("Précisez la situation (au moins 5 caractères)")
        self.layout_.addWidget(self.details)
        self.layout_.addStretch()
        row = QHBoxLayout()
        back = big_button("Retour", "back")
        back.clicked.connect(lambda: submit(lambda s: s.back()))
        go = big_button("Accéder au DMP en urgence", "confirm")
        go.clicked.connect(self._confirm)
        row.addWidget(back, 1)
        row.addWidget(go, 3)
        self.layout_.addLayout(row)

    def _confirm(self) -> None:
        code, reason = BreakGlassReason(str(self.reason.currentData())), self.details.text()
        self.submit(lambda s: s.open_record(AccessMode.BREAK_GLASS, code, reason))

    def clear(self) -> None:
        self.details.clear()
        self.reason.setCurrentIndex(0)


class SummaryScreen(Screen):
    """The record's summary: health data on screen only, gone with the next view."""

    step = Step.SUMMARY

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.heading = title("")
        self.layout_.addWidget(self.heading)
        self.body = QTextBrowser()
        self.body.setObjectName("summary")
        self.layout_.addWidget(self.body, stretch=1)
        finish = big_button("Terminer", "finish")
        finish.clicked.connect(lambda: submit(lambda s: s.finish()))
        self.layout_.addWidget(finish)

    def clear(self) -> None:
        self.heading.clear()
        self.body.clear()

    def draw(self, view: CounterView) -> None:
        summary = view.summary
        if summary is None:
            self.clear()
            return
        patient = holder_label(view.patient) if view.patient else ""
        self.heading.setText(f"DMP de {patient}{_MODES[summary.mode]}")
        html = []
        for section, label in _SECTIONS.items():
            html.append(f"<h3>{label}</h3>")
            documents = summary.documents(section)
            if not documents:
                html.append("<p><i>Aucun document.</i></p>")
            for doc in documents:
                heading = _escape(doc.title)
                when = _date(doc.document_date)
                author = _escape(doc.author)
                content = _escape(doc.content)
                html.append(f"<p><b>{heading}</b> — {when} — {author}<br>{content}</p>")
        self.body.setHtml("".join(html))


def _escape(value: object) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


SCREENS: tuple[type[Screen], ...] = (
    WelcomeScreen,
    HoldersScreen,
    PatientScreen,
    InformationScreen,
    ConsentScreen,
    BreakGlassScreen,
    SummaryScreen,
)
