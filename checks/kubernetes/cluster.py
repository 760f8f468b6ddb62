"""Namespace- and cluster-level checks: Pod Security admission, default-deny policies, Ingress TLS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from checks.kubernetes.common import (
    EXCLUDE_NAMESPACES_PARAM,
    SYSTEM_NAMESPACES,
    complete_listing,
    matches,
    namespaces_in_scope,
    nothing_found,
    object_resource,
    source_resource,
    target_resource,
)
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status

PSS_LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
"""Pod Security Standards levels, least to most restrictive."""

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
"""The namespace label that makes Pod Security admission enforce a level."""

_STRINGS = {"type": "array", "items": {"type": "string"}}


_ENGINE_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Policy engines whose validating webhook is accepted instead of the label (exact identities).",
    "items": {
        "type": "object",
        "required": ["configuration", "webhook", "service"],
        "additionalProperties": False,
        "properties": {
            "configuration": {"type": "string", "description": "ValidatingWebhookConfiguration name."},
            "webhook": {"type": "string", "description": "Name of the webhook inside it."},
            "service": {"type": "string", "pattern": "^[^/]+/[^/]+$", "description": "namespace/name it calls."},
            "engine": {"type": "string", "description": "Shown in messages (Kyverno, Gatekeeper)."},
        },
    },
}

POLICY_ENGINES: tuple[dict[str, str], ...] = (
    {
        "engine": "Kyverno",
        "configuration": "kyverno-resource-validating-webhook-cfg",
        "webhook": "validate.kyverno.svc-fail",
        "service": "kyverno/kyverno-svc",
    },
    {
        "engine": "Gatekeeper",
        "configuration": "gatekeeper-validating-webhook-configuration",
        "webhook": "validation.gatekeeper.sh",
        "service": "gatekeeper-system/gatekeeper-webhook-service",
    },
)
"""The policy engines recognised by default: their webhook configuration, webhook and service names."""


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """True when a (slim, valid) label selector selects an object with `labels` (empty selects all)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def _covers_pod_creation(hook: Mapping[str, Any]) -> bool:
    """True when a webhook's rules send every pod CREATE (core group, v1) to it."""
    for rule in hook.get("rules") or ():
        groups, versions = rule.get("apiGroups") or [], rule.get("apiVersions") or []
        operations, resources = rule.get("operations") or [], rule.get("resources") or []
        if (
            ("" in groups or "*" in groups)
            and ("v1" in versions or "*" in versions)
            and ("CREATE" in operations or "*" in operations)
            and ("pods" in resources or "*" in resources or "*/*" in resources)
            and rule.get("scope") in (None, "", "*", "Namespaced")
        ):
            return True
    return False


def policy_engine_coverage(
    evidence: Evidence, engines: Sequence[Mapping[str, str]]
) -> tuple[list[tuple[str, Mapping[str, Any]]], list[str]]:
    """The recognised engine webhooks that reject pods they cannot judge, and why others do not count.

    A webhook counts when its configuration, webhook and service are exactly those of a
    recognised engine (`engines`), its failurePolicy is Fail, its rules send pod creation to it,
    and it has no objectSelector or matchConditions that let pods bypass it. Its namespaceSelector
    is evaluated per namespace by the caller.
    """
    counted: list[tuple[str, Mapping[str, Any]]] = []
    ignored: list[str] = []
    for config in evidence.section("validatingwebhookconfigurations"):
        name = str(config["metadata"].get("name"))
        for hook in config.get("webhooks") or ():
            service = hook.get("service") or {}
            called = f"{service.get('namespace')}/{service.get('name')}"
            engine = next(
                (
                    e
                    for e in engines
                    if e["configuration"] == name and e["webhook"] == hook.get("name") and e["service"] == called
                ),
                None,
            )
            if engine is None:
                continue
            label = f"{engine.get('engine', 'policy engine')} webhook {name}/{hook.get('name')}"
            if hook.get("failurePolicy") != "Fail":
                ignored.append(f"{label} has failurePolicy {hook.get('failurePolicy') or 'unset'}, not Fail")
            elif not _covers_pod_creation(hook):
                ignored.append(f"{label} does not receive pod creation (its rules)")
            elif (hook.get("objectSelector") or {}) or hook.get("matchConditions"):
                ignored.append(f"{label} has an objectSelector or matchConditions that pods can avoid")
            elif (hook.get("namespaceSelector") or {}).get("invalid"):
                ignored.append(f"{label} has an unreadable namespaceSelector")
            else:
                counted.append((label, hook))
    return counted, ignored


@check(
    "kubernetes.pod_security_admission",
    needs=("namespaces", "validatingwebhookconfigurations"),
    params={
        "exclude_namespaces": EXCLUDE_NAMESPACES_PARAM,
        "min_level": {"enum": list(PSS_LEVELS), "description": "Lowest acceptable enforced level."},
        "policy_engines": _ENGINE_SCHEMA,
    },
)
def pod_security_admission(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Every application namespace enforces a Pod Security level, by label or a recognised engine.

    A policy engine counts only as the exact Kyverno or Gatekeeper webhook, failing closed and
    receiving the namespace's pod creation.
    """
    minimum = str(params.get("min_level", "baseline"))
    engines, ignored = policy_engine_coverage(evidence, params.get("policy_engines", POLICY_ENGINES))
    results = excluded_namespace_results(evidence, params)
    for namespace in namespaces_in_scope(evidence, params):
        resource = object_resource(evidence, "Namespace", namespace)
        if namespace.get("implicit"):
            message = f"namespace {resource.name} is used but its Namespace object is not in the input; labels unknown"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message))
            continue
        labels = dict(namespace["metadata"].get("labels") or {})
        labels.setdefault("kubernetes.io/metadata.name", resource.name)  # the API server sets it on every namespace
        level = labels.get(ENFORCE_LABEL)
        expected = f"{ENFORCE_LABEL} >= {minimum}"
        covering = [label for label, hook in engines if selector_matches(hook.get("namespaceSelector") or {}, labels)]
        if level in PSS_LEVELS and PSS_LEVELS[level] >= PSS_LEVELS[minimum]:
            results.append(CheckResult(resource, Status.PASS, f"enforces Pod Security '{level}'", level, expected))
        elif level is None and covering:
            message = (
                f"no {ENFORCE_LABEL} label; pods are admitted through {', '.join(covering)} "
                "(failurePolicy Fail; the engine's own policies are not visible to the scanner: review them)"
            )
            results.append(CheckResult(resource, Status.PASS, message, None, expected))
        else:
            shown = f"'{level}'" if level is not None else "no level (label absent)"
            message = f"namespace {resource.name} enforces {shown}; expected at least '{minimum}'"
            if level is None and ignored:
                message += f" (not counted: {'; '.join(ignored)})"
            results.append(CheckResult(resource, Status.FAIL, message, level, expected))
    if not results:
        return [CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, "no namespace in scope")]
    return results


def excluded_namespace_results(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """NOT_APPLICABLE for every namespace `exclude_namespaces` takes out of scope (reported, not dropped)."""
    excluded = list(params.get("exclude_namespaces", SYSTEM_NAMESPACES))
    return [
        CheckResult(
            object_resource(evidence, "Namespace", ns),
            Status.NOT_APPLICABLE,
            f"namespace {ns['metadata']['name']} not evaluated: excluded by the control's exclude_namespaces",
        )
        for ns in evidence.section("namespaces")
        if matches(str(ns["metadata"]["name"]), excluded)
    ]


def _selects_all(selector: Any) -> bool:
    return not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions"))


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    types = spec.get("policyTypes")
    if types:
        return [str(t) for t in types]
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


_ANYWHERE = ("0.0.0.0/0", "::/0")


def _allows_everything(rule: Mapping[str, Any], peers: str) -> bool:
    """True when a rule admits all traffic: no port restriction and no peer restriction (or 0.0.0.0/0)."""
    if rule.get("ports"):
        return False
    chosen = rule.get(peers) or []
    if not chosen:
        return True
    return any(
        isinstance(p.get("ipBlock"), dict) and p["ipBlock"].get("cidr") in _ANYWHERE and not p["ipBlock"].get("except")
        for p in chosen
    )


def default_deny_types(policy: Mapping[str, Any]) -> set[str]:
    """The directions (Ingress/Egress) a NetworkPolicy denies by default for every pod of its namespace."""
    spec = policy.get("spec") or {}
    if not _selects_all(spec.get("podSelector")):
        return set()
    return {t for t in _policy_types(spec) if not spec.get(t.lower())}


def allow_all_types(policy: Mapping[str, Any]) -> set[str]:
    """The directions in which a NetworkPolicy allows all traffic to (or from) every pod it selects."""
    spec = policy.get("spec") or {}
    found = set()
    for direction, peers in (("Ingress", "from"), ("Egress", "to")):
        if direction in _policy_types(spec) and any(
            _allows_everything(rule, peers) for rule in spec.get(direction.lower()) or ()
        ):
            found.add(direction)
    return found


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
    """Every application namespace has a default-deny NetworkPolicy and no allow-all policy cancelling it.

    A default deny selects all pods with no allow rule; policies add up, so one that allows all
    traffic in a direction cancels the deny for the pods it selects.
    """
    required = list(params.get("policy_types", ["Ingress", "Egress"]))
    denied: dict[str, set[str]] = {}
    cancelled: dict[str, list[str]] = {}
    seen: set[str] = set()
    invalid: dict[str, list[str]] = {}
    results = excluded_namespace_results(evidence, params)
    excluded = list(params.get("exclude_namespaces", SYSTEM_NAMESPACES))
    for policy in evidence.section("networkpolicies"):
        namespace = str(policy["metadata"].get("namespace", "default"))
        seen.add(namespace)
        if policy.get("invalid"):
            if not matches(namespace, excluded):
                resource = object_resource(evidence, "NetworkPolicy", policy)
                reason = "; ".join(str(i) for i in policy["invalid"][:5])
                message = f"NetworkPolicy {resource.name} is invalid input that the API server rejects: {reason}"
                results.append(CheckResult(resource, Status.ERROR, message))
            invalid.setdefault(namespace, []).append(str(policy["metadata"].get("name")))
            continue
        denied.setdefault(namespace, set()).update(default_deny_types(policy))
        for direction in allow_all_types(policy):
            selects = (
                "every pod" if _selects_all((policy.get("spec") or {}).get("podSelector")) else "the pods it selects"
            )
            cancelled.setdefault(namespace, []).append(
                f"NetworkPolicy {policy['metadata'].get('name')} allows all {direction} traffic for {selects}"
            )
    live = complete_listing(evidence)
    expected = f"a podSelector: {{}} policy denying {' and '.join(required)}, no allow-all policy"
    for namespace_obj in namespaces_in_scope(evidence, params):
        name = str(namespace_obj["metadata"]["name"])
        resource = object_resource(evidence, "Namespace", namespace_obj)
        missing = [t for t in required if t not in denied.get(name, set())]
        wide = [c for c in cancelled.get(name, []) if any(f"all {t} " in c for t in required)]
        if not live and name not in seen:
            message = (
                f"namespace {name}: the offline input holds none of its NetworkPolicies; "
                "the cluster's policies are not visible: scan it live"
            )
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message))
        elif missing and name in invalid:
            message = (
                f"namespace {name}: no valid default-deny NetworkPolicy for {' and '.join(missing)}; "
                f"invalid policies {', '.join(invalid[name])} cannot be judged"
            )
            results.append(CheckResult(resource, Status.ERROR, message, expected=expected))
        elif missing or wide:
            parts = [f"no default-deny NetworkPolicy for {' and '.join(missing)}"] if missing else []
            parts += [f"{c}, which cancels the default deny" for c in wide]
            message = f"namespace {name}: {'; '.join(parts)}"
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
        resource = object_resource(evidence, "Ingress", ingress)
        if matches(str(ingress["metadata"].get("namespace")), excluded):
            message = f"Ingress {resource.name} not evaluated: its namespace is excluded by exclude_namespaces"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message))
            continue
        spec = ingress.get("spec") or {}
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


@check("kubernetes.input_objects", needs=("inputs",), params={})
def input_objects(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Every object of offline input is understood; kinds not evaluated are listed, never dropped.

    A kind that is not a string, or no kind, is ERROR naming the file and line; kinds sovscan
    does not evaluate are listed with their counts (NOT_APPLICABLE).
    """
    if complete_listing(evidence):
        message = "a live collection reads typed LISTs of the kinds it evaluates"
        return [CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, message)]
    section = evidence.section("inputs")
    results = []
    for problem in section.get("invalid") or ():
        source = problem.get("source") or {}
        where = f"{source.get('file', 'input')}:{source.get('line', 1)}"
        name = f"{where} (document {source.get('doc', '?')})"
        resource = source_resource(evidence, "Object", name, f"input/{where}", problem)
        results.append(CheckResult(resource, Status.ERROR, f"{name}: {problem.get('problem')}: the object is not read"))
    unevaluated = {k: v for k, v in (section.get("unevaluated_kinds") or {}).items() if not k.startswith("(")}
    if unevaluated:
        shown = ", ".join(f"{kind} ({count})" for kind, count in unevaluated.items())
        message = f"objects of kinds sovscan does not evaluate (not judged by any control): {shown}"
        results.append(CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, message, unevaluated))
    if not results:
        results.append(CheckResult(target_resource(evidence), Status.PASS, "every object of the input is understood"))
    return results
