"""The frozen result types write their own `__init__` (faster than the one `dataclass` generates): it
must take the same arguments, with the same defaults, and leave every field as the generated one would.

The reference is the generated `__init__` itself: the same fields made into a frozen dataclass by
`dataclasses.make_dataclass`, so a field added, renamed, reordered or given another default without
changing the hand-written `__init__` fails here."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from scanner.model import CheckResult, Finding, Resource, SourceLocation, Status

_CLASSES = [SourceLocation, Resource, Finding, CheckResult]


def _reference(cls: type) -> type:
    """`cls`'s fields as a frozen dataclass with the generated `__init__`."""
    specs: list[Any] = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            specs.append((f.name, Any, dataclasses.field(default=f.default, init=f.init)))
        elif f.default_factory is not dataclasses.MISSING:
            specs.append((f.name, Any, dataclasses.field(default_factory=f.default_factory, init=f.init)))
        else:
            specs.append((f.name, Any, dataclasses.field(init=f.init)))
    return dataclasses.make_dataclass(f"Reference{cls.__name__}", specs, frozen=True, slots=True)


def _shape(cls: type) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(cls.__init__).parameters.values()]


@pytest.mark.parametrize("cls", _CLASSES, ids=lambda c: c.__name__)
def test_same_signature_as_the_generated_init(cls: type) -> None:
    assert _shape(cls) == _shape(_reference(cls))


@pytest.mark.parametrize("cls", _CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("given", ["all", "required", "keywords"])
def test_every_field_set_as_the_generated_init_sets_it(cls: type, given: str) -> None:
    reference = _reference(cls)
    params = [p for p in inspect.signature(reference.__init__).parameters.values() if p.name != "self"]
    if given == "required":
        params = [p for p in params if p.default is inspect.Parameter.empty]
    values = {p.name: object() for p in params}  # distinct sentinels: a field set from the wrong argument shows
    if given == "keywords":
        ours, theirs = cls(**values), reference(**values)
    else:
        ours, theirs = cls(*values.values()), reference(*values.values())
    for f in dataclasses.fields(cls):  # init=False fields (a Finding's `_fingerprint`) get their default
        assert getattr(ours, f.name) is getattr(theirs, f.name), f.name


@pytest.mark.parametrize("cls", _CLASSES, ids=lambda c: c.__name__)
def test_still_frozen_and_replaceable(cls: type) -> None:
    reference = _reference(cls)
    values = {p.name: f"v{i}" for i, p in enumerate(inspect.signature(reference.__init__).parameters.values()) if i}
    made = cls(**values)
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, first, "changed")
    changed = dataclasses.replace(made, **{first: "changed"})
    assert getattr(changed, first) == "changed"
    assert changed != made and dataclasses.replace(changed, **{first: values[first]}) == made
    with pytest.raises(TypeError):
        cls(**values, unknown=1)


def test_replace_starts_the_fingerprint_afresh() -> None:
    finding = Finding("K8S-01", Resource("t", "Pod", "p", "k8s://t/p"), Status.FAIL, "m")
    assert finding.fingerprint
    moved = dataclasses.replace(finding, resource=Resource("t", "Pod", "q", "k8s://t/q"))
    assert moved.fingerprint != finding.fingerprint
