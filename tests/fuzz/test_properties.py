"""Property tests (hypothesis) over every reader of untrusted input, in process.

Inputs are valid files mutated with the tokens attackers and careless editors produce (aliases,
merge keys, tags, NUL, tabs, brackets, NaN, duplicate keys, line separators) and randomly
mutated JSON documents. The properties: a reader returns a value or raises the typed error the
CLI turns into exit 2 (a manifest: a CollectionError, the target is ERROR) — never another
exception; what it returns can be written as strict JSON (no NaN); and memory stays bounded
(tracemalloc peak). Examples are derandomized and bounded (tests/fuzz/conftest.py).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import tempfile
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from scanner import engine, resultio
from scanner.baseline import BaselineLibrary
from scanner.errors import ConfigError, PluginError
from scanner.interface import ReportOptions, Target
from scanner.inventory import load_inventory
from scanner.plugins import Registry, discover
from scanner.waivers import load_waivers
from tests.kubernetes.k8s_objects import sample_cluster

PEAK_LIMIT = 256 << 20
"""Most memory (bytes, tracemalloc peak) one example may allocate."""

TOKENS = [
    "&a ", "*a", "&b [*a, *a, *a, *a]", "<<: *a\n", "\x00", "\t", "[", "]", "{", "}", ": ", "- ", "\n", "\n  ",
    "!!python/object/apply:os.system ['true']", "!!binary ", "!!set ", ".nan", "-.inf", "? ", "|\n", ">-\n",
    "---\n", "...\n", "%YAML 1.1\n", '"', "'", "\\", "\ufeff", "\u2028", "x: 1\nx: 2\n", "kind: Pod\n",
    "kind: List\nitems:\n", "apiVersion: v1\n", "2026-02-30", "0x1F", "1e400", "~", "=", "<<: [*a, *b]\n",
]  # fmt: skip

HEADERS = {
    "baseline": "apiVersion: sovscan/v1\nkind: Baseline\nname: fuzz\nversion: '1'\ntarget: kubernetes\ncontrols:\n",
    "inventory": "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n",
    "waivers": "apiVersion: sovscan/v1\nkind: Waivers\nwaivers:\n",
    "manifests": "apiVersion: v1\nkind: Pod\nmetadata: {name: fuzz, namespace: default}\nspec:\n",
}

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)


@st.composite
def mutated_yaml(draw: st.DrawFn, reader: str) -> str:
    """A valid-looking body (YAML of random data) with hostile tokens inserted at random places."""
    body = yaml.safe_dump(draw(_json), default_flow_style=draw(st.booleans()), allow_unicode=True)
    body = "  " + body.replace("\n", "\n  ")
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from(TOKENS)) + body[at:]
    return HEADERS[reader] + ("  - " if reader != "manifests" else "  ") + body.lstrip()


@contextmanager
def bounded_memory() -> Iterator[None]:
    """Fail when the block allocates more than PEAK_LIMIT bytes at its peak."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.0f} MiB"


@functools.cache
def _registry() -> Registry:
    return discover()


@functools.cache
def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="sovscan-fuzz-"))


def _write(name: str, text: str) -> Path:
    path = _workdir() / name
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    return path


def _strict_json(value: Any) -> None:
    json.dumps(value, allow_nan=False, default=str)


@given(mutated_yaml("baseline"))
def test_baseline_reader(text: str) -> None:
    with bounded_memory():
        try:
            BaselineLibrary(_registry()).load(str(_write("baseline.yaml", text)))
        except ConfigError as exc:
            assert exc.location is not None  # every baseline error names the file (and line)


@given(mutated_yaml("inventory"))
def test_inventory_reader(text: str) -> None:
    with bounded_memory(), contextlib.suppress(ConfigError, PluginError):
        load_inventory(_write("inventory.yaml", text), _registry())


@given(mutated_yaml("waivers"))
def test_waiver_reader(text: str) -> None:
    with bounded_memory():
        try:
            load_waivers(_write("waivers.yaml", text), today=date(2026, 12, 1))
        except ConfigError as exc:
            assert exc.location is not None


@given(mutated_yaml("manifests"))
def test_manifest_reader_through_the_engine(text: str) -> None:
    path = _write("manifest.yaml", text)
    with bounded_memory():
        [evidence] = engine.collect(
            [Target(id="m", kind="kubernetes", url=f"manifests:{path}")], _registry(), timeout=30
        ).values()
    if evidence.target_error is not None:
        assert "collector failed" not in evidence.target_error, evidence.target_error  # a bug, not bad input
    else:
        _strict_json(dict(evidence.sections))


# --- mutated JSON documents: evidence and native results -------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated_document(draw: st.DrawFn, base: dict[str, Any]) -> str:
    """`base` with a few values replaced by random JSON (NaN included) or deleted, as text."""
    document = copy.deepcopy(base)
    paths = list(_paths(document))[1:]
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths))
        parent: Any = document
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(_json)
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(document, allow_nan=True)


@functools.cache
def _scanned() -> tuple[dict[str, Any], dict[str, Any]]:
    """A saved Kubernetes evidence document and a native result of a small real offline scan."""
    manifests = _workdir() / "cluster.yaml"
    manifests.write_text(yaml.safe_dump_all(sample_cluster()))
    registry = _registry()
    saved = _workdir() / "saved"
    result = engine.run_scan(
        [Target(id="c", kind="kubernetes", url=f"manifests:{manifests}")],
        registry,
        BaselineLibrary(registry),
        save_evidence=saved,
    )
    [evidence_file] = saved.glob("*.json")
    return json.loads(evidence_file.read_text()), resultio.to_dict(result)


@given(st.data())
def test_tampered_evidence_is_exit_2_or_a_result(data: st.DataObject) -> None:
    text = data.draw(mutated_document(_scanned()[0]))
    directory = _workdir() / "ev"
    directory.mkdir(exist_ok=True)
    (directory / "c.json").write_text(text)  # no SHA256SUMS: read unverified, validated by schema and contract
    registry = _registry()
    with bounded_memory():
        try:
            result = engine.run_offline(directory, registry, BaselineLibrary(registry))
        except ConfigError:
            return
    assert not math.isnan(len(result.findings))
    _strict_json(resultio.to_dict(result))
    for finding in result.findings:  # a damaged section is ERROR, never silently fine
        assert finding.status.value in {"PASS", "FAIL", "ERROR", "NOT_APPLICABLE"}


@given(st.data())
def test_report_from_a_damaged_result_is_exit_2_or_renders_everywhere(data: st.DataObject) -> None:
    text = data.draw(mutated_document(_scanned()[1]))
    path = _write("result.json", text)
    with bounded_memory():
        try:
            result = resultio.load(path)
        except ConfigError:
            return
        for name, reporter in sorted(_registry().reporters.items()):
            rendered = reporter.render(result, ReportOptions(full=True))
            assert isinstance(rendered, str), name
            if name in ("json", "sarif"):
                json.loads(rendered, parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(c)))
