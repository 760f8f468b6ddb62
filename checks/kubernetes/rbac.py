"""RBAC checks: cluster-admin bindings, wildcards, dangerous permissions, anonymous bindings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from checks.kubernetes.common import matches, nothing_found, object_resource
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status

DEFAULT_ROLE_LABEL = ("kubernetes.io/bootstrapping", "rbac-defaults")
"""The label the API server puts on the roles and bindings it creates itself."""

PUBLIC_GROUPS = ("system:anonymous", "system:unauthenticated", "system:authenticated")
"""Subjects that stand for everybody (never 'system subjects' for an allow-list)."""

BROAD_SYSTEM_GROUPS = (
    *PUBLIC_GROUPS,
    "system:serviceaccounts",
    "system:serviceaccounts:*",
    "system:nodes",
    "system:bootstrappers",
    "system:bootstrappers:*",
)
"""system:* groups that stand for many identities (every service account, of the cluster or of a
namespace; every node; every bootstrap token): never accepted as 'system subjects'."""

_STRINGS = {"type": "array", "items": {"type": "string"}}


def subject_id(subject: Mapping[str, Any]) -> str:
    """`Kind:name`, or `ServiceAccount:namespace/name`, as allow-lists spell subjects."""
    kind = str(subject.get("kind", ""))
    name = str(subject.get("name", ""))
    if kind == "ServiceAccount":
        return f"ServiceAccount:{subject.get('namespace', '')}/{name}"
    return f"{kind}:{name}"


def _bindings(evidence: Evidence, include_namespaced: bool = True) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for binding in evidence.section("clusterrolebindings"):
        yield "ClusterRoleBinding", binding
    if include_namespaced:
        for binding in evidence.section("rolebindings"):
            yield "RoleBinding", binding


def _roles(evidence: Evidence) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for role in evidence.section("clusterroles"):
        yield "ClusterRole", role
    for role in evidence.section("roles"):
        yield "Role", role


DEFAULT_ROLE_NAMES = ("cluster-admin", "admin", "edit", "view", "system:*")
"""Names the API server's own default roles can have; the label alone is not trusted (anyone who
may create a role can set it)."""


def _is_default(obj: Mapping[str, Any]) -> bool:
    labels = obj["metadata"].get("labels") or {}
    if labels.get(DEFAULT_ROLE_LABEL[0]) != DEFAULT_ROLE_LABEL[1]:
        return False
    return matches(str(obj["metadata"].get("name", "")), DEFAULT_ROLE_NAMES)


@check(
    "kubernetes.admin_bindings",
    needs=("clusterrolebindings", "rolebindings"),
    params={
        "roles": {**_STRINGS, "description": "ClusterRoles that grant full control."},
        "allowed_subjects": {
            **_STRINGS,
            "description": "Break-glass subjects (globs over Kind:name, ServiceAccount:ns/name).",
        },
        "allow_system_subjects": {
            "type": "boolean",
            "description": "Accept subjects named system:* (not the public or all-service-account/node groups).",
        },
        "include_rolebindings": {"type": "boolean", "description": "Also check RoleBindings to these ClusterRoles."},
    },
)
def admin_bindings(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Only system subjects and allow-listed break-glass subjects are bound to cluster-admin.

    A system subject is one named system:*, except the groups that stand for many identities
    (`BROAD_SYSTEM_GROUPS`: anonymous, all authenticated, all service accounts, all nodes).
    """
    roles = list(params.get("roles", ["cluster-admin"]))
    allowed = list(params.get("allowed_subjects", []))
    allow_system = bool(params.get("allow_system_subjects", True))
    results = []
    for kind, binding in _bindings(evidence, bool(params.get("include_rolebindings", True))):
        ref = binding["roleRef"]
        if ref.get("kind") != "ClusterRole" or ref.get("name") not in roles:
            continue
        subjects = [subject_id(s) for s in binding["subjects"]]
        bad = [
            sid
            for s, sid in zip(binding["subjects"], subjects, strict=True)
            if not (
                (
                    allow_system
                    and str(s["name"]).startswith("system:")
                    and not matches(str(s["name"]), BROAD_SYSTEM_GROUPS)
                )
                or matches(sid, allowed)
            )
        ]
        resource = object_resource(evidence, kind, binding)
        if bad:
            message = (
                f"{kind} {resource.name} binds {ref['name']} to {', '.join(bad)}, not system or break-glass subjects"
            )
            results.append(
                CheckResult(resource, Status.FAIL, message, subjects, "system or allow-listed subjects only")
            )
        else:
            message = f"{kind} {resource.name} binds {ref['name']} only to {', '.join(subjects) or 'nobody'}"
            results.append(CheckResult(resource, Status.PASS, message, subjects))
    if not results:
        return [nothing_found(evidence, f"no binding to {', '.join(roles)}", ("clusterrolebindings", "rolebindings"))]
    return results


def _role_in_scope(obj: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    if params.get("ignore_default_roles", True) and _is_default(obj):
        return False
    return not matches(str(obj["metadata"]["name"]), params.get("exclude_roles", ["system:*"]))


def _describe_rule(index: int, rule: Mapping[str, Any]) -> str:
    parts = [f"{key}={','.join(rule[key])}" for key in ("apiGroups", "resources", "verbs") if rule.get(key)]
    return f"rule {index}: {' '.join(parts)}"


_ROLE_PARAMS = {
    "exclude_roles": {**_STRINGS, "description": "Role names (globs) not evaluated, e.g. system:*."},
    "ignore_default_roles": {
        "type": "boolean",
        "description": "Skip roles labelled kubernetes.io/bootstrapping=rbac-defaults.",
    },
}


@check("kubernetes.rbac_wildcards", needs=("clusterroles", "roles"), params=_ROLE_PARAMS)
def rbac_wildcards(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """No (Cluster)Role outside system:* grants `*` in verbs, resources or apiGroups."""
    results = []
    for kind, role in _roles(evidence):
        if not _role_in_scope(role, params):
            continue
        wild = [
            _describe_rule(i, rule)
            for i, rule in enumerate(role["rules"])
            if any("*" in (rule.get(key) or ()) for key in ("verbs", "resources", "apiGroups"))
        ]
        resource = object_resource(evidence, kind, role)
        if wild:
            message = f"{kind} {resource.name} uses wildcards: {'; '.join(wild)}"
            results.append(CheckResult(resource, Status.FAIL, message, wild, "no '*' in verbs, resources or apiGroups"))
        else:
            results.append(CheckResult(resource, Status.PASS, "no wildcard in any rule"))
    if not results:
        return [nothing_found(evidence, "no role in scope", ("clusterroles", "roles"))]
    return results


DANGEROUS_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroup": "", "resource": "secrets", "verbs": ["get", "list", "watch"]},
    {"apiGroup": "", "resource": "pods", "verbs": ["create"]},
    {"apiGroup": "rbac.authorization.k8s.io", "resource": "clusterroles", "verbs": ["bind", "escalate"]},
    {"apiGroup": "rbac.authorization.k8s.io", "resource": "roles", "verbs": ["bind", "escalate"]},
    {"apiGroup": "", "resource": "users", "verbs": ["impersonate"]},
    {"apiGroup": "", "resource": "groups", "verbs": ["impersonate"]},
    {"apiGroup": "", "resource": "serviceaccounts", "verbs": ["impersonate"]},
    {"apiGroup": "", "resource": "nodes/proxy", "verbs": ["*"]},
    {"apiGroup": "", "resource": "serviceaccounts/token", "verbs": ["create"]},
)
"""Permissions that let a subject read every secret, run anything, or become someone else."""


def _resource_matches(granted: Sequence[str], wanted: str) -> bool:
    if "*" in granted or wanted in granted:
        return True
    base, _, sub = wanted.partition("/")
    return bool(sub) and (f"{base}/*" in granted or f"*/{sub}" in granted)


def rule_grants(rule: Mapping[str, Any], api_group: str, resource: str, verbs: Sequence[str]) -> list[str]:
    """The verbs of `verbs` that `rule` grants on `api_group`/`resource` (`*` in `verbs` = any verb).

    Rules limited by resourceNames are not counted: they grant access to named objects only.
    """
    if rule.get("resourceNames"):
        return []
    groups = rule.get("apiGroups") or ()
    if "*" not in groups and api_group not in groups:
        return []
    if not _resource_matches(rule.get("resources") or (), resource):
        return []
    granted = rule.get("verbs") or ()
    if "*" in verbs:
        return list(granted)
    if "*" in granted:
        return list(verbs)
    return [v for v in verbs if v in granted]


@check(
    "kubernetes.rbac_dangerous",
    needs=("clusterroles", "roles"),
    params={
        **_ROLE_PARAMS,
        "allowed_roles": {**_STRINGS, "description": "Roles (globs over name or namespace/name) allowed to hold them."},
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["resource", "verbs"],
                "properties": {
                    "apiGroup": {"type": "string"},
                    "resource": {"type": "string"},
                    "verbs": {**_STRINGS, "minItems": 1},
                },
            },
        },
    },
)
def rbac_dangerous(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """No (Cluster)Role outside the allow-list grants a path to cluster-admin.

    Secret reads, pod creation, bind/escalate/impersonate, nodes/proxy, token creation.
    """
    dangerous = params.get("rules") or DANGEROUS_RULES
    allowed = list(params.get("allowed_roles", []))
    results = []
    for kind, role in _roles(evidence):
        if not _role_in_scope(role, params):
            continue
        resource = object_resource(evidence, kind, role)
        if matches(resource.name, allowed) or matches(str(role["metadata"]["name"]), allowed):
            continue
        found = []
        for danger in dangerous:
            verbs: set[str] = set()
            for rule in role["rules"]:
                verbs.update(rule_grants(rule, str(danger.get("apiGroup", "")), danger["resource"], danger["verbs"]))
            if verbs:
                found.append(f"{'/'.join(sorted(verbs))} {danger['resource']}")
        if found:
            message = f"{kind} {resource.name} grants {', '.join(found)}"
            results.append(CheckResult(resource, Status.FAIL, message, found, "none of the dangerous permissions"))
        else:
            results.append(CheckResult(resource, Status.PASS, "no dangerous permission"))
    if not results:
        return [nothing_found(evidence, "no role in scope", ("clusterroles", "roles"))]
    return results


@check(
    "kubernetes.anonymous_bindings",
    needs=("clusterrolebindings", "rolebindings"),
    params={
        "subjects": {**_STRINGS, "description": "Subjects that stand for everybody (Kind:name)."},
        "allowed_roles": {**_STRINGS, "description": "Roles everybody may hold (the default discovery roles)."},
    },
)
def anonymous_bindings(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Nothing but the default discovery ClusterRoles is bound to anonymous or to every authenticated user.

    Only a ClusterRole of `allowed_roles` is accepted: a namespaced Role that merely shares the
    name of a discovery role (RoleBinding roleRef kind Role) grants whatever its rules say.
    """
    public = set(
        params.get(
            "subjects",
            ["User:system:anonymous", "Group:system:unauthenticated", "Group:system:authenticated"],
        )
    )
    allowed = list(params.get("allowed_roles", ["system:discovery", "system:basic-user", "system:public-info-viewer"]))
    results = []
    for kind, binding in _bindings(evidence):
        everyone = [sid for sid in (subject_id(s) for s in binding["subjects"]) if sid in public]
        if not everyone:
            continue
        ref = binding["roleRef"]
        resource = object_resource(evidence, kind, binding)
        role = f"{ref.get('kind')} {ref.get('name')}"
        if ref.get("kind") == "ClusterRole" and matches(str(ref.get("name")), allowed):
            results.append(CheckResult(resource, Status.PASS, f"{', '.join(everyone)} only get {role}", everyone))
        else:
            message = f"{kind} {resource.name} grants {role} to {', '.join(everyone)}"
            results.append(CheckResult(resource, Status.FAIL, message, everyone, f"only {', '.join(allowed)}"))
    if not results:
        message = "no binding to anonymous or all-authenticated subjects"
        return [nothing_found(evidence, message, ("clusterrolebindings", "rolebindings"))]
    return results
