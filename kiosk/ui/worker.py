"""The workflow's own thread: commands run there one at a time, views come back by signal.

The UI thread never waits on a card, the network or the disk (STYLE 9). A tap or a card
event becomes a command queued here; after each command the workflow's new view is emitted
and Qt delivers it on the UI thread, where the screens draw it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from kiosk.core import CounterView, CounterWorkflow, Notice, NoticeCode, notice_for
from kiosk.core.errors import KioskError

__all__ = ["WorkflowRunner"]

log = logging.getLogger(__name__)

Command = Callable[[CounterWorkflow], object]


class WorkflowRunner(QObject):
    """Runs the workflow's commands on one worker thread; emits `changed` after each."""

    changed = Signal(object)  # CounterView
    busy = Signal(bool)

    def __init__(self, workflow: CounterWorkflow) -> None:
        super().__init__()
        self.workflow = workflow
        self._commands: queue.Queue[Command | None] = queue.Queue()
        self._last: CounterView | None = None
        self._thread = threading.Thread(target=self._run, name="kiosk-workflow", daemon=True)
        self._thread.start()

    def submit(self, command: Command) -> None:
        """Queue a command (from any thread)."""
        self._commands.put(command)

    def stop(self) -> None:
        self._commands.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while (command := self._commands.get()) is not None:
            self.busy.emit(True)
            try:
                command(self.workflow)
            except KioskError as exc:
                log.warning("workflow command failed: %s", exc.code)
                self.workflow.notice = notice_for(exc)
            except Exception:  # a bug must not freeze the counter: say so, keep going
                log.exception("workflow command failed")
                self.workflow.notice = Notice(NoticeCode.UNEXPECTED)
            view: CounterView = self.workflow.view()
            self.busy.emit(False)
            # Only a new view is drawn: an idle tick that changes nothing must not redraw the
            # PIN pad or the consent form under the operator's finger.
            if view != self._last:
                self._last = view
                self.changed.emit(view)
