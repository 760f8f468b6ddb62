"""Helpers shared by the Kubernetes checks: resource URIs, workload resolution, containers.

Pure functions over Evidence; no I/O. Resource URIs are `k8s://<target>/ns/<ns>/<Kind>/<name>`
for namespaced objects and `k8s://<target>/<Kind>/<name>` for cluster-scoped ones; objects read
from manifest files add `?file=<path>&doc=<n>` (and `&item=<n>` inside a List document) so two
documents with the same name in different files stay distinct, and carry a SourceLocation.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote

from checks.kubernetes.kinds import BY_KIND, POD_SPEC_PATH, WORKLOAD_KINDS, WORKLOAD_SECTIONS
from scanner.model import CheckResult, Evidence, Resource, SourceLocation, Status

SYSTEM_NAMESPACES: tuple[str, ...] = ("kube-system", "kube-public", "kube-node-lease")
"""The namespaces the API server itself creates (unique names: nobody else can create them).

Namespace-level controls may exclude them by name; workload controls never exclude a namespace
by default (a workload in kube-system is evaluated unless it is exactly a built-in component)."""

CONTAINER_TYPES: tuple[str, ...] = ("containers", "initContainers", "ephemeralContainers")
"""Every list of containers a pod spec may hold."""

EXCLUDE_NAMESPACES_PARAM: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Namespaces (globs allowed) the control does not evaluate.",
}
"""JSON Schema of the `exclude_namespaces` parameter."""

WORKLOAD_NEEDS: tuple[str, ...] = WORKLOAD_SECTIONS
"""Evidence sections every workload control needs."""

LIVE_MODES: frozenset[str] = frozenset({"in-cluster", "context"})
"""Collection modes (`Evidence.metadata["mode"]`) whose sections are complete cluster-wide LISTs."""


def complete_listing(evidence: Evidence) -> bool:
    """True when the sections are complete cluster-wide LISTs (a live collection).

    Offline input (manifests, dumps) holds only what the files contain: that it names no
    cluster-admin binding or no Ingress says nothing about the cluster, so "none found" must not
    become PASS there. Evidence without a known live mode is treated as offline (fail closed).
    """
    return evidence.metadata.get("mode") in LIVE_MODES


def nothing_found(evidence: Evidence, message: str, sections: Sequence[str]) -> CheckResult:
    """The target-level result when a check found nothing in scope.

    PASS on a live cluster (every object of the kind was listed); NOT_APPLICABLE on offline input,
    naming how many objects of the sections the input held.
    """
    if complete_listing(evidence):
        return CheckResult(target_resource(evidence), Status.PASS, message)
    held = ", ".join(f"{len(evidence.section(s))} {s}" for s in sections)
    return CheckResult(
        target_resource(evidence),
        Status.NOT_APPLICABLE,
        f"{message} in the offline input (it holds {held}); the cluster's own objects are not visible: scan it live",
    )


def matches(name: str, patterns: Iterable[str]) -> bool:
    """True when `name` equals or glob-matches one of `patterns`."""
    return any(name == p or fnmatch.fnmatchcase(name, p) for p in patterns)


def target_resource(evidence: Evidence) -> Resource:
    """The cluster itself (same URI as the engine's target-level resource)."""
    return evidence.resource("cluster", evidence.target)


def object_resource(evidence: Evidence, kind: str, obj: Mapping[str, Any]) -> Resource:
    """The Resource of a slim Kubernetes object, with its file and line when read offline."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    namespace = meta.get("namespace")
    if namespace is None and BY_KIND.get(kind, None) is not None and BY_KIND[kind].namespaced:
        namespace = "default"
    path = f"ns/{namespace}/{kind}/{name}" if namespace is not None else f"{kind}/{name}"
    return source_resource(evidence, kind, f"{namespace}/{name}" if namespace is not None else name, path, obj)


def source_resource(evidence: Evidence, kind: str, name: str, path: str, obj: Mapping[str, Any]) -> Resource:
    """A Resource at `path`; when `obj` carries an offline `source`, add its file, document and line."""
    source = obj.get("source")
    location = None
    if (type(source) is dict or isinstance(source, Mapping)) and source.get("file"):
        location = SourceLocation(str(source["file"]), int(source.get("line") or 1))
        if "doc" in source:
            path += f"?file={quote(str(source['file']), safe='/')}&doc={source['doc']}"
            if "item" in source:
                path += f"&item={source['item']}"
    return evidence.resource(kind, name, path, location)


def static_pod_resource(evidence: Evidence, pod: Mapping[str, Any]) -> Resource:
    """The Resource of a control-plane static pod entry of the `controlplane` section."""
    name = str(pod.get("name", ""))
    namespace = str(pod.get("namespace", "kube-system"))
    return source_resource(evidence, "Pod", f"{namespace}/{name}", f"ns/{namespace}/Pod/{name}", pod)


def get_path(obj: Any, path: Sequence[str]) -> Any:
    """Follow keys into nested dicts; None when a key is absent."""
    node = obj
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


class Workload(NamedTuple):
    """A top-level workload: a controller (or a bare pod) and its pod spec."""

    kind: str
    """Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Pod."""
    obj: Mapping[str, Any]
    """The slim object."""
    spec: Mapping[str, Any]
    """Its pod spec (the template's, for controllers)."""
    debug: bool = False
    """A running pod of a controller in the evidence, evaluated only for its ephemeral (debug)
    containers: its `spec` holds the pod-level securityContext and `ephemeralContainers`."""

    @property
    def namespace(self) -> str:
        """The workload's namespace."""
        return str(self.obj["metadata"].get("namespace", "default"))

    @property
    def name(self) -> str:
        """The workload's name."""
        return str(self.obj["metadata"].get("name", ""))

    @property
    def label(self) -> str:
        """`Kind namespace/name`, for messages (with why an owned object is evaluated as itself)."""
        suffix = " (ephemeral containers of a controller's pod)" if self.debug else ""
        note = self.obj.get("owner_note")
        if note:
            suffix += f" (evaluated as itself: {note})"
        return f"{self.kind} {self.namespace}/{self.name}{suffix}"

    @property
    def pod_metadata(self) -> Mapping[str, Any]:
        """The metadata of the pods it runs (the template's for controllers): AppArmor annotations."""
        if self.kind == "Pod":
            return self.obj.get("metadata") or _NO_SPEC
        node: Any = self.obj
        for part in (*POD_SPEC_PATH[self.kind][:-1], "metadata"):
            node = node.get(part) if type(node) is dict else None
        return node if type(node) is dict else _NO_SPEC

    def incomplete(self) -> str | None:
        """Why the pod spec cannot be judged (invalid input, no containers: a patch), or None."""
        invalid = self.obj.get("invalid")
        if invalid:
            shown = "; ".join(str(i) for i in invalid[:5]) + ("; ..." if len(invalid) > 5 else "")
            return f"{self.label} is invalid input that the API server rejects: {shown}"
        if self.debug or self.spec.get("containers"):
            return None
        if self.obj.get("owned"):
            return (
                f"{self.label} was left to its controller's verdict ({self.obj.get('owner', 'its owner')}), "
                "which is not in the evidence: its settings cannot be judged"
            )
        return (
            f"{self.label} has no pod spec with containers in the evidence (a kustomize patch, a fragment "
            "or an object whose template was not read): its settings cannot be judged"
        )


_NO_SPEC: Mapping[str, Any] = {}


@dataclass(frozen=True)
class BuiltinIdentity:
    """The exact identity of an object Kubernetes (kubeadm) itself creates: kind, namespace, name, labels.

    Static pods of the control plane are mirror pods: named `<component>-<node>`, controlled by
    their Node (an ownerReference of kind Node, `controller: true`, whose name is the suffix) and
    labelled `component=<component>, tier=control-plane`.
    """

    kind: str
    """Object kind."""
    namespace: str
    """Namespace."""
    labels: Mapping[str, str]
    """Labels the object must carry with exactly these values."""
    name: str = ""
    """Exact name (controllers)."""
    mirror_of: str = ""
    """For a static (mirror) pod: the component; its name is `<component>-<node>`."""

    def matches(self, kind: str, obj: Mapping[str, Any]) -> bool:
        """True when `obj` (slim, of `kind`) is exactly this built-in object."""
        meta = obj.get("metadata") or {}
        if kind != self.kind or meta.get("namespace") != self.namespace:
            return False
        labels = meta.get("labels") or {}
        if any(labels.get(k) != v for k, v in self.labels.items()):
            return False
        if self.mirror_of:
            refs = [r for r in meta.get("ownerReferences") or () if r.get("controller")]
            return (
                len(refs) == 1
                and refs[0].get("kind") == "Node"
                and meta.get("name") == f"{self.mirror_of}-{refs[0].get('name')}"
            )
        return bool(meta.get("name") == self.name)

    def describe(self) -> str:
        """E.g. `DaemonSet kube-system/kube-proxy with labels k8s-app=kube-proxy`."""
        labels = ",".join(f"{k}={v}" for k, v in self.labels.items())
        if self.mirror_of:
            return f"static pod {self.namespace}/{self.mirror_of}-<node> (mirror pod of its Node, labels {labels})"
        return f"{self.kind} {self.namespace}/{self.name} with labels {labels}"


def _static(component: str) -> BuiltinIdentity:
    return BuiltinIdentity("Pod", "kube-system", {"component": component, "tier": "control-plane"}, mirror_of=component)


BUILTIN_COMPONENTS: dict[str, BuiltinIdentity] = {
    "kube-apiserver": _static("kube-apiserver"),
    "kube-controller-manager": _static("kube-controller-manager"),
    "kube-scheduler": _static("kube-scheduler"),
    "etcd": _static("etcd"),
    "kube-proxy": BuiltinIdentity("DaemonSet", "kube-system", {"k8s-app": "kube-proxy"}, name="kube-proxy"),
    "coredns": BuiltinIdentity("Deployment", "kube-system", {"k8s-app": "kube-dns"}, name="coredns"),
}
"""The built-in components kubeadm creates, by the name a baseline uses in `exempt_builtin`."""

_REASON = {"type": "string", "minLength": 1, "description": "Why the exemption is legitimate (shown in the report)."}

EXEMPT_PARAMS: dict[str, Any] = {
    "exclude_namespaces": EXCLUDE_NAMESPACES_PARAM,
    "exempt_builtin": {
        "type": "array",
        "description": "Built-in components (exact kind, namespace, name and labels) the control does not evaluate.",
        "items": {
            "type": "object",
            "required": ["component", "reason"],
            "additionalProperties": False,
            "properties": {
                "component": {"enum": sorted(BUILTIN_COMPONENTS)},
                "reason": _REASON,
                "host_paths": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "hostPath paths (globs) the component mounts; mounting any other makes "
                    "the exemption not apply (the object is evaluated).",
                },
            },
        },
    },
    "exempt_uids": {
        "type": "array",
        "description": "Objects (by metadata.uid, which nobody chooses) the control does not evaluate.",
        "items": {
            "type": "object",
            "required": ["uid", "reason"],
            "additionalProperties": False,
            "properties": {"uid": {"type": "string", "minLength": 1}, "reason": _REASON},
        },
    },
}
"""JSON Schema of the exemption parameters of every workload control."""


class Skipped(NamedTuple):
    """A workload an exemption took out of a control's scope, and why."""

    kind: str
    """Its kind."""
    obj: Mapping[str, Any]
    """The slim object."""
    reason: str
    """The exemption that applied, with its written justification."""


def _exemptions(
    params: Mapping[str, Any],
) -> tuple[list[tuple[str, BuiltinIdentity, str, list[str] | None]], dict[str, str]]:
    builtin = [
        (
            str(e["component"]),
            BUILTIN_COMPONENTS[str(e["component"])],
            str(e["reason"]),
            [str(p) for p in e["host_paths"]] if "host_paths" in e else None,
        )
        for e in params.get("exempt_builtin", ())
        if str(e.get("component")) in BUILTIN_COMPONENTS
    ]
    uids = {str(e["uid"]): str(e["reason"]) for e in params.get("exempt_uids", ())}
    return builtin, uids


_BUILTIN_NAMESPACES = frozenset(identity.namespace for identity in BUILTIN_COMPONENTS.values())


class _Entry(NamedTuple):
    """What `select_workloads` knows of one workload object before reading a control's parameters."""

    kind: str
    obj: Mapping[str, Any]
    namespace: str
    uid: Any
    owned: bool
    debug: Workload | None
    """For an owned pod running ephemeral containers: its debug workload."""
    workload: Workload
    """The workload as evaluated (shared by every control)."""
    idle: str | None
    """Why a ReplicaSet is an idle old revision (see `_idle_revision`), or None."""
    builtin: frozenset[str]
    """The `BUILTIN_COMPONENTS` the object is exactly."""


class _WorkloadIndex:
    """The parameter-independent part of `select_workloads` for one evidence, computed once.

    Every workload control of a scan selects from the same objects: which are owned, their pod
    specs, which are idle revisions or built-in components does not depend on the control. Their
    Resources are built once too (a Resource is immutable, so controls share it).
    """

    def __init__(self, evidence: Evidence, lists: tuple[Sequence[Any], ...]) -> None:
        self.target = evidence.target
        self.uri = evidence.uri
        self.lists = lists
        self.lengths = tuple(len(items) for items in lists)
        self.resources: dict[int, Resource] = {}
        present: set[tuple[str, str, str]] = set()
        for kind, objects in zip(WORKLOAD_KINDS, lists, strict=True):
            if kind == "Pod":  # pods own nothing
                continue
            add = present.add
            for obj in objects:
                meta = obj["metadata"]
                uid = meta.get("uid")
                if uid:
                    add((kind, meta.get("namespace", "default"), uid))
        entries: list[_Entry] = []
        append = entries.append
        for kind, objects in zip(WORKLOAD_KINDS, lists, strict=True):
            path = POD_SPEC_PATH[kind]
            for obj in objects:
                meta = obj["metadata"]
                namespace = meta.get("namespace", "default")
                owned = False
                if obj.get("owned"):
                    for ref in meta.get("ownerReferences") or ():
                        if ref.get("controller") and (ref.get("kind"), namespace, ref.get("uid")) in present:
                            owned = True
                            break
                debug = None
                if owned:
                    debug_spec = obj.get("spec") if kind == "Pod" else None
                    if type(debug_spec) is dict and debug_spec.get("ephemeralContainers"):
                        debug = Workload(kind, obj, debug_spec, True)
                idle = None
                if not owned and kind == "ReplicaSet" and not obj.get("invalid"):
                    idle = _idle_revision(obj, namespace, present)
                builtin: frozenset[str] = frozenset()
                if not owned and meta.get("namespace") in _BUILTIN_NAMESPACES:
                    builtin = frozenset(n for n, identity in BUILTIN_COMPONENTS.items() if identity.matches(kind, obj))
                spec: Any = obj
                for part in path:
                    spec = spec.get(part) if type(spec) is dict else None
                workload = Workload(kind, obj, spec if type(spec) is dict else _NO_SPEC)
                append(_Entry(kind, obj, namespace, meta.get("uid"), owned, debug, workload, idle, builtin))
        self.entries = entries
        self._judged: dict[int, tuple[Workload, Resource, str | None, str]] = {}
        self.per_workload: dict[str, dict[int, tuple[Workload, Any]]] = {}
        """Named caches of checks, `id(workload) -> (workload, value)` (see `per_workload_cache`)."""
        self._default: list[Workload] | None = None
        self._idle: list[tuple[int, Skipped]] = []
        self._specials: list[tuple[int, int, _Entry]] = []
        self.ids = frozenset(id(entry.obj) for entry in entries)
        """Ids of the indexed objects (alive as long as the index holds their lists)."""

    def current(self, evidence: Evidence, lists: tuple[Sequence[Any], ...]) -> bool:
        """Whether this index describes exactly these section objects of this target."""
        return (
            self.target == evidence.target
            and self.uri == evidence.uri
            and all(a is b for a, b in zip(self.lists, lists, strict=True))
            and self.lengths == tuple(len(items) for items in lists)
        )

    def select(self, params: Mapping[str, Any]) -> tuple[list[Workload], list[Skipped]]:
        """`select_workloads` for one control's exemption parameters."""
        builtin, uids = _exemptions(params)
        excluded = list(params.get("exclude_namespaces", ()))
        if not excluded and not uids:
            return self._select_builtin(builtin)
        exact = {p for p in excluded if not any(c in p for c in "*?[")}
        globs = [p for p in excluded if p not in exact]
        verdicts: dict[str, bool] = {}
        found: list[Workload] = []
        skipped: list[Skipped] = []
        append = found.append
        for entry in self.entries:
            namespace = entry.namespace
            out = False
            if excluded:
                out = verdicts.get(namespace)  # type: ignore[assignment]
                if out is None:
                    out = verdicts[namespace] = namespace in exact or matches(namespace, globs)
            if entry.owned:
                if entry.debug is not None and not out:
                    append(entry.debug)
                continue
            reason = None
            if out:
                reason = f"namespace {namespace} is excluded by the control's exclude_namespaces"
            elif entry.idle is not None:
                reason = entry.idle
            elif uids and entry.uid in uids:
                reason = f"exempted by UID {entry.uid}: {uids[entry.uid]}"
            elif builtin and entry.builtin:
                for name, identity, why, host_paths in builtin:
                    if name in entry.builtin and _only_host_paths(entry.kind, entry.obj, host_paths):
                        reason = f"built-in {identity.describe()}: {why}"
                        break
            if reason:
                skipped.append(Skipped(entry.kind, entry.obj, reason))
                continue
            append(entry.workload)
        return found, skipped

    def _select_builtin(
        self, builtin: list[tuple[str, BuiltinIdentity, str, list[str] | None]]
    ) -> tuple[list[Workload], list[Skipped]]:
        """`select` without namespace or UID exemptions (the usual control): only built-in objects differ."""
        if self._default is None:
            default: list[Workload] = []
            idle: list[tuple[int, Skipped]] = []
            specials: list[tuple[int, int, _Entry]] = []
            for number, entry in enumerate(self.entries):
                if entry.owned:
                    if entry.debug is not None:
                        default.append(entry.debug)
                elif entry.idle is not None:
                    idle.append((number, Skipped(entry.kind, entry.obj, entry.idle)))
                else:
                    if entry.builtin:
                        specials.append((number, len(default), entry))
                    default.append(entry.workload)
            self._default, self._idle, self._specials = default, idle, specials
        found = list(self._default)
        skipped = list(self._idle)
        dropped: list[int] = []
        for number, position, entry in self._specials if builtin else ():
            for name, identity, why, host_paths in builtin:
                if name in entry.builtin and _only_host_paths(entry.kind, entry.obj, host_paths):
                    dropped.append(position)
                    skipped.append((number, Skipped(entry.kind, entry.obj, f"built-in {identity.describe()}: {why}")))
                    break
        for position in reversed(dropped):
            del found[position]
        if dropped:
            skipped.sort(key=lambda item: item[0])  # in the order of the evidence, as `select` gives them
        return found, [item for _, item in skipped]

    def judged(self, evidence: Evidence, workload: Workload) -> tuple[Resource, str | None, str]:
        """(its Resource, `workload.incomplete()`, `workload.label`) of a workload `select` gave, computed
        once for every control."""
        found = self._judged.get(id(workload))
        if found is None or found[0] is not workload:  # the workload is kept: its id stays its own
            resource = self.resource(evidence, workload.kind, workload.obj)
            found = self._judged[id(workload)] = (workload, resource, workload.incomplete(), workload.label)
        return found[1], found[2], found[3]

    def resource(self, evidence: Evidence, kind: str, obj: Mapping[str, Any]) -> Resource:
        """`object_resource` of a workload object, built once per object (any other object: built each time)."""
        if id(obj) not in self.ids:
            return object_resource(evidence, kind, obj)
        found = self.resources.get(id(obj))
        if found is None or found.kind != kind:
            found = self.resources[id(obj)] = object_resource(evidence, kind, obj)
        return found


_MEMO_KEY = "kubernetes.workloads"


def _workload_index(evidence: Evidence) -> _WorkloadIndex:
    """The workload index of `evidence`'s workload sections, kept in the evidence's memo.

    The views the engine gives each control share one memo, so the index is built once per
    evidence and dropped with it; it is reused only while it describes the very same section
    objects (identity and length, which it holds).
    """
    lists = tuple(evidence.section(BY_KIND[kind].section) for kind in WORKLOAD_KINDS)
    memo = getattr(evidence, "memo", None)
    index = memo.get(_MEMO_KEY) if isinstance(memo, dict) else None
    if isinstance(index, _WorkloadIndex) and index.current(evidence, lists):
        return index
    index = _WorkloadIndex(evidence, lists)
    if isinstance(memo, dict):
        memo[_MEMO_KEY] = index
    return index


def select_workloads(evidence: Evidence, params: Mapping[str, Any]) -> tuple[list[Workload], list[Skipped]]:
    """The workloads a control evaluates, and those its exemptions skipped (each with the reason).

    Objects whose controller (matched by UID, see `slim.EvidenceBuilder._judge_owner`) is in the
    evidence and which run exactly its template are `owned` and left to the controller's verdict;
    every other object is evaluated as itself, whatever its ownerReferences say. A controller's
    pod running ephemeral containers (`kubectl debug`) is returned as a `debug` workload.
    Exemptions: `exempt_builtin` (exact identities of built-in components), `exempt_uids`, and
    `exclude_namespaces` (namespace names, globs). What does not depend on the parameters is
    computed once per evidence and shared by every control (see `_WorkloadIndex`).
    """
    return _workload_index(evidence).select(params)


def per_workload_cache(evidence: Evidence, name: str) -> dict[int, tuple[Workload, Any]]:
    """A check's cache named `name` of values per workload, `id(workload) -> (workload, value)`, kept
    with the workload index: shared by every control evaluating this evidence and dropped when the
    index is rebuilt. An entry holds its workload; readers compare it with `is` before using it."""
    return _workload_index(evidence).per_workload.setdefault(name, {})


def workload_verdicts(evidence: Evidence) -> Callable[[Workload], tuple[Resource, str | None, str]]:
    """`workload -> (its Resource, workload.incomplete(), workload.label)` for the workloads
    `select_workloads` gives, computed once and shared by every control."""
    index = _workload_index(evidence)

    def judged(workload: Workload) -> tuple[Resource, str | None, str]:
        return index.judged(evidence, workload)

    return judged


def workload_resources(evidence: Evidence) -> Callable[[str, Mapping[str, Any]], Resource]:
    """`(kind, obj) -> object_resource(evidence, kind, obj)`: built once per object of the workload
    sections and shared by every control (a Resource is immutable); any other object is built each time."""
    index = _workload_index(evidence)

    def resource(kind: str, obj: Mapping[str, Any]) -> Resource:
        return index.resource(evidence, kind, obj)

    return resource


def _idle_revision(obj: Mapping[str, Any], namespace: str, present: set[tuple[str, str, str]]) -> str | None:
    """Why a ReplicaSet is skipped: an old revision (scaled to zero) of a Deployment in the evidence, or None.

    It runs nothing; the pods it may still have are evaluated as themselves (the builder never
    leaves a pod to a ReplicaSet scaled to zero).
    """
    spec = obj.get("spec")
    if type(spec) is not dict or spec.get("replicas") != 0:
        return None
    for ref in obj["metadata"].get("ownerReferences") or ():
        if (
            ref.get("controller")
            and ref.get("kind") == "Deployment"
            and ("Deployment", namespace, ref.get("uid")) in present
        ):
            return f"an old revision of Deployment {namespace}/{ref.get('name')}, scaled to zero: it runs no pod"
    return None


def _only_host_paths(kind: str, obj: Mapping[str, Any], allowed: list[str] | None) -> bool:
    """True when the object's hostPath volumes are all among `allowed` (globs); any when None."""
    if allowed is None:
        return True
    spec: Any = obj
    for part in POD_SPEC_PATH[kind]:
        spec = spec.get(part) if type(spec) is dict else None
    volumes = spec.get("volumes") if type(spec) is dict else None
    return all(
        matches(str((v.get("hostPath") or {}).get("path")), allowed)
        for v in volumes or ()
        if isinstance(v, Mapping) and "hostPath" in v
    )


def workloads(evidence: Evidence, exclude_namespaces: Iterable[str]) -> tuple[list[Workload], int]:
    """The workloads to evaluate, and how many were skipped for their namespace (see `select_workloads`)."""
    found, skipped = select_workloads(evidence, {"exclude_namespaces": list(exclude_namespaces)})
    return found, len(skipped)


def skipped_results(evidence: Evidence, skipped: Iterable[Skipped]) -> list[CheckResult]:
    """One NOT_APPLICABLE result per exempted object, naming the exemption: nothing disappears silently."""
    index = _workload_index(evidence)
    return [
        CheckResult(
            index.resource(evidence, s.kind, s.obj),
            Status.NOT_APPLICABLE,
            f"{s.kind} {s.obj['metadata'].get('namespace', '')}/{s.obj['metadata'].get('name', '')} "
            f"not evaluated: {s.reason}",
        )
        for s in skipped
    ]


def containers(
    spec: Mapping[str, Any], types: Sequence[str] = CONTAINER_TYPES
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield `(label, container)` for every container of the given types, e.g. `("initContainer 'setup'", {...})`."""
    for ctype in types:
        for container in spec.get(ctype) or ():
            yield f"{ctype[:-1]} '{container.get('name', '')}'", container


def evaluate_workloads(
    evidence: Evidence,
    params: Mapping[str, Any],
    evaluate: Callable[[Workload], list[str]],
    *,
    expected: str,
    passed: str,
) -> list[CheckResult]:
    """Run `evaluate` (which returns the problems found) on every workload in scope.

    One result per workload: FAIL naming every problem, PASS with `passed`, ERROR for invalid
    input or a spec that cannot be judged; NOT_APPLICABLE for each object an exemption skipped.
    When nothing is in scope the target gets NOT_APPLICABLE saying why.
    """
    index = _workload_index(evidence)
    found, skipped = index.select(params)
    results: list[CheckResult] = []
    judged = index.judged
    for workload in found:
        resource, reason, label = judged(evidence, workload)
        if reason:
            results.append(CheckResult(resource, Status.ERROR, reason, expected=expected))
            continue
        problems = evaluate(workload)
        if problems:
            message = f"{label}: {'; '.join(problems)}"
            results.append(CheckResult(resource, Status.FAIL, message, observed=problems, expected=expected))
        else:
            results.append(CheckResult(resource, Status.PASS, passed, expected=expected))
    results.extend(skipped_results(evidence, skipped))
    if not results:
        results.append(CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, "no workloads in scope"))
    return results


def namespaces_in_scope(evidence: Evidence, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Namespace objects of the evidence that are not excluded by `exclude_namespaces`."""
    excluded = list(params.get("exclude_namespaces", SYSTEM_NAMESPACES))
    return [ns for ns in evidence.section("namespaces") if not matches(ns["metadata"]["name"], excluded)]
