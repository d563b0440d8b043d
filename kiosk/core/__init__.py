"""The kiosk's core: the counter workflow, its ports, domain values and codes.

It knows nothing of Qt, pyscard or HTTP, and speaks no French: notices are codes, views are
values, and the screens and the command line put them into words.
"""

from __future__ import annotations

from kiosk.core.domain import (
    CardFamily,
    OperatorCard,
    ProfessionalIdentity,
    RetrievedIdentity,
    pin_format_ok,
)
from kiosk.core.notices import Notice, NoticeCode, notice_for
from kiosk.core.views import (
    AccessSheet,
    Change,
    ChangeView,
    CounterView,
    CreationForm,
    DocumentFailure,
    DocumentView,
    HolderView,
    OperatorView,
    OtherRepresentative,
    Step,
)
from kiosk.core.workflow import CounterWorkflow

__all__ = [
    "AccessSheet",
    "CardFamily",
    "Change",
    "ChangeView",
    "CounterView",
    "CounterWorkflow",
    "CreationForm",
    "DocumentFailure",
    "DocumentView",
    "HolderView",
    "Notice",
    "NoticeCode",
    "OperatorView",
    "OperatorCard",
    "OtherRepresentative",
    "ProfessionalIdentity",
    "RetrievedIdentity",
    "Step",
    "notice_for",
    "pin_format_ok",
]
