"""One small screen per step of the workflow; each draws a CounterView and sends taps.

Screens hold no patient data of their own beyond what they show: the session is the one
place it lives, and a new view (card out, "Terminer", idle) redraws them empty. Every
decision is the workflow's (`can_*` flags); a screen draws it and says it in French.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QStackedWidget,
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
    CounterDocument,
    DmpStatus,
    IdentityDocument,
)
from kiosk.core import (
    Change,
    CounterView,
    CounterWorkflow,
    HolderView,
    OperatorView,
    OtherRepresentative,
    Step,
)
from kiosk.core.ports import Delivery, RecordSummary, SummaryDocument, SummarySection
from kiosk.core.views import DocumentView
from kiosk.messages import (
    describe_document_failure,
    describe_notice,
    describe_refusal,
    document_type,
    file_kind,
    sentence,
)
from kiosk.ui.sheet import PrintResult
from kiosk.ui.viewer import CareTable, DocumentPane
from kiosk.ui.worker import Submit

__all__ = [
    "SCREENS",
    "FormScreen",
    "Screen",
    "Submit",
    "first_names",
    "holder_label",
    "operator_label",
]

CENTRAL = "Interrogation du service central…"
OPENING = "Ouverture du document…"
KEYBOARD = "keyboard"  # the QLineEdit property that asks for the on-screen keyboard

_DMP_STATUS = {
    DmpStatus.VALID: "Le patient a un DMP.",
    DmpStatus.NONE: "Le patient n'a pas encore de DMP.",
    DmpStatus.CLOSED: "Le DMP de ce patient est fermé : aucun professionnel ne peut le lire.",
}
_AUTHORISATION = {
    Authorisation.AUTHORISED: "Vous avez l'autorisation du patient pour le consulter.",
    Authorisation.NOT_AUTHORISED: "Vous n'avez pas l'autorisation du patient pour le "
    "consulter : il peut vous la donner (« Le patient m'autorise »).",
    Authorisation.BLOCKED: "Le patient a bloqué votre accès à ce DMP : lui seul peut lever ce "
    "blocage, dans son espace en ligne.",
}
# Allergies first: the one thing a professional must not miss.
_SECTIONS = {
    SummarySection.PATHOLOGIES_ALLERGIES: "Allergies et pathologies",
    SummarySection.MEDICATIONS: "Traitements en cours",
    SummarySection.CARE_HISTORY: "Synthèses et observations de soins (24 derniers mois)",
    SummarySection.REPORTS: "Derniers comptes rendus",
    SummarySection.EXAM_RESULTS: "Derniers résultats d'examens",
    SummarySection.ADVANCE_DIRECTIVES: "Directives anticipées",
    SummarySection.EMERGENCY_CONTACTS: "Personnes à prévenir",
    SummarySection.OTHER: "Autres documents (vaccinations, notes…)",
}
_MODES = {
    AccessMode.NORMAL: "",
    AccessMode.REGULATOR: " — accès régulateur",
    AccessMode.BREAK_GLASS: " — accès d'urgence",
}
BREAK_GLASS_REASONS = {
    BreakGlassReason.VITAL_EMERGENCY: "Urgence vitale",
    BreakGlassReason.UNCONSCIOUS_PATIENT: "Patient inconscient ou hors d'état de consentir",
    BreakGlassReason.OTHER: "Autre situation d'urgence",
}
_CHANNELS = (
    (None, "Pas de contact", "none"),
    (ContactChannel.EMAIL, "E-mail", "email"),
    (ContactChannel.SMS, "SMS (mobile)", "sms"),
)
IDENTITY_DOCUMENTS = {
    IdentityDocument.ID_CARD: "Carte nationale d'identité",
    IdentityDocument.PASSPORT: "Passeport",
    IdentityDocument.RESIDENCE_PERMIT: "Titre de séjour",
    IdentityDocument.FAMILY_RECORD_BOOK: "Livret de famille (avec la pièce d'identité du parent)",
}
COUNTER_DOCUMENTS = {
    CounterDocument.VACCINATION: "Vaccination",
    CounterDocument.MEDICATION_REVIEW: "Bilan de médication",
    CounterDocument.PHARMACEUTICAL_NOTE: "Note pharmaceutique",
    CounterDocument.ALLERGY: "Allergie constatée",
}
_CHANGES = {
    Change.AUTHORISE: "autorisation",
    Change.DOCUMENT: "document",
    Change.CONTACT: "contact de notification",
    Change.DOCTOR: "médecin traitant",
    Change.CLOSE: "fermeture du DMP",
    Change.REOPEN: "réouverture du DMP",
    Change.IDENTITY: "pièce d'identité",
}


def first_names(prenom: str) -> str:
    """ "MARIE-HÉLÈNE" as "Marie-Hélène", "D'ARTAGNAN" as "D'Artagnan"."""
    return re.sub(r"[^\s\-']+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), prenom)


def holder_label(holder: HolderView) -> str:
    """NOM Prénom: twins differ by first name."""
    return f"{holder.nom} {first_names(holder.prenom)}"


def operator_label(operator: OperatorView) -> str:
    """ "Prénom NOM, structure"."""
    return f"{first_names(operator.prenom)} {operator.nom}, {operator.structure}"


def born(sex: str | None, iso: str) -> str:
    """ "née le 03/12/1980"; "date de naissance : …" when the sex is not known."""
    word = {"F": "née le", "M": "né le"}.get(sex or "")
    return f"{word} {_date(iso)}" if word else f"date de naissance : {_date(iso)}"


def minor_word(sex: str | None) -> str:
    """ "mineure", "mineur"; "moins de 18 ans" when the sex is not known (a child on a
    parent's card, before the register told it)."""
    return {"F": "mineure", "M": "mineur"}.get(sex or "", "moins de 18 ans")


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


def _clear_layout(layout: QVBoxLayout | QGridLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item is not None and (widget := item.widget()) is not None:
            widget.setParent(None)
            widget.deleteLater()


def _scrolled(body: QWidget) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(body)
    return scroll


def _radios(
    parent: QWidget, layout: QVBoxLayout, options: dict[Any, str], prefix: str
) -> QButtonGroup:
    """A column of radio buttons, none checked: a choice is always the operator's."""
    group = QButtonGroup(parent)
    for i, (value, label) in enumerate(options.items()):
        radio = QRadioButton(label)
        radio.setObjectName(f"{prefix}-{getattr(value, 'value', value)}")
        group.addButton(radio, i)
        layout.addWidget(radio)
    return group


def _checked(group: QButtonGroup, options: dict[Any, str]) -> Any:
    index = group.checkedId()
    values = list(options)
    return values[index] if 0 <= index < len(values) else None


def _uncheck(group: QButtonGroup) -> None:
    group.setExclusive(False)
    for button in group.buttons():
        button.setChecked(False)
    group.setExclusive(True)


class Screen(QWidget):
    """A step's screen: `draw` draws a view; taps go to `submit`."""

    step: Step
    keeps_input = False  # True: drawn on entering only, so typing is never reset

    def __init__(self, submit: Submit) -> None:
        super().__init__()
        self.submit = submit
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(48, 24, 48, 24)
        self.layout_.setSpacing(14)

    def draw(self, view: CounterView) -> None:
        """Draw the view (called as this screen becomes or stays the current one)."""

    def refresh(self, view: CounterView) -> None:
        """A new view while this screen keeps its input (a notice about a field)."""

    def clear(self) -> None:
        """Forget what was shown (called when the screen is left): no patient data stays
        in a hidden widget."""

    def back_row(self, label: str, name: str, on_go: Callable[[], None]) -> QHBoxLayout:
        """ "Retour" and the screen's main action, side by side at the bottom."""
        row = QHBoxLayout()
        back = big_button("Retour", "back")
        back.clicked.connect(lambda: self.submit(lambda s: s.back()))
        go = big_button(label, name)
        go.clicked.connect(on_go)
        row.addWidget(back, 1)
        row.addWidget(go, 3)
        return row


class FormScreen(Screen):
    """A form: what is typed stays while the operator corrects it; each problem is said
    beside its field (the notice's `field`)."""

    keeps_input = True

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.errors: dict[str, QLabel] = {}

    def error_label(self, field: str) -> QLabel:
        label = text("", "field-error")
        label.setObjectName(f"error-{field}")
        label.setVisible(False)
        self.errors[field] = label
        return label

    def field(
        self, layout: QVBoxLayout, label: str, name: str, keyboard: str = "text"
    ) -> QLineEdit:
        """A labelled line with its error under it, and the on-screen keyboard it needs."""
        layout.addWidget(text(label, "section"))
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setProperty(KEYBOARD, keyboard)
        layout.addWidget(edit)
        layout.addWidget(self.error_label(name))
        return edit

    def refresh(self, view: CounterView) -> None:
        notice = view.notice
        for field, label in self.errors.items():
            shown = notice is not None and notice.field == field
            label.setText(describe_notice(notice) if shown and notice else "")
            label.setVisible(shown)

    def draw(self, view: CounterView) -> None:
        self.refresh(view)


class WelcomeScreen(Screen):
    step = Step.WELCOME

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addStretch()
        self.layout_.addWidget(title("Dossier Médical Partagé"))
        self.lead = text("", "lead")
        self.layout_.addWidget(self.lead)
        self.layout_.addStretch()

    def draw(self, view: CounterView) -> None:
        lead = "Insérez votre carte professionnelle (CPS ou CPE) pour commencer."
        if view.card_to_return:
            lead = "Rendez sa carte Vitale au patient. " + lead
        elif view.vitale_waiting:
            lead += " La carte Vitale insérée sera lue dès votre connexion."
        self.lead.setText(lead)


class ReadyScreen(Screen):
    step = Step.READY

    def __init__(self, submit: Submit, on_admin: Callable[[], None]) -> None:
        super().__init__(submit)
        self.hello = title("")
        self.layout_.addWidget(self.hello)
        self.layout_.addStretch()
        self.lead = text("", "lead")
        self.layout_.addWidget(self.lead)
        self.search = big_button("Patient sans carte Vitale (pièce d'identité)", "search")
        self.search.clicked.connect(lambda: submit(lambda s: s.start_search()))
        self.layout_.addWidget(self.search)
        self.layout_.addStretch()
        admin = QPushButton("Actions refusées par le service central")
        admin.setObjectName("admin")
        admin.setMinimumHeight(56)
        admin.clicked.connect(on_admin)
        self.layout_.addWidget(admin, alignment=Qt.AlignmentFlag.AlignRight)

    def draw(self, view: CounterView) -> None:
        operator = view.operator
        self.hello.setText(f"Bonjour, {operator_label(operator)}" if operator else "")
        self.lead.setText(
            "Rendez sa carte Vitale au patient, puis insérez celle du patient suivant."
            if view.card_to_return
            else "Insérez la carte Vitale du patient."
        )
        self.search.setVisible(view.can_search)


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
        _clear_layout(self.buttons)

    def draw(self, view: CounterView) -> None:
        self.clear()
        for index, holder in enumerate(view.holders):
            label = f"{holder_label(holder)} — {born(holder.sex, holder.birth_date)}"
            if holder.minor:
                label += f" — {minor_word(holder.sex)}"
            if not holder.nir_ok:  # said before the tap, in French, not by the service
                label += " — numéro de sécurité sociale erroné"
            button = big_button(label, f"holder-{index}")
            button.clicked.connect(
                lambda _=False, i=index: self.submit(lambda s: s.choose_holder(i), busy=CENTRAL)
            )
            self.buttons.addWidget(button)


class SearchScreen(FormScreen):
    """A patient without a Vitale card: the strict traits of the identity document."""

    step = Step.SEARCH

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Patient sans carte Vitale"))
        self.layout_.addWidget(
            text(
                "Recopiez le nom, le prénom, la date de naissance et le sexe de la pièce "
                "d'identité que vous avez contrôlée.",
                "hint",
            )
        )
        body = QWidget()
        form = QVBoxLayout(body)
        self.nom = self.field(form, "Nom de naissance", "nom")
        self.prenom = self.field(form, "Premier prénom", "prenom")
        self.birth_date = self.field(form, "Date de naissance (JJ/MM/AAAA)", "birth_date", "digits")
        form.addWidget(text("Sexe", "section"))
        sexes = QHBoxLayout()
        self.sexe = QButtonGroup(self)
        for i, (code, label) in enumerate((("F", "Féminin"), ("M", "Masculin"))):
            radio = QRadioButton(label)
            radio.setObjectName(f"sexe-{code}")
            self.sexe.addButton(radio, i)
            sexes.addWidget(radio)
        form.addLayout(sexes)
        form.addWidget(self.error_label("sexe"))
        self.birth_place = self.field(
            form, "Lieu de naissance (code INSEE, facultatif)", "birth_place", "text"
        )
        form.addWidget(text("Pièce d'identité contrôlée", "section"))
        self.document = _radios(self, form, IDENTITY_DOCUMENTS, "document")
        form.addWidget(self.error_label("document"))
        form.addStretch()
        self.layout_.addWidget(_scrolled(body), stretch=1)
        self.layout_.addLayout(self.back_row("Rechercher le patient", "confirm", self._search))

    def _search(self) -> None:
        sexe = {0: "F", 1: "M"}.get(self.sexe.checkedId(), "")
        fields = {
            "nom": self.nom.text(),
            "prenom": self.prenom.text(),
            "birth_date": self.birth_date.text(),
            "sexe": sexe,
            "birth_place": self.birth_place.text(),
            "document": _checked(self.document, IDENTITY_DOCUMENTS),
        }
        self.submit(lambda s: s.search_form(**fields), busy=CENTRAL)

    def clear(self) -> None:
        for edit in (self.nom, self.prenom, self.birth_date, self.birth_place):
            edit.clear()
        _uncheck(self.sexe)
        _uncheck(self.document)


class PatientScreen(Screen):
    """Who the patient is, their DMP's status, and what the counter may do now."""

    step = Step.PATIENT

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.name = title("")
        self.traits = text("", "lead")
        self.identity = text("", "")
        self.status = text("", "lead")
        self.change = text("", "change")
        for widget in (self.name, self.traits, self.identity, self.status, self.change):
            self.layout_.addWidget(widget)
        buttons: list[tuple[str, str, Callable[[CounterWorkflow], object], str | None]] = [
            ("Créer le DMP", "create", lambda s: s.start_creation(), None),
            ("Consulter le DMP", "open", lambda s: s.open_record(), CENTRAL),
            (
                "Le patient m'autorise",
                "authorise-self",
                lambda s: s.ask_confirmation(Change.AUTHORISE),
                None,
            ),
            (
                "Régulateur SAMU",
                "regulator",
                lambda s: s.open_record(AccessMode.REGULATOR),
                CENTRAL,
            ),
            ("Accès d'urgence (bris de glace)", "break-glass", lambda s: s.ask_break_glass(), None),
            (
                "Ajouter un document",
                "add-document",
                lambda s: s.start_change(Change.DOCUMENT),
                None,
            ),
            ("Pièce d'identité", "check-identity", lambda s: s.ask_identity_check(), None),
            ("Contact", "contact", lambda s: s.start_change(Change.CONTACT), None),
            ("Médecin traitant", "doctor", lambda s: s.start_change(Change.DOCTOR), None),
            ("Nouveau code provisoire", "reissue", lambda s: s.reissue_activation(), None),
            ("Fermer le DMP", "close", lambda s: s.ask_confirmation(Change.CLOSE), None),
            ("Rouvrir le DMP", "reopen", lambda s: s.ask_confirmation(Change.REOPEN), None),
            ("Autre personne", "other-holder", lambda s: s.other_holder(), None),
            ("Terminer", "finish", lambda s: s.finish(), None),
        ]
        self.buttons: dict[str, QPushButton] = {}
        for label, name, command, busy in buttons:
            button = big_button(label, name)
            button.clicked.connect(lambda _=False, c=command, b=busy: submit(c, busy=b))
            button.setParent(self)  # the screen's, laid out or not
            button.setVisible(False)
            button.setProperty("compact", True)  # three to a row: every action in view
            button.setMinimumHeight(64)
            self.buttons[name] = button
        self.grid = QGridLayout()
        self.grid.setSpacing(10)
        self.layout_.addLayout(self.grid)
        self.layout_.addStretch()

    def clear(self) -> None:
        for label in (self.name, self.traits, self.identity, self.status, self.change):
            label.clear()

    def draw(self, view: CounterView) -> None:
        patient = view.patient
        self.name.setText(holder_label(patient) if patient else "")
        self.traits.setText(self._traits(view))
        self.identity.setText(self._identity(view))
        self.status.setText(self._status(view))
        self.change.setText(self._change(view))
        visible = {
            "create": view.can_create,
            "open": view.can_open,
            "authorise-self": view.can_authorise_self,
            "regulator": view.can_open_as_regulator,
            "break-glass": view.can_break_glass,
            "add-document": view.can_add_document,
            "check-identity": view.can_check_identity,
            "contact": view.can_set_contact,
            "doctor": view.can_set_doctor,
            "reissue": view.can_reissue_activation,
            "close": view.can_close,
            "reopen": view.can_reopen,
            "other-holder": view.can_other_holder,
            "finish": view.can_finish,
        }
        self.buttons["create"].setText(
            "Créer (fiche provisoire)" if view.status_unknown else "Créer le DMP"
        )
        # Only the buttons that apply, three per row, the main ones first.
        for button in self.buttons.values():
            self.grid.removeWidget(button)
            button.setVisible(False)
        shown = [name for name, on in visible.items() if on]
        for i, name in enumerate(shown):
            button = self.buttons[name]
            self.grid.addWidget(button, i // 3, i % 3)
            button.setVisible(True)

    @staticmethod
    def _traits(view: CounterView) -> str:
        strict, patient = view.traits, view.patient
        if strict is not None:
            names = " ".join(first_names(p) for p in strict.prenoms)
            sex = {"F": "femme", "M": "homme"}.get(strict.sexe, strict.sexe)
            return (
                f"{strict.nom_naissance} {names} — {sex}, {born(strict.sexe, strict.birth_date)}"
                f" — lieu de naissance (code INSEE) {strict.birth_place}"
            )
        if patient is not None:
            born_on = born(patient.sex, patient.birth_date)
            return born_on[:1].upper() + born_on[1:]
        return ""

    @staticmethod
    def _identity(view: CounterView) -> str:
        document = view.identity_document
        if not view.identity_qualified:
            checked = (
                f" Pièce contrôlée : {IDENTITY_DOCUMENTS[document].lower()}." if document else ""
            )
            return "Identité à vérifier au répertoire national (INS) au retour du réseau." + checked
        if document is None:
            return (
                "Identité récupérée du répertoire national (INS) : contrôlez une pièce "
                "d'identité pour la qualifier."
            )
        return f"INS qualifiée — pièce contrôlée : {IDENTITY_DOCUMENTS[document].lower()}."

    @staticmethod
    def _status(view: CounterView) -> str:
        if view.dmp is None:
            return (
                "Hors ligne : on ne sait pas si ce patient a déjà un DMP. Une création sera "
                "refusée s'il en a un ; sa fiche d'accès sera marquée provisoire."
            )
        status = _DMP_STATUS[view.dmp]
        professional = view.operator is not None and view.operator.health_professional
        if view.dmp is DmpStatus.VALID and professional and view.authorisation:
            status += " " + _AUTHORISATION[view.authorisation]
        return status

    @staticmethod
    def _change(view: CounterView) -> str:
        change = view.change
        if change is None:
            return ""
        what = _CHANGES[change.change]
        if change.delivery is Delivery.PENDING:
            return f"Envoyé ({what}) : en attente de la réponse du service central…"
        if change.delivery is Delivery.ACCEPTED:
            return f"Fait ({what}) : le service central a accepté la demande."
        return sentence(f"Refusé ({what}) : {describe_refusal(change.reason or '')}")


class IdentityCheckScreen(FormScreen):
    """Identity vigilance: which document the operator held in their hands."""

    step = Step.IDENTITY_CHECK

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Pièce d'identité contrôlée"))
        self.layout_.addWidget(
            text(
                "Vérifiez que la photo, les noms, la date de naissance et le sexe "
                "correspondent à la personne et à l'identité affichée, puis choisissez la "
                "pièce présentée.",
                "lead",
            )
        )
        column = QVBoxLayout()
        self.document = _radios(self, column, IDENTITY_DOCUMENTS, "document")
        self.layout_.addLayout(column)
        self.layout_.addWidget(self.error_label("document"))
        self.layout_.addStretch()
        self.layout_.addLayout(self.back_row("La pièce correspond", "confirm", self._confirm))

    def _confirm(self) -> None:
        document = _checked(self.document, IDENTITY_DOCUMENTS)
        if document is None:
            self.errors["document"].setText("Choisissez la pièce d'identité contrôlée.")
            self.errors["document"].setVisible(True)
            return
        self.submit(lambda s: s.check_identity(document))

    def draw(self, view: CounterView) -> None:
        # A family record book proves a child's identity only.
        livret = self.findChild(
            QRadioButton, f"document-{IdentityDocument.FAMILY_RECORD_BOOK.value}"
        )
        if livret is not None:
            livret.setVisible(view.minor)
        self.refresh(view)

    def clear(self) -> None:
        _uncheck(self.document)


class RepresentativeScreen(FormScreen):
    """A minor: who consents, before anything else. An adult of the card, or another adult
    (the other parent) whose identity document the operator checks."""

    step = Step.REPRESENTATIVE

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.heading = title("")
        self.layout_.addWidget(self.heading)
        body = QWidget()
        form = QVBoxLayout(body)
        form.addWidget(text("Un adulte de la carte Vitale :", "section"))
        self.adults = QVBoxLayout()
        form.addLayout(self.adults)
        self.no_adult = text("Aucun adulte sur cette carte.", "hint")
        form.addWidget(self.no_adult)
        form.addWidget(
            text(
                "Ou un autre adulte (l'autre parent, un tuteur), sur pièce d'identité :", "section"
            )
        )
        self.rep_nom = self.field(form, "Nom", "rep_nom")
        self.rep_prenom = self.field(form, "Prénom", "rep_prenom")
        self.rep_birth_date = self.field(
            form, "Date de naissance (JJ/MM/AAAA)", "rep_birth_date", "digits"
        )
        form.addWidget(text("Pièce d'identité contrôlée", "section"))
        adults = {
            k: v
            for k, v in IDENTITY_DOCUMENTS.items()
            if k is not IdentityDocument.FAMILY_RECORD_BOOK
        }
        self.document = _radios(self, form, adults, "rep-document")
        self._documents = adults
        form.addWidget(self.error_label("rep_document"))
        form.addWidget(self.error_label("representative"))
        form.addStretch()
        self.layout_.addWidget(_scrolled(body), stretch=1)
        self.layout_.addLayout(self.back_row("Cet adulte consent", "confirm", self._declare))

    def draw(self, view: CounterView) -> None:
        patient = view.patient
        self.heading.setText(
            f"Qui consent pour {first_names(patient.prenom)} ({minor_word(patient.sex)}) ?"
            if patient
            else "Représentant légal"
        )
        _clear_layout(self.adults)
        for index, adult in view.adults:
            button = big_button(
                f"{holder_label(adult)} — {born(adult.sex, adult.birth_date)}",
                f"representative-{index}",
            )
            button.clicked.connect(
                lambda _=False, i=index: self.submit(lambda s: s.choose_representative(i))
            )
            self.adults.addWidget(button)
        self.no_adult.setVisible(not view.adults)
        self.refresh(view)

    def refresh(self, view: CounterView) -> None:
        super().refresh(view)
        notice = view.notice
        label = self.errors["representative"]
        shown = notice is not None and notice.field is None and notice.reason is not None
        label.setText(describe_notice(notice) if shown and notice else "")
        label.setVisible(shown)

    def _declare(self) -> None:
        document = _checked(self.document, self._documents)
        if document is None:
            self.errors["rep_document"].setText("Choisissez la pièce d'identité contrôlée.")
            self.errors["rep_document"].setVisible(True)
            return
        other = OtherRepresentative(
            self.rep_nom.text(), self.rep_prenom.text(), self.rep_birth_date.text(), document
        )
        self.submit(lambda s: s.declare_representative(other))

    def clear(self) -> None:
        _clear_layout(self.adults)
        for edit in (self.rep_nom, self.rep_prenom, self.rep_birth_date):
            edit.clear()
        _uncheck(self.document)


class InformationScreen(Screen):
    step = Step.INFORMATION

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Information du patient"))
        browser = QTextBrowser()
        browser.setObjectName("information")
        browser.setPlainText(INFORMATION_TEXT + f"\n(version {INFORMATION_VERSION})")
        self.layout_.addWidget(browser, stretch=1)
        self.layout_.addLayout(
            self.back_row(
                "Information lue : continuer",
                "accept",
                lambda: submit(lambda s: s.accept_information(INFORMATION_VERSION)),
            )
        )


class ConsentScreen(FormScreen):
    """Consent (never pre-ticked), the operator's authorisation right under it, emergency
    choices, contact, doctor."""

    step = Step.CONSENT

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Consentement et choix du patient"))
        body = QWidget()
        form = QVBoxLayout(body)
        form.setSpacing(12)
        self.representative = text("", "lead")
        form.addWidget(self.representative)
        self.consent = QCheckBox("Le patient consent à la création de son DMP")
        self.consent.setObjectName("consent")
        form.addWidget(self.consent)
        form.addWidget(self.error_label("consent"))
        self.authorise = QCheckBox("Autoriser le professionnel présent à consulter ce DMP")
        self.authorise.setObjectName("authorise")
        form.addWidget(self.authorise)
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
                "on vous prévient.",
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
        form.addWidget(text("Recevoir une alerte à chaque accès ou nouveau document :", "section"))
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
        self.address.setProperty(KEYBOARD, "email")
        self.address.setPlaceholderText("adresse e-mail ou numéro de mobile")
        form.addWidget(self.address)
        form.addWidget(self.error_label("address"))
        self.doctor = self.field(
            form, "Médecin traitant (numéro RPPS, facultatif)", "doctor", "digits"
        )
        form.addStretch()
        self.layout_.addWidget(_scrolled(body), stretch=1)
        self.layout_.addLayout(self.back_row("Créer le DMP", "create", self._create))

    def form(self) -> dict[str, Any]:
        checked = self.channel.checkedId()
        channel = _CHANNELS[checked][0] if 0 <= checked < len(_CHANNELS) else None
        return {
            "consent": self.consent.isChecked(),
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

        self.submit(create, busy="Enregistrement de la création…")

    def clear(self) -> None:
        self.draw(CounterView(step=Step.CONSENT))

    def draw(self, view: CounterView) -> None:
        form = view.form
        representative = view.adults and form.representative is not None
        other = form.other_representative
        who = ""
        if representative:
            who = next(holder_label(a) for i, a in view.adults if i == form.representative)
        elif other is not None:
            who = f"{other.nom} {first_names(other.prenom)} (pièce d'identité contrôlée)"
        self.representative.setText(f"Représentant légal : {who}" if who else "")
        self.representative.setVisible(bool(who))
        self.consent.setText(
            "Le représentant légal consent à la création du DMP"
            if view.minor
            else "Le patient consent à la création de son DMP"
        )
        self.consent.setChecked(form.consent)
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
            f"Le patient autorise {first_names(operator.prenom)} {operator.nom} à consulter ce DMP"
            if operator
            else "Autoriser le professionnel présent à consulter ce DMP"
        )
        self.authorise.setChecked(form.authorise_operator)
        self.authorise.setVisible(view.can_authorise_operator)
        self.refresh(view)


_PRINT_PROBLEMS = {
    "no_portal": "l'adresse du portail patient n'est pas réglée sur ce kiosque (prévenez le "
    "support)",
    "no_printer": "aucune imprimante n'est disponible",
    "print_failed": "l'imprimante a refusé l'impression",
    "pdf_unwritable": "le dossier des fiches n'est pas accessible en écriture",
}


def _grouped(value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


class CreatedScreen(Screen):
    """After a creation or a new code: what the service said, what the printer did."""

    step = Step.CREATED

    def __init__(self, submit: Submit, on_print: Callable[[bool], object]) -> None:
        super().__init__(submit)
        self.heading = title("")
        self.details = text("", "lead")
        self.printing = text("", "printing")
        self.code = text("", "code")
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        for widget in (self.heading, self.details, self.printing, self.code):
            self.layout_.addWidget(widget)
        self.layout_.addStretch()
        self._sheet: tuple[str, str] | None = None
        self._portal = ""
        row = QHBoxLayout()
        again = big_button("Réimprimer la fiche d'accès", "print")
        again.clicked.connect(lambda: on_print(False))
        information = big_button("Imprimer aussi la note d'information", "print-information")
        information.clicked.connect(lambda: on_print(True))
        self.show_code = big_button("Afficher le code", "show-code")
        self.show_code.clicked.connect(self._reveal)
        for button in (again, information, self.show_code):
            row.addWidget(button)
        self.layout_.addLayout(row)
        last = QHBoxLayout()
        self.back = big_button("Retour au patient", "back")
        self.back.clicked.connect(lambda: submit(lambda s: s.back()))
        last.addWidget(self.back)
        self.other_holder = big_button("Autre personne de la carte", "other-holder")
        self.other_holder.clicked.connect(lambda: submit(lambda s: s.other_holder()))
        finish = big_button("Terminer", "finish")
        finish.clicked.connect(lambda: submit(lambda s: s.finish()))
        last.addWidget(self.other_holder)
        last.addWidget(finish)
        self.layout_.addLayout(last)

    def clear(self) -> None:
        for label in (self.heading, self.details, self.printing, self.code):
            label.clear()
        self._sheet = None
        self.show_code.setVisible(False)

    def show_print(self, result: PrintResult, *, portal_url: str) -> None:
        """What came out of the printer (kiosk.ui.sheet.PrintResult)."""
        self._portal = portal_url
        if result.printed:
            self.printing.setText("Fiche d'accès imprimée : remettez-la au patient.")
            self.show_code.setVisible(False)
        else:
            problem = _PRINT_PROBLEMS.get(str(result.problem), "l'impression a échoué")
            self.printing.setText(
                sentence(f"La fiche d'accès n'a pas été imprimée : {problem}")
                + " Réessayez, ou affichez le code pour que le patient le recopie."
            )
            self.show_code.setVisible(True)

    def _reveal(self) -> None:
        if self._sheet is None:
            return
        identifier, code = self._sheet
        self.code.setText(
            f"Sur {self._portal or 'le portail patient'} : identifiant {_grouped(identifier)}, "
            f"code provisoire {_grouped(code)}. Ne le communiquez à personne d'autre."
        )

    def draw(self, view: CounterView) -> None:
        sheet = view.sheet
        if sheet is None:
            return
        self._sheet = (sheet.identifier, sheet.activation_code)
        self.other_holder.setVisible(view.can_other_holder)
        self.back.setVisible(view.creation is not Delivery.PENDING)
        # "Done" only once the service said so; until then, what is true.
        refused = view.creation is Delivery.REJECTED
        if sheet.reissued:
            heading = {
                Delivery.ACCEPTED: "Nouveau code provisoire actif : l'ancien ne fonctionne plus.",
                Delivery.REJECTED: "Le service central a refusé le nouveau code provisoire.",
            }.get(
                view.creation or Delivery.PENDING,
                "Nouveau code provisoire envoyé : en attente de la réponse du service central…",
            )
        elif view.creation is Delivery.ACCEPTED:
            heading = "DMP créé."
        elif refused:
            heading = "Le service central a refusé la création : aucun DMP n'a été créé."
        elif sheet.online:
            heading = "Création envoyée : en attente de la réponse du service central…"
        else:
            heading = "Création enregistrée : elle sera transmise au retour du réseau."
        self.heading.setText(heading)
        if refused:
            details = (
                f"{sentence(describe_refusal(view.creation_refusal or ''))} La fiche d'accès "
                "remise au patient ne sert pas : reprenez-la."
            )
        elif sheet.provisional:
            details = (
                "Fiche d'accès provisoire : le code ne fonctionnera que si le service central "
                "crée bien ce DMP (il refuse si le patient en a déjà un)."
            )
        else:
            details = "Fiche d'accès du patient : identifiant et code provisoire."
        self.details.setText(details)


class BreakGlassScreen(FormScreen):
    step = Step.BREAK_GLASS

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
        self.layout_.addWidget(text("Motif", "section"))
        column = QVBoxLayout()
        self.reason = _radios(self, column, BREAK_GLASS_REASONS, "reason")
        self.layout_.addLayout(column)
        self.layout_.addWidget(self.error_label("reason"))
        self.details = self.field(self.layout_, "Décrivez la situation", "reason-text")
        self.details.setPlaceholderText("Par exemple : patiente inconsciente au comptoir")
        self.layout_.addStretch()
        self.layout_.addLayout(self.back_row("Accéder au DMP en urgence", "confirm", self._confirm))

    def _confirm(self) -> None:
        code = _checked(self.reason, BREAK_GLASS_REASONS)
        reason = self.details.text()
        self.submit(lambda s: s.open_record(AccessMode.BREAK_GLASS, code, reason), busy=CENTRAL)

    def clear(self) -> None:
        self.details.clear()
        _uncheck(self.reason)


_CONFIRMATIONS = {
    Change.AUTHORISE: (
        "Le patient vous autorise à consulter son DMP ?",
        "En confirmant, vous déclarez que le patient, présent, est d'accord pour que vous "
        "consultiez son DMP. Cette autorisation est tracée avec votre nom ; le patient la "
        "voit dans son espace en ligne et peut la retirer à tout moment.",
        "Le patient est d'accord",
    ),
    Change.CLOSE: (
        "Fermer le DMP à la demande du patient ?",
        "Plus aucun professionnel ne pourra le lire, même en urgence. Son contenu est gardé ; "
        "le patient pourra le rouvrir en ligne ou à un comptoir. Il en est prévenu.",
        "Le patient demande la fermeture",
    ),
    Change.REOPEN: (
        "Rouvrir le DMP à la demande du patient ?",
        "Les professionnels qu'il a autorisés pourront de nouveau le lire, selon ses choix. "
        "Il en est prévenu.",
        "Le patient demande la réouverture",
    ),
}


class ConfirmScreen(Screen):
    """What a change means, said before the patient agrees to it."""

    step = Step.CONFIRM

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.heading = title("")
        self.meaning = text("", "lead")
        self.layout_.addWidget(self.heading)
        self.layout_.addWidget(self.meaning)
        self.layout_.addStretch()
        self.go = big_button("", "confirm")
        row = self.back_row("", "confirm", lambda: submit(lambda s: s.confirm()))
        self.go = row.itemAt(1).widget()  # type: ignore[assignment,union-attr]
        self.layout_.addLayout(row)

    def draw(self, view: CounterView) -> None:
        change = view.confirming
        if change is None or change not in _CONFIRMATIONS:
            return
        heading, meaning, confirm = _CONFIRMATIONS[change]
        self.heading.setText(heading)
        self.meaning.setText(meaning)
        self.go.setText(confirm)


class DocumentScreen(FormScreen):
    """A short form filed at the counter (the professional authorised on the record)."""

    step = Step.DOCUMENT

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Ajouter un document au DMP"))
        body = QWidget()
        form = QVBoxLayout(body)
        form.addWidget(text("Type de document", "section"))
        self.kind = _radios(self, form, COUNTER_DOCUMENTS, "kind")
        form.addWidget(self.error_label("kind"))
        self.title_ = self.field(form, "Intitulé (par exemple : Vaccin grippe)", "title")
        self.content = self.field(form, "Détails (produit, lot, observation…)", "content")
        self.document_date = self.field(
            form, "Date des soins (JJ/MM/AAAA)", "document_date", "digits"
        )
        self.masked = QCheckBox("Masquer aux autres professionnels (le patient le voit)")
        self.masked.setObjectName("masked")
        form.addWidget(self.masked)
        form.addStretch()
        self.layout_.addWidget(_scrolled(body), stretch=1)
        self.layout_.addLayout(self.back_row("Enregistrer le document", "confirm", self._add))

    def draw(self, view: CounterView) -> None:
        kinds = list(COUNTER_DOCUMENTS)
        if view.document_kind in kinds:
            button = self.kind.button(kinds.index(view.document_kind))
            if button is not None:
                button.setChecked(True)
        if not self.document_date.text():
            self.document_date.setText(dt.date.today().strftime("%d/%m/%Y"))
        self.refresh(view)

    def _add(self) -> None:
        fields = {
            "title": self.title_.text(),
            "content": self.content.text(),
            "document_date": self.document_date.text(),
            "masked": self.masked.isChecked(),
            "kind": _checked(self.kind, COUNTER_DOCUMENTS),
        }
        self.submit(lambda s: s.add_document(**fields))

    def clear(self) -> None:
        for edit in (self.title_, self.content, self.document_date):
            edit.clear()
        self.masked.setChecked(False)
        _uncheck(self.kind)


class ContactScreen(FormScreen):
    step = Step.CONTACT

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Contact de notification"))
        self.layout_.addWidget(
            text(
                "Le patient y reçoit ses codes de connexion et les alertes d'accès. L'ancien "
                "contact est prévenu du changement.",
                "lead",
            )
        )
        channels = QHBoxLayout()
        self.channel = QButtonGroup(self)
        for i, (channel, label, name) in enumerate(_CHANNELS[1:]):
            radio = QRadioButton(label)
            radio.setObjectName(f"channel-{name}")
            self.channel.addButton(radio, i)
            channels.addWidget(radio)
            del channel
        self.layout_.addLayout(channels)
        self.address = self.field(self.layout_, "Adresse e-mail ou mobile", "address", "email")
        self.layout_.addStretch()
        self.layout_.addLayout(self.back_row("Enregistrer le contact", "confirm", self._set))

    def _set(self) -> None:
        checked = self.channel.checkedId()
        if checked < 0:
            self.errors["address"].setText("Choisissez e-mail ou SMS.")
            self.errors["address"].setVisible(True)
            return
        channel = _CHANNELS[1 + checked][0]
        address = self.address.text()
        if channel is not None:
            self.submit(lambda s: s.set_contact(channel, address))

    def clear(self) -> None:
        self.address.clear()
        _uncheck(self.channel)


class DoctorScreen(FormScreen):
    step = Step.DOCTOR

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.addWidget(title("Médecin traitant"))
        self.layout_.addWidget(
            text("Le médecin que le patient désigne, par son numéro RPPS.", "lead")
        )
        self.rpps = self.field(self.layout_, "Numéro RPPS (11 chiffres)", "doctor", "digits")
        self.layout_.addStretch()
        self.layout_.addLayout(self.back_row("Enregistrer le médecin", "confirm", self._set))

    def _set(self) -> None:
        rpps = self.rpps.text()
        self.submit(lambda s: s.set_doctor(rpps))

    def clear(self) -> None:
        self.rpps.clear()


class SummaryScreen(Screen):
    """The record's summary: the documents, section by section, each with its author, date
    and type, and the care history of the last 24 months; health data on screen only, gone
    with the next view."""

    step = Step.SUMMARY

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.setSpacing(8)
        self.heading = title("")
        self.layout_.addWidget(self.heading)
        self.allergies = text("", "warning")
        self.allergies.setObjectName("allergies")
        self.layout_.addWidget(self.allergies)
        tabs = QHBoxLayout()
        self.documents_tab = self._tab("documents-tab", 0)
        self.history_tab = self._tab("history-tab", 1)
        self.tab_group = QButtonGroup(self)
        for tab in (self.documents_tab, self.history_tab):
            self.tab_group.addButton(tab)
            tabs.addWidget(tab)
        self.layout_.addLayout(tabs)
        self.pages = QStackedWidget()
        self.body = QWidget()
        self.body.setObjectName("summary")
        self.rows = QVBoxLayout(self.body)
        self.rows.setSpacing(8)
        self.documents = _scrolled(self.body)
        self.documents.setObjectName("summary-documents")
        self.history = QWidget()
        history = QVBoxLayout(self.history)
        history.setContentsMargins(0, 0, 0, 0)
        self.history_note = text("", "hint-plain")
        history.addWidget(self.history_note)
        self.care = CareTable()
        history.addWidget(self.care, stretch=1)
        self.pages.addWidget(self.documents)
        self.pages.addWidget(self.history)
        self.layout_.addWidget(self.pages, stretch=1)
        row = QHBoxLayout()
        back = big_button("Retour au patient", "back")
        back.clicked.connect(lambda: submit(lambda s: s.back()))
        finish = big_button("Terminer", "finish")
        finish.clicked.connect(lambda: submit(lambda s: s.finish()))
        row.addWidget(back)
        row.addWidget(finish)
        self.layout_.addLayout(row)
        self._drawn: RecordSummary | None = None
        self.documents_tab.setChecked(True)

    def _tab(self, name: str, page: int) -> QPushButton:
        tab = QPushButton("")
        tab.setObjectName(name)
        tab.setCheckable(True)
        tab.setMinimumHeight(56)
        tab.setProperty("compact", True)
        tab.clicked.connect(lambda: self.show_page(page))
        return tab

    def show_page(self, page: int) -> None:
        """The documents (0) or the care history (1)."""
        self.pages.setCurrentIndex(page)
        (self.documents_tab, self.history_tab)[page].setChecked(True)

    def clear(self) -> None:
        self.heading.clear()
        self.allergies.clear()
        self.history_note.clear()
        self.care.clear_lines()
        _clear_layout(self.rows)
        self.documents_tab.setText("")
        self.history_tab.setText("")
        self._drawn = None
        self.show_page(0)

    def plain_text(self) -> str:
        """Everything the summary shows, as text (tests)."""
        labels = [label.text() for label in self.body.findChildren(QLabel)]
        cells = [" ".join(row) for row in self.care.rows()]
        return "\n".join(labels + cells)

    def draw(self, view: CounterView) -> None:
        summary = view.summary
        if summary is None:
            self.clear()
            return
        if summary is self._drawn:
            return  # the same summary (a tick, the idle warning): the scroll stays
        self.clear()
        self._drawn = summary
        patient = holder_label(view.patient) if view.patient else ""
        self.heading.setText(f"DMP de {patient}{_MODES[summary.mode]}")
        allergies = summary.documents(SummarySection.PATHOLOGIES_ALLERGIES)
        self.allergies.setText(
            "Allergies et pathologies : " + " ; ".join(doc.title for doc in allergies)
            if allergies
            else "Aucune allergie ni pathologie dans le DMP."
        )
        count = sum(len(docs) for _, docs in summary.sections)
        self.documents_tab.setText(f"Documents ({count})")
        lines = summary.history()
        self.history_tab.setText(f"Soins remboursés ({len(lines)})")
        self.care.show_lines(lines)
        self.history_note.setText(
            "Soins remboursés par l'Assurance Maladie, du plus récent au plus ancien."
            if lines
            else "Aucun soin remboursé ces 24 derniers mois."
        )
        for section, label in _SECTIONS.items():
            self.rows.addWidget(text(label, "section"))
            documents = summary.documents(section)
            if not documents:
                self.rows.addWidget(text("Aucun document.", "hint-plain"))
            for doc in documents:
                self.rows.addWidget(self._document_row(doc))
        self.rows.addStretch()

    def _document_row(self, doc: SummaryDocument) -> QFrame:
        row = QFrame()
        row.setObjectName("doc-row")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(14, 8, 10, 8)
        words = QVBoxLayout()
        words.addWidget(text(doc.title, "doc-title"))
        meta = (
            f"{document_type(doc)} · {_date(doc.document_date)} · {doc.author} · {file_kind(doc)}"
        )
        words.addWidget(text(meta, "doc-meta"))
        if doc.content is not None:
            words.addWidget(text(doc.content, "doc-content"))
        layout.addLayout(words, stretch=1)
        if doc.content is None and doc.openable:
            button = QPushButton("Ouvrir")
            button.setObjectName(f"open-{doc.id}")
            button.setProperty("compact", True)
            button.setMinimumSize(120, 56)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            document_id = doc.id
            button.clicked.connect(
                lambda: self.submit(lambda s: s.open_document(document_id), OPENING)
            )
            layout.addWidget(button, alignment=Qt.AlignmentFlag.AlignVCenter)
        return row


class ViewerScreen(Screen):
    """One document of the summary, opened: its pages, sections, text or image; or why it
    could not be, and "Réessayer"."""

    step = Step.VIEWER

    def __init__(self, submit: Submit) -> None:
        super().__init__(submit)
        self.layout_.setContentsMargins(24, 12, 24, 12)
        self.layout_.setSpacing(6)
        self.heading = title("")
        self.heading.setObjectName("viewer-title")
        self.layout_.addWidget(self.heading)
        self.meta = text("", "doc-meta")
        self.layout_.addWidget(self.meta)
        self.pane = DocumentPane()
        self.layout_.addWidget(self.pane, stretch=1)
        self.failure = QWidget()
        failure = QVBoxLayout(self.failure)
        self.failure_text = text("", "warning")
        self.failure_text.setObjectName("failure")
        failure.addWidget(self.failure_text)
        retry = big_button("Réessayer", "retry")
        retry.clicked.connect(lambda: submit(lambda s: s.retry_document(), OPENING))
        failure.addWidget(retry)
        failure.addStretch()
        self.layout_.addWidget(self.failure, stretch=1)
        row = QHBoxLayout()
        back = big_button("Retour au résumé", "back")
        back.setMinimumHeight(60)
        back.clicked.connect(lambda: submit(lambda s: s.close_document()))
        finish = big_button("Terminer", "finish")
        finish.setMinimumHeight(60)
        finish.clicked.connect(lambda: submit(lambda s: s.finish()))
        row.addWidget(back)
        row.addWidget(finish)
        self.layout_.addLayout(row)
        self._drawn: DocumentView | None = None

    def clear(self) -> None:
        self.heading.clear()
        self.meta.clear()
        self.failure_text.clear()
        self.pane.clear_content()
        self._drawn = None

    def draw(self, view: CounterView) -> None:
        viewing = view.viewing
        if viewing is None:
            self.clear()
            return
        if viewing is self._drawn:
            return  # the same document (a tick): pages stay, the scroll too
        self.clear()
        self._drawn = viewing
        doc = viewing.document
        self.heading.setText(doc.title)
        self.meta.setText(
            f"{document_type(doc)} · {_date(doc.document_date)} · {doc.author} · {file_kind(doc)}"
        )
        failed = viewing.failure is not None or viewing.content is None
        self.failure.setVisible(failed)
        self.pane.setVisible(not failed)
        if viewing.failure is not None:
            self.failure_text.setText(describe_document_failure(viewing.failure, viewing.reason))
        elif viewing.content is not None:
            self.pane.show_content(viewing.content)


SCREENS: tuple[type[Screen], ...] = (
    WelcomeScreen,
    HoldersScreen,
    SearchScreen,
    PatientScreen,
    IdentityCheckScreen,
    RepresentativeScreen,
    InformationScreen,
    ConsentScreen,
    BreakGlassScreen,
    ConfirmScreen,
    DocumentScreen,
    ContactScreen,
    DoctorScreen,
    SummaryScreen,
    ViewerScreen,
)
