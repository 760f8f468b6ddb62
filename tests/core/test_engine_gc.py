"""Process-wide state belongs to the engine: the garbage collector is paused and restored by it alone."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scanner import engine
from scanner.interface import Secret, Target
from scanner.model import Evidence
from scanner.plugins import discover
from tests.core.test_engine import odd, registry_with


def test_gc_is_paused_while_collecting_and_back_on_after_an_abandoned_collection(tmp_path: Path) -> None:
    seen: dict[str, bool] = {}
    release = threading.Event()

    def hang(target: Target) -> Evidence:
        seen["during"] = gc.isenabled()
        release.wait(30)
        return Evidence(target=target.id, kind="odd", uri="odd://h", sections={"facts": {}})

    registry, _ = registry_with(tmp_path, {"h": hang})
    assert gc.isenabled()
    try:
        collected = engine.collect(odd("h"), registry, timeout=0.2)
        assert gc.isenabled(), "an abandoned collector must not leave the garbage collector off"
    finally:
        release.set()
    assert seen == {"during": False}
    assert collected["h"].target_error is not None and "did not finish within" in collected["h"].target_error


def test_gc_stays_off_when_it_was_off(tmp_path: Path) -> None:
    registry, _ = registry_with(tmp_path, {"t": {"facts": {"a": 1}}})
    gc.disable()
    try:
        engine.collect(odd("t"), registry, timeout=5)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_kubernetes_plugin_does_not_touch_the_garbage_collector(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec: {containers: []}\n")
    plugin = discover().plugin("kubernetes")
    states: list[bool] = []
    original = gc.disable

    def spy() -> None:
        states.append(False)
        original()

    gc.disable = spy  # type: ignore[assignment]
    try:
        frozen = gc.get_freeze_count()
        evidence = plugin.collect(plugin.parse_target(f"manifests:{manifest}"), _no_secrets(), 10)
    finally:
        gc.disable = original  # type: ignore[assignment]
    assert states == [] and gc.isenabled() and gc.get_freeze_count() == frozen
    assert evidence.sections["pods"]


def test_large_evidence_is_frozen_by_the_engine() -> None:
    big = Evidence(target="b", kind="k", uri="k://b", sections={"items": list(range(engine.FREEZE_ITEMS))})
    small = Evidence(target="s", kind="k", uri="k://s", sections={"items": [1, 2]})
    assert engine.freeze_large({"s": small}) is False
    before = gc.get_freeze_count()
    try:
        assert engine.freeze_large({"b": big}) is True
        assert gc.get_freeze_count() >= before
    finally:
        gc.unfreeze()


def _no_secrets() -> Mapping[str, Secret]:
    return {}


def test_what_a_paused_block_leaves_behind_is_frozen_only_when_it_is_large() -> None:
    assert gc.isenabled()
    before = gc.get_freeze_count()
    try:
        with engine.paused_gc():
            few = [[] for _ in range(10)]
        assert gc.get_freeze_count() == before and gc.isenabled()
        with engine.paused_gc():
            many = [[] for _ in range(engine.FREEZE_NEW_OBJECTS + 1000)]
        assert gc.get_freeze_count() >= before + len(many) and gc.isenabled()
        assert few
    finally:
        gc.unfreeze()


class _Section(list[Any]):
    """A section list that can be watched with a weak reference."""


def test_collected_sections_are_released_once_normalised() -> None:
    section = _Section([{"b": 1, "a": [1.5, None]}])
    watch = weakref.ref(section)
    box: list[Any] = [Evidence(target="x", kind="k", uri="k://x", sections={"s": section, "t": {"n": float("nan")}})]
    del section
    evidence = engine._validated(box, Target(id="x", kind="k", url="k://x"))
    assert box == [] and watch() is None, "the collector's section outlived its plain copy"
    assert evidence.sections == {"s": [{"a": [1.5, None], "b": 1}], "t": {"n": "NaN"}}
    assert list(evidence.sections["s"][0]) == ["a", "b"] and type(evidence.sections["s"]) is list
