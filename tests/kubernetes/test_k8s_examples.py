"""examples/kubernetes/: the read-only ClusterRole matches what the collector reads; the examples pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.kubernetes.kinds import KINDS, NAMED_GETS, NON_RESOURCE_URLS, READS
from checks.kubernetes.plugin import PLUGIN
from scanner.model import Status
from tests.kubernetes.k8s_objects import evaluate

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "kubernetes"


def documents() -> list[dict[str, Any]]:
    """Every YAML document of the examples."""
    found: list[dict[str, Any]] = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        found.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return found


def cluster_role() -> dict[str, Any]:
    """The example ClusterRole."""
    [role] = [d for d in documents() if d["kind"] == "ClusterRole"]
    return role


def grants(rules: list[dict[str, Any]]) -> Iterator[tuple[str, str, str, str | None]]:
    """(verb, apiGroup, resource or URL, resourceName) for every permission the rules grant."""
    for rule in rules:
        for verb in rule["verbs"]:
            for url in rule.get("nonResourceURLs", ()):
                yield verb, "", url, None
            for group in rule.get("apiGroups", ()):
                for resource in rule.get("resources", ()):
                    for name in rule.get("resourceNames") or [None]:
                        yield verb, group, resource, name


def test_cluster_role_grants_exactly_what_the_collector_reads() -> None:
    expected: set[tuple[str, str, str, str | None]]
    expected = {(verb, group, resource, None) for group, resource, _ in READS for verb in ("list",)}
    expected |= {("get", group, resource, name) for group, resource, name in NAMED_GETS}
    expected |= {("get", "", url, None) for url in NON_RESOURCE_URLS}
    granted = list(grants(cluster_role()["rules"]))
    assert len(granted) == len(set(granted))
    assert set(granted) == expected
    text = yaml.safe_dump(cluster_role())
    assert "secrets" not in text and "'*'" not in text and "watch" not in text
    assert {r for _, r, _ in READS} == {k.resource for k in KINDS}


# That the collector needs nothing beyond the example ClusterRole, uses all of it, and that a
# missing rule is a named permission error, is proven on a real API server with real RBAC:
# test_k8s_apiserver_rbac.py::test_the_example_role_is_exactly_what_the_collector_uses and
# test_k8s_apiserver_live.py::test_a_kind_the_scanner_may_not_list_is_an_error_naming_it.


def test_examples_pass_their_own_baseline() -> None:
    target = PLUGIN.parse_target(f"manifests:{EXAMPLES}")
    evidence = PLUGIN.collect(target, {}, 30.0)
    findings = evaluate(evidence)
    failing = [(cid, f.resource.uri, f.message) for cid, fs in findings.items() for f in fs if f.status is Status.FAIL]
    assert failing == []
    for control_id in ["K8S-08", "K8S-09", "K8S-11", "K8S-12", "K8S-13", "K8S-16", "K8S-17", "K8S-20", "K8S-22"]:
        assert Status.PASS in {f.status for f in findings[control_id]}, control_id
    kinds = {f.resource.kind for fs in findings.values() for f in fs}
    assert {"CronJob", "Job", "ClusterRole", "Namespace"} <= kinds


@pytest.mark.parametrize("name", ["rbac.yaml", "cronjob.yaml", "indexed-job.yaml"])
def test_examples_are_valid_yaml_with_line_numbers(name: str) -> None:
    assert all(node is not None for node in yaml.compose_all((EXAMPLES / name).read_text()))
    inventory_map = [d for d in documents() if d["kind"] == "ConfigMap"]
    inventory = yaml.safe_load(inventory_map[0]["data"]["targets.yaml"])
    assert inventory["kind"] == "Inventory" and len(inventory["targets"]) == 6
    [job] = [d for d in documents() if d["kind"] == "Job"]
    assert job["spec"]["completionMode"] == "Indexed"
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--shard=$(JOB_COMPLETION_INDEX)/{job['spec']['completions']}" in args


def test_inventory_of_the_indexed_job_loads_and_shards(tmp_path: Path) -> None:
    from scanner.inventory import load_inventory, shard
    from tests.kubernetes.k8s_objects import registry

    [config_map] = [d for d in documents() if d["kind"] == "ConfigMap"]
    path = tmp_path / "targets.yaml"
    path.write_text(config_map["data"]["targets.yaml"])
    inventory = load_inventory(path, registry())
    shards = [shard(inventory.targets, index, 3) for index in range(3)]
    assert sorted(t.id for s in shards for t in s) == sorted(t.id for t in inventory.targets)
    assert all(len(s) == 2 for s in shards)
    assert inventory.targets[0].options["kubeconfig"] == "/etc/sovscan-kube/config"


def test_inventory_options_are_validated(tmp_path: Path) -> None:
    from scanner.errors import ConfigError
    from scanner.inventory import load_inventory
    from tests.kubernetes.k8s_objects import registry

    path = tmp_path / "targets.yaml"
    path.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        "  - {kind: kubernetes, url: 'context:prod', options: {kubeconfig: /k, page_size: 200}}\n"
        "  - {kind: kubernetes, url: 'manifests:./deploy', options: {page_size: 0}}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_inventory(path, registry())
    assert "unknown option 'page_size'" in str(raised.value) and ":5" in str(raised.value)
