"""Ambient credentials (interface 2): values a plugin picks up from the environment are redacted everywhere.

The demo plugin's `ambient_credentials` returns DEMO_AMBIENT_TOKEN, which its collector "uses"
without any reference in the inventory, as libpq uses PGPASSWORD. A server that echoes it (in a
target error, a section, a section error, the metadata) must not put it into any artifact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner import engine
from scanner.interface import Target
from scanner.plugins import discover
from tests.core.conftest import DATA

TOKEN = "Amb13nt-T0ken-4711-xyz"


def _artifacts(tmp_path: Path) -> list[str]:
    return ["json", "sarif", "junit", "wazuh"]


def _scan_everything(run_process: Any, tmp_path: Path, facts: str) -> tuple[Any, list[Path]]:
    out = tmp_path / "out"
    files = [out / f"r.{fmt}" for fmt in _artifacts(tmp_path)]
    args = ["scan", "--progress", "--target", f"demo={DATA / facts}", "--save-evidence", str(out / "ev")]
    for fmt, path in zip(_artifacts(tmp_path), files, strict=True):
        args += ["-f", f"{fmt}={path}"]
    args += ["--full"]
    proc = run_process(*args, "-f", "console", env={"DEMO_AMBIENT_TOKEN": TOKEN})
    return proc, [*files, *sorted((out / "ev").iterdir())]


def test_a_target_error_echoing_the_ambient_secret_is_redacted_everywhere(run_process: Any, tmp_path: Path) -> None:
    proc, files = _scan_everything(run_process, tmp_path, "facts-ambientfail.json")
    assert proc.returncode == 3, proc.stderr
    assert "token [REDACTED] rejected by the server" in proc.stdout  # the echo reached the console, redacted
    assert "token [REDACTED] rejected" in proc.stderr  # and the progress line
    for text in (proc.stdout, proc.stderr, *(f.read_text() for f in files)):
        assert TOKEN not in text
    assert any("[REDACTED]" in f.read_text() for f in files if f.suffix == ".json")


def test_sections_errors_and_metadata_echoing_it_are_redacted(run_process: Any, tmp_path: Path) -> None:
    proc, files = _scan_everything(run_process, tmp_path, "facts-ambientecho.json")
    assert proc.returncode in (0, 1), proc.stderr
    assert "retrying with token [REDACTED]" in proc.stderr  # a client library's log line
    evidence = next(f for f in files if f.parent.name == "ev" and f.suffix == ".json").read_text()
    assert "server says: token [REDACTED] accepted" in evidence
    assert "permission denied for token [REDACTED]" in evidence
    assert "token:[REDACTED]" in evidence
    for text in (proc.stdout, proc.stderr, *(f.read_text() for f in files)):
        assert TOKEN not in text


def test_without_the_variable_nothing_is_redacted(run_process: Any, tmp_path: Path) -> None:
    proc = run_process("scan", "--target", f"demo={DATA / 'facts-ambientfail.json'}", "-f", "console")
    assert proc.returncode == 3
    assert "token  rejected by the server" in proc.stdout  # nothing was there to echo


def test_ambient_credentials_are_asked_before_collecting(demo_entry_point: Path, monkeypatch: Any) -> None:
    """The engine asks the plugin itself (no CLI involved): the library path is covered too."""
    monkeypatch.setenv("DEMO_AMBIENT_TOKEN", TOKEN)
    registry = discover()
    target = Target(id="t", kind="demo", url=str(DATA / "facts-ambientfail.json"))
    collected = engine.collect([target], registry, timeout=10)
    assert collected["t"].target_error == "authentication failed: token [REDACTED] rejected by the server"


def test_a_broken_ambient_credentials_hook_fails_the_target_closed(demo_entry_point: Path) -> None:
    registry = discover()
    plugin = registry.plugin("demo")

    def broken(target: Target) -> Any:
        return ["not", "a", "mapping"]

    object.__setattr__(plugin, "ambient_credentials", broken)
    try:
        target = Target(id="t", kind="demo", url=str(DATA / "facts-good.json"))
        collected = engine.collect([target], registry, timeout=10)
    finally:
        del plugin.ambient_credentials  # type: ignore[method-assign]
    assert collected["t"].target_error is not None
    assert "ambient_credentials returned list" in collected["t"].target_error
