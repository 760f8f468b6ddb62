"""The engine through the CLI: statuses, fail-closed errors, timeouts, redaction, evidence, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from scanner.baseline import schema

DATA = Path(__file__).parent / "data"


def target(name: str) -> str:
    return f"demo={DATA / f'facts-{name}.json'}"


def scan_json(run: Any, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[Any, dict[str, Any]]:
    out = tmp_path / "result.json"
    result = run("scan", "--no-progress", *args, "-f", f"json={out}", env=env)
    document = json.loads(out.read_text())
    jsonschema.Draft202012Validator(schema("result")).validate(document)
    return result, document


def statuses(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["control_id"], f["resource"]["name"]): f["status"] for f in document["findings"]}


def test_clean_target_passes_and_exits_0(run: Any, tmp_path: Path) -> None:
    result, document = scan_json(run, tmp_path, "--target", target("good"))
    assert result.exit_code == 0, result.output
    assert set(statuses(document).values()) == {"PASS"}
    assert statuses(document)[("DEMO-01", "breakglass")] == "PASS"
    assert "Total: PASS 4" in result.stdout


def test_failures_errors_and_gate(run: Any, tmp_path: Path) -> None:
    result, document = scan_json(run, tmp_path, "--target", target("bad"))
    found = statuses(document)
    assert found[("DEMO-01", "bob")] == "FAIL"
    assert found[("DEMO-01", "alice")] == "PASS"
    assert found[("DEMO-02", "tls")] == "FAIL"
    # the session_timeout setting is absent: the control could not be verified, so ERROR, not PASS
    assert found[("DEMO-03", "demo-facts-bad")] == "ERROR"
    assert result.exit_code == 1
    assert "Failing controls" in result.stdout and "CRITICAL" in result.stdout


def test_fail_on_threshold(run: Any, tmp_path: Path) -> None:
    # only DEMO-01 (high) and DEMO-02 (critical) fail; with --fail-on none only the ERROR remains: exit 3
    result, _ = scan_json(run, tmp_path, "--target", target("bad"), "--fail-on", "none")
    assert result.exit_code == 3


def test_missing_permission_is_error_naming_privilege(run: Any, tmp_path: Path) -> None:
    result, document = scan_json(run, tmp_path, "--target", target("denied"))
    [demo01] = [f for f in document["findings"] if f["control_id"] == "DEMO-01"]
    assert demo01["status"] == "ERROR"
    assert "view-users role" in demo01["message"]
    assert statuses(document)[("DEMO-02", "tls")] == "PASS"
    assert result.exit_code == 3
    assert document["targets"][0]["section_errors"] == {
        "users": "permission denied: listing users needs the view-users role"
    }


def test_unreadable_targets_are_error_and_do_not_stop_others(run: Any, tmp_path: Path) -> None:
    result, document = scan_json(
        run,
        tmp_path,
        "--target",
        target("authfail"),
        "--target",
        target("explode"),
        "--target",
        "demo=/nonexistent/facts-missing.json",
        "--target",
        target("good"),
    )
    by_target: dict[str, set[str]] = {}
    for f in document["findings"]:
        by_target.setdefault(f["resource"]["target"], set()).add(f["status"])
    assert by_target["demo-facts-authfail"] == {"ERROR"}
    assert by_target["demo-facts-explode"] == {"ERROR"}
    assert by_target["demo-facts-missing"] == {"ERROR"}
    assert by_target["demo-facts-good"] == {"PASS"}
    errors = {t["id"]: t["error"] for t in document["targets"]}
    assert errors["demo-facts-authfail"].startswith("authentication failed:")
    assert errors["demo-facts-explode"] == "collector failed: RuntimeError: collector bug"
    assert errors["demo-facts-missing"].startswith("unreachable:")
    assert errors["demo-facts-good"] is None
    assert result.exit_code == 3


def test_timeout_marks_only_the_slow_target(run: Any, tmp_path: Path) -> None:
    result, document = scan_json(
        run, tmp_path, "--timeout", "0.5", "--target", target("slow"), "--target", target("good")
    )
    errors = {t["id"]: t["error"] for t in document["targets"]}
    assert errors["demo-facts-slow"] == "timed out: collection did not finish within 0.5s"
    assert errors["demo-facts-good"] is None
    assert {f["status"] for f in document["findings"] if f["resource"]["target"] == "demo-facts-slow"} == {"ERROR"}
    assert result.exit_code == 3


def test_crashing_check_is_error_not_pass(run: Any, tmp_path: Path) -> None:
    baseline = tmp_path / "crash.yaml"
    baseline.write_text(
        "apiVersion: sovscan/v1\nkind: Baseline\nname: crash\nversion: '1'\ntarget: demo\ncontrols:\n"
        "  - {id: X-1, title: buggy check, severity: low, check: demo.crash, rationale: r r, remediation: r r}\n"
        "  - {id: X-2, title: empty check, severity: low, check: demo.nothing, rationale: r r, remediation: r r}\n"
    )
    result, document = scan_json(run, tmp_path, "--target", target("good"), "--baseline", str(baseline))
    found = {f["control_id"]: f for f in document["findings"]}
    assert found["X-1"]["status"] == "ERROR"
    assert found["X-1"]["message"] == "check 'demo.crash' failed: KeyError: 'boom'"
    # a check that returns nothing verified nothing: ERROR, not a silent NOT_APPLICABLE
    assert found["X-2"]["status"] == "ERROR"
    assert found["X-2"]["message"].startswith("check 'demo.nothing' returned no result")
    assert result.exit_code == 3


def test_disabled_control_is_not_applicable_with_reason(run: Any, tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "apiVersion: sovscan/v1\nkind: Profile\nname: p\nversion: '1'\ninclude: [demo]\n"
        "tailor:\n  DEMO-02: {disabled: TLS terminates at the load balancer}\n"
    )
    _result, document = scan_json(run, tmp_path, "--target", target("bad"), "--baseline", str(profile))
    [demo02] = [f for f in document["findings"] if f["control_id"] == "DEMO-02"]
    assert demo02["status"] == "NOT_APPLICABLE"
    assert "TLS terminates at the load balancer" in demo02["message"]


def test_secrets_never_reach_output_or_evidence(run: Any, tmp_path: Path) -> None:
    password = "Sup3r-Secret-Pw-4711"
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\nenvironment: test\ntargets:\n"
        f"  - kind: demo\n    url: {DATA / 'facts-bad.json'}\n    credentials: {{password: env:DEMO_PW}}\n"
    )
    evidence_dir = tmp_path / "evidence"
    sarif_free_outputs = tmp_path / "out.json"
    result = run(
        "scan",
        "--no-progress",
        "--inventory",
        str(inventory),
        "--save-evidence",
        str(evidence_dir),
        "-f",
        f"json={sarif_free_outputs}",
        env={"DEMO_PW": password},
    )
    assert result.exit_code == 1
    texts = [result.output, sarif_free_outputs.read_text()] + [p.read_text() for p in evidence_dir.iterdir()]
    assert all(password not in text for text in texts)
    saved = json.loads(next(evidence_dir.glob("*.json")).read_text())
    assert saved["sections"]["banner"] == "server says: password=[REDACTED]"


def test_literal_credential_in_inventory_is_rejected(run: Any, tmp_path: Path) -> None:
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - kind: demo\n    url: {DATA / 'facts-good.json'}\n    credentials:\n      password: hunter2\n"
    )
    result = run("scan", "--inventory", str(inventory))
    assert result.exit_code == 2
    assert f"{inventory}:7:" in result.stderr
    assert "hunter2" not in result.stderr


def test_missing_env_credential_is_error_for_that_target_only(run: Any, tmp_path: Path) -> None:
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - {{id: one, kind: demo, url: {DATA / 'facts-good.json'}, "
        "credentials: {password: env:NOT_SET_ANYWHERE}}\n"
        f"  - {{id: two, kind: demo, url: {DATA / 'facts-good.json'}}}\n"
    )
    result, document = scan_json(run, tmp_path, "--inventory", str(inventory))
    errors = {t["id"]: t["error"] for t in document["targets"]}
    assert errors["one"] == (
        "credentials unavailable: credential 'password' (env:NOT_SET_ANYWHERE): "
        "environment variable NOT_SET_ANYWHERE is not set"
    )
    assert errors["two"] is None
    assert result.exit_code == 3


def test_inventory_errors_name_file_and_line(run: Any, tmp_path: Path) -> None:
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - {{id: a, kind: demo, url: {DATA / 'facts-good.json'}}}\n"
        "  - {id: b, kind: nosuchkind, url: x}\n"
    )
    result = run("scan", "--inventory", str(inventory))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sovscan: error: {inventory}:5: unknown target kind 'nosuchkind'")
    inventory.write_text("apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n  - {id: a, kind: demo}\n")
    result = run("validate", "--inventory", str(inventory))
    assert result.exit_code == 2
    assert f"{inventory}:4: invalid inventory" in result.stderr and "url" in result.stderr


def test_saved_evidence_reevaluates_to_identical_findings(run: Any, tmp_path: Path) -> None:
    evidence_dir = tmp_path / "evidence"
    live_out, offline_out = tmp_path / "live.json", tmp_path / "offline.json"
    live = run(
        "scan",
        "--no-progress",
        "--target",
        target("bad"),
        "--target",
        target("denied"),
        "--save-evidence",
        str(evidence_dir),
        "-f",
        f"json={live_out}",
    )
    offline = run("scan", "--evidence", str(evidence_dir), "-f", f"json={offline_out}")
    assert live.exit_code == offline.exit_code == 1
    live_doc, offline_doc = json.loads(live_out.read_text()), json.loads(offline_out.read_text())
    assert live_doc["findings"] == offline_doc["findings"]
    assert live_doc["controls"] == offline_doc["controls"]
    assert [t["section_errors"] for t in live_doc["targets"]] == [t["section_errors"] for t in offline_doc["targets"]]
    saved = json.loads(sorted(evidence_dir.glob("*.json"))[0].read_text())
    assert saved["tool_version"] and saved["collected_at"].endswith("Z")


def test_report_from_saved_result_round_trips(run: Any, tmp_path: Path) -> None:
    _, document = scan_json(run, tmp_path, "--target", target("bad"))
    again = tmp_path / "again.json"
    result = run("report", "--from", str(tmp_path / "result.json"), "-f", f"json={again}")
    assert result.exit_code == 1
    assert json.loads(again.read_text()) == document


def test_usage_errors_exit_2(run: Any, tmp_path: Path) -> None:
    assert run("scan", "--target", target("good"), "-f", "nosuchformat").exit_code == 2
    assert run("scan", "--target", "nokind").exit_code == 2
    assert run("scan", "--target", "demo=bad:x").exit_code == 2
    assert run("scan").exit_code == 2
    assert run("scan", "--target", target("good"), "--shard", "3/2").exit_code == 2
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = run("report", "--from", str(broken))
    assert result.exit_code == 2 and f"{broken}:1: invalid JSON" in result.stderr


def test_explain_and_lists(run: Any) -> None:
    result = run("explain", "demo-01")
    assert result.exit_code == 0
    assert "DEMO-01  Users have MFA" in result.stdout and "Enrol every user in MFA." in result.stdout
    assert "nis2: 21(2)(j)" in result.stdout
    assert run("explain", "NOPE-9").exit_code == 2
    listing = run("checks", "list").stdout
    assert "demo.users_mfa" in listing and "generic.field" in listing
    assert "demo" in run("baselines", "list").stdout
    shown = run("baselines", "show", "demo").stdout
    assert "DEMO-03" in shown


def test_shard_splits_targets(run: Any, tmp_path: Path) -> None:
    args = ["--target", target("good"), "--target", target("bad"), "--target", target("denied")]
    _, first = scan_json(run, tmp_path, *args, "--shard", "0/2")
    _, second = scan_json(run, tmp_path, *args, "--shard", "1/2")
    ids = [t["id"] for t in first["targets"]] + [t["id"] for t in second["targets"]]
    assert sorted(ids) == ["demo-facts-bad", "demo-facts-denied", "demo-facts-good"]
    assert [t["id"] for t in first["targets"]] == ["demo-facts-good", "demo-facts-denied"]


def test_invalid_plugin_options_in_inventory_name_the_line(tmp_path: Path) -> None:
    from checks.postgres.plugin import PLUGIN as POSTGRES
    from scanner.inventory import load_inventory
    from scanner.plugins import Registry

    registry = Registry()
    registry.add_plugin(POSTGRES)
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        "  - kind: postgres\n    url: postgresql://scanner@db.example:5432/postgres\n"
        "    options: {sslmode: verify-full, not_a_libpq_key: 1}\n"
    )
    import pytest

    from scanner.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_inventory(inventory, registry)
    assert info.value.location == f"{inventory}:6"
    assert "not_a_libpq_key" in info.value.message


def test_report_files_follow_umask_and_evidence_is_private(run: Any, tmp_path: Path) -> None:
    import os

    evidence_dir = tmp_path / "evidence"
    previous = os.umask(0o022)
    try:
        scan_json(run, tmp_path, "--target", target("good"), "--save-evidence", str(evidence_dir))
    finally:
        os.umask(previous)
    assert (tmp_path / "result.json").stat().st_mode & 0o777 == 0o644
    assert {p.stat().st_mode & 0o777 for p in evidence_dir.iterdir()} == {0o600}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_report_merges_shards_into_the_full_result(run: Any, tmp_path: Path) -> None:
    args = ["--target", target("good"), "--target", target("bad"), "--target", target("denied")]
    outputs = []
    for index in range(2):
        out = tmp_path / f"shard-{index}.json"
        run("scan", "--no-progress", *args, "--shard", f"{index}/2", "--environment", "fleet", "-f", f"json={out}")
        outputs.append(out)
    full_out, merged_out = tmp_path / "full.json", tmp_path / "merged.json"
    run("scan", "--no-progress", *args, "--environment", "fleet", "-f", f"json={full_out}")
    merged = run("report", "--from", str(outputs[0]), "--from", str(outputs[1]), "-f", f"json={merged_out}")
    assert merged.exit_code == 1  # bad's failures are in shard 1
    full, combined = json.loads(full_out.read_text()), json.loads(merged_out.read_text())
    jsonschema.Draft202012Validator(schema("result")).validate(combined)

    def key(f: dict[str, Any]) -> str:
        return str(f["fingerprint"])

    assert sorted(combined["findings"], key=key) == sorted(full["findings"], key=key)
    assert sorted(t["id"] for t in combined["targets"]) == sorted(t["id"] for t in full["targets"])
    assert combined["summary"]["by_status"] == full["summary"]["by_status"]
    assert combined["controls"] == full["controls"]

    overlap = run("report", "--from", str(outputs[0]), "--from", str(outputs[0]))
    assert overlap.exit_code == 2 and "shards must not overlap" in overlap.stderr
    other = tmp_path / "other-env.json"
    run("scan", "--no-progress", "--target", target("good"), "--environment", "lab", "-f", f"json={other}")
    mixed = run("report", "--from", str(outputs[1]), "--from", str(other))
    assert mixed.exit_code == 2 and "different environments" in mixed.stderr


def test_a_closed_stdout_pipe_costs_neither_report_nor_exit_code(demo_entry_point: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    out = tmp_path / "result.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(demo_entry_point), str(Path(__file__).parents[2])])}
    command = [sys.executable, "-c", "from scanner.cli import main; main()", "scan", "--no-progress"]
    command += ["--target", target("bad"), "-f", "console", "-f", f"json={out}"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # a reader like `| head` that is gone before sovscan writes its summary
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert code == 1, err  # the gate's verdict, not an internal error
    assert "internal error" not in err and "Traceback" not in err
    assert json.loads(out.read_text())["summary"]["total"] > 0


def test_reporter_warnings_become_one_line_on_stderr(run_process: Any, tmp_path: Path) -> None:
    out = tmp_path / "count.txt"
    proc = run_process("scan", "--no-progress", "--target", target("good"), "-f", f"warny={out}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "sovscan: warning: warny: 2 results left out to stay under a limit"
    assert out.read_text() == "4\n"
