"""How far a kiosk's clock is believed (DESIGN.md, "Whom the central service trusts").

A queued action carries the kiosk's time. It is judged as of that time (an offline session
is judged as of when it happened at the counter), but only within bounds: not after the
service received it (plus a small skew), not before the previous envelope's time, not older
than the offline window. The operator session's own bounds are checked by the appliers.
Pure: no database, no HTTP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ClockBounds", "TimeRefusal", "judge_action_time"]


class TimeRefusal(StrEnum):
    """Why an action's time is not believed: the receipt's reason, read by the kiosk."""

    UNREADABLE = "action_time_unreadable"
    FUTURE = "action_time_in_future"
    TOO_OLD = "action_time_too_old"
    BEFORE_PREVIOUS = "action_time_before_previous"


@dataclass(frozen=True, slots=True)
class ClockBounds:
    """The service's tolerance: how long a kiosk may stay offline, how far clocks drift."""

    offline_window: dt.timedelta = dt.timedelta(days=7)
    skew: dt.timedelta = dt.timedelta(minutes=2)


def judge_action_time(
    created_at: str,
    *,
    received: dt.datetime,
    previous: dt.datetime | None,
    bounds: ClockBounds,
) -> dt.datetime | TimeRefusal:
    """The action's time if it is believable, else why not."""
    try:
        at = dt.datetime.fromisoformat(created_at)
    except ValueError:
        return TimeRefusal.UNREADABLE
    if at.tzinfo is None:
        return TimeRefusal.UNREADABLE
    if at > received + bounds.skew:
        return TimeRefusal.FUTURE
    if at < received - bounds.offline_window:
        return TimeRefusal.TOO_OLD
    # Two actions a kiosk wrote in a row: the second is never older (its clock may step
    # back a little when it synchronises, hence the skew).
    if previous is not None and at < previous - bounds.skew:
        return TimeRefusal.BEFORE_PREVIOUS
    return at
