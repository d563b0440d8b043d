"""Helper process for the power-cut test: enqueue forever, print each seq once it returned."""

from __future__ import annotations

import sys
from pathlib import Path

from dmpcommon.actions import OperatorSessionClosed
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.queue import ActionQueue, open_engine


def main() -> None:
    home = Path(sys.argv[1])
    central_key = bytes.fromhex(sys.argv[2])
    queue = ActionQueue(
        open_engine(home / "queue.db"),
        kiosk_id="kiosk-test",
        signing_key=load_or_create_device_key(home / "device.key"),
        central_key=central_key,
    )
    print("ready", flush=True)
    while True:
        entry = queue.enqueue(OperatorSessionClosed(), session_id="s-1")
        print(entry.seq, flush=True)


if __name__ == "__main__":
    main()
