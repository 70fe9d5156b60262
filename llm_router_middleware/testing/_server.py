"""A loopback HTTP/1.1 server in a background thread, shared by the test doubles.

Stdlib only: one daemon thread per connection, keep-alive, TCP_NODELAY, and a
`stop()` that wakes sleeping handlers, closes open connections and joins every
thread it started, so tests leak neither sockets nor threads.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import threading
import time
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self

_POLL_INTERVAL_S = 0.02


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.stopping = threading.Event()
        self.owner: Any = None
        self.name = f"{type(self).__name__}:{self.server_address[1]}"
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        # daemon threads, which server_close() does not join: stop() joins them itself
        self._conn_threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        current = threading.current_thread()
        current.name = f"{self.name}:conn"
        with self._conn_lock:
            self._conn_threads.add(current)
        super().process_request_thread(request, client_address)

    def join_connections(self, timeout_s: float = 10.0) -> None:
        with self._conn_lock:
            threads = list(self._conn_threads)
        for thread in threads:
            thread.join(timeout_s)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exception()
        if isinstance(exc, OSError | ValueError):
            return  # the client went away or the server is stopping
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class BaseHandler(BaseHTTPRequestHandler):
    """Request handler with one-write responses and helpers for JSON bodies."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "llm-router-fake/0.1"
    sys_version = ""
    server: _Server
    json_content_types: ClassVar[tuple[str, ...]] = ("application/json",)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}".rstrip()]
        lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        self.send_bytes(status, body, headers=headers)

    def start_chunked(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}".rstrip()]
        lines.append(f"Content-Type: {content_type}")
        lines.append("Transfer-Encoding: chunked")
        lines.append("Cache-Control: no-cache")
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def client_gone(self) -> bool:
        """True when the peer closed its side (readable with zero bytes pending)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            peeked: bytes = self.connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            return True
        return peeked == b""

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops or the client leaves; False if interrupted."""
        end = time.monotonic() + seconds
        while (remaining := end - time.monotonic()) > 0:
            if self.server.stopping.wait(min(0.05, remaining)) or self.client_gone():
                self.close_connection = True
                return False
        return True

    def hang(self) -> None:
        """Never answer: wait until the client gives up or the server stops."""
        while not self.server.stopping.wait(0.05) and not self.client_gone():
            pass
        self.close_connection = True


class BackgroundServer:
    """Start/stop lifecycle and context manager around a `_Server` thread."""

    handler_class: ClassVar[type[BaseHandler]]

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(
                f"{type(self).__name__} is not running: call start() or use it as a context manager"
            )
        return int(self._server.server_address[1])

    def start(self) -> Self:
        with self._lifecycle:
            if self._server is not None:
                return self
            server = _Server((self._host, self._port), self.handler_class)
            server.owner = self
            server.name = f"{type(self).__name__}:{server.server_address[1]}"
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": _POLL_INTERVAL_S},
                name=server.name,
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        with self._lifecycle:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None or thread is None:
            return
        server.stopping.set()
        server.shutdown()
        thread.join()
        server.close_connections()
        server.server_close()
        server.join_connections()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
