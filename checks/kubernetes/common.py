"""Helpers shared by the Kubernetes checks: resource URIs, workload resolution, containers.

Pure functions over Evidence; no I/O. Resource URIs are `k8s://<target>/ns/<ns>/<Kind>/<name>`
for namespaced objects and `k8s://<target>/<Kind>/<name>` for cluster-scoped ones; objects read
from manifest files add `?file=<path>&doc=<n>` (and `&item=<n>` inside a List document) so two
documents with the same name in different files stay distinct, and carry a SourceLocation.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import quote

from checks.kubernetes.kinds import BY_KIND, POD_SPEC_PATH, WORKLOAD_KINDS, WORKLOAD_SECTIONS
from scanner.model import CheckResult, Evidence, Resource, SourceLocation, Status

SYSTEM_NAMESPACES: tuple[str, ...] = ("kube-system", "kube-public", "kube-node-lease")
"""Namespaces excluded from workload and namespace controls unless a control's params say otherwise."""

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
    if isinstance(source, Mapping) and source.get("file"):
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
        """`Kind namespace/name`, for messages."""
        suffix = " (ephemeral containers of a controller's pod)" if self.debug else ""
        return f"{self.kind} {self.namespace}/{self.name}{suffix}"

    def incomplete(self) -> str | None:
        """Why the pod spec cannot be judged (no containers: a patch, a fragment), or None."""
        if self.debug or self.spec.get("containers"):
            return None
        return (
            f"{self.label} has no pod spec with containers in the evidence (a kustomize patch, a fragment "
            "or an object whose template was not read): its settings cannot be judged"
        )


_NO_SPEC: Mapping[str, Any] = {}


def workloads(evidence: Evidence, exclude_namespaces: Iterable[str]) -> tuple[list[Workload], int]:
    """The workloads to evaluate, and how many were skipped for their namespace.

    Objects owned by a workload that is itself in the evidence (a Deployment's ReplicaSets and
    their pods, a CronJob's Jobs and their pods, a DaemonSet's pods) are not evaluated: their
    owner's template is. Objects whose owner is not in the evidence (a pod of a custom
    controller, a static pod) are evaluated as themselves. A controller's pod that runs
    ephemeral containers (`kubectl debug`, never part of a template) is returned as a `debug`
    workload holding only those containers and the pod-level securityContext.
    """
    sections = {kind: evidence.section(BY_KIND[kind].section) for kind in WORKLOAD_KINDS}
    present: set[tuple[str, str, str]] = set()
    for kind, objects in sections.items():
        if kind == "Pod":  # pods own nothing
            continue
        add = present.add
        for obj in objects:
            meta = obj["metadata"]
            add((kind, meta.get("namespace", "default"), meta["name"]))
    excluded = list(exclude_namespaces)
    exact = {p for p in excluded if not any(c in p for c in "*?[")}
    globs = [p for p in excluded if p not in exact]
    verdicts: dict[str, bool] = {}
    found: list[Workload] = []
    append = found.append
    skipped = 0
    for kind in WORKLOAD_KINDS:
        path = POD_SPEC_PATH[kind]
        for obj in sections[kind]:
            meta = obj["metadata"]
            namespace = meta.get("namespace", "default")
            owners = meta.get("ownerReferences")
            if owners:
                owned = False
                for ref in owners:
                    if (ref["kind"], namespace, ref["name"]) in present:
                        owned = True
                        break
                if owned:
                    debug_spec = obj.get("spec") if kind == "Pod" else None
                    if type(debug_spec) is not dict or not debug_spec.get("ephemeralContainers"):
                        continue
                    out = verdicts.get(namespace)
                    if out is None:
                        out = verdicts[namespace] = namespace in exact or matches(namespace, globs)
                    if not out:
                        append(Workload(kind, obj, debug_spec, True))
                    continue
            out = verdicts.get(namespace)
            if out is None:
                out = verdicts[namespace] = namespace in exact or matches(namespace, globs)
            if out:
                skipped += 1
                continue
            spec: Any = obj
            for part in path:
                spec = spec.get(part) if type(spec) is dict else None
            append(Workload(kind, obj, spec if type(spec) is dict else _NO_SPEC))
    return found, skipped


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

    One result per workload: FAIL naming every problem, or PASS with `passed`. When no workload
    is in scope the target gets NOT_APPLICABLE saying why.
    """
    found, skipped = workloads(evidence, params.get("exclude_namespaces", SYSTEM_NAMESPACES))
    results: list[CheckResult] = []
    for workload in found:
        resource = object_resource(evidence, workload.kind, workload.obj)
        reason = workload.incomplete()
        if reason:
            results.append(CheckResult(resource, Status.ERROR, reason, expected=expected))
            continue
        problems = evaluate(workload)
        if problems:
            message = f"{workload.label}: {'; '.join(problems)}"
            results.append(CheckResult(resource, Status.FAIL, message, observed=problems, expected=expected))
        else:
            results.append(CheckResult(resource, Status.PASS, passed, expected=expected))
    if not results:
        results.append(
            CheckResult(
                target_resource(evidence),
                Status.NOT_APPLICABLE,
                f"no workloads in scope ({skipped} in excluded namespaces)",
            )
        )
    return results


def namespaces_in_scope(evidence: Evidence, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Namespace objects of the evidence that are not excluded by `exclude_namespaces`."""
    excluded = list(params.get("exclude_namespaces", SYSTEM_NAMESPACES))
    return [ns for ns in evidence.section("namespaces") if not matches(ns["metadata"]["name"], excluded)]
