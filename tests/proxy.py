"""A tiny TCP proxy for tests: a database that can die on cue.

``with Proxy(("127.0.0.1", 5432)) as proxy:`` listens on a free port of 127.0.0.1
and forwards every connection to the target. ``proxy.stop()`` closes the listening
socket and every connection at once, as a crashed server would; ``cut_after=N``
does that by itself once N bytes have come back from the server (mid-stream).

Every loop is bounded: sockets poll with a short timeout, and the proxy stops by
itself after ``lifetime`` seconds and when its ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from types import TracebackType

POLL = 0.1
"""Seconds each loop waits on a socket before looking at the stop flag again."""


class Proxy:
    def __init__(
        self,
        target: tuple[str, int],
        *,
        cut_after: int | None = None,
        lifetime: float = 60.0,
    ) -> None:
        self.target = target
        self.cut_after = cut_after
        self.deadline = time.monotonic() + lifetime
        self.stopped = threading.Event()
        self.received = 0
        """Bytes forwarded from the server to clients."""
        self.connections = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL)
        self.port: int = self._listener.getsockname()[1]
        self._start(self._accept)

    # -- life ----------------------------------------------------------------------------

    def __enter__(self) -> Proxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def _running(self) -> bool:
        return not self.stopped.is_set() and time.monotonic() < self.deadline

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _kill(self) -> None:
        """Close the listener and every connection, from any thread."""
        self.stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def stop(self) -> None:
        """Die now: refuse new connections and drop the open ones; wait for the threads."""
        self._kill()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    # -- work ----------------------------------------------------------------------------

    def _accept(self) -> None:
        while self._running():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.settimeout(None)  # reads wait in select(); a blocked send ends in _kill()
            with self._lock:
                if self.stopped.is_set():
                    client.close()
                    server.close()
                    break
                self._sockets += [client, server]
                self.connections += 1
            self._start(self._pump, client, server, False)
            self._start(self._pump, server, client, True)
        self._kill()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        while self._running():
            try:
                ready, _, _ = select.select([source], [], [], POLL)
                if not ready:
                    continue
                data = source.recv(65536)
            except (OSError, ValueError):  # ValueError: select() on a closed socket
                break
            if not data:
                break
            try:
                sink.sendall(data)
            except OSError:
                break
            if from_server:
                with self._lock:
                    self.received += len(data)
                    cut = self.cut_after is not None and self.received >= self.cut_after
                if cut:
                    self._kill()
                    return
        # one side hung up: close both, as a TCP proxy does
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
