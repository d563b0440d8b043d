"""The workflow's own thread: commands run there one at a time, views come back by signal.

The UI thread never waits on a card, the network or the disk (STYLE 9). A tap or a card
event becomes a command queued here; after each command the workflow's new view is emitted
and Qt delivers it on the UI thread, where the screens draw it.

A command submitted with a label is *busy*: from the moment it is queued until its view has
reached the UI thread, `busy_label` names it. The window shows the label when the wait is
long, and swallows taps meanwhile, so a second tap never repeats the first one nor lands on
a screen that is about to change.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, Signal, Slot

from kiosk.core import CounterView, CounterWorkflow, Notice, NoticeCode, notice_for
from kiosk.core.errors import KioskError

__all__ = ["Command", "Submit", "WorkflowRunner"]

log = logging.getLogger(__name__)

Command = Callable[[CounterWorkflow], object]


class Submit(Protocol):
    """How screens send a command: `busy` is the French line shown while it runs."""

    def __call__(self, command: Command, busy: str | None = None) -> None: ...


class WorkflowRunner(QObject):
    """Runs the workflow's commands on one worker thread; emits `changed` after each."""

    changed = Signal(object)  # CounterView
    # The label of the oldest busy command not yet drawn, or None: emitted on each change.
    busy_changed = Signal(object)  # str | None
    _drawn = Signal()  # a busy command's view was emitted (worker -> UI thread)

    def __init__(self, workflow: CounterWorkflow) -> None:
        super().__init__()
        self.workflow = workflow
        self._commands: queue.Queue[tuple[Command, bool] | None] = queue.Queue()
        self._last: CounterView | None = None
        self._busy: list[str] = []  # labels of busy commands, oldest first
        self._lock = threading.Lock()
        # Queued: runs on this object's (the UI) thread after the `changed` emitted before it.
        self._drawn.connect(self._busy_done)
        self._thread = threading.Thread(target=self._run, name="kiosk-workflow", daemon=True)
        self._thread.start()

    @property
    def busy_label(self) -> str | None:
        """The busy command being waited for (None: nothing is)."""
        with self._lock:
            return self._busy[0] if self._busy else None

    def submit(self, command: Command, busy: str | None = None) -> None:
        """Queue a command (from any thread); `busy`: the French line shown while it runs."""
        if busy is not None:
            with self._lock:
                self._busy.append(busy)
                first = len(self._busy) == 1
            if first:
                self.busy_changed.emit(busy)
        self._commands.put((command, busy is not None))

    def stop(self) -> None:
        self._commands.put(None)
        self._thread.join(timeout=10)

    @Slot()
    def _busy_done(self) -> None:
        with self._lock:
            if self._busy:
                self._busy.pop(0)
            label = self._busy[0] if self._busy else None
        self.busy_changed.emit(label)

    def _run(self) -> None:
        while (item := self._commands.get()) is not None:
            command, busy = item
            try:
                self._execute(command)
            except Exception:  # even the view failed: the thread must not die silently
                log.exception("workflow view failed")
            finally:
                if busy:
                    self._drawn.emit()

    def _execute(self, command: Command) -> None:
        try:
            command(self.workflow)
        except KioskError as exc:
            log.warning("workflow command failed: %s", exc.code)
            self.workflow.notice = notice_for(exc)
        except Exception:  # a bug must not freeze the counter: say so, keep going
            log.exception("workflow command failed")
            self.workflow.notice = Notice(NoticeCode.UNEXPECTED)
        view: CounterView = self.workflow.view()
        # Only a new view is drawn: an idle tick that changes nothing must not redraw the
        # PIN pad or the consent form under the operator's finger.
        if view != self._last:
            self._last = view
            self.changed.emit(view)
