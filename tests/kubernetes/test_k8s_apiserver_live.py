"""The live collector against a real kube-apiserver (tests/services/kubeapi_real.py).

Every test here uses the real control plane (etcd + kube-apiserver + kube-controller-manager built
from the Go module proxy). The objects are created through the API, so the server's defaulting
and validation apply; the scanner reads as the ServiceAccount of examples/kubernetes/rbac.yaml
with a TokenRequest token. What only the HTTP-served stand-in can do (a managed control plane
hiding its static pods, a truncated or failing later page) stays in test_k8s_live.py.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from checks.kubernetes.kinds import KINDS
from checks.kubernetes.plugin import PLUGIN
from scanner.errors import CollectionError
from scanner.interface import Target
from scanner.model import Evidence, Status
from tests.kubernetes.k8s_objects import evaluate
from tests.kubernetes.real_cluster import (
    SCANNER,
    ForwardingProxy,
    apply_follow_ups,
    collect,
    collect_dump,
    create_ordered,
    finding_key,
    install_scanner,
    kubectl_dump,
    rbac_example,
    real_sample_cluster,
)
from tests.services.kubeapi_real import KUBE_VERSION, NODE_NAME, KubeCluster, write_token_kubeconfig

FLAG_CONTROLS = ("K8S-01", "K8S-02", "K8S-03", "K8S-04", "K8S-05")
CONTROL_PLANE_CONTROLS = ("K8S-28", "K8S-29", "K8S-30", "K8S-31", "K8S-32", "K8S-33", "K8S-35", "K8S-36")
"""Flag controls of the API server, controller manager and etcd the fixture's good configuration passes."""
SECRET_DATA = "c3VwZXJzZWNyZXQtdmFsdWU="  # the sample Secret's data (base64 of a planted value)
SCANNER_USER = "system:serviceaccount:sovscan:sovscan"


@pytest.fixture(scope="module")
def loaded(kube_cluster: KubeCluster) -> KubeCluster:
    """The real cluster with sample_cluster()'s objects and the scanner's ServiceAccount."""
    install_scanner(kube_cluster)
    objects, later = real_sample_cluster()
    create_ordered(kube_cluster, objects)
    apply_follow_ups(kube_cluster, later)
    return kube_cluster


def names(items: Any) -> set[str]:
    """`namespace/name` (or `name`) of listed or slimmed objects."""
    return {
        f"{i['metadata'].get('namespace')}/{i['metadata']['name']}"
        if i["metadata"].get("namespace")
        else i["metadata"]["name"]
        for i in items
    }


def admin_list(cluster: KubeCluster, path: str) -> list[dict[str, Any]]:
    """Everything at a LIST path, read by the fixture's admin."""
    answer = cluster.request("GET", path)
    assert answer.ok, answer.message
    return list(answer.body["items"])


def scanner_audit(cluster: KubeCluster, since: int) -> list[dict[str, Any]]:
    """The scanner's completed requests in the audit log after event number `since` (waits for the log)."""
    deadline = time.monotonic() + 10
    previous = -1
    while True:
        events = [
            e
            for e in cluster.audit_events()[since:]
            if e.get("stage") == "ResponseComplete" and e.get("user", {}).get("username") == SCANNER_USER
        ]
        if len(events) == previous or time.monotonic() > deadline:
            return events
        previous = len(events)
        time.sleep(0.5)


def test_real_server_version_and_its_own_flags_pass(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: /version is the built release; its mirror pod carries its real flags, which pass."""
    evidence = collect(loaded, tmp_path)
    assert evidence.errors == {}  # the example ClusterRole is enough: no 403 anywhere
    assert evidence.sections["version"]["gitVersion"] == KUBE_VERSION
    major, minor = KUBE_VERSION.lstrip("v").split(".")[:2]
    assert (evidence.sections["version"]["major"], evidence.sections["version"]["minor"]) == (major, minor)
    [apiserver] = evidence.sections["controlplane"]["apiserver"]
    assert apiserver["name"] == f"kube-apiserver-{NODE_NAME}"
    running = {a.partition("=")[0]: a.partition("=")[2] for a in loaded.apiserver_argv[1:]}
    assert apiserver["flags"]["--authorization-mode"] == running["--authorization-mode"] == "Node,RBAC"
    assert apiserver["flags"]["--encryption-provider-config"] == running["--encryption-provider-config"]
    findings = evaluate(evidence)
    for control_id in (*FLAG_CONTROLS, *CONTROL_PLANE_CONTROLS):
        assert [f.status for f in findings[control_id]] == [Status.PASS], (control_id, findings[control_id])
    # the audit policy and encryption configuration are files on the node: a live scan cannot read them
    for control_id in ("K8S-40", "K8S-41"):
        [finding] = findings[control_id]
        assert finding.status is Status.NOT_APPLICABLE and "not visible" in finding.message
    assert [f.status for f in findings["K8S-24"]] == [Status.PASS]
    assert [f.status for f in findings["K8S-06"]] == [Status.PASS]  # the sample's kubelet-config


def test_secrets_are_encrypted_in_etcd_by_the_good_configuration_only(
    loaded: KubeCluster, kube_cluster_weak: KubeCluster
) -> None:
    """Real servers: the good encryption config stores Secrets as aescbc; the weak one in plain text."""
    for cluster in (loaded, kube_cluster_weak):
        cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "enc-probe"}})
        cluster.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "probe", "namespace": "enc-probe"},
                "stringData": {"value": "planted-plaintext-9c1f"},
            }
        )
    good = loaded.etcd_value("/registry/secrets/enc-probe/probe")
    weak = kube_cluster_weak.etcd_value("/weak/secrets/enc-probe/probe")
    assert good is not None and good.startswith(b"k8s:enc:aescbc:v1:key1:")
    assert b"planted-plaintext-9c1f" not in good
    assert weak is not None and b"planted-plaintext-9c1f" in weak  # identity first: written in clear


def test_weak_real_server_flags_fail(kube_cluster_weak: KubeCluster, tmp_path: Path) -> None:
    """Real server in the weak configuration: anonymous auth, no Node authorizer, no audit, TLS 1.0."""
    install_scanner(kube_cluster_weak)
    evidence = collect(kube_cluster_weak, tmp_path, target_id="weak")
    assert evidence.errors == {}
    findings = evaluate(evidence)
    expected = {
        "K8S-01": "--anonymous-auth=true",
        "K8S-02": "--authorization-mode=RBAC",
        "K8S-03": "--audit-policy-file unset",
        "K8S-05": "--tls-min-version=VersionTLS10",
    }
    for control_id, shown in expected.items():
        [finding] = findings[control_id]
        assert finding.status is Status.FAIL and shown in finding.message, (control_id, finding.message)
        assert finding.resource.name == f"kube-system/kube-apiserver-{NODE_NAME}"


def test_every_kind_the_collector_reads_is_collected_completely(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: each section holds exactly what the API server lists; Secrets are never read."""
    evidence = collect(loaded, tmp_path, page_size=3)
    assert evidence.errors == {}
    for info in KINDS:
        listed = admin_list(loaded, info.list_path)
        assert names(evidence.sections[info.section]) == names(listed), info.section
    for section in (
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "jobs",
        "cronjobs",
        "ingresses",
        "roles",
    ):
        assert evidence.metadata["objects"].get(section), section  # the sample put some there
    dumped = json.dumps(dict(evidence.sections)) + json.dumps(dict(evidence.metadata))
    assert SECRET_DATA not in dumped and "managedFields" not in dumped
    assert '"production"' not in dumped and "last-applied-configuration" not in dumped  # plain env values, annotations
    pods = {p["metadata"]["name"]: p for p in evidence.sections["pods"]}
    owned = pods["api-5d4f8-a1"]  # its ReplicaSet (owned by the Deployment) is judged instead
    assert owned["owned"] is True and [c["name"] for c in owned["spec"]["ephemeralContainers"]] == ["debugger"]
    assert "containers" not in owned["spec"] and "spec" not in pods["api-5d4f8-b2"]
    [replicaset] = [r for r in evidence.sections["replicasets"] if r["metadata"]["name"] == "api-5d4f8"]
    assert replicaset["owned"] is True
    debug = pods["debug"]
    assert [c["name"] for c in debug["spec"]["ephemeralContainers"]] == ["dbg"]
    findings = evaluate(evidence)
    [flagged] = [f for f in findings["K8S-13"] if f.resource.name == "team-a/debug"]
    assert flagged.status is Status.FAIL and "ephemeralContainer 'dbg' is privileged" in flagged.message
    [flagged] = [f for f in findings["K8S-13"] if f.resource.name == "team-a/api-5d4f8-a1"]
    assert flagged.status is Status.FAIL and "ephemeralContainer 'debugger' is privileged" in flagged.message
    statuses = {f.resource.name: f.status for f in findings["K8S-12"]}
    assert statuses["team-a"] is Status.PASS and statuses["team-b"] is Status.FAIL


def test_pagination_with_a_small_limit_across_many_objects(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: 60 extra ServiceAccounts read 7 at a time; the audit log shows every page."""
    loaded.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "paging"}})
    for i in range(60):
        loaded.create(
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": f"sa-{i:02d}", "namespace": "paging"}}
        )
    since = len(loaded.audit_events())
    evidence = collect(loaded, tmp_path, page_size=7)
    total = len(admin_list(loaded, "/api/v1/serviceaccounts"))
    assert total > 60
    assert len(evidence.sections["serviceaccounts"]) == total
    assert evidence.metadata["pages"]["serviceaccounts"] == math.ceil(total / 7)
    lists = [
        e for e in scanner_audit(loaded, since)
        if e["verb"] == "list" and e["objectRef"].get("resource") == "serviceaccounts"
    ]  # fmt: skip
    assert len(lists) == math.ceil(total / 7)
    assert all("limit=7" in e["requestURI"] for e in lists)
    assert "continue=" not in lists[0]["requestURI"] and all("continue=" in e["requestURI"] for e in lists[1:])
    assert {e["responseStatus"]["code"] for e in lists} == {200}


def _compact_before_continue(cluster: KubeCluster, resource: str, times: int) -> Any:
    done = {"n": 0}

    def before(method: str, path: str, query: Mapping[str, list[str]]) -> None:
        if path.endswith("/" + resource) and "continue" in query and done["n"] < times:
            done["n"] += 1
            # a write, then compaction past it: the token's resourceVersion is now compacted away
            cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                "generateName": "bump-", "namespace": "default"}})  # fmt: skip
            cluster.compact()
            # wait until the API server's watch cache has dropped the snapshot the token points at
            deadline = time.monotonic() + 40
            probe = {"limit": query["limit"][0], "continue": query["continue"][0]}
            while cluster.request("GET", path, query=probe).status != 410:
                assert time.monotonic() < deadline, "the API server never noticed the compaction"
                time.sleep(0.5)

    return before


def test_a_continue_token_expired_by_compaction_restarts_the_list(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: etcd is compacted between two pages of the pod LIST; the server answers 410 Gone."""
    with ForwardingProxy(loaded, _compact_before_continue(loaded, "pods", 1)) as proxy:
        evidence = collect(loaded, tmp_path, page_size=2, server=proxy.url)
    pods = [(status, "continue" in query) for _, path, query, status in proxy.seen if path == "/api/v1/pods"]
    assert pods[0] == (200, False) and pods[1] == (410, True)  # the real server's answer to the old token
    assert pods[2] == (200, False)  # the collector started the list again
    assert "pods" not in evidence.errors
    assert names(evidence.sections["pods"]) == names(admin_list(loaded, "/api/v1/pods"))


def test_a_continue_token_that_expires_twice_is_an_error(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: compaction before every continue: the second 410 makes the section ERROR, not short."""
    with ForwardingProxy(loaded, _compact_before_continue(loaded, "pods", 2)) as proxy:
        evidence = collect(loaded, tmp_path, page_size=2, server=proxy.url)
    assert [s for _, p, _, s in proxy.seen if p == "/api/v1/pods"].count(410) == 2
    assert "pods" not in evidence.sections
    assert "the continue token expired twice" in evidence.errors["pods"]
    findings = evaluate(evidence)
    assert {f.status for f in findings["K8S-13"]} == {Status.ERROR}


def limited_account(cluster: KubeCluster, name: str, without: set[str]) -> tuple[str, str]:
    """A ServiceAccount bound to the example ClusterRole minus the rules naming `without`; (namespace, name)."""
    [reader] = [d for d in rbac_example() if d["kind"] == "ClusterRole"]
    rules = []
    for rule in reader["rules"]:
        kept = [r for r in rule.get("resources", ()) if r not in without]
        if rule.get("resources") and not kept:
            continue
        if "nonResourceURLs" in rule and "version" in without:
            continue
        rules.append({**rule, "resources": kept} if rule.get("resources") else rule)
    role = f"sovscan-{name}"
    create_ordered(
        cluster,
        [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "sovscan"}},
            {**reader, "metadata": {"name": role}, "rules": rules},
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": role},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "sovscan"}],
            },
        ],
    )
    return "sovscan", name


def test_a_kind_the_scanner_may_not_list_is_an_error_naming_it(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: a ClusterRole without deployments: RBAC answers 403 and the dependent controls ERROR."""
    account = limited_account(loaded, "no-deployments", {"deployments"})
    evidence = collect(loaded, tmp_path, account=account)
    reason = "permission denied: list deployments.apps (cluster-wide) is forbidden for the scanner's account"
    assert evidence.errors == {"deployments": reason}
    assert "deployments" not in evidence.sections
    findings = evaluate(evidence)
    for control_id in ("K8S-11", "K8S-13", "K8S-16", "K8S-22"):
        assert {f.status for f in findings[control_id]} == {Status.ERROR}, control_id
        assert reason in findings[control_id][0].message
    assert Status.PASS in {f.status for f in findings["K8S-20"]}  # NetworkPolicies were read
    assert Status.PASS in {f.status for f in findings["K8S-01"]}


def test_forbidden_rbac_kinds_and_pods(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: without clusterroles and pods, RBAC and control-plane controls ERROR; bindings still judged."""
    account = limited_account(loaded, "no-roles-pods", {"clusterroles", "pods"})
    evidence = collect(loaded, tmp_path, account=account)
    assert set(evidence.errors) == {"clusterroles", "pods", "controlplane"}
    findings = evaluate(evidence)
    for control_id in ["K8S-08", "K8S-09", *FLAG_CONTROLS, "K8S-13"]:
        assert [f.status for f in findings[control_id]] == [Status.ERROR], control_id
    assert "list clusterroles.rbac.authorization.k8s.io (cluster-wide)" in findings["K8S-08"][0].message
    assert "list pods (cluster-wide)" in findings["K8S-01"][0].message  # control-plane flags come from pods
    bindings = {f.status for f in findings["K8S-07"]}  # bindings were read: they are judged
    assert Status.FAIL in bindings and Status.ERROR not in bindings


def test_forbidden_kubelet_configmap_is_an_error(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: without the kubelet-config rule, K8S-06 is ERROR naming the GET."""
    account = limited_account(loaded, "no-configmap", {"configmaps"})
    evidence = collect(loaded, tmp_path, account=account)
    assert set(evidence.errors) == {"kubeletconfig"}
    [finding] = evaluate(evidence)["K8S-06"]
    assert finding.status is Status.ERROR
    assert "get configmaps kube-system/kubelet-config is forbidden" in finding.message


def test_in_cluster_service_account_mode(loaded: KubeCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real server: `in-cluster` reads the mounted token and CA of a pod's ServiceAccount."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(loaded.token(*SCANNER))
    (account / "ca.crt").write_bytes(loaded.pki.ca.read_bytes())
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", loaded.url.rsplit(":", 1)[1])
    target = PLUGIN.parse_target("in-cluster")
    target = Target(id=target.id, kind=target.kind, url=target.url, options={"service_account_dir": str(account)})
    evidence = PLUGIN.collect(target, {}, 60.0)
    assert evidence.errors == {} and evidence.metadata["mode"] == "in-cluster"
    assert names(evidence.sections["pods"]) == names(admin_list(loaded, "/api/v1/pods"))


def test_an_unknown_server_certificate_is_a_tls_error(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: a kubeconfig without the cluster's CA: the certificate is not trusted, a TLS error."""
    kubeconfig = write_token_kubeconfig(tmp_path / "kc", loaded.url, loaded.pki.ca, loaded.token(*SCANNER), "noca")
    document = json.loads(kubeconfig.read_text())
    del document["clusters"][0]["cluster"]["certificate-authority"]
    kubeconfig.write_text(json.dumps(document))
    target = Target(id="noca", kind="kubernetes", url="context:noca", options={"kubeconfig": str(kubeconfig)})
    with pytest.raises(CollectionError) as raised:
        PLUGIN.collect(target, {}, 30.0)
    assert raised.value.reason == CollectionError.TLS


def test_cli_scan_of_the_real_cluster(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: `sovscan scan --target kubernetes=CONTEXT` with a ServiceAccount that may not list cronjobs."""
    account = limited_account(loaded, "no-cronjobs", {"cronjobs"})
    kubeconfig = write_token_kubeconfig(tmp_path / "kc", loaded.url, loaded.pki.ca, loaded.token(*account), "prod")
    out, reports, saved = tmp_path / "result.json", tmp_path / "reports", tmp_path / "evidence"
    reports.mkdir()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    sovscan = str(Path(sys.executable).parent / "sovscan")
    formats = [f"-f{kind}={reports / ('r.' + kind)}" for kind in ("sarif", "junit", "wazuh")]
    done = subprocess.run(
        [sovscan, "scan", "--target", "kubernetes=prod", "-f", f"json={out}", *formats, "--save-evidence", str(saved),
         "--fail-on", "none"],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr  # some controls ERROR: cronjobs are forbidden
    result = json.loads(out.read_text())
    statuses = {(f["control_id"], f["resource"]["uri"]): f["status"] for f in result["findings"]}
    assert statuses[("K8S-13", "k8s://prod")] == "ERROR"
    assert statuses[("K8S-07", "k8s://prod/ClusterRoleBinding/ci-admin")] == "FAIL"
    assert statuses[("K8S-01", f"k8s://prod/ns/kube-system/Pod/kube-apiserver-{NODE_NAME}")] == "PASS"
    token = json.loads(kubeconfig.read_text())["users"][0]["user"]["token"]
    artifacts = [out, *reports.iterdir(), *saved.rglob("*")]
    assert len([a for a in artifacts if a.is_file()]) >= 5
    for artifact in artifacts:
        if artifact.is_file():
            text = artifact.read_text(errors="replace")
            assert token not in text and SECRET_DATA not in text, artifact  # the planted Secret's data too
    assert token not in done.stdout + done.stderr and SECRET_DATA not in done.stdout + done.stderr


def _comparable(evidence: Evidence) -> dict[tuple[str, str], tuple[Status, str]]:
    findings = evaluate(evidence)
    out = {}
    for control_id, found in findings.items():
        if control_id == "K8S-24":  # offline input carries no server version
            continue
        for finding in found:
            if finding.resource.kind == "cluster":  # "nothing found": PASS live, NOT_APPLICABLE offline
                continue
            out[finding_key(finding)] = (finding.status, finding.message)
    return out


def test_live_scan_and_kubectl_dump_of_the_same_objects_agree(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: the same findings from a live scan and from `kubectl get -o json` of the same objects.

    The one designed difference: where a finding rests on the *absence* of objects (no
    NetworkPolicy in a namespace), offline input proves nothing and says NOT_APPLICABLE naming the
    offline input, while the complete live LIST proves it.
    """
    live = collect(loaded, tmp_path)
    kinds = [info.qualified for info in KINDS]
    dump = collect_dump(kubectl_dump(loaded, tmp_path, kinds))
    assert dump.errors == {}
    live_findings, dump_findings = _comparable(live), _comparable(dump)
    assert len(live_findings) > 50
    assert live_findings.keys() == dump_findings.keys()
    differing, absence = {}, []
    for key, (status, _) in live_findings.items():
        offline_status, offline_message = dump_findings[key]
        if offline_status is status:
            continue
        if offline_status is Status.NOT_APPLICABLE and "offline input" in offline_message:
            absence.append(key)
            continue
        differing[key] = (status, offline_status, offline_message)
    assert differing == {}
    assert len(absence) < len(live_findings) / 10  # the exception stays the exception


def test_a_wrong_token_is_an_authentication_error(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: a token it did not sign is answered 401; the token never appears in the error."""
    kubeconfig = write_token_kubeconfig(tmp_path / "kc", loaded.url, loaded.pki.ca, "not-a-real-token-4711", "bad")
    target = Target(id="bad", kind="kubernetes", url="context:bad", options={"kubeconfig": str(kubeconfig)})
    with pytest.raises(CollectionError) as raised:
        PLUGIN.collect(target, {}, 30.0)
    assert raised.value.reason == CollectionError.AUTHENTICATION
    assert "not-a-real-token-4711" not in str(raised.value)


def test_scanner_token_never_reaches_the_evidence(loaded: KubeCluster, tmp_path: Path) -> None:
    """Real server: the bound token of the scanner's account is in no section, error or metadata."""
    evidence = collect(loaded, tmp_path)
    token = json.loads((tmp_path / "kubeconfig-real").read_text())["users"][0]["user"]["token"]
    assert len(token) > 100
    assert token not in json.dumps([dict(evidence.sections), dict(evidence.errors), dict(evidence.metadata)])
    assert SCANNER == ("sovscan", "sovscan")


def test_real_evidence_matches_the_evidence_contract(
    loaded: KubeCluster, kube_cluster_weak: KubeCluster, tmp_path: Path
) -> None:
    """Real servers: what the collector really produces from them matches the plugin's evidence contract."""
    from tests.kubernetes.test_k8s_contract import contract_errors

    install_scanner(kube_cluster_weak)
    for cluster, target_id in ((loaded, "real"), (kube_cluster_weak, "weak")):
        evidence = collect(cluster, tmp_path, target_id=target_id)
        assert set(evidence.sections) >= {info.section for info in KINDS}
        assert contract_errors(evidence) == {}, target_id
    dump = collect_dump(kubectl_dump(loaded, tmp_path, [info.qualified for info in KINDS]))
    assert contract_errors(dump) == {}


def test_the_weak_variant_is_really_weak(loaded: KubeCluster, kube_cluster_weak: KubeCluster) -> None:
    """Real servers: anonymous requests are refused by the good server and answered by the weak one."""
    import urllib3

    pool = urllib3.PoolManager(ca_certs=str(loaded.pki.ca), cert_reqs="CERT_REQUIRED", retries=False)
    assert pool.request("GET", loaded.url + "/version/", timeout=10).status == 401
    answered = pool.request("GET", kube_cluster_weak.url + "/version/", timeout=10)
    assert answered.status == 200 and json.loads(answered.data)["gitVersion"] == KUBE_VERSION
    assert loaded.audit_log is not None and loaded.audit_events()  # the good server keeps an audit log
    assert kube_cluster_weak.audit_log is None
    assert not any("--audit-" in a for a in kube_cluster_weak.apiserver_argv)
