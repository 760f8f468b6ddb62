"""An object named with an unpaired surrogate escape must not cost the scan its reports.

Python's JSON decoder accepts `"\\ud800"` and keeps a lone surrogate, which no UTF-8 output can
hold: one such name in a `kubectl get -o json` dump made every report fail with an internal error
(exit 4, nothing written), so whoever may name one object could hide a whole cluster's findings.
Evidence now holds U+FFFD there, as Go's decoder (the API server's) reads the escape; a saved
evidence file that holds a lone surrogate is refused with its file and line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.engine import plain_text

ROOT = Path(__file__).resolve().parents[2]


def _sovscan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", "scan", "--no-progress", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=ROOT,
    )


def _dump(path: Path, name: str) -> Path:
    items = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "a", "uid": "u1", "labels": {name: "x", "app": name}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
    ]
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))  # ensure_ascii: \ud800
    return path


def test_plain_text_replaces_only_lone_surrogates() -> None:
    assert plain_text("a\ud800b\udfffc") == "a\ufffdb\ufffdc"
    same = "grüße 😀"
    assert plain_text(same) is same


@pytest.mark.parametrize("name", ["p\ud800x", "\udc00", "p\ud83dq"])
def test_every_report_is_written_and_the_evidence_reads_back(tmp_path: Path, name: str) -> None:
    dump = _dump(tmp_path / "d.json", name)
    assert "\\ud" in dump.read_text()
    out = tmp_path / "out"
    formats = [f"-f{f}={out / ('r.' + f)}" for f in ("json", "sarif", "junit", "wazuh", "html")]
    done = _sovscan("-t", f"kubernetes=dump:{dump}", *formats, "--save-evidence", str(tmp_path / "ev"))
    assert done.returncode == 1, done.stderr  # the demo pod's failures fail the gate; no internal error
    shown = plain_text(name)
    for report in out.iterdir():
        text = report.read_bytes().decode("utf-8")  # strict: every report is UTF-8
        assert "\ud800" not in text and "\udc00" not in text
        assert shown in text or json.dumps(shown)[1:-1] in text
    saved = b"".join(p.read_bytes() for p in (tmp_path / "ev").glob("*.json")).decode("utf-8")
    assert "\\ud8" not in saved and "\\udc" not in saved
    again = _sovscan("--evidence", str(tmp_path / "ev"), f"-fjson={tmp_path / 'again.json'}")
    assert again.returncode == 1, again.stderr

    def findings(path: Path) -> list[tuple[str, str, str, str]]:
        result = json.loads(path.read_text())
        return [(f["control_id"], f["resource"]["uri"], f["status"], f["message"]) for f in result["findings"]]

    first = findings(out / "r.json")
    assert first == findings(tmp_path / "again.json")
    assert any(shown in uri for _, uri, _, _ in first)


def test_a_saved_evidence_file_with_a_lone_surrogate_is_refused_with_its_line(tmp_path: Path) -> None:
    dump = _dump(tmp_path / "d.json", "fine")
    saved = tmp_path / "ev"
    assert _sovscan("-t", f"kubernetes=dump:{dump}", "--save-evidence", str(saved)).returncode == 1
    (saved / "SHA256SUMS").unlink()  # read unverified: the file may come from anywhere
    (file,) = saved.glob("*.json")
    lines = file.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if '"fine"' in line)
    lines[number - 1] = lines[number - 1].replace('"fine"', '"\\ud83d\\ude00 and \\udfff"')
    file.write_text("\n".join(lines) + "\n")
    done = _sovscan("--evidence", str(saved), f"-fjson={tmp_path / 'r.json'}")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"sovscan: error: {file}:{number}: invalid JSON: an unpaired surrogate escape is not Unicode text"
    ]


def test_a_paired_surrogate_escape_is_kept(tmp_path: Path) -> None:
    dump = _dump(tmp_path / "d.json", "smile-\ud83d\ude00")
    assert "\\ud83d\\ude00" in dump.read_text()
    done = _sovscan("-t", f"kubernetes=dump:{dump}", f"-fjson={tmp_path / 'r.json'}")
    assert done.returncode == 1, done.stderr
    assert "smile-😀" in (tmp_path / "r.json").read_text(encoding="utf-8")
