"""Findings, resources and source locations cross process boundaries pickled (a worker sends its
findings back): `__reduce__` writes their fields and rebuilds them without the dataclass machinery,
so every field must make the trip, the rebuilt objects must equal and behave as the originals, and
a field added later must not be dropped silently."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from scanner.model import BaselineState, Finding, Resource, SourceLocation, Status, Waiver


def _finding() -> Finding:
    waiver = Waiver("K8S-01", "k8s://c/*", "accepted", "ops", "2030-01-01", ticket="SEC-1")
    resource = Resource("k8s", "Deployment", "web", "k8s://c/ns/a/Deployment/web", SourceLocation("m/web.yaml", 7))
    return Finding(
        "K8S-01",
        resource,
        Status.WAIVED,
        "runs as root",
        observed={"runAsUser": 0, "list": ["a", 1.5, None, True]},
        expected="non-root",
        waiver=waiver,
        baseline_state=BaselineState.UPDATED,
        previous_status=Status.FAIL,
    )


@pytest.mark.parametrize("fingerprinted", [False, True])
def test_every_field_makes_the_round_trip(fingerprinted: bool) -> None:
    original = _finding()
    if fingerprinted:
        assert original.fingerprint
    copy = pickle.loads(pickle.dumps(original, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own bytes
    assert type(copy) is Finding and type(copy.resource) is Resource
    assert type(copy.resource.location) is SourceLocation
    for field in dataclasses.fields(Finding):  # `_fingerprint` too (compare=False leaves it out of ==)
        assert getattr(copy, field.name) == getattr(original, field.name), field.name
    assert copy == original
    assert copy.fingerprint == original.fingerprint
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.message = "changed"  # type: ignore[misc]


def test_shared_resources_stay_shared() -> None:
    # the findings of one resource share the object; reporters cache per Resource object
    first = _finding()
    second = dataclasses.replace(first, control_id="K8S-02")
    one, two = pickle.loads(pickle.dumps([first, second], protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301
    assert one.resource is two.resource


@pytest.mark.parametrize("cls", [Finding, Resource, SourceLocation])
def test_reduce_covers_every_field(cls: type) -> None:
    # a field added to the class without adding it to `__reduce__` would be lost on the way back
    made = {Finding: _finding, Resource: lambda: _finding().resource, SourceLocation: lambda: SourceLocation("f", 1)}
    _, values = made[cls]().__reduce__()
    assert len(values) == len(dataclasses.fields(cls))
