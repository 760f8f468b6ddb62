"""The engine under hostile plugins and values: nothing a plugin returns or a user types may read as PASS."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from scanner import engine
from scanner import evidence as evidence_io
from scanner.baseline import BaselineLibrary
from scanner.errors import ConfigError
from scanner.interface import CheckSpec, Secret, Target, TargetPlugin, check
from scanner.model import CheckResult, Evidence, Finding, Resource, Status, fingerprint
from scanner.plugins import Registry

DATA = Path(__file__).parent / "data"

BASELINE = """\
apiVersion: sovscan/v1
kind: Baseline
name: odd
version: "1"
target: odd
controls:
  - {id: ODD-1, title: the facts are fine, severity: high, check: odd.facts, rationale: a reason, remediation: a fix}
"""


@check("odd.facts", needs=("facts",), params={"mode": {"type": "string"}})
def odd_facts(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Report on every fact; `mode` makes the check misbehave the way buggy checks do."""
    facts = evidence.section("facts")
    mode = params.get("mode", "")
    if mode == "nothing":
        return
    if mode == "garbage":
        yield {"status": "PASS"}  # type: ignore[misc]
        return
    if mode == "foreign":
        foreign = Resource(target="someone-else", kind="fact", name="x", uri="odd://elsewhere/x")
        yield CheckResult(foreign, Status.PASS, "looks fine")
        return
    for key, value in facts.items():
        yield CheckResult(evidence.resource("fact", key, f"facts/{key}"), Status.PASS, f"{key}={value!r}", value)


class OddPlugin(TargetPlugin):
    """Target kind `odd`: `collect` returns whatever `behaviour[target.url]` says."""

    kind = "odd"

    def __init__(self, behaviour: Mapping[str, Any], baseline: Path) -> None:
        self.behaviour = behaviour
        self.baseline = baseline

    def checks(self) -> Sequence[CheckSpec]:
        """The single check."""
        return (odd_facts,)

    def baselines(self) -> Sequence[Any]:
        """The test baseline file."""
        return (self.baseline,)

    def parse_target(self, value: str) -> Target:
        """VALUE is a key of `behaviour`."""
        return Target(id=value, kind="odd", url=value)

    def collect(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
        """Return (or raise) what the test asked for."""
        action = self.behaviour[target.url]
        if isinstance(action, BaseException):
            raise action
        if callable(action):
            return action(target)  # type: ignore[no-any-return]
        return Evidence(target=target.id, kind="odd", uri=f"odd://{target.id}", sections=action)


def registry_with(tmp_path: Path, behaviour: Mapping[str, Any]) -> tuple[Registry, BaselineLibrary]:
    baseline = tmp_path / "odd.yaml"
    baseline.write_text(BASELINE)
    registry = Registry()
    registry.add_plugin(OddPlugin(behaviour, baseline))
    return registry, BaselineLibrary(registry)


def odd(*ids: str) -> list[Target]:
    return [Target(id=i, kind="odd", url=i) for i in ids]


def test_non_json_evidence_is_normalised_so_live_equals_offline(tmp_path: Path) -> None:
    # a collector that returns tuples and non-string keys: the checks must see what is saved
    sections = {"facts": {"versions": ("15", "16"), 5432: "port"}}
    registry, library = registry_with(tmp_path, {"t": sections})
    live = engine.run_scan(odd("t"), registry, library, save_evidence=tmp_path / "ev")
    offline = engine.run_offline(tmp_path / "ev", registry, library)
    assert [f.observed for f in live.findings] == ["port", ["15", "16"]]  # keys sorted, as saved
    assert live.findings == offline.findings


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (lambda target: None, "collector failed: returned NoneType, not Evidence"),
        (
            lambda target: Evidence(target=target.id, kind="odd", uri="odd://x", sections=[1]),  # type: ignore[arg-type]
            "collector failed: Evidence.sections is list, not a mapping",
        ),
        (
            lambda target: Evidence(target=target.id, kind="odd", uri="odd://x", sections={"facts": {"a": object()}}),
            None,
        ),
        (SystemExit(3), "collector failed: SystemExit: 3"),
    ],
)
def test_a_misbehaving_collector_is_an_error_of_its_target_only(
    tmp_path: Path, action: Any, reason: str | None
) -> None:
    registry, library = registry_with(tmp_path, {"bad": action, "good": {"facts": {"a": 1}}})
    result = engine.run_scan(odd("bad", "good"), registry, library, timeout=5)
    errors = {t.id: t.error for t in result.targets}
    assert errors["good"] is None
    by_target = {t: {f.status for f in result.findings if f.resource.target == t} for t in ("bad", "good")}
    assert by_target["good"] == {Status.PASS}
    if reason is None:  # an object that JSON cannot hold is saved as its str(): the check sees the same
        assert by_target["bad"] == {Status.PASS}
    else:
        assert errors["bad"] == reason
        assert by_target["bad"] == {Status.ERROR}


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("nothing", "check 'odd.facts' returned no result"),
        ("garbage", "check 'odd.facts' returned dict, not a CheckResult"),
        ("foreign", "check 'odd.facts' returned a resource of target 'someone-else'"),
    ],
)
def test_a_misbehaving_check_is_error_never_pass_or_not_applicable(tmp_path: Path, mode: str, message: str) -> None:
    registry, library = registry_with(tmp_path, {"t": {"facts": {"a": 1}}})
    baseline = tmp_path / f"{mode}.yaml"
    baseline.write_text(BASELINE.replace("remediation: a fix}", f"remediation: a fix, params: {{mode: {mode}}}}}"))
    result = engine.run_scan(odd("t"), registry, library, baseline_refs=[str(baseline)])
    [finding] = result.findings
    assert finding.status is Status.ERROR
    assert finding.resource.target == "t"
    assert finding.message.startswith(message)


@pytest.mark.parametrize("bad", [math.nan, math.inf, 0.0, -1.0])
def test_non_finite_or_non_positive_timeouts_are_rejected(tmp_path: Path, bad: float) -> None:
    registry, _ = registry_with(tmp_path, {"t": {"facts": {}}})
    with pytest.raises(ConfigError, match="timeout"):
        engine.collect(odd("t"), registry, timeout=bad)
    target = Target(id="t", kind="odd", url="t", timeout=bad)
    with pytest.raises(ConfigError, match="target 't': timeout"):
        engine.collect([target], registry, timeout=5)


def test_nan_timeout_and_coverage_on_the_command_line_exit_2(run: Any, tmp_path: Path) -> None:
    good = f"demo={DATA / 'facts-good.json'}"
    for option in (["--timeout", "nan"], ["--timeout", "inf"], ["--min-coverage", "nan"]):
        result = run("scan", "--no-progress", "--target", good, *option)
        assert result.exit_code == 2, (option, result.output)
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - kind: demo\n    url: {DATA / 'facts-good.json'}\n    timeout: .nan\n"
    )
    result = run("scan", "--no-progress", "--inventory", str(inventory))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sovscan: error: {inventory}:6: ")


def test_a_timed_out_target_gives_back_its_slot(tmp_path: Path) -> None:
    # one slot: the hanging target must not keep the others from being collected
    import threading

    release = threading.Event()

    def hang(target: Target) -> Evidence:
        release.wait(30)
        return Evidence(target=target.id, kind="odd", uri="odd://hang", sections={"facts": {"late": True}})

    registry, library = registry_with(tmp_path, {"hang": hang, "a": {"facts": {"a": 1}}, "b": {"facts": {"b": 2}}})
    try:
        result = engine.run_scan(odd("hang", "a", "b"), registry, library, timeout=0.3, concurrency=1)
    finally:
        release.set()
    errors = {t.id: t.error for t in result.targets}
    assert errors == {"hang": "timed out: collection did not finish within 0.3s", "a": None, "b": None}
    assert [(f.resource.target, f.status) for f in result.findings] == [
        ("hang", Status.ERROR),
        ("a", Status.PASS),
        ("b", Status.PASS),
    ]


def test_progress_never_shows_a_secret(run: Any, tmp_path: Path) -> None:
    password = "Pr0gress-Secret-0815"
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - kind: demo\n    url: {DATA / 'facts-echofail.json'}\n    credentials: {{password: env:DEMO_PW}}\n"
    )
    out = tmp_path / "r.json"
    result = run("scan", "--progress", "--inventory", str(inventory), "-f", f"json={out}", env={"DEMO_PW": password})
    assert result.exit_code == 3
    assert "failed     demo-facts-echofail: authentication failed: server said: password [REDACTED]" in result.stderr
    assert password not in result.output and password not in out.read_text()


def test_saved_evidence_holds_what_the_checks_saw(tmp_path: Path) -> None:
    registry, library = registry_with(tmp_path, {"t": {"facts": {"when": (2025, 3)}}})
    engine.run_scan(odd("t"), registry, library, save_evidence=tmp_path / "ev")
    [(saved, _labels)] = evidence_io.load_directory(tmp_path / "ev").items
    assert json.loads(json.dumps(dict(saved.sections))) == {"facts": {"when": [2025, 3]}}


def test_finding_fingerprint_is_computed_once_and_follows_replace() -> None:
    """The cached fingerprint is the finding's own: a replaced control id or resource gets a new one."""
    first = Resource("t", "Pod", "ns/a", "k8s://t/ns/ns/Pod/a")
    found = Finding("K8S-13", first, Status.FAIL, "privileged")
    assert found.fingerprint == fingerprint("K8S-13", first.uri)
    assert found.fingerprint is found.fingerprint  # computed once
    other = dataclasses.replace(found, control_id="K8S-14")
    assert other.fingerprint == fingerprint("K8S-14", first.uri) != found.fingerprint
    moved = dataclasses.replace(found, resource=Resource("t", "Pod", "ns/b", "k8s://t/ns/ns/Pod/b"))
    assert moved.fingerprint == fingerprint("K8S-13", "k8s://t/ns/ns/Pod/b")
    assert pickle.loads(pickle.dumps(found)).fingerprint == found.fingerprint  # noqa: S301 (our own bytes)
    assert found == Finding("K8S-13", first, Status.FAIL, "privileged")  # the cache is not compared
    assert "_fingerprint" not in repr(found)
