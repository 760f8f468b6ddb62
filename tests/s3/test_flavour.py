"""The S3 flavour is decided by what the server says, not by the `Server` header the audited party controls.

A real MinIO (and a real SeaweedFS) is scanned directly and through a small reverse proxy written
here. The proxy is an HTTP-served stand-in for one thing only: a real server cannot be made to lie
about its own `Server` header, so the proxy rewrites or strips it (or hides the MinIO admin API, as
a proxy that forwards only S3 paths does); every other byte comes from the real server behind it.
The MinIO-only controls must be judged through the proxy exactly as without it, or be ERROR when
the flavour cannot be told: never NOT_APPLICABLE because of a header.
"""

from __future__ import annotations

import http.client
import http.server
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import urllib3

from checks.s3 import flavour as flavours
from checks.s3.collect import MINIO_ONLY_SECTIONS
from checks.s3.plugin import PLUGIN
from scanner.model import Evidence, Status
from tests.s3.conftest import Evaluate, Results, creds, target_for
from tests.services.minio import MinioServer
from tests.services.seaweedfs import SeaweedServer

MINIO_ONLY = {"S3-01", "S3-02", "S3-07", "S3-12", "S3-13", "S3-14", "S3-15", "S3-16", "S3-17", "S3-18"}
MINIO_ONLY |= {"S3-19", "S3-22", "S3-23"}
"""The controls that read only MinIO-only sections (NOT_APPLICABLE on SeaweedFS)."""
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


class HeaderProxy:
    """A reverse proxy on 127.0.0.1 in front of a plain-HTTP server: rewrites (or strips) `Server`.

    `server_header=None` strips the header; `hide_admin=True` answers every `/minio/` path itself
    with an HTML 404, as a proxy that forwards only S3 paths does. The Host header is passed on
    unchanged, so signed requests stay valid.
    """

    def __init__(self, backend_port: int, server_header: str | None, hide_admin: bool = False) -> None:
        self.requests: list[str] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                proxy.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if hide_admin and self.path.startswith("/minio/"):
                    page = b"<html><body><h1>404 Not Found</h1></body></html>"
                    self._answer(404, [("Content-Type", "text/html")], page)
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", backend_port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
                    if "Content-Length" in response.headers and self.command == "HEAD":
                        kept.append(("Content-Length", str(response.headers["Content-Length"])))
                    self._answer(response.status, kept, data)
                finally:
                    upstream.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
                self.send_response_only(status)
                for key, value in headers:
                    self.send_header(key, value)
                if server_header is not None:
                    self.send_header("Server", server_header)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The proxied endpoint."""
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop the proxy."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy_factory() -> Iterator[Any]:
    proxies: list[HeaderProxy] = []

    def make(backend_port: int, server_header: str | None, hide_admin: bool = False) -> HeaderProxy:
        proxies.append(HeaderProxy(backend_port, server_header, hide_admin))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


def _collect_weak(minio_weak: MinioServer, url: str | None = None, **options: Any) -> Evidence:
    target = target_for(minio_weak, read_config=True, **options)
    if url is not None:
        target = replace(target, url=url)
    return PLUGIN.collect(target, creds(minio_weak.root_user, minio_weak.root_password), 60)


def _status_map(results: Results, endpoint: str) -> dict[str, dict[str, Status]]:
    """Control -> resource path -> status; the endpoint MinIO names its server by (the one asked) made neutral."""
    return {
        control: {path.replace(endpoint, "ENDPOINT"): f.status for path, f in findings.items()}
        for control, findings in results.items()
    }


@pytest.fixture(scope="module")
def direct_weak(minio_weak: MinioServer) -> Evidence:
    return _collect_weak(minio_weak)


@pytest.mark.parametrize("header", [None, "nginx", "SeaweedFS 8000GB 4.48"], ids=["stripped", "nginx", "seaweedfs"])
def test_minio_behind_a_proxy_that_rewrites_the_server_header_is_judged_as_minio(
    minio_weak: MinioServer, direct_weak: Evidence, proxy_factory: Any, evaluate: Evaluate, header: str | None
) -> None:
    proxy = proxy_factory(minio_weak.port, header)
    seen = urllib3.PoolManager(retries=False).request("GET", proxy.url + "/")
    assert seen.headers.get("Server") == header  # the proxy really hides MinIO's own header
    proxied = _collect_weak(minio_weak, proxy.url)
    assert proxied.sections["server"]["server_header"] == (header or "")
    assert proxied.sections["server"]["flavour"] == "minio"
    assert "MinIO admin API answered /minio/admin/v3/info" in proxied.sections["server"]["flavour_source"]
    assert direct_weak.sections["server"]["flavour"] == "minio"
    direct, through = evaluate(direct_weak), evaluate(proxied)
    assert _status_map(through, f"127.0.0.1:{proxy.port}") == _status_map(direct, minio_weak.endpoint)
    for control in MINIO_ONLY:
        assert Status.NOT_APPLICABLE not in {f.status for f in through[control].values()}, control
    # the weak server's MinIO-only failures are all found through the proxy
    assert through["S3-01"]["users/root"].status is Status.FAIL  # minioadmin/minioadmin
    assert {f.status for f in through["S3-14"].values()} == {Status.FAIL}  # a user with s3:* on *
    assert through["S3-23"]["minio/v2/metrics/cluster"].status is Status.FAIL  # public metrics
    assert set(proxied.sections) == set(direct_weak.sections)
    assert all(line.startswith(("GET ", "HEAD ")) for line in proxy.requests), proxy.requests


def test_minio_whose_admin_api_is_hidden_is_error_not_not_applicable(
    minio_weak: MinioServer, proxy_factory: Any, evaluate: Evaluate
) -> None:
    proxy = proxy_factory(minio_weak.port, None, hide_admin=True)
    evidence = _collect_weak(minio_weak, proxy.url)
    server = evidence.sections["server"]
    assert server["flavour"] == "generic" and "a proxy" in server["flavour_undetermined"]
    for section in MINIO_ONLY_SECTIONS:
        assert section not in evidence.sections
        assert evidence.errors[section].startswith("could not determine the S3 server flavour: ")
        assert "set flavour: explicitly" in evidence.errors[section]
    results = evaluate(evidence)
    for control in MINIO_ONLY:
        found = {f.status for f in results[control].values()}
        assert found == {Status.ERROR}, (control, found)
        assert all("could not determine the S3 server flavour" in f.message for f in results[control].values())
    # the S3 controls are still judged, with the flavour-independent (conservative) readings
    assert results["S3-04"]["buckets/public-data"].status is Status.FAIL
    # set explicitly, the operator's word is taken and the admin API is asked (and refused by the proxy)
    forced = _collect_weak(minio_weak, proxy.url, flavour="minio")
    assert forced.sections["server"]["flavour_source"] == "option flavour"
    assert "no MinIO admin API" in forced.errors["users"]
    # the proxy's 404 for the (public) metrics endpoint is no proof that metrics need authentication
    metrics = evaluate(forced)["S3-23"]["minio/v2/metrics/cluster"]
    assert metrics.status is Status.ERROR and "HTTP 404" in metrics.message


def test_seaweedfs_is_told_by_its_answers_with_or_without_its_header(
    seaweedfs: SeaweedServer, proxy_factory: Any, evaluate: Evaluate
) -> None:
    secrets = creds(seaweedfs.access_key, seaweedfs.secret_key)
    for url in (seaweedfs.url, proxy_factory(seaweedfs.port, None).url, proxy_factory(seaweedfs.port, "MinIO").url):
        evidence = PLUGIN.collect(PLUGIN.parse_target(url), secrets, 60)
        server = evidence.sections["server"]
        assert server["flavour"] == "seaweedfs", (url, server)
        assert "/healthz and /status answered with SeaweedFS's empty 200" in server["flavour_source"]
        assert "no MinIO admin API" in server["flavour_source"]
        results = evaluate(evidence)
        for control in MINIO_ONLY:
            (finding,) = results[control].values()
            assert finding.status is Status.NOT_APPLICABLE
            assert "the endpoint is seaweedfs, not MinIO" in finding.message


# -- the decision on answers no server here gives (Ceph RGW: none runs in the tests) ------------------


def _answer(status: int, content_type: str, body: str) -> flavours.Answer:
    return flavours.Answer(status, content_type, body.encode())


RGW_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><BucketName>minio</BucketName>'
    "<RequestId>tx00000000000000393ac69-0062b4f5e2-3c9fbb72-default</RequestId>"
    "<HostId>3c9fbb72-default-default</HostId></Error>"
)
"""Ceph RGW's answer shape (its transaction id and host id), as RGW deployments publish it."""


def test_ceph_rgw_is_told_by_its_transaction_and_host_ids() -> None:
    decision = flavours.decide(_answer(404, "application/xml", RGW_ERROR), None)
    assert decision.flavour == "ceph-rgw"
    forged = RGW_ERROR.replace("<HostId>3c9fbb72-", "<HostId>ffff-")  # a host id that does not match the request id
    assert flavours.decide(_answer(404, "application/xml", forged), None).flavour == "generic"


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (404, "text/html", "<html><body>404</body></html>"),
        (502, "text/plain", "Bad Gateway"),
        (403, "application/json", '{"Code": "AccessDenied", "Resource": "/other"}'),
        (403, "application/xml", "<Error><Code>AccessDenied</Code></Error>"),
        (200, "", ""),
    ],
    ids=["html", "bad-gateway", "json-other-resource", "xml-no-bucket", "empty"],
)
def test_an_answer_that_proves_nothing_leaves_the_flavour_undetermined(
    status: int, content_type: str, body: str
) -> None:
    health = [_answer(200, "", ""), _answer(200, "", "")]
    assert flavours.decide(_answer(status, content_type, body), health).flavour is None


def test_seaweedfs_health_answers_alone_do_not_make_a_minio_answer_seaweedfs() -> None:
    minio = '{"Code":"AccessDenied","Message":"Access Denied.","Resource":"/minio/admin/v3/info","RequestId":"1"}'
    health = [_answer(200, "", ""), _answer(200, "", "")]
    assert flavours.decide(_answer(403, "application/json", minio), health).flavour == "minio"
