"""What makes large scans cheap must not change a finding: shared workload selection, no reference cycles."""

from __future__ import annotations

import dataclasses
import gc
import pickle
import weakref
from pathlib import Path

from checks.kubernetes.common import select_workloads
from checks.kubernetes.plugin import PLUGIN
from checks.kubernetes.rbac import control_authorizer
from checks.kubernetes.slim import EvidenceBuilder
from scanner.interface import Target
from scanner.model import Evidence
from tests.kubernetes.k8s_objects import (
    baseline_controls,
    container,
    deployment_family,
    evaluate,
    good_spec,
    pod,
    sample_cluster,
    write_manifests,
)


def _collect(path: Path, objects: list[dict[str, object]], target_id: str = "t") -> Evidence:
    write_manifests(path, objects)
    target = PLUGIN.parse_target(f"manifests:{path}")
    return PLUGIN.collect(Target(id=target_id, kind=target.kind, url=target.url), {}, 30.0)


def _statuses(evidence: Evidence) -> dict[str, list[tuple[str, str, str]]]:
    return {
        cid: [(f.resource.uri, f.status.value, f.message) for f in found] for cid, found in evaluate(evidence).items()
    }


def test_the_builder_is_freed_without_the_cyclic_garbage_collector() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        builder = EvidenceBuilder()
        builder.add(pod("p", good_spec()), None, {"file": "f.yaml", "line": 1})
        alive = weakref.ref(builder)
        del builder
        assert alive() is None, "the evidence builder is part of a reference cycle (only gc.collect frees it)"
    finally:
        if was:
            gc.enable()


def test_controls_sharing_one_evidence_see_their_own_exemptions(tmp_path: Path) -> None:
    privileged = good_spec(containers=[container(securityContext={"privileged": True})])
    evidence = _collect(tmp_path / "a.yaml", [*deployment_family("web", good_spec()), pod("bare", privileged)])
    plain, _ = select_workloads(evidence, {})
    excluded, skipped = select_workloads(evidence, {"exclude_namespaces": ["team-*"]})
    again, _ = select_workloads(evidence, {})
    assert [w.name for w in plain] == [w.name for w in again] == ["web", "bare"]
    assert excluded == [] and [s.obj["metadata"]["name"] for s in skipped] == ["web", "bare"]


def test_evidence_of_the_same_target_id_is_never_confused(tmp_path: Path) -> None:
    """Two evidences of one target id (two runs in one process), evaluated alternately, keep their own findings."""
    privileged = good_spec(containers=[container(securityContext={"privileged": True})])
    first = _collect(tmp_path / "a.yaml", [pod("app", good_spec())])
    second = _collect(tmp_path / "b.yaml", [pod("app", privileged), pod("other", good_spec())])
    one, two = _statuses(first), _statuses(second)
    assert _statuses(first) == one and _statuses(second) == two
    assert baseline_controls()["K8S-13"].check == "kubernetes.privileged"
    assert [status for _, status, _ in one["K8S-13"]] == ["PASS"]
    assert [status for _, status, _ in two["K8S-13"]] == ["FAIL", "PASS"]


def test_a_section_that_grew_is_selected_again(tmp_path: Path) -> None:
    evidence = _collect(tmp_path / "a.yaml", [pod("app", good_spec())])
    before, _ = select_workloads(evidence, {})
    pods = list(evidence.sections["pods"])
    grown = dataclasses.replace(evidence, sections={**evidence.sections, "pods": [*pods, {**pods[0]}]})
    after, _ = select_workloads(grown, {})
    assert len(before) == 1 and len(after) == 2


def test_the_usual_selection_equals_the_general_one(tmp_path: Path) -> None:
    """Controls without namespace or UID exemptions take a shorter path: the same workloads, skipped alike."""
    evidence = _collect(tmp_path / "c.yaml", sample_cluster())
    builtin_skips = 0
    for control in baseline_controls().values():
        if "exempt_builtin" not in control.params:
            continue
        usual = select_workloads(evidence, control.params)
        general = select_workloads(evidence, {**control.params, "exclude_namespaces": ["no-such-namespace"]})
        assert usual == general
        builtin_skips += sum(s.reason.startswith("built-in") for s in usual[1])
    assert builtin_skips > 0, "the sample cluster exercised no built-in exemption"


def test_the_shared_selection_lives_and_dies_with_its_evidence(tmp_path: Path) -> None:
    evidence = _collect(tmp_path / "d.yaml", [pod("app", good_spec())])
    view = dataclasses.replace(evidence, sections=dict(evidence.sections))
    select_workloads(view, {})
    assert evidence.memo and evidence.memo is view.memo, "the engine's views of one evidence share its memo"
    assert pickle.loads(pickle.dumps(evidence)).memo == {}, "a worker must not send the memo back"  # noqa: S301
    watched = weakref.ref(next(iter(evidence.memo.values())))
    del evidence, view
    gc.collect()
    assert watched() is None, "something beyond the evidence keeps the selection (and its sections) alive"


def test_the_controls_share_one_authorizer_while_the_rbac_sections_are_the_same(tmp_path: Path) -> None:
    evidence = _collect(tmp_path / "e.yaml", sample_cluster())
    first = control_authorizer(evidence)
    assert control_authorizer(dataclasses.replace(evidence, sections=dict(evidence.sections))) is first
    bindings = list(evidence.sections["clusterrolebindings"])
    other = dataclasses.replace(evidence, sections={**evidence.sections, "clusterrolebindings": bindings})
    assert control_authorizer(other) is not first, "built from other section objects: built again"
    assert control_authorizer(evidence) is not first, "the memo held the other one: built again"
    live = dataclasses.replace(evidence, metadata={**evidence.metadata, "mode": "in-cluster"})  # the same memo
    shared = control_authorizer(live)
    assert shared is not control_authorizer(evidence), "no built-in role is filled in for a live listing"
    assert control_authorizer(dataclasses.replace(live, uri="k8s://elsewhere")) is not shared
