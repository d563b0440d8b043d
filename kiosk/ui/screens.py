"""One small screen per step of the workflow; each draws a SessionView and sends taps.

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
    QGridLayout,
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

from kiosk.information import INFORMATION_TEXT, INFORMATION_VERSION
from kiosk.session import KioskSession, SessionView, Step

__all__ = ["SCREENS", "Screen"]

Submit = Callable[[Callable[[KioskSession], object]], None]

_DMP_STATUS = {
    "VALIDE": "Le patient a un DMP.",
    "NON_EXISTE": "Le patient n'a pas encore de DMP.",
    "FERME": "Le DMP de ce patient est fermé.",
}
_AUTHORISATION = {
    "AUTORISE": "Vous êtes autorisé(e) à le consulter.",
    "NON_AUTORISE": "Vous n'êtes pas autorisé(e) à le consulter.",
    "BLOQUE": "Le patient vous a bloqué(e) sur ce DMP.",
}
_SECTIONS = (
    ("medications", "Traitements en cours"),
    ("pathologies_allergies", "Allergies et pathologies"),
    ("care_history_24_months", "Soins des 24 derniers mois"),
    ("latest_reports", "Derniers comptes rendus"),
    ("latest_exam_results", "Derniers résultats d'examens"),
    ("advance_directives", "Directives anticipées"),
    ("emergency_contacts", "Personnes à prévenir"),
)
BREAK_GLASS_REASONS = (
    ("URGENCE_VITALE", "Urgence vitale"),
    ("PATIENT_INCONSCIENT", "Patient inconscient ou hors d'état de consentir"),
    ("AUTRE", "Autre situation d'urgence (à préciser)"),
)


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

    def draw(self, view: SessionView) -> None:
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


class PinScreen(Screen):
    """A PIN pad: the digits stay in this widget until "Valider", then are wiped."""

    step = Step.PIN

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self._pin = ""
        self.layout_.addWidget(title("Code porteur de votre carte"))
        self.tries = text("", "lead")
        self.layout_.addWidget(self.tries)
        self.display = text("", "pin")
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.layout_.addWidget(self.display)
        grid = QGridLayout()
        grid.setSpacing(12)
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "Effacer", "0", "Valider"]
        for i, key in enumerate(keys):
            button = big_button(key, f"key-{key}")
            button.setMinimumSize(140, 80)
            button.clicked.connect(lambda _=False, k=key: self._key(k))
            grid.addWidget(button, i // 3, i % 3)
        self.layout_.addLayout(grid)
        self.layout_.addStretch()

    def _key(self, key: str) -> None:
        if key == "Effacer":
            self._pin = ""
        elif key == "Valider":
            pin, self._pin = self._pin, ""
            if pin:
                self.submit(lambda s: s.submit_pin(pin))
        elif len(self._pin) < 8:
            self._pin += key
        self.display.setText("●" * len(self._pin))

    def type_pin(self, pin: str) -> None:
        """Tap the digits then "Valider" (what the operator's finger does; screenshots)."""
        for digit in pin:
            self._key(digit)
        self._key("Valider")

    def draw(self, view: SessionView) -> None:
        self._pin = ""
        self.display.setText("")
        tries = view.pin_tries_left
        self.tries.setText(
            f"{tries} essai(s) avant blocage de la carte." if tries is not None else ""
        )


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

    def draw(self, view: SessionView) -> None:
        self.hello.setText(f"Bonjour, {view.operator}" if view.operator else "")


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

    def draw(self, view: SessionView) -> None:
        self.clear()
        for index, holder in enumerate(view.holders):
            label = f"{holder.label} — né(e) le {_date(holder.birth_date)}"
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
        self.finish_button = big_button("Terminer", "finish")
        self.create_button.clicked.connect(lambda: submit(lambda s: s.start_creation()))
        self.open_button.clicked.connect(lambda: submit(lambda s: s.open_record()))
        self.regulator_button.clicked.connect(lambda: submit(lambda s: s.open_record("regulateur")))
        self.break_glass_button.clicked.connect(lambda: submit(lambda s: s.ask_break_glass()))
        self.finish_button.clicked.connect(lambda: submit(lambda s: s.finish()))
        for button in (
            self.create_button,
            self.open_button,
            self.regulator_button,
            self.break_glass_button,
            self.finish_button,
        ):
            self.layout_.addWidget(button)
        self.layout_.addStretch()

    def clear(self) -> None:
        for label in (self.name, self.identity, self.status):
            label.clear()

    def draw(self, view: SessionView) -> None:
        patient = view.patient
        self.name.setText(
            f"{patient.label}, né(e) le {_date(patient.birth_date)}" if patient else ""
        )
        self.identity.setText(
            "Identité à vérifier au retour du réseau (hors ligne)."
            if view.to_qualify
            else "Identité vérifiée (INS qualifiée)."
        )
        if view.dmp is None:
            self.status.setText("Statut du DMP inconnu hors ligne.")
        else:
            status = _DMP_STATUS.get(view.dmp, view.dmp)
            if view.dmp == "VALIDE" and view.health_professional and view.authorisation:
                status += " " + _AUTHORISATION.get(view.authorisation, "")
            self.status.setText(status)
        self.create_button.setVisible(view.dmp in (None, "NON_EXISTE"))
        professional = view.health_professional and view.dmp == "VALIDE" and view.online
        self.open_button.setVisible(professional and view.authorisation == "AUTORISE")
        self.regulator_button.setVisible(professional and view.regulator)
        self.break_glass_button.setVisible(professional and view.authorisation != "AUTORISE")


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
        accept.clicked.connect(lambda: submit(lambda s: s.accept_information()))
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
        for i, (label, name) in enumerate(
            (("Pas de contact", "none"), ("E-mail", "email"), ("SMS (mobile)", "sms"))
        ):
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
        channel = {0: None, 1: "email", 2: "sms"}.get(self.channel.checkedId())
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
            "authorise_operator": self.authorise.isChecked(),
        }

    def _create(self) -> None:
        form = self.form()

        def create(session: KioskSession) -> None:
            session.update_form(**form)
            session.create()

        self.submit(create)

    def clear(self) -> None:
        self.draw(SessionView(step=Step.CONSENT))

    def draw(self, view: SessionView) -> None:
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
        for index, label in view.adults:
            self.representative.addItem(label, index)
        if form.representative is not None:
            self.representative.setCurrentIndex(
                max(0, self.representative.findData(form.representative))
            )
        self.etreat.setChecked(form.etreat)
        self.btg.setChecked(form.btg)
        self.masked.setChecked(form.masked)
        channel_id = {None: 0, "email": 1, "sms": 2}.get(form.contact_channel, 0)
        button = self.channel.button(channel_id)
        if button is not None:
            button.setChecked(True)
        self.address.setText(form.contact_address)
        self.doctor.setText(form.treating_doctor)
        self.authorise.setText(
            f"Autoriser {view.operator.split(',')[0]} à consulter ce DMP"
            if view.operator
            else "Autoriser le professionnel présent à consulter ce DMP"
        )
        self.authorise.setChecked(form.authorise_operator)


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

    def draw(self, view: SessionView) -> None:
        sheet = view.sheet
        if sheet is None:
            return
        self.heading.setText(
            "DMP créé."
            if sheet.online
            else "Création enregistrée : elle sera transmise au retour du réseau."
        )
        self.details.setText(
            "La fiche d'accès du patient est imprimée : identifiant et code provisoire pour "
            "activer son accès en ligne."
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
        for code, label in BREAK_GLASS_REASONS:
            self.reason.addItem(label, code)
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
        code, reason = str(self.reason.currentData()), self.details.text().strip()
        self.submit(lambda s: s.open_record("bris_de_glace", code, reason))

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

    def draw(self, view: SessionView) -> None:
        summary = view.summary or {}
        patient = view.patient.label if view.patient else ""
        mode = {"regulateur": " — accès régulateur", "bris_de_glace": " — accès d'urgence"}
        self.heading.setText(f"DMP de {patient}{mode.get(str(summary.get('mode')), '')}")
        html = []
        for key, label in _SECTIONS:
            html.append(f"<h3>{label}</h3>")
            documents = summary.get(key) or []
            if not documents:
                html.append("<p><i>Aucun document.</i></p>")
            for doc in documents:
                heading = _escape(doc.get("title", ""))
                when = _date(str(doc.get("document_date", "")))
                author = _escape(doc.get("author", ""))
                content = _escape(doc.get("content", ""))
                html.append(f"<p><b>{heading}</b> — {when} — {author}<br>{content}</p>")
        self.body.setHtml("".join(html))


def _escape(value: object) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


SCREENS: tuple[type[Screen], ...] = (
    WelcomeScreen,
    PinScreen,
    HoldersScreen,
    PatientScreen,
    InformationScreen,
    ConsentScreen,
    BreakGlassScreen,
    SummaryScreen,
)
