"""Fixtures of the compliance tests: the CLI in-process, an isolated default store directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scanner.cli import cli

Invoke = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[2]
DEMO_EVIDENCE = ROOT / "examples" / "evidence"


@pytest.fixture
def sovscan() -> Invoke:
    """Run the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)

    return invoke


@pytest.fixture(autouse=True)
def isolated_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep `--store default` inside the test's directory."""
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("SOVSCAN_STORE", raising=False)
    return home
