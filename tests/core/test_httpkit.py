"""The HTTP collector toolkit against real sockets: refused connections, silent listeners, TLS servers.

No client library is mocked: `requests` and `urllib3` really connect to loopback listeners the
test opens (a closed port, a listener that never answers, a TLS server with a self-signed
certificate, and pytest-httpserver for error bodies).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import urllib3
from pytest_httpserver import HTTPServer

from scanner import httpkit
from scanner.errors import CollectionError, ConfigError
from tests.services.kubeapi import self_signed_certificate


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def silent_port() -> Iterator[int]:
    """A listener that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A TLS listener with a self-signed certificate for 127.0.0.1 answering HTTP 200; yields (port, cert)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = self_signed_certificate(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = int(listener.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    conn.settimeout(2)
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, cert
    stop.set()
    thread.join(2)
    listener.close()


def test_deadline_caps_each_request_and_fails_once_passed() -> None:
    deadline = httpkit.Deadline(30, request_cap=4)
    assert deadline.request_timeout() == 4
    short = httpkit.Deadline(1)
    short.end = time.monotonic() - 1
    with pytest.raises(httpkit.RequestFailed) as caught:
        short.request_timeout()
    assert caught.value.reason == CollectionError.TIMEOUT
    assert "deadline passed" in str(caught.value)
    assert short.soft_timeout() == 1.0


def test_tls_settings_verify_by_default_and_record_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"ca_env": ("X_CACERT",), "skip_verify_env": ("X_SKIP_VERIFY",)}
    monkeypatch.delenv("X_CACERT", raising=False)
    monkeypatch.delenv("X_SKIP_VERIFY", raising=False)
    assert httpkit.tls_settings({}, **env) == httpkit.TlsSettings(verify=True)
    assert httpkit.insecure_transport("https", httpkit.tls_settings({}, **env)) == []
    monkeypatch.setenv("X_CACERT", "/ca.pem")
    assert httpkit.tls_settings({}, **env).ca_source == "X_CACERT"
    assert httpkit.tls_settings({"ca_cert": "/o.pem"}, **env).verify == "/o.pem"
    monkeypatch.setenv("X_SKIP_VERIFY", "yes")
    off = httpkit.tls_settings({}, **env)
    assert off.verify is False and off.skip_verify_source == "X_SKIP_VERIFY"
    assert httpkit.insecure_transport("https", off, "Keycloak") == [
        "TLS verification disabled by X_SKIP_VERIFY: the identity of Keycloak was not verified"
    ]
    assert httpkit.tls_settings({"tls_skip_verify": "false"}, **env).verify == "/ca.pem"
    assert "plain HTTP" in httpkit.insecure_transport("http", httpkit.TlsSettings(verify=True))[0]
    monkeypatch.setenv("X_SKIP_VERIFY", "perhaps")
    with pytest.raises(ConfigError, match="X_SKIP_VERIFY must be true or false"):
        httpkit.tls_settings({}, **env)


def test_refused_connection_is_unreachable_for_requests_and_urllib3() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/x"
    with pytest.raises(requests.exceptions.ConnectionError) as caught_requests:
        requests.get(url, timeout=2)
    failure = httpkit.request_failure(caught_requests.value, "reading /x")
    assert (failure.reason, str(failure)) == (
        CollectionError.UNREACHABLE,
        "connection failed (Connection refused) reading /x",
    )
    pool = urllib3.PoolManager(retries=urllib3.Retry(total=1, backoff_factor=0))
    with pytest.raises(urllib3.exceptions.MaxRetryError) as caught_urllib3:
        pool.request("GET", url, timeout=2)
    failure = httpkit.request_failure(caught_urllib3.value, "reading /x")
    assert (failure.reason, str(failure)) == (
        CollectionError.UNREACHABLE,
        "connection failed (Connection refused) reading /x",
    )
    assert isinstance(caught_urllib3.value, httpkit.TRANSPORT_ERRORS)
    error = failure.as_collection_error("reading /x")
    assert error.reason == CollectionError.UNREACHABLE and error.message == str(failure)


def test_silent_listener_is_a_timeout_for_requests_and_urllib3(silent_port: int) -> None:
    url = f"http://127.0.0.1:{silent_port}/x"
    with pytest.raises(requests.exceptions.Timeout) as caught_requests:
        requests.get(url, timeout=0.5)
    assert httpkit.request_failure(caught_requests.value, "reading /x").reason == CollectionError.TIMEOUT
    pool = urllib3.PoolManager(retries=False)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError) as caught_urllib3:
        pool.request("GET", url, timeout=0.5)
    failure = httpkit.request_failure(caught_urllib3.value, "reading /x")
    assert (failure.reason, str(failure)) == (CollectionError.TIMEOUT, "timed out reading /x")


def test_unverified_certificate_is_a_tls_error_and_a_ca_option_fixes_it(tls_server: tuple[int, Path]) -> None:
    port, cert = tls_server
    url = f"https://127.0.0.1:{port}/"
    with pytest.raises(requests.exceptions.SSLError) as caught_requests:
        requests.get(url, timeout=5)
    failure = httpkit.request_failure(caught_requests.value, "talking to the server")
    assert failure.reason == CollectionError.TLS
    assert "certificate verify failed" in str(failure)
    pool = urllib3.PoolManager(retries=False, ssl_context=httpkit.TlsSettings(verify=True).ssl_context())
    with pytest.raises(urllib3.exceptions.SSLError) as caught_urllib3:
        pool.request("GET", url, timeout=5)
    assert httpkit.request_failure(caught_urllib3.value, "x").reason == CollectionError.TLS
    deadline = httpkit.Deadline(10)
    with pytest.raises(CollectionError) as caught:
        httpkit.tls_handshake("127.0.0.1", port, httpkit.TlsSettings(verify=True), deadline, ca_hint="give ca_cert")
    assert caught.value.reason == CollectionError.TLS and caught.value.message.endswith("; give ca_cert")

    with_ca = httpkit.TlsSettings(verify=str(cert), ca_source="option ca_cert")
    assert requests.get(url, timeout=5, verify=with_ca.verify).status_code == 200
    verified_pool = urllib3.PoolManager(retries=False, ssl_context=with_ca.ssl_context())
    assert verified_pool.request("GET", url, timeout=5).status == 200
    info = httpkit.tls_handshake("127.0.0.1", port, with_ca, deadline)
    assert info["verified"] is True and info["version"].startswith("TLSv1.")
    assert info["certificate_not_after"].endswith("Z")
    unverified = httpkit.tls_handshake("127.0.0.1", port, httpkit.TlsSettings(verify=False), deadline)
    assert unverified["verified"] is False


def test_missing_ca_file_is_a_tls_error(tmp_path: Path) -> None:
    with pytest.raises(CollectionError) as caught:
        httpkit.TlsSettings(verify=str(tmp_path / "absent.pem")).ssl_context()
    assert caught.value.reason == CollectionError.TLS


def test_status_failures_name_reason_and_missing_grant() -> None:
    denied = httpkit.status_failure(403, "GET /admin/realms/a/events/config", needs="realm-management view-events")
    assert denied.reason == CollectionError.PERMISSION and denied.status == 403
    assert str(denied) == "permission denied: GET /admin/realms/a/events/config needs realm-management view-events"
    assert httpkit.status_failure(401, "GET /x").reason == CollectionError.AUTHENTICATION
    missing = httpkit.status_failure(404, "GET /x", "Realm not found")
    assert (missing.reason, str(missing)) == (CollectionError.PROTOCOL, "GET /x: not found (HTTP 404): Realm not found")
    assert httpkit.status_failure(503, "GET /x").reason == CollectionError.UNREACHABLE
    assert httpkit.status_failure(500, "GET /x", "HTTP 500").args[0] == "GET /x returned HTTP 500"


def test_error_text_of_json_and_xml_answers(httpserver: HTTPServer) -> None:
    """Error bodies in the shapes OpenBao, Keycloak/OAuth and S3 send (served by a stand-in HTTP
    server: the shapes are what is under test, not a server's behaviour)."""
    httpserver.expect_request("/bao").respond_with_json({"errors": ["permission denied"]}, status=403)
    httpserver.expect_request("/oauth").respond_with_json(
        {"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"},
        status=401,
    )
    httpserver.expect_request("/kc").respond_with_json({"errorMessage": "Realm   does not exist"}, status=404)
    httpserver.expect_request("/s3").respond_with_data(
        "<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>",
        status=403,
        content_type="application/xml",
    )
    httpserver.expect_request("/plain").respond_with_data("oops", status=500)
    base = httpserver.url_for("")
    assert httpkit.response_error_text(requests.get(base + "bao", timeout=5)) == "permission denied"
    assert (
        httpkit.response_error_text(requests.get(base + "oauth", timeout=5))
        == "Invalid client or Invalid client credentials"
    )
    assert httpkit.response_error_text(requests.get(base + "kc", timeout=5)) == "Realm does not exist"
    pool = urllib3.PoolManager()
    assert httpkit.response_error_text(pool.request("GET", base + "s3")) == "AccessDenied: Access Denied."
    assert httpkit.response_error_text(pool.request("GET", base + "plain")) == "HTTP 500"
    assert httpkit.error_texts({"errors": [" a ", ""]}) == ["a"]
    assert httpkit.error_texts(["not", "a mapping"]) == []
