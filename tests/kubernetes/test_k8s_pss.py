"""Pod Security Standards as the Pod Security admission plugin (Kubernetes 1.35) judges them.

`pss_violations` is tested field by field on full pod specs (as they are sent to the API server)
with the allowed and forbidden values of the upstream definitions, and through the controls
K8S-25 (baseline), K8S-26 (restricted) and K8S-27 (SYS_ADMIN) on collected evidence, so the slim
evidence keeps every field the verdict needs. The "kapi" helper's real API server compares these
verdicts with admission's own (dry-run creates).
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import pytest

from checks.kubernetes.pods import pss_violations
from scanner.model import Status
from tests.kubernetes.k8s_objects import by_resource, good_spec, offline_findings, workload

RESTRICTED_POD: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "app",
            "image": "registry.example/app:1",
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }
    ],
    "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}],
}
_counter = itertools.count()


def spec(**changes: Any) -> dict[str, Any]:
    """A restricted-compliant pod spec with changes: `c_<field>` changes the container's securityContext."""
    out = copy.deepcopy(RESTRICTED_POD)
    for key, value in changes.items():
        if key.startswith("c_"):
            out["containers"][0]["securityContext"][key[2:]] = value
        elif key.startswith("p_"):
            out["securityContext"][key[2:]] = value
        else:
            out[key] = value
    return out


def levels(pod_spec: dict[str, Any], annotations: dict[str, str] | None = None) -> tuple[bool, bool]:
    """(meets baseline, meets restricted)."""
    metadata = {"annotations": annotations or {}}
    return not pss_violations(pod_spec, metadata, "baseline"), not pss_violations(pod_spec, metadata, "restricted")


def test_the_reference_pod_meets_restricted_and_privileged_allows_everything() -> None:
    assert levels(RESTRICTED_POD) == (True, True)
    assert pss_violations(spec(hostPID=True), {}, "privileged") == []
    with pytest.raises(ValueError, match="unknown Pod Security level"):
        pss_violations(RESTRICTED_POD, {}, "strict")


BASELINE_FAILS = {
    "hostProcess (pod)": spec(p_windowsOptions={"hostProcess": True}),
    "hostProcess (container)": spec(c_windowsOptions={"hostProcess": True}),
    "hostNetwork": spec(hostNetwork=True),
    "hostPID": spec(hostPID=True),
    "hostIPC": spec(hostIPC=True),
    "privileged": spec(c_privileged=True),
    "capability beyond the defaults": spec(c_capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]}),
    "SYS_ADMIN": spec(c_capabilities={"add": ["SYS_ADMIN"]}),
    "hostPath": spec(volumes=[{"name": "h", "hostPath": {"path": "/"}}]),
    "hostPort": spec(
        containers=[{**RESTRICTED_POD["containers"][0], "ports": [{"containerPort": 80, "hostPort": 80}]}]
    ),
    "probe host": spec(
        containers=[{**RESTRICTED_POD["containers"][0], "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}}]
    ),
    "lifecycle host": spec(
        containers=[
            {
                **RESTRICTED_POD["containers"][0],
                "lifecycle": {"preStop": {"tcpSocket": {"host": "metadata", "port": 80}}},
            }
        ]
    ),
    "AppArmor unconfined (field)": spec(c_appArmorProfile={"type": "Unconfined"}),
    "AppArmor unconfined (pod field)": spec(p_appArmorProfile={"type": "Unconfined"}),
    "SELinux type": spec(c_seLinuxOptions={"type": "spc_t"}),
    "SELinux user": spec(p_seLinuxOptions={"user": "system_u"}),
    "SELinux role": spec(c_seLinuxOptions={"role": "object_r"}),
    "procMount": spec(c_procMount="Unmasked"),
    "seccomp Unconfined (pod)": spec(p_seccompProfile={"type": "Unconfined"}),
    "seccomp Unconfined (container)": spec(c_seccompProfile={"type": "Unconfined"}),
    "unsafe sysctl": spec(p_sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
    "privileged init container": spec(
        initContainers=[{"name": "init", "image": "x", "securityContext": {"privileged": True}}]
    ),
    "privileged ephemeral container": spec(
        ephemeralContainers=[{"name": "dbg", "image": "x", "securityContext": {"privileged": True}}]
    ),
}


@pytest.mark.parametrize("name", sorted(BASELINE_FAILS))
def test_baseline_violations(name: str) -> None:
    assert levels(BASELINE_FAILS[name]) == (False, False), pss_violations(BASELINE_FAILS[name], {}, "baseline")


def test_apparmor_annotations() -> None:
    key = "container.apparmor.security.beta.kubernetes.io/app"
    assert levels(RESTRICTED_POD, {key: "unconfined"}) == (False, False)
    assert levels(RESTRICTED_POD, {key: "runtime/default"}) == (True, True)
    assert levels(RESTRICTED_POD, {key: "localhost/custom"}) == (True, True)


BASELINE_ALLOWS = {
    "default capabilities": spec(c_capabilities={"drop": ["ALL"], "add": ["CHOWN", "NET_BIND_SERVICE"]}),
    "SELinux container_t with a level": spec(c_seLinuxOptions={"type": "container_t", "level": "s0:c1,c2"}),
    "SELinux container_engine_t": spec(p_seLinuxOptions={"type": "container_engine_t"}),
    "safe sysctl": spec(p_sysctls=[{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]),
    "procMount Default": spec(c_procMount="Default"),
    "AppArmor Localhost": spec(c_appArmorProfile={"type": "Localhost", "localhostProfile": "p"}),
    "hostPort 0": spec(
        containers=[{**RESTRICTED_POD["containers"][0], "ports": [{"containerPort": 80, "hostPort": 0}]}]
    ),
}


@pytest.mark.parametrize("name", sorted(BASELINE_ALLOWS))
def test_baseline_allows(name: str) -> None:
    assert pss_violations(BASELINE_ALLOWS[name], {}, "baseline") == []
    # restricted adds nothing about these fields, except that it allows only NET_BIND_SERVICE
    assert levels(BASELINE_ALLOWS[name])[1] is (name != "default capabilities")


RESTRICTED_ONLY_FAILS = {
    "nfs volume": spec(volumes=[{"name": "n", "nfs": {"server": "s", "path": "/"}}]),
    "volume without a source": spec(volumes=[{"name": "empty"}]),
    "allowPrivilegeEscalation unset": spec(c_allowPrivilegeEscalation=None),
    "allowPrivilegeEscalation true": spec(c_allowPrivilegeEscalation=True),
    "runAsNonRoot unset": spec(p_runAsNonRoot=None),
    "runAsNonRoot false in a container": spec(c_runAsNonRoot=False),
    "runAsNonRoot false on the pod, true in the container": spec(p_runAsNonRoot=False, c_runAsNonRoot=True),
    "runAsUser 0 (pod)": spec(p_runAsUser=0),
    "runAsUser 0 (container)": spec(c_runAsUser=0),
    "seccomp unset": spec(p_seccompProfile=None),
    "drop ALL missing": spec(c_capabilities={"drop": ["NET_RAW"]}),
    "drop all in lower case": spec(c_capabilities={"drop": ["all"]}),  # admission compares exactly
    "adds CHOWN": spec(c_capabilities={"drop": ["ALL"], "add": ["CHOWN"]}),
    "adds CAP_NET_BIND_SERVICE": spec(c_capabilities={"drop": ["ALL"], "add": ["CAP_NET_BIND_SERVICE"]}),
}


@pytest.mark.parametrize("name", sorted(RESTRICTED_ONLY_FAILS))
def test_restricted_only_violations(name: str) -> None:
    case = copy.deepcopy(RESTRICTED_ONLY_FAILS[name])
    for sc in [case["securityContext"], case["containers"][0]["securityContext"]]:
        for key in [k for k, v in sc.items() if v is None]:
            del sc[key]
    # baseline compares capability names exactly too: CAP_NET_BIND_SERVICE is not a default one
    meets_baseline = name != "adds CAP_NET_BIND_SERVICE"
    assert levels(case) == (meets_baseline, False), pss_violations(case, {}, "restricted")


RESTRICTED_ALLOWS = {
    "every allowed volume type": spec(
        volumes=[
            {"name": "a", "configMap": {"name": "x"}},
            {"name": "b", "csi": {"driver": "d"}},
            {"name": "c", "downwardAPI": {}},
            {"name": "d", "emptyDir": {}},
            {"name": "e", "ephemeral": {"volumeClaimTemplate": {}}},
            {"name": "f", "persistentVolumeClaim": {"claimName": "c"}},
            {"name": "g", "projected": {"sources": []}},
            {"name": "h", "secret": {"secretName": "s"}},
            {"name": "i", "image": {"reference": "registry.example/data:1"}},
        ]
    ),
    "runAsNonRoot on every container instead of the pod": spec(p_runAsNonRoot=None, c_runAsNonRoot=True),
    "seccomp on every container instead of the pod": spec(
        p_seccompProfile=None, c_seccompProfile={"type": "Localhost", "localhostProfile": "p"}
    ),
    "adds NET_BIND_SERVICE": spec(c_capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),
    "non-zero runAsUser": spec(p_runAsUser=1000),
    "windows pod without Linux fields": {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": True},
        "containers": [{"name": "app", "image": "x"}],
    },
}


@pytest.mark.parametrize("name", sorted(RESTRICTED_ALLOWS))
def test_restricted_allows(name: str) -> None:
    case = copy.deepcopy(RESTRICTED_ALLOWS[name])
    for sc in [case.get("securityContext") or {}, *(c.get("securityContext") or {} for c in case["containers"])]:
        for key in [k for k, v in sc.items() if v is None]:
            del sc[key]
    assert pss_violations(case, {}, "restricted") == []


def test_proc_mount_unmasked_is_baseline_with_user_namespaces_only() -> None:
    unmasked = spec(c_procMount="Unmasked", hostUsers=False)
    assert levels(unmasked) == (True, False)


def run(tmp_path: Path, control_id: str, objects: list[dict[str, Any]], dump: bool = False) -> dict[str, Status]:
    suffix = "json" if dump else "yaml"
    return by_resource(offline_findings(tmp_path / f"pss{next(_counter)}.{suffix}", control_id, objects, dump=dump))


@pytest.mark.parametrize("name", sorted(BASELINE_FAILS))
def test_k8s_25_and_26_see_every_baseline_field_through_the_evidence(tmp_path: Path, name: str) -> None:
    objects = [workload("Deployment", "web", BASELINE_FAILS[name]), workload("Deployment", "ok", RESTRICTED_POD)]
    expected = {"Deployment team-a/web": Status.FAIL, "Deployment team-a/ok": Status.PASS}
    assert run(tmp_path, "K8S-25", objects) == expected
    assert run(tmp_path, "K8S-26", objects) == expected


def test_k8s_26_sees_the_restricted_fields_through_the_evidence(tmp_path: Path) -> None:
    objects = [
        workload("Deployment", "nfs", RESTRICTED_ONLY_FAILS["nfs volume"]),
        workload("Deployment", "caps", RESTRICTED_ONLY_FAILS["drop all in lower case"]),
        workload("Deployment", "ok", RESTRICTED_ALLOWS["every allowed volume type"]),
    ]
    assert run(tmp_path, "K8S-26", objects) == {
        "Deployment team-a/nfs": Status.FAIL,
        "Deployment team-a/caps": Status.FAIL,
        "Deployment team-a/ok": Status.PASS,
    }
    assert set(run(tmp_path, "K8S-25", objects).values()) == {Status.PASS}


def test_apparmor_annotations_of_a_template_reach_the_verdict(tmp_path: Path) -> None:
    """Annotations live in the pod template's metadata (read here from a JSON dump)."""
    web = workload("Deployment", "web", RESTRICTED_POD)
    web["spec"]["template"]["metadata"]["annotations"] = {
        "container.apparmor.security.beta.kubernetes.io/app": "unconfined"
    }
    assert run(tmp_path, "K8S-25", [web], dump=True) == {"Deployment team-a/web": Status.FAIL}


def test_k8s_27_sys_admin(tmp_path: Path) -> None:
    def caps(*added: str) -> dict[str, Any]:
        return good_spec(
            containers=[{"name": "a", "image": "x", "securityContext": {"capabilities": {"add": list(added)}}}]
        )

    objects = [
        workload("Deployment", "sys-admin", caps("CAP_SYS_ADMIN")),
        workload("Deployment", "lower", caps("sys_admin")),
        workload("Deployment", "all", caps("ALL")),
        workload("Deployment", "net", caps("NET_BIND_SERVICE")),
        workload(
            "Deployment",
            "priv",
            good_spec(containers=[{"name": "a", "image": "x", "securityContext": {"privileged": True}}]),
        ),
    ]
    assert run(tmp_path, "K8S-27", objects) == {
        "Deployment team-a/sys-admin": Status.FAIL,
        "Deployment team-a/lower": Status.FAIL,
        "Deployment team-a/all": Status.FAIL,
        "Deployment team-a/net": Status.PASS,
        "Deployment team-a/priv": Status.FAIL,
    }


@pytest.mark.parametrize("order", [("K8S-25", "K8S-26"), ("K8S-26", "K8S-25")])
def test_both_levels_on_one_evidence_judge_each_workload_as_alone(tmp_path: Path, order: tuple[str, str]) -> None:
    """K8S-25 and K8S-26 share each workload's container walk (Evidence.memo), in either order; a pod
    with user namespaces (hostUsers: false) and procMount Unmasked passes baseline and fails
    restricted, so a baseline verdict shared across levels there would be wrong for one of them."""
    import json

    from checks.kubernetes.plugin import PLUGIN
    from scanner.engine import evaluate_control
    from scanner.interface import Target
    from tests.kubernetes.k8s_objects import baseline_controls, registry, scanned

    pods = {
        "unmasked": spec(c_procMount="Unmasked", hostUsers=False),
        "unmasked-host": spec(c_procMount="Unmasked"),
        "nfs": RESTRICTED_ONLY_FAILS["nfs volume"],
        "hostpid": BASELINE_FAILS[sorted(BASELINE_FAILS)[0]],
        "ok": RESTRICTED_POD,
    }
    path = tmp_path / "both.json"
    items = [workload("Deployment", name, pod) for name, pod in pods.items()]
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}), encoding="utf-8")
    evidence = scanned(PLUGIN.collect(Target(id="t", kind="kubernetes", url=f"dump:{path}"), {}, 30.0))
    controls = baseline_controls()
    got = {cid: by_resource(evaluate_control(controls[cid], evidence, registry())) for cid in order}
    for cid, level in (("K8S-25", "baseline"), ("K8S-26", "restricted")):
        expected = {
            f"Deployment team-a/{name}": Status.FAIL if pss_violations(pod, {}, level) else Status.PASS
            for name, pod in pods.items()
        }
        assert got[cid] == expected, cid
    assert got["K8S-25"]["Deployment team-a/unmasked"] is Status.PASS
    assert got["K8S-26"]["Deployment team-a/unmasked"] is Status.FAIL
