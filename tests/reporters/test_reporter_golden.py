"""Streamed reports are byte for byte what the reporters wrote before they streamed; a failed write leaves nothing.

The digests in `data/golden-reports.json` were recorded with the implementation that built each
report whole (one ElementTree for JUnit, one dict and one text for SARIF); see
`golden_cases.py` for the cases.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner import fileio
from scanner.interface import ReportOptions
from scanner.model import ScanResult
from tests.reporters.golden_cases import FORMATS, GOLDEN, REPORTERS, cases, render

_CASES = dict(cases())
_RECORDED: dict[str, str] = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("key", sorted(_RECORDED))
def test_report_is_byte_identical_to_the_recorded_one(
    key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # as recorded: SARIF paths are relative to the working directory
    case, name = key.split(".", 1)
    streamed = render(name, _CASES[case])
    assert hashlib.sha256(streamed).hexdigest() == _RECORDED[key], f"{key} differs from the recorded report"
    reporter_name, options = FORMATS[name]
    assert REPORTERS[reporter_name].render(_CASES[case], options).encode() == streamed  # render == chunks


def test_every_case_and_output_is_recorded() -> None:
    assert set(_RECORDED) == {f"{case}.{name}" for case in _CASES for name in FORMATS}


class _Boom(RuntimeError):
    """Raised by a report that fails midway."""


@pytest.mark.parametrize("reporter_name", ["json", "sarif", "junit", "wazuh"])
def test_a_write_failing_midway_leaves_no_file(reporter_name: str, tmp_path: Path) -> None:
    result: ScanResult = _CASES["k8s-sample"]
    chunks = list(REPORTERS[reporter_name].chunks(result, ReportOptions(full=True)))
    written: list[int] = []

    def failing() -> Iterator[bytes]:
        yield chunks[0]
        written.append(len(chunks[0]))
        raise _Boom("disk on fire")

    target = tmp_path / f"out.{reporter_name}"
    with pytest.raises(_Boom):
        fileio.write_output(target, failing())
    assert written  # a part of the report had reached the temporary file
    assert not target.exists()
    assert os.listdir(tmp_path) == []  # the temporary file is gone too


def test_a_write_failing_midway_keeps_the_previous_report(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("previous run\n")

    def failing() -> Iterator[bytes]:
        yield b'{"format": '
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        fileio.write_output(target, failing())
    assert target.read_text() == "previous run\n"
    assert os.listdir(tmp_path) == ["out.json"]
