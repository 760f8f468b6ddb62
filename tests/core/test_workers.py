"""Worker processes (`--workers`): the same results in the same order, hung and crashing workers contained."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from scanner import engine
from scanner.baseline import BaselineLibrary
from scanner.interface import Secret, Target
from scanner.model import Evidence, Status
from scanner.plugins import discover
from scanner.workers import WorkerFailed, WorkerProcess
from tests.core.test_engine import OddPlugin, registry_with
from tests.kubernetes.k8s_objects import deployment_family, good_spec, pod, sample_cluster, write_manifests


class HeavyOddPlugin(OddPlugin):
    """The `odd` kind, CPU-bound for every target whose id starts with `heavy`."""

    def cpu_bound(self, target: Target) -> bool:
        """Targets named heavy* go to worker processes."""
        return target.id.startswith("heavy")


def heavy_registry(tmp_path: Path, behaviour: Mapping[str, Any]) -> tuple[Any, BaselineLibrary]:
    registry, _ = registry_with(tmp_path, behaviour)
    plugin = registry.plugins["odd"]
    registry.plugins["odd"] = HeavyOddPlugin(plugin.behaviour, plugin.baseline)  # type: ignore[attr-defined]
    return registry, BaselineLibrary(registry)


def _comparable(result: Any) -> list[Any]:
    return [
        (f.control_id, f.resource, f.status, f.message, json.dumps(f.observed), json.dumps(f.expected))
        for f in result.findings
    ]


def test_results_and_order_are_the_same_whatever_the_worker_count(tmp_path: Path) -> None:
    # three offline Kubernetes targets of different sizes, one of them a JSON dump
    objects = sample_cluster()
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    write_manifests(tmp_path / "one" / "all.yaml", objects)
    more = [
        *objects,
        *deployment_family("extra", good_spec(hostNetwork=True), ns="team-b"),
        pod("bare", good_spec(), ns="team-c"),
    ]
    write_manifests(tmp_path / "two" / "a.yaml", more[:20])
    write_manifests(tmp_path / "two" / "b.yaml", more[20:])
    (tmp_path / "dump.json").write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": objects[::-1]}))
    registry = discover()
    library = BaselineLibrary(registry)
    plugin = registry.plugin("kubernetes")
    values = [f"manifests:{tmp_path / 'one'}", f"dump:{tmp_path / 'dump.json'}", f"manifests:{tmp_path / 'two'}"]
    targets = [plugin.parse_target(v) for v in values]
    assert all(plugin.cpu_bound(t) for t in targets)  # type: ignore[attr-defined]
    runs = {n: engine.run_scan(targets, registry, library, workers=n, timeout=120) for n in (1, 2, 3)}
    assert [t.error for t in runs[1].targets] == [None, None, None]
    first = _comparable(runs[1])
    assert len(first) > 30 and {f[2] for f in first} >= {Status.PASS, Status.FAIL}
    assert runs[1].findings[0].resource.target == targets[0].id  # plan order, not finishing order
    for n in (2, 3):
        assert _comparable(runs[n]) == first
        assert [(t.id, t.error, t.section_errors) for t in runs[n].targets] == [
            (t.id, t.error, t.section_errors) for t in runs[1].targets
        ]


def test_saved_evidence_is_the_same_with_workers(tmp_path: Path) -> None:
    write_manifests(tmp_path / "a.yaml", sample_cluster())
    write_manifests(tmp_path / "b.yaml", sample_cluster()[:10])
    registry = discover()
    library = BaselineLibrary(registry)
    targets = [registry.plugin("kubernetes").parse_target(f"manifests:{tmp_path / n}") for n in ("a.yaml", "b.yaml")]
    for n in (1, 2):
        engine.run_scan(targets, registry, library, workers=n, save_evidence=tmp_path / f"ev{n}")

    def sections(directory: Path) -> list[Any]:
        docs = [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]
        return [(d["target"], d["sections"], d["errors"]) for d in docs]

    assert sections(tmp_path / "ev1") == sections(tmp_path / "ev2")
    # re-evaluating saved evidence (`--evidence`) in worker processes gives the same findings, in order
    offline = {n: engine.run_offline(tmp_path / "ev1", registry, library, workers=n) for n in (1, 2)}
    assert len(offline[1].findings) > 20
    assert _comparable(offline[1]) == _comparable(offline[2])
    assert [(t.id, t.error, t.section_errors) for t in offline[1].targets] == [
        (t.id, t.error, t.section_errors) for t in offline[2].targets
    ]


def test_a_hung_worker_is_killed_at_its_timeout_without_holding_the_others(tmp_path: Path) -> None:
    parent = os.getpid()

    def hang(target: Target) -> Evidence:
        if os.getpid() != parent:  # only ever in the worker process, which is killed
            time.sleep(60)
        raise AssertionError("a heavy target must be collected in a worker process")

    behaviour = {"heavy-hang": hang, "heavy-ok": {"facts": {"a": 1}}, "light": {"facts": {"b": 2}}}
    registry, library = heavy_registry(tmp_path, behaviour)
    targets = [Target(id=i, kind="odd", url=i) for i in behaviour]
    result = engine.run_scan(targets, registry, library, timeout=0.5, workers=1 + 1, concurrency=1)
    errors = {t.id: t.error for t in result.targets}
    assert errors == {"heavy-hang": "timed out: collection did not finish within 0.5s", "heavy-ok": None, "light": None}
    assert [(f.resource.target, f.status) for f in result.findings] == [
        ("heavy-hang", Status.ERROR),
        ("heavy-ok", Status.PASS),
        ("light", Status.PASS),
    ]
    assert multiprocessing.active_children() == []  # the hung worker was killed, not left running


def test_a_worker_that_dies_is_an_error_of_its_target_only(tmp_path: Path) -> None:
    def die(target: Target) -> Evidence:
        os._exit(7)

    registry, library = heavy_registry(tmp_path, {"heavy-die": die, "heavy-ok": {"facts": {"a": 1}}})
    targets = [Target(id=i, kind="odd", url=i) for i in ("heavy-die", "heavy-ok")]
    result = engine.run_scan(targets, registry, library, timeout=30, workers=2)
    errors = {t.id: t.error for t in result.targets}
    assert errors["heavy-ok"] is None
    assert errors["heavy-die"] == "collector failed: worker process ended without a result (exit code 7)"
    assert {f.status for f in result.findings if f.resource.target == "heavy-die"} == {Status.ERROR}


def test_another_targets_secret_is_redacted_from_a_workers_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the worker cannot know the other target's credential: its findings are evaluated again here
    secret = "Worker-Secret-0815"
    monkeypatch.setenv("ODD_PW", secret)

    def light(target: Target) -> Evidence:
        return Evidence(target=target.id, kind="odd", uri="odd://light", sections={"facts": {"ok": 1}})

    behaviour = {"heavy-echo": {"facts": {"echo": f"token={secret}"}}, "light": light}
    registry, library = heavy_registry(tmp_path, behaviour)
    targets = [
        Target(id="heavy-echo", kind="odd", url="heavy-echo"),
        Target(id="light", kind="odd", url="light", credentials={"password": "env:ODD_PW"}),
    ]
    result = engine.run_scan(targets, registry, library, workers=2, timeout=30)
    texts = [f"{f.message} {f.observed}" for f in result.findings]
    assert any("token=[REDACTED]" in t for t in texts)
    assert not any(secret in t for t in texts)


def test_worker_process_reports_exceptions_and_unpicklable_results() -> None:
    def boom() -> None:
        raise ValueError("no luck")

    worker = WorkerProcess(boom)
    assert worker.wait(30)
    with pytest.raises(WorkerFailed, match="ValueError: no luck"):
        worker.result()
    unpicklable = WorkerProcess(lambda: lambda: None)
    assert unpicklable.wait(30)
    with pytest.raises(WorkerFailed, match="result not transferable"):
        unpicklable.result()
    fine = WorkerProcess(lambda secret: {"kept": secret.reveal() == "x"}, Secret("x"))
    assert fine.wait(30) and fine.result() == {"kept": True}
