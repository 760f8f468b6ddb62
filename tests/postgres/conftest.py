"""Helpers for the PostgreSQL tests: evidence files, baseline evaluation, odd network peers."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from checks.postgres.settings import DEFAULT_VERSION_FLOOR
from scanner import engine, floors
from scanner import evidence as evidence_io
from scanner.baseline import BaselineLibrary
from scanner.model import Control, Evidence, Finding, Status
from scanner.plugins import Registry, discover

DATA = Path(__file__).parent / "data"


def load_document(name: str) -> dict[str, Any]:
    """A saved evidence document from tests/postgres/data (a fresh copy)."""
    loaded: dict[str, Any] = json.loads((DATA / name).read_text())
    return copy.deepcopy(loaded)


def to_evidence(document: Mapping[str, Any]) -> Evidence:
    """Rebuild Evidence from a document the way `--evidence DIR` does."""
    evidence, _ = evidence_io.from_document(dict(document), "test")
    return evidence


def setting(document: dict[str, Any], name: str, value: str | None, unit: str | None = None) -> None:
    """Set (or, with None, remove) a pg_settings row of a document."""
    rows = document["sections"]["pg_settings"]
    rows[:] = [r for r in rows if r["name"] != name]
    if value is not None:
        rows.append({"name": name, "setting": value, "unit": unit, "source": "configuration file"})


def database(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The item of one database in a document's `databases` section."""
    found: dict[str, Any] = next(d for d in document["sections"]["databases"] if d["name"] == name)
    return found


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The real plugin registry (entry points), as the CLI builds it."""
    return discover()


@pytest.fixture(scope="session")
def controls(registry: Registry) -> dict[str, Control]:
    """The controls of the shipped `postgres` baseline by id."""
    baseline = BaselineLibrary(registry).load("postgres")
    return {c.id: c for c in baseline.controls}


Evaluate = Callable[..., dict[str, dict[str, Finding]]]


@pytest.fixture(scope="session")
def evaluate(registry: Registry, controls: dict[str, Control]) -> Evaluate:
    """Evaluate the baseline on evidence: control id -> resource path (after the target URI) -> finding."""

    def run(evidence: Evidence, only: str | None = None, **params: Any) -> dict[str, dict[str, Finding]]:
        results: dict[str, dict[str, Finding]] = {}
        for control in controls.values():
            if only is not None and control.id != only:
                continue
            if params:
                control = replace(control, params={**control.params, **params})
            findings = engine.evaluate_control(control, evidence, registry)
            base = evidence.uri.rstrip("/")
            results[control.id] = {f.resource.uri[len(base) :].lstrip("/"): f for f in findings}
        return results

    return run


def expected_version_statuses(evidence: Evidence) -> dict[str, Status]:
    """PG-22 on a current server: PASS, plus FAIL on the floor when the shipped floor is out of date at the scan."""
    floor = floors.floor_from_params(DEFAULT_VERSION_FLOOR)
    when = floors.scan_date(evidence.collected_at)
    assert when is not None, "the collector records when it collected"
    return {"server": Status.PASS} | ({"server/version-floor": Status.FAIL} if floor.is_stale(when) else {})


def statuses(findings: Mapping[str, Finding]) -> dict[str, Status]:
    """Resource path -> status."""
    return {path: f.status for path, f in findings.items()}


@pytest.fixture
def closed_port() -> int:
    """A TCP port of 127.0.0.1 with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that completes the handshake but never answers (a hung server or a black hole)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]
