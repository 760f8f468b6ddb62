"""Helpers for the Keycloak tests: a clean environment, collection from the test server, evaluation."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from checks.keycloak.plugin import PLUGIN
from scanner import engine
from scanner.baseline import BaselineLibrary
from scanner.interface import Secret, Target
from scanner.model import Control, Evidence, Finding, Status
from scanner.plugins import Registry, discover
from tests.services.keycloak import KeycloakServer

Results = dict[str, dict[str, Finding]]
Evaluate = Callable[..., Results]


@pytest.fixture(autouse=True)
def clean_keycloak_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No KEYCLOAK_* variables and an empty HOME, so tests see only what they set."""
    for name in list(os.environ):
        if name.startswith("KEYCLOAK_"):
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
    """The controls of the shipped `keycloak` baseline by id."""
    return {c.id: c for c in BaselineLibrary(registry).load("keycloak").controls}


@pytest.fixture(scope="session")
def evaluate(registry: Registry, controls: dict[str, Control]) -> Evaluate:
    """Evaluate the baseline: control id -> resource path (after the evidence URI) -> finding."""

    def run(evidence: Evidence, params: Mapping[str, Mapping[str, Any]] | None = None) -> Results:
        results: Results = {}
        for control in controls.values():
            if params and control.id in params:
                control = replace(control, params={**control.params, **params[control.id]})
            findings = engine.evaluate_control(control, evidence, registry)
            base = evidence.uri.rstrip("/")
            results[control.id] = {f.resource.uri[len(base) :].lstrip("/"): f for f in findings}
        return results

    return run


def statuses(results: Results, realm: str | None = None) -> dict[tuple[str, str], Status]:
    """(control, resource path) -> status, optionally only for one realm's resources."""
    return {
        (control, path): f.status
        for control, found in results.items()
        for path, f in found.items()
        if realm is None or path == f"realms/{realm}" or path.startswith(f"realms/{realm}/")
    }


def live_target(server: KeycloakServer, *, https: bool = True, **options: Any) -> Target:
    """The Target of the test server as `--target keycloak=URL` parses it; the CA option by default on HTTPS."""
    target = PLUGIN.parse_target(server.https_url if https else server.url)
    merged: dict[str, Any] = {"client_id": "sovscan"}
    if https:
        merged["ca_cert"] = str(server.ca)
    merged.update(options)
    return replace(target, options={**target.options, **merged})


def collect_live(server: KeycloakServer, secret: str, timeout: float = 120.0, **options: Any) -> Evidence:
    """Collect the test server with a client secret given as the inventory credential `client_secret`."""
    return PLUGIN.collect(live_target(server, **options), {"client_secret": Secret(secret)}, timeout)
