"""Answers no real server can be made to give (truncated XML, a policy that is not JSON): an HTTP-served
stand-in (pytest-httpserver) speaking just enough S3. Everything malformed must end as ERROR with the
reason, never PASS, and the collection must go on for the other sections."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from checks.s3.plugin import PLUGIN
from scanner.model import Status
from tests.s3.conftest import Evaluate, creds

LIST = (
    '<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Owner><ID>o</ID></Owner><Buckets>'
    "<Bucket><Name>odd</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>"
    "</Buckets></ListAllMyBucketsResult>"
)


def _error(code: str, status: int) -> Response:
    body = f"<Error><Code>{code}</Code><Message>{code}</Message></Error>"
    return Response(body, status=status, content_type="application/xml")


def handler(request: Request) -> Response:
    query = request.query_string.decode()
    if request.path == "/":
        return Response(LIST, content_type="application/xml", headers={"Server": "sovscan-standin"})
    if request.headers.get("Authorization") is None:
        return _error("AccessDenied", 403)
    if "location" in query:
        return Response("<LocationConstraint>us-east-1</LocationConstraint>", content_type="application/xml")
    if "policy" in query:
        return Response("this is { not json", content_type="application/json")
    if "versioning" in query:
        return Response("<VersioningConfiguration><Status>Ena", content_type="application/xml")  # truncated
    if "encryption" in query:
        return _error("ServerSideEncryptionConfigurationNotFoundError", 404)
    if "object-lock" in query:
        return _error("ObjectLockConfigurationNotFoundError", 404)
    if "lifecycle" in query:
        return _error("NoSuchLifecycleConfiguration", 404)
    if "replication" in query:
        return _error("ReplicationConfigurationNotFoundError", 404)
    if "notification" in query:
        return Response("<NotificationConfiguration></NotificationConfiguration>", content_type="application/xml")
    if "tagging" in query:
        return _error("NoSuchTagSet", 404)
    return _error("InternalError", 500)


@pytest.fixture
def standin(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request(re.compile(".*")).respond_with_handler(handler)
    return httpserver


def test_malformed_answers_become_errors(standin: HTTPServer, evaluate: Evaluate) -> None:
    target = PLUGIN.parse_target(f"http://127.0.0.1:{standin.port}")
    evidence = PLUGIN.collect(target, creds("standin", "standin-secret-value"), 30)
    assert evidence.sections["server"]["flavour"] == "generic"
    # its unsigned answer to the MinIO admin path (an S3 AccessDenied naming no bucket) proves no flavour
    assert "could not determine the S3 server flavour" in evidence.errors["users"]
    assert "users" not in evidence.sections
    versioning = evidence.sections["bucket_versioning"]["odd"]
    assert "unexpected answer" in versioning["error"]
    assert evidence.sections["bucket_policy"]["odd"] == {"value": {"unparsed": "this is { not json"}}
    assert evidence.sections["bucket_encryption"]["odd"] == {"value": None}  # the server said "none"
    results = evaluate(evidence)
    assert results["S3-08"]["buckets/odd"].status is Status.ERROR
    assert results["S3-04"]["buckets/odd"].status is Status.ERROR
    assert "not understood" in results["S3-04"]["buckets/odd"].message
    assert results["S3-06"]["buckets/odd"].status is Status.FAIL
    assert evidence.sections["anonymous_probe"]["buckets"]["odd"]["list_allowed"] is False
    forced = PLUGIN.collect(replace(target, options={"flavour": "ceph-rgw"}), creds("a", "standin-secret-value"), 30)
    assert forced.sections["server"]["flavour"] == "ceph-rgw"
    assert forced.sections["users"] == {
        "not_applicable": "MinIO-only control: the endpoint is ceph-rgw, not MinIO (option flavour)"
    }


def slow_handler(request: Request) -> Response:
    if "versioning" in request.query_string.decode():
        time.sleep(4)  # longer than the whole collection budget
    return handler(request)


def test_a_server_that_stops_answering_hits_the_deadline(httpserver: HTTPServer, evaluate: Evaluate) -> None:
    httpserver.expect_request(re.compile(".*")).respond_with_handler(slow_handler)
    target = PLUGIN.parse_target(f"http://127.0.0.1:{httpserver.port}")
    evidence = PLUGIN.collect(target, creds("standin", "standin-secret-value"), 2)
    assert "timed out" in evidence.sections["bucket_versioning"]["odd"]["error"]
    later = evidence.sections["bucket_tags"]["odd"]["error"]
    assert "deadline passed" in later
    assert "deadline passed" in evidence.errors["anonymous_probe"]
    results = evaluate(evidence)
    assert results["S3-08"]["buckets/odd"].status is Status.ERROR
    assert {f.status for f in results["S3-04"].values()} == {Status.ERROR}
