"""Framework catalogues: schema, the no-drift rule against the controls' references, reconciliation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from scanner import frameworks
from scanner.baseline import BaselineLibrary
from scanner.errors import ConfigError
from scanner.plugins import discover

from .conftest import ROOT

EXPECTED = {"bsi-grundschutz", "nis2", "bsi-c5", "iso27001"}


def tree_controls() -> dict[str, dict[str, tuple[str, ...]]]:
    """Control id -> references, for every control of every built-in baseline of this tree."""
    library = BaselineLibrary(discover())
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for name in library.builtin_names():
        for control in library.load(name).controls:
            out[control.id] = dict(control.references)
    return out


def test_the_four_frameworks_are_shipped_and_load() -> None:
    assert set(frameworks.builtin_names()) >= EXPECTED
    for name in EXPECTED:
        fw = frameworks.load_framework(name)
        assert fw.requirements and fw.families
        ids = [r.id for r in fw.requirements]
        assert len(ids) == len(set(ids))
        for requirement in fw.requirements:
            assert requirement.controls or requirement.manual, requirement.id


def test_required_bsi_modules_and_nis2_points_are_present() -> None:
    bsi = frameworks.load_framework("bsi-grundschutz")
    modules = {f.id for f in bsi.families}
    assert {"APP.4.4", "SYS.1.6", "APP.4.3", "ORP.4", "CON.1", "OPS.1.1.5", "SYS.1.8"} <= modules
    nis2 = frameworks.load_framework("nis2")
    assert {f.id for f in nis2.families} == {f"21(2)({c})" for c in "abcdefghij"}
    assert any(r.id.startswith("CIR-") for r in nis2.requirements)
    iso = frameworks.load_framework("iso27001")
    assert len(iso.requirements) == 93
    c5 = frameworks.load_framework("bsi-c5")
    assert {f.id for f in c5.families} >= {"IDM", "CRY", "OPS", "COS"}


def test_control_references_and_catalogues_do_not_drift() -> None:
    """The rule both ways: every cited requirement maps the control, every mapping is cited."""
    controls = tree_controls()
    assert len(controls) > 50
    problems = [
        str(p)
        for name in frameworks.builtin_names()
        for p in frameworks.drift(frameworks.load_framework(name), controls)
    ]
    assert problems == []


def test_every_control_citing_a_keyed_framework_is_mapped_there() -> None:
    controls = tree_controls()
    for name in frameworks.builtin_names():
        fw = frameworks.load_framework(name)
        if fw.reference_key is None:
            continue
        citing = {c for c, refs in controls.items() if refs.get(fw.reference_key)}
        assert citing <= fw.mapped_controls(), (name, sorted(citing - fw.mapped_controls()))


def test_mapped_controls_not_in_this_tree_look_like_control_ids() -> None:
    """Controls of branches merged later are allowed here; `frameworks-sync --strict` fails on them after the merge."""
    controls = tree_controls()
    prefixes = {c.split("-")[0] for c in controls} | {"KC", "S3"}
    for name in frameworks.builtin_names():
        fw = frameworks.load_framework(name)
        assert frameworks.malformed_control_ids(fw) == []
        for control_id in frameworks.unknown_controls(fw, controls):
            assert control_id.split("-")[0] in prefixes, (name, control_id)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


CATALOGUE = """apiVersion: sovscan/v1
kind: Framework
name: demo
edition: "1"
title: Demo framework
reference_key: demo
families:
  - {id: M1, title: Module one}
  - {id: M2, title: Module two}
requirements:
  - id: M1.A1
    family: M1
    title: First
    controls: [C-1]
  - id: M1.A2
    family: M1
    title: Second
    manual: Ask someone.
  - id: M2.A1
    family: M2
    title: Third
    controls: [C-2]
"""


def test_a_requirement_without_controls_or_manual_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", CATALOGUE.replace("    manual: Ask someone.\n", ""))
    with pytest.raises(ConfigError, match=r"bad\.yaml:15: requirement M1\.A2 has neither controls nor a manual check"):
        frameworks.load_framework(str(path))


def test_schema_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", CATALOGUE.replace("controls: [C-2]", "controls: [not a control]"))
    with pytest.raises(ConfigError, match=r"bad\.yaml:2[0-9]"):
        frameworks.load_framework(str(path))
    path = write(tmp_path / "fam.yaml", CATALOGUE.replace("family: M2\n", "family: M9\n"))
    with pytest.raises(ConfigError, match="unknown family M9"):
        frameworks.load_framework(str(path))


def test_unknown_framework_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown framework 'nope' \(known: .*bsi-grundschutz"):
        frameworks.load_framework("nope")


def test_drift_finds_each_kind_of_disagreement_and_reconcile_fixes_what_it_can(tmp_path: Path) -> None:
    fw = frameworks.load_framework(str(write(tmp_path / "demo.yaml", CATALOGUE)))
    agreeing = {"C-1": {"demo": ("M1.A1",)}, "C-2": {"demo": ("M2",)}}
    assert frameworks.drift(fw, agreeing) == []  # a module-level reference is satisfied by a mapping in the module
    controls = {
        "C-1": {"demo": ("M1.A1", "M1.A2", "M9.A9")},  # M1.A2 not mapped; M9.A9 unknown
        "C-2": {"other": ("x",)},  # mapped to M2.A1 but cites nothing
        "C-3": {"demo": ("M2",)},  # cites a module as a whole
    }
    found = {(d.control_id, d.reference, d.problem) for d in frameworks.drift(fw, controls)}
    assert found == {
        ("C-1", "M1.A2", "missing-mapping"),
        ("C-1", "M9.A9", "unknown-reference"),
        ("C-2", "M2.A1", "unreferenced-mapping"),
        ("C-3", "M2", "missing-mapping"),
    }
    fixed = frameworks.reconcile(fw, controls)
    assert [(d.control_id, d.problem) for d in frameworks.drift(fixed, controls)] == [("C-1", "unknown-reference")]
    assert fixed.requirement("M1.A2").controls == ("C-1",)
    assert fixed.requirement("M2.A1").controls == () and fixed.requirement("M2.A1").manual
    assert fixed.requirement("M2").controls == ("C-3",)
    # the canonical text round-trips through the loader
    again = frameworks.load_framework(str(write(tmp_path / "again.yaml", frameworks.dump_catalogue(fixed))))
    assert [(r.id, r.controls, r.manual) for r in again.requirements] == [
        (r.id, r.controls, r.manual) for r in fixed.requirements
    ]


def test_shipped_catalogues_are_in_canonical_form() -> None:
    """`frameworks-sync --write` rewrites with dump_catalogue: the shipped files must already be its output."""
    for name in frameworks.builtin_names():
        path = ROOT / "baselines" / "frameworks" / f"{name}.yaml"
        assert frameworks.dump_catalogue(frameworks.load_framework(str(path))) == path.read_text(encoding="utf-8")


def test_frameworks_sync_check_passes_on_this_tree() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "frameworks-sync"), "--check"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"ok: \d+ controls agree with 4 catalogues", run.stdout)
