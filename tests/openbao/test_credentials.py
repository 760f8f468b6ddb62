"""The `bao:` credential scheme against a real OpenBao, and end to end for a PostgreSQL target."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from checks.openbao.resolver import BaoResolver
from scanner.cli import cli
from scanner.errors import CollectionError
from tests.services.openbao import BaoServer, closed_port
from tests.services.postgres import MONITOR, PgCluster

TOKEN_ENV = "SOVSCAN_TEST_BAO_TOKEN"


@pytest.fixture(scope="module")
def stored(bao_prod: BaoServer) -> dict[str, str]:
    """Values written under secret/sovscan/ on the production-like server (by the fixture's writer token)."""
    values = {"password": "pw-" + secrets.token_urlsafe(16), "port": "5432"}
    bao_prod.api("POST", "secret/data/sovscan/app", {"data": {**values, "number": 42, "nested": {"a": 1}}},
                 token=bao_prod.tokens["writer"])  # fmt: skip
    return values


def settings_for(server: BaoServer, token_ref: str = f"env:{TOKEN_ENV}", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"address": server.url, "token": token_ref}
    if server.ca_file:
        base["ca_cert"] = str(server.ca_file)
    base.update(extra)
    return base


def failure(reference: str, settings: dict[str, Any]) -> CollectionError:
    with pytest.raises(CollectionError) as info:
        BaoResolver().resolve(reference, settings)
    assert info.value.reason == CollectionError.CREDENTIALS
    return info.value


def test_resolves_a_kv2_field(bao_prod: BaoServer, stored: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, bao_prod.tokens["credentials"])
    resolver = BaoResolver()
    assert resolver.resolve("secret/sovscan/app#password", settings_for(bao_prod)) == stored["password"]
    assert resolver.resolve("secret/sovscan/app#number", settings_for(bao_prod)) == "42"


def test_token_from_a_file_reference(bao_prod: BaoServer, stored: dict[str, str], tmp_path: Path) -> None:
    token_file = tmp_path / "bao-token"
    token_file.write_text(bao_prod.tokens["credentials"] + "\n")
    value = BaoResolver().resolve("secret/sovscan/app#port", settings_for(bao_prod, token_ref=f"file:{token_file}"))
    assert value == stored["port"]


def test_environment_fallback(bao_prod: BaoServer, stored: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAO_ADDR", bao_prod.url)
    monkeypatch.setenv("VAULT_TOKEN", bao_prod.tokens["credentials"])
    monkeypatch.setenv("VAULT_CACERT", str(bao_prod.ca_file))
    assert BaoResolver().resolve("secret/sovscan/app#password", {}) == stored["password"]


def test_failures_name_the_reason_never_the_value(
    bao_prod: BaoServer, stored: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, bao_prod.tokens["credentials"])
    settings = settings_for(bao_prod)
    messages = [
        failure("secret/sovscan/app#nope", settings).message,
        failure("secret/sovscan/app#nested", settings).message,
        failure("secret/sovscan/missing#password", settings).message,
    ]
    assert "has no field 'nope'" in messages[0]
    assert "is not a string" in messages[1]
    assert "no secret at secret/data/sovscan/missing" in messages[2]
    monkeypatch.setenv(TOKEN_ENV, bao_prod.tokens["nosudo"])  # no read on secret/data/sovscan/*
    messages.append(failure("secret/sovscan/app#password", settings).message)
    assert "permission denied reading secret/data/sovscan/app" in messages[-1]
    for message in messages:
        assert stored["password"] not in message
        assert bao_prod.tokens["credentials"] not in message and bao_prod.tokens["nosudo"] not in message


def test_settings_problems(bao_prod: BaoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "no OpenBao address" in failure("secret/a#b", {}).message
    assert "not a literal token" in failure("secret/a#b", {"address": bao_prod.url, "token": "s.literal"}).message
    assert f"{TOKEN_ENV} is not set" in failure("secret/a#b", settings_for(bao_prod)).message
    assert "no OpenBao token" in failure("secret/a#b", {"address": bao_prod.url}).message
    assert "bao:MOUNT/PATH#FIELD" in failure("secret-only#b", settings_for(bao_prod)).message


def test_tls_and_reachability(bao_prod: BaoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, bao_prod.tokens["credentials"])
    no_ca = {"address": bao_prod.url, "token": f"env:{TOKEN_ENV}"}
    assert "TLS error" in failure("secret/sovscan/app#password", no_ca).message
    down = {"address": f"http://127.0.0.1:{closed_port()}", "token": f"env:{TOKEN_ENV}"}
    assert "unreachable" in failure("secret/sovscan/app#password", down).message


def test_sealed_server(bao_sealed: BaoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "s.whatever")
    assert "sealed" in failure("secret/sovscan/app#password", settings_for(bao_sealed)).message


def test_kv1_and_nested_mounts(bao_dev: BaoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert bao_dev.root_token
    monkeypatch.setenv(TOKEN_ENV, bao_dev.root_token)
    resolver = BaoResolver()
    assert resolver.resolve("team/kv/db#key", settings_for(bao_dev)) == "nested-value"  # mount team/kv, KV v2
    assert resolver.resolve("legacy/db#key", settings_for(bao_dev)) == "v1-value"  # KV v1


# -- end to end: a PostgreSQL target whose password lives in OpenBao ------------------------


def _run_scan(tmp_path: Path, inventory: dict[str, Any], env: dict[str, str]) -> tuple[Any, Path, Path]:
    inventory_file = tmp_path / "targets.yaml"
    inventory_file.write_text(yaml.safe_dump(inventory))
    out = tmp_path / "out"
    evidence_dir = tmp_path / "evidence"
    out.mkdir()
    args = ["scan", "--inventory", str(inventory_file), "--save-evidence", str(evidence_dir), "--fail-on", "none",
            "--no-progress", "-f", "console"]  # fmt: skip
    for name, ext in (("json", "json"), ("sarif", "sarif"), ("junit", "xml"), ("wazuh", "jsonl")):
        args += ["-f", f"{name}={out / ('report.' + ext)}"]
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result, out, evidence_dir


def test_postgres_password_from_openbao_end_to_end(bao_prod: BaoServer, pg_hardened: PgCluster, tmp_path: Path) -> None:
    password = pg_hardened.password(MONITOR)
    bao_prod.api("POST", "secret/data/sovscan/postgres", {"data": {"password": password}},
                 token=bao_prod.tokens["writer"])  # fmt: skip
    inventory = {
        "apiVersion": "sovscan/v1",
        "kind": "Inventory",
        "credentials": {
            "bao": {"address": bao_prod.url, "ca_cert": str(bao_prod.ca_file), "token": f"env:{TOKEN_ENV}"}
        },
        "targets": [
            {
                "id": "pg",
                "kind": "postgres",
                "url": pg_hardened.url(MONITOR),
                "credentials": {"password": "bao:secret/sovscan/postgres#password"},
            },
            {
                "id": "pg-broken-ref",
                "kind": "postgres",
                "url": pg_hardened.url(MONITOR),
                "credentials": {"password": "bao:secret/sovscan/postgres#no-such-field"},
            },
            {
                "id": "bao",
                "kind": "openbao",
                "url": bao_prod.url,
                "options": {"ca_cert": str(bao_prod.ca_file)},
                "credentials": {"token": f"env:{TOKEN_ENV}"},
            },
        ],
    }
    env = {TOKEN_ENV: bao_prod.tokens["credentials"]}
    result, out, evidence_dir = _run_scan(tmp_path, inventory, env)
    assert result.exit_code == 3, result.output  # scan incomplete: the broken reference's target is ERROR

    report = json.loads((out / "report.json").read_text())
    targets = {t["id"]: t for t in report["targets"]}
    assert targets["pg"]["error"] is None, targets["pg"]  # logged in with the password read from OpenBao
    assert targets["bao"]["error"] is None, targets["bao"]
    broken = targets["pg-broken-ref"]["error"]
    assert broken.startswith("credentials unavailable") and "no field 'no-such-field'" in broken
    pg_findings = [f for f in report["findings"] if f["resource"]["target"] == "pg"]
    assert any(f["status"] == "PASS" for f in pg_findings)

    outputs = {"stdout": result.output, "stderr": result.stderr if result.stderr_bytes is not None else ""}
    outputs.update({p.name: p.read_text() for p in out.iterdir()})
    outputs.update({str(p): p.read_text() for p in evidence_dir.rglob("*") if p.is_file()})
    assert len(outputs) >= 8
    for where, text in outputs.items():
        assert password not in text, where
        for token in bao_prod.tokens.values():
            assert token not in text, where
