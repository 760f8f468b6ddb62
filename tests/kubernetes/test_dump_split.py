"""One large `kubectl get -o json` dump read by several processes: the sequential result, always.

`read_dump_split` cuts the items of a dump's List at separator lines, helper processes read
the parts into builders of their own, and the scanning process merges them in order
(`EvidenceBuilder.absorb`). Every test here compares the evidence (sections, control plane,
inputs, metadata) and the findings, in order, with the sequential reader's over generated,
corpus and hostile dumps, and checks which parts were really taken from helpers, so a test
whose split silently never happens cannot pass.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.kubernetes import offline
from checks.kubernetes.plugin import PLUGIN
from checks.kubernetes.slim import EvidenceBuilder
from scanner import engine, workers
from scanner.errors import CollectionError
from scanner.interface import Target
from scanner.model import Evidence
from scanner.workers import WorkerProcess, allowance, allowing
from tests.kubernetes.k8s_objects import (
    deployment_family,
    evaluate,
    good_spec,
    pod,
    registry,
    sample_cluster,
    workload,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split every dump, however small (the real threshold is for files of tens of megabytes)."""
    monkeypatch.setattr(offline, "SPLIT_MIN_BYTES", 1)


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """(cut offset, part accepted) for every part the scanning process tried to take from a helper."""
    seen: list[tuple[int, bool]] = []
    original = offline._Split.take

    def take(self: offline._Split, offset: int) -> offline._Part | None:
        part = original(self, offset)
        seen.append((offset, part is not None))
        return part

    monkeypatch.setattr(offline._Split, "take", take)
    return seen


def write_dump(path: Path, items: list[Any], **fields: Any) -> Path:
    """A List in kubectl's layout (4-space indentation), `kind: List` after the items as kubectl writes it."""
    document = {"apiVersion": "v1", "items": items, "kind": "List", **fields}
    path.write_text(json.dumps(document, indent=4, default=str) + "\n")
    return path


def collected(path: Path, processes: int) -> Evidence:
    with allowing(processes):
        return PLUGIN.collect(Target(id="d", kind="kubernetes", url=f"dump:{path}"), {}, 60.0)


def fingerprint(evidence: Evidence) -> str:
    metadata = {k: v for k, v in evidence.metadata.items() if k != "read_seconds"}
    return json.dumps({"sections": evidence.sections, "metadata": metadata}, sort_keys=True, default=repr)


def findings(evidence: Evidence) -> list[tuple[str, str, str, str]]:
    return [
        (f.control_id, f.resource.uri, f.status.value, f.message)
        for control_findings in evaluate(evidence).values()
        for f in control_findings
    ]


def assert_same(path: Path, processes: int = 2, *, scan: bool = True) -> Evidence:
    """The evidence (and findings) of the dump read with `processes` equal the sequential reader's."""
    sequential = collected(path, 1)
    split = collected(path, processes)
    assert fingerprint(split) == fingerprint(sequential)
    if scan:
        assert findings(split) == findings(sequential)
    return split


def read_error(path: Path, processes: int) -> str:
    with allowing(processes), pytest.raises(CollectionError) as caught:
        offline.read_offline(EvidenceBuilder(), "dump", str(path))
    return str(caught.value)


def generator() -> Any:
    spec = importlib.util.spec_from_file_location("k8s_generate", ROOT / "bench" / "k8s_generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("processes", [2, 3, 5])
def test_a_generated_dump_read_in_parts_gives_the_sequential_evidence_and_findings(
    tmp_path: Path, taken: list[tuple[int, bool]], processes: int
) -> None:
    path = tmp_path / "gen.json"
    generator().write_json(2_500, path, 11)
    evidence = assert_same(path, processes)
    assert len(taken) == processes - 1 and all(ok for _, ok in taken)
    assert evidence.metadata["documents"] > 2_500


def test_the_repository_corpus_as_a_dump_gives_the_sequential_evidence(
    tmp_path: Path, taken: list[tuple[int, bool]]
) -> None:
    files = sorted((ROOT / "tests" / "data" / "k8s-corpus").glob("*.yaml"))
    files += sorted((ROOT / "examples" / "kubernetes").glob("*.yaml"))
    items = [
        doc
        for file in files
        for doc in yaml.safe_load_all(file.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "kind" in doc
    ]
    assert len(items) > 20
    assert_same(write_dump(tmp_path / "corpus.json", [*items, *sample_cluster()]), 3)
    assert taken and all(ok for _, ok in taken)


def big_item(name: str, fakes: int) -> dict[str, Any]:
    """A ConfigMap whose data is an array of objects: printed inside `items` as deeper lines."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "x": [{"k": i} for i in range(fakes)]}


def test_a_cut_inside_an_item_is_read_through(
    tmp_path: Path, taken: list[tuple[int, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the middle item holds most of the bytes, with lines `,\n` + 8 spaces + `{` inside it
    items: list[Any] = [*sample_cluster()]
    items.insert(len(items) // 2, big_item("huge", 0))
    text = json.dumps({"apiVersion": "v1", "items": items, "kind": "List"}, indent=4)
    fake = ",\n".join('        {"fake": %d}' % i for i in range(20_000))  # noqa: UP031 - JSON text
    text = text.replace('"x": []', '"x": [\n' + fake + "\n    ]", 1)
    path = tmp_path / "fake.json"
    path.write_text(text)
    starts: list[int] = []
    original = offline._Split.begin

    def begin(self: offline._Split, stream: offline.JsonStream, kind: Any, hint: str) -> bool:
        started = original(self, stream, kind, hint)
        starts.extend(self._helpers)
        return started

    monkeypatch.setattr(offline._Split, "begin", begin)
    assert_same(path)
    assert starts, "no cut was chosen"
    assert '{"fake"' in text[starts[0] : starts[0] + 12]  # the cut was a fake separator ...
    assert taken == []  # ... never reached at an item start: the parent read on by itself


def test_a_controller_uid_in_both_parts_is_read_sequentially(tmp_path: Path, taken: list[tuple[int, bool]]) -> None:
    first = deployment_family("web", good_spec(), "team-a")
    second = copy.deepcopy(first)
    second[0]["spec"]["template"]["spec"]["containers"][0]["image"] = "other:2"  # same UIDs, another template
    filler = [pod(f"p{i}", good_spec(), "team-b") for i in range(40)]
    path = write_dump(tmp_path / "dup.json", first + filler + filler + second)
    assert_same(path)
    assert taken and not any(ok for _, ok in taken)  # the helper's part could not be merged in order


def test_pods_and_controllers_on_either_side_of_the_cut(tmp_path: Path, taken: list[tuple[int, bool]]) -> None:
    early = deployment_family("early", good_spec(), "team-a")  # [deployment, replicaset, pod]
    late = deployment_family("late", good_spec(), "team-a")
    filler = [pod(f"p{i}", good_spec(), "team-b") for i in range(40)]
    forged = copy.deepcopy(early[2])
    forged["metadata"]["name"] = "forged"
    forged["metadata"]["uid"] = "forged-uid"
    forged["spec"]["containers"][0]["image"] = "evil:1"
    # `late`'s pod before the cut, its controllers after it; `early`'s controllers before it, pods after
    items = [late[2], early[0], early[1], *filler, *filler, early[2], forged, late[0], late[1]]
    path = write_dump(tmp_path / "order.json", items)
    evidence = assert_same(path)
    assert taken == [(taken[0][0], True)]
    pods = {p["metadata"]["name"]: p for p in evidence.sections["pods"]}
    assert pods[early[2]["metadata"]["name"]].get("owned") and pods[late[2]["metadata"]["name"]].get("owned")
    assert "owner_note" in pods["forged"]


@pytest.mark.parametrize("kind_field", ["PodList", "List"])
def test_items_without_kind_and_the_list_kind_after_them(
    tmp_path: Path, taken: list[tuple[int, bool]], kind_field: str
) -> None:
    items = []
    for i in range(60):
        item = pod(f"p{i}", good_spec(), "team-a")
        if i % 3:
            del item["kind"]
        items.append(item)
    path = tmp_path / "kindless.json"
    path.write_text(json.dumps({"apiVersion": "v1", "items": items, "kind": kind_field}, indent=4))
    assert_same(path, 3, scan=False)
    assert taken and all(ok for _, ok in taken)
    head = tmp_path / "kind-first.json"  # the List's kind known before its items
    head.write_text(json.dumps({"kind": "PodList", "apiVersion": "v1", "items": items}, indent=4))
    assert_same(head, 2, scan=False)


def cluster_items() -> list[Any]:
    return [*sample_cluster(), *(pod(f"p{i}", good_spec(), "team-b") for i in range(40))]


@pytest.mark.parametrize(
    ("needle", "replacement"),
    [
        ('"name": "p30"', '"name": "p30" "x": 1'),  # a missing comma in the second half
        ('"name": "p30"', '"name": NaN'),  # a number the API server cannot hold
        ('"name": "p30"', '"name": "p30\\x"'),  # a bad escape
        ('"name": "p39"', '"name": "p39", "x": [1, 2}'),  # a bracket mismatch near the end
    ],
)
def test_a_malformed_second_half_gives_the_sequential_error(tmp_path: Path, needle: str, replacement: str) -> None:
    text = json.dumps({"apiVersion": "v1", "items": cluster_items(), "kind": "List"}, indent=4)
    assert needle in text
    path = tmp_path / "bad.json"
    path.write_text(text.replace(needle, replacement, 1))
    expected = read_error(path, 1)
    assert "invalid JSON" in expected and ":" in expected
    assert read_error(path, 2) == expected
    assert read_error(path, 4) == expected


def test_broken_utf8_and_a_truncated_file_give_the_sequential_error(tmp_path: Path) -> None:
    text = json.dumps({"apiVersion": "v1", "items": cluster_items(), "kind": "List"}, indent=4)
    path = tmp_path / "latin1.json"
    path.write_bytes(text.replace('"p35"', '"p35\u00e9"', 1).encode("latin-1"))
    assert read_error(path, 2) == read_error(path, 1)
    path.write_text(text[: len(text) * 3 // 4])
    assert read_error(path, 2) == read_error(path, 1)


def test_duplicate_keys_and_non_ascii_text_read_as_sequentially(tmp_path: Path, taken: list[tuple[int, bool]]) -> None:
    items = cluster_items()
    for item in items[-10:]:
        item["metadata"]["labels"] = {"team": "Zürich ☃ 東京"}
    items.append({"apiVersion": "v1", "kind": "List", "items": [pod("nested", good_spec(), "team-d")]})
    text = json.dumps({"apiVersion": "v1", "items": items, "kind": "List"}, indent=4, ensure_ascii=False)
    text = text.replace('"name": "p38"', '"name": "first", "name": "p38"', 1)  # kubectl dumps: the last wins
    path = tmp_path / "dup-keys.json"
    path.write_text(text, encoding="utf-8")
    assert_same(path, 3)
    assert taken and all(ok for _, ok in taken)


def fail_in(number: int) -> Any:
    def hook(part: int) -> None:
        if part == number:
            raise RuntimeError("helper crashed")

    return hook


@pytest.mark.parametrize(("processes", "failing"), [(2, 1), (4, 2), (4, 3)])
def test_a_crashing_helper_is_read_by_the_scanning_process(
    tmp_path: Path, taken: list[tuple[int, bool]], monkeypatch: pytest.MonkeyPatch, processes: int, failing: int
) -> None:
    monkeypatch.setattr(offline, "_PART_HOOK", fail_in(failing))
    more = [pod(f"q{i}", good_spec(), "team-c") for i in range(120)]
    path = write_dump(tmp_path / "crash.json", cluster_items() + more)
    assert_same(path, processes, scan=False)
    assert len([ok for _, ok in taken if not ok]) == 1  # only the failed part was read by the parent
    assert len([ok for _, ok in taken if ok]) == processes - 2


def test_no_split_with_one_process_compact_json_or_a_small_file(
    tmp_path: Path, taken: list[tuple[int, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_dump(tmp_path / "d.json", cluster_items())
    collected(path, 1)
    assert taken == []
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps({"apiVersion": "v1", "items": cluster_items(), "kind": "List"}))
    assert_same(compact, 2, scan=False)
    assert taken == []
    monkeypatch.setattr(offline, "SPLIT_MIN_BYTES", path.stat().st_size + 1)
    assert_same(path, 2, scan=False)
    assert taken == []


def test_a_worker_process_is_allowed_one_process() -> None:
    assert allowance() == 1
    with allowing(4):
        assert allowance() == 4
        helper = WorkerProcess(allowance)
        assert helper.wait(30)
        assert helper.result() == 1
    assert allowance() == 1


def test_the_engine_lets_a_single_dump_target_use_its_workers(tmp_path: Path, taken: list[tuple[int, bool]]) -> None:
    path = tmp_path / "engine.json"
    generator().write_json(800, path, 3)
    target = Target(id="d", kind="kubernetes", url=f"dump:{path}")
    one = engine.collect([target], registry(), workers=1)
    assert taken == []
    two = engine.collect([target], registry(), workers=2)
    assert taken and all(ok for _, ok in taken)
    assert fingerprint(one["d"]) == fingerprint(two["d"])
    assert findings(one["d"]) == findings(two["d"])


def test_absorb_refuses_what_it_cannot_order() -> None:
    family = deployment_family("web", good_spec(), "team-a")
    first, second = EvidenceBuilder(), EvidenceBuilder()
    for obj in family:
        first.add(copy.deepcopy(obj))
        second.add(copy.deepcopy(obj))
    assert not first.absorb(second)  # the same controller UIDs in both
    assert not first.absorb(EvidenceBuilder(default_namespace="other"))
    grown = EvidenceBuilder()
    grown.extra = 1  # type: ignore[attr-defined]  # state absorb does not know: refused, never dropped
    assert not first.absorb(grown)
    before = json.dumps(first.sections, sort_keys=True)
    assert json.dumps(first.sections, sort_keys=True) == before
    other = EvidenceBuilder()
    other.add(workload("CronJob", "cj", good_spec(), "team-b"))
    assert first.absorb(other)
    assert [c["metadata"]["name"] for c in first.sections["cronjobs"]] == ["cj"]


def test_a_controller_registered_again_after_the_list(tmp_path: Path, taken: list[tuple[int, bool]]) -> None:
    # the second part's pods are judged against the first part's ReplicaSet when they are read, as
    # the sequential reader does, not against the one a later document registers with the same UID
    family = deployment_family("early", good_spec(), "team-a")
    filler = [pod(f"p{i}", good_spec(), "team-b") for i in range(40)]
    again = copy.deepcopy(family[1])
    again["spec"]["template"]["spec"]["hostNetwork"] = True
    path = write_dump(tmp_path / "again.json", [family[0], family[1], *filler, *filler, family[2], family[3]])
    path.write_text(path.read_text() + json.dumps(again, indent=4) + "\n")
    evidence = assert_same(path)
    assert taken == [(taken[0][0], True)]
    pods = {p["metadata"]["name"]: p for p in evidence.sections["pods"]}
    assert pods[family[2]["metadata"]["name"]].get("owned") and pods[family[3]["metadata"]["name"]].get("owned")


def test_dump_targets_in_worker_processes_start_no_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "helper-ran"
    monkeypatch.setattr(offline, "_PART_HOOK", lambda number: marker.write_text(str(number)))
    first = write_dump(tmp_path / "a.json", cluster_items())
    second = write_dump(tmp_path / "b.json", [pod(f"q{i}", good_spec(), "team-c") for i in range(60)])
    targets = [Target(id=p.stem, kind="kubernetes", url=f"dump:{p}") for p in (first, second)]
    both = engine.collect(targets, registry(), workers=2)  # each target in a worker process: allowance 1
    assert not marker.exists()
    alone = engine.collect(targets[:1], registry(), workers=2)  # alone in the scanning process
    assert marker.read_text() == "1"
    assert fingerprint(both["a"]) == fingerprint(alone["a"])


def _answer_and_hang() -> str:
    import threading

    threading.Thread(target=time.sleep, args=(3600,), daemon=False).start()  # the child cannot end by itself
    return "answer"


def test_a_helper_that_answers_but_never_ends_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    # a helper forked from the collection thread may inherit a lock another thread held: once its
    # answer is in, the scan does not wait for it to end
    monkeypatch.setattr(workers, "EXIT_GRACE", 0.5)
    helper = WorkerProcess(_answer_and_hang)
    started = time.monotonic()
    assert helper.wait(30)
    assert helper.result() == "answer"
    assert time.monotonic() - started < 20
