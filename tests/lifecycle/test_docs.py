"""The README's CI gate and nightly sections and examples/ci/: in sync, real options only, working shell logic."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import click
import pytest
import yaml
from pytest_httpserver import HTTPServer

from scanner.cli import cli
from scanner.model import Control, Severity, Status
from tests.lifecycle.builders import finding, previous, result, save, with_status

ROOT = Path(__file__).parents[2]
DOC = ROOT / "README.md"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
GITHUB = ROOT / "examples" / "ci" / "github-workflow.yml"
LOW = Control(id="P", title="passing control", severity=Severity.LOW, target="demo", check="demo.check")
SHELL_ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def sovscan_commands(text: str) -> Iterator[tuple[str, str]]:
    """(subcommand, arguments) of every `sovscan scan|report|history` command line in a text."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        found = re.search(r"\bsovscan (scan|report|history)\b(.*)", line)
        if not found:
            continue
        parts = [found.group(2).split("`")[0]]
        j = i
        while j + 1 < len(lines) and (parts[-1].rstrip().endswith("\\") or re.match(r"\s+-{1,2}[a-z]", lines[j + 1])):
            j += 1
            parts.append(lines[j])
        yield found.group(1), " ".join(parts)


@pytest.mark.parametrize("example", [GITLAB, GITHUB], ids=["gitlab", "github"])
def test_doc_embeds_the_example_files_verbatim(example: Path) -> None:
    assert f"```yaml\n{example.read_text()}```" in DOC.read_text()


@pytest.mark.parametrize("path", [DOC, GITLAB, GITHUB], ids=["doc", "gitlab", "github"])
def test_documented_commands_use_real_options(path: Path) -> None:
    commands = list(sovscan_commands(path.read_text()))
    assert commands
    for name, arguments in commands:
        command = cli.commands[name]
        params = command.get_params(click.Context(command))  # reporter-declared options included
        known = {opt for param in params for opt in param.opts}
        plain = re.sub(r"\$\$?\([^)]*\)", "", arguments)  # $(date -u ...) is not sovscan's
        used = set(re.findall(r"(?<![\w=-])(--[a-z][a-z-]*|-[a-zA-Z])(?=[\s=]|$)", plain))
        assert used <= known, (name, sorted(used - known))


def test_ci_examples_are_valid_yaml() -> None:
    gitlab = yaml.safe_load(GITLAB.read_text())
    assert gitlab["sovscan"]["allow_failure"] == {"exit_codes": [3]}
    github = yaml.safe_load(GITHUB.read_text())
    steps = github["jobs"]["sovscan"]["steps"]
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in steps)
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in steps)


def gitlab_fetch_block() -> str:
    script: list[str] = yaml.safe_load(GITLAB.read_text())["sovscan"]["script"]
    [block] = [s for s in script if "jobs/artifacts" in s]
    return block


@pytest.mark.parametrize("available", [True, False])
def test_gitlab_job_fetches_the_previous_result(httpserver: HTTPServer, tmp_path: Path, available: bool) -> None:
    path = "/api/v4/projects/42/jobs/artifacts/main/raw/sovscan/result.json"
    handler = httpserver.expect_request(path, query_string="job=sovscan", headers={"JOB-TOKEN": "job-token-1"})
    if available:
        handler.respond_with_data('{"format": "sovscan-result"}', content_type="application/json")
    else:
        handler.respond_with_data("not found", status=404)
    env = {
        **SHELL_ENV,
        "CI_API_V4_URL": httpserver.url_for("/api/v4"),
        "CI_PROJECT_ID": "42",
        "CI_DEFAULT_BRANCH": "main",
        "CI_JOB_NAME": "sovscan",
        "CI_JOB_TOKEN": "job-token-1",
    }
    script = "set -eo pipefail\n" + gitlab_fetch_block() + 'echo "COMPARE=[$COMPARE]"\n'
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr  # a first pipeline without a previous result goes on
    if available:
        assert "COMPARE=[--compare previous.json]" in done.stdout
        assert (tmp_path / "previous.json").read_text() == '{"format": "sovscan-result"}'
    else:
        assert "COMPARE=[]" in done.stdout
        assert "no previous result (HTTP Error 404" in done.stderr


@pytest.mark.parametrize(
    ("now", "expected", "warning"),
    [
        ("error-regression", 1, False),
        ("known-failure", 0, False),
        ("persistent-error", 0, True),
    ],
)
def test_github_gate_step(tmp_path: Path, now: str, expected: int, warning: bool) -> None:
    ok = finding("C-CRIT", "ok", Status.PASS)
    known = finding("C-CRIT", "known", Status.FAIL)
    error = finding("C-HIGH", "err", Status.ERROR)
    # nine more passing controls, so that one ERROR leaves the coverage at 10 of 11 (above 90%)
    many = [finding(f"P-{n}", "x", Status.PASS) for n in range(9)]
    current = {
        "error-regression": result(with_status(ok, Status.ERROR), known, *many),
        "known-failure": result(ok, known, *many),
        "persistent-error": result(ok, known, error, *many),
    }[now]
    current = replace(
        current, controls={**current.controls, **{f.control_id: replace(LOW, id=f.control_id) for f in many}}
    )
    (tmp_path / "sovscan").mkdir()
    (tmp_path / "previous").mkdir()
    save(current, tmp_path / "sovscan" / "result.json")
    save(replace(previous(ok, known, error, *many), controls=current.controls), tmp_path / "previous" / "result.json")
    steps = yaml.safe_load(GITHUB.read_text())["jobs"]["sovscan"]["steps"]
    [gate] = [s["run"] for s in steps if s.get("name") == "Gate"]
    env = {**SHELL_ENV, "SOVSCAN_COMPARE": "--compare previous/result.json"}
    done = subprocess.run(
        ["bash", "-e", "-c", gate], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == expected, done.stdout + done.stderr
    assert ("::warning::sovscan: some controls could not be verified" in done.stdout) is warning
    assert (tmp_path / "sovscan" / "compared.json").is_file()
