"""Namespace- and cluster-level checks: Pod Security admission, default-deny policies, Ingress TLS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks.kubernetes.common import (
    EXCLUDE_NAMESPACES_PARAM,
    matches,
    namespaces_in_scope,
    nothing_found,
    object_resource,
    target_resource,
)
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status

PSS_LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
"""Pod Security Standards levels, least to most restrictive."""

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
"""The namespace label that makes Pod Security admission enforce a level."""

_STRINGS = {"type": "array", "items": {"type": "string"}}


@check(
    "kubernetes.pod_security_admission",
    needs=("namespaces", "validatingwebhookconfigurations"),
    params={
        "exclude_namespaces": EXCLUDE_NAMESPACES_PARAM,
        "min_level": {"enum": list(PSS_LEVELS), "description": "Lowest acceptable enforced level."},
        "policy_engine_webhooks": {
            **_STRINGS,
            "description": "Validating webhooks (globs) of a policy engine accepted instead of the label.",
        },
    },
)
def pod_security_admission(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Every application namespace enforces a Pod Security Standard level (label), or a policy engine does."""
    minimum = str(params.get("min_level", "baseline"))
    engines = [
        str(hook["metadata"]["name"])
        for hook in evidence.section("validatingwebhookconfigurations")
        if matches(str(hook["metadata"]["name"]), params.get("policy_engine_webhooks", []))
    ]
    results = []
    for namespace in namespaces_in_scope(evidence, params):
        resource = object_resource(evidence, "Namespace", namespace)
        if namespace.get("implicit"):
            message = f"namespace {resource.name} is used but its Namespace object is not in the input; labels unknown"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message))
            continue
        level = (namespace["metadata"].get("labels") or {}).get(ENFORCE_LABEL)
        expected = f"{ENFORCE_LABEL} >= {minimum}"
        if level in PSS_LEVELS and PSS_LEVELS[level] >= PSS_LEVELS[minimum]:
            results.append(CheckResult(resource, Status.PASS, f"enforces Pod Security '{level}'", level, expected))
        elif level is None and engines:
            message = (
                f"no {ENFORCE_LABEL} label; policy engine webhook {', '.join(engines)} is present "
                "(its policies are not verified)"
            )
            results.append(CheckResult(resource, Status.PASS, message, None, expected))
        else:
            shown = f"'{level}'" if level is not None else "no level (label absent)"
            message = f"namespace {resource.name} enforces {shown}; expected at least '{minimum}'"
            results.append(CheckResult(resource, Status.FAIL, message, level, expected))
    if not results:
        return [CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, "no namespace in scope")]
    return results


def _selects_all(selector: Any) -> bool:
    return not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions"))


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    types = spec.get("policyTypes")
    if types:
        return [str(t) for t in types]
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def default_deny_types(policy: Mapping[str, Any]) -> set[str]:
    """The directions (Ingress/Egress) a NetworkPolicy denies by default for every pod of its namespace."""
    spec = policy.get("spec") or {}
    if not _selects_all(spec.get("podSelector")):
        return set()
    return {t for t in _policy_types(spec) if not spec.get(t.lower())}


@check(
    "kubernetes.default_deny",
    needs=("namespaces", "networkpolicies"),
    params={
        "exclude_namespaces": EXCLUDE_NAMESPACES_PARAM,
        "policy_types": {
            "type": "array",
            "items": {"enum": ["Ingress", "Egress"]},
            "minItems": 1,
            "description": "Directions that need a default-deny policy.",
        },
    },
)
def default_deny(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Every application namespace has a NetworkPolicy selecting all pods with no allow rule (default deny)."""
    required = list(params.get("policy_types", ["Ingress", "Egress"]))
    denied: dict[str, set[str]] = {}
    for policy in evidence.section("networkpolicies"):
        namespace = str(policy["metadata"].get("namespace", "default"))
        denied.setdefault(namespace, set()).update(default_deny_types(policy))
    results = []
    expected = f"a podSelector: {{}} policy denying {' and '.join(required)}"
    for namespace_obj in namespaces_in_scope(evidence, params):
        name = str(namespace_obj["metadata"]["name"])
        resource = object_resource(evidence, "Namespace", namespace_obj)
        missing = [t for t in required if t not in denied.get(name, set())]
        if missing:
            message = f"namespace {name} has no default-deny NetworkPolicy for {' and '.join(missing)}"
            results.append(CheckResult(resource, Status.FAIL, message, sorted(denied.get(name, set())), expected))
        else:
            results.append(CheckResult(resource, Status.PASS, f"default deny for {' and '.join(required)}"))
    if not results:
        return [CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, "no namespace in scope")]
    return results


def host_covered(host: str, tls_hosts: list[str]) -> bool:
    """True when a TLS host list covers `host` (exactly, or by a one-label wildcard)."""
    if host in tls_hosts:
        return True
    _, dot, parent = host.partition(".")
    return bool(dot) and f"*.{parent}" in tls_hosts


@check("kubernetes.ingress_tls", needs=("ingresses",), params={"exclude_namespaces": EXCLUDE_NAMESPACES_PARAM})
def ingress_tls(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Every Ingress serves TLS for every host it routes."""
    excluded = list(params.get("exclude_namespaces", []))
    results = []
    for ingress in evidence.section("ingresses"):
        if matches(str(ingress["metadata"].get("namespace")), excluded):
            continue
        spec = ingress.get("spec") or {}
        resource = object_resource(evidence, "Ingress", ingress)
        tls = spec.get("tls") or []
        tls_hosts = [h for entry in tls for h in entry.get("hosts") or ()]
        default_cert = any(not entry.get("hosts") for entry in tls)
        hosts = [str(rule.get("host") or "") for rule in spec.get("rules") or ()]
        if not hosts and spec.get("defaultBackend"):
            hosts = [""]
        uncovered = sorted(
            {h or "(any host)" for h in hosts if not (host_covered(h, tls_hosts) if h else default_cert)}
        )
        if not tls:
            shown = ", ".join(sorted({h or "(any host)" for h in hosts})) or "its routes"
            message = f"Ingress {resource.name} has no TLS section: {shown} served over plain HTTP"
            results.append(CheckResult(resource, Status.FAIL, message, hosts, "spec.tls covering every host"))
        elif uncovered:
            message = f"Ingress {resource.name}: no TLS for {', '.join(uncovered)}"
            results.append(CheckResult(resource, Status.FAIL, message, tls_hosts, "spec.tls covering every host"))
        else:
            results.append(CheckResult(resource, Status.PASS, "TLS for every host", tls_hosts))
    if not results:
        return [nothing_found(evidence, "no Ingress in scope", ("ingresses",))]
    return results
