"""Kubernetes RBAC read as the API server reads it: a pure authorizer over collected evidence.

This module mirrors the upstream RBAC authorizer (`plugin/pkg/auth/authorizer/rbac/rbac.go`),
its rule resolver (`pkg/registry/rbac/validation/rule.go`) and the rule matching helpers
(`pkg/apis/rbac/v1/evaluation_helpers.go`):

- A request is allowed when any rule of any role bound to the user allows it; RBAC never denies.
  Only ClusterRoleBindings apply to a cluster-scoped request; a namespaced request also sees the
  RoleBindings of its namespace. A RoleBinding to a ClusterRole grants that ClusterRole's rules in
  the binding's namespace only. A binding whose role does not exist grants nothing.
- Subjects: `User` matches the user name exactly, `Group` one of the user's groups exactly,
  `ServiceAccount` the user `system:serviceaccount:<namespace>:<name>` (a RoleBinding's subject
  without a namespace means the binding's namespace; a ClusterRoleBinding's never matches). A
  `User` subject literally named `system:serviceaccount:ns:sa` therefore does match that service
  account's user name, as it does on a real server. The subject's `apiGroup` is not consulted.
- Resource rules: a verb matches when the rule lists it or `*`; an API group when listed or `*`;
  a resource when the rule lists `*`, exactly `resource` (or `resource/subresource` for a
  subresource request), or `*/subresource` (`pods/*` matches nothing but a subresource literally
  named `*`). `resourceNames` restrict a rule to requests naming one of them: a request without
  a name (list, watch, create, deletecollection) never matches a rule with resourceNames.
- Non-resource rules (`nonResourceURLs`): `*`, the exact path, or a prefix ending in `*`
  (`/healthz/*` matches `/healthz/` and below, not `/healthz`); a resource rule never matches a
  non-resource request and vice versa.
- Aggregation: the API server authorizes on the *stored* `rules` of a ClusterRole; the
  aggregation controller keeps an aggregated ClusterRole's stored rules equal to the union of the
  rules of the ClusterRoles its `aggregationRule` selects (the role itself excluded). `from_evidence`
  uses the stored rules (`aggregation="stored"`, exactly what a SubjectAccessReview answers) or
  the stored rules plus those the controller will write (`aggregation="converged"`: what the role
  grants now or after the next reconciliation; offline manifests carry no computed rules).

What this module does not model, and a SubjectAccessReview does: the `system:masters` group is
allowed everything by the API server before RBAC is asked (`SUPERUSER_GROUP`), the Node
authorizer answers for `system:node:*` users, and webhook authorizers may add permissions.

Public API (stable: the differential test against a real API server uses it):
`Authorizer.from_evidence(evidence)`, `Authorizer.allows(user, groups, attributes)`,
`Authorizer.decide(...)`, `Authorizer.grants_for(user, groups, namespace)` ("what can S do"),
`Authorizer.subjects_allowed(attributes)` ("who can do X"), `ResourceAttributes`,
`NonResourceAttributes`, `Rule`, `Subject`, `UserInfo`, `Grant`, `Decision`, `covers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from scanner.model import Evidence

SUPERUSER_GROUP = "system:masters"
"""The group the API server allows everything before RBAC is consulted (not an RBAC rule)."""

SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
"""Prefix of a service account's user name: `system:serviceaccount:<namespace>:<name>`."""

ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
"""The group every service account is in."""

AUTHENTICATED = "system:authenticated"
"""The group every authenticated identity is in."""

SUBJECT_KINDS = ("User", "Group", "ServiceAccount")
"""The subject kinds that can apply to a request (any other kind never matches)."""

ALL = "*"
"""The wildcard of verbs, apiGroups, resources and nonResourceURLs."""


@dataclass(frozen=True)
class ResourceAttributes:
    """A request on a resource, as the API server's request info resolver describes it."""

    verb: str
    """get, list, watch, create, update, patch, delete, deletecollection, or a special verb
    (bind, escalate, impersonate, approve, sign, use, ...)."""
    api_group: str = ""
    """API group (`""` for the core group)."""
    resource: str = ""
    """Plural resource name, e.g. `pods`."""
    subresource: str = ""
    """Subresource, e.g. `exec` (empty for the resource itself)."""
    name: str = ""
    """Object name (empty for list, watch, create of a collection, deletecollection)."""
    namespace: str = ""
    """Namespace (empty for a cluster-scoped request)."""


@dataclass(frozen=True)
class NonResourceAttributes:
    """A request on a non-resource URL (`/healthz`, `/metrics`, `/version`)."""

    verb: str
    """HTTP verb in lower case as RBAC spells it: get, post, put, delete, ..."""
    path: str
    """The URL path."""


Attributes = ResourceAttributes | NonResourceAttributes
"""What a request asks for."""


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(v if isinstance(v, str) else str(v) for v in value)


@dataclass(frozen=True)
class Rule:
    """One PolicyRule of a Role or ClusterRole."""

    verbs: tuple[str, ...] = ()
    """Verbs, `*` for all."""
    api_groups: tuple[str, ...] = ()
    """API groups, `*` for all."""
    resources: tuple[str, ...] = ()
    """Resources, `resource/subresource`, `*/subresource` or `*`."""
    resource_names: tuple[str, ...] = ()
    """Object names the rule is limited to (empty: any)."""
    non_resource_urls: tuple[str, ...] = ()
    """Non-resource URL paths (`*` suffix for a prefix)."""

    @classmethod
    def from_mapping(cls, rule: Mapping[str, Any]) -> Rule:
        """A rule from a slim (or full) PolicyRule mapping with Kubernetes field names."""
        return cls(
            _strings(rule.get("verbs")),
            _strings(rule.get("apiGroups")),
            _strings(rule.get("resources")),
            _strings(rule.get("resourceNames")),
            _strings(rule.get("nonResourceURLs")),
        )

    def to_mapping(self) -> dict[str, list[str]]:
        """The rule with Kubernetes field names (empty fields left out)."""
        fields = (
            ("apiGroups", self.api_groups),
            ("resources", self.resources),
            ("resourceNames", self.resource_names),
            ("nonResourceURLs", self.non_resource_urls),
            ("verbs", self.verbs),
        )
        return {key: list(values) for key, values in fields if values}

    def describe(self) -> str:
        """A short human-readable form, e.g. `get,list secrets` or `get /healthz/*`."""
        verbs = ",".join(self.verbs)
        if self.non_resource_urls and not self.resources:
            return f"{verbs} {','.join(self.non_resource_urls)}"
        groups = ",".join(g or "core" for g in self.api_groups)
        text = f"{verbs} {','.join(self.resources)} (apiGroups {groups})"
        if self.resource_names:
            text += f" named {','.join(self.resource_names)}"
        return text

    def verb_matches(self, verb: str) -> bool:
        """`VerbMatches`: the rule lists the verb or `*`."""
        return ALL in self.verbs or verb in self.verbs

    def api_group_matches(self, group: str) -> bool:
        """`APIGroupMatches`: the rule lists the group or `*`."""
        return ALL in self.api_groups or group in self.api_groups

    def resource_matches(self, resource: str, subresource: str = "") -> bool:
        """`ResourceMatches`: `*`, the exact (combined) resource, or `*/subresource`."""
        combined = f"{resource}/{subresource}" if subresource else resource
        for granted in self.resources:
            if granted in (ALL, combined):
                return True
            if subresource and granted == f"*/{subresource}":
                return True
        return False

    def resource_name_matches(self, name: str) -> bool:
        """`ResourceNameMatches`: no resourceNames, or the requested name is one of them."""
        return not self.resource_names or name in self.resource_names

    def non_resource_url_matches(self, path: str) -> bool:
        """`NonResourceURLMatches`: `*`, the exact path, or a `prefix*` the path starts with."""
        for url in self.non_resource_urls:
            if url in (ALL, path):
                return True
            if url.endswith(ALL) and path.startswith(url.rstrip(ALL)):
                return True
        return False

    def allows(self, attributes: Attributes) -> bool:
        """`RuleAllows`: whether this rule allows the request."""
        if isinstance(attributes, ResourceAttributes):
            return (
                self.verb_matches(attributes.verb)
                and self.api_group_matches(attributes.api_group)
                and self.resource_matches(attributes.resource, attributes.subresource)
                and self.resource_name_matches(attributes.name)
            )
        return self.verb_matches(attributes.verb) and self.non_resource_url_matches(attributes.path)


def _rule_covers(owner: Rule, request: Rule) -> bool:
    """Whether `owner` covers a fully broken-down `request` rule (one value per field)."""
    if not all(owner.verb_matches(v) for v in request.verbs):
        return False
    if request.non_resource_urls:
        return all(owner.non_resource_url_matches(u) for u in request.non_resource_urls)
    if not all(owner.api_group_matches(g) for g in request.api_groups):
        return False
    for resource in request.resources:
        if resource in owner.resources or ALL in owner.resources:
            continue
        sub = resource.partition("/")[2]
        if sub and f"*/{sub}" in owner.resources:
            continue
        return False
    if not owner.resource_names:
        return True
    return bool(request.resource_names) and all(n in owner.resource_names for n in request.resource_names)


def _breakdown(rule: Rule) -> Iterator[Rule]:
    """`BreakdownRule`: one rule per (verb, group, resource, name) or (verb, URL)."""
    for verb in rule.verbs:
        for group in rule.api_groups:
            for resource in rule.resources:
                if rule.resource_names:
                    for name in rule.resource_names:
                        yield Rule((verb,), (group,), (resource,), (name,))
                else:
                    yield Rule((verb,), (group,), (resource,))
        for url in rule.non_resource_urls:
            yield Rule((verb,), non_resource_urls=(url,))


def covers(owner: Sequence[Rule], requested: Sequence[Rule]) -> tuple[bool, list[Rule]]:
    """`validation.Covers`: whether the rules of `owner` grant everything `requested` grants.

    Returns (covered, the broken-down requested rules that are not covered). Wildcards in a
    requested rule are compared literally (a requested `*` is covered only by an owner `*`).
    """
    missing = [r for rule in requested for r in _breakdown(rule) if not any(_rule_covers(o, r) for o in owner)]
    return not missing, missing


@dataclass(frozen=True)
class Subject:
    """A subject of a binding, as written in it."""

    kind: str
    """User, Group or ServiceAccount (anything else never matches)."""
    name: str
    """The user, group or service account name."""
    namespace: str = ""
    """A ServiceAccount's namespace (for a RoleBinding, empty means the binding's namespace)."""

    @classmethod
    def from_mapping(cls, subject: Mapping[str, Any], binding_namespace: str = "") -> Subject:
        """A subject of a slim binding; a ServiceAccount without a namespace gets `binding_namespace`."""
        kind = str(subject.get("kind") or "")
        namespace = str(subject.get("namespace") or "")
        if kind == "ServiceAccount" and not namespace:
            namespace = binding_namespace
        return cls(kind, str(subject.get("name") or ""), namespace if kind == "ServiceAccount" else "")

    @property
    def id(self) -> str:
        """`Kind:name`, or `ServiceAccount:namespace/name`, as allow-lists spell subjects."""
        if self.kind == "ServiceAccount":
            return f"ServiceAccount:{self.namespace}/{self.name}"
        return f"{self.kind}:{self.name}"

    def applies_to(self, user: str, groups: Iterable[str]) -> bool:
        """`appliesToUser` (the namespace already resolved): whether this subject is the user."""
        if self.kind == "User":
            return user == self.name
        if self.kind == "Group":
            return self.name in groups
        if self.kind == "ServiceAccount":
            return bool(self.namespace) and user == f"{SERVICE_ACCOUNT_PREFIX}{self.namespace}:{self.name}"
        return False


@dataclass(frozen=True)
class UserInfo:
    """An authenticated identity: a user name and its groups."""

    name: str
    """The user name."""
    groups: tuple[str, ...] = ()
    """The groups the authenticator gave it."""

    @classmethod
    def service_account(cls, namespace: str, name: str) -> UserInfo:
        """The identity a service account's token authenticates as."""
        return cls(
            f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
            (ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED),
        )

    @classmethod
    def of_subject(cls, subject: Subject) -> UserInfo:
        """The narrowest identity a binding subject stands for (a Group: a nameless member only)."""
        if subject.kind == "ServiceAccount":
            return cls.service_account(subject.namespace, subject.name)
        if subject.kind == "Group":
            return cls("", (subject.name,))
        return cls(subject.name, (AUTHENTICATED,))


@dataclass(frozen=True)
class Grant:
    """Rules one binding gives one subject, and where they apply."""

    binding_kind: str
    """ClusterRoleBinding or RoleBinding."""
    binding_name: str
    """The binding's name."""
    binding_namespace: str
    """The RoleBinding's namespace (empty for a ClusterRoleBinding)."""
    role_kind: str
    """ClusterRole or Role."""
    role_name: str
    """The referenced role's name."""
    rules: tuple[Rule, ...]
    """The role's rules (empty when the role does not exist)."""
    subject: Subject
    """The binding subject that matched (namespace resolved)."""
    role_found: bool = True
    """False when the referenced role is not in the evidence (the binding grants nothing)."""

    @property
    def scope(self) -> str:
        """The namespace the rules apply in, `*` for every namespace and cluster-scoped requests."""
        return self.binding_namespace or ALL

    @property
    def binding_label(self) -> str:
        """`ClusterRoleBinding name` or `RoleBinding ns/name`, for messages."""
        if self.binding_namespace:
            return f"{self.binding_kind} {self.binding_namespace}/{self.binding_name}"
        return f"{self.binding_kind} {self.binding_name}"

    @property
    def role_label(self) -> str:
        """`ClusterRole name` or `Role ns/name`, for messages."""
        if self.role_kind == "Role":
            return f"Role {self.binding_namespace}/{self.role_name}"
        return f"ClusterRole {self.role_name}"


@dataclass(frozen=True)
class Decision:
    """The answer to one request."""

    allowed: bool
    """Whether some rule allows it."""
    reason: str = ""
    """The binding, role and rule that allowed it (empty when not allowed)."""
    grant: Grant | None = None
    """The grant that allowed it."""
    errors: tuple[str, ...] = field(default_factory=tuple)
    """Bindings visited whose role could not be resolved (as the API server logs them)."""


def _label_selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """`metav1.LabelSelectorAsSelector(...).Matches`: matchLabels and matchExpressions all hold."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or ():
        key = expression.get("key", "")
        operator = expression.get("operator")
        values = expression.get("values") or ()
        if operator == "In":
            if key not in labels or labels[key] not in values:
                return False
        elif operator == "NotIn":
            if key in labels and labels[key] in values:
                return False
        elif operator == "Exists":
            if key not in labels:
                return False
        elif operator == "DoesNotExist":
            if key in labels:
                return False
        else:  # the API server rejects other operators; an unknown one selects nothing
            return False
    return True


def selected_roles(role: Mapping[str, Any], cluster_roles: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The other ClusterRoles an aggregated ClusterRole's selectors pick, by name (empty without one).

    An empty selector matches every ClusterRole; the role itself is never selected.
    """
    aggregation = role.get("aggregationRule")
    if not isinstance(aggregation, Mapping):
        return []
    name = role["metadata"].get("name")
    selected: dict[str, Mapping[str, Any]] = {}
    for selector in aggregation.get("clusterRoleSelectors") or ():
        for other in cluster_roles:
            other_name = str(other["metadata"].get("name", ""))
            if other_name == name or other_name in selected:
                continue
            if _label_selector_matches(selector, other["metadata"].get("labels") or {}):
                selected[other_name] = other
    return [selected[n] for n in sorted(selected)]


def aggregated_rules(role: Mapping[str, Any], cluster_roles: Sequence[Mapping[str, Any]]) -> list[Rule] | None:
    """The rules the aggregation controller writes into `role` in one pass, or None without an aggregationRule.

    The union (first occurrence kept, in order of role name) of the stored rules of every other
    ClusterRole that one of the selectors matches.
    """
    if not isinstance(role.get("aggregationRule"), Mapping):
        return None
    rules: list[Rule] = []
    for other in selected_roles(role, cluster_roles):
        for raw in other.get("rules") or ():
            rule = Rule.from_mapping(raw)
            if rule not in rules:
                rules.append(rule)
    return rules


def converged_rules(cluster_roles: Sequence[Mapping[str, Any]]) -> dict[str, list[Rule]]:
    """ClusterRole name -> stored rules plus everything aggregation gives it once the controller settles.

    Aggregation chains (`edit` aggregates `view`, itself aggregated) are followed to a fixed
    point: the controller rewrites a role whenever one it selects changes.
    """
    current: dict[str, list[Rule]] = {}
    for role in cluster_roles:
        rules = current.setdefault(str(role["metadata"].get("name", "")), [])
        for raw in role.get("rules") or ():
            rule = Rule.from_mapping(raw)
            if rule not in rules:
                rules.append(rule)
    aggregated = [(r, selected_roles(r, cluster_roles)) for r in cluster_roles if r.get("aggregationRule")]
    for _ in range(len(aggregated) + 1):
        changed = False
        for role, selected in aggregated:
            rules = current[str(role["metadata"].get("name", ""))]
            for other in selected:
                for rule in list(current[str(other["metadata"].get("name", ""))]):
                    if rule not in rules:
                        rules.append(rule)
                        changed = True
        if not changed:
            break
    return current


@dataclass(frozen=True)
class _Binding:
    kind: str
    name: str
    namespace: str
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]


class Authorizer:
    """RBAC decisions over the Roles, ClusterRoles and bindings of one cluster's evidence."""

    def __init__(
        self,
        cluster_roles: Mapping[str, Sequence[Rule]],
        roles: Mapping[tuple[str, str], Sequence[Rule]],
        cluster_role_bindings: Sequence[Mapping[str, Any]],
        role_bindings: Sequence[Mapping[str, Any]],
    ) -> None:
        """Build from resolved rules (ClusterRole name / (namespace, Role name) -> rules) and slim bindings."""
        self.cluster_roles: dict[str, tuple[Rule, ...]] = {k: tuple(v) for k, v in cluster_roles.items()}
        """ClusterRole name -> the rules the authorizer uses."""
        self.roles: dict[tuple[str, str], tuple[Rule, ...]] = {k: tuple(v) for k, v in roles.items()}
        """(namespace, Role name) -> rules."""
        self._cluster_bindings = [self._binding("ClusterRoleBinding", b) for b in cluster_role_bindings]
        self._bindings_by_ns: dict[str, list[_Binding]] = {}
        for raw in role_bindings:
            binding = self._binding("RoleBinding", raw)
            self._bindings_by_ns.setdefault(binding.namespace, []).append(binding)
        # subject -> (visit order, binding, subject): grants_for over every namespace without a full scan
        self._by_subject: dict[Subject, list[tuple[int, _Binding, Subject]]] = {}
        for order, binding in enumerate(self._visit("", every_namespace=True)):
            for subject in binding.subjects:
                entries = self._by_subject.setdefault(subject, [])
                if not entries or entries[-1][1] is not binding:
                    entries.append((order, binding, subject))
        self._everywhere: dict[tuple[str, tuple[str, ...]], tuple[Grant, ...]] = {}
        """(user, groups) -> `grants_for(user, groups, None)`: every workload of an account asks again."""
        self._grant_of: dict[tuple[int, int], Grant] = {}
        """(binding visit order, position of the subject in it) -> its Grant (shared: a Grant is immutable)."""

    @staticmethod
    def _binding(kind: str, raw: Mapping[str, Any]) -> _Binding:
        meta = raw.get("metadata") or {}
        namespace = str(meta.get("namespace") or "") if kind == "RoleBinding" else ""
        ref = raw.get("roleRef") or {}
        subjects = tuple(Subject.from_mapping(s, namespace) for s in raw.get("subjects") or ())
        return _Binding(
            kind, str(meta.get("name", "")), namespace, str(ref.get("kind", "")), str(ref.get("name", "")), subjects
        )

    @classmethod
    def from_sections(
        cls,
        sections: Mapping[str, Sequence[Mapping[str, Any]]],
        aggregation: Literal["stored", "converged"] = "stored",
    ) -> Authorizer:
        """Build from the slim `clusterroles`, `roles`, `clusterrolebindings`, `rolebindings` sections.

        `aggregation="stored"` authorizes on stored rules, as the API server does;
        `"converged"` adds, for each aggregated ClusterRole, the rules the aggregation controller
        computes from the selected ClusterRoles, chains followed (`converged_rules`: what the
        role grants once reconciled).
        """
        raw_cluster_roles = list(sections.get("clusterroles") or ())
        cluster_roles: dict[str, list[Rule]] = {}
        if aggregation == "converged":
            cluster_roles = converged_rules(raw_cluster_roles)
        else:
            for role in raw_cluster_roles:
                name = str(role["metadata"].get("name", ""))
                cluster_roles.setdefault(name, []).extend(Rule.from_mapping(r) for r in role.get("rules") or ())
        roles: dict[tuple[str, str], list[Rule]] = {}
        for role in sections.get("roles") or ():
            meta = role["metadata"]
            key = (str(meta.get("namespace") or ""), str(meta.get("name", "")))
            roles.setdefault(key, []).extend(Rule.from_mapping(r) for r in role.get("rules") or ())
        return cls(
            cluster_roles,
            roles,
            list(sections.get("clusterrolebindings") or ()),
            list(sections.get("rolebindings") or ()),
        )

    @classmethod
    def from_evidence(cls, evidence: Evidence, aggregation: Literal["stored", "converged"] = "stored") -> Authorizer:
        """Build from a Kubernetes target's Evidence (sections clusterroles, roles, *bindings)."""
        sections = {
            name: evidence.section(name) for name in ("clusterroles", "roles", "clusterrolebindings", "rolebindings")
        }
        return cls.from_sections(sections, aggregation)

    def _role_rules(self, binding: _Binding) -> tuple[Rule, ...] | None:
        if binding.role_kind == "ClusterRole":
            return self.cluster_roles.get(binding.role_name)
        if binding.role_kind == "Role" and binding.kind == "RoleBinding":
            return self.roles.get((binding.namespace, binding.role_name))
        return None

    def _grants(self, binding: _Binding, subject: Subject) -> Grant:
        rules = self._role_rules(binding)
        return Grant(
            binding.kind,
            binding.name,
            binding.namespace,
            binding.role_kind,
            binding.role_name,
            rules or (),
            subject,
            rules is not None,
        )

    def _visit(self, namespace: str, every_namespace: bool = False) -> Iterator[_Binding]:
        yield from self._cluster_bindings
        if every_namespace:
            for bindings in self._bindings_by_ns.values():
                yield from bindings
        elif namespace:
            yield from self._bindings_by_ns.get(namespace, ())

    def grants_for(self, user: str, groups: Sequence[str], namespace: str | None = None) -> list[Grant]:
        """What the user can do: one Grant per binding that applies to it (`VisitRulesFor`).

        `namespace` "" gives the cluster-scoped view (ClusterRoleBindings only), a name adds that
        namespace's RoleBindings, None gives every namespace's (each Grant says its scope).
        """
        if namespace is None:
            return self._grants_everywhere(user, groups)
        found = []
        for binding in self._visit(namespace):
            for subject in binding.subjects:
                if subject.applies_to(user, groups):
                    found.append(self._grants(binding, subject))
                    break
        return found

    def _grants_everywhere(self, user: str, groups: Sequence[str]) -> list[Grant]:
        """`grants_for(..., None)` through the subject index (same bindings, same order), once per identity.

        The roles and bindings do not change once the Authorizer is built, so neither does the answer.
        """
        if type(user) is not str or type(groups) is not tuple or any(type(g) is not str for g in groups):
            return list(self._find_everywhere(user, groups))
        key = (user, groups)
        found = self._everywhere.get(key)
        if found is None:
            found = self._everywhere[key] = self._find_everywhere(user, groups)
        return list(found)

    def _find_everywhere(self, user: str, groups: Sequence[str]) -> tuple[Grant, ...]:
        candidates = [Subject("User", user), *(Subject("Group", g) for g in groups)]
        if user.startswith(SERVICE_ACCOUNT_PREFIX):
            namespace, _, name = user[len(SERVICE_ACCOUNT_PREFIX) :].partition(":")
            if namespace and name and ":" not in name:
                candidates.append(Subject("ServiceAccount", name, namespace))
        hits: dict[int, tuple[_Binding, Subject]] = {}
        for candidate in candidates:
            for order, binding, subject in self._by_subject.get(candidate, ()):
                if order not in hits and subject.applies_to(user, groups):
                    hits[order] = (binding, subject)
        found = []
        for order in sorted(hits):
            binding, _ = hits[order]
            # the first subject of the binding that applies, as the full scan reports it
            position = next(i for i, s in enumerate(binding.subjects) if s.applies_to(user, groups))
            grant = self._grant_of.get((order, position))
            if grant is None:
                grant = self._grant_of[order, position] = self._grants(binding, binding.subjects[position])
            found.append(grant)
        return tuple(found)

    def decide(self, user: str, groups: Sequence[str], attributes: Attributes) -> Decision:
        """The RBAC decision on one request, with the grant that allowed it."""
        namespace = attributes.namespace if isinstance(attributes, ResourceAttributes) else ""
        errors = []
        for grant in self.grants_for(user, groups, namespace):
            if not grant.role_found:
                errors.append(f"{grant.binding_label}: {grant.role_label} not found")
                continue
            for index, rule in enumerate(grant.rules):
                if rule.allows(attributes):
                    reason = f"{grant.binding_label} of {grant.role_label} to {grant.subject.id}, rule {index}"
                    return Decision(True, reason, grant, tuple(errors))
        return Decision(False, errors=tuple(errors))

    def allows(self, user: str, groups: Sequence[str], attributes: Attributes) -> bool:
        """Whether RBAC allows the request (True only on a matching rule; RBAC never denies)."""
        return self.decide(user, groups, attributes).allowed

    def subjects_allowed(self, attributes: Attributes) -> list[tuple[Subject, Grant]]:
        """Who can do it (`SubjectAccessEvaluator.AllowedSubjects`): every binding subject whose binding allows it.

        Subjects are returned as the bindings name them (ServiceAccount namespaces resolved), once
        per subject with the first grant found; subjects that can never apply (an unknown kind, a
        ClusterRoleBinding's ServiceAccount without a namespace) are left out. Membership of groups is decided by the
        authenticator and not visible here: a Group subject stands for all its members.
        """
        namespace = attributes.namespace if isinstance(attributes, ResourceAttributes) else ""
        found: dict[Subject, Grant] = {}
        for binding in self._visit(namespace):
            rules = self._role_rules(binding)
            if not rules or not any(rule.allows(attributes) for rule in rules):
                continue
            for subject in binding.subjects:
                if subject.kind not in SUBJECT_KINDS or (subject.kind == "ServiceAccount" and not subject.namespace):
                    continue  # never applies to anyone
                if subject not in found:
                    found[subject] = self._grants(binding, subject)
        return list(found.items())

    def bindings(self) -> Iterator[tuple[str, str, str, str, str, tuple[Subject, ...]]]:
        """Every binding as (kind, namespace, name, role kind, role name, subjects)."""
        for binding in self._visit("", every_namespace=True):
            yield (
                binding.kind,
                binding.namespace,
                binding.name,
                binding.role_kind,
                binding.role_name,
                binding.subjects,
            )
