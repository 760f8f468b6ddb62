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
    EXEMPT_PARAMS,
    WORKLOAD_NEEDS,
    Workload,
    containers,
    evaluate_workloads,
    matches,
    object_resource,
    per_workload_cache,
    select_workloads,
    skipped_results,
    target_resource,
    workload_verdicts,
)
from checks.kubernetes.slim import APPARMOR_ANNOTATION
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status

_NS = EXEMPT_PARAMS
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
    excluded = list(params.get("exclude_namespaces", ()))
    default_accounts: dict[str, Mapping[str, Any]] = {}
    results: list[CheckResult] = []
    for account in evidence.section("serviceaccounts"):
        meta = account["metadata"]
        if meta["name"] != "default":
            continue
        default_accounts[str(meta.get("namespace"))] = account
        resource = object_resource(evidence, "ServiceAccount", account)
        if matches(str(meta.get("namespace")), excluded):
            message = f"ServiceAccount {resource.name} not evaluated: its namespace is excluded by exclude_namespaces"
            results.append(CheckResult(resource, Status.NOT_APPLICABLE, message))
            continue
        automount = account.get("automountServiceAccountToken")
        if automount is False:
            results.append(CheckResult(resource, Status.PASS, "automountServiceAccountToken: false", False, False))
        else:
            shown = "true" if automount is True else "unset (default true)"
            message = f"ServiceAccount {resource.name} automounts its token ({shown})"
            results.append(CheckResult(resource, Status.FAIL, message, automount, False))
    found, skipped = select_workloads(evidence, params)
    results.extend(skipped_results(evidence, skipped))
    judged = workload_verdicts(evidence)
    for w in found:
        if w.debug:  # the owning controller's template is evaluated
            continue
        resource, reason, label = judged(w)
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
            message = f"{label} runs as the default service account with its token mounted"
            results.append(
                CheckResult(resource, Status.FAIL, message, "token mounted", "automountServiceAccountToken: false")
            )
    if not results:
        message = "no default service account and no workload in scope"
        return [CheckResult(target_resource(evidence), Status.NOT_APPLICABLE, message)]
    return results


# -- Pod Security Standards ----------------------------------------------------------------------

PSS_LEVELS: tuple[str, ...] = ("privileged", "baseline", "restricted")
"""Pod Security Standards levels, least to most restrictive."""

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
"""Capabilities `baseline` lets a container add (the container runtime's default set), spelled exactly."""

SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)
"""The sysctls `baseline` allows (Kubernetes 1.32+)."""

SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
"""SELinux types `baseline` allows (1.31+); user and role must stay unset."""

RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
"""Volume sources `restricted` allows."""

_ALL_CONTAINERS = ("initContainers", "containers", "ephemeralContainers")

_PSS_CACHE = "pss"


def _map(value: Any) -> Mapping[str, Any]:
    if type(value) is dict:  # evidence holds dicts (and None for what is absent)
        return value
    return _EMPTY if value is None or not isinstance(value, Mapping) else value


def _named(ctype: str, c: Mapping[str, Any]) -> str:
    return f"{ctype[:-1]} '{c.get('name', '')}'"


def pss_violations(pod_spec: Mapping[str, Any], metadata: Mapping[str, Any], level: str) -> list[str]:
    """What keeps a pod from Pod Security Standard `level` (privileged, baseline, restricted), as the
    Pod Security admission plugin of Kubernetes 1.35 judges it; an empty list when it complies.

    `pod_spec` is a pod spec (a full one as sent to the API server, or sovscan's slim one: same
    field names), `metadata` the pod's (or template's) metadata, for the AppArmor annotations.
    Capability names are compared exactly as the admission plugin does (`ALL`, not `all`).
    """
    if level not in PSS_LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r}")
    if level == "privileged":
        return []
    parts = _pss_parts(pod_spec)
    out = _pss_baseline(parts, metadata, level)
    return out if level == "baseline" else _pss_restricted(parts, out)


_Every = list[tuple[str, Mapping[str, Any], Mapping[str, Any], str]]
"""(type, container, its securityContext, its label): what both passes over the containers read."""


def _pss_parts(pod_spec: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any], _Every]:
    """(the pod spec, its securityContext, every container of it): what `pss_violations` reads."""
    spec = _map(pod_spec)
    pod_sc = _map(spec.get("securityContext"))
    every: _Every = []
    for ctype in _ALL_CONTAINERS:
        for item in spec.get(ctype) or ():
            c = item if type(item) is dict else _map(item)
            sc = c.get("securityContext")
            every.append((ctype, c, sc if type(sc) is dict else _map(sc), _named(ctype, c)))
    return spec, pod_sc, every


def _pss_baseline(
    parts: tuple[Mapping[str, Any], Mapping[str, Any], _Every], metadata: Mapping[str, Any], level: str
) -> list[str]:
    """The `baseline` violations; `level` (baseline or restricted) only decides the procMount one."""
    spec, pod_sc, every = parts
    out: list[str] = []
    # baseline
    if _map(pod_sc.get("windowsOptions")).get("hostProcess") is True:
        out.append("hostProcess: the pod sets windowsOptions.hostProcess true")
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key) is True:
            out.append(f"host namespaces: {key} is true")
    for _, c, sc, name in every:
        if _map(sc.get("windowsOptions")).get("hostProcess") is True:
            out.append(f"hostProcess: {name} sets windowsOptions.hostProcess true")
        if sc.get("privileged") is True:
            out.append(f"privileged: {name} is privileged")
        added = [str(a) for a in _map(sc.get("capabilities")).get("add") or ()]
        extra = [a for a in added if a not in BASELINE_CAPABILITIES]
        if extra:
            out.append(f"capabilities: {name} adds {', '.join(extra)}")
        for port in c.get("ports") or ():
            if _map(port).get("hostPort"):
                out.append(f"host ports: {name} binds hostPort {_map(port).get('hostPort')}")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            handler = c.get(probe)
            if not handler:  # absent (the usual case): nothing below can be set
                continue
            for action in ("httpGet", "tcpSocket"):
                if _map(_map(handler).get(action)).get("host"):
                    out.append(f"host probes: {name} {probe}.{action}.host is set")
        lifecycle = c.get("lifecycle")
        for hook in ("postStart", "preStop") if lifecycle else ():
            for action in ("httpGet", "tcpSocket"):
                if _map(_map(_map(lifecycle).get(hook)).get(action)).get("host"):
                    out.append(f"host lifecycle hooks: {name} lifecycle.{hook}.{action}.host is set")
        if _map(sc.get("appArmorProfile")).get("type") not in (None, "RuntimeDefault", "Localhost"):
            out.append(f"AppArmor: {name} appArmorProfile is {_map(sc.get('appArmorProfile')).get('type')}")
        out.extend(_selinux(_map(sc.get("seLinuxOptions")), name))
        proc = sc.get("procMount")
        if proc not in (None, "Default") and (level == "restricted" or spec.get("hostUsers") is not False):
            out.append(f"procMount: {name} sets procMount {proc}")
        if _map(sc.get("seccompProfile")).get("type") == "Unconfined":
            out.append(f"seccomp: {name} seccompProfile is Unconfined")
    for volume in spec.get("volumes") or ():
        if _map(volume).get("hostPath") is not None:
            out.append(f"hostPath volumes: volume '{_map(volume).get('name')}' is a hostPath")
    for key, value in _map(metadata.get("annotations")).items():
        if str(key).startswith(APPARMOR_ANNOTATION) and not (
            value == "runtime/default" or str(value).startswith("localhost/")
        ):
            out.append(f"AppArmor: annotation {key} is {value!r}")
    if _map(pod_sc.get("appArmorProfile")).get("type") not in (None, "RuntimeDefault", "Localhost"):
        out.append(f"AppArmor: the pod appArmorProfile is {_map(pod_sc.get('appArmorProfile')).get('type')}")
    out.extend(_selinux(_map(pod_sc.get("seLinuxOptions")), "the pod"))
    if _map(pod_sc.get("seccompProfile")).get("type") == "Unconfined":
        out.append("seccomp: the pod seccompProfile is Unconfined")
    for sysctl in pod_sc.get("sysctls") or ():
        name = str(_map(sysctl).get("name"))
        if name not in SAFE_SYSCTLS:
            out.append(f"sysctls: {name} is not a safe sysctl")
    return out


def _pss_restricted(parts: tuple[Mapping[str, Any], Mapping[str, Any], _Every], baseline: list[str]) -> list[str]:
    """`baseline` (the `_pss_baseline` of level restricted, not changed) and the `restricted` violations."""
    spec, pod_sc, every = parts
    out = list(baseline)
    windows = _map(spec.get("os")).get("name") == "windows"
    for volume in spec.get("volumes") or ():
        sources = [k for k in _map(volume) if k != "name"]
        bad = [k for k in sources if k not in RESTRICTED_VOLUMES and k != "hostPath"]  # hostPath: see above
        if bad or not sources:
            out.append(f"volume types: volume '{_map(volume).get('name')}' uses {', '.join(bad) or 'no known source'}")
    pod_non_root = pod_sc.get("runAsNonRoot")
    if pod_non_root is False:
        out.append("runAsNonRoot: the pod sets runAsNonRoot false")
    if pod_sc.get("runAsUser") == 0:
        out.append("runAsUser: the pod sets runAsUser 0")
    pod_seccomp = _map(pod_sc.get("seccompProfile")).get("type")
    for _, _, sc, name in every:
        if not windows and sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"allowPrivilegeEscalation: {name} does not set allowPrivilegeEscalation false")
        non_root = sc.get("runAsNonRoot")
        if non_root is False:
            out.append(f"runAsNonRoot: {name} sets runAsNonRoot false")
        elif non_root is None and pod_non_root is not True:
            out.append(f"runAsNonRoot: neither the pod nor {name} sets runAsNonRoot true")
        if sc.get("runAsUser") == 0:
            out.append(f"runAsUser: {name} sets runAsUser 0")
        if not windows:
            seccomp = _map(sc.get("seccompProfile")).get("type")
            if seccomp is None and pod_seccomp not in ("RuntimeDefault", "Localhost"):
                out.append(f"seccomp: neither the pod nor {name} sets seccompProfile RuntimeDefault or Localhost")
            elif seccomp is not None and seccomp not in ("RuntimeDefault", "Localhost", "Unconfined"):
                out.append(f"seccomp: {name} seccompProfile is {seccomp}")
            caps = _map(sc.get("capabilities"))
            if "ALL" not in [str(d) for d in caps.get("drop") or ()]:
                out.append(f"capabilities: {name} does not drop ALL")
            extra = [str(a) for a in caps.get("add") or () if str(a) != "NET_BIND_SERVICE"]
            if extra:
                out.append(f"capabilities: {name} adds {', '.join(extra)} (restricted allows only NET_BIND_SERVICE)")
    if not windows and pod_seccomp not in (None, "RuntimeDefault", "Localhost", "Unconfined"):
        out.append(f"seccomp: the pod seccompProfile is {pod_seccomp}")
    return list(dict.fromkeys(out))


def _selinux(options: Mapping[str, Any], who: str) -> list[str]:
    out = []
    if options.get("type") is not None and str(options["type"]) not in SELINUX_TYPES:
        out.append(f"SELinux: {who} seLinuxOptions.type is {options['type']}")
    for key in ("user", "role"):
        if options.get(key):
            out.append(f"SELinux: {who} sets seLinuxOptions.{key}")
    return out


@check(
    "kubernetes.pod_security_standard",
    needs=WORKLOAD_NEEDS,
    params={**_NS, "level": {"enum": ["baseline", "restricted"], "description": "The Pod Security Standard level."}},
)
def pod_security_standard(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """Every workload's pods meet a Pod Security Standard level, every field of it (see `pss_violations`)."""
    level = str(params.get("level", "restricted"))
    # Per workload, shared by the controls of every level: its parts and, when no level changes it
    # (hostUsers not false: the procMount rule is then the same), its baseline violations.
    shared = per_workload_cache(evidence, _PSS_CACHE)

    def evaluate(w: Workload) -> list[str]:
        if level not in ("baseline", "restricted"):  # privileged, or unknown: raises as it did
            return pss_violations(w.spec, w.pod_metadata, level)
        entry = shared.get(id(w))
        if entry is None or entry[0] is not w:
            parts = _pss_parts(w.spec)
            base = _pss_baseline(parts, w.pod_metadata, level) if parts[0].get("hostUsers") is not False else None
            entry = shared[id(w)] = (w, (parts, base))
        parts, base = entry[1]
        if base is None:
            base = _pss_baseline(parts, w.pod_metadata, level)
        return list(base) if level == "baseline" else _pss_restricted(parts, base)

    return evaluate_workloads(
        evidence, params, evaluate, expected=f"Pod Security Standard '{level}'", passed=f"meets '{level}'"
    )


@check(
    "kubernetes.capability_added",
    needs=WORKLOAD_NEEDS,
    params={**_NS, "capabilities": {**_STRINGS, "minItems": 1, "description": "Capabilities no container may add."}},
)
def capability_added(evidence: Evidence, params: Mapping[str, Any]) -> list[CheckResult]:
    """No container adds one of the named capabilities (SYS_ADMIN: nearly root on the node), or is privileged."""
    forbidden = {_cap(c) for c in params.get("capabilities", ["SYS_ADMIN"])}

    def evaluate(w: Workload) -> list[str]:
        problems = []
        for label, c in containers(w.spec):
            sc = _sc(c)
            added = {_cap(a) for a in (sc.get("capabilities") or {}).get("add") or ()}
            hit = sorted(added & forbidden | (forbidden if "ALL" in added else set()))
            if hit:
                problems.append(f"{label} adds {', '.join(hit)}")
            elif sc.get("privileged") is True:
                problems.append(f"{label} is privileged (every capability, {', '.join(sorted(forbidden))} included)")
        return problems

    return evaluate_workloads(
        evidence,
        params,
        evaluate,
        expected=f"no container adds {', '.join(sorted(forbidden))}",
        passed=f"no {', '.join(sorted(forbidden))}",
    )
