"""Helpers for the S3 tests: a clean environment, targets of the test servers, baseline evaluation."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from checks.s3.plugin import PLUGIN
from scanner import engine
from scanner.baseline import BaselineLibrary
from scanner.interface import Secret, Target
from scanner.model import Control, Evidence, Finding, Status
from scanner.plugins import Registry, discover
from tests.services.minio import ENV_PREFIXES, MinioServer


@pytest.fixture(autouse=True)
def clean_s3_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No AWS_*/MINIO_* variables and an empty HOME, so tests see only the credentials they set."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES) or name in ("SSL_CERT_FILE",):
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
    """The controls of the shipped `s3` baseline by id."""
    return {c.id: c for c in BaselineLibrary(registry).load("s3").controls}


Results = dict[str, dict[str, Finding]]
Evaluate = Callable[..., Results]


@pytest.fixture(scope="session")
def evaluate(registry: Registry, controls: dict[str, Control]) -> Evaluate:
    """Evaluate the baseline on evidence: control id -> resource path (after the target URI) -> finding."""

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


def statuses(findings: Mapping[str, Finding]) -> dict[str, Status]:
    """Resource path -> status."""
    return {path: f.status for path, f in findings.items()}


def target_for(server: MinioServer, **options: Any) -> Target:
    """The Target of a test server as `--target s3=URL` parses it, with options (ca_cert for TLS servers)."""
    target = PLUGIN.parse_target(server.url)
    merged: dict[str, Any] = {}
    if server.ca_file:
        merged["ca_cert"] = str(server.ca_file)
    merged.update(options)
    return replace(target, options=merged)


def creds(access_key: str, secret_key: str) -> dict[str, Secret]:
    """Inventory-style credentials."""
    return {"access_key": Secret(access_key), "secret_key": Secret(secret_key)}
