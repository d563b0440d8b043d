"""A fault-injecting HTTP/1.1 proxy on loopback, between the kiosk and the central service.

One request per client connection (the proxy answers with `Connection: close`). For a chosen
share of requests it injects one of these faults, at random:

- `drop_after_commit`: forward, let the service answer (and commit), then reset the client
  connection without the answer;
- `reset`: reset the client connection before forwarding anything;
- `late`: hold the request past the client's timeout, then forward it (the service commits
  after the client gave up, possibly while its retry is being served);
- `bad_gateway`: answer 502 without forwarding.
"""

from __future__ import annotations

import collections
import random
import socket
import struct
import threading
import time

__all__ = ["FAULTS", "FaultyProxy"]

FAULTS = ("drop_after_commit", "reset", "late", "bad_gateway")
_BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: 11\r\n"
    b"connection: close\r\n\r\nbad gateway"
)


def _reset(conn: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a dropped middlebox connection looks."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    lines = [
        line
        for line in head.split(b"\r\n")
        if not line.lower().startswith((b"connection:", b"keep-alive:"))
    ]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


class FaultyProxy:
    """Listen on 127.0.0.1:<port>; forward to the upstream (host, port) with faults."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        fault_rate: float = 0.3,
        late_s: float = 1.5,
        seed: int = 9421,
    ) -> None:
        self.upstream = upstream
        self.fault_rate = fault_rate
        self.late_s = late_s
        self._rng = random.Random(seed)  # noqa: S311 - test faults, not secrecy
        self._lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultyProxy:
        thread = threading.Thread(target=self._accept, name="faulty-proxy", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        for thread in self._threads:
            thread.join(timeout=self.late_s + 5)

    def _choose(self) -> str:
        with self._lock:
            fault = (
                self._rng.choice(FAULTS) if self._rng.random() < self.fault_rate else "forwarded"
            )
            self.counts[fault] += 1
            return fault

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _forward(self, request: bytes) -> bytes:
        with socket.create_connection(self.upstream, timeout=60) as upstream:
            upstream.sendall(request)
            chunks = []
            while chunk := upstream.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def _serve(self, conn: socket.socket) -> None:
        try:
            request = _read_request(conn)
            if request is None:
                conn.close()
                return
            fault = self._choose()
            if fault == "reset":
                _reset(conn)
                return
            if fault == "bad_gateway":
                conn.sendall(_BAD_GATEWAY)
                conn.close()
                return
            if fault == "late":
                time.sleep(self.late_s)
            response = self._forward(request)
            if fault == "drop_after_commit":
                _reset(conn)
                return
            conn.sendall(response)
            conn.close()
        except OSError:
            conn.close()
