"""sovscan's Pod Security verdicts against the real Pod Security admission (server dry-run create).

Uses the real control plane of tests/services/kubeapi_real.py; no stand-in. Seeded random pod
specs are created in a namespace without Pod Security labels, collected by the live collector
and judged by sovscan's workload controls; the same specs are dry-run created in namespaces
labelled `pod-security.kubernetes.io/enforce=baseline` and `=restricted`, where the API
server's own Pod Security admission accepts or rejects them.

sovscan's verdict for a level is the conjunction of the controls that implement it:

- baseline: K8S-13 (privileged), K8S-14 (host namespaces), K8S-15 (hostPath volumes, hostPorts);
- restricted: those and K8S-16 (runAsNonRoot, runAsUser != 0, allowPrivilegeEscalation false)
  and K8S-17 (drop ALL, add only NET_BIND_SERVICE, seccomp RuntimeDefault/Localhost).

Where sovscan's verdict and admission disagree, the API server's rejection names the Pod
Security checks the pod violates. A disagreement is accepted only when every one of them is a
check listed in `NOT_IMPLEMENTED[level]` (sovscan does not claim it); any other disagreement
fails the test with the seed and the spec. Every entry of `NOT_IMPLEMENTED` must also be seen
to cause a disagreement, so the list cannot go stale when a check is added.
"""

from __future__ import annotations

import copy
import os
import random
from collections.abc import Iterator
from pathlib import Path
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
    },
    "restricted": {
        "restricted volume types": "only hostPath volumes are checked, not the restricted volume-type list",
        "forbidden sysctls": "unsafe sysctls are not checked",
        "seLinuxOptions": "SELinux type/user/role are not checked",
        "forbidden AppArmor profile": "AppArmor profiles are not checked",
    },
}
"""Pod Security checks (as the API server names them in a rejection) sovscan does not implement."""


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
}  # fmt: skip
"""One compliant (restricted) pod and one change each, so that every Pod Security check is exercised."""


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


def test_pod_security_verdicts_agree_with_admission(pss_cluster: KubeCluster, tmp_path: Path) -> None:
    """Real server: for generated pods, sovscan's baseline/restricted verdicts equal Pod Security admission's."""
    cluster = pss_cluster
    specs: dict[str, tuple[int, dict[str, Any]]] = {f"probe-{k}": (0, v) for k, v in PROBES.items()}
    for name, (_, spec) in specs.items():
        cluster.create(
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "pss-source"}, "spec": spec}
        )
    for seed in SEEDS:
        r = random.Random(seed)
        for i in range(PODS_PER_SEED):
            name = f"s{seed}-p{i:03d}"
            specs[name] = (seed, pod_spec(r))
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": "pss-source"},
                "spec": specs[name][1],
            }
            cluster.create(pod)
    evidence = collect(cluster, tmp_path, target_id="pss")
    assert evidence.errors == {}
    findings = evaluate(evidence)
    verdict: dict[str, dict[str, bool]] = {name: {} for name in specs}
    for level, controls in LEVEL_CONTROLS.items():
        for name in specs:
            statuses = [f.status for cid in controls for f in findings[cid] if f.resource.name == f"pss-source/{name}"]
            assert len(statuses) == len(controls), (name, level, statuses)
            assert Status.ERROR not in statuses
            verdict[name][level] = all(s is Status.PASS for s in statuses)
    unexplained, seen_gaps = [], {level: set() for level in LEVEL_CONTROLS}
    agreed = {level: [0, 0] for level in LEVEL_CONTROLS}
    for name, (seed, spec) in specs.items():
        for level in LEVEL_CONTROLS:
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": f"pss-{level}"},
                "spec": copy.deepcopy(spec),
            }
            answer = cluster.create(pod, dry_run=True)
            if not answer.ok and "violates PodSecurity" not in answer.message:
                raise AssertionError(f"seed {seed} {name}: unexpected answer {answer.status} {answer.message}")
            admitted = answer.ok
            agreed[level][admitted] += 1
            if admitted == verdict[name][level]:
                continue
            violated = violated_checks(answer.message) if not admitted else set()
            gaps = set(NOT_IMPLEMENTED[level])
            if not admitted and violated and violated <= gaps:
                seen_gaps[level] |= violated
                continue
            unexplained.append(
                f"seed {seed} {name} {level}: admission {'accepts' if admitted else 'rejects'} "
                f"({', '.join(sorted(violated)) or '-'}), "
                f"sovscan says {'compliant' if verdict[name][level] else 'not compliant'}: {spec}"
            )
    assert not unexplained, "\n".join(unexplained[:10])
    for level, (rejected, admitted) in agreed.items():
        assert rejected > 5 and admitted > 5, (
            f"{level}: {admitted} admitted, {rejected} rejected: the generator proves little"
        )
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
