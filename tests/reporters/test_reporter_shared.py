"""Reports of results whose findings share controls and resources are byte for byte the recorded ones.

See `shared_cases.py`: the digests were recorded before the reporters cached what depends only on
a control or only on a resource, so a cache that hands one finding another's text fails here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.reporters.golden_cases import FORMATS, REPORTERS
from tests.reporters.shared_cases import CASE_OUTPUTS, LIMITED, SHARED, cases, render_output

_CASES = dict(cases())
_RECORDED: dict[str, str] = json.loads(SHARED.read_text())


@pytest.mark.parametrize("key", sorted(_RECORDED))
def test_report_is_byte_identical_to_the_recorded_one(
    key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # as recorded: SARIF paths are relative to the working directory
    case, name = key.split(".", 1)
    streamed = render_output(name, _CASES[case])
    assert hashlib.sha256(streamed).hexdigest() == _RECORDED[key], f"{key} differs from the recorded report"
    if name == LIMITED:
        return
    reporter_name, options = FORMATS[name]
    assert REPORTERS[reporter_name].render(_CASES[case], options).encode() == streamed  # render == chunks


def test_every_case_and_output_is_recorded() -> None:
    assert set(_RECORDED) == {f"{case}.{name}" for case in _CASES for name in CASE_OUTPUTS[case]}


def test_the_cases_share_resources_and_controls() -> None:
    # What the cases are for: resources judged by many controls, some as one object, some as equal copies.
    for result in _CASES.values():
        findings = result.findings
        assert len({id(f.resource) for f in findings}) < len(findings) / 2
        assert len({f.resource for f in findings}) < len({id(f.resource) for f in findings})
        assert len({f.control_id for f in findings}) < len(findings) / 5
