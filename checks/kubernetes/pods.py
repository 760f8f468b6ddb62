"""Workload checks: pod and container security settings, seen through their controllers.

Each check evaluates the pod template of every top-level workload (CronJob, Job, Deployment,
ReplicaSet, StatefulSet, DaemonSet, bare Pod) once, and every container of it: regular, init
and ephemeral containers. Container settings override pod settings where Kubernetes says so
(runAsNonRoot, runAsUser, seccompProfile).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks.kubernetes.common import (
    EXCLUDE_NAMESPACES_PARAM,
    SYSTEM_NAMESPACES,
    WORKLOAD_NEEDS,
    Workload,
    containers,
    evaluate_workloads,
    matches,
    object_resource,
    target_resource,
    workloads,
)
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status

_NS = {"exclude_namespaces": EXCLUDE_NAMESPACES_PARAM}
_STRINGS = {"type": "array", "items": {"type": "string"}}


_EMPTY: Mapping[str, Any] = {}


def _sc(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    sc = obj.get("securityContext")
    return sc if type(sc) is dict else _EMPTY


@check("kubernetes.privileged", needs=WORKLOAD_NEEDS, params=_NS)
def privileged(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """No container (regular, init or ephemeral) runs privileged."""

    def evaluate(w: Workload) -> list[str]:
        return [f"{label} is privileged" for label, c in containers(w.spec) if _sc(c).get("privileged") is True]

    return evaluate_workloads(
        evidence, params, evaluate, expected="privileged false or unset", passed="no privileged container"
    )


@check("kubernetes.host_namespaces", needs=WORKLOAD_NEEDS, params=_NS)
def host_namespaces(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Pods do not share the host's network, PID or IPC namespace."""

    def evaluate(w: Workload) -> list[str]:
        return [f"{key}: true" for key in ("hostNetwork", "hostPID", "hostIPC") if w.spec.get(key) is True]

    return evaluate_workloads(
        evidence, params, evaluate, expected="hostNetwork, hostPID, hostIPC false or unset", passed="no host namespace"
    )


@check(
    "kubernetes.host_path_ports",
    needs=WORKLOAD_NEEDS,
    params={**_NS, "allowed_host_paths": {**_STRINGS, "description": "hostPath paths (globs) that are accepted."}},
)
def host_path_ports(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Pods mount no hostPath volume (outside the allow-list) and containers bind no hostPort."""
    allowed = list(params.get("allowed_host_paths", []))

    def evaluate(w: Workload) -> list[str]:
        problems = [
            f"hostPath volume '{v.get('name')}' mounts {v['hostPath'].get('path')}"
            for v in w.spec.get("volumes") or ()
            if "hostPath" in v and not matches(str(v["hostPath"].get("path")), allowed)
        ]
        for label, c in containers(w.spec):
            problems.extend(
                f"{label} binds hostPort {p.get('hostPort')}" for p in c.get("ports") or () if p.get("hostPort")
            )
        return problems

    return evaluate_workloads(
        evidence, params, evaluate, expected="no hostPath volume, no hostPort", passed="no hostPath, no hostPort"
    )


@check("kubernetes.non_root", needs=WORKLOAD_NEEDS, params=_NS)
def non_root(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Every container runs as non-root without privilege escalation (PSS restricted).

    runAsNonRoot true (the container's value wins over the pod's), runAsUser never 0, and
    allowPrivilegeEscalation explicitly false.
    """

    def evaluate(w: Workload) -> list[str]:
        pod = _sc(w.spec)
        problems = []
        if pod.get("runAsUser") == 0:
            problems.append("pod runAsUser is 0")
        for label, c in containers(w.spec):
            sc = _sc(c)
            non_root_set = sc.get("runAsNonRoot", pod.get("runAsNonRoot"))
            if non_root_set is not True:
                problems.append(f"{label} runAsNonRoot is {'false' if non_root_set is False else 'unset'}")
            if sc.get("runAsUser") == 0:
                problems.append(f"{label} runAsUser is 0")
            if sc.get("allowPrivilegeEscalation") is not False:
                shown = "true" if sc.get("allowPrivilegeEscalation") is True else "unset"
                problems.append(f"{label} allowPrivilegeEscalation is {shown}")
        return problems

    return evaluate_workloads(
        evidence,
        params,
        evaluate,
        expected="runAsNonRoot true, runAsUser != 0, allowPrivilegeEscalation false (every container)",
        passed="non-root, no privilege escalation",
    )


def _cap(name: Any) -> str:
    text = str(name).upper()
    return text[4:] if text.startswith("CAP_") else text


@check(
    "kubernetes.capabilities_seccomp",
    needs=WORKLOAD_NEEDS,
    params={
        **_NS,
        "allowed_capabilities": {
            **_STRINGS,
            "description": "Capabilities a container may add (PSS: NET_BIND_SERVICE).",
        },
        "allowed_seccomp": {**_STRINGS, "description": "Accepted seccompProfile types."},
    },
)
def capabilities_seccomp(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Every container drops ALL capabilities, adds only allowed ones, and runs under a seccomp profile."""
    allowed_caps = {_cap(c) for c in params.get("allowed_capabilities", ["NET_BIND_SERVICE"])}
    allowed_seccomp = set(params.get("allowed_seccomp", ["RuntimeDefault", "Localhost"]))

    def evaluate(w: Workload) -> list[str]:
        pod_seccomp = (_sc(w.spec).get("seccompProfile") or {}).get("type")
        problems = []
        for label, c in containers(w.spec):
            sc = _sc(c)
            caps = sc.get("capabilities") or {}
            if "ALL" not in {_cap(d) for d in caps.get("drop") or ()}:
                problems.append(f"{label} does not drop ALL capabilities")
            extra = sorted({_cap(a) for a in caps.get("add") or ()} - allowed_caps)
            if extra:
                problems.append(f"{label} adds {', '.join(extra)}")
            seccomp = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
            if seccomp not in allowed_seccomp:
                problems.append(f"{label} seccompProfile is {seccomp or 'unset'}")
        return problems

    expected = f"drop ALL; add only {sorted(allowed_caps)}; seccompProfile in {sorted(allowed_seccomp)}"
    return evaluate_workloads(evidence, params, evaluate, expected=expected, passed="capabilities dropped, seccomp on")


@check("kubernetes.read_only_root", needs=WORKLOAD_NEEDS, params=_NS)
def read_only_root(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Every container mounts its root filesystem read-only."""

    def evaluate(w: Workload) -> list[str]:
        return [
            f"{label} readOnlyRootFilesystem is {'false' if _sc(c).get('readOnlyRootFilesystem') is False else 'unset'}"
            for label, c in containers(w.spec)
            if _sc(c).get("readOnlyRootFilesystem") is not True
        ]

    return evaluate_workloads(
        evidence, params, evaluate, expected="readOnlyRootFilesystem true", passed="read-only root filesystems"
    )


@check(
    "kubernetes.resource_limits",
    needs=(*WORKLOAD_NEEDS, "limitranges"),
    params={
        **_NS,
        "required": {**_STRINGS, "description": "Resources that need a limit (cpu, memory)."},
        "accept_limitrange_defaults": {
            "type": "boolean",
            "description": "A namespace LimitRange with a default limit counts as set.",
        },
    },
)
def resource_limits(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Every container and init container has CPU and memory limits (or a LimitRange default).

    Ephemeral containers cannot declare resources and are not evaluated.
    """
    required = list(params.get("required", ["cpu", "memory"]))
    defaults: dict[str, set[str]] = {}
    if params.get("accept_limitrange_defaults", True):
        for limit_range in evidence.section("limitranges"):
            namespace = limit_range["metadata"].get("namespace", "default")
            for item in limit_range["spec"].get("limits") or ():
                if item.get("type") == "Container":
                    defaults.setdefault(namespace, set()).update(item.get("default") or {})

    def evaluate(w: Workload) -> list[str]:
        defaulted = defaults.get(w.namespace, set())
        problems = []
        for label, c in containers(w.spec, ("containers", "initContainers")):
            limits = (c.get("resources") or {}).get("limits") or {}
            missing = [r for r in required if r not in limits and r not in defaulted]
            if missing:
                problems.append(f"{label} has no {'/'.join(missing)} limit")
        return problems

    return evaluate_workloads(
        evidence, params, evaluate, expected=f"limits for {', '.join(required)}", passed="limits set"
    )


@check("kubernetes.secret_env", needs=WORKLOAD_NEEDS, params=_NS)
def secret_env(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """No container takes Secrets as environment variables (env secretKeyRef, envFrom secretRef)."""

    def evaluate(w: Workload) -> list[str]:
        problems = []
        for label, c in containers(w.spec):
            for env in c.get("env") or ():
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    problems.append(f"{label} env {env.get('name')} from secret {ref.get('name')}")
            for env_from in c.get("envFrom") or ():
                if env_from.get("secretRef"):
                    problems.append(f"{label} envFrom secret {env_from['secretRef'].get('name')}")
        return problems

    return evaluate_workloads(
        evidence,
        params,
        evaluate,
        expected="secrets mounted as files, not environment variables",
        passed="no secret in env",
    )


def parse_image(image: str) -> tuple[str, str, str | None, str | None]:
    """Split an image reference into (registry, repository, tag, digest), Docker's defaults applied."""
    rest, _, digest = image.partition("@")
    name, tag = rest, None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        name, tag = rest[:colon], rest[colon + 1 :]
    first, sep, remainder = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = "docker.io", name if sep else f"library/{name}"
    return registry, repository, tag, digest or None


@check(
    "kubernetes.image_provenance",
    needs=WORKLOAD_NEEDS,
    params={
        **_NS,
        "require_digest": {"type": "boolean", "description": "Images must be pinned by @sha256 digest."},
        "trusted_registries": {
            **_STRINGS,
            "description": "Registries or registry/path prefixes (globs) images may come from; empty = any.",
        },
    },
)
def image_provenance(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Images are pinned by digest, come from a trusted registry, and never float on `latest`."""
    require_digest = bool(params.get("require_digest", True))
    trusted = list(params.get("trusted_registries", []))

    def evaluate(w: Workload) -> list[str]:
        problems = []
        for label, c in containers(w.spec):
            image = str(c.get("image") or "")
            if not image:
                problems.append(f"{label} names no image")
                continue
            registry, repository, tag, digest = parse_image(image)
            if digest is None and tag in (None, "latest"):
                problems.append(f"{label} image {image} floats on 'latest'")
            elif require_digest and digest is None:
                problems.append(f"{label} image {image} is not pinned by digest")
            if trusted:
                full = f"{registry}/{repository}"
                if not any(
                    matches(registry, [t]) or full.startswith(t.rstrip("/") + "/") or matches(full, [t])
                    for t in trusted
                ):
                    problems.append(f"{label} image {image} is not from a trusted registry")
        return problems

    expected = "pinned by @sha256 digest" if require_digest else "a fixed tag, never latest"
    if trusted:
        expected += f", from {', '.join(trusted)}"
    return evaluate_workloads(evidence, params, evaluate, expected=expected, passed="images pinned and trusted")


@check(
    "kubernetes.token_automount",
    needs=(*WORKLOAD_NEEDS, "serviceaccounts"),
    params=_NS,
)
def token_automount(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """No default service account automounts its token, and no workload runs with its token mounted.

    Workloads with a dedicated service account are assumed to need its token.
    """
    excluded = list(params.get("exclude_namespaces", SYSTEM_NAMESPACES))
    default_accounts: dict[str, Mapping[str, Any]] = {}
    results: list[CheckResult] = []
    for account in evidence.section("serviceaccounts"):
        meta = account["metadata"]
        if meta["name"] != "default" or matches(str(meta.get("namespace")), excluded):
            continue
        default_accounts[str(meta.get("namespace"))] = account
        resource = object_resource(evidence, "ServiceAccount", account)
        automount = account.get("automountServiceAccountToken")
        if automount is False:
            results.append(CheckResult(resource, Status.PASS, "automountServiceAccountToken: false", False, False))
        else:
            shown = "true" if automount is True else "unset (default true)"
            message = f"ServiceAccount {resource.name} automounts its token ({shown})"
            results.append(CheckResult(resource, Status.FAIL, message, automount, False))
    found, _ = workloads(evidence, excluded)
    for w in found:
        if w.debug:  # the owning controller's template is evaluated
            continue
        resource = object_resource(evidence, w.kind, w.obj)
        reason = w.incomplete()
        if reason:
            results.append(CheckResult(resource, Status.ERROR, reason))
            continue
        account_name = str(w.spec.get("serviceAccountName") or "default")
        if account_name != "default":
            results.append(CheckResult(resource, Status.PASS, f"uses service account {account_name}"))
            continue
        automount = w.spec.get("automountServiceAccountToken")
        if automount is None:
            automount = (default_accounts.get(w.namespace) or {}).get("automountServiceAccountToken")
        if automount is False:
            results.append(CheckResult(resource, Status.PASS, "default service account, token not mounted"))
        else:
            message = f"{w.label} runs as the default service account with its token mounted"
            results.append(
                CheckResult(resource, Status.FAIL, message, "token mounted", "automountServiceAccountToken: false")
            )
    if not results:
        message = "no default service account and no workload in scope"
        return [CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, message)]
    return results
