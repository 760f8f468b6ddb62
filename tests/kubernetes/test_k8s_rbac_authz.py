"""The RBAC authorizer against cases written from the Kubernetes RBAC reference.

Each case follows a statement of https://kubernetes.io/docs/reference/access-authn-authz/rbac/
(or of the upstream rule-matching helpers the reference describes); objects go through the real
offline collector (manifests -> slim evidence), so the test also proves the evidence keeps every
field the authorizer needs. The differential test against a real API server's
SubjectAccessReview (issue 12) uses the same API.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pytest

from checks.kubernetes.authz import (
    Authorizer,
    NonResourceAttributes,
    ResourceAttributes,
    Rule,
    Subject,
    UserInfo,
    aggregated_rules,
    covers,
)
from checks.kubernetes.plugin import PLUGIN
from scanner.interface import Target
from scanner.model import Evidence
from tests.kubernetes.k8s_objects import binding, role, write_manifests

_counter = itertools.count()
RBAC = "rbac.authorization.k8s.io"


def collect(tmp_path: Path, objects: Sequence[Mapping[str, Any]]) -> Evidence:
    """Collect the objects offline through the real plugin."""
    path = write_manifests(tmp_path / f"rbac{next(_counter)}.yaml", objects)
    target = PLUGIN.parse_target(f"manifests:{path}")
    return PLUGIN.collect(Target(id="t", kind=target.kind, url=target.url), {}, 30.0)


def authorizer(
    tmp_path: Path, objects: Sequence[Mapping[str, Any]], aggregation: Literal["stored", "converged"] = "stored"
) -> Authorizer:
    """An Authorizer over the objects as collected."""
    return Authorizer.from_evidence(collect(tmp_path, objects), aggregation)


def user(name: str) -> dict[str, str]:
    """A User subject."""
    return {"kind": "User", "name": name, "apiGroup": RBAC}


def group(name: str) -> dict[str, str]:
    """A Group subject."""
    return {"kind": "Group", "name": name, "apiGroup": RBAC}


def res(verb: str, resource: str, ns: str = "", group: str = "", sub: str = "", name: str = "") -> ResourceAttributes:
    """Resource attributes, positional in the order questions are usually asked."""
    return ResourceAttributes(verb, group, resource, sub, name, ns)


def test_role_binding_grants_in_its_namespace_only(tmp_path: Path) -> None:
    # reference: "Role example" pod-reader + "RoleBinding examples" read-pods for user jane
    authz = authorizer(
        tmp_path,
        [
            role(
                "Role",
                "pod-reader",
                [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}],
                "default",
            ),
            binding("RoleBinding", "read-pods", "Role", "pod-reader", [user("jane")], "default"),
        ],
    )
    assert authz.allows("jane", [], res("list", "pods", "default"))
    assert authz.allows("jane", [], res("get", "pods", "default", name="web"))
    assert not authz.allows("jane", [], res("delete", "pods", "default", name="web"))
    assert not authz.allows("jane", [], res("list", "pods", "kube-system"))
    assert not authz.allows("jane", [], res("list", "pods"))  # all namespaces: cluster scope
    assert not authz.allows("jane", [], res("list", "pods", "default", group="apps"))
    assert not authz.allows("Jane", [], res("list", "pods", "default"))  # names are case-sensitive
    decision = authz.decide("jane", [], res("list", "pods", "default"))
    assert decision.reason == "RoleBinding default/read-pods of Role default/pod-reader to User:jane, rule 0"


def test_role_binding_to_a_cluster_role_is_scoped_to_the_binding_namespace(tmp_path: Path) -> None:
    # reference: "allows dave to read secrets in the development namespace" (RoleBinding -> ClusterRole)
    secret_reader = role(
        "ClusterRole",
        "secret-reader",
        [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}],
    )
    authz = authorizer(
        tmp_path,
        [
            secret_reader,
            binding("RoleBinding", "read-secrets", "ClusterRole", "secret-reader", [user("dave")], "development"),
            binding("ClusterRoleBinding", "read-secrets-global", "ClusterRole", "secret-reader", [group("manager")]),
        ],
    )
    assert authz.allows("dave", [], res("get", "secrets", "development", name="db"))
    assert not authz.allows("dave", [], res("get", "secrets", "production", name="db"))
    assert not authz.allows("dave", [], res("list", "secrets"))
    # a ClusterRoleBinding grants in every namespace and cluster-wide
    for ns in ("development", "production", ""):
        assert authz.allows("anyone", ["manager"], res("list", "secrets", ns))
    assert not authz.allows("manager", [], res("list", "secrets", "x"))  # a user named like the group is not in it


def test_a_role_binding_resolves_a_role_in_its_own_namespace_and_a_cluster_binding_no_role(tmp_path: Path) -> None:
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    authz = authorizer(
        tmp_path,
        [
            role("Role", "reader", rules, "team-a"),
            binding("RoleBinding", "b", "Role", "reader", [user("u")], "team-b"),  # team-b has no Role reader
            binding(
                "ClusterRoleBinding", "c", "Role", "reader", [user("v")]
            ),  # a ClusterRoleBinding cannot refer to a Role
            binding("RoleBinding", "d", "ClusterRole", "missing", [user("w")], "team-a"),
        ],
    )
    assert not authz.allows("u", [], res("get", "pods", "team-b", name="p"))
    assert not authz.allows("u", [], res("get", "pods", "team-a", name="p"))
    assert not authz.allows("v", [], res("get", "pods", "team-a", name="p"))
    decision = authz.decide("w", [], res("get", "pods", "team-a", name="p"))
    assert not decision.allowed and decision.errors == ("RoleBinding team-a/d: ClusterRole missing not found",)


def test_subresources(tmp_path: Path) -> None:
    # reference: "Referring to resources": pods/log is its own resource string; */scale matches any scale
    authz = authorizer(
        tmp_path,
        [
            role(
                "ClusterRole",
                "logs",
                [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}],
            ),
            role("ClusterRole", "scaler", [{"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["update"]}]),
            role("ClusterRole", "pods-star", [{"apiGroups": [""], "resources": ["pods/*"], "verbs": ["create"]}]),
            role("ClusterRole", "only-pods", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}]),
            binding("ClusterRoleBinding", "l", "ClusterRole", "logs", [user("logs")]),
            binding("ClusterRoleBinding", "s", "ClusterRole", "scaler", [user("scaler")]),
            binding("ClusterRoleBinding", "p", "ClusterRole", "pods-star", [user("star")]),
            binding("ClusterRoleBinding", "o", "ClusterRole", "only-pods", [user("pods")]),
        ],
    )
    assert authz.allows("logs", [], res("get", "pods", "a", sub="log", name="p"))
    assert not authz.allows("logs", [], res("get", "pods", "a", sub="exec", name="p"))
    assert authz.allows("scaler", [], res("update", "deployments", "a", "apps", "scale", "web"))
    assert authz.allows("scaler", [], res("update", "statefulsets", "a", "apps", "scale", "db"))
    assert not authz.allows("scaler", [], res("update", "deployments", "a", "apps", name="web"))
    # `pods/*` is not a wildcard: it matches only a subresource literally named "*"
    assert not authz.allows("star", [], res("create", "pods", "a", sub="exec", name="p"))
    assert authz.allows("star", [], res("create", "pods", "a", sub="*", name="p"))
    # a rule on the resource does not cover its subresources
    assert not authz.allows("pods", [], res("create", "pods", "a", sub="exec", name="p"))
    assert authz.allows("pods", [], res("create", "pods", "a"))


def test_resource_names(tmp_path: Path) -> None:
    # reference: "you cannot restrict create or deletecollection by resourceName"; list/watch without a
    # name (no metadata.name field selector) do not match a rule with resourceNames
    rule = {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["my-configmap"],
        "verbs": ["update", "get", "list", "create", "deletecollection"],
    }
    authz = authorizer(
        tmp_path,
        [role("Role", "cm", [rule], "default"), binding("RoleBinding", "cm", "Role", "cm", [user("u")], "default")],
    )
    assert authz.allows("u", [], res("get", "configmaps", "default", name="my-configmap"))
    assert authz.allows("u", [], res("update", "configmaps", "default", name="my-configmap"))
    assert not authz.allows("u", [], res("get", "configmaps", "default", name="other"))
    assert not authz.allows("u", [], res("list", "configmaps", "default"))
    assert not authz.allows("u", [], res("create", "configmaps", "default"))
    assert not authz.allows("u", [], res("deletecollection", "configmaps", "default"))
    # a list with fieldSelector metadata.name=my-configmap carries the name and is allowed
    assert authz.allows("u", [], res("list", "configmaps", "default", name="my-configmap"))


def test_non_resource_urls(tmp_path: Path) -> None:
    # reference: nonResourceURLs ["/healthz", "/healthz/*"] ('*' in a nonResourceURL is a suffix glob match)
    authz = authorizer(
        tmp_path,
        [
            role("ClusterRole", "health", [{"nonResourceURLs": ["/healthz", "/healthz/*"], "verbs": ["get", "post"]}]),
            role("ClusterRole", "star", [{"nonResourceURLs": ["/metrics*"], "verbs": ["get"]}]),
            role("ClusterRole", "all-urls", [{"nonResourceURLs": ["*"], "verbs": ["get"]}]),
            role("ClusterRole", "all-resources", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
            binding("ClusterRoleBinding", "h", "ClusterRole", "health", [user("h")]),
            binding("ClusterRoleBinding", "s", "ClusterRole", "star", [user("s")]),
            binding("ClusterRoleBinding", "a", "ClusterRole", "all-urls", [user("a")]),
            binding("ClusterRoleBinding", "r", "ClusterRole", "all-resources", [user("r")]),
            # non-resource permissions come from ClusterRoleBindings only
            binding("RoleBinding", "n", "ClusterRole", "all-urls", [user("n")], "default"),
        ],
    )
    assert authz.allows("h", [], NonResourceAttributes("get", "/healthz"))
    assert authz.allows("h", [], NonResourceAttributes("post", "/healthz/etcd"))
    assert not authz.allows("h", [], NonResourceAttributes("get", "/healthzz"))
    assert not authz.allows("h", [], NonResourceAttributes("put", "/healthz"))
    assert authz.allows("s", [], NonResourceAttributes("get", "/metrics"))
    assert authz.allows("s", [], NonResourceAttributes("get", "/metrics/cadvisor"))
    assert authz.allows("a", [], NonResourceAttributes("get", "/anything/at/all"))
    # resource rules never match a non-resource request, and vice versa
    assert not authz.allows("r", [], NonResourceAttributes("get", "/healthz"))
    assert not authz.allows("a", [], res("get", "pods", "default", name="p"))
    assert not authz.allows("n", [], NonResourceAttributes("get", "/version"))
    assert Rule(("get",), non_resource_urls=("/healthz/*",)).allows(NonResourceAttributes("get", "/healthz/"))
    assert not Rule(("get",), non_resource_urls=("/healthz/*",)).allows(NonResourceAttributes("get", "/healthz"))


def test_wildcards(tmp_path: Path) -> None:
    authz = authorizer(
        tmp_path,
        [
            role("ClusterRole", "everything", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
            role("ClusterRole", "any-verb", [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]),
            role("ClusterRole", "any-group", [{"apiGroups": ["*"], "resources": ["secrets"], "verbs": ["get"]}]),
            binding("ClusterRoleBinding", "e", "ClusterRole", "everything", [user("e")]),
            binding("ClusterRoleBinding", "v", "ClusterRole", "any-verb", [user("v")]),
            binding("ClusterRoleBinding", "g", "ClusterRole", "any-group", [user("g")]),
        ],
    )
    assert authz.allows("e", [], res("impersonate", "groups", name="system:masters"))
    assert authz.allows("e", [], res("create", "pods", "x", sub="exec", name="p"))
    assert authz.allows("e", [], res("escalate", "clusterroles", group=RBAC, name="cluster-admin"))
    assert authz.allows("v", [], res("deletecollection", "deployments", "x", "apps"))
    assert not authz.allows("v", [], res("get", "deployments", "x", "apps", "scale", "web"))
    assert authz.allows("g", [], res("get", "secrets", "x", "example.com", name="s"))
    assert not authz.allows("g", [], res("list", "secrets", "x"))


def test_groups_and_service_accounts(tmp_path: Path) -> None:
    # reference: "Referring to subjects" and "Service account permissions"
    objects = [
        role("ClusterRole", "view-pods", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]),
        # all service accounts in namespace qa
        binding("RoleBinding", "qa-sas", "ClusterRole", "view-pods", [group("system:serviceaccounts:qa")], "qa"),
        # a ServiceAccount subject without a namespace in a RoleBinding means the binding's namespace
        binding(
            "RoleBinding", "local-sa", "ClusterRole", "view-pods", [{"kind": "ServiceAccount", "name": "app"}], "team-a"
        ),
        # ... and in a ClusterRoleBinding never matches
        binding(
            "ClusterRoleBinding", "no-ns-sa", "ClusterRole", "view-pods", [{"kind": "ServiceAccount", "name": "app"}]
        ),
        # a User subject literally named like a service account's user name is that user name
        binding(
            "ClusterRoleBinding", "user-sa", "ClusterRole", "view-pods", [user("system:serviceaccount:default:default")]
        ),
        binding("ClusterRoleBinding", "odd", "ClusterRole", "view-pods", [{"kind": "Robot", "name": "r2"}]),
    ]
    authz = authorizer(tmp_path, objects)
    qa = UserInfo.service_account("qa", "tester")
    assert qa.name == "system:serviceaccount:qa:tester"
    assert qa.groups == ("system:serviceaccounts", "system:serviceaccounts:qa", "system:authenticated")
    assert authz.allows(qa.name, qa.groups, res("list", "pods", "qa"))
    assert not authz.allows(qa.name, qa.groups, res("list", "pods", "team-a"))
    app = UserInfo.service_account("team-a", "app")
    assert authz.allows(app.name, app.groups, res("list", "pods", "team-a"))
    assert not authz.allows(app.name, app.groups, res("list", "pods", "default"))
    other = UserInfo.service_account("team-b", "app")
    assert not authz.allows(other.name, other.groups, res("list", "pods", "team-b"))
    default = UserInfo.service_account("default", "default")
    assert authz.allows(default.name, default.groups, res("list", "pods"))
    assert not authz.allows("r2", [], res("list", "pods"))
    # who can list pods cluster-wide: exactly the subjects of user-sa (no namespace-less SA, no Robot)
    assert [s.id for s, _ in authz.subjects_allowed(res("list", "pods"))] == [
        "User:system:serviceaccount:default:default"
    ]
    in_team_a = {s.id for s, _ in authz.subjects_allowed(res("list", "pods", "team-a"))}
    assert in_team_a == {"User:system:serviceaccount:default:default", "ServiceAccount:team-a/app"}
    # what can the service account do, in every namespace
    grants = authz.grants_for(app.name, app.groups, None)
    assert [(g.binding_label, g.scope, g.subject.id) for g in grants] == [
        ("RoleBinding team-a/local-sa", "team-a", "ServiceAccount:team-a/app")
    ]


def test_aggregation_stored_and_converged(tmp_path: Path) -> None:
    # reference: "Aggregated ClusterRoles": the controller fills in the rules of the aggregated role
    selector = {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}]}
    monitoring = role("ClusterRole", "monitoring", [])
    monitoring["aggregationRule"] = selector
    endpoints = role(
        "ClusterRole",
        "monitoring-endpoints",
        [{"apiGroups": [""], "resources": ["services", "endpointslices", "pods"], "verbs": ["get", "list", "watch"]}],
        labels={"rbac.example.com/aggregate-to-monitoring": "true"},
    )
    unlabelled = role("ClusterRole", "secrets", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}])
    objects = [
        monitoring,
        endpoints,
        unlabelled,
        binding("ClusterRoleBinding", "m", "ClusterRole", "monitoring", [user("m")]),
    ]
    question = res("list", "pods", "default")
    # the API server authorizes on stored rules: the manifest's are empty
    assert not authorizer(tmp_path, objects).allows("m", [], question)
    converged = authorizer(tmp_path, objects, "converged")
    assert converged.allows("m", [], question)
    assert not converged.allows("m", [], res("get", "secrets", "default", name="s"))
    # stored rules (as the controller wrote them on a live cluster) are authorized on as they are
    stored = role("ClusterRole", "monitoring", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}])
    stored["aggregationRule"] = selector
    assert authorizer(tmp_path, [stored, objects[3]]).allows("m", [], question)


def test_label_selectors_of_aggregation(tmp_path: Path) -> None:
    def cluster_role(name: str, labels: Mapping[str, str]) -> dict[str, Any]:
        return role("ClusterRole", name, [{"apiGroups": [""], "resources": [name], "verbs": ["get"]}], labels=labels)

    others = [
        cluster_role("a", {"tier": "x"}),
        cluster_role("b", {"tier": "y"}),
        cluster_role("c", {}),
        cluster_role("d", {"tier": "x", "legacy": "1"}),
    ]

    def selected(*selectors: Mapping[str, Any]) -> list[str]:
        agg = role("ClusterRole", "agg", [], labels={"tier": "x"})
        agg["aggregationRule"] = {"clusterRoleSelectors": list(selectors)}
        evidence = collect(tmp_path, [agg, *others])
        slim_agg = next(r for r in evidence.section("clusterroles") if r["metadata"]["name"] == "agg")
        rules = aggregated_rules(slim_agg, evidence.section("clusterroles")) or []
        return sorted(r.resources[0] for r in rules)

    assert selected({"matchLabels": {"tier": "x"}}) == ["a", "d"]  # never itself
    assert selected({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["x", "y"]}]}) == ["a", "b", "d"]
    assert selected({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["x"]}]}) == ["b", "c"]
    assert selected({"matchExpressions": [{"key": "legacy", "operator": "Exists"}]}) == ["d"]
    assert selected({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}) == ["c"]
    assert selected(
        {"matchLabels": {"tier": "x"}, "matchExpressions": [{"key": "legacy", "operator": "DoesNotExist"}]}
    ) == ["a"]
    assert selected({"matchLabels": {"tier": "y"}}, {"matchLabels": {"tier": "x"}}) == ["a", "b", "d"]
    assert selected({}) == ["a", "b", "c", "d"]  # an empty selector selects every ClusterRole


def test_slim_evidence_keeps_what_the_authorizer_needs(tmp_path: Path) -> None:
    agg = role(
        "ClusterRole",
        "agg",
        [{"apiGroups": ["x"], "resources": ["y"], "resourceNames": ["z"], "verbs": ["get"]}],
        labels={"l": "v"},
    )
    agg["aggregationRule"] = {
        "clusterRoleSelectors": [{"matchExpressions": [{"key": "l", "operator": "In", "values": ["v"]}]}]
    }
    b = binding(
        "RoleBinding",
        "b",
        "ClusterRole",
        "agg",
        [{"kind": "ServiceAccount", "name": "sa", "namespace": "n", "apiGroup": ""}, user("u")],
        "team-a",
    )
    evidence = collect(tmp_path, [agg, b])
    [slim_role] = evidence.section("clusterroles")
    assert slim_role["metadata"]["uid"] == "uid-None-agg" and slim_role["metadata"]["labels"] == {"l": "v"}
    assert slim_role["rules"] == [{"apiGroups": ["x"], "resources": ["y"], "verbs": ["get"], "resourceNames": ["z"]}]
    assert slim_role["aggregationRule"] == agg["aggregationRule"]
    [slim_binding] = evidence.section("rolebindings")
    assert slim_binding["roleRef"] == {"kind": "ClusterRole", "name": "agg", "apiGroup": RBAC}
    assert slim_binding["subjects"] == [{"kind": "ServiceAccount", "name": "sa", "namespace": "n"}, user("u")]
    assert slim_binding["metadata"]["uid"] == "uid-team-a-b"


@pytest.mark.parametrize(
    ("owner", "requested", "covered"),
    [
        (
            [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            [{"apiGroups": [""], "resources": ["pods", "pods/exec"], "verbs": ["create"]}],
            True,
        ),
        (
            [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
            [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
            True,
        ),
        (
            [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
            [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "delete"]}],
            False,
        ),
        (
            [{"apiGroups": [""], "resources": ["*/status"], "verbs": ["get"]}],
            [{"apiGroups": [""], "resources": ["pods/status"], "verbs": ["get"]}],
            True,
        ),
        (
            [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"], "verbs": ["get"]}],
            [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
            False,
        ),
        (
            [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
            [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"], "verbs": ["get"]}],
            True,
        ),
        (
            [{"nonResourceURLs": ["/healthz/*"], "verbs": ["get"]}],
            [{"nonResourceURLs": ["/healthz/ready"], "verbs": ["get"]}],
            True,
        ),
        (
            [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}],
            [{"nonResourceURLs": ["/healthz/*"], "verbs": ["get"]}],
            False,
        ),
        # a requested wildcard is covered only by a wildcard
        (
            [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get"]}],
            [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}],
            False,
        ),
    ],
)
def test_covers(owner: list[dict[str, Any]], requested: list[dict[str, Any]], covered: bool) -> None:
    ok, missing = covers([Rule.from_mapping(r) for r in owner], [Rule.from_mapping(r) for r in requested])
    assert ok is covered and bool(missing) is not covered


def test_subject_identities() -> None:
    assert Subject.from_mapping({"kind": "ServiceAccount", "name": "a"}, "ns").id == "ServiceAccount:ns/a"
    assert Subject.from_mapping({"kind": "User", "name": "a", "namespace": "ns"}, "x").id == "User:a"
    assert UserInfo.of_subject(Subject("Group", "g")) == UserInfo("", ("g",))
    assert UserInfo.of_subject(Subject("User", "u")) == UserInfo("u", ("system:authenticated",))


def test_grants_everywhere_equals_a_scan_of_every_binding() -> None:
    """The subject index of `grants_for(..., None)` finds exactly what scanning every binding finds."""
    import random

    seed = 20261201
    rng = random.Random(seed)
    names = ["a", "b", "system:serviceaccount:n1:a", "system:masters"]
    namespaces = ["n1", "n2"]

    def subject() -> dict[str, str]:
        kind = rng.choice(["User", "Group", "ServiceAccount", "Robot"])
        out = {"kind": kind, "name": rng.choice(names[:2]) if kind == "ServiceAccount" else rng.choice(names)}
        if kind == "ServiceAccount" and rng.random() < 0.7:
            out["namespace"] = rng.choice(namespaces)
        return out

    def slim_binding(kind: str, i: int) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": f"b{i}"}
        if kind == "RoleBinding":
            meta["namespace"] = rng.choice(namespaces)
        return {
            "metadata": meta,
            "roleRef": {"kind": "ClusterRole", "name": "r"},
            "subjects": [subject() for _ in range(rng.randint(0, 3))],
        }

    sections = {
        "clusterroles": [
            {"metadata": {"name": "r"}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}
        ],
        "clusterrolebindings": [slim_binding("ClusterRoleBinding", i) for i in range(40)],
        "rolebindings": [slim_binding("RoleBinding", i) for i in range(40)],
    }
    authz = Authorizer.from_sections(sections)
    identities = [UserInfo(n, (g,)) for n in names for g in names] + [
        UserInfo.service_account(ns, n) for ns in namespaces for n in names[:2]
    ]
    for identity in identities:
        expected = []
        for kind, ns, name, _, _, subjects in authz.bindings():
            hit = next((s for s in subjects if s.applies_to(identity.name, identity.groups)), None)
            if hit is not None:
                expected.append((kind, ns, name, hit))
        grants = authz.grants_for(identity.name, identity.groups, None)
        got = [(g.binding_kind, g.binding_namespace, g.binding_name, g.subject) for g in grants]
        assert got == expected, f"seed {seed}, {identity}"
        grants.clear()  # the caller's list: the answer kept for the next question is not touched
        again = authz.grants_for(identity.name, identity.groups, None)
        uncached = authz.grants_for(identity.name, list(identity.groups), None)  # groups not a tuple: not kept
        for answer in (again, uncached):
            assert [(g.binding_kind, g.binding_namespace, g.binding_name, g.subject) for g in answer] == expected
