"""Fakes of the workflow's ports (kiosk.core.ports), for its fast tests: no Qt, no pcscd, no
HTTP, no disk. They keep what was asked of them, so that tests can count card jobs and read
the queued actions. The same workflow runs over the real parts in tests/e2e and tests/ui.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dmpcommon.actions import ActionPayload, CardTraits, IdentitySearch
from dmpcommon.nir import is_valid_nir, nir_key
from dmpcommon.vocabulary import (
    AccessMode,
    Authorisation,
    BreakGlassReason,
    DmpStatus,
    QualificationStatus,
    Role,
)
from kiosk.core import (
    CardFamily,
    CounterWorkflow,
    OperatorCard,
    ProfessionalIdentity,
    RetrievedIdentity,
)
from kiosk.core.errors import (
    CardError,
    CentralRefusedError,
    CentralUnreachableError,
    PinBlockedError,
    PinError,
)
from kiosk.core.ports import (
    Delivery,
    NewAccess,
    OnlineSession,
    Qualification,
    RecordStatus,
    RecordSummary,
    StrictTraits,
    SummaryDocument,
    SummarySection,
)

# The day the fast tests live on: nothing reads the calendar, so a fixture minor stays one.
TODAY = dt.date(2031, 5, 17)
NOW = dt.datetime(2031, 5, 17, 9, 30, tzinfo=dt.UTC)
PATIENT_READER = "Virtual PCD 00 00"
PRO_READER = "Virtual PCD 00 01"
KIOSK_ID = "kiosk-fake"


def years_ago(years: int, *, days: int = 0) -> str:
    """A birth date `years` before TODAY (and `days` more), as a card writes it."""
    born = TODAY.replace(year=TODAY.year - years) - dt.timedelta(days=days)
    return born.isoformat()


def nir(body: str) -> str:
    """A NIR with its key computed."""
    return f"{body}{nir_key(body):02d}"


def holder(nom: str, prenom: str, birth_date: str, number: str) -> RetrievedIdentity:
    return RetrievedIdentity(nom, prenom, birth_date, number, is_valid_nir(number))


PARENT_NIR = nir("2840275112345")
PARENT = holder("MARTIN", "CLAIRE", years_ago(42), PARENT_NIR)
CHILD = holder("MARTIN", "LEO", years_ago(11), PARENT_NIR)  # the card carries the parent's NIR
TEEN = holder("MARTIN", "JADE", years_ago(18, days=-1), PARENT_NIR)  # 18 tomorrow
ADULT = holder("BERNARD", "JEANNE", years_ago(52), nir("2790351215189"))
BAD_KEY = holder("DURAND", "PAUL", years_ago(40), "180017505609907")
FAMILY = (PARENT, CHILD, TEEN)

PHARMACIST = ProfessionalIdentity("CPS", "899700218896", "DUPONT", "ANNE", "21", "Pharmacie")
PHYSICIAN = ProfessionalIdentity("CPS", "810100457828", "KERGOAT", "YANN", "10", "Cabinet")
AGENT = ProfessionalIdentity("CPE", "3220098765ENIM42", "LE FLOCH", "MARIE", None, "Enim")
CERTIFICATE = b"\x30\x82certificate"


@dataclass
class FakeCards:
    """Cards in readers. `jobs` counts card jobs, as the card thread would run them."""

    professionals: dict[str, tuple[ProfessionalIdentity, str, int]] = field(default_factory=dict)
    vitales: dict[str, tuple[RetrievedIdentity, ...]] = field(default_factory=dict)
    failures: dict[str, CardError] = field(default_factory=dict)  # reader -> next job fails
    jobs: list[str] = field(default_factory=list)
    signed: list[bytes] = field(default_factory=list)

    def insert_professional(
        self, identity: ProfessionalIdentity, *, pin: str = "1234", tries: int = 3
    ) -> None:
        self.professionals[PRO_READER] = (identity, pin, tries)

    def _job(self, name: str, reader: str) -> None:
        self.jobs.append(name)
        failure = self.failures.pop(reader, None)
        if failure is not None:
            raise failure

    def read_professional(self, reader: str) -> OperatorCard:
        self._job("read_professional", reader)
        identity, _pin, tries = self.professionals[reader]
        return OperatorCard(identity, tries, CERTIFICATE)

    def sign_attestation(self, reader: str, pin: str, digest: bytes) -> bytes:
        self._job("sign_attestation", reader)
        identity, expected, tries = self.professionals[reader]
        if tries == 0:
            raise PinBlockedError("no try left")
        if pin != expected:
            tries -= 1
            self.professionals[reader] = (identity, expected, tries)
            if tries == 0:
                raise PinBlockedError("no try left")
            raise PinError(tries)
        self.professionals[reader] = (identity, expected, 3)
        self.signed.append(digest)
        return b"\x30signature"

    def read_vitale(self, reader: str) -> tuple[RetrievedIdentity, ...]:
        self._job("read_vitale", reader)
        return self.vitales[reader]


@dataclass
class FakeCentral:
    """The central service's live API: a register, DMPs, and who may read them."""

    online: bool = True
    register: dict[tuple[str, str, str], str] = field(default_factory=dict)  # traits -> INS
    dmps: dict[str, DmpStatus] = field(default_factory=dict)
    authorised: dict[str, set[str]] = field(default_factory=dict)  # INS -> id_nat
    blocked: dict[str, set[str]] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)  # id_nat -> role, if not the usual
    operator: str = ""  # the id_nat the fake answers for (set by Counter.login)
    refuse_login: str | None = None
    refuse_open: str | None = None
    refuse_reissue: str | None = None
    reissued: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)  # token -> id_nat
    opened: list[tuple[str, AccessMode, BreakGlassReason | None, str | None]] = field(
        default_factory=list
    )

    def qualifies(self, person: RetrievedIdentity, ins: str) -> None:
        self.register[(person.nom, person.prenom, person.birth_date)] = ins

    def _reachable(self) -> None:
        if not self.online:
            raise CentralUnreachableError("ConnectionError")

    def open_session(
        self,
        *,
        kiosk_id: str,
        session_id: str,
        issued_at: str,
        certificate: bytes,
        signature: bytes,
    ) -> OnlineSession:
        self._reachable()
        if self.refuse_login:
            raise CentralRefusedError(401, self.refuse_login, "refused")
        token = f"token-{session_id}"
        self.sessions[token] = session_id
        return OnlineSession(token, self.roles.get(self.operator, Role.HEALTH_PROFESSIONAL))

    def resume_session(self, session_id: str) -> OnlineSession:
        self._reachable()
        if self.refuse_login:
            raise CentralRefusedError(401, self.refuse_login, "refused")
        token = f"token-{session_id}"
        self.sessions[token] = session_id
        self.resumed.append(session_id)
        return OnlineSession(token, self.roles.get(self.operator, Role.HEALTH_PROFESSIONAL))

    def search_identity(self, token: str, search: IdentitySearch) -> Qualification:
        self._reachable()
        ins = self.register.get((search.nom, search.prenom, search.birth_date))
        if ins is None:
            return Qualification(QualificationStatus.NOT_FOUND)
        return Qualification(QualificationStatus.QUALIFIED, ins, self._traits(search, ins))

    @staticmethod
    def _traits(search: IdentitySearch, ins: str) -> StrictTraits:
        return StrictTraits(search.nom, (search.prenom,), search.sexe, search.birth_date, "29103")

    def qualify(self, token: str, traits: CardTraits) -> Qualification:
        self._reachable()
        ins = self.register.get((traits.nom, traits.prenom, traits.birth_date))
        if ins is None:
            return Qualification(QualificationStatus.NOT_FOUND)
        sex = "F" if traits.nir[:1] in "248" else "M"
        strict = StrictTraits(traits.nom, (traits.prenom,), sex, traits.birth_date, "56121")
        return Qualification(QualificationStatus.QUALIFIED, ins, strict)

    def status(self, token: str, ins: str) -> RecordStatus:
        self._reachable()
        status = self.dmps.get(ins, DmpStatus.NONE)
        operator = self.operator
        if operator in self.blocked.get(ins, set()):
            return RecordStatus(status, Authorisation.BLOCKED)
        if operator in self.authorised.get(ins, set()):
            return RecordStatus(status, Authorisation.AUTHORISED)
        return RecordStatus(status, Authorisation.NOT_AUTHORISED)

    def open_record(
        self,
        token: str,
        ins: str,
        *,
        mode: AccessMode,
        reason_code: BreakGlassReason | None,
        reason_text: str | None,
    ) -> RecordSummary:
        self._reachable()
        if self.refuse_open:
            raise CentralRefusedError(403, self.refuse_open, "refused")
        self.opened.append((ins, mode, reason_code, reason_text))
        document = SummaryDocument("Metformine 500 mg", "2031-04-02", "Dr KERGOAT", "2 cp/j")
        return RecordSummary(mode, ((SummarySection.MEDICATIONS, (document,)),))

    def set_closed(self, token: str, ins: str, *, closed: bool) -> None:
        self._reachable()
        self.dmps[ins] = DmpStatus.CLOSED if closed else DmpStatus.VALID

    def reissue_activation(self, token: str, ins: str) -> NewAccess:
        self._reachable()
        if self.refuse_reissue:
            raise CentralRefusedError(403, self.refuse_reissue, "refused")
        self.reissued.append(ins)
        return NewAccess("ABCDEFGH23", "87654321")


@dataclass
class FakeQueue:
    """The queue: what was enqueued, in order."""

    actions: list[tuple[ActionPayload, str]] = field(default_factory=list)
    answers: dict[int, Delivery] = field(default_factory=dict)  # entry (1-based) -> answer
    reasons: dict[int, str] = field(default_factory=dict)  # entry -> the refusal's code
    subjects: list[str | None] = field(default_factory=list)

    def enqueue(
        self, payload: ActionPayload, *, session_id: str, subject: str | None = None
    ) -> object:
        self.actions.append((payload, session_id))
        self.subjects.append(subject)
        return len(self.actions)

    def delivery(self, entry: object) -> Delivery:
        """As the service answered: what the test set for this entry, pending until then."""
        return self.answers.get(int(str(entry)), Delivery.PENDING)

    def refusal(self, entry: object) -> str | None:
        if self.delivery(entry) is not Delivery.REJECTED:
            return None
        return self.reasons.get(int(str(entry)))

    def answer_all(self, delivery: Delivery = Delivery.ACCEPTED, reason: str | None = None) -> None:
        """The service answers every action queued so far."""
        for entry in range(1, len(self.actions) + 1):
            self.answers.setdefault(entry, delivery)
            if reason is not None and delivery is Delivery.REJECTED:
                self.reasons.setdefault(entry, reason)

    def types(self) -> list[str]:
        return [payload.action_type.value for payload, _ in self.actions]

    def of(self, kind: type[ActionPayload]) -> list[ActionPayload]:
        return [payload for payload, _ in self.actions if isinstance(payload, kind)]


@dataclass
class FakeClock:
    """A monotonic clock the tests move."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Counter:
    """A workflow over fakes, and the fakes, for one test."""

    workflow: CounterWorkflow
    cards: FakeCards
    central: FakeCentral
    queue: FakeQueue
    clock: FakeClock

    def login(
        self, identity: ProfessionalIdentity = PHARMACIST, *, role: Role | None = None
    ) -> None:
        """The professional card in, the right PIN: READY."""
        self.central.operator = identity.id_nat
        if role is not None:
            self.central.roles[identity.id_nat] = role
        self.cards.insert_professional(identity)
        self.workflow.card_inserted(PRO_READER, CardFamily.PROFESSIONAL)
        self.workflow.submit_pin("1234")

    def vitale(self, *holders: RetrievedIdentity) -> None:
        """A Carte Vitale with these holders in the patient's reader."""
        self.cards.vitales[PATIENT_READER] = holders
        self.workflow.card_inserted(PATIENT_READER, CardFamily.VITALE2)


def make_counter(*, online: bool = True, idle_s: float = 90.0) -> Counter:
    """A workflow over fresh fakes, living on TODAY."""
    cards, central, queue, clock = FakeCards(), FakeCentral(online=online), FakeQueue(), FakeClock()
    workflow = CounterWorkflow(
        kiosk_id=KIOSK_ID,
        cards=cards,
        central=central,
        queue=queue,
        idle_s=idle_s,
        clock=clock,
        today=lambda: TODAY,
        now=lambda: NOW,
    )
    return Counter(workflow, cards, central, queue, clock)
