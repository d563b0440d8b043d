"""The vpcd wire protocol, card side.

vpcd (the virtual reader inside pcscd) listens on 127.0.0.1:35963 + slot; a virtual card
connects to it. Each message is a 2-byte big-endian length then the bytes; a 1-byte message
is a control (0 power off, 1 power on, 2 reset, 4 send the ATR). Closing the socket is
pulling the card out.

Latency: with TCP_NODELAY, and TCP_QUICKACK set again before each receive (Linux clears it),
one APDU through pcscd costs about 0.2 ms; without, Nagle and delayed ACKs make it ~49 ms.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from pathlib import Path

from drivers.cards import MisbehavingCard, build_card
from drivers.image import CardImage, load_image

__all__ = ["VPCD_BASE_PORT", "VirtualCardLink", "insert_card"]

log = logging.getLogger(__name__)

VPCD_BASE_PORT = 35963
_CTRL_OFF, _CTRL_ON, _CTRL_RESET, _CTRL_ATR = 0, 1, 2, 4


class _Closed(Exception):
    """The link went away (stopped, or vpcd closed it)."""


class VirtualCardLink:
    """One virtual card in one vpcd slot, served on its own thread until removed."""

    def __init__(
        self,
        card: MisbehavingCard,
        *,
        slot: int = 0,
        host: str = "127.0.0.1",
        port: int | None = None,
        reconnect: bool = True,
        tune_socket: bool = True,
    ) -> None:
        self.card = card
        self.tune_socket = tune_socket
        self.slot = slot
        self.address = (host, port if port is not None else VPCD_BASE_PORT + slot)
        self.reconnect = reconnect
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"vicc-slot{slot}", daemon=True)
        self.connected = threading.Event()
        self.pulled_out = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, wait_s: float = 5.0) -> VirtualCardLink:
        """Insert the card; wait until vpcd accepted the connection."""
        self._thread.start()
        if not self.connected.wait(wait_s):
            self.remove()
            raise ConnectionError(f"vpcd is not listening on {self.address[0]}:{self.address[1]}")
        return self

    def remove(self) -> None:
        """Pull the card out and stop serving."""
        self._stop.set()
        self._close_socket()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5)

    def wait(self) -> None:
        """Block until the card is removed."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> VirtualCardLink:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.remove()

    # -- serving ---------------------------------------------------------------------------

    def _close_socket(self) -> None:
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone
            sock.close()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=2)
        sock.settimeout(None)
        if self.tune_socket:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._sock = sock
        return sock

    def _run(self) -> None:
        delay = 0.05
        while not self._stop.is_set():
            try:
                sock = self._connect()
            except OSError:
                self._stop.wait(delay)  # pcscd not (yet) up: try again, gently
                delay = min(delay * 2, 1.0)
                continue
            delay = 0.05
            self.connected.set()
            log.info("card inserted in slot %d", self.slot)
            try:
                self._serve(sock)
            except _Closed:
                pass
            except OSError as exc:
                log.info("vpcd link lost: %s", exc)
            finally:
                self._close_socket()
            if self.pulled_out.is_set() or not self.reconnect:
                break
            # vpcd went away (pcscd restarted): the card stays in the reader, reconnect.
        log.info("card removed from slot %d", self.slot)

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise _Closed
            buf += chunk
        return bytes(buf)

    def _send(self, sock: socket.socket, message: bytes) -> None:
        sock.sendall(struct.pack(">H", len(message)) + message)

    def _serve(self, sock: socket.socket) -> None:
        behaviour = self.card.behaviour
        while not self._stop.is_set():
            if self.tune_socket:
                # Linux clears QUICKACK after use: set it again before every receive.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            (length,) = struct.unpack(">H", self._recv_exact(sock, 2))
            message = self._recv_exact(sock, length)
            if length == 1:
                control = message[0]
                if control == _CTRL_ATR:
                    self._send(sock, self.card.atr)
                elif control == _CTRL_ON:
                    self.card.power_on()
                elif control == _CTRL_OFF:
                    self.card.power_off()
                elif control == _CTRL_RESET:
                    self.card.reset()
                continue
            done = self.card.apdus
            if behaviour.remove_after_apdus is not None and done >= behaviour.remove_after_apdus:
                self.pulled_out.set()
                raise _Closed
            if behaviour.mute_after_apdus is not None and done >= behaviour.mute_after_apdus:
                self.card.apdus += 1
                self._stop.wait()  # silent until removed; vpcd blocks meanwhile
                raise _Closed
            self._send(sock, self.card.process(message))


def insert_card(
    image: CardImage | str | Path,
    *,
    slot: int = 0,
    host: str = "127.0.0.1",
    port: int | None = None,
    reconnect: bool = True,
) -> VirtualCardLink:
    """Insert a virtual card built from an image (or its path) and return its link."""
    if not isinstance(image, CardImage):
        image = load_image(image)
    link = VirtualCardLink(build_card(image), slot=slot, host=host, port=port, reconnect=reconnect)
    return link.start()
