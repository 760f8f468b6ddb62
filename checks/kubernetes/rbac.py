"""RBAC checks: cluster-admin bindings, wildcards, dangerous permissions, broad subjects, workloads.

Every check reads RBAC through `checks.kubernetes.authz` (the API server's own matching rules)
and judges permissions with `checks.kubernetes.powers` (one list of dangerous permissions, one
definition of the built-in objects). Roles are judged on their stored rules plus, for an
aggregated ClusterRole, the rules the aggregation controller will write (`converged`): offline
manifests carry no computed rules, and a role that will grant something is judged on it.

Exemptions are identities, never name patterns: the exact built-in objects of the bootstrap
policy (`powers.builtin_policy`), the exact component identities (`powers.BUILTIN_IDENTITIES`)
and the subjects, roles or service accounts a profile allow-lists. Every exempted object is
reported as NOT_APPLICABLE with the reason, so the report says how many objects an exemption
skipped and which.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from checks.kubernetes.authz import Authorizer, Rule, Subject, UserInfo, covers, selected_roles
from checks.kubernetes.common import (
    WORKLOAD_NEEDS,
    complete_listing,
    matches,
    nothing_found,
    object_resource,
    workload_verdicts,
    workloads,
)
from checks.kubernetes.powers import (
    BROAD_SUBJECTS,
    BUILTIN_IDENTITIES,
    KUBEADM_CLUSTER_INFO,
    NOT_BUILTIN,
    POWERS,
    Danger,
    Power,
    PowerJudge,
    builtin_policy,
    worst,
)
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Resource, Severity, Status

RBAC_SECTIONS = ("clusterroles", "roles", "clusterrolebindings", "rolebindings")
"""Every RBAC evidence section."""

PUBLIC_GROUPS = ("system:anonymous", "system:unauthenticated", "system:authenticated")
"""Subjects that stand for everybody (never 'system subjects' for an allow-list)."""

_STRINGS = {"type": "array", "items": {"type": "string"}}
_EXACT_NAMES = {
    "type": "array",
    "items": {"type": "string", "pattern": r"^[^*?\[\]]+$"},
}


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


def _exempt(evidence: Evidence, kind: str, obj: Mapping[str, Any], params: Mapping[str, Any]) -> CheckResult | None:
    """NOT_APPLICABLE for an exact built-in object (when the control exempts them), else None."""
    if not params.get("ignore_default_roles", True):
        return None
    policy = builtin_policy()
    exact, _ = policy.check(kind, obj)
    if not exact:
        return None
    return CheckResult(object_resource(evidence, kind, obj), Status.NOT_APPLICABLE, policy.describe(kind, obj))


def _not_builtin_note(kind: str, obj: Mapping[str, Any]) -> str:
    """' (a built-in name, but ...: evaluated)' for objects that only look built-in, else ''."""
    exact, why = builtin_policy().check(kind, obj)
    if exact or why == NOT_BUILTIN:
        return ""
    return f" ({why}: evaluated like any other)"


def _role_subjects(binding: Mapping[str, Any], kind: str) -> list[Subject]:
    namespace = str(binding["metadata"].get("namespace") or "") if kind == "RoleBinding" else ""
    return [Subject.from_mapping(s, namespace) for s in binding["subjects"]]


_BUILTIN_IDENTITY_IDS = {s.id for s in BUILTIN_IDENTITIES}


def with_builtin_roles(evidence: Evidence) -> dict[str, list[Mapping[str, Any]]]:
    """The RBAC sections plus every built-in role of the bootstrap policy the evidence lacks.

    Offline manifests rarely include `edit` or `cluster-admin`; on every cluster they exist. A
    live cluster's listing is complete: its stored roles are used as they are, and nothing is
    added (a built-in role missing there does not exist).
    """
    sections: dict[str, list[Mapping[str, Any]]] = {s: list(evidence.section(s)) for s in RBAC_SECTIONS}
    if complete_listing(evidence):
        return sections
    builtin = builtin_policy().objects()
    for section in ("clusterroles", "roles"):
        present = {(r["metadata"].get("namespace", ""), r["metadata"].get("name")) for r in sections[section]}
        for obj in builtin[section]:
            if (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]) not in present:
                sections[section].append(obj)
    return sections


_AUTHORIZER_MEMO = "kubernetes.control_authorizer"


def control_authorizer(evidence: Evidence) -> Authorizer:
    """The Authorizer the controls judge with: built-in roles filled in (`with_builtin_roles`),
    aggregation converged (a role is judged on what it grants once the controller has run).

    Built once per evidence and kept in its memo (the views of every control share it), reused
    only while it was built from the very same section objects (identity and length) and the same
    collection mode; an Authorizer never changes once built.
    """
    sections = tuple(evidence.section(name) for name in RBAC_SECTIONS)
    key = (evidence.target, evidence.uri, complete_listing(evidence), tuple(len(s) for s in sections))
    memo = getattr(evidence, "memo", None)
    found = memo.get(_AUTHORIZER_MEMO) if isinstance(memo, dict) else None
    if isinstance(found, tuple) and found[0] == key and all(a is b for a, b in zip(found[1], sections, strict=True)):
        authorizer: Authorizer = found[2]
        return authorizer
    authorizer = Authorizer.from_sections(with_builtin_roles(evidence), "converged")
    if isinstance(memo, dict):
        memo[_AUTHORIZER_MEMO] = (key, sections, authorizer)  # the sections held: their ids stay theirs
    return authorizer


def _binding_rules(authz: Authorizer, kind: str, binding: Mapping[str, Any]) -> tuple[Rule, ...] | None:
    ref = binding["roleRef"]
    if ref.get("kind") == "ClusterRole":
        return authz.cluster_roles.get(str(ref.get("name")))
    if ref.get("kind") == "Role" and kind == "RoleBinding":
        return authz.roles.get((str(binding["metadata"].get("namespace") or ""), str(ref.get("name"))))
    return None


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
            "description": "Accept the exact identities of Kubernetes' own components (Group system:masters, "
            "User system:kube-controller-manager, system:kube-scheduler, system:kube-proxy).",
        },
        "include_rolebindings": {"type": "boolean", "description": "Also check RoleBindings to these ClusterRoles."},
        "ignore_default_roles": {
            "type": "boolean",
            "description": "Exempt the exact built-in bindings of the bootstrap policy (reported NOT_APPLICABLE).",
        },
    },
)
def admin_bindings(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Only Kubernetes' own component identities and allow-listed break-glass subjects hold cluster-admin.

    System subjects are the exact identities of `BUILTIN_IDENTITIES` (kind and name), never a
    `system:` prefix. (Bindings to cluster-admin under another name, a role granting every verb
    on every resource, are found by `dangerous_bindings`.)
    """
    roles = list(params.get("roles", ["cluster-admin"]))
    allowed = list(params.get("allowed_subjects", []))
    allow_system = bool(params.get("allow_system_subjects", True))
    results = []
    for kind, binding in _bindings(evidence, bool(params.get("include_rolebindings", True))):
        ref = binding["roleRef"]
        if ref.get("kind") != "ClusterRole" or ref.get("name") not in roles:
            continue
        exempt = _exempt(evidence, kind, binding, params)
        if exempt is not None:
            results.append(exempt)
            continue
        subjects = [s.id for s in _role_subjects(binding, kind)]
        bad = [
            sid for sid in subjects if not ((allow_system and sid in _BUILTIN_IDENTITY_IDS) or matches(sid, allowed))
        ]
        resource = object_resource(evidence, kind, binding)
        role = f"ClusterRole {ref.get('name')}"
        note = _not_builtin_note(kind, binding)
        if bad:
            message = (
                f"{kind} {resource.name} binds {role} to {', '.join(bad)}, not Kubernetes' own component "
                f"identities or allow-listed break-glass subjects{note}"
            )
            results.append(
                CheckResult(resource, Status.FAIL, message, subjects, "component or allow-listed subjects only")
            )
        else:
            message = f"{kind} {resource.name} binds {role} only to {', '.join(subjects) or 'nobody'}{note}"
            results.append(CheckResult(resource, Status.PASS, message, subjects))
    if not results:
        return [nothing_found(evidence, f"no binding to {', '.join(roles)}", ("clusterrolebindings", "rolebindings"))]
    return results


_ROLE_PARAMS = {
    "ignore_default_roles": {
        "type": "boolean",
        "description": "Exempt the exact built-in roles of the bootstrap policy (name, rbac-defaults label and "
        "rules); each is reported NOT_APPLICABLE.",
    },
}


def _wildcards(rule: Mapping[str, Any]) -> bool:
    return any(any("*" in v for v in rule.get(key) or ()) for key in ("verbs", "resources", "apiGroups"))


@check("kubernetes.rbac_wildcards", needs=("clusterroles", "roles"), params=_ROLE_PARAMS)
def rbac_wildcards(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """No Role or ClusterRole but the exact built-in ones grants `*` in verbs, resources or apiGroups."""
    results = []
    for kind, role in _roles(evidence):
        exempt = _exempt(evidence, kind, role, params)
        if exempt is not None:
            results.append(exempt)
            continue
        wild = [
            f"rule {i}: {Rule.from_mapping(rule).describe()}"
            for i, rule in enumerate(role["rules"])
            if _wildcards(rule)
        ]
        resource = object_resource(evidence, kind, role)
        note = _not_builtin_note(kind, role)
        if wild:
            message = f"{kind} {resource.name} uses wildcards: {'; '.join(wild)}{note}"
            results.append(CheckResult(resource, Status.FAIL, message, wild, "no '*' in verbs, resources or apiGroups"))
        else:
            results.append(CheckResult(resource, Status.PASS, f"no wildcard in any rule{note}"))
    if not results:
        return [nothing_found(evidence, "no role", ("clusterroles", "roles"))]
    return results


def _custom_powers(rules: Sequence[Mapping[str, Any]]) -> tuple[Power, ...]:
    return tuple(
        Power(
            f"custom-{i}",
            tuple(r["verbs"]),
            str(r.get("apiGroup", "")),
            str(r["resource"]),
            Severity.HIGH,
            "listed in the control's rules",
        )
        for i, r in enumerate(rules)
    )


def _role_rules(authz: Authorizer, kind: str, role: Mapping[str, Any]) -> tuple[Rule, ...]:
    meta = role["metadata"]
    if kind == "ClusterRole":
        return authz.cluster_roles.get(str(meta.get("name")), ())
    return authz.roles.get((str(meta.get("namespace") or ""), str(meta.get("name"))), ())


@check(
    "kubernetes.rbac_dangerous",
    needs=RBAC_SECTIONS,
    params={
        **_ROLE_PARAMS,
        "allowed_roles": {
            **_EXACT_NAMES,
            "description": "Roles allowed to hold them: exact ClusterRole names or namespace/name of a Role "
            "(no globs: a pattern lets anyone who may create a role pick a matching name).",
        },
        "rules": {
            "type": "array",
            "description": "Replace the built-in list of dangerous permissions (resourceNames-limited rules count).",
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
    """No Role or ClusterRole but the exact built-in and allow-listed ones grants a dangerous permission.

    The permissions are `powers.POWERS` (or the `rules` parameter); rules limited by resourceNames
    are judged by what the named objects give (bind on cluster-admin, impersonating
    system:masters, a token for a privileged ServiceAccount all count).
    """
    authz = control_authorizer(evidence)
    judge = PowerJudge(authz, complete=complete_listing(evidence))
    custom = _custom_powers(params["rules"]) if params.get("rules") else None
    allowed = set(params.get("allowed_roles", []))
    results = []
    for kind, role in _roles(evidence):
        exempt = _exempt(evidence, kind, role, params)
        if exempt is not None:
            results.append(exempt)
            continue
        resource = object_resource(evidence, kind, role)
        if resource.name in allowed:
            message = f"{kind} {resource.name} is allow-listed in allowed_roles: not evaluated"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message))
            continue
        scope = "*" if kind == "ClusterRole" else str(role["metadata"].get("namespace") or "")
        rules = _role_rules(authz, kind, role)
        found = _custom_dangers(rules, custom, scope) if custom else judge.dangers(rules, scope)
        note = _not_builtin_note(kind, role)
        described = [d.describe() for d in _by_severity(found)]
        if any(not d.unjudged for d in found):
            message = f"{kind} {resource.name} grants {'; '.join(described)}{note}"
            results.append(CheckResult(resource, Status.FAIL, message, described, "none of the dangerous permissions"))
        elif found:
            message = f"{kind} {resource.name} grants {'; '.join(described)}{note}"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message, described))
        else:
            results.append(CheckResult(resource, Status.PASS, f"no dangerous permission{note}"))
    if not results:
        return [nothing_found(evidence, "no role", ("clusterroles", "roles"))]
    return results


def _custom_dangers(rules: Sequence[Rule], powers: Sequence[Power], scope: str) -> list[Danger]:
    found = []
    for power in powers:
        base, _, sub = power.resource.partition("/")
        verbs: list[str] = []
        for rule in rules:
            if rule.api_group_matches(power.api_group) and rule.resource_matches(base, sub):
                verbs.extend(v for v in power.verbs if (v == "*" and rule.verbs) or rule.verb_matches(v))
        if verbs:
            found.append(Danger(power, tuple(dict.fromkeys(verbs)), scope))
    return found


def _by_severity(dangers: Sequence[Danger]) -> list[Danger]:
    return sorted(dangers, key=lambda d: -d.power.severity.rank)


@check(
    "kubernetes.anonymous_bindings",
    needs=RBAC_SECTIONS,
    params={
        "subjects": {**_STRINGS, "description": "Subjects that stand for everybody (Kind:name)."},
        "allowed_roles": {**_STRINGS, "description": "Roles everybody may hold (the default discovery roles)."},
    },
)
def anonymous_bindings(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Nothing but the default discovery ClusterRoles is bound to anonymous or to every authenticated user.

    Only a ClusterRole of `allowed_roles` is accepted: a namespaced Role that merely shares the
    name of a discovery role (RoleBinding roleRef kind Role) grants whatever its rules say, and a
    built-in discovery role whose rules were changed is no longer the built-in role.
    """
    public = set(
        params.get(
            "subjects",
            ["User:system:anonymous", "Group:system:unauthenticated", "Group:system:authenticated"],
        )
    )
    allowed = list(params.get("allowed_roles", ["system:discovery", "system:basic-user", "system:public-info-viewer"]))
    policy = builtin_policy()
    cluster_roles = {str(r["metadata"].get("name")): r for r in evidence.section("clusterroles")}
    roles = {
        (str(r["metadata"].get("namespace")), str(r["metadata"].get("name"))): r for r in evidence.section("roles")
    }
    results = []
    for kind, binding in _bindings(evidence):
        everyone = [sid for sid in (subject_id(s) for s in binding["subjects"]) if sid in public]
        if not everyone:
            continue
        ref = binding["roleRef"]
        resource = object_resource(evidence, kind, binding)
        role = f"{ref.get('kind')} {ref.get('name')}"
        namespace = str(binding["metadata"].get("namespace") or "")
        if (
            kind == "RoleBinding"
            and ref.get("kind") == "Role"
            and (namespace, ref.get("name")) == KUBEADM_CLUSTER_INFO[:2]
            and matches(str(ref.get("name")), allowed)
        ):
            results.append(_kubeadm_cluster_info(evidence, resource, roles.get(KUBEADM_CLUSTER_INFO[:2]), everyone))
        elif ref.get("kind") == "ClusterRole" and matches(str(ref.get("name")), allowed):
            stored = cluster_roles.get(str(ref.get("name")))
            changed = ""
            if stored is not None and f"ClusterRole/{ref.get('name')}" in policy.roles:
                exact, why = policy.check("ClusterRole", stored)
                changed = "" if exact else why
            if changed:
                message = f"{kind} {resource.name} grants {role} to {', '.join(everyone)}, but that role is {changed}"
                results.append(CheckResult(resource, Status.FAIL, message, everyone, "the unchanged built-in role"))
            else:
                results.append(CheckResult(resource, Status.PASS, f"{', '.join(everyone)} only get {role}", everyone))
        else:
            message = f"{kind} {resource.name} grants {role} to {', '.join(everyone)}"
            results.append(CheckResult(resource, Status.FAIL, message, everyone, f"only {', '.join(allowed)}"))
    if not results:
        message = "no binding to anonymous or all-authenticated subjects"
        return [nothing_found(evidence, message, ("clusterrolebindings", "rolebindings"))]
    return results


def _kubeadm_cluster_info(
    evidence: Evidence, resource: Resource, stored: Mapping[str, Any] | None, everyone: list[str]
) -> CheckResult:
    """kubeadm's anonymous cluster-info reader: PASS only while its Role is exactly kubeadm's."""
    namespace, name, rules = KUBEADM_CLUSTER_INFO
    label = f"Role {namespace}/{name}"
    if stored is None:
        if complete_listing(evidence):
            return CheckResult(resource, Status.PASS, f"{label} does not exist: the binding grants nothing", everyone)
        message = f"{label} is not in the offline input: what the binding grants cannot be judged"
        return CheckResult(resource, Status.NOT_APPLICABLE, message, everyone)
    ok, missing = covers(rules, [Rule.from_mapping(r) for r in stored.get("rules") or ()])
    if ok:
        message = f"{', '.join(everyone)} only get kubeadm's {label} (get ConfigMap cluster-info)"
        return CheckResult(resource, Status.PASS, message, everyone)
    extra = ", ".join(sorted({r.describe() for r in missing})[:5])
    message = f"{', '.join(everyone)} get {label}, which grants more than kubeadm's cluster-info read: {extra}"
    return CheckResult(resource, Status.FAIL, message, everyone, "kubeadm's unchanged cluster-info reader")


def _binding_dangers(
    judge: PowerJudge, authz: Authorizer, kind: str, binding: Mapping[str, Any]
) -> tuple[list[Danger], str | None]:
    """The dangerous permissions a binding gives, and why it cannot be judged (role missing)."""
    rules = _binding_rules(authz, kind, binding)
    ref = binding["roleRef"]
    if rules is None:
        return [], f"{ref.get('kind')} {ref.get('name')} is not in the evidence"
    scope = str(binding["metadata"].get("namespace") or "") if kind == "RoleBinding" else "*"
    return judge.dangers(rules, scope), None


def _is_broad(subject: Subject) -> bool:
    return any(subject.kind == kind and matches(subject.name, [name]) for kind, name in BROAD_SUBJECTS)


@check("kubernetes.broad_group_grants", needs=RBAC_SECTIONS)
def broad_group_grants(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """No dangerous permission is granted to a subject that stands for many identities.

    The subjects are `powers.BROAD_SUBJECTS`: system:anonymous, system:unauthenticated,
    system:authenticated, system:serviceaccounts and system:serviceaccounts:<namespace> (every
    service account of the cluster, or every one of a namespace, including those of any workload
    an attacker can start there), system:nodes and system:bootstrappers[:*].
    """
    authz = control_authorizer(evidence)
    judge = PowerJudge(authz, complete=complete_listing(evidence))
    results = []
    for kind, binding in _bindings(evidence):
        broad = [s.id for s in _role_subjects(binding, kind) if _is_broad(s)]
        if not broad:
            continue
        resource = object_resource(evidence, kind, binding)
        ref = binding["roleRef"]
        role = f"{ref.get('kind')} {ref.get('name')}"
        found, missing = _binding_dangers(judge, authz, kind, binding)
        described = [d.describe() for d in _by_severity(found)]
        if any(not d.unjudged for d in found):
            message = f"{kind} {resource.name} gives {', '.join(broad)} (via {role}): {'; '.join(described)}"
            results.append(CheckResult(resource, Status.FAIL, message, described, "no dangerous permission"))
        elif found:
            message = f"{kind} {resource.name} gives {', '.join(broad)} (via {role}): {'; '.join(described)}"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message, described))
        elif missing and complete_listing(evidence):
            message = f"{kind} {resource.name} gives {', '.join(broad)} {role}, which does not exist: nothing today"
            results.append(CheckResult(resource, Status.PASS, message, broad))
        elif missing:
            message = (
                f"{kind} {resource.name} gives {', '.join(broad)} {role}: {missing}, "
                "so what it grants cannot be judged offline"
            )
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message, broad))
        else:
            message = f"{kind} {resource.name} gives {', '.join(broad)} {role}: no dangerous permission"
            results.append(CheckResult(resource, Status.PASS, message, broad))
    if not results:
        return [nothing_found(evidence, "no binding to a broad group", ("clusterrolebindings", "rolebindings"))]
    return results


@check(
    "kubernetes.dangerous_bindings",
    needs=RBAC_SECTIONS,
    params={
        "allowed_subjects": {
            **_STRINGS,
            "description": "Subjects allowed to hold dangerous permissions (globs over Kind:name, "
            "ServiceAccount:ns/name); each binding skipped for them is reported NOT_APPLICABLE.",
        },
        "ignore_default_roles": {
            "type": "boolean",
            "description": "Exempt the exact built-in bindings of the bootstrap policy (reported NOT_APPLICABLE).",
        },
    },
)
def dangerous_bindings(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Bindings give dangerous permissions only to allow-listed subjects (built-in bindings exempt).

    Judges each binding by what its role grants in the binding's scope (a RoleBinding to a
    ClusterRole: in its namespace only), so binding a dangerous built-in role (cluster-admin,
    a system:controller role) to a new subject is found even though the role itself is exempt.
    """
    authz = control_authorizer(evidence)
    judge = PowerJudge(authz, complete=complete_listing(evidence))
    allowed = list(params.get("allowed_subjects", []))
    results = []
    for kind, binding in _bindings(evidence):
        exempt = _exempt(evidence, kind, binding, params)
        if exempt is not None:
            results.append(exempt)
            continue
        resource = object_resource(evidence, kind, binding)
        subjects = [s.id for s in _role_subjects(binding, kind)]
        found, missing = _binding_dangers(judge, authz, kind, binding)
        ref = binding["roleRef"]
        role = f"{ref.get('kind')} {ref.get('name')}"
        note = _not_builtin_note(kind, binding)
        if found and all(d.unjudged for d in found):
            message = f"{kind} {resource.name} (via {role}): {'; '.join(d.describe() for d in found)}"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message, subjects))
            continue
        if not found:
            if missing and not complete_listing(evidence):
                message = f"{kind} {resource.name}: {missing}, so what it grants cannot be judged offline"
                results.append(CheckResult(resource, Status.NOT_APPLICABLE, message, subjects))
            else:
                results.append(CheckResult(resource, Status.PASS, f"{role} gives no dangerous permission{note}"))
            continue
        bad = [sid for sid in subjects if not matches(sid, allowed)]
        described = [d.describe() for d in _by_severity(found)]
        if not bad:
            message = f"{kind} {resource.name}: every subject ({', '.join(subjects)}) is allow-listed: not evaluated"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message, subjects))
            continue
        message = f"{kind} {resource.name} gives {', '.join(bad)} (via {role}): {'; '.join(described)}{note}"
        results.append(CheckResult(resource, Status.FAIL, message, {"subjects": bad, "permissions": described}))
    if not results:
        return [nothing_found(evidence, "no binding", ("clusterrolebindings", "rolebindings"))]
    return results


@check(
    "kubernetes.workload_rbac",
    needs=(*WORKLOAD_NEEDS, *RBAC_SECTIONS),
    params={
        "allowed_service_accounts": {
            **_EXACT_NAMES,
            "description": "Service accounts (exact namespace/name) whose workloads may hold dangerous "
            "permissions; each workload skipped is reported NOT_APPLICABLE.",
        },
    },
)
def workload_rbac(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """No workload runs as a ServiceAccount that can reach a dangerous permission or cluster-admin.

    Every Pod and controller template of every namespace (none is exempt by namespace) is
    followed to its ServiceAccount (`serviceAccountName`, or `default`), and the account's
    identity (its user name and the groups system:serviceaccounts, system:serviceaccounts:<ns>,
    system:authenticated) through every binding that applies to it.
    """
    authz = control_authorizer(evidence)
    judge = PowerJudge(authz, complete=complete_listing(evidence))
    allowed = set(params.get("allowed_service_accounts", []))
    if not complete_listing(evidence) and not (
        evidence.section("clusterrolebindings") or evidence.section("rolebindings")
    ):
        return [nothing_found(evidence, "no binding", ("clusterrolebindings", "rolebindings"))]
    found, _ = workloads(evidence, ())
    judged = workload_verdicts(evidence)
    results = []
    cache: dict[tuple[str, str], tuple[list[str], str, list[str]]] = {}
    for workload in found:
        if workload.debug:  # a controller's pod: judged through its controller's template
            continue
        resource, incomplete, workload_label = judged(workload)
        if incomplete:  # a fragment may name no serviceAccountName and still not run as `default`
            results.append(CheckResult(resource, Status.ERROR, incomplete))
            continue
        account = str(workload.spec.get("serviceAccountName") or "default")
        key = (workload.namespace, account)
        label = f"ServiceAccount {workload.namespace}/{account}"
        if f"{workload.namespace}/{account}" in allowed:
            message = f"{workload_label} runs as {label}, allow-listed in allowed_service_accounts: not evaluated"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message))
            continue
        if key not in cache:
            identity = UserInfo.service_account(*key)
            everything = judge.subject_dangers(identity)
            dangers = [d for d in everything if not d.unjudged]
            severity = worst(dangers)
            unknown = [d.describe() for d in everything if d.unjudged]
            if not complete_listing(evidence):
                unknown += [f"{g}: the role is not in the input" for g in judge.unresolved(identity)]
            cache[key] = (
                [d.describe() for d in _by_severity(dangers)],
                severity.value if severity else "",
                unknown,
            )
        described, severity_text, unknown = cache[key]
        if not described and unknown:
            message = f"{workload_label} runs as {label}; cannot be judged offline: {'; '.join(unknown)}"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message, unknown))
            continue
        if not described:
            results.append(
                CheckResult(resource, Status.PASS, f"{workload_label} runs as {label}: no dangerous permission")
            )
            continue
        token = (
            "; token auto-mount is off in this workload, but the account still holds these permissions"
            if (workload.spec.get("automountServiceAccountToken") is False)
            else ""
        )
        message = (
            f"{workload_label} runs as {label}, which holds (worst: {severity_text}): {'; '.join(described)}{token}"
        )
        results.append(CheckResult(resource, Status.FAIL, message, described, "no dangerous permission"))
    if not results:
        return [nothing_found(evidence, "no workload", WORKLOAD_NEEDS)]
    return results


@check("kubernetes.rbac_aggregation", needs=RBAC_SECTIONS)
def rbac_aggregation(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Aggregation pulls no dangerous permission into a ClusterRole from roles that are not built-in.

    For every ClusterRole with an aggregationRule, the ClusterRoles its selectors pick (anyone
    who may create a ClusterRole can add one with a matching label) are judged; the exact
    built-in contributions to the exact built-in aggregated roles (admin, edit, view) are not
    counted. A third-party role that aggregates secret reads into `view` grants them to every
    holder of `view`.
    """
    policy = builtin_policy()
    cluster_roles = with_builtin_roles(evidence)["clusterroles"]
    judge = PowerJudge(control_authorizer(evidence), complete=complete_listing(evidence))
    results = []
    for role in evidence.section("clusterroles"):
        aggregation = role.get("aggregationRule")
        if aggregation is None:
            continue
        resource = object_resource(evidence, "ClusterRole", role)
        name = str(role["metadata"].get("name"))
        if not isinstance(aggregation, Mapping) or aggregation.get("invalid"):
            message = f"ClusterRole {name} has an aggregationRule that cannot be read"
            results.append(CheckResult(resource, Status.ERROR, message))
            continue
        builtin_aggregate, _ = policy.check("ClusterRole", role)
        expected: set[Power] = set()
        if builtin_aggregate:
            expected = {d.power for d in judge.dangers(policy.aggregate(name), "*")}
        findings: list[str] = []
        for other in selected_roles(role, cluster_roles):
            if builtin_aggregate and policy.check("ClusterRole", other)[0]:
                continue  # an exact built-in contribution (also: a built-in role filled in offline)
            other_name = str(other["metadata"].get("name"))
            rules = judge.authorizer.cluster_roles.get(other_name, ())
            dangers = [d for d in judge.dangers(rules, "*") if d.power not in expected]
            findings.extend(f"from ClusterRole {other_name}: {d.describe()}" for d in _by_severity(dangers))
        if findings:
            message = f"ClusterRole {name} aggregates {'; '.join(findings)}"
            results.append(CheckResult(resource, Status.FAIL, message, findings, "no dangerous aggregated permission"))
        else:
            results.append(CheckResult(resource, Status.PASS, f"ClusterRole {name} aggregates no dangerous permission"))
    if not results:
        return [nothing_found(evidence, "no aggregated ClusterRole", ("clusterroles",))]
    return results


__all__ = [
    "POWERS",
    "admin_bindings",
    "anonymous_bindings",
    "broad_group_grants",
    "dangerous_bindings",
    "rbac_aggregation",
    "rbac_dangerous",
    "rbac_wildcards",
    "subject_id",
    "workload_rbac",
]
