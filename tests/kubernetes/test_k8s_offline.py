"""Offline input: manifests (multi-document YAML, Lists, directories) and `kubectl get -o json` dumps."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from checks.kubernetes.offline import JsonStream
from checks.kubernetes.plugin import PLUGIN, parse_value
from scanner.errors import CollectionError, ConfigError
from scanner.interface import Target
from scanner.model import Evidence, Status
from tests.kubernetes.k8s_objects import (
    container,
    evaluate,
    good_spec,
    sample_cluster,
    secret,
    workload,
    write_manifests,
)
from tests.services.kubeapi import KubeAPIServer, write_kubeconfig

HELM_OUTPUT = """\
---
# Source: shop/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shop
---
# Source: shop/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: shop-db
stringData:
  password: hunter2-do-not-keep
---
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels: {version: 2024-01-01}
spec:
  template:
    spec:
      containers:
        - name: shop
          image: shop:1.2
          env:
            - {name: PASSWORD, value: plain-text-value}
            - name: DB
              valueFrom: {secretKeyRef: {name: shop-db, key: password}}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata:
      name: shop
  - apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: report
      namespace: shop
    spec:
      jobTemplate:
        spec:
          template:
            spec:
              containers:
                - name: report
                  image: report:latest
                  securityContext: {privileged: true}
---
apiVersion: example.com/v1
kind: Deployment
metadata:
  name: not-a-real-deployment
"""


def offline(path: Path | str, mode: str = "manifests", **options: Any) -> Evidence:
    """Collect offline input through the plugin."""
    target = PLUGIN.parse_target(f"{mode}:{path}")
    return PLUGIN.collect(Target(id=target.id, kind=target.kind, url=target.url, options=options), {}, 30.0)


def test_helm_output_documents_lines_and_uris(tmp_path: Path) -> None:
    path = tmp_path / "rendered.yaml"
    path.write_text(HELM_OUTPUT)
    evidence = offline(path)
    [deployment] = evidence.sections["deployments"]
    assert deployment["metadata"] == {"name": "shop", "namespace": "default", "labels": {"version": "2024-01-01"}}
    assert deployment["source"] == {"file": path.as_posix(), "line": 18, "doc": 4}
    [cronjob] = evidence.sections["cronjobs"]
    assert cronjob["source"] == {"file": path.as_posix(), "line": 41, "doc": 5, "item": 2}
    assert evidence.metadata["ignored_kinds"] == {"Deployment": 1, "Secret": 1}
    dumped = json.dumps(dict(evidence.sections))
    assert "hunter2" not in dumped and "plain-text-value" not in dumped
    assert "secretKeyRef" in dumped  # the reference (not a value) is kept for K8S-21
    names = [ns["metadata"]["name"] for ns in evidence.sections["namespaces"]]
    assert names == ["shop", "default"]
    assert evidence.sections["namespaces"][1]["implicit"] is True

    findings = evaluate(evidence)
    [privileged] = [f for f in findings["K8S-13"] if f.status is Status.FAIL]
    assert privileged.resource.uri == f"k8s://rendered/ns/shop/CronJob/report?file={path.as_posix()}&doc=5&item=2"
    assert privileged.resource.location is not None
    assert (privileged.resource.location.path, privileged.resource.location.line) == (path.as_posix(), 41)
    [secret_env] = [f for f in findings["K8S-21"] if f.status is Status.FAIL]
    assert "env DB from secret shop-db" in secret_env.message
    assert {f.status for f in findings["K8S-24"]} == {Status.NOT_APPLICABLE}
    assert {f.status for f in findings["K8S-01"]} == {Status.NOT_APPLICABLE}
    assert {f.status for f in findings["K8S-06"]} == {Status.NOT_APPLICABLE}
    # the implicit namespace has no labels to judge; neither namespace's NetworkPolicies are in the
    # input, so the offline scan cannot say the namespaces lack a default deny (NOT_APPLICABLE, the reason said)
    assert {f.resource.name: f.status for f in findings["K8S-12"]} == {
        "shop": Status.FAIL,
        "default": Status.NOT_APPLICABLE,
    }
    assert {f.resource.name: f.status for f in findings["K8S-20"]} == {
        "shop": Status.NOT_APPLICABLE,
        "default": Status.NOT_APPLICABLE,
    }
    assert all("holds none of its NetworkPolicies" in f.message for f in findings["K8S-20"])


def test_directory_of_manifests(tmp_path: Path) -> None:
    (tmp_path / "app" / "nested").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    good = workload("Deployment", "good", good_spec(), "team-a")
    write_manifests(tmp_path / "app" / "good.yaml", [good])
    (tmp_path / "app" / "nested" / "bad.yml").write_text(
        json.dumps(workload("Deployment", "bad", good_spec(hostIPC=True), "team-a"))
    )
    (tmp_path / "app" / "list.json").write_text(json.dumps({"kind": "List", "items": [good]}))
    (tmp_path / ".git" / "skip.yaml").write_text("{{ not yaml")
    (tmp_path / "README.md").write_text("not read")
    (tmp_path / "app" / "values.yaml").write_text("replicas: 3\nimage: {tag: latest}\n")
    evidence = offline(tmp_path)
    assert evidence.metadata["files"] == 4
    sources = [d["source"]["file"] for d in evidence.sections["deployments"]]
    assert sources == [
        f"{tmp_path.as_posix()}/app/good.yaml",
        f"{tmp_path.as_posix()}/app/list.json",
        f"{tmp_path.as_posix()}/app/nested/bad.yml",
    ]
    findings = evaluate(evidence)
    by_file = {f.resource.uri.split("file=")[1]: f.status for f in findings["K8S-14"]}
    assert by_file[f"{tmp_path.as_posix()}/app/nested/bad.yml&doc=1"] is Status.FAIL
    assert by_file[f"{tmp_path.as_posix()}/app/good.yaml&doc=1"] is Status.PASS
    assert evidence.target == tmp_path.name


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: [unclosed\n")
    with pytest.raises(CollectionError) as raised:
        offline(path)
    assert raised.value.reason == CollectionError.PROTOCOL
    assert f"{path.as_posix()}:6" in str(raised.value)


def test_missing_path_is_unreachable(tmp_path: Path) -> None:
    with pytest.raises(CollectionError) as raised:
        offline(tmp_path / "nope")
    assert raised.value.reason == CollectionError.UNREACHABLE


def test_default_namespace_option(tmp_path: Path) -> None:
    path = write_manifests(
        tmp_path / "x.yaml", [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}]
    )
    evidence = offline(path, namespace="shop")
    assert evidence.sections["pods"][0]["metadata"]["namespace"] == "shop"


def test_json_dump_with_kindless_items_and_kind_after_items(tmp_path: Path) -> None:
    pod = {"metadata": {"name": "p1", "namespace": "a"}, "spec": {"hostPID": True, "containers": []}}
    dump = tmp_path / "pods.json"
    dump.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "items": [pod, pod | {"metadata": {"name": "p2", "namespace": "a"}}],
                "kind": "PodList",
                "metadata": {},
            },
            indent=2,
        )
    )
    evidence = offline(dump, "dump")
    assert [p["metadata"]["name"] for p in evidence.sections["pods"]] == ["p1", "p2"]
    assert [p["source"]["line"] for p in evidence.sections["pods"]] == [4, 14]
    [finding, _] = evaluate(evidence)["K8S-14"]
    assert finding.resource.uri == "k8s://pods/ns/a/Pod/p1"  # a dump URI equals the live one
    assert finding.resource.location is not None and finding.resource.location.line == 4


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_json_stream_matches_json_loads(chunk: int) -> None:
    objects = sample_cluster()
    texts = [
        json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": objects, "metadata": {"resourceVersion": ""}}, indent=4
        ),
        json.dumps(objects),
        "\n".join(json.dumps(o) for o in objects),
        json.dumps({"kind": "List", "items": []}) + json.dumps(objects[0]),
    ]
    for text in texts:
        found = [obj for obj, *_ in JsonStream(io.StringIO(text), "x", chunk=chunk).objects()]
        assert found == objects[: len(found)] and len(found) in (len(objects), 1)


def test_json_stream_reports_errors_with_line() -> None:
    text = '{"kind": "List", "items": [\n{"kind": "Pod"},\n{"kind": "Pod",,}\n]}'
    with pytest.raises(CollectionError) as raised:
        list(JsonStream(io.StringIO(text), "dump.json", chunk=4).objects())
    assert "dump.json:3" in str(raised.value)


def test_parse_target_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "all.json").write_text("{}")
    (tmp_path / "deploy").mkdir()
    assert parse_value("in-cluster") == ("in-cluster", "")
    assert parse_value("prod") == ("context", "prod")
    assert parse_value("arn:aws:eks:eu-west-1:123:cluster/prod") == (
        "context",
        "arn:aws:eks:eu-west-1:123:cluster/prod",
    )
    assert parse_value("all.json") == ("dump", "all.json")
    assert parse_value("deploy") == ("manifests", "deploy")
    assert parse_value("./rendered.yaml") == ("manifests", "./rendered.yaml")
    assert parse_value("dump:x.json") == ("dump", "x.json")
    target = PLUGIN.parse_target("arn:aws:eks:eu-west-1:123:cluster/prod")
    assert target.id == "arn-aws-eks-eu-west-1-123-cluster-prod" and target.url.startswith("context:")
    assert PLUGIN.parse_target("manifests:.").id == tmp_path.name
    with pytest.raises(ConfigError):
        PLUGIN.parse_target("manifests:")


def test_live_dump_and_manifests_give_the_same_findings(tmp_path: Path) -> None:
    init = container(name="i", securityContext={"runAsUser": 0})
    objects = [
        *sample_cluster(),
        workload("CronJob", "cj", good_spec(initContainers=[init]), "team-b"),
        secret("s", "team-b"),
    ]
    with KubeAPIServer(objects, token="t0k3n-abcdef") as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url, token="t0k3n-abcdef", context="same")
        live = PLUGIN.collect(
            Target(
                id="same",
                kind="kubernetes",
                url="context:same",
                options={"kubeconfig": str(kubeconfig), "page_size": 3},
            ),
            {},
            30.0,
        )
    (tmp_path / "same.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=1))
    dump = offline(tmp_path / "same.json", "dump")
    manifests_dir = tmp_path / "same"
    manifests_dir.mkdir()
    write_manifests(manifests_dir / "a.yaml", objects[:20])
    write_manifests(manifests_dir / "b.yaml", objects[20:])
    manifests = offline(manifests_dir)
    assert live.target == dump.target == manifests.target == "same"

    def summary(evidence: Evidence, strip_query: bool) -> set[tuple[str, str, str]]:
        found = set()
        for control_id, findings in evaluate(evidence).items():
            if control_id in ("K8S-24",):  # the server version exists only live
                continue
            for f in findings:
                if control_id == "K8S-20" and f.resource.uri.split("?")[0].endswith("/Namespace/team-b"):
                    # offline input holding none of a namespace's NetworkPolicies does not judge it
                    expected = "FAIL" if evidence is live else "NOT_APPLICABLE"
                    assert f.status.value == expected, (evidence.metadata["mode"], f)
                    continue
                uri = f.resource.uri.split("?")[0] if strip_query else f.resource.uri
                found.add((control_id, uri, f.status.value))
        return found

    live_findings = summary(live, False)
    assert summary(dump, False) == live_findings
    assert summary(manifests, True) == live_findings
    assert ("K8S-16", "k8s://same/ns/team-b/CronJob/cj", "FAIL") in live_findings
    assert ("K8S-13", "k8s://same/ns/team-b/Deployment/legacy", "FAIL") in live_findings
    live_sections = {k: v for k, v in live.sections.items() if k != "version"}
    dump_sections = json.loads(json.dumps({k: v for k, v in dump.sections.items() if k != "version"}))
    for section in dump_sections.values():
        for obj in section if isinstance(section, list) else []:
            obj.pop("source", None)
    for component in ("apiserver", "controller-manager"):
        for entry in dump_sections["controlplane"][component]:
            entry.pop("source", None)
    dump_sections["kubeletconfig"].pop("source", None)
    dump_sections["namespaces"] = [n for n in dump_sections["namespaces"] if not n.get("implicit")]
    # what only offline input has: the kinds it held but sovscan does not evaluate, and whether
    # control-plane configuration files could have been part of it
    assert dump_sections.pop("inputs") == {"invalid": [], "unevaluated_kinds": {"ConfigMap": 2, "Secret": 2}}
    assert live_sections["inputs"] == {"invalid": [], "unevaluated_kinds": {}}
    live_sections = {k: v for k, v in live_sections.items() if k != "inputs"}
    assert dump_sections["controlplane"].pop("configs_visible") is True
    assert live_sections["controlplane"]["configs_visible"] is False
    live_sections["controlplane"] = {k: v for k, v in live_sections["controlplane"].items() if k != "configs_visible"}
    assert dump_sections == json.loads(json.dumps(live_sections))


YAML_FEATURES = """\
base: &base {cpu: 1, memory: 1Gi}
merged:
  <<: *base
  memory: 2Gi
alias: *base
ints: [0, 42, 0x1F, 0o17, -7, +3, 1_000]
floats: [1.5, -0.5, .inf, 1e3]
bools: [yes, no, true, False, on, OFF, y, n]
nulls: [~, null, ]
strings: ["42", 'true', plain text, "with: colon", 2026-01-01x]
timestamp: 2026-01-01T00:00:00Z
date: 2026-01-01
nested: {a: [{b: [1, {c: d}]}], "quoted key": v}
empty_map: {}
empty_list: []
block: |
  line 1
  line 2
"""


def test_node_converter_matches_safe_load() -> None:
    import yaml

    from checks.kubernetes.offline import FastLoader, NodeConverter

    expected = yaml.safe_load(YAML_FEATURES)
    expected["timestamp"] = "2026-01-01T00:00:00Z"  # timestamps stay text (JSON-safe)
    expected["date"] = "2026-01-01"
    loader = FastLoader(io.StringIO(YAML_FEATURES))
    try:
        converted = NodeConverter().convert(loader.get_single_node())
    finally:
        loader.dispose()
    assert converted == expected
    for obj in sample_cluster():
        text = yaml.safe_dump(obj)
        loader = FastLoader(io.StringIO(text))
        try:
            node = loader.get_single_node()
            assert NodeConverter().convert(node) == yaml.safe_load(text)
        finally:
            loader.dispose()


def test_recursive_yaml_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: &m\n  name: x\n  self: *m\n")
    with pytest.raises(CollectionError) as raised:
        offline(path)
    assert "loop.yaml" in str(raised.value)


def test_cli_sarif_points_at_the_manifest_file_and_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "web.yaml").write_text(HELM_OUTPUT)
    sarif = tmp_path / "out.sarif"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "sovscan"),
            "scan",
            "--target",
            "kubernetes=manifests:deploy",
            "-f",
            f"sarif={sarif}",
            "--fail-on",
            "critical",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # K8S-13 (critical) fails on the CronJob
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    [privileged] = [r for r in results if r["ruleId"] == "K8S-13"]
    physical = privileged["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"].endswith("deploy/web.yaml")
    assert physical["region"]["startLine"] == 41
    logical = privileged["locations"][0]["logicalLocations"][0]
    assert logical["fullyQualifiedName"] == "k8s://deploy/ns/shop/CronJob/report?file=deploy/web.yaml&doc=5&item=2"


def test_saved_evidence_re_evaluates_to_the_same_findings(tmp_path: Path) -> None:
    from scanner import evidence as evidence_io

    manifests = write_manifests(tmp_path / "cluster.yaml", sample_cluster())
    evidence = offline(manifests)
    evidence_io.save(tmp_path / "saved", evidence)
    [(reloaded, _)] = evidence_io.load_directory(tmp_path / "saved").items

    def summary(ev: Evidence) -> list[tuple[str, str, str, int | None]]:
        return sorted(
            (cid, f.resource.uri, f.status.value, f.resource.location.line if f.resource.location else None)
            for cid, fs in evaluate(ev).items()
            for f in fs
        )

    assert summary(reloaded) == summary(evidence)
    assert "c3VwZXJzZWNyZXQtdmFsdWU" not in next((tmp_path / "saved").glob("*.json")).read_text()


def test_cli_reads_manifests_from_standard_input(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "result.json"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "sovscan"), "scan", "--target", "kubernetes=manifests:-",
         "-f", f"json={out}", "--fail-on", "none"],
        input=HELM_OUTPUT, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    findings = json.loads(out.read_text())["findings"]
    privileged = [f for f in findings if f["control_id"] == "K8S-13" and f["status"] == "FAIL"]
    assert [f["resource"]["uri"] for f in privileged] == [
        "k8s://stdin/ns/shop/CronJob/report?file=%3Cstdin%3E&doc=5&item=2"
    ]
