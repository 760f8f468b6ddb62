"""Baseline loading: validation errors name file:line; includes and tailoring; CLI exit 2."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from scanner.baseline import BaselineLibrary
from scanner.errors import ConfigError
from scanner.model import Severity
from scanner.plugins import Registry, discover
from tests.core.demo_plugin import PLUGIN

HEADER = """\
apiVersion: sovscan/v1
kind: Baseline
name: custom
version: "1"
target: demo
controls:
"""
GOOD_CONTROL = """\
  - id: C-1
    title: Users have MFA
    severity: high
    check: demo.users_mfa
    rationale: because
    remediation: fix it
"""


@pytest.fixture
def library() -> BaselineLibrary:
    registry = Registry()
    registry.add_checks(discover().checks.values(), "core")  # generic checks (and any installed ones)
    registry.add_plugin(PLUGIN)
    return BaselineLibrary(registry)


def write(tmp_path: Path, text: str, name: str = "b.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def error_of(library: BaselineLibrary, ref: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        library.load(ref)
    return info.value


def test_builtin_demo_baseline_loads_with_source_lines(library: BaselineLibrary) -> None:
    baseline = library.load("demo")
    assert [c.id for c in baseline.controls] == ["DEMO-01", "DEMO-02", "DEMO-03"]
    first = baseline.controls[0]
    assert first.source is not None
    assert first.source.path == "baselines/demo.yaml"
    assert first.source.line == 8  # the `- id: DEMO-01` line of tests/core/data/demo.yaml
    assert first.references == {"nis2": ("21(2)(j)",), "iso27001-2022": ("A.8.5",)}
    assert baseline.versions == {"demo": "0.1.0"}


def test_malformed_yaml_names_line(library: BaselineLibrary, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL + "  - id: [unclosed\n")
    error = error_of(library, ref)
    assert error.location == f"{ref}:14" or error.location == f"{ref}:13"
    assert "invalid YAML" in error.message


def test_unknown_check_names_line(library: BaselineLibrary, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL.replace("demo.users_mfa", "demo.no_such_check"))
    error = error_of(library, ref)
    assert error.location == f"{ref}:10"
    assert "unknown check 'demo.no_such_check'" in error.message


def test_duplicate_id_names_second_definition(library: BaselineLibrary, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL + GOOD_CONTROL)
    error = error_of(library, ref)
    assert error.location == f"{ref}:13"
    assert "duplicate control id 'C-1'" in error.message
    assert f"{ref}:7" in error.message


def test_bad_parameter_names_line(library: BaselineLibrary, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL + "    params: {exempt: notalist}\n")
    error = error_of(library, ref)
    assert error.location == f"{ref}:13"
    assert "bad parameter" in error.message and "exempt" in error.message


def test_unknown_parameter_rejected(library: BaselineLibrary, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL + "    params: {exmpt: [a]}\n")
    assert "exmpt" in error_of(library, ref).message


def test_missing_required_field(library: BaselineLibrary, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL.replace("    remediation: fix it\n", ""))
    error = error_of(library, ref)
    assert error.location == f"{ref}:7"
    assert "remediation" in error.message


def test_bad_severity_and_unknown_field(library: BaselineLibrary, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL.replace("severity: high", "severity: severe"))
    assert error_of(library, ref).location == f"{ref}:9"
    ref = write(tmp_path, HEADER + GOOD_CONTROL + "    colour: red\n", "c.yaml")
    error = error_of(library, ref)
    assert "colour" in error.message


def test_duplicate_yaml_key(library: BaselineLibrary, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL + "    title: again\n")
    error = error_of(library, ref)
    assert error.location == f"{ref}:13"
    assert "duplicate key 'title'" in error.message


def test_generic_field_params_validated(library: BaselineLibrary, tmp_path: Path) -> None:
    control = GOOD_CONTROL.replace("demo.users_mfa", "generic.field") + (
        "    params:\n      section: settings\n      tests: [{field: x, op: approx, value: 1}]\n"
    )
    ref = write(tmp_path, HEADER + control)
    error = error_of(library, ref)
    assert error.location == f"{ref}:15"
    assert error.message.startswith("bad parameter for check 'generic.field': tests.0.op: must be one of 'eq', ")


def test_profile_includes_tailors_and_disables(library: BaselineLibrary, tmp_path: Path) -> None:
    ref = write(
        tmp_path,
        """\
        apiVersion: sovscan/v1
        kind: Profile
        name: prod
        version: "2"
        include: [demo]
        tailor:
          DEMO-01: {severity: critical, params: {exempt: [breakglass, robot]}}
          DEMO-03: {disabled: "sessions are enforced by the reverse proxy (ticket SEC-12)"}
        """,
    )
    profile = library.load(ref)
    controls = {c.id: c for c in profile.controls}
    assert controls["DEMO-01"].severity is Severity.CRITICAL
    assert controls["DEMO-01"].params == {"exempt": ["breakglass", "robot"]}
    assert controls["DEMO-03"].disabled is not None
    assert "reverse proxy" in controls["DEMO-03"].disabled
    assert controls["DEMO-02"].disabled is None
    assert profile.versions == {"demo": "0.1.0", "prod": "2"}


@pytest.mark.parametrize(
    ("tailor", "line", "needle"),
    [
        ("  NOPE-1: {severity: low}\n", 7, "unknown control id 'NOPE-1'"),
        ("  DEMO-01: {params: {exempt: 3}}\n", 7, "bad parameter"),
        ("  DEMO-01: {disabled: ''}\n", 7, "disabled"),
    ],
)
def test_bad_tailoring(library: BaselineLibrary, tmp_path: Path, tailor: str, line: int, needle: str) -> None:
    text = "apiVersion: sovscan/v1\nkind: Profile\nname: p\nversion: '1'\ninclude: [demo]\ntailor:\n" + tailor
    ref = write(tmp_path, text)
    error = error_of(library, ref)
    assert error.location == f"{ref}:{line}"
    assert needle in error.message


def test_include_cycle(library: BaselineLibrary, tmp_path: Path) -> None:
    write(tmp_path, "apiVersion: sovscan/v1\nkind: Profile\nname: a\nversion: '1'\ninclude: [b.yaml]\n", "a.yaml")
    write(tmp_path, "apiVersion: sovscan/v1\nkind: Profile\nname: b\nversion: '1'\ninclude: [a.yaml]\n", "b.yaml")
    assert "include cycle" in error_of(library, str(tmp_path / "a.yaml")).message


def test_cli_validate_reports_one_line_and_exit_2(run: Any, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL.replace("demo.users_mfa", "demo.no_such_check"))
    result = run("validate", "--baseline", ref)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    assert lines == [lines[0]] and lines[0].startswith(f"sovscan: error: {ref}:10: unknown check")
    assert "Traceback" not in result.output


def test_cli_scan_with_bad_baseline_exits_2_without_traceback(run_process: Any, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL + GOOD_CONTROL)
    facts = Path(__file__).parent / "data" / "facts-good.json"
    proc = run_process("scan", "--target", f"demo={facts}", "--baseline", ref)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"sovscan: error: {ref}:13: duplicate control id 'C-1' (first defined at {ref}:7)"
    assert "Traceback" not in proc.stderr


def test_impossible_date_is_a_config_error_naming_its_line(library: BaselineLibrary, tmp_path: Path) -> None:
    ref = write(tmp_path, HEADER + GOOD_CONTROL + "    description: 2025-01-01\n    tags: [2025-02-30]\n")
    error = error_of(library, ref)
    assert error.location == f"{ref}:14"
    assert error.message == "invalid date: day is out of range for month"


def test_a_control_selected_twice_with_different_definitions_is_refused(run: Any, tmp_path: Path) -> None:
    # `-b demo -b stricter` where `stricter` tailors DEMO-01: picking either one silently would be wrong
    profile = write(
        tmp_path,
        "apiVersion: sovscan/v1\nkind: Profile\nname: stricter\nversion: '1'\ninclude: [demo]\n"
        "tailor:\n  DEMO-01: {params: {exempt: []}}\n",
        "stricter.yaml",
    )
    facts = Path(__file__).parent / "data" / "facts-good.json"
    result = run("scan", "--target", f"demo={facts}", "--baseline", "demo", "--baseline", profile)
    assert result.exit_code == 2
    assert result.stderr == (
        f"sovscan: error: {profile}: control DEMO-01 is defined differently by the selected baselines demo "
        "(baselines/demo.yaml) and stricter (a profile tailoring it?): select only one of them\n"
    )
    alone = run("scan", "--target", f"demo={facts}", "--baseline", profile)  # breakglass is no longer exempt
    assert alone.exit_code == 1
    same_twice = run("scan", "--target", f"demo={facts}", "--baseline", "demo", "--baseline", "demo")
    assert same_twice.exit_code == 0
