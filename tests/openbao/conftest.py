"""Helpers for the OpenBao tests: a clean environment, collection, baseline evaluation."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from checks.openbao.plugin import PLUGIN
from scanner import engine
from scanner.baseline import BaselineLibrary
from scanner.interface import Secret, Target
from scanner.model import Control, Evidence, Finding, Status
from scanner.plugins import Registry, discover
from tests.services.openbao import ENV_PREFIXES, BaoServer


@pytest.fixture(autouse=True)
def clean_bao_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No BAO_*/VAULT_* variables and an empty HOME (no ~/.vault-token), so tests see only what they set."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The real plugin registry (entry points), as the CLI builds it."""
    return discover()


@pytest.fixture(scope="session")
def controls(registry: Registry) -> dict[str, Control]:
    """The controls of the shipped `openbao` baseline by id."""
    baseline = BaselineLibrary(registry).load("openbao")
    return {c.id: c for c in baseline.controls}


Results = dict[str, dict[str, Finding]]
Evaluate = Callable[..., Results]


@pytest.fixture(scope="session")
def evaluate(registry: Registry, controls: dict[str, Control]) -> Evaluate:
    """Evaluate the baseline on evidence: control id -> resource path (after the target URI) -> finding.

    `params={"BAO-01": {...}}` overrides a control's parameters.
    """

    def run(
        evidence: Evidence, only: str | None = None, params: Mapping[str, Mapping[str, Any]] | None = None
    ) -> Results:
        results: Results = {}
        for control in controls.values():
            if only is not None and control.id != only:
                continue
            if params and control.id in params:
                control = replace(control, params={**control.params, **params[control.id]})
            findings = engine.evaluate_control(control, evidence, registry)
            base = evidence.uri.rstrip("/")
            results[control.id] = {f.resource.uri[len(base) :].lstrip("/"): f for f in findings}
        return results

    return run


def statuses(findings: Mapping[str, Finding]) -> dict[str, Status]:
    """Resource path -> status."""
    return {path: f.status for path, f in findings.items()}


def target_for(server: BaoServer, **options: Any) -> Target:
    """The Target of a test server, as `--target openbao=URL` parses it, with options (ca_cert by default)."""
    target = PLUGIN.parse_target(server.url)
    merged: dict[str, Any] = {"ca_cert": str(server.ca_file)} if server.ca_file else {}
    merged.update(options)
    return replace(target, options={**target.options, **merged})


Collect = Callable[..., Evidence]


@pytest.fixture
def collect() -> Collect:
    """Collect a test server with a token given as the inventory credential `token`."""

    def run(server: BaoServer, token: str | None, timeout: float = 30.0, **options: Any) -> Evidence:
        secrets = {"token": Secret(token)} if token is not None else {}
        collected = PLUGIN.collect(target_for(server, **options), secrets, timeout)
        return replace(collected, collected_at=datetime.now(UTC).isoformat())  # as the engine stamps it

    return run


@pytest.fixture
def home(clean_bao_environment: Path) -> Iterator[Path]:
    """The (empty) HOME of the test."""
    yield clean_bao_environment
