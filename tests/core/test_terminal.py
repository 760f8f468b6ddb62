"""No terminal injection: names and messages from targets are shown with control characters escaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner.text import bounded, visible
from tests.core.conftest import DATA


def test_console_and_stderr_show_control_characters_visibly(run_process: Any, tmp_path: Path) -> None:
    proc = run_process("scan", "--progress", "--target", f"demo={DATA / 'facts-evilnames.json'}", "-f", "console")
    assert proc.returncode == 1, proc.stderr
    for stream in (proc.stdout, proc.stderr):
        assert "\r" not in stream and "\x1b" not in stream and "\u202e" not in stream
    assert "evil\\rTotal: PASS 999 FAIL 0" in proc.stdout  # the name, shown as it is
    assert "bidi\\u202eexe.txt" in proc.stdout
    assert "! groups: denied\\nTotal: PASS 1 \\x1b[2J" in proc.stdout
    assert [line for line in proc.stdout.splitlines() if line.startswith("Total:")] == [
        "Total: PASS 2  FAIL 2  ERROR 0"
    ]
    assert "evil\\rTotal" in proc.stderr  # the gate's list of failing resources


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        ("a\rb\nc\td", "a\\rb\\nc\\td"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),
        ("\u2028\u202e\u2066", "\\u2028\\u202e\\u2066"),
        ("Zürich ✓", "Zürich ✓"),
    ],
)
def test_visible(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_bounded() -> None:
    assert bounded("x" * 10, 5) == "xx..."
    assert bounded("abc", 5) == "abc"
