"""The YAML semantics sovscan's manifest reader keeps, pinned over a corpus of real-shaped manifests.

The fast reader (libyaml's parser, a memoised resolver, C built-ins for the no-op resolver
hooks and a converter of its own) must give the same documents as PyYAML's reference
SafeLoader, with one chosen difference: timestamps stay text (JSON-safe). The corpus is the
repository's own manifests (`examples/kubernetes`), the benchmark generator's output, and the
hand-written excerpts in `tests/data/k8s-corpus` in the shapes of kubernetes-goat, ingress-nginx
and kube-prometheus manifests. Any parser swapped in later has to pass the same tests.

The fast path (`checks/kubernetes/fastyaml.py`: yaml-rs for documents a pre-scan finds plain,
PyYAML for the rest) must give the PyYAML reader's evidence (objects, file, line, document
number) and errors for the same corpus, the generated manifests and hostile inputs; what the
pre-scan lets through must read the same in yaml-rs as in the reference (a property test).
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

import pytest
import yaml
import yaml_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.kubernetes import fastyaml
from checks.kubernetes.offline import FastLoader, NodeConverter, read_offline, read_yaml_pyyaml
from checks.kubernetes.slim import EvidenceBuilder
from scanner.errors import CollectionError

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "k8s-corpus"


class ReferenceLoader(yaml.SafeLoader):
    """PyYAML's pure-Python SafeLoader (YAML 1.1 resolver), timestamps kept as their text."""


ReferenceLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def fast_documents(text: str) -> list[tuple[Any, int | None]]:
    """Every document as sovscan's reader converts it (nothing dropped), with the line it starts on."""
    loader = FastLoader(io.StringIO(text))
    out: list[tuple[Any, int | None]] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            out.append((None, None) if node is None else (NodeConverter().convert(node), node.start_mark.line + 1))
    finally:
        loader.dispose()
    return out


def reference_documents(text: str) -> list[tuple[Any, int | None]]:
    nodes = list(yaml.compose_all(text, Loader=ReferenceLoader))
    data = list(yaml.load_all(text, Loader=ReferenceLoader))
    return [(d, None if n is None else n.start_mark.line + 1) for d, n in zip(data, nodes, strict=True)]


def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    spec = importlib.util.spec_from_file_location("k8s_generate", ROOT / "bench" / "k8s_generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("generated")
    module.write_yaml(1_000, out, 7)
    return sorted(out.glob("*.yaml"))


CORPUS_FILES = sorted(CORPUS.glob("*.yaml")) + sorted((ROOT / "examples" / "kubernetes").glob("*.yaml"))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_documents_are_identical_to_the_reference_reader(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = fast_documents(text)
    assert fast == reference_documents(text)
    assert sum(1 for doc, _ in fast if isinstance(doc, dict)) >= 1


def test_generated_manifests_are_identical_to_the_reference_reader(tmp_path_factory: pytest.TempPathFactory) -> None:
    files = generated(tmp_path_factory)
    assert len(files) >= 3
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert fast_documents(text) == reference_documents(text), path.name


def test_yaml_1_1_scalars_read_as_kubernetes_tooling_writes_them() -> None:
    docs = [d for d, _ in fast_documents((CORPUS / "goat-style.yaml").read_text())]
    spec = docs[1]["spec"]["template"]["spec"]
    assert (spec["hostPID"], spec["hostNetwork"], spec["automountServiceAccountToken"]) == (True, True, True)
    assert spec["containers"][0]["securityContext"]["privileged"] is True
    assert spec["containers"][0]["volumeMounts"][0]["readOnly"] is False
    assert spec["volumes"][1]["configMap"]["defaultMode"] == 0o644  # 0644 is octal in YAML 1.1: 420
    assert docs[1]["metadata"]["annotations"]["deployed"] == "2024-05-01"  # a date stays text
    assert docs[2]["data"] == {
        "enabled": "yes",  # quoted: a string
        "started": "2024-05-01T10:00:00Z",
        "script": '#!/bin/sh\necho "--- not a document marker"\n',
    }
    prom = [d for d, _ in fast_documents((CORPUS / "prometheus-style.yaml").read_text())]
    cron = prom[0]["items"][2]["spec"]
    assert cron["suspend"] is False and cron["jobTemplate"]["spec"]["backoffLimit"] == 3
    resources = cron["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {"limits": {"cpu": 1, "memory": "1.5Gi"}, "requests": {"cpu": 0.5, "memory": "512Mi"}}


def test_anchors_and_merge_keys() -> None:
    docs = [d for d, _ in fast_documents((CORPUS / "ingress-style.yaml").read_text())]
    labels = docs[0]["metadata"]["labels"]
    assert docs[0]["metadata"]["annotations"] == labels  # an alias (anchors live within one document)
    common = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/version": "1.10.0"}
    assert docs[2]["metadata"]["labels"] == {**common, "app.kubernetes.io/component": "rbac"}  # merged, then added to
    assert docs[2]["metadata"]["annotations"] == common
    assert docs[-1] is None  # the trailing `---` opens an empty document


def test_the_reader_keeps_file_document_and_line_of_every_object() -> None:
    builder = EvidenceBuilder()
    facts = read_offline(builder, "manifests", str(CORPUS))
    assert facts == {"files": 3, "documents": 4 + 6 + 2}
    sections = builder.sections
    corpus = CORPUS.as_posix()
    assert [o["source"] for o in sections["daemonsets"]] == [{"file": f"{corpus}/goat-style.yaml", "line": 8, "doc": 2}]
    assert [o["source"] for o in sections["cronjobs"]] == [  # an item of a List: the line of its `- `
        {"file": f"{corpus}/prometheus-style.yaml", "line": 26, "doc": 1, "item": 3}
    ]
    assert [o["source"] for o in sections["serviceaccounts"]] == [  # after `---` and a Helm comment
        {"file": f"{corpus}/ingress-style.yaml", "line": 3, "doc": 1}
    ]


def test_a_duplicate_key_names_file_and_line(tmp_path: Path) -> None:
    text = (CORPUS / "goat-style.yaml").read_text().replace("      hostNetwork: on\n", "      hostPID: no\n")
    (tmp_path / "dup.yaml").write_text(text)
    with pytest.raises(CollectionError, match=r"dup\.yaml:23: .*duplicate key 'hostPID'"):
        read_offline(EvidenceBuilder(), "manifests", str(tmp_path / "dup.yaml"))


# The fast path (checks/kubernetes/fastyaml.py): yaml-rs for plain documents, PyYAML for the rest.


def builder_state(builder: EvidenceBuilder) -> dict[str, Any]:
    """Everything a builder gathered (sections, ignored kinds, problems, kubelet settings, sources)."""
    return {k: v for k, v in vars(builder).items() if k not in ("_slimmers", "_source")}


def both_paths(text: str, tmp_path: Path) -> tuple[Any, Any, fastyaml.Tally]:
    """Read `text` as a manifest file by the shipped reader and by the PyYAML reader: state or error message."""
    path = tmp_path / "m.yaml"
    path.write_bytes(text.encode("utf-8"))
    display = path.as_posix()
    tally = fastyaml.Tally()
    results: list[Any] = []
    for fast in (True, False):
        builder = EvidenceBuilder()
        try:
            if fast:
                text = path.read_text(encoding="utf-8")
                documents = fastyaml.read_text(builder, text, display, read_yaml_pyyaml, tally, str(path))
            else:
                with path.open(encoding="utf-8") as stream:
                    documents = read_yaml_pyyaml(builder, stream, display)
        except CollectionError as exc:
            results.append(("error", str(exc)))
        else:
            results.append((documents, builder_state(builder)))
    return results[0], results[1], tally


def typed(value: Any) -> Any:
    """A value with every scalar's type spelled out (`True == 1` and `1 == 1.0` in Python)."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    return (type(value).__name__, value)


def reference_one(text: str) -> Any:
    """One document as the PyYAML path converts it (nothing dropped), or the error's type."""
    loader = FastLoader(io.StringIO(text))
    try:
        node = loader.get_single_node()
        return typed(None if node is None else NodeConverter().convert(node))
    except (yaml.YAMLError, RecursionError) as exc:
        return ("error", type(exc).__name__)
    finally:
        loader.dispose()


def fast_one(text: str) -> Any:
    """One document as yaml-rs reads it with the fast path's options, or None if it refuses it."""
    try:
        return typed(yaml_rs.loads(text, parse_datetime=False))
    except (yaml_rs.YAMLDecodeError, ValueError):
        return None


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_the_fast_path_gives_the_pyyaml_readers_evidence_for_the_corpus(path: Path, tmp_path: Path) -> None:
    fast, pyyaml_path, tally = both_paths(path.read_text(encoding="utf-8"), tmp_path)
    assert fast == pyyaml_path
    assert tally.fast + tally.slow == fast[0]


def test_the_fast_path_reads_generated_manifests_with_yaml_rs_and_the_same_evidence(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    files = generated(tmp_path_factory)
    fast_builder, slow_builder, tally = EvidenceBuilder(), EvidenceBuilder(), fastyaml.Tally()
    for path in files:
        text = path.read_text(encoding="utf-8")
        fastyaml.read_text(fast_builder, text, path.as_posix(), read_yaml_pyyaml, tally)
        with path.open(encoding="utf-8") as stream:
            read_yaml_pyyaml(slow_builder, stream, path.as_posix())
    assert builder_state(fast_builder) == builder_state(slow_builder)
    assert tally.fast > 0.9 * (tally.fast + tally.slow)  # the generator's documents are plain (YAML 1.1 ones quoted)
    for path in files:  # and each document yaml-rs read is the reference reader's document
        for body in path.read_text(encoding="utf-8").split("\n---\n"):
            if not fastyaml.needs_pyyaml(body):
                assert fast_one(body) == typed(yaml.load(body, Loader=ReferenceLoader))  # noqa: S506 (a SafeLoader)


def test_read_offline_takes_the_fast_path_and_keeps_lines(tmp_path: Path) -> None:
    text = (
        "# leading comment\n\n"
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  namespace: team\n"
        "---\n# Source: chart/templates/sa.yaml\n\n"
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: b\n  namespace: team\n"
        "automountServiceAccountToken: false\n"
        "--- # a comment after the marker\n"
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: c, namespace: team}\nautomountServiceAccountToken: on\n"
        "---\n"
    )
    fast, pyyaml_path, tally = both_paths(text, tmp_path)
    assert fast == pyyaml_path
    assert (tally.fast, tally.slow) == (3, 1)  # flow style and `on` (YAML 1.1): that document is PyYAML's
    accounts = fast[1]["sections"]["serviceaccounts"]
    assert [(a["metadata"]["name"], a["source"]["line"], a["source"]["doc"]) for a in accounts] == [
        ("a", 3, 1),
        ("b", 11, 2),
        ("c", 18, 3),
    ]
    assert fast[0] == 4  # the trailing `---` opens an empty document


YAML_11 = [  # YAML 1.1 scalars, and others the two readers might read differently
    "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "n", "0644", "08", "0o17",
    "0X1F", "0x1F", "0b101", "1_000", "_1", "1:20", "190:20:30", "1:20.5", "1e5", "1E5", "1.5e3", "1.5e+3", "-.5",
    "+.5", "+1", ".inf", "-.inf", ".nan", "NaN", "=", "2001-12-14 21:59:43.10 -5", "2024-5-1", "1.", "00.5", "<<",
]  # fmt: skip


@pytest.mark.parametrize("scalar", YAML_11)
def test_the_pre_scan_sends_yaml_1_1_scalars_to_pyyaml(scalar: str) -> None:
    for text in (f"k: {scalar}\n", f"- {scalar}\n", f"{scalar}: v\n", f"a:\n  - b: {scalar}  # c\n"):
        assert fastyaml.needs_pyyaml(text), text


SAFE_TEXTS = [
    "k: nginx\n", "k: 1\n", "k: -3\n", "k: 1.5\n", "k: true\n", "k: false\n", "k: null\n", "k: ~\n", "k:\n",
    "k: 100m\n", "k: 1.5Gi\n", "k: 10.0.0.1\n", "k: v1.2.3\n", "k: '0644'\n", 'k: "yes"\n', "k: --flag=on\n",
    "k: 2024-05-01\n", "k: 2024-05-01T10:00:00Z\n", "k: 0000038a-5f2c-4b7a-9c1d-00000000038a\n", "k: {}\n",
    "k: []\n", "k: |\n  x\n", "k: >-\n  folded\n  text\n", "nodeName: x\n", "k: 'multi\n\n  line'\n",
    'k: "esc \\n \\" \\x41 \\u00e9 \\/"\n', "k: no-cache\n", "k: on call\n", "k: x#y  # comment\n",
]  # fmt: skip


@pytest.mark.parametrize("text", SAFE_TEXTS)
def test_plain_documents_are_read_by_yaml_rs_as_pyyaml_reads_them(text: str) -> None:
    assert not fastyaml.needs_pyyaml(text)
    assert fast_one(text) == reference_one(text)


NS = "apiVersion: v1\nkind: Namespace\n"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
)
HOSTILE = {
    "alias bomb": "kind: Pod\nmetadata: {name: p}\n" + BOMB + "\n",
    "recursive alias": "kind: Pod\nspec: &a\n  x: *a\n",
    "merge keys": "kind: ConfigMap\nmetadata:\n  labels: &l {a: b}\n  annotations:\n    <<: *l\n",
    "huge scalar": CM + "data:\n  k: " + "x" * 3_000_000 + "\n",
    "deep flow": "kind: Pod\nspec: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep block": "kind: Pod\nspec:\n" + "".join(" " * i + f"k{i}:\n" for i in range(600)) + " " * 600 + "x: 1\n",
    "many lines, few nodes": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: 'x\n"
    + "    w\n" * 60_000
    + "    z'\n",
    "deep dashes": "kind: Pod\nspec:\n" + "- " * 100_000 + "x\n",  # yaml-rs overflows its stack on this one
    "tabs": "kind: Pod\nmetadata:\n\tname: p\n",
    "tab in a value": NS + "metadata: {name: 'a\tb'}\n",
    "BOM": "\ufeff" + NS + "metadata: {name: n}\n",
    "CRLF": (NS + "metadata: {name: n}\n---\n" + NS + "metadata:\n  name: m\n").replace("\n", "\r\n"),
    "document end markers": NS + "metadata: {name: n}\n...\n---\n" + NS + "metadata: {name: m}\n...\n",
    "JSON documents": '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}\n---\n'
    '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"s","namespace":"n"},'
    '"automountServiceAccountToken":false}\n',
    "directives": "%YAML 1.1\n%TAG !e! tag:example.com,2000:\n---\n" + NS + "metadata: {name: !e!x n}\n",
    "tags": CM.replace("{name: c}", "{name: !!str 0644, namespace: !custom n}") + "data: !!map {a: !!str yes}\n",
    "flow style": "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: n}\n"
    "spec: {hostPID: yes, containers: [{name: c, image: i, securityContext: {privileged: on}}]}\n",
    "duplicate key": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  hostPID: false\n",
    "duplicate key in an unused kind": "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\n"
    "subsets:\n  a: 1\n  a: 2\n",
    "duplicate keys 1 and 1.0": CM + "data:\n  1: a\n  1.0: b\n",
    "long key": CM + "data:\n  " + "k" * 1100 + ": v\n",
    "empty block scalar": CM + "data:\n  a: |\n\n  b: x\n",
    "block scalar at the end without a line feed": CM + "data:\n  a: |\n    x",
    "content after the marker": "--- {apiVersion: v1, kind: Namespace, metadata: {name: n}}\n--- |\n  text\n",
    "List with items": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n"
    "  metadata: {name: n}\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: s, namespace: n}\n",
    "comments only": "# nothing\n\n# here\n",
    "empty documents": "---\n---\n# c\n---\n" + NS + "metadata: {name: n}\n",
    "NUL byte": NS + 'metadata: {name: "a\x00"}\n',
    "control character": NS + "metadata: {name: a\x1bb}\n",
    "line separator": NS + "metadata: {name: a\u2028b}\n",
    "invalid YAML after good documents": NS + "metadata: {name: n}\n---\na: b: c\n",
    "unterminated quote across a marker": NS + "metadata: {name: 'n}\n---\nx: 1\n",
    "indentation error": "apiVersion: v1\nkind: Pod\nspec:\n  a: 1\n b: 2\n",
    "complex key": CM + "data:\n  ? [a, b]\n  : c\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_inputs_read_as_the_pyyaml_reader_reads_them(name: str, tmp_path: Path) -> None:
    fast, pyyaml_path, _ = both_paths(HOSTILE[name], tmp_path)
    assert fast == pyyaml_path


@pytest.mark.parametrize("name", ["alias bomb", "deep dashes", "duplicate key", "long key", "tabs"])
def test_hostile_inputs_end_in_a_file_line_error(name: str, tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(HOSTILE[name], encoding="utf-8")
    with pytest.raises(CollectionError, match=r"h\.yaml:\d+: invalid YAML: "):
        read_offline(EvidenceBuilder(), "manifests", str(path))


def test_yaml_rs_refuses_what_libyaml_refuses_where_the_pre_scan_relies_on_it() -> None:
    for length in (1023, 1024, 1025, 2000):  # the longest implicit key: the same limit (no pre-scan for it)
        for text in (f"{'k' * length}: 1\n", f"a:\n  - {'k' * length}: 1\n"):
            assert (fast_one(text) is None) == (reference_one(text)[0] == "error"), (length, text[-12:])
    for text in ("a: 1\na: 2\n", "a: {b: 1, b: 2}\n", "'a': 1\na: 2\n"):  # duplicate keys
        assert fast_one(text) is None


_WORDS = st.sampled_from(
    ["a", "name", "nginx", "x-y", "1", "0", "-3", "1.5", "true", "false", "null", "~", "100m", "1.5Gi", "10.0.0.1",
     "v1", "'x'", '"y"', "2024-05-01", "--flag=1", "-x", "_a", "'yes'", '"0644"', "x#y", "1 # c", "", "{}", "[]",
     "é", "a b", "|", ">-", "|+", *YAML_11]
)  # fmt: skip
_PLAIN = st.sampled_from(
    ["a", "name", "nginx", "x-y", "1", "-3", "1.5", "true", "null", "100m", "1.5Gi", "v1", "'x'", '"y"', "-x", "", "é"]
)  # fmt: skip
_TOKENS = st.text(alphabet=st.sampled_from("yYnNoO01.-+_:e ~x'\"#[]{},&*!|>\\"), min_size=1, max_size=5)


@st.composite
def _documents(draw: st.DrawFn, depth: int = 0, indent: int = 0, risky: bool | None = None) -> str:
    """A small block-style document: plain pieces only, or mixed with YAML 1.1 and broken ones, mutated."""
    risky = draw(st.booleans()) if risky is None else risky
    words = st.one_of(_PLAIN, _WORDS, _TOKENS) if risky else _PLAIN
    pad = " " * indent
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        key = draw(words).replace("\n", " ")
        if depth < 3 and draw(st.booleans()):
            child = draw(_documents(depth + 1, indent + draw(st.sampled_from([1, 2, 4])), risky))
            lines.append(f"{pad}{'- ' if draw(st.booleans()) else ''}{key}:\n{child}")
        else:
            value = draw(words)
            tail = "".join(
                f"\n{pad}  {draw(st.sampled_from(['x', '', 'y z', '#c']))}" for _ in range(draw(st.integers(0, 2)))
            )
            lines.append(f"{pad}{key}: {value}{tail}")
    text = "\n".join(lines) + "\n"
    if depth == 0 and risky and draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(["", " ", "\n", ":", "- ", "'", '"', "#", "\n  ", ": ", "\\"]))
            + text[at + draw(st.integers(0, 2)) :]
        )
    return text


@settings(max_examples=3000, derandomize=True, database=None, deadline=None)
@given(_documents())
def test_whatever_the_pre_scan_lets_through_yaml_rs_reads_as_pyyaml(text: str) -> None:
    if fastyaml.needs_pyyaml(text) or not text.endswith("\n"):
        return
    fast = fast_one(text)
    if fast is not None:  # yaml-rs refusing a document sends it to PyYAML
        assert fast == reference_one(text)


def test_a_file_larger_than_the_fast_paths_limit_is_streamed_by_pyyaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (CORPUS / "goat-style.yaml").read_text(encoding="utf-8")
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    small, large = EvidenceBuilder(), EvidenceBuilder()
    read_offline(small, "manifests", str(path))
    monkeypatch.setattr(fastyaml, "MAX_TEXT", 100)  # the limit (64 Mi characters) made small, not the reader
    read_offline(large, "manifests", str(path))
    assert builder_state(large) == builder_state(small)
    path.write_text(text.replace("      hostNetwork: on\n", "      hostPID: no\n"), encoding="utf-8")
    with pytest.raises(CollectionError, match=r"big\.yaml:23: .*duplicate key 'hostPID'"):
        read_offline(EvidenceBuilder(), "manifests", str(path))
    path.write_text(text + "x: \x00\n", encoding="utf-8")
    with pytest.raises(CollectionError, match=r'in ".*big\.yaml", position'):
        read_offline(EvidenceBuilder(), "manifests", str(path))


def test_a_document_long_enough_to_hold_a_million_nodes_is_pyyamls(tmp_path: Path) -> None:
    # 50,000 lines or more: the PyYAML path counts the nodes against MAX_OBJECT_NODES as before
    fast, pyyaml_path, tally = both_paths(HOSTILE["many lines, few nodes"], tmp_path)
    assert fast == pyyaml_path
    assert (tally.fast, tally.slow) == (0, 1)
    fast, pyyaml_path, tally = both_paths(
        HOSTILE["many lines, few nodes"].replace("    w\n" * 60_000, "    w\n" * 40_000), tmp_path
    )
    assert fast == pyyaml_path
    assert (tally.fast, tally.slow) == (1, 0)


def test_mutated_real_documents_the_pre_scan_lets_through_read_alike(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Seeded mutations of real-shaped documents: wherever yaml-rs reads one, PyYAML reads the same."""
    import random

    bodies = [
        body
        for path in [*generated(tmp_path_factory)[:8], *CORPUS_FILES]
        for body in path.read_text(encoding="utf-8").split("\n---\n")
        if body.strip()
    ]
    pieces = ["", " ", "\n", ":", ": ", "- ", "\n- ", "'", '"', "#", " #", "\n  ", "a", "1", "0", "yes", "on", "|", ">",
              "[", "{", ",", "\\", "?", "0644", "1e3", "1:20", "~", "_1", "<<", "&", "*", "!", "\t"]  # fmt: skip
    rng = random.Random(15)
    compared = 0
    for _ in range(3000):
        text = rng.choice(bodies)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(pieces) + text[at + rng.randint(0, 3) :]
        text = text if text.endswith("\n") else text + "\n"
        if fastyaml.needs_pyyaml(text):
            continue
        fast = fast_one(text)
        if fast is not None:
            compared += 1
            assert fast == reference_one(text), text
    assert compared > 300  # the comparison really ran
