"""End to end through the `sovscan` command against real PostgreSQL clusters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from checks.postgres.settings import DEFAULT_VERSION_FLOOR
from scanner import floors
from scanner.plugins import Registry
from tests.services.postgres import APPDB, MONITOR, SUPERUSER, PgCluster

SOVSCAN = Path(sys.executable).parent / "sovscan"


def sovscan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `sovscan` console script with a clean libpq environment plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    base["PGPASSFILE"] = "/nonexistent/pgpass"
    return subprocess.run(
        [str(SOVSCAN), *args], capture_output=True, text=True, env={**base, **(env or {})}, timeout=120, check=False
    )


def findings(path: Path) -> list[dict[str, Any]]:
    document = json.loads(path.read_text())
    result: list[dict[str, Any]] = document["findings"]
    return result


def identity(finding: dict[str, Any]) -> tuple[Any, ...]:
    return (
        finding["control_id"],
        finding["resource"]["uri"],
        finding["status"],
        finding["message"],
        json.dumps(finding["observed"], sort_keys=True),
        json.dumps(finding["expected"], sort_keys=True),
    )


def path_of(uri: str) -> str:
    """The part of a resource URI after `postgres://host:port/` ('' for the target itself)."""
    parts = uri.split("/", 3)
    return parts[3] if len(parts) == 4 else ""


def every_output(result: subprocess.CompletedProcess[str], *roots: Path) -> str:
    """stdout, stderr and every file under the given directories or files, as one text."""
    texts = [result.stdout, result.stderr]
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        texts.extend(p.read_text(errors="replace") for p in paths)
    return "\n".join(texts)


@pytest.fixture(scope="module")
def report_formats(registry: Registry) -> list[str]:
    """The machine-readable formats installed besides json (sarif, junit, wazuh when present)."""
    return [name for name in ("sarif", "junit", "wazuh") if name in registry.reporters]


def test_hardened_scan_gate_outputs_and_offline_replay(
    pg_hardened: PgCluster, tmp_path: Path, report_formats: list[str]
) -> None:
    password = pg_hardened.password(SUPERUSER)
    out = tmp_path / "out"
    out.mkdir()
    evidence_dir = tmp_path / "evidence"
    formats = [arg for name in report_formats for arg in ("-f", f"{name}={out / name}")]
    live = sovscan(
        "scan", "--no-progress", "--target", f"postgres={pg_hardened.url(SUPERUSER)}",
        "-f", f"json={out / 'live.json'}", "-f", "console", *formats, "--save-evidence", str(evidence_dir),
        env={"PGPASSWORD": password},
    )  # fmt: skip
    assert live.returncode == 1, live.stderr  # PG-15 (pgaudit) fails at the default --fail-on info
    assert "PG-15" in live.stderr
    live_findings = findings(out / "live.json")
    assert {f["status"] for f in live_findings} == {"PASS", "FAIL"}
    # the shipped version floor is reported once it is older than its review interval (dated data)
    floor_stale = floors.floor_from_params(DEFAULT_VERSION_FLOOR).is_stale(datetime.now(UTC).date())
    failed = sorted((f["control_id"], path_of(f["resource"]["uri"])) for f in live_findings if f["status"] == "FAIL")
    assert [c for c, _ in failed if c != "PG-22"] == ["PG-15"]
    assert [p for c, p in failed if c == "PG-22"] == (["server/version-floor"] if floor_stale else [])
    assert len(list(evidence_dir.glob("*.json"))) == 1

    offline = sovscan("scan", "--evidence", str(evidence_dir), "-f", f"json={out / 'offline.json'}")
    assert offline.returncode == 1, offline.stderr
    assert sorted(map(identity, findings(out / "offline.json"))) == sorted(map(identity, live_findings))

    gate = sovscan(
        "scan", "--no-progress", "--target", f"postgres={pg_hardened.url(SUPERUSER)}", "--fail-on", "critical",
        env={"PGPASSWORD": password},
    )  # fmt: skip
    assert gate.returncode == 0, gate.stderr

    everything = every_output(live, out, evidence_dir) + every_output(offline) + every_output(gate)
    for secret in (pg_hardened.password(role) for role in pg_hardened.spec.passwords):
        assert secret not in everything


def test_weak_scan_fails_the_gate(pg_weak: PgCluster, tmp_path: Path) -> None:
    result = sovscan(
        "scan", "--no-progress", "--target", f"postgres={pg_weak.url(SUPERUSER)}", "-f", f"json={tmp_path / 'r.json'}"
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    failed = {(f["control_id"], path_of(f["resource"]["uri"])) for f in findings(tmp_path / "r.json")
              if f["status"] == "FAIL"}  # fmt: skip
    assert {("PG-01", "settings/ssl"), ("PG-04", "hba/line/3"), ("PG-09", "roles/admin2"),
            ("PG-11", "databases/appdb/schemas/public"), ("PG-21", "settings/data_checksums")} <= failed  # fmt: skip


def test_closed_port_makes_the_scan_incomplete(closed_port: int, tmp_path: Path) -> None:
    target = f"postgres=postgresql://scanner@127.0.0.1:{closed_port}/postgres?sslmode=disable"
    result = sovscan("scan", "--no-progress", "--target", target, "-f", f"json={tmp_path / 'r.json'}")
    assert result.returncode == 3, result.stderr
    found = findings(tmp_path / "r.json")
    assert len(found) == 27
    assert {f["status"] for f in found} == {"ERROR"}
    assert all("unreachable" in f["message"] for f in found)
    assert {f["resource"]["uri"] for f in found} == {f"postgres://127.0.0.1:{closed_port}"}


def test_inventory_credentials_options_and_wrong_password(pg_hardened: PgCluster, tmp_path: Path) -> None:
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\nenvironment: test\ntargets:\n"
        f"  - id: pg-good\n    kind: postgres\n    url: {pg_hardened.url(MONITOR)}\n"
        "    credentials: {password: env:GOOD_PW}\n"
        f"    options: {{databases: [{APPDB}]}}\n"
        f"  - id: pg-bad\n    kind: postgres\n    url: {pg_hardened.url(MONITOR)}\n"
        "    credentials: {password: env:BAD_PW}\n"
    )
    wrong = "pw-wrong-Kx71Qa"
    result = sovscan(
        "scan", "--no-progress", "--inventory", str(inventory), "-f", f"json={tmp_path / 'r.json'}",
        env={"GOOD_PW": pg_hardened.password(MONITOR), "BAD_PW": wrong},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # PG-15 fails on pg-good
    found = findings(tmp_path / "r.json")
    bad = [f for f in found if f["resource"]["target"] == "pg-bad"]
    assert bad and {f["status"] for f in bad} == {"ERROR"}
    assert all("authentication failed" in f["message"] for f in bad)
    good = {(f["control_id"], path_of(f["resource"]["uri"])): f["status"] for f in found
            if f["resource"]["target"] == "pg-good"}  # fmt: skip
    assert good[("PG-04", "")] == "ERROR"  # pg_monitor cannot read pg_hba_file_rules
    assert good[("PG-11", "databases/appdb/schemas/public")] == "PASS"
    assert not any(path.startswith("databases/postgres") for _, path in good)
    everything = every_output(result, tmp_path / "r.json")
    assert wrong not in everything
    assert pg_hardened.password(MONITOR) not in everything


def test_password_in_target_url_is_a_usage_error(tmp_path: Path) -> None:
    result = sovscan("scan", "--target", "postgres=postgresql://scanner:Sup3rS3cret-abc@db.example/postgres")
    assert result.returncode == 2
    assert "PGPASSWORD" in result.stderr
    assert "Sup3rS3cret-abc" not in result.stdout + result.stderr
