"""Hostile YAML and JSON against every reader, as the CLI runs them (memory-bounded subprocesses).

Each reader must answer an alias bomb, a recursive alias, 100,000 levels of nesting, a NUL byte
and a duplicate key with one line naming `file:line` and exit 2 (a manifest: the target is ERROR,
exit 3), never a traceback, exit 4, a hang or gigabytes of memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fuzz.conftest import Runner, assert_clean_failure


def _bomb(indent: str = "") -> str:
    lines = [f'{indent}a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index, name in enumerate("bcdefghij"):
        lines.append(f"{indent}{name}: &{name} [" + ",".join([f"*{'abcdefghij'[index]}"] * 9) + "]")
    return "\n".join(lines) + "\n"


HEADERS = {
    "baseline": "apiVersion: sovscan/v1\nkind: Baseline\nname: x\nversion: '1'\n",
    "inventory": "apiVersion: sovscan/v1\nkind: Inventory\ntargets: []\n",
    "waivers": "apiVersion: sovscan/v1\nkind: Waivers\nwaivers: []\n",
    "manifests": "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\n",
}
"""A valid start of each kind of file; the payload follows at the next line."""

PAYLOADS = {
    "recursive-alias": ("x: &a [*a]\n", "a recursive alias"),
    "alias-bomb": ("x:\n" + _bomb("  "), "nodes (an alias bomb?)"),
    "deep-nesting": ("x: " + "[" * 100_000 + "]" * 100_000 + "\n", "nest"),
    "nul-byte": ("x: a\x00b\n", "invalid YAML"),
    "duplicate-key": ("x: 1\nx: 2\n", "duplicate key"),
}


def _command(reader: str, path: Path, out: Path) -> list[str]:
    if reader == "manifests":
        return ["scan", "--target", f"kubernetes=manifests:{path}", "-f", f"json={out}", "--timeout", "60"]
    option = {"baseline": "-b", "inventory": "-i", "waivers": "--waivers"}[reader]
    return ["validate", option, str(path)]


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("reader", sorted(HEADERS))
def test_hostile_yaml_is_one_line_naming_the_file(sovscan: Runner, tmp_path: Path, reader: str, payload: str) -> None:
    header = HEADERS[reader]
    body, needle = PAYLOADS[payload]
    path = tmp_path / f"{reader}.yaml"
    path.write_text(header + body, encoding="utf-8")
    out = tmp_path / "out.json"
    proc = sovscan(*_command(reader, path, out))
    line = header.count("\n") + (2 if payload == "duplicate-key" else 1)
    if payload == "alias-bomb" or payload == "deep-nesting":
        line = header.count("\n") + (1 if payload == "deep-nesting" else 2)
    if reader == "manifests":
        assert_clean_failure(proc, 3)
        [target] = json.loads(out.read_text())["targets"]
        assert needle in target["error"], target["error"]
        if payload != "recursive-alias":  # a recursive alias in a manifest ends in the recursion guard
            assert f"{path}:" in target["error"], target["error"]
        assert {f["status"] for f in json.loads(out.read_text())["findings"]} == {"ERROR"}
    else:
        assert_clean_failure(proc, 2, needle)
        error_lines = [entry for entry in proc.stderr.splitlines() if entry.startswith("sovscan: error:")]
        assert len(error_lines) == 1, proc.stderr
        if payload not in ("alias-bomb",):
            assert f"{path}:{line}:" in error_lines[0], error_lines[0]


def test_a_privileged_flag_given_twice_is_an_error_not_the_last_value(sovscan: Runner, tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        HEADERS["manifests"]
        + "spec:\n  containers:\n  - name: c\n    image: nginx:1.25\n    securityContext:\n"
        + "      privileged: true\n      privileged: false\n"
    )
    out = tmp_path / "out.json"
    proc = sovscan(*_command("manifests", manifest, out))
    assert_clean_failure(proc, 3)
    [target] = json.loads(out.read_text())["targets"]
    expected = f"{manifest}:10: invalid YAML: duplicate key 'privileged' (the API server refuses it)"
    assert target["error"].endswith(expected)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("empty", ""),
        ("comments", "# helm template failed\n---\n---\n"),
        ("empty-list", "apiVersion: v1\nkind: List\nitems: []\n"),
        ("no-kind", "foo: bar\n---\n- 1\n- 2\n"),
    ],
)
def test_empty_offline_input_is_a_target_error_and_counts_against_coverage(
    sovscan: Runner, tmp_path: Path, name: str, text: str
) -> None:
    out = tmp_path / "out.json"
    proc = sovscan(
        "scan", "--target", "kubernetes=manifests:-", "-f", f"json={out}", "--min-coverage", "50", stdin=text
    )
    assert_clean_failure(proc, 1, "coverage")
    [target] = json.loads(out.read_text())["targets"]
    assert "no Kubernetes object in standard input" in target["error"]
    statuses = {f["status"] for f in json.loads(out.read_text())["findings"]}
    assert statuses == {"ERROR"}  # never 24 x NOT_APPLICABLE and exit 0


def test_an_empty_directory_is_a_target_error(sovscan: Runner, tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    out = tmp_path / "out.json"
    proc = sovscan("scan", "--target", f"kubernetes=manifests:{tmp_path / 'manifests'}", "-f", f"json={out}")
    assert_clean_failure(proc, 3)
    assert "no Kubernetes object in" in json.loads(out.read_text())["targets"][0]["error"]


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("nan", '{"format": "sovscan-result", "x": NaN}', "NaN is not a JSON number"),
        ("infinity", '{"format": "sovscan-result",\n "x": -Infinity}', "-Infinity is not a JSON number"),
        ("deep", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("nul", '{"format": "sovscan-result\x00"}', "invalid JSON"),
        ("binary", "\udcff", "not UTF-8"),
    ],
)
def test_hostile_json_results_and_evidence_are_exit_2(
    sovscan: Runner, tmp_path: Path, name: str, text: str, needle: str
) -> None:
    result = tmp_path / "result.json"
    result.write_bytes(text.encode("utf-8", "surrogateescape"))
    proc = sovscan("report", "--from", str(result))
    assert_clean_failure(proc, 2, needle, str(result))
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "t.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    proc = sovscan("scan", "--evidence", str(evidence))
    assert_clean_failure(proc, 2, needle, str(evidence / "t.json"))
    if name == "infinity":
        assert f"{result}:2:" in proc.stderr.replace(str(evidence / "t.json"), str(result))


def test_nan_in_a_baseline_parameter_is_refused(sovscan: Runner, tmp_path: Path) -> None:
    baseline = tmp_path / "b.yaml"
    baseline.write_text(HEADERS["baseline"] + "controls:\n  - params: {limit: .nan}\n")
    proc = sovscan("validate", "-b", str(baseline))
    assert_clean_failure(proc, 2, f"{baseline}:6:", "NaN and infinities are not JSON")
