"""A whole `sovscan scan` of the real Keycloak test server through an inventory: every report format,
the console and the saved evidence are grepped for every secret the fixtures planted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from checks.keycloak.contract import CONTRACT
from scanner.cli import cli
from tests.keycloak.realms import PLANTED
from tests.services.keycloak import KeycloakServer


def _inventory(server: KeycloakServer, path: Path) -> Path:
    document = {
        "apiVersion": "sovscan/v1",
        "kind": "Inventory",
        "targets": [
            {
                "id": "sso-test",
                "kind": "keycloak",
                "url": server.https_url,
                "options": {
                    "client_id": "sovscan",
                    "ca_cert": str(server.ca),
                    "realms": ["master", "hardened", "weak"],
                },
                "credentials": {"client_secret": "env:SOVSCAN_TEST_KC_SECRET"},
            }
        ],
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_scan_all_formats_and_evidence_hold_no_secret(
    keycloak_server: KeycloakServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = keycloak_server.secrets["sovscan"]
    monkeypatch.setenv("SOVSCAN_TEST_KC_SECRET", secret)
    monkeypatch.setenv("KEYCLOAK_PASSWORD", "ambient-kc-password-" + "q" * 8)  # ambient, not used: never shown
    inventory = _inventory(keycloak_server, tmp_path / "targets.yaml")
    out = tmp_path / "out"
    evidence_dir = tmp_path / "evidence"
    args = ["scan", "-i", str(inventory), "--save-evidence", str(evidence_dir), "--timeout", "240", "--no-progress"]
    for fmt in ("json", "sarif", "junit", "wazuh"):
        args += ["-f", f"{fmt}={out}.{fmt}"]
    args += ["-f", "console", "--full"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output  # the weak realm fails the gate
    artifacts = {
        p.name: p.read_text(encoding="utf-8") for p in [*tmp_path.glob("out.*"), *evidence_dir.rglob("*.json")]
    }
    artifacts["console"] = result.output
    assert {"out.json", "out.sarif", "out.junit", "out.wazuh"} <= set(artifacts)
    values = {
        **PLANTED,
        "reader": secret,
        "admin": keycloak_server.admin_password,
        "ambient": "ambient-kc-password-" + "q" * 8,
    }
    leaks = {
        (name, artifact) for artifact, text in artifacts.items() for name, value in values.items() if value in text
    }
    assert leaks == set()
    assert "KC-15" in artifacts["out.sarif"] and "KC-21" in artifacts["out.junit"]
    wazuh = [json.loads(line) for line in artifacts["out.wazuh"].splitlines() if line.strip()]
    assert any(event["sovscan"].get("control", {}).get("id") == "KC-21" for event in wazuh)
    saved = [json.loads(text) for name, text in artifacts.items() if name.startswith("sso-test")]
    assert len(saved) == 1 and saved[0]["target"]["kind"] == "keycloak"


def test_evidence_rescan_gives_the_same_result(
    keycloak_server: KeycloakServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOVSCAN_TEST_KC_SECRET", keycloak_server.secrets["sovscan"])
    inventory = _inventory(keycloak_server, tmp_path / "targets.yaml")
    evidence_dir = tmp_path / "evidence"
    runner = CliRunner()
    first = runner.invoke(
        cli,
        [
            "scan",
            "-i",
            str(inventory),
            "--save-evidence",
            str(evidence_dir),
            "-f",
            f"json={tmp_path}/a.json",
            "--no-progress",
        ],
    )
    second = runner.invoke(
        cli, ["scan", "--evidence", str(evidence_dir), "-f", f"json={tmp_path}/b.json", "--no-progress"]
    )
    assert first.exit_code == second.exit_code == 1, first.output + second.output

    def outcomes(path: Path) -> set[tuple[str, str, str]]:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return {(f["control_id"], f["resource"]["uri"], f["status"]) for f in doc["findings"]}

    assert outcomes(tmp_path / "a.json") == outcomes(tmp_path / "b.json")
    assert len(outcomes(tmp_path / "a.json")) > 100


def test_explain_every_control() -> None:
    runner = CliRunner()
    from scanner.baseline import BaselineLibrary
    from scanner.plugins import discover

    controls = BaselineLibrary(discover()).load("keycloak").controls
    assert len(controls) >= 25
    for control in controls:
        result = runner.invoke(cli, ["explain", control.id])
        assert result.exit_code == 0, result.output
        assert control.title in result.output


def test_contract_rejects_a_malformed_section() -> None:
    import jsonschema

    bad = {
        "by_realm": {
            "weak": [
                {"clientId": "x", "redirectUris": "*", "webOrigins": [], "attributes": {}, "defaultClientScopes": []}
            ]
        },
        "errors": {},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, CONTRACT["clients"])
    leaked = {
        "by_realm": {
            "weak": [
                {
                    "clientId": "x",
                    "redirectUris": [],
                    "webOrigins": [],
                    "attributes": {},
                    "defaultClientScopes": [],
                    "secret": "s",
                }
            ]
        },
        "errors": {},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(leaked, CONTRACT["clients"])
