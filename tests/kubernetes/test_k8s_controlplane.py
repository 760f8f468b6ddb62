"""Control-plane controls added for issue 11: CIS flags, structured configuration files, audit policy
and encryption configuration content, kubelet settings, cipher suites, the dated version floor."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from checks.kubernetes.controlplane import strong_cipher_suite
from scanner.engine import evaluate_control
from scanner.model import Evidence, Finding, Status
from tests.kubernetes.k8s_objects import (
    GOOD_APISERVER_FLAGS,
    baseline_controls,
    by_resource,
    kubelet_configmap,
    offline_findings,
    registry,
    static_pod,
)

PASS, FAIL, ERROR, NA = Status.PASS, Status.FAIL, Status.ERROR, Status.NOT_APPLICABLE
_counter = itertools.count()
APISERVER = "Pod kube-system/kube-apiserver-cp-1"


def run(tmp_path: Path, control_id: str, objects: Sequence[Any], **params: Any) -> list[Finding]:
    return offline_findings(tmp_path / f"cp{next(_counter)}.yaml", control_id, objects, **params)


def status(tmp_path: Path, control_id: str, objects: Sequence[Any]) -> set[Status]:
    return {f.status for f in run(tmp_path, control_id, objects)}


GOOD_FLAGS: dict[str, list[str]] = {
    "kube-apiserver": [
        *GOOD_APISERVER_FLAGS,
        "--enable-admission-plugins=NodeRestriction,PodSecurity",
        "--profiling=false",
    ],
    "kube-controller-manager": [
        "--profiling=false",
        "--bind-address=127.0.0.1",
        "--use-service-account-credentials=true",
        "--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
        "--root-ca-file=/etc/kubernetes/pki/ca.crt",
        "--terminated-pod-gc-threshold=10",
    ],
    "kube-scheduler": ["--profiling=false", "--bind-address=127.0.0.1"],
    "etcd": [
        "--cert-file=/etc/kubernetes/pki/etcd/server.crt",
        "--key-file=/etc/kubernetes/pki/etcd/server.key",
        "--client-cert-auth=true",
        "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt",
        "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
        "--peer-client-cert-auth=true",
    ],
}

FLAG_CONTROLS: dict[str, tuple[str, list[str]]] = {
    # control: (component, a flag that breaks it)
    "K8S-28": ("kube-apiserver", "--disable-admission-plugins=NodeRestriction"),
    "K8S-29": ("kube-apiserver", "--profiling=true"),
    "K8S-30": ("kube-apiserver", "--token-auth-file=/etc/kubernetes/tokens.csv"),
    "K8S-31": ("kube-controller-manager", "--bind-address=0.0.0.0"),
    "K8S-32": ("kube-controller-manager", "--use-service-account-credentials=false"),
    "K8S-34": ("kube-scheduler", "--profiling=true"),
    "K8S-35": ("etcd", "--auto-tls=true"),
    "K8S-36": ("etcd", "--peer-auto-tls=true"),
}  # type: ignore[dict-item]


@pytest.mark.parametrize("control_id", sorted(FLAG_CONTROLS))
def test_new_flag_controls_pass_and_fail(tmp_path: Path, control_id: str) -> None:
    component, breaking = FLAG_CONTROLS[control_id]
    good = static_pod(component, GOOD_FLAGS[component])
    bad = static_pod(component, [*GOOD_FLAGS[component], breaking])
    assert status(tmp_path, control_id, [good]) == {PASS}
    assert status(tmp_path, control_id, [bad]) == {FAIL}
    if control_id != "K8S-30":  # the default of every other flag is the weak one
        assert status(tmp_path, control_id, [static_pod(component, [])]) == {FAIL}


def test_controller_manager_gc_threshold_and_missing_components(tmp_path: Path) -> None:
    assert status(
        tmp_path, "K8S-33", [static_pod("kube-controller-manager", GOOD_FLAGS["kube-controller-manager"])]
    ) == {PASS}
    assert status(tmp_path, "K8S-33", [static_pod("kube-controller-manager", ["--profiling=false"])]) == {FAIL}
    # no etcd static pod (external etcd, managed control plane): not visible, not a FAIL
    [finding] = run(tmp_path, "K8S-35", [static_pod("kube-apiserver", GOOD_FLAGS["kube-apiserver"])])
    assert finding.status is NA and "no etcd static pod" in finding.message


def test_node_restriction_must_be_enabled_explicitly(tmp_path: Path) -> None:
    flags = [f for f in GOOD_FLAGS["kube-apiserver"] if not f.startswith("--enable-admission-plugins")]
    [finding] = run(tmp_path, "K8S-28", [static_pod("kube-apiserver", flags)])
    assert finding.status is FAIL and "--enable-admission-plugins unset" in finding.message


def config(kind: str, body: dict[str, Any], group: str = "apiserver.config.k8s.io/v1") -> dict[str, Any]:
    return {"apiVersion": group, "kind": kind, **body}


AUTHZ = config(
    "AuthorizationConfiguration",
    {"authorizers": [{"type": "Node", "name": "node"}, {"type": "RBAC", "name": "rbac"}]},
    "apiserver.config.k8s.io/v1beta1",
)


def test_structured_authorization_config_is_read_never_failed_for_a_missing_flag(tmp_path: Path) -> None:
    flags = [f for f in GOOD_FLAGS["kube-apiserver"] if not f.startswith("--authorization-mode")]
    pod = static_pod("kube-apiserver", [*flags, "--authorization-config=/etc/kubernetes/authz.yaml"])
    [invisible] = run(tmp_path, "K8S-02", [pod])
    assert invisible.status is NA and "--authorization-config=/etc/kubernetes/authz.yaml" in invisible.message
    assert status(tmp_path, "K8S-02", [pod, AUTHZ]) == {PASS}
    always = config("AuthorizationConfiguration", {"authorizers": [{"type": "AlwaysAllow", "name": "all"}]})
    [bad] = run(tmp_path, "K8S-02", [pod, always])
    assert bad.status is FAIL and "authorizers do not include Node" in bad.message and "AlwaysAllow" in bad.message


def test_structured_authentication_config_decides_anonymous_access(tmp_path: Path) -> None:
    flags = [f for f in GOOD_FLAGS["kube-apiserver"] if not f.startswith("--anonymous-auth")]
    pod = static_pod("kube-apiserver", [*flags, "--authentication-config=/etc/kubernetes/authn.yaml"])
    assert status(tmp_path, "K8S-01", [pod]) == {NA}
    health_only = {"anonymous": {"enabled": True, "conditions": [{"path": "/livez"}, {"path": "/readyz"}]}}
    assert status(tmp_path, "K8S-01", [pod, config("AuthenticationConfiguration", health_only)]) == {PASS}
    open_all = {"anonymous": {"enabled": True}}
    assert status(tmp_path, "K8S-01", [pod, config("AuthenticationConfiguration", open_all)]) == {FAIL}
    assert status(tmp_path, "K8S-01", [pod, config("AuthenticationConfiguration", {"jwt": []})]) == {FAIL}
    # the flag still wins when both are given
    both = static_pod("kube-apiserver", [*GOOD_FLAGS["kube-apiserver"], "--authentication-config=/a.yaml"])
    assert status(tmp_path, "K8S-01", [both, config("AuthenticationConfiguration", open_all)]) == {PASS}


def audit_policy(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": list(rules)}


def test_k8s_40_audit_policy_content(tmp_path: Path) -> None:
    apiserver = static_pod("kube-apiserver", GOOD_FLAGS["kube-apiserver"])
    [live_like] = run(tmp_path, "K8S-40", [apiserver])
    assert (
        live_like.status is NA and "Policy /etc/kubernetes/audit.yaml is not in the offline input" in live_like.message
    )
    nothing = audit_policy({"level": "None"})
    [silent] = run(tmp_path, "K8S-40", [apiserver, nothing])
    assert silent.status is FAIL and "records nothing relevant" in silent.message
    assert status(tmp_path, "K8S-40", [apiserver, audit_policy()]) == {FAIL}  # no rule: None for everything
    secrets_none = audit_policy(
        {"level": "None", "resources": [{"group": "", "resources": ["secrets"]}]}, {"level": "Metadata"}
    )
    [partial] = run(tmp_path, "K8S-40", [apiserver, secrets_none])
    assert partial.status is FAIL and "reading a Secret" in partial.message and "exec" not in partial.message
    good = audit_policy(
        {"level": "None", "users": ["system:kube-proxy"], "verbs": ["watch"]},  # specific noise: fine
        {"level": "None", "nonResourceURLs": ["/healthz*"]},
        {"level": "RequestResponse", "resources": [{"group": "", "resources": ["pods/exec", "pods/*"]}]},
        {"level": "Metadata"},
    )
    assert status(tmp_path, "K8S-40", [apiserver, good]) == {PASS}
    no_flag = static_pod("kube-apiserver", [f for f in GOOD_FLAGS["kube-apiserver"] if "audit-policy" not in f])
    [unset] = run(tmp_path, "K8S-40", [no_flag, good])
    assert unset.status is NA and "K8S-03" in unset.message


def encryption(*providers: dict[str, Any], resources: Sequence[str] = ("secrets",)) -> dict[str, Any]:
    return config(
        "EncryptionConfiguration", {"resources": [{"resources": list(resources), "providers": list(providers)}]}
    )


KEY = {"keys": [{"name": "k1", "secret": "c2VjcmV0LWtleS1tYXRlcmlhbC0wMTIzNDU2Nzg5YWJjZGVm"}]}


def test_k8s_41_encryption_config_content(tmp_path: Path) -> None:
    apiserver = static_pod("kube-apiserver", GOOD_FLAGS["kube-apiserver"])
    kms = {"kms": {"apiVersion": "v2", "name": "openbao", "endpoint": "unix:///run/kms.sock"}}
    cases = {
        "identity first": (encryption({"identity": {}}, {"aescbc": KEY}), FAIL),
        "aescbc first": (encryption({"aescbc": KEY}, {"identity": {}}), FAIL),
        "aesgcm first": (encryption({"aesgcm": KEY}), FAIL),
        "kms v1": (encryption({"kms": {"name": "old", "endpoint": "unix:///x"}}), FAIL),
        "secrets not covered": (encryption({"secretbox": KEY}, resources=("configmaps",)), FAIL),
        "secretbox": (encryption({"secretbox": KEY}, {"identity": {}}), PASS),
        "kms v2": (encryption(kms, {"identity": {}}), PASS),
        "kms v2 for all core resources": (encryption(kms, resources=("*.",)), PASS),
    }
    for name, (doc, expected) in cases.items():
        [finding] = run(tmp_path, "K8S-41", [apiserver, doc])
        assert finding.status is expected, (name, finding.message)
    [identity] = run(tmp_path, "K8S-41", [apiserver, cases["identity first"][0]])
    assert "written in clear text" in identity.message
    assert status(tmp_path, "K8S-41", [apiserver, cases["aescbc first"][0]]) == {FAIL}
    found = run(tmp_path, "K8S-41", [apiserver, cases["aescbc first"][0]], accepted_providers=["aescbc"])
    assert {f.status for f in found} == {PASS}


def test_encryption_key_material_never_reaches_the_evidence(tmp_path: Path) -> None:
    import json

    from checks.kubernetes.plugin import PLUGIN
    from scanner.interface import Target
    from tests.kubernetes.k8s_objects import write_manifests

    path = write_manifests(tmp_path / "enc.yaml", [encryption({"aescbc": KEY})])
    evidence = PLUGIN.collect(Target(id="t", kind="kubernetes", url=f"manifests:{path}"), {}, 30.0)
    text = json.dumps(evidence.sections)
    assert KEY["keys"][0]["secret"] not in text and "aescbc" in text


def kubelet(extra: str) -> dict[str, Any]:
    return kubelet_configmap("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" + extra)


def test_k8s_37_38_kubelet_settings(tmp_path: Path) -> None:
    assert status(tmp_path, "K8S-37", [kubelet("protectKernelDefaults: true\n")]) == {PASS}
    [unset] = run(tmp_path, "K8S-37", [kubelet("")])
    assert unset.status is FAIL and "unset (default False)" in unset.message
    assert status(tmp_path, "K8S-38", [kubelet("rotateCertificates: true\n")]) == {PASS}
    assert status(tmp_path, "K8S-38", [kubelet("rotateCertificates: false\n")]) == {FAIL}
    assert status(tmp_path, "K8S-38", [kubelet('rotateCertificates: "true"\n')]) == {ERROR}  # not a boolean
    assert status(tmp_path, "K8S-37", [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}]) == {NA}


def test_k8s_39_kubelet_cipher_suites(tmp_path: Path) -> None:
    strong = "tlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]\n"
    assert status(tmp_path, "K8S-39", [kubelet(strong)]) == {PASS}
    [weak] = run(
        tmp_path,
        "K8S-39",
        [kubelet("tlsCipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_GCM_SHA256]\n")],
    )
    assert weak.status is FAIL and "TLS_RSA_WITH_AES_128_GCM_SHA256" in weak.message
    assert status(tmp_path, "K8S-39", [kubelet("")]) == {FAIL}


@pytest.mark.parametrize(
    ("suite", "strong"),
    [
        ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", True),
        ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", True),
        ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", True),
        ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", True),
        ("TLS_AES_128_GCM_SHA256", True),
        ("TLS_CHACHA20_POLY1305_SHA256", True),
        ("TLS_RSA_WITH_AES_128_GCM_SHA256", False),  # no forward secrecy
        ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", False),  # CBC
        ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", False),
        ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", False),
        ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", False),
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256_EVIL", False),
    ],
)
def test_cipher_suites_are_judged_by_name(suite: str, strong: bool) -> None:
    assert strong_cipher_suite(suite) is strong


def test_apiserver_cipher_suites_use_the_same_judgement(tmp_path: Path) -> None:
    flags = [f for f in GOOD_FLAGS["kube-apiserver"] if not f.startswith("--tls-cipher-suites")]
    rsa = static_pod("kube-apiserver", [*flags, "--tls-cipher-suites=TLS_RSA_WITH_AES_256_GCM_SHA384"])
    [finding] = run(tmp_path, "K8S-05", [rsa])
    assert finding.status is FAIL and "not forward-secret AEAD: TLS_RSA_WITH_AES_256_GCM_SHA384" in finding.message


def version_evidence(git_version: str, collected_at: str) -> Evidence:
    return Evidence(
        target="c",
        kind="kubernetes",
        uri="k8s://c",
        sections={"version": {"gitVersion": git_version}},
        metadata={"mode": "context"},
        collected_at=collected_at,
    )


def test_k8s_24_version_floor_is_dated_data() -> None:
    control = baseline_controls()["K8S-24"]
    reviewed = control.params["version_floor"]["reviewed"]
    fresh = reviewed + "T12:00:00+00:00"

    def judged(version: str, at: str = fresh) -> dict[str, Status]:
        return by_resource(evaluate_control(control, version_evidence(version, at), registry()))

    assert judged("v1.36.2") == {"cluster c": PASS}
    assert judged("v1.34.9") == {"cluster c": FAIL}  # below the oldest supported minor
    assert judged("v1.40.0-eks-1") == {"cluster c": PASS}  # newer than every floor: nothing known against it
    stale = evaluate_control(control, version_evidence("v1.36.2", "2030-01-01T00:00:00+00:00"), registry())
    assert sorted(f.status.value for f in stale) == ["FAIL", "PASS"]
    [old] = [f for f in stale if f.status is FAIL]
    assert old.resource.uri == "k8s://c/version-floor" and f"last reviewed on {reviewed}" in old.message
    raised = dataclasses.replace(
        control, params={"version_floor": {**control.params["version_floor"], "floors": {"1.36": "1.36.5"}}}
    )
    [below] = evaluate_control(raised, version_evidence("v1.36.2", fresh), registry())
    assert below.status is FAIL and "update to 1.36.5" in below.message


def test_k8s_06_a_quoted_boolean_is_not_false(tmp_path: Path) -> None:
    quoted = 'authentication:\n  anonymous:\n    enabled: "false"\n'
    [finding] = run(tmp_path, "K8S-06", [kubelet(quoted)])
    assert finding.status is FAIL and "not a boolean" in finding.message
