"""The core types of sovscan: controls, resources, evidence, findings and scan results.

Everything here is a frozen dataclass or an exhaustive enum, so a value built once can be
shared between threads, serialised and compared without surprises.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scanner.errors import EvidenceUnavailable

if TYPE_CHECKING:
    from scanner.frameworks import FrameworkResult


class Severity(enum.Enum):
    """How bad a failing control is, from `critical` to `info`."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Numeric rank: critical is 4, info is 0; higher is worse."""
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        """True when this severity is as bad as `other` or worse."""
        return self.rank >= other.rank


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Status(enum.Enum):
    """The outcome of one control on one resource."""

    PASS = "PASS"
    """The evidence was read and satisfies the control."""
    FAIL = "FAIL"
    """The evidence was read and violates the control."""
    ERROR = "ERROR"
    """The evidence could not be read or evaluated; the control was not verified."""
    NOT_APPLICABLE = "NOT_APPLICABLE"
    """The control does not apply here (disabled by a profile, or nothing in scope)."""
    WAIVED = "WAIVED"
    """The control failed, but an accepted, unexpired waiver covers it."""


class BaselineState(enum.Enum):
    """How a finding relates to the same finding in a previous run (SARIF's baselineState)."""

    NEW = "new"
    UNCHANGED = "unchanged"
    UPDATED = "updated"
    ABSENT = "absent"


UNKNOWN_CONTROL_SEVERITY = Severity.CRITICAL
"""Severity of a finding whose control the result does not describe (fail closed: the worst)."""


@dataclass(frozen=True, slots=True, init=False)
class SourceLocation:
    """A place in a file: where a control is defined, or where an offline resource was read."""

    path: str
    """The file path (relative to the package or the working directory, as given)."""
    line: int
    """1-based line number."""

    def __init__(self, path: str, line: int) -> None:
        _location_path(self, path)  # the dataclass's own `__init__`, faster (see `_slot_setters`)
        _location_line(self, line)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its fields (see `Finding.__reduce__`)."""
        return (SourceLocation, (self.path, self.line))


@dataclass(frozen=True)
class Control:
    """One requirement of a baseline, bound to a registered check function."""

    id: str
    """Stable identifier, e.g. `PG-04`."""
    title: str
    """One-line summary of what must hold."""
    severity: Severity
    """How bad a failure is."""
    target: str
    """The target kind the control applies to, e.g. `postgres`."""
    check: str
    """Name of the registered check function, e.g. `postgres.hba_methods`."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Parameters passed to the check (thresholds, allow-lists)."""
    description: str = ""
    """Longer description of the control."""
    rationale: str = ""
    """Why the control matters."""
    remediation: str = ""
    """How to fix a failure."""
    references: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Framework references: framework key -> identifiers, e.g. `{"cis-postgresql-17": ("5.3",)}`."""
    tags: tuple[str, ...] = ()
    """Free-form tags (framework families such as AUTH, LOG, CRYt)."""
    baseline: str = ""
    """Name of the baseline that defines the control."""
    source: SourceLocation | None = None
    """Where the control is defined (file and line), for reports that point at it."""
    disabled: str | None = None
    """When set, the control is tailored out by a profile and this is the written reason."""


@dataclass(frozen=True, slots=True, init=False)
class Resource:
    """A thing a control was evaluated on: a role, a setting, a bucket, a Deployment."""

    target: str
    """Identifier of the scanned target the resource belongs to."""
    kind: str
    """Resource kind within the target, e.g. `role`, `setting`, `hba_rule`, `Deployment`."""
    name: str
    """Human-readable name, e.g. `app_owner`."""
    uri: str
    """Stable URI, e.g. `postgres://db.example:5432/appdb/roles/app_owner`."""
    location: SourceLocation | None = None
    """For offline inputs (manifests), the file and line the resource was read from."""

    def __init__(self, target: str, kind: str, name: str, uri: str, location: SourceLocation | None = None) -> None:
        _resource_target(self, target)  # the dataclass's own `__init__`, faster (see `_slot_setters`)
        _resource_kind(self, kind)
        _resource_name(self, name)
        _resource_uri(self, uri)
        _resource_location(self, location)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its fields (see `Finding.__reduce__`)."""
        return (Resource, (self.target, self.kind, self.name, self.uri, self.location))


@dataclass(frozen=True)
class Waiver:
    """An accepted risk: a control on resources matching a glob, with an owner and an expiry."""

    control_id: str
    """The control the waiver covers."""
    resource: str
    """A glob over resource URIs."""
    justification: str
    """Why the risk is accepted."""
    owner: str
    """Who answers for it."""
    expires: str
    """ISO date (YYYY-MM-DD) after which the waiver no longer applies."""
    ticket: str | None = None
    """Optional ticket reference."""
    source: SourceLocation | None = None
    """Where the waiver is defined."""


@dataclass(frozen=True, slots=True, init=False)
class Finding:
    """The outcome of one control on one resource."""

    control_id: str
    """The control evaluated."""
    resource: Resource
    """The resource it was evaluated on."""
    status: Status
    """The outcome."""
    message: str
    """One sentence a human can act on."""
    observed: Any = None
    """What the scanner saw (JSON-serialisable), when it saw something."""
    expected: Any = None
    """What the control requires (JSON-serialisable)."""
    waiver: Waiver | None = None
    """The waiver that turned a FAIL into WAIVED, if any."""
    baseline_state: BaselineState | None = None
    """Relation to the previous run, when one was compared."""
    previous_status: Status | None = None
    """Status of the same finding in the previous run, when compared and present there."""
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)
    """The fingerprint once computed (every report asks for it; `replace` starts afresh)."""

    def __init__(
        self,
        control_id: str,
        resource: Resource,
        status: Status,
        message: str,
        observed: Any = None,
        expected: Any = None,
        waiver: Waiver | None = None,
        baseline_state: BaselineState | None = None,
        previous_status: Status | None = None,
    ) -> None:
        _finding_control_id(self, control_id)  # the dataclass's own `__init__`, faster (see `_slot_setters`)
        _finding_resource(self, resource)
        _finding_status(self, status)
        _finding_message(self, message)
        _finding_observed(self, observed)
        _finding_expected(self, expected)
        _finding_waiver(self, waiver)
        _finding_baseline_state(self, baseline_state)
        _finding_previous_status(self, previous_status)
        _finding_fingerprint(self, None)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its fields, the fingerprint too, when a worker process sends its findings back.

        A frozen slotted dataclass is otherwise pickled through `dataclasses.fields()` for every
        object, both ways (measured: 7 µs per finding each way, 0.33 s to send 48k findings)."""
        return (
            _restored_finding,
            (
                self.control_id,
                self.resource,
                self.status,
                self.message,
                self.observed,
                self.expected,
                self.waiver,
                self.baseline_state,
                self.previous_status,
                self._fingerprint,
            ),
        )

    @property
    def fingerprint(self) -> str:
        """Stable hash of control id + resource URI: the identity of a finding across runs."""
        cached = self._fingerprint
        if cached is None:
            cached = fingerprint(self.control_id, self.resource.uri)
            _finding_fingerprint(self, cached)
        return cached


def _restored_finding(
    control_id: str,
    resource: Resource,
    status: Status,
    message: str,
    observed: Any,
    expected: Any,
    waiver: Waiver | None,
    baseline_state: BaselineState | None,
    previous_status: Status | None,
    known_fingerprint: str | None,
) -> Finding:
    """A Finding unpickled (`Finding.__reduce__`), with the fingerprint it had."""
    finding = Finding(
        control_id, resource, status, message, observed, expected, waiver, baseline_state, previous_status
    )
    _finding_fingerprint(finding, known_fingerprint)
    return finding


def fingerprint(control_id: str, resource_uri: str) -> str:
    """Return the stable fingerprint of a finding (hex SHA-256 of control id and resource URI)."""
    digest = hashlib.sha256(f"{control_id}\x00{resource_uri}".encode())
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Evidence:
    """What a collector read from one target: plain JSON facts, secrets already redacted.

    `sections` maps a section name (e.g. `pg_settings`) to JSON data. A section that could
    not be read is absent from `sections` and present in `errors` with the reason, so a
    control that needs it becomes ERROR rather than PASS.
    """

    target: str
    """Identifier of the target."""
    kind: str
    """Target kind, e.g. `postgres`."""
    uri: str
    """Base URI of the target, without credentials, e.g. `postgres://db.example:5432`."""
    sections: Mapping[str, Any]
    """Section name -> JSON data read from the target."""
    errors: Mapping[str, str] = field(default_factory=dict)
    """Section name -> reason it could not be read (permission denied for ..., timed out)."""
    target_error: str | None = None
    """Set when the target could not be read at all; every control is then ERROR."""
    collected_at: str = ""
    """ISO 8601 UTC time the collection started."""
    duration: float = 0.0
    """Seconds the collection took."""
    tool_version: str = ""
    """Version of sovscan that collected it."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Free-form collection facts (server version, account used), never secrets."""
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Scratch space for the checks evaluating this evidence: what every control would otherwise
    recompute (keyed by the check package's name). The views the engine gives each check share it
    (`dataclasses.replace` keeps it); it is dropped with the evidence, never saved, never pickled."""

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to or from a worker process) without the memo."""
        state = dict(self.__dict__)
        state["memo"] = {}
        return state

    def resource(self, kind: str, name: str, path: str = "", location: SourceLocation | None = None) -> Resource:
        """Build a Resource of this target whose URI is the target URI plus `path`."""
        uri = self.uri.rstrip("/") + ("/" + path.lstrip("/") if path else "")
        return Resource(target=self.target, kind=kind, name=name, uri=uri, location=location)

    def target_resource(self, kind: str = "target") -> Resource:
        """The target itself as a resource (URI = the target URI): the one helper for target-level results.

        The engine's findings for a target it could not read use it too, so their fingerprints are
        the same whether or not the target answered. `kind` only labels it (`cluster`, `server`).
        """
        return self.resource(kind, self.target)

    def section(self, name: str) -> Any:
        """Return a section's data; raise EvidenceUnavailable with the reason when it is missing."""
        if name in self.sections:
            return self.sections[name]
        raise EvidenceUnavailable(self.errors.get(name, f"evidence section '{name}' was not collected"))


@dataclass(frozen=True, slots=True, init=False)
class CheckResult:
    """What a check function returns for one resource; the engine turns it into a Finding."""

    resource: Resource
    """The resource evaluated."""
    status: Status
    """PASS, FAIL, ERROR or NOT_APPLICABLE (checks never return WAIVED)."""
    message: str
    """One sentence a human can act on."""
    observed: Any = None
    """What was seen."""
    expected: Any = None
    """What the control requires."""

    def __init__(
        self, resource: Resource, status: Status, message: str, observed: Any = None, expected: Any = None
    ) -> None:
        _result_resource(self, resource)  # the dataclass's own `__init__`, faster (see `_slot_setters`)
        _result_status(self, status)
        _result_message(self, message)
        _result_observed(self, observed)
        _result_expected(self, expected)


def _slot_setters(cls: type, names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of the slots `names` (space-separated) of a frozen slotted dataclass.

    Checks build a `CheckResult` for every resource and the engine a `Finding` from each: 243,323 of
    each for a 100k-object dump. The `__init__` a frozen dataclass generates sets each field with
    `object.__setattr__`, which looks the name up on every call; the classes above write their own
    `__init__`, with the same signature and defaults (a test compares them with the generated one), and
    set each slot through its descriptor (measured: a Finding 2.4 -> 1.2 µs, a CheckResult 1.3 -> 0.8 µs).
    """
    return tuple(getattr(cls, name).__set__ for name in names.split())


_location_path, _location_line = _slot_setters(SourceLocation, "path line")
_resource_target, _resource_kind, _resource_name, _resource_uri, _resource_location = _slot_setters(
    Resource, "target kind name uri location"
)
(
    _finding_control_id,
    _finding_resource,
    _finding_status,
    _finding_message,
    _finding_observed,
    _finding_expected,
    _finding_waiver,
    _finding_baseline_state,
    _finding_previous_status,
    _finding_fingerprint,
) = _slot_setters(
    Finding, "control_id resource status message observed expected waiver baseline_state previous_status _fingerprint"
)
_result_resource, _result_status, _result_message, _result_observed, _result_expected = _slot_setters(
    CheckResult, "resource status message observed expected"
)


@dataclass(frozen=True)
class TargetSummary:
    """How the collection of one target went."""

    id: str
    """Identifier of the target."""
    kind: str
    """Target kind."""
    uri: str
    """Base URI without credentials."""
    error: str | None = None
    """Why the target could not be read, if it could not."""
    section_errors: Mapping[str, str] = field(default_factory=dict)
    """Sections that could not be read, with reasons."""
    collected_at: str = ""
    """ISO 8601 UTC collection start."""
    duration: float = 0.0
    """Seconds the collection took."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Inventory labels (environment, owner)."""
    insecure_transport: tuple[str, ...] = ()
    """How the connection was weaker than verified TLS, as the collector said it (TLS verification
    disabled by BAO_SKIP_VERIFY, sslmode=require ...): every report shows it."""


INSECURE_TRANSPORT = "insecure_transport"
"""`Evidence.metadata` key of the list of ways a collection's transport was not verified TLS."""


def insecure_transport(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The `insecure_transport` entries of a collection's metadata, as text (a lone string counts too)."""
    value = metadata.get(INSECURE_TRANSPORT)
    if value is None or value == []:
        return ()
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(dict.fromkeys(str(item) for item in items if item is not None and str(item)))


@dataclass(frozen=True)
class ScanResult:
    """Everything a reporter needs, and nothing of the engine."""

    tool_version: str
    """Version of sovscan."""
    started_at: str
    """ISO 8601 UTC start of the scan."""
    finished_at: str
    """ISO 8601 UTC end of the scan."""
    controls: Mapping[str, Control]
    """Control id -> control, for every control evaluated (disabled ones included)."""
    findings: tuple[Finding, ...]
    """Every finding, every status."""
    targets: tuple[TargetSummary, ...]
    """One entry per scanned target."""
    baselines: Mapping[str, str] = field(default_factory=dict)
    """Baseline name -> version."""
    environment: str = "default"
    """Name of the scanned environment (SARIF automationDetails category)."""
    run_id: str = ""
    """Unique id of this run."""
    compared_with: str | None = None
    """Description of the previous run this one was compared with, if any."""
    absent: tuple[Finding, ...] = ()
    """Findings of the previous run that no longer occur (baseline state `absent`)."""
    notes: tuple[str, ...] = ()
    """Warnings for the reader (unused or expired waivers, tailoring notes)."""
    frameworks: tuple[FrameworkResult, ...] = ()
    """Per-requirement views of the framework catalogues asked for (`--framework`)."""

    def severity_of(self, control_id: str) -> Severity:
        """A control's severity; UNKNOWN_CONTROL_SEVERITY for one the result does not describe.

        The one rule the gate and every report use, so a finding is never critical to the gate
        and medium in a report.
        """
        control = self.controls.get(control_id)
        return control.severity if control is not None else UNKNOWN_CONTROL_SEVERITY

    def count(self, status: Status, target: str | None = None) -> int:
        """Number of findings with `status`, optionally for one target."""
        return sum(1 for f in self.findings if f.status is status and (target is None or f.resource.target == target))
