"""End to end through the `sovscan` command against the real MinIO servers: every report format,
saved evidence re-read offline with identical findings, the Wazuh rules on real s3 events, and no
secret in any artifact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.reporters.test_reporter_wazuh import classify, load_rules
from tests.services.minio import PLANTED_SECRET, MinioServer

SOVSCAN = Path(sys.executable).parent / "sovscan"


def sovscan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script without AWS_/MINIO_ variables of the caller, plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MINIO_"))}
    return subprocess.run(
        [str(SOVSCAN), *args], capture_output=True, text=True, env={**base, **(env or {})}, timeout=300, check=False
    )


def findings(path: Path) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(path.read_text())["findings"]
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


def every_output(*results: subprocess.CompletedProcess[str], roots: tuple[Path, ...]) -> str:
    texts = [r.stdout + r.stderr for r in results]
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        texts.extend(p.read_text(errors="replace") for p in paths)
    return "\n".join(texts)


FORMATS = ("sarif", "junit", "wazuh")


def test_hardened_scan_all_formats_and_offline_replay(minio_hardened: MinioServer, tmp_path: Path) -> None:
    out, evidence_dir = tmp_path / "out", tmp_path / "evidence"
    out.mkdir()
    url = f"{minio_hardened.url}?ca_cert={minio_hardened.ca_file}&default_credential_probe=true"
    env = {"AWS_ACCESS_KEY_ID": "scanner", "AWS_SECRET_ACCESS_KEY": minio_hardened.users["scanner"]}
    formats = [arg for name in FORMATS for arg in ("-f", f"{name}={out / name}")]
    live = sovscan(
        "scan", "--no-progress", "--target", f"s3={url}", "-f", f"json={out / 'live.json'}", "-f", "console",
        *formats, "--save-evidence", str(evidence_dir), env=env,
    )  # fmt: skip
    assert live.returncode == 1, live.stderr  # S3-07 (static KMS key) fails
    live_findings = findings(out / "live.json")
    failed = {f["control_id"] for f in live_findings if f["status"] == "FAIL"}
    assert failed == {"S3-07"}, failed
    assert {f["control_id"] for f in live_findings if f["status"] == "ERROR"} == {"S3-02", "S3-13"}
    sarif = json.loads((out / "sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"S3-07"}
    assert "S3-07" in (out / "junit").read_text()
    offline = sovscan("scan", "--evidence", str(evidence_dir), "-f", f"json={out / 'offline.json'}")
    assert offline.returncode == 1, offline.stderr
    assert sorted(map(identity, findings(out / "offline.json"))) == sorted(map(identity, live_findings))
    everything = every_output(live, offline, roots=(out, evidence_dir))
    for user, secret in minio_hardened.users.items():
        assert secret not in everything, user
    assert minio_hardened.root_password not in everything


def test_weak_scan_from_an_inventory_with_wazuh_rules(minio_weak: MinioServer, tmp_path: Path) -> None:
    secret_file = tmp_path / "s3-secret"
    secret_file.write_text(minio_weak.root_password + "\n")
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - id: weak\n    kind: s3\n    url: {minio_weak.url}\n"
        "    credentials: {access_key: env:WEAK_KEY, secret_key: file:" + str(secret_file) + "}\n"
        "    options: {read_config: true, concurrency: 2}\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    formats = [arg for name in FORMATS for arg in ("-f", f"{name}={out / name}")]
    result = sovscan(
        "scan", "--no-progress", "--inventory", str(inventory), "-f", f"json={out / 'r.json'}", *formats,
        env={"WEAK_KEY": minio_weak.root_user},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    failed = {(f["control_id"], f["resource"]["uri"].split("/", 3)[-1]) for f in findings(out / "r.json")}
    assert ("S3-04", "buckets/public-data") in {(c, p) for c, p in failed}
    events = [json.loads(line) for line in (out / "wazuh").read_text().splitlines()]
    rules = load_rules()
    by_control: dict[str, set[int]] = {}
    for event in events:
        body = event["sovscan"]
        if body["event"] == "finding" and body["status"] == "FAIL":
            by_control.setdefault(body["control"]["id"], set()).add(classify(rules, event).id)
            regressed = {**event, "sovscan": {**body, "change": "regressed"}}
            by_control.setdefault(body["control"]["id"] + "+regressed", set()).add(classify(rules, regressed).id)
    assert by_control["S3-04"] == {100230} and by_control["S3-04+regressed"] == {100233}
    assert by_control["S3-05"] == {100231} and by_control["S3-05+regressed"] == {100234}
    assert by_control["S3-01"] == {100232} and by_control["S3-01+regressed"] == {100235}
    assert by_control["S3-06"] == {100121}  # other s3 failures keep the generic severity rules
    everything = every_output(result, roots=(out,))
    assert PLANTED_SECRET not in everything
    for user, secret in minio_weak.users.items():
        if not user.endswith(":action") and secret != minio_weak.root_password:
            assert secret not in everything, user


def test_unreachable_and_bad_credentials_are_one_line_errors(minio_weak: MinioServer, tmp_path: Path) -> None:
    wrong = "wrong-secret-value-0123456789"
    result = sovscan(
        "scan", "--no-progress", "--target", f"s3={minio_weak.url}", "-f", f"json={tmp_path / 'r.json'}",
        env={"AWS_ACCESS_KEY_ID": "viewer", "AWS_SECRET_ACCESS_KEY": wrong},
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and wrong not in result.stdout + result.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    assert "authentication failed" in json.dumps(document["targets"])
    assert {f["status"] for f in document["findings"]} == {"ERROR"}
