"""`sovscan doctor` for Kubernetes: the printed ClusterRole.

The authorising server here is the suite's HTTP stand-in (tests/services/kubeapi.py) with RBAC rule
evaluation, spoken to by the real `kubernetes` client: the real kube-apiserver fixture
(tests/services/kubeapi_real.py) is used by test_doctor_kube_real.py; this file covers the RBAC-evaluating stand-in.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from checks.kubernetes.grants import least_privilege_yaml
from checks.kubernetes.kinds import KINDS
from checks.kubernetes.plugin import PLUGIN
from scanner import doctor, engine
from scanner.baseline import BaselineLibrary
from scanner.interface import Target
from scanner.model import Status
from scanner.plugins import discover
from tests.kubernetes.test_k8s_live import TOKEN, sample_cluster
from tests.services.kubeapi import KubeAPIServer, write_kubeconfig

from .conftest import ROOT


def target_for(server: KubeAPIServer, tmp_path: Path) -> Target:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url, token=TOKEN, context="test")
    base = PLUGIN.parse_target("test")
    return replace(base, options={"kubeconfig": str(kubeconfig)})


def rules_of(grants: str) -> list[dict[str, object]]:
    documents = list(yaml.safe_load_all(grants))
    (role,) = [d for d in documents if d["kind"] == "ClusterRole"]
    binding = next(d for d in documents if d["kind"] == "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    rules: list[dict[str, object]] = role["rules"]
    return rules


def test_the_printed_clusterrole_makes_the_next_scan_free_of_permission_errors(tmp_path: Path) -> None:
    registry = discover()
    library = BaselineLibrary(registry)
    only_namespaces = [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list"]}]
    with KubeAPIServer(sample_cluster(), token=TOKEN, rules=only_namespaces) as server:
        (before,) = doctor.diagnose([target_for(server, tmp_path)], registry, library)
    assert not before.complete and before.unreadable and before.error_controls
    assert "namespaces" in before.read
    rules = rules_of(before.grants or "")
    with KubeAPIServer(sample_cluster(), token=TOKEN, rules=rules) as server:
        target = target_for(server, tmp_path)
        (after,) = doctor.diagnose([target], registry, library)
        result = engine.run_scan([target], registry, library)
        asked = {(r.method, r.path.split("?")[0]) for r in server.requests}
    # sections no enabled control needs (services, webhook configurations) stay unreadable: least privilege
    assert not set(after.unreadable) & set(after.needed)
    assert after.error_controls == {} and after.complete
    assert [f for f in result.findings if f.status is Status.ERROR] == []
    assert not any("secrets" in path for _, path in asked)


def test_every_rule_is_read_only_and_never_names_secrets() -> None:
    rules = rules_of(least_privilege_yaml(["pods", "deployments", "kubeletconfig", "version", "controlplane"]))
    for rule in rules:
        assert set(rule["verbs"]) == ({"get"} if "resourceNames" in rule or "nonResourceURLs" in rule else {"list"})
        assert "secrets" not in rule.get("resources", [])  # type: ignore[operator]
        assert "*" not in str(rule)


def test_with_every_needed_section_it_is_the_shipped_example_clusterrole_minus_unneeded_kinds() -> None:
    registry = discover()
    library = BaselineLibrary(registry)
    sections: dict[str, None] = {}
    for control in library.load("kubernetes").controls:
        spec = registry.checks[control.check]
        sections.update(dict.fromkeys(spec.sections_visible(control.params)))
    generated = rules_of(least_privilege_yaml(sections))
    example = next(
        d
        for d in yaml.safe_load_all((ROOT / "examples" / "kubernetes" / "rbac.yaml").read_text())
        if d and d["kind"] == "ClusterRole"
    )

    def normal(rules: list[dict[str, object]]) -> set[tuple[object, ...]]:
        out = set()
        for rule in rules:
            for resource in rule.get("resources", [None]) or [None]:  # type: ignore[union-attr]
                out.add(
                    (
                        tuple(rule.get("apiGroups", ())),
                        resource,
                        tuple(sorted(rule["verbs"])),  # type: ignore[arg-type]
                        tuple(rule.get("resourceNames", ())),
                        tuple(rule.get("nonResourceURLs", ())),
                    )
                )  # type: ignore[arg-type]
        return out

    extra = normal(example["rules"]) - normal(generated)
    assert normal(generated) <= normal(example["rules"])
    # the example also grants kinds the collector lists but no shipped control needs
    unneeded = {k.resource for k in KINDS if k.section not in sections}
    assert {item[1] for item in extra} == unneeded
