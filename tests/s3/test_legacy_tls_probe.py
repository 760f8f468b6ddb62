"""The TLS 1.1 probe reads a refusal only from a TLS answer, never from a failed connection.

A listener that accepts the TCP connection and closes it without a TLS answer (a load balancer
dropping what it does not like, a reset) proves nothing about TLS 1.1: reading that as "refused"
would make S3-08's PASS rest on no evidence. A plain socket stands in for such a listener, since
the real MinIO of the suite always answers with a TLS alert (its refusal, tested in test_checks).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from checks.s3.collect import _Collector
from checks.s3.plugin import PLUGIN
from scanner.model import Evidence, Status
from tests.s3.conftest import creds


@pytest.fixture
def closing_listener() -> Iterator[int]:
    """A loopback port whose every connection is closed at once, without a byte sent."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def test_a_connection_closed_without_tls_answer_is_not_a_refusal(closing_listener: int) -> None:
    target = PLUGIN.parse_target(f"https://127.0.0.1:{closing_listener}")
    collector = _Collector(target, creds("reader", "not-a-real-secret-123"), 5.0)
    accepted, why = collector._legacy_tls()
    assert accepted is None
    assert why is not None and "unknown" in why

    evidence = Evidence(
        target="t",
        kind="s3",
        uri=f"s3://127.0.0.1:{closing_listener}",
        sections={
            "server": {
                "scheme": "https",
                "flavour": "minio",
                "tls": {"version": "TLSv1.3", "legacy_tls_accepted": accepted, "legacy_tls_unverified": why},
            }
        },
    )
    (spec,) = [spec for spec in PLUGIN.checks() if spec.name == "s3.tls_version"]
    results = list(spec.function(evidence, {"minimum": "TLSv1.2"}))
    assert [r.status for r in results] == [Status.ERROR]
    assert why in results[0].message
