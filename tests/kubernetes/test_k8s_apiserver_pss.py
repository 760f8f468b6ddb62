"""sovscan's Pod Security verdicts against the real Pod Security admission (server dry-run create).

Uses the real control plane of tests/services/kubeapi_real.py; no stand-in. Probe pods (one
compliant restricted pod, and one change each touching every Pod Security check) and seeded
random pod specs are created in a namespace without Pod Security labels, collected by the live
collector and judged by sovscan; the same specs are dry-run created in namespaces labelled
`pod-security.kubernetes.io/enforce=baseline` and `=restricted`, where the API server's own
Pod Security admission accepts or rejects them.

- K8S-25 (baseline) and K8S-26 (restricted) claim the Pod Security Standards as admission
  judges them: they must PASS exactly the pods admission admits, no exception.
- The per-setting controls K8S-13..17 claim parts of them. Their conjunction (baseline: K8S-13,
  14, 15; restricted: K8S-13..17) may disagree with admission only where every Pod Security
  check the rejection names is listed in `NOT_IMPLEMENTED[level]`, and every listed entry must be
  seen to cause a disagreement, so the list cannot go stale when a control learns a check.
"""

from __future__ import annotations

import copy
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from scanner.model import Status
from tests.kubernetes.k8s_objects import GOOD_IMAGE, evaluate
from tests.kubernetes.real_cluster import collect, create_ordered, install_scanner
from tests.services.kubeapi_real import KubeCluster

SEEDS = [int(os.environ["SOVSCAN_PSS_SEED"])] if os.environ.get("SOVSCAN_PSS_SEED") else [11, 12]
PODS_PER_SEED = 60

LEVEL_CONTROLS = {
    "baseline": ("K8S-13", "K8S-14", "K8S-15"),
    "restricted": ("K8S-13", "K8S-14", "K8S-15", "K8S-16", "K8S-17"),
}
"""sovscan's controls whose conjunction is its verdict for a Pod Security level."""

NOT_IMPLEMENTED: dict[str, dict[str, str]] = {
    "baseline": {
        "non-default capabilities": "K8S-17 judges capabilities against restricted (drop ALL), not baseline's list",
        "seccompProfile": "baseline forbids Unconfined; sovscan judges seccomp only as part of restricted",
        "forbidden sysctls": "unsafe sysctls are not checked",
        "seLinuxOptions": "SELinux type/user/role are not checked",
        "forbidden AppArmor profile": "AppArmor profiles are not checked",
        "forbidden AppArmor profiles": "AppArmor annotations are not checked",
        "probe or lifecycle host": "probes and lifecycle hooks aimed at another host are not checked",
    },
    "restricted": {
        "restricted volume types": "only hostPath volumes are checked, not the restricted volume-type list",
        "forbidden sysctls": "unsafe sysctls are not checked",
        "seLinuxOptions": "SELinux type/user/role are not checked",
        "forbidden AppArmor profile": "AppArmor profiles are not checked",
        "forbidden AppArmor profiles": "AppArmor annotations are not checked",
        "probe or lifecycle host": "probes and lifecycle hooks aimed at another host are not checked",
        "procMount": "procMount Unmasked is not checked",
    },
}
"""Pod Security checks (as the API server names them in a rejection) that the per-setting controls
K8S-13..17 do not implement; K8S-25/26 implement every one (no such list for them)."""


def container(r: random.Random, name: str) -> dict[str, Any]:
    """A container with random security settings."""
    sc: dict[str, Any] = {}
    privileged = r.random() < 0.1
    if privileged:
        sc["privileged"] = True
    escalation = r.choices([False, True, None], [6, 1, 2])[0]
    add = r.choices([[], ["NET_BIND_SERVICE"], ["CHOWN"], ["SYS_ADMIN"], ["NET_RAW"]], [6, 2, 1, 1, 1])[0]
    if escalation is False and (privileged or "SYS_ADMIN" in add):
        escalation = None  # the API server rejects that combination as invalid
    if escalation is not None:
        sc["allowPrivilegeEscalation"] = escalation
    non_root = r.choices([True, False, None], [6, 1, 2])[0]
    if non_root is not None:
        sc["runAsNonRoot"] = non_root
    if r.random() < 0.15:
        sc["runAsUser"] = r.choice([0, 1000])
    caps: dict[str, Any] = {}
    if r.random() < 0.8:
        caps["drop"] = ["ALL"]
    if add:
        caps["add"] = add
    if caps:
        sc["capabilities"] = caps
    if r.random() < 0.2:
        sc["seccompProfile"] = r.choice([{"type": "RuntimeDefault"}, {"type": "Unconfined"}])
    if r.random() < 0.04:
        sc["seLinuxOptions"] = {"type": "spc_t"}
    if r.random() < 0.04:
        sc["appArmorProfile"] = {"type": "Unconfined"}
    out: dict[str, Any] = {"name": name, "image": GOOD_IMAGE, "securityContext": sc}
    if r.random() < 0.08:
        out["ports"] = [{"containerPort": 8080, "hostPort": 8080}]
    return out


def pod_spec(r: random.Random) -> dict[str, Any]:
    """A pod spec with random pod- and container-level settings."""
    sc: dict[str, Any] = {}
    non_root = r.choices([True, False, None], [5, 1, 3])[0]
    if non_root is not None:
        sc["runAsNonRoot"] = non_root
    if r.random() < 0.3:
        sc["runAsUser"] = r.choice([0, 1000, 10001])
    seccomp = r.choices(["RuntimeDefault", "Localhost", "Unconfined", None], [6, 1, 1, 2])[0]
    if seccomp == "Localhost":
        sc["seccompProfile"] = {"type": "Localhost", "localhostProfile": "profiles/audit.json"}
    elif seccomp:
        sc["seccompProfile"] = {"type": seccomp}
    if r.random() < 0.05:
        sc["sysctls"] = [{"name": "kernel.msgmax", "value": "65536"}]
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": sc,
        "containers": [container(r, f"c{i}") for i in range(r.choice([1, 1, 2]))],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    if r.random() < 0.25:
        spec["initContainers"] = [container(r, "init")]
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if r.random() < 0.07:
            spec[key] = True
    if r.random() < 0.08:
        spec["volumes"].append({"name": "host", "hostPath": {"path": "/var/log"}})
    if r.random() < 0.06:
        spec["volumes"].append({"name": "share", "nfs": {"server": "nfs.example", "path": "/export"}})
    return spec


def _compliant() -> dict[str, Any]:
    return {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {"name": "c0", "image": GOOD_IMAGE,
             "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
        ],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }  # fmt: skip


def _probe(change: Any) -> dict[str, Any]:
    spec = _compliant()
    change(spec, spec["securityContext"], spec["containers"][0]["securityContext"])
    return spec


PROBES: dict[str, dict[str, Any]] = {
    "compliant": _probe(lambda s, p, c: None),
    "privileged": _probe(lambda s, p, c: c.update(privileged=True, allowPrivilegeEscalation=True)),
    "host-network": _probe(lambda s, p, c: s.update(hostNetwork=True)),
    "host-pid": _probe(lambda s, p, c: s.update(hostPID=True)),
    "host-ipc": _probe(lambda s, p, c: s.update(hostIPC=True)),
    "host-path": _probe(lambda s, p, c: s["volumes"].append({"name": "h", "hostPath": {"path": "/var/log"}})),
    "host-port": _probe(lambda s, p, c: s["containers"][0].update(ports=[{"containerPort": 80, "hostPort": 80}])),
    "root-allowed": _probe(lambda s, p, c: p.update(runAsNonRoot=False)),
    "pod-uid-0": _probe(lambda s, p, c: p.update(runAsUser=0)),
    "container-uid-0": _probe(lambda s, p, c: c.update(runAsUser=0)),
    "escalation-unset": _probe(lambda s, p, c: c.pop("allowPrivilegeEscalation")),
    "escalation-true": _probe(lambda s, p, c: c.update(allowPrivilegeEscalation=True)),
    "no-drop-all": _probe(lambda s, p, c: c.pop("capabilities")),
    "add-net-raw": _probe(lambda s, p, c: c["capabilities"].update(add=["NET_RAW"])),
    "add-sys-admin": _probe(
        lambda s, p, c: (c["capabilities"].update(add=["SYS_ADMIN"]), c.pop("allowPrivilegeEscalation"))
    ),
    "add-net-bind": _probe(lambda s, p, c: c["capabilities"].update(add=["NET_BIND_SERVICE"])),
    "add-chown-no-drop": _probe(lambda s, p, c: c.update(capabilities={"add": ["CHOWN"]})),
    "seccomp-unset": _probe(lambda s, p, c: p.pop("seccompProfile")),
    "seccomp-unconfined": _probe(lambda s, p, c: p.update(seccompProfile={"type": "Unconfined"})),
    "seccomp-container-unconfined": _probe(lambda s, p, c: c.update(seccompProfile={"type": "Unconfined"})),
    "seccomp-localhost": _probe(
        lambda s, p, c: p.update(seccompProfile={"type": "Localhost", "localhostProfile": "profiles/a.json"})
    ),
    "nfs-volume": _probe(
        lambda s, p, c: s["volumes"].append({"name": "n", "nfs": {"server": "nfs.example", "path": "/x"}})
    ),
    "unsafe-sysctl": _probe(lambda s, p, c: p.update(sysctls=[{"name": "kernel.msgmax", "value": "65536"}])),
    "selinux-spc": _probe(lambda s, p, c: c.update(seLinuxOptions={"type": "spc_t"})),
    "apparmor-unconfined": _probe(lambda s, p, c: c.update(appArmorProfile={"type": "Unconfined"})),
    "init-root": _probe(
        lambda s, p, c: s.update(initContainers=[{**copy.deepcopy(s["containers"][0]), "name": "init",
                                                  "securityContext": {**c, "runAsNonRoot": False}}])
    ),
    "proc-mount-unmasked": _probe(lambda s, p, c: (s.update(hostUsers=False), c.update(procMount="Unmasked"))),
    "host-process": _probe(
        lambda s, p, c: (s.update(hostNetwork=True), p.update(windowsOptions={"hostProcess": True}))
    ),
    "safe-sysctl": _probe(lambda s, p, c: p.update(sysctls=[{"name": "kernel.shm_rmid_forced", "value": "0"}])),
    "selinux-container-t": _probe(lambda s, p, c: c.update(seLinuxOptions={"type": "container_t"})),
    "selinux-user": _probe(lambda s, p, c: p.update(seLinuxOptions={"user": "system_u"})),
    "apparmor-runtime-default": _probe(lambda s, p, c: c.update(appArmorProfile={"type": "RuntimeDefault"})),
    "apparmor-annotation": _probe(lambda s, p, c: None),
    "secret-and-projected-volumes": _probe(lambda s, p, c: s["volumes"].extend([
        {"name": "s", "secret": {"secretName": "x"}}, {"name": "cm", "configMap": {"name": "x"}},
        {"name": "pr", "projected": {"sources": [{"downwardAPI": {"items": [
            {"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}}]}},
        {"name": "csi", "csi": {"driver": "inline.example"}},
    ])),
    "host-probe": _probe(lambda s, p, c: s["containers"][0].update(
        livenessProbe={"httpGet": {"port": 8080, "host": "10.0.0.1"}})),
    "init-seccomp-unconfined": _probe(
        lambda s, p, c: s.update(initContainers=[{**copy.deepcopy(s["containers"][0]), "name": "init",
                                                  "securityContext": {**c, "seccompProfile": {"type": "Unconfined"}}}])
    ),
}  # fmt: skip
"""One compliant (restricted) pod and one change each, so that every Pod Security check is exercised."""

PROBE_ANNOTATIONS = {"apparmor-annotation": {"container.apparmor.security.beta.kubernetes.io/c0": "unconfined"}}
"""Pod annotations of probes (AppArmor as the annotation of old)."""


def violated_checks(message: str) -> set[str]:
    """The Pod Security check names in an admission rejection.

    The message reads `violates PodSecurity "restricted:latest": a (..), b (..)`.
    """
    _, _, listed = message.partition('":')
    names = set()
    depth = 0
    current = ""
    for char in listed:
        if char == "(":
            if depth == 0:
                names.add(current.strip(" ,"))
                current = ""
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            current += char
    if current.strip(" ,"):
        names.add(current.strip(" ,"))
    return {n for n in names if n}


@pytest.fixture(scope="module")
def pss_cluster(kube_cluster: KubeCluster) -> Iterator[KubeCluster]:
    """The real cluster with namespaces enforcing baseline and restricted, and one enforcing nothing."""
    install_scanner(kube_cluster)
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"pss-{level}", "labels": {
            "pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/enforce-version": "latest"}}}
        for level in ("baseline", "restricted")
    ]  # fmt: skip
    namespaces.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pss-source"}})
    create_ordered(kube_cluster, namespaces)
    yield kube_cluster


@dataclass
class Judged:
    """Every generated pod, sovscan's findings on it, and admission's answer per level."""

    specs: dict[str, tuple[int, dict[str, Any]]]
    findings: dict[str, list[Any]]
    admission: dict[tuple[str, str], tuple[bool, str]]


@pytest.fixture(scope="module")
def judged(pss_cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Judged:
    """Create the probes and seeded pods where nothing is enforced, collect them, dry-run them per level."""
    cluster = pss_cluster
    specs: dict[str, tuple[int, dict[str, Any]]] = {f"probe-{k}": (0, v) for k, v in PROBES.items()}
    for seed in SEEDS:
        r = random.Random(seed)
        for i in range(PODS_PER_SEED):
            specs[f"s{seed}-p{i:03d}"] = (seed, pod_spec(r))

    def pod(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
        metadata = {"name": name, "namespace": namespace}
        annotations = PROBE_ANNOTATIONS.get(name.removeprefix("probe-"))
        if annotations:
            metadata["annotations"] = annotations
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": copy.deepcopy(spec)}

    for name, (_, spec) in specs.items():
        cluster.create(pod(name, "pss-source", spec))
    evidence = collect(cluster, tmp_path_factory.mktemp("pss"), target_id="pss")
    assert evidence.errors == {}
    admission = {}
    for name, (seed, spec) in specs.items():
        for level in LEVEL_CONTROLS:
            answer = cluster.create(pod(name, f"pss-{level}", spec), dry_run=True)
            if not answer.ok and "violates PodSecurity" not in answer.message:
                raise AssertionError(f"seed {seed} {name}: unexpected answer {answer.status} {answer.message}")
            admission[(name, level)] = (answer.ok, "" if answer.ok else answer.message)
    return Judged(specs, evaluate(evidence), admission)


def _verdicts(judged: Judged, controls: tuple[str, ...], name: str) -> bool:
    statuses = [f.status for cid in controls for f in judged.findings[cid] if f.resource.name == f"pss-source/{name}"]
    assert len(statuses) == len(controls), (name, controls, statuses)
    assert Status.ERROR not in statuses, (name, controls)
    return all(s is Status.PASS for s in statuses)


def _describe(judged: Judged, name: str, level: str, ours: bool) -> str:
    seed, spec = judged.specs[name]
    admitted, message = judged.admission[(name, level)]
    violated = ", ".join(sorted(violated_checks(message))) or "-"
    return (
        f"seed {seed} {name} {level}: admission {'accepts' if admitted else 'rejects'} ({violated}), "
        f"sovscan says {'compliant' if ours else 'not compliant'}: {spec}"
    )


def test_pod_security_standard_controls_agree_with_admission(judged: Judged) -> None:
    """Real server: K8S-25 (baseline) and K8S-26 (restricted) PASS exactly the pods admission admits."""
    controls = {"baseline": ("K8S-25",), "restricted": ("K8S-26",)}
    disagreements = []
    admitted = {level: 0 for level in controls}
    for name in judged.specs:
        for level, ids in controls.items():
            ours = _verdicts(judged, ids, name)
            admitted[level] += judged.admission[(name, level)][0]
            if ours != judged.admission[(name, level)][0]:
                disagreements.append(_describe(judged, name, level, ours))
    assert not disagreements, "\n".join(disagreements[:10])
    for level, count in admitted.items():
        assert 5 < count < len(judged.specs) - 5, f"{level}: {count} of {len(judged.specs)} admitted proves little"


def test_per_setting_workload_controls_agree_with_admission_where_they_claim_to(judged: Judged) -> None:
    """Real server: the conjunction of K8S-13..15 (baseline) and K8S-13..17 (restricted) against admission.

    These controls judge single settings; a disagreement is accepted only where every violated
    Pod Security check is one they do not implement (`NOT_IMPLEMENTED`), and each such entry
    must be seen, so the list tells exactly what K8S-25/26 add.
    """
    unexplained, seen_gaps = [], {level: set() for level in LEVEL_CONTROLS}
    for name in judged.specs:
        for level, controls in LEVEL_CONTROLS.items():
            ours = _verdicts(judged, controls, name)
            admitted, message = judged.admission[(name, level)]
            if admitted == ours:
                continue
            violated = violated_checks(message) if not admitted else set()
            if not admitted and violated and violated <= set(NOT_IMPLEMENTED[level]):
                seen_gaps[level] |= violated
                continue
            unexplained.append(_describe(judged, name, level, ours))
    assert not unexplained, "\n".join(unexplained[:10])
    stale = {level: sorted(set(NOT_IMPLEMENTED[level]) - seen_gaps[level]) for level in LEVEL_CONTROLS}
    assert stale == {"baseline": [], "restricted": []}, f"NOT_IMPLEMENTED entries no generated pod needed: {stale}"


def test_violated_checks_parses_an_admission_message() -> None:
    """The parser of rejection messages (pure)."""
    message = (
        'pods "x" is forbidden: violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true), '
        'allowPrivilegeEscalation != false (container "c0" must set securityContext.allowPrivilegeEscalation=false), '
        'restricted volume types (volume "share" uses restricted volume type "nfs")'
    )
    assert violated_checks(message) == {
        "host namespaces",
        "allowPrivilegeEscalation != false",
        "restricted volume types",
    }
