"""The YAML semantics sovscan's manifest reader keeps, pinned over a corpus of real-shaped manifests.

The fast reader (libyaml's parser, a memoised resolver, C built-ins for the no-op resolver
hooks and a converter of its own) must give the same documents as PyYAML's reference
SafeLoader, with one chosen difference: timestamps stay text (JSON-safe). The corpus is the
repository's own manifests (`examples/kubernetes`), the benchmark generator's output, and the
hand-written excerpts in `tests/data/k8s-corpus` in the shapes of kubernetes-goat, ingress-nginx
and kube-prometheus manifests. Any parser swapped in later has to pass the same tests.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.kubernetes.offline import FastLoader, NodeConverter, read_offline
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
