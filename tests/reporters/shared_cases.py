"""Results built to catch a wrong per-control or per-resource cache in the reporters.

The reporters build what depends only on a finding's control or only on its resource once and
reuse it. These results make every such reuse visible: many findings share one resource (the same
object, or an equal but distinct one) and differ in everything else (control, status, message,
observed and expected values, waiver, comparison fields); resources of one kind share a name;
names, messages, values, waivers and control texts hold characters that need escaping or cleaning
(`<>&"'`, control characters, tabs and newlines, non-ASCII, U+2028, lone surrogates where the
report can carry them), values orjson refuses (integers beyond 64 bits) and values long enough
to be cut (Wazuh).

`data/shared-reports.json` holds the SHA-256 of each report of each case, recorded with the
reporters as they were before the caches (commit 39f39ea), by
`python -m tests.reporters.shared_cases --record`; test_reporter_shared.py requires the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reporters import sarif
from reporters.sarif import SarifLimitWarning
from scanner.interface import ReportOptions
from scanner.model import (
    BaselineState,
    Control,
    Finding,
    Resource,
    ScanResult,
    Severity,
    SourceLocation,
    Status,
    TargetSummary,
    Waiver,
)
from tests.reporters.golden_cases import FORMATS, render
from tests.reporters.reporter_fixtures import HOSTILE_TEXT, build_controls

SHARED = Path(__file__).parent / "data" / "shared-reports.json"
"""SHA-256 of every report of every case below, `{"<case>.<output>": hex digest}`."""

SURROGATE = "\ud800"
"""A lone surrogate (JUnit writes it as `\\xNN`; a fingerprint needs UTF-8, so never in a URI)."""

_NAMES = [
    "web",
    "web",  # the same name again, another URI: JUnit names the testcase by the URI
    "a<b>&c\"d'e",
    "tab\there\nnewline\rcr",
    "bell\x07del\x7fesc\x1b",
    "Zürich-ß-日本-🚀",
    "line\u2028sep\u2029para",
    "amp&amp;lt;",
    "",
]

_MESSAGES = [
    "plain message",
    "",
    HOSTILE_TEXT,
    'quote " and apostrophe \' and <tag attr="x">&amp;</tag>',
    "control \x00\x01\x0b\x0c\x1f chars and \t\n\r whitespace",
    "non-ASCII: Grüße, 東京, émoji 🎉, \u00a0nbsp, \u200bzwsp",
    "trailing space   ",
    "separators \u2028 and \u2029",
    "x" * 9_000,
]

_VALUES: list[Any] = [
    None,
    None,
    "on",
    HOSTILE_TEXT,
    ["--anonymous-auth=false"],
    ["a<b", 'c"d', "e&f", "\x01", "ü"],
    [],
    {"z": 1, "a": [True, None, 1.5], "é": {"<k>": "&v"}},
    {"b": 2**70},
    2**65,
    True,
    False,
    0,
    -3,
    0.1,
    1e16,
    "\u2028\u2029",
    "y" * 9_000,
    {"list": [{"k": "v"}, "\x7f"]},
]


def _controls() -> dict[str, Control]:
    """The fixture controls plus one whose every text needs escaping, and one tailored out."""
    controls = dict(build_controls())
    hostile = Control(
        id="HX-01",
        title=f"Hostile {HOSTILE_TEXT} title\tnewline\n",
        severity=Severity.LOW,
        target="kubernetes",
        check="generic.field",
        params={"a": "<b>", "n": 2},
        description="desc & <more>",
        rationale='"quoted" rationale',
        remediation="Fix it: set <value> & restart \x01 now \u2028",
        references={"cis.k8s-1.2": ("5.1.<1>", "&2"), "bsi": ('APP.4.4 "A3"',)},
        tags=("T<1>", "ü"),
        baseline="kubernetes",
        source=SourceLocation(path="baselines/hostile & odd.yaml", line=7),
        disabled=None,
    )
    tailored = dataclasses.replace(
        hostile, id="HX-02", title="Tailored", disabled="not used here: <reason> & \x02", references={}
    )
    controls[hostile.id] = hostile
    controls[tailored.id] = tailored
    return controls


def _waiver(rng: random.Random, control_id: str, uri: str) -> Waiver:
    return Waiver(
        control_id=control_id,
        resource=uri,
        justification=rng.choice(["accepted", HOSTILE_TEXT, "risk <low> & \x03 ok", "ü " * 5]),
        owner=rng.choice(["team@example.org", '"ops" <ops@example.org>']),
        expires=rng.choice(["2031-12-31", "2030-01-01"]),
        ticket=rng.choice([None, "", "SEC-1", "T<&>"]),
        source=rng.choice([None, SourceLocation("waivers.yaml", 3), SourceLocation("/etc/sovscan/w aivers.yaml", 9)]),
    )


def _resources(rng: random.Random, surrogates: bool) -> list[Resource]:
    names = list(_NAMES) + ([f"lone{SURROGATE}surrogate"] if surrogates else [])
    locations = [
        None,
        SourceLocation("manifests/app.yaml", 17),
        SourceLocation("manifests/odd dir/ü & <x>.yaml", 2),
        SourceLocation("/var/lib/dumps/cluster.json", 50),
        SourceLocation("../outside.yaml", 1),
    ]
    resources = []
    for index, name in enumerate(names):
        kind = rng.choice(["Deployment", "Pod", "Role<x>"])
        if name == "web":
            kind = "Deployment"
        uri = f"k8s://c/ns/n{index}/{kind}/{name.replace(SURROGATE, '_')}"  # a fingerprint needs UTF-8
        resources.append(Resource("k8s-a", kind, name, uri, rng.choice(locations)))
    # Another target, with a resource equal by value to one above (but its own object) used twice.
    resources.append(Resource("k8s-b", "Pod", "p", "k8s://b/Pod/p", None))
    resources.append(Resource("k8s-b", "Pod", "p", "k8s://b/Pod/p", None))
    # A target the result has no summary of.
    resources.append(Resource("ghost", "Pod", "g", "k8s://ghost/Pod/g", SourceLocation("manifests/app.yaml", 3)))
    return resources


def build(*, seed: int, compared: bool, surrogates: bool = False) -> ScanResult:
    """A result of many findings per resource and per control, everything else varying."""
    rng = random.Random(seed)
    controls = _controls()
    control_ids = [*sorted(controls), "ZZ-404"]  # one the result does not describe
    resources = _resources(rng, surrogates)
    findings: list[Finding] = []
    for resource in resources:
        for control_id in rng.sample(control_ids, k=min(len(control_ids), rng.randint(6, 14))):
            shared = resource if rng.random() < 0.7 else dataclasses.replace(resource)  # equal, not the same
            status = rng.choice(list(Status))
            message = rng.choice(_MESSAGES)
            if surrogates and rng.random() < 0.2:
                message += SURROGATE
            waiver = _waiver(rng, control_id, resource.uri) if status is Status.WAIVED or rng.random() < 0.1 else None
            if status is Status.WAIVED and rng.random() < 0.2:
                waiver = None
            findings.append(
                Finding(
                    control_id,
                    shared,
                    status,
                    message,
                    observed=rng.choice(_VALUES),
                    expected=rng.choice(_VALUES),
                    waiver=waiver,
                    baseline_state=rng.choice(list(BaselineState)[:3]) if compared and rng.random() < 0.8 else None,
                    previous_status=rng.choice([None, *Status]) if compared else None,
                )
            )
    rng.shuffle(findings)
    absent: tuple[Finding, ...] = ()
    if compared:
        absent = tuple(
            dataclasses.replace(f, baseline_state=BaselineState.ABSENT, previous_status=None)
            for f in rng.sample(findings, k=8)
        )
    targets = (
        TargetSummary(id="k8s-a", kind="kubernetes", uri="k8s://c", collected_at="2025-06-01T02:00:00Z", duration=1.5),
        TargetSummary(
            id="k8s-b",
            kind="kubernetes",
            uri="k8s://b",
            error="unreachable: <refused> & \x04",
            collected_at="2025-06-01T02:00:01Z",
            duration=0.25,
            labels={"team": "a<b>", "dotted.key": "v"},
            insecure_transport=("TLS verification disabled",),
        ),
        TargetSummary(id="empty", kind="kubernetes", uri="k8s://e", error="nothing read"),
    )
    return ScanResult(
        tool_version="0.1.0",
        started_at="2025-06-01T02:00:00+00:00",
        finished_at="2025-06-01T02:00:07.5+00:00",
        controls=controls,
        findings=tuple(findings),
        targets=targets,
        baselines={"kubernetes": "1.0.0"},
        environment="prod",
        run_id="run-1",
        compared_with="run 0" if compared else None,
        absent=absent,
        notes=("a note <with> & markup",),
    )


LIMITED = "sarif-limited"
"""A full SARIF log kept to 40 results (the omission path: results ranked, some left out)."""

_OUTPUTS = (*(name for name in FORMATS if name != "console"), LIMITED)

CASE_OUTPUTS: dict[str, tuple[str, ...]] = {
    # Only JUnit writes a lone surrogate (as `\\xNN`); the JSON-based reports cannot encode one in UTF-8.
    "plain": _OUTPUTS,
    "plain-uncompared": _OUTPUTS,
    "surrogates": ("junit",),
}


def cases() -> Iterator[tuple[str, ScanResult]]:
    """(case name, result) of every case (seeds fixed: the recorded digests depend on them)."""
    yield "plain", build(seed=1, compared=True)
    yield "plain-uncompared", build(seed=2, compared=False)
    yield "surrogates", build(seed=3, compared=True, surrogates=True)


def render_output(name: str, result: ScanResult) -> bytes:
    """What the reporter of output `name` (one of FORMATS, or LIMITED) writes for `result`."""
    if name != LIMITED:
        return render(name, result)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SarifLimitWarning)
        return b"".join(sarif._prepare(result, ReportOptions(full=True), max_results=40).pieces())


def record() -> None:
    """Write every case's report digests into SHARED (from a scratch working directory)."""
    os.chdir(tempfile.mkdtemp(prefix="sovscan-shared-"))
    digests = {
        f"{case}.{name}": hashlib.sha256(render_output(name, result)).hexdigest()
        for case, result in cases()
        for name in CASE_OUTPUTS[case]
    }
    SHARED.write_text(json.dumps(digests, indent=2) + "\n")


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    if sys.argv[1:] == ["--record"]:
        record()
