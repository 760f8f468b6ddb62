"""The Kubernetes evidence contract: real collections match it, malformed answers are errors, and every
check declares the sections it reads.

The malformed LIST answers (`{}`, items that are not objects, a truncated page) come from a small
HTTP stand-in: a real API server cannot be made to send them. It is reached through the real
`kubernetes` client over a loopback socket.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from checks.kubernetes.contract import CONTRACT
from checks.kubernetes.plugin import CHECKS, PLUGIN
from scanner.interface import Target
from scanner.model import Evidence, Status
from tests.kubernetes.k8s_objects import baseline_controls, evaluate, sample_cluster, write_manifests
from tests.services.kubeapi import KubeAPIServer, write_kubeconfig

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "contract-token-0123456789"


def contract_errors(evidence: Evidence) -> dict[str, str]:
    """Section -> first schema violation, for every present section."""
    found = {}
    for name, data in evidence.sections.items():
        schema = PLUGIN.evidence_contract().get(name)
        assert schema is not None, f"section {name} has no schema"
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
        if error is not None:
            found[name] = f"{list(error.absolute_path)}: {error.message}"
    return found


def live(server_url: str, tmp_path: Path, token: str = TOKEN) -> Evidence:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server_url, token=token, context="c")
    target = Target(id="c", kind="kubernetes", url="context:c", options={"kubeconfig": str(kubeconfig), "page_size": 3})
    return PLUGIN.collect(target, {}, 30.0)


def test_the_schemas_are_valid_draft_2020_12_and_cover_every_section() -> None:
    for schema in CONTRACT.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    assert PLUGIN.evidence_contract() is CONTRACT


def test_live_offline_and_shipped_evidence_match_the_contract(tmp_path: Path) -> None:
    with KubeAPIServer(sample_cluster(), token=TOKEN) as server:
        collected = live(server.url, tmp_path)
    assert collected.errors == {}
    assert set(collected.sections) == set(CONTRACT)
    assert contract_errors(collected) == {}
    manifests = write_manifests(tmp_path / "m.yaml", sample_cluster())
    offline = PLUGIN.collect(Target(id="m", kind="kubernetes", url=f"manifests:{manifests}"), {}, 30.0)
    assert set(offline.sections) == set(CONTRACT) and contract_errors(offline) == {}
    [shipped] = sorted((ROOT / "examples" / "evidence").glob("prod-cluster-*.json"))
    document = json.loads(shipped.read_text())
    demo = Evidence(target="demo", kind="kubernetes", uri="k8s://demo", sections=document["sections"])
    assert contract_errors(demo) == {}


@pytest.mark.parametrize(
    ("section", "mutate"),
    [
        ("pods", lambda s: s.append({"spec": {}})),  # no metadata
        ("pods", lambda s: s.append({"metadata": {"name": "p", "namespace": "a"}, "spec": {"containers": "x"}})),
        ("deployments", lambda s: s.append({"metadata": {"name": 1, "namespace": "a"}})),
        ("networkpolicies", lambda s: s.append({"metadata": {"name": "n", "namespace": "a"}, "spec": {}})),
        ("clusterrolebindings", lambda s: s.append({"metadata": {"name": "b"}, "roleRef": {}, "subjects": []})),
        ("controlplane", lambda s: s["apiserver"].append({"name": "x", "flags": {"--a": 1}})),
        ("kubeletconfig", lambda s: s.update({"found": True, "config": None})),
        ("version", lambda s: s.pop("gitVersion")),
    ],
)
def test_a_malformed_section_does_not_match(tmp_path: Path, section: str, mutate: Callable[[Any], None]) -> None:
    with KubeAPIServer(sample_cluster(), token=TOKEN) as server:
        collected = live(server.url, tmp_path)
    data = json.loads(json.dumps(collected.sections[section]))
    mutate(data)
    broken = Evidence(target="c", kind="kubernetes", uri="k8s://c", sections={section: data})
    assert section in contract_errors(broken)


def test_every_check_declares_every_section_it_reads(tmp_path: Path) -> None:
    """Given only the sections of its `needs`, every control decides exactly as with all of them."""
    with KubeAPIServer(sample_cluster(), token=TOKEN) as server:
        full = live(server.url, tmp_path)
    needs = {spec.name: spec.needs for spec in CHECKS}
    everything = evaluate(full)
    for control_id, control in baseline_controls().items():
        only = Evidence(
            target=full.target,
            kind=full.kind,
            uri=full.uri,
            sections={k: v for k, v in full.sections.items() if k in needs[control.check]},
            metadata=full.metadata,
        )
        restricted = evaluate(only, {control_id: control})[control_id]
        assert [(f.resource.uri, f.status, f.message) for f in restricted] == [
            (f.resource.uri, f.status, f.message) for f in everything[control_id]
        ], control_id


class _StandIn:
    """An HTTP server answering /version and LISTs, one LIST (by path) with a chosen body."""

    def __init__(self, bodies: Mapping[str, Any]) -> None:
        self.bodies = dict(bodies)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/version":
                    body: Any = {"gitVersion": "v1.35.1", "major": "1", "minor": "35"}
                    code = 200
                elif path in owner.bodies:
                    body, code = owner.bodies[path], 200
                elif "/configmaps/" in path:
                    body, code = {"kind": "Status", "code": 404, "message": "not found"}, 404
                else:
                    body, code = {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []}, 200
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> _StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in() -> Iterator[Callable[[Mapping[str, Any]], _StandIn]]:
    started: list[_StandIn] = []

    def start(bodies: Mapping[str, Any]) -> _StandIn:
        server = _StandIn(bodies).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()


PRIVILEGED_POD = {
    "metadata": {"name": "miner", "namespace": "team-a", "uid": "u1"},
    "spec": {"containers": [{"name": "m", "image": "x", "securityContext": {"privileged": True}}]},
}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "returned a List with no 'items'"),
        ({"kind": "PodList", "items": None, "metadata": {}}, "returned a List with no 'items'"),
        ({"kind": "PodList", "items": {"a": 1}, "metadata": {}}, "'items' of type dict"),
        ({"kind": "PodList", "items": ["pod"], "metadata": {}}, "item 0 is not an object with metadata"),
        (
            {"kind": "PodList", "items": [PRIVILEGED_POD], "metadata": {"remainingItemCount": 4}},
            "is truncated: the server says 4 more items remain but gave no continue token",
        ),
    ],
    ids=["empty-object", "null-items", "items-mapping", "items-strings", "truncated"],
)
def test_a_malformed_list_is_an_error_never_an_empty_list(
    stand_in: Callable[[Mapping[str, Any]], _StandIn], tmp_path: Path, body: Any, reason: str
) -> None:
    server = stand_in({"/api/v1/pods": body})
    evidence = live(server.url, tmp_path)
    assert "pods" not in evidence.sections
    assert reason in evidence.errors["pods"]
    findings = evaluate(evidence)
    for control_id in ("K8S-13", "K8S-25", "K8S-26"):
        assert {f.status for f in findings[control_id]} == {Status.ERROR}, control_id
        assert reason in findings[control_id][0].message
    # sections that answered properly are still judged
    assert "deployments" in evidence.sections


def test_plain_http_is_reported_as_insecure_transport(
    stand_in: Callable[[Mapping[str, Any]], _StandIn], tmp_path: Path
) -> None:
    server = stand_in({})
    evidence = live(server.url, tmp_path)
    [note] = evidence.metadata["insecure_transport"]
    assert note.startswith("plain HTTP to the API server (http://127.0.0.1:")


def test_an_empty_object_for_bindings_does_not_make_rbac_controls_pass(
    stand_in: Callable[[Mapping[str, Any]], _StandIn], tmp_path: Path
) -> None:
    server = stand_in({"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings": {}})
    evidence = live(server.url, tmp_path)
    assert "no 'items'" in evidence.errors["clusterrolebindings"]
    findings = evaluate(evidence)
    for control_id in ("K8S-07", "K8S-10"):
        assert {f.status for f in findings[control_id]} == {Status.ERROR}, control_id
