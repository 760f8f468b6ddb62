"""A fake PostgreSQL wire-protocol server on loopback: a stand-in for what no real server does.

A real PostgreSQL never echoes the password it received. To prove that sovscan redacts a
credential wherever it came from, even when a hostile or broken server sends it back, this
server speaks just enough of the protocol (v3): it refuses SSL/GSS requests ('N'), asks for a
clear-text password (AuthenticationCleartextPassword) and answers with an ErrorResponse whose
message contains the password it received. Tests that use it say so.

`mode="malformed"` instead accepts any password (AuthenticationOk), then answers every query
with a row of one text column `x` = `garbage`: a server whose answers have an unexpected
shape. `mode="hang"` accepts the connection and never answers; `mode="stall"` authenticates,
then reads queries and never answers one (a server that hangs mid-session).
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104
CANCEL_REQUEST = 80877102


def _message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!I", len(payload) + 4) + payload


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client closed")
        data += chunk
    return data


def _error(message: str, code: str = "28P01") -> bytes:
    fields = b"".join(
        k + v.encode() + b"\0" for k, v in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message))
    )
    return _message(b"E", fields + b"\0")


class FakePgServer:
    """The server; `received` lists every password it was sent."""

    def __init__(self, mode: str = "echo") -> None:
        self.mode = mode
        self.received: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._clients: list[socket.socket] = []

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._clients.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _startup(self, conn: socket.socket) -> dict[str, str] | None:
        while True:
            (length,) = struct.unpack("!I", _recv_exact(conn, 4))
            body = _recv_exact(conn, length - 4)
            (code,) = struct.unpack("!I", body[:4])
            if code in (SSL_REQUEST, GSS_REQUEST):
                conn.sendall(b"N")
                continue
            if code == CANCEL_REQUEST:
                return None
            parts = body[4:].split(b"\0")
            return {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2) if parts[i]}

    def _handle(self, conn: socket.socket) -> None:
        with suppress(OSError, ConnectionError, struct.error), conn:
            conn.settimeout(10)
            params = self._startup(conn)
            if params is None:
                return
            if self.mode == "hang":
                self._stop.wait(30)
                return
            conn.sendall(_message(b"R", struct.pack("!I", 3)))  # AuthenticationCleartextPassword
            kind = _recv_exact(conn, 1)
            (length,) = struct.unpack("!I", _recv_exact(conn, 4))
            body = _recv_exact(conn, length - 4)
            if kind != b"p":
                return
            password = body.rstrip(b"\0").decode(errors="replace")
            self.received.append(password)
            if self.mode == "echo":
                user = params.get("user", "?")
                conn.sendall(_error(f'password authentication failed for user "{user}": you sent "{password}"'))
                return
            if self.mode == "stall":
                self._stalled_session(conn)
                return
            self._malformed_session(conn)

    def _stalled_session(self, conn: socket.socket) -> None:
        conn.sendall(_message(b"R", struct.pack("!I", 0)))
        for name, value in (("server_version", "15.0"), ("client_encoding", "UTF8")):
            conn.sendall(_message(b"S", name.encode() + b"\0" + value.encode() + b"\0"))
        conn.sendall(_message(b"K", struct.pack("!II", 1, 2)) + _message(b"Z", b"I"))
        self._stop.wait(60)

    def _malformed_session(self, conn: socket.socket) -> None:
        conn.sendall(_message(b"R", struct.pack("!I", 0)))  # AuthenticationOk
        for name, value in (
            ("server_version", "15.0"),
            ("client_encoding", "UTF8"),
            ("standard_conforming_strings", "on"),
        ):
            conn.sendall(_message(b"S", name.encode() + b"\0" + value.encode() + b"\0"))
        conn.sendall(_message(b"K", struct.pack("!II", 1, 2)) + _message(b"Z", b"I"))
        row_description = _message(
            b"T", struct.pack("!H", 1) + b"x\0" + struct.pack("!IHIhIH", 0, 0, 25, -1, 0xFFFFFFFF, 0)
        )
        data_row = _message(b"D", struct.pack("!H", 1) + struct.pack("!I", 7) + b"garbage")
        while True:
            kind = _recv_exact(conn, 1)
            (length,) = struct.unpack("!I", _recv_exact(conn, 4))
            _recv_exact(conn, length - 4)
            if kind == b"X":
                return
            if kind == b"Q":  # simple query
                conn.sendall(row_description + data_row + _message(b"C", b"SELECT 1\0") + _message(b"Z", b"I"))
            elif kind == b"P":
                conn.sendall(_message(b"1", b""))
            elif kind == b"B":
                conn.sendall(_message(b"2", b""))
            elif kind == b"D":
                conn.sendall(_message(b"t", struct.pack("!H", 0)) + row_description)
            elif kind == b"E":
                conn.sendall(data_row + _message(b"C", b"SELECT 1\0"))
            elif kind == b"S":
                conn.sendall(_message(b"Z", b"I"))

    def start(self) -> FakePgServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        self._stop.set()
        with suppress(OSError):
            self._sock.close()
        for client in self._clients:
            with suppress(OSError):
                client.close()
        self._thread.join(timeout=5)


@contextmanager
def fake_pg_server(mode: str = "echo") -> Iterator[FakePgServer]:
    """A running FakePgServer, stopped afterwards."""
    server = FakePgServer(mode).start()
    try:
        yield server
    finally:
        server.stop()
