"""A loopback HTTP server that misbehaves on purpose: the fault-injection harness of the suite.

Any test of an HTTP-based collector (OpenBao, Keycloak, S3, a Kubernetes API stand-in) can point
its target at it and assert that no control reads PASS from evidence that was not read::

    from tests.faults import FAULTS, fault_server

    @pytest.mark.parametrize("fault", FAULTS)
    def test_no_pass_from_a_broken_server(fault: str) -> None:
        with fault_server(fault) as server:
            evidence = collect(f"bao={server.url}")      # however the kind's tests collect
        assert no_pass_without_evidence(evidence)

    # a fault on some paths only, a real answer on others (here: every other path is 404):
    with fault_server("truncated", routes={"/v1/sys/health": (200, {"initialized": True})}) as server:
        ...

Faults (`FAULTS`): `down` (nothing listens on the port: connection refused), `hang` (the
connection is accepted and never answered), `drip` (a valid 200 answer sent one byte every
`drip_interval` seconds: only a whole-request deadline stops it), `401`, `403`, `500`,
`malformed` (200 with a body that is not JSON), `truncated` (200 whose Content-Length promises
more than is sent before the connection closes), `empty-object` (200 with `{}`: a syntactically
fine answer without the fields a reader needs) and `wrong-type` (200 with a JSON array where an
object belongs). `routes` maps exact paths to `(status, JSON body)` answered normally; every
request is recorded in `server.requests` (method, path, headers) so a test can assert the
collector only read. The server listens on 127.0.0.1 on a free port, in a daemon thread, and is
shut down (hanging handlers released) when the `with` block ends.

It is a stand-in only for what a real server cannot be made to do; the kind's tests say so.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("down", "hang", "drip", "401", "403", "500", "malformed", "truncated", "empty-object", "wrong-type")
"""Every fault the harness can inject."""


@dataclass
class FaultServer:
    """A running fault server: where it is and what it was asked."""

    url: str
    """Base URL, `http://127.0.0.1:PORT`."""
    fault: str
    """The injected fault."""
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """(method, path, headers) of every request received."""

    @property
    def port(self) -> int:
        """The TCP port."""
        return int(self.url.rsplit(":", 1)[1])


def free_port() -> int:
    """A loopback TCP port nothing listens on (bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_BODIES: Mapping[str, tuple[int, bytes]] = {
    "401": (401, b'{"errors": ["permission denied"]}'),
    "403": (403, b'{"errors": ["permission denied"]}'),
    "500": (500, b'{"errors": ["internal error"]}'),
    "malformed": (200, b"<html>this is not JSON"),
    "empty-object": (200, b"{}"),
    "wrong-type": (200, b"[1, 2, 3]"),
    "drip": (200, b'{"data": {"keys": ["a", "b"]}, "initialized": true, "sealed": false}'),
}


@contextmanager
def fault_server(
    fault: str,
    *,
    routes: Mapping[str, tuple[int, Any]] | None = None,
    drip_interval: float = 0.5,
) -> Iterator[FaultServer]:
    """Run a loopback server injecting `fault` on every path not in `routes`; yield it, then stop it."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")
    if fault == "down":
        yield FaultServer(url=f"http://127.0.0.1:{free_port()}", fault=fault)
        return
    stop = threading.Event()
    answers = dict(routes or {})
    record: list[tuple[str, str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _answer(self) -> None:
            path = self.path.split("?", 1)[0]
            record.append((self.command, self.path, dict(self.headers.items())))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if path in answers:
                status, body = answers[path]
                self._send(status, json.dumps(body).encode())
            elif fault == "hang":
                stop.wait(120)
            elif fault == "truncated":
                body = b'{"data": {"keys": ["a", "b", "c"], "more": "'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) + 4096))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True
            elif fault == "drip":
                status, body = _BODIES["drip"]
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for byte in body:
                    if stop.wait(drip_interval):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            else:
                status, body = _BODIES[fault]
                self._send(status, body)

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _answer
        do_LIST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield FaultServer(url=f"http://127.0.0.1:{server.server_address[1]}", fault=fault, requests=record)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        time.sleep(0)
