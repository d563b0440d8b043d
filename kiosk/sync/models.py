"""The kiosk's local queue: one row per action, envelope bytes and signature as they are."""

from __future__ import annotations

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["QueueBase", "QueuedAction"]


class QueueBase(DeclarativeBase):
    """Base of the kiosk's tables (its own metadata: the kiosk shares nothing with central)."""


class QueuedAction(QueueBase):
    """An action: its envelope as signed, and what the central service said of it."""

    __tablename__ = "actions"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    action_id: Mapped[str] = mapped_column(String(36), unique=True)
    action_type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    acked_at: Mapped[str | None] = mapped_column(String(32))
    # The patient's initials, so that a refusal can say for whom; wiped once accepted.
    subject: Mapped[str | None] = mapped_column(String(16))
