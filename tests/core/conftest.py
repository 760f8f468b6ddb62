"""Fixtures for the core tests: the demo plugin registered through a real entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scanner.cli import cli

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[2]


@pytest.fixture
def demo_entry_point(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install the demo plugin's entry point as a third party would (a dist-info on sys.path)."""
    site = tmp_path_factory.mktemp("site")
    dist = site / "sovscan_demo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sovscan-demo\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[sovscan.checks]\ndemo = tests.core.demo_plugin:PLUGIN\n"
        "[sovscan.reporters]\nwarny = tests.core.demo_plugin:WarningReporter\n"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(ROOT))
    return site


@pytest.fixture
def run(demo_entry_point: Path) -> Iterator[object]:
    """Run the CLI in-process with the demo plugin available; returns the click Result."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    yield invoke


@pytest.fixture
def run_process(demo_entry_point: Path) -> Iterator[object]:
    """Run `python -m scanner` style in a subprocess (real exit codes, real stderr)."""

    def invoke(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        full_env["PYTHONPATH"] = os.pathsep.join([str(demo_entry_point), str(ROOT), full_env.get("PYTHONPATH", "")])
        return subprocess.run(
            [sys.executable, "-c", "from scanner.cli import main; main()", *args],
            capture_output=True,
            text=True,
            env=full_env,
            cwd=cwd,
            timeout=120,
        )

    yield invoke
