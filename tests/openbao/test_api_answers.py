"""The collector on API answers a real OpenBao gives only in rare states, served over real HTTP.

A 404 that is a routing error (not an empty list), a lookup that fails for another reason than
an expired accessor, a policy read without the policy text: each must leave the control that
depends on it ERROR, never PASS. The real hvac client does the talking (pytest-httpserver).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from checks.openbao.plugin import PLUGIN
from scanner.interface import Secret
from scanner.model import Evidence, Status
from tests.openbao.conftest import Evaluate, statuses

HEALTH = {"initialized": True, "sealed": False, "standby": False, "version": "2.7.2"}
SEAL = {"type": "shamir", "initialized": True, "sealed": False, "t": 3, "n": 5, "storage_type": "inmem"}
SELF = {"data": {"display_name": "token-sovscan", "policies": ["default", "sovscan-scanner"], "type": "service"}}
Serve = Callable[..., Evidence]


@pytest.fixture
def serve(httpserver: HTTPServer) -> Serve:
    """Answer the indispensable endpoints, plus `extra` {(method, path): (status, json)}; then collect."""

    def run(extra: dict[tuple[str, str], tuple[int, Any]]) -> Evidence:
        httpserver.expect_request("/v1/sys/health").respond_with_json(HEALTH)
        httpserver.expect_request("/v1/sys/seal-status").respond_with_json(SEAL)
        httpserver.expect_request("/v1/auth/token/lookup-self").respond_with_json(SELF)
        for (method, path), (status, body) in extra.items():
            httpserver.expect_request(f"/v1/{path}", method=method).respond_with_json(body, status=status)
        url = httpserver.url_for("/").rstrip("/").replace("localhost", "127.0.0.1")
        return PLUGIN.collect(PLUGIN.parse_target(url), {"token": Secret("s.test-token-value")}, 20)

    return run


def _bao08(evidence: Evidence, evaluate: Evaluate) -> dict[str, Status]:
    return statuses(evaluate(evidence, only="BAO-08")["BAO-08"])


def test_lookup_refused_for_another_reason_is_error_not_vanished(serve: Serve, evaluate: Evaluate) -> None:
    evidence = serve(
        {
            ("GET", "auth/token/accessors"): (200, {"data": {"keys": ["acc-1", "acc-2"]}}),
            ("POST", "auth/token/lookup-accessor"): (400, {"errors": ["1 error occurred:\n\t* missing accessor\n\n"]}),
        }
    )
    assert "token_accessors" not in evidence.sections
    assert "missing accessor" in evidence.errors["token_accessors"]
    assert _bao08(evidence, evaluate) == {"": Status.ERROR}


def test_expired_accessor_counts_as_vanished(serve: Serve, evaluate: Evaluate) -> None:
    evidence = serve(
        {
            ("GET", "auth/token/accessors"): (200, {"data": {"keys": ["acc-1"]}}),
            ("POST", "auth/token/lookup-accessor"): (400, {"errors": ["1 error occurred:\n\t* invalid accessor\n\n"]}),
        }
    )
    assert evidence.sections["token_accessors"]["vanished"] == 1
    assert _bao08(evidence, evaluate) == {"": Status.PASS}


def test_routing_404_on_a_list_is_error_not_empty(serve: Serve, evaluate: Evaluate) -> None:
    error = {"errors": ['no handler for route "auth/token/accessors". route entry not found.']}
    evidence = serve({("GET", "auth/token/accessors"): (404, error)})
    assert "no handler for route" in evidence.errors["token_accessors"]
    assert _bao08(evidence, evaluate) == {"": Status.ERROR}


def test_empty_list_404_is_an_empty_list(serve: Serve, evaluate: Evaluate) -> None:
    evidence = serve({("GET", "auth/token/accessors"): (404, {"errors": []})})
    assert evidence.sections["token_accessors"]["total"] == 0
    assert _bao08(evidence, evaluate) == {"": Status.PASS}


def test_policy_read_without_text_is_error(serve: Serve, evaluate: Evaluate) -> None:
    evidence = serve(
        {
            ("GET", "sys/policies/acl"): (200, {"data": {"keys": ["admin", "default"]}}),
            ("GET", "sys/policies/acl/admin"): (200, {"data": {"name": "admin"}}),
            ("GET", "sys/policies/acl/default"): (200, {"data": {"name": "default", "policy": ""}}),
        }
    )
    found = statuses(evaluate(evidence, only="BAO-13")["BAO-13"])
    assert found == {"sys/policies/acl/admin": Status.ERROR, "sys/policies/acl/default": Status.PASS}


def test_no_policy_listed_is_error(serve: Serve, evaluate: Evaluate) -> None:
    evidence = serve({("GET", "sys/policies/acl"): (404, {"errors": []})})
    assert evidence.sections["policies"] == []
    assert statuses(evaluate(evidence, only="BAO-13")["BAO-13"]) == {"sys/policies/acl": Status.ERROR}
