"""`--evidence DIR`: the same findings as the live scan, and nothing missing, left over, edited or malformed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scanner.evidence import file_name

DATA = Path(__file__).parent / "data"


def target(name: str) -> str:
    return f"demo={DATA / f'facts-{name}.json'}"


def save(run: Any, tmp_path: Path, *names: str) -> tuple[Path, dict[str, Any]]:
    evidence_dir, out = tmp_path / "evidence", tmp_path / "live.json"
    args = [arg for name in names for arg in ("--target", target(name))]
    result = run("scan", "--no-progress", *args, "--save-evidence", str(evidence_dir), "-f", f"json={out}")
    assert result.exit_code in (0, 1, 3), result.output
    return evidence_dir, json.loads(out.read_text())


def offline(run: Any, tmp_path: Path, evidence_dir: Path) -> tuple[Any, dict[str, Any] | None]:
    out = tmp_path / "offline.json"
    out.unlink(missing_ok=True)
    result = run("scan", "--evidence", str(evidence_dir), "-f", f"json={out}")
    return result, json.loads(out.read_text()) if out.exists() else None


def evidence_file(evidence_dir: Path, target_id: str) -> Path:
    [path] = [p for p in evidence_dir.glob("*.json") if json.loads(p.read_text())["target"]["id"] == target_id]
    return path


def test_offline_findings_are_the_live_findings_in_the_live_order(run: Any, tmp_path: Path) -> None:
    # targets given in the reverse of their file names' order: offline must not reorder them
    evidence_dir, live = save(run, tmp_path, "denied", "bad")
    result, document = offline(run, tmp_path, evidence_dir)
    assert result.exit_code == 1
    assert document is not None
    assert [t["id"] for t in document["targets"]] == ["demo-facts-denied", "demo-facts-bad"]
    assert document["findings"] == live["findings"]
    assert document["notes"] == []


def test_a_deleted_evidence_file_is_refused(run: Any, tmp_path: Path) -> None:
    evidence_dir, _ = save(run, tmp_path, "bad", "good")
    evidence_file(evidence_dir, "demo-facts-bad").unlink()  # the failing target vanishes: the rest passes
    result, document = offline(run, tmp_path, evidence_dir)
    assert result.exit_code == 2
    assert document is None
    assert result.stderr.startswith(f"sovscan: error: {evidence_dir / 'SHA256SUMS'}:1: demo-facts-bad-")
    assert "is listed but missing: the evidence is incomplete" in result.stderr


def test_an_edited_evidence_file_is_refused(run: Any, tmp_path: Path) -> None:
    evidence_dir, _ = save(run, tmp_path, "bad")
    path = evidence_file(evidence_dir, "demo-facts-bad")
    path.write_text(path.read_text().replace('"mfa": false', '"mfa": true'))
    result, _ = offline(run, tmp_path, evidence_dir)
    assert result.exit_code == 2
    assert "does not match its SHA-256: it changed after it was saved" in result.stderr


def test_evidence_left_from_another_run_is_refused(run: Any, tmp_path: Path) -> None:
    first, _ = save(run, tmp_path / "one", "good")
    second, _ = save(run, tmp_path / "two", "bad")
    shutil.copy(evidence_file(first, "demo-facts-good"), second)
    result, _ = offline(run, tmp_path, second)
    assert result.exit_code == 2
    assert "is not listed in SHA256SUMS" in result.stderr


def test_the_manifest_is_checked_by_sha256sum_too(run: Any, tmp_path: Path) -> None:
    evidence_dir, _ = save(run, tmp_path, "bad", "good")
    if shutil.which("sha256sum") is None:
        pytest.skip("no sha256sum on this machine")
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=evidence_dir, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_directory_without_manifest_is_read_with_a_note(run: Any, tmp_path: Path) -> None:
    evidence_dir, live = save(run, tmp_path, "bad")
    (evidence_dir / "SHA256SUMS").unlink()
    result, document = offline(run, tmp_path, evidence_dir)
    assert result.exit_code == 1
    assert document is not None and document["findings"] == live["findings"]
    [note] = document["notes"]
    assert "has no SHA256SUMS manifest" in note and "was not verified" in note
    assert "has no SHA256SUMS manifest" in result.stdout  # the console shows notes


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": {"id": "t", "kind": "demo", "uri": "demo://t", "labels": ["a"]}}, "target.labels: must be of type"),
        ({"sections": []}, "sections: must be of type object, not array"),
        ({"errors": ["users"]}, "errors: must be of type object"),
        ({"target_error": 5}, "target_error: must be of type string or null, not integer"),
        ({"target_error": ""}, "target_error: must be at least 1 character(s) long"),
        ({"metadata": None}, "metadata: must be of type object, not null"),
        ({"target": {"id": "", "kind": "demo", "uri": "demo://t"}}, "target.id: must be at least 1"),
        ({"duration": -1}, "duration: must be >= 0"),
    ],
)
def test_malformed_evidence_is_a_one_line_error(run: Any, tmp_path: Path, change: dict[str, Any], message: str) -> None:
    evidence_dir = tmp_path / "hand-made"
    evidence_dir.mkdir()
    document = {
        "format": "sovscan-evidence",
        "format_version": 1,
        "target": {"id": "t", "kind": "demo", "uri": "demo://t"},
        "sections": {"users": [], "settings": []},
    }
    (evidence_dir / "t.json").write_text(json.dumps({**document, **change}))
    result, _ = offline(run, tmp_path, evidence_dir)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"sovscan: error: {evidence_dir / 't.json'}: malformed evidence file: ")
    assert message in result.stderr


def test_a_malformed_manifest_names_its_line(run: Any, tmp_path: Path) -> None:
    evidence_dir, _ = save(run, tmp_path, "good")
    manifest = evidence_dir / "SHA256SUMS"
    manifest.write_text(manifest.read_text() + "0123  ../../etc/passwd.json\n")
    result, _ = offline(run, tmp_path, evidence_dir)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sovscan: error: {manifest}:2: not a line of a SHA256SUMS manifest")


def test_saving_again_into_the_same_directory_replaces_the_earlier_scan(run: Any, tmp_path: Path) -> None:
    evidence_dir, _ = save(run, tmp_path, "good", "bad")
    (evidence_dir / "notes.json").write_text("{}")  # not sovscan's: left alone, and then refused as unlisted
    out = tmp_path / "second.json"
    second = run("scan", "--no-progress", "--target", target("denied"), "--save-evidence", str(evidence_dir),
                 "-f", f"json={out}")  # fmt: skip
    assert second.exit_code == 3
    assert [p.name for p in evidence_dir.glob("demo-*.json")] == [file_name("demo-facts-denied")]
    (evidence_dir / "notes.json").unlink()
    result, document = offline(run, tmp_path, evidence_dir)
    assert result.exit_code == 3
    assert document is not None and document["findings"] == json.loads(out.read_text())["findings"]
