"""The live collector's read-ahead: one reader thread fetches the next LIST page while this one slims.

Against the HTTP-served stand-in (tests/services/kubeapi.py), because these tests need what a
real API server cannot be made to do on cue: count the requests made while the collecting
thread is held inside one page, and answer 401 to a later page of a LIST. The builder is a
real `EvidenceBuilder` whose `add` is slowed down or fails (a subclass, not a mock): the
collector's own code runs unchanged. The read-ahead against the real kube-apiserver (every
kind, a 410 Gone after compaction, the audit log's GETs) is covered by
test_k8s_apiserver_live.py, whose tests run through the same code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.kubernetes.collect import READ_AHEAD, LiveCollector, make_api_client
from checks.kubernetes.kinds import KINDS
from checks.kubernetes.slim import EvidenceBuilder
from scanner.errors import CollectionError
from tests.kubernetes.k8s_objects import sample_cluster
from tests.services.kubeapi import KubeAPIServer, write_kubeconfig

TOKEN = "pipeline-token-0123456789"
READER = "sovscan-k8s-pages"


def pods(count: int) -> list[dict[str, Any]]:
    """`count` plain pods in one namespace."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p{index:03d}", "namespace": "team", "uid": f"uid-{index}"},
            "spec": {"containers": [{"name": "app", "image": f"registry.example/app:{index}"}]},
        }
        for index in range(count)
    ]


@pytest.fixture
def server() -> Iterator[KubeAPIServer]:
    """The stand-in with the sample cluster plus 30 pods, and a 401 for every continued pod LIST."""
    with KubeAPIServer([*sample_cluster(), *pods(30)], token=TOKEN) as api:
        yield api


def collector(api: KubeAPIServer, tmp_path: Path, page_size: int) -> tuple[Any, LiveCollector]:
    """A client for the stand-in and a LiveCollector over it."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, token=TOKEN, context="test")
    client, _ = make_api_client("context", "test", {"kubeconfig": str(kubeconfig)})
    return client, LiveCollector(client, 30.0, page_size)


def reader_gone(seconds: float = 5.0) -> bool:
    """Whether no reader thread is alive (waiting up to `seconds` for one to end)."""
    deadline = time.monotonic() + seconds
    while any(t.name == READER for t in threading.enumerate()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class SlowBuilder(EvidenceBuilder):
    """An EvidenceBuilder that sleeps on each pod and notes how many pod LISTs the server had seen."""

    def __init__(self, api: KubeAPIServer) -> None:
        super().__init__(mirror_pods_only=True)
        self.api = api
        self.seen: list[int] = []

    def add(self, obj: Any, kind: str | None = None, source: dict[str, Any] | None = None) -> bool:
        """Slim as usual, slowly for pods."""
        if kind == "Pod":
            self.seen.append(len(self.api.list_requests("pods")))
            time.sleep(0.03)
        return super().add(obj, kind, source)


def test_pages_are_read_ahead_but_at_most_read_ahead_pages(server: KubeAPIServer, tmp_path: Path) -> None:
    """While one page is slimmed the next is already requested, and never more than READ_AHEAD + 1 pages ahead."""
    client, live = collector(server, tmp_path, page_size=3)
    builder = SlowBuilder(server)
    try:
        live.collect(builder)
    finally:
        client.close()
    assert live.errors == {}
    total = len([o for o in sample_cluster() if o["kind"] == "Pod"]) + 30
    assert len(builder.seen) == total
    # the pod with index i is on page i // 3 + 1: requests made beyond that page while it is slimmed
    ahead = [seen - (index // 3 + 1) for index, seen in enumerate(builder.seen)]
    assert max(ahead) == READ_AHEAD + 1, ahead  # the reader waits with one parsed page and one more read
    assert min(ahead) >= 0
    assert reader_gone()


def test_results_do_not_depend_on_the_page_size(server: KubeAPIServer, tmp_path: Path) -> None:
    """The same sections in the same order, whether a kind takes one page or thirty."""
    results = []
    for page_size in (1, 4, 500):
        client, live = collector(server, tmp_path, page_size)
        try:
            results.append(live.collect(EvidenceBuilder(mirror_pods_only=True)))
        finally:
            client.close()
        assert live.errors == {}
        expected_pages = -(-len(server.objects["pods"]) // page_size)
        assert live.stats.pages["pods"] == expected_pages
    assert results[0] == results[1] == results[2]
    assert [i["metadata"]["name"] for i in results[0]["pods"]][-30:] == [f"p{n:03d}" for n in range(30)]
    assert reader_gone()


def test_401_on_a_later_page_ends_the_collection_and_the_reader(tmp_path: Path) -> None:
    """Stand-in: a token revoked between two pages; the target fails with 401 and nothing more is requested."""
    with KubeAPIServer([*sample_cluster(), *pods(30)], token=TOKEN, fail_continue={"pods": 401}) as api:
        client, live = collector(api, tmp_path, page_size=5)
        try:
            with pytest.raises(CollectionError) as caught:
                live.collect(EvidenceBuilder(mirror_pods_only=True))
        finally:
            client.close()
        assert caught.value.reason == CollectionError.AUTHENTICATION
        assert "list pods (cluster-wide)" in caught.value.message and TOKEN not in caught.value.message
        assert reader_gone()
        last = api.requests[-1]  # the reader stopped at the 401: nothing after it, no later kind
        assert last.path.endswith("/pods") and last.query.get("continue")
        pod_index = next(i for i, info in enumerate(KINDS) if info.kind == "Pod")
        later = {info.resource for info in KINDS[pod_index + 1 :]}
        assert not any(r.path.rsplit("/", 1)[-1] in later for r in api.requests)


class FailingBuilder(EvidenceBuilder):
    """An EvidenceBuilder whose slimming breaks at the first pod (a bug in the collecting thread)."""

    def add(self, obj: Any, kind: str | None = None, source: dict[str, Any] | None = None) -> bool:
        """Raise at the first pod."""
        if kind == "Pod":
            raise RuntimeError("slimming bug")
        return super().add(obj, kind, source)


def test_a_failure_while_slimming_stops_the_reader(server: KubeAPIServer, tmp_path: Path) -> None:
    """The collecting thread's exception propagates, and the reader stops within a page or two."""
    client, live = collector(server, tmp_path, page_size=2)
    try:
        with pytest.raises(RuntimeError, match="slimming bug"):
            live.collect(FailingBuilder(mirror_pods_only=True))
        assert reader_gone()
    finally:
        client.close()
    requested = len(server.list_requests("pods"))
    assert requested <= 1 + READ_AHEAD + 1  # the failing page, at most READ_AHEAD parsed and one more read
    pod_index = next(i for i, info in enumerate(KINDS) if info.kind == "Pod")
    later = {info.resource for info in KINDS[pod_index + 1 :]}
    assert not any(r.path.rsplit("/", 1)[-1] in later for r in server.requests)
