"""The scan: plan which controls apply to which target, collect concurrently, evaluate.

Collection is the only phase that touches the network. Each target is collected in its own
thread under its own deadline; one target that hangs or fails never stops the others. A
target or evidence section that could not be read turns the controls that need it into
ERROR findings with the reason, never PASS.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import re
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from scanner import __version__
from scanner import evidence as evidence_io
from scanner.baseline import Baseline, BaselineLibrary, select_controls
from scanner.contract import apply_contract
from scanner.credentials import resolve_target_credentials
from scanner.errors import CollectionError, ConfigError, EvidenceUnavailable
from scanner.interface import CheckSpec, Secret, Target, TargetPlugin
from scanner.model import (
    CheckResult,
    Control,
    Evidence,
    Finding,
    Resource,
    ScanResult,
    Status,
    TargetSummary,
    insecure_transport,
)
from scanner.plugins import Registry
from scanner.workers import WorkerFailed, WorkerProcess, allowing, available, default_workers

ProgressCallback = Callable[[str, str, str], None]
"""Called as `progress(target_id, state, detail)`; state is `start`, `done` or `error`."""

DEFAULT_TIMEOUT = 60.0
_STATUS_WEIGHT = {Status.FAIL: 4, Status.ERROR: 3, Status.WAIVED: 2, Status.PASS: 1, Status.NOT_APPLICABLE: 0}


FREEZE_ITEMS = 20_000
"""Evidence items (elements of list sections, keys of mapping sections) from which collected evidence
is moved out of the garbage collector's sight (`gc.freeze`) for the rest of the run."""


FREEZE_NEW_OBJECTS = 50_000
"""Objects created (and still alive) inside a `paused_gc` block from which they are frozen on leaving it."""


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Cyclic garbage collection off inside the block, and back to how it was afterwards, always.

    Collectors and checks allocate millions of small acyclic objects that live until the end of
    the run; full collections would rescan them again and again (measured: 10.3 s instead of
    6.2 s at 100k objects). Only the engine does this, in the thread that runs the scan, so it is
    restored even when a collector thread is abandoned at its deadline.

    When the block leaves more than FREEZE_NEW_OBJECTS new objects behind (the evidence of a large
    target, the findings of its evaluation), they are frozen (`gc.freeze`) before the collector is
    enabled again: the first collection after the pause would otherwise traverse all of them at once
    (measured: 2.4 s at 100k objects) and then again as they age through the generations.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_count()[0] > FREEZE_NEW_OBJECTS:
                gc.freeze()
            gc.enable()


def freeze_large(evidence: Mapping[str, Evidence]) -> bool:
    """Freeze (gc.freeze) what exists after collecting evidence of at least FREEZE_ITEMS items; True if frozen.

    Evaluation and reporting then do not rescan the long-lived evidence tree (without this, full
    collections make big scans superlinear). The objects stay alive until the process ends anyway.
    """
    items = sum(len(v) for ev in evidence.values() for v in ev.sections.values() if isinstance(v, list | dict))
    if items < FREEZE_ITEMS:
        return False
    gc.freeze()
    return True


class _RedactingFilter(logging.Filter):
    """Redacts every credential seen by a collection from log records (client libraries log too)."""

    def __init__(self) -> None:
        super().__init__("sovscan-redaction")
        self.secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, values: Sequence[str]) -> None:
        """Register more values to redact."""
        with self._lock:
            self.secrets.update(v for v in values if v)

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its redacted text (keeps the record)."""
        with self._lock:
            secrets = list(self.secrets)
        if secrets:
            text = record.getMessage()
            redacted = evidence_io.redact(text, secrets)
            if redacted != text:
                record.msg, record.args = redacted, ()
            if record.exc_info:
                record.exc_text = evidence_io.redact(logging.Formatter().formatException(record.exc_info), secrets)
                record.exc_info = None
        return True


LOG_REDACTION = _RedactingFilter()
"""The filter the engine puts on the root logger's handlers and on logging's last-resort handler."""


def _install_log_redaction() -> None:
    handlers = [*logging.getLogger().handlers, *([logging.lastResort] if logging.lastResort else [])]
    for handler in handlers:
        if LOG_REDACTION not in handler.filters:
            handler.addFilter(LOG_REDACTION)


def _grace(budget: float) -> float:
    """Extra time a collector gets past its own timeout before it is abandoned."""
    return min(5.0, max(0.5, budget * 0.1))


def now_iso() -> str:
    """Current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Plan:
    """Which controls apply to which target."""

    targets: tuple[Target, ...]
    """Targets in scan order."""
    controls: Mapping[str, tuple[Control, ...]]
    """Target id -> controls to evaluate on it."""
    baselines: Mapping[str, str] = field(default_factory=dict)
    """Baseline name -> version of every baseline used."""


def make_plan(targets: Sequence[Target], library: BaselineLibrary, baseline_refs: Sequence[str]) -> Plan:
    """Bind controls to targets: `--baseline` refs, else the target's own list, else its kind's default."""
    cache: dict[str, Baseline] = {}

    def load(ref: str) -> Baseline:
        if ref not in cache:
            cache[ref] = library.load(ref)
        return cache[ref]

    versions: dict[str, str] = {}
    controls: dict[str, tuple[Control, ...]] = {}
    for target in targets:
        refs = list(baseline_refs) or list(target.baselines) or library.default_for(target.kind)
        if not refs:
            raise ConfigError(f"target '{target.id}': no baseline for kind '{target.kind}'; pass --baseline")
        selected = [load(ref) for ref in refs]
        for baseline in selected:
            versions.update(baseline.versions)
        chosen = {cid: c for cid, c in select_controls(selected).items() if c.target == target.kind}
        if not chosen:
            raise ConfigError(
                f"target '{target.id}' (kind {target.kind}): the selected baseline(s) {', '.join(refs)} "
                f"have no control for this kind"
            )
        controls[target.id] = tuple(chosen.values())
    return Plan(targets=tuple(targets), controls=controls, baselines=versions)


class _CollectorBug(Exception):
    """The collector returned something that is not usable evidence."""


def _check_timeout(value: float, what: str) -> None:
    """Reject a timeout that would never expire (NaN, infinity) or has already expired."""
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{what} must be a finite number of seconds greater than 0, got {value!r}")


_PLAIN_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
_PLAIN_SPLIT_DEPTH = 4


def _refuse(value: Any) -> Any:
    """orjson's `default`: anything beyond plain JSON types goes to the standard library's path."""
    raise TypeError(type(value).__name__)


def _plain_json(value: Any, *, consume: bool = False) -> Any:
    """`value` as it reads back from saved evidence: JSON, `str()` of what JSON cannot hold, keys sorted.

    Checks evaluate exactly this, so a live scan and `--evidence` of its saved evidence see the same
    data in the same order and produce the same findings. Plain data makes one orjson round trip
    per top-level entry (C speed, and only one section's JSON text in memory at a time); whatever
    orjson cannot take exactly as the standard library does goes the standard library's way
    (`_stdlib_plain`, the reference): subclasses, dataclasses, dates, sets and other types `str()`
    stands for, keys that are not strings, integers beyond 64 bits, lone surrogates, and subtrees
    holding NaN or an infinity (orjson writes them as null, so a subtree whose JSON has a null is
    split until the null is a real None or the depth limit is reached). The standard library sorts
    non-string keys by value unless some mapping anywhere has keys that cannot be compared (then by
    their text): that is decided over all such subtrees together, as one `json.dumps` would.
    With `consume`, `value` (a dict the caller owns) is emptied, each entry as soon as it is copied.
    """
    slow: list[tuple[Any, Any, Any]] = []
    split = type(value) is dict and all(type(k) is str for k in value)
    if split:
        result: Any = {}
        for key in sorted(value):
            result[key] = _orjson_plain(value.pop(key) if consume else value[key], 1, slow, result, key)
    else:
        result = [None]  # a box: the value's own slot, filled below when it goes the slow way
        result[0] = _orjson_plain(value, 0, slow, result, 0)
    if slow:
        try:  # exactly when the standard library's one pass over the whole value fails to sort keys
            json.dumps([original for _, _, original in slow], default=str, sort_keys=True)
            by_text = False
        except TypeError:
            by_text = True
        for container, key, original in slow:
            container[key] = _stdlib_one(original, by_text)
    return result if split else result[0]


def _orjson_plain(value: Any, depth: int, slow: list[tuple[Any, Any, Any]], container: Any, key: Any) -> Any:
    """`_plain_json` of one value through orjson; what orjson cannot do exactly is left in `slow` (None here)."""
    try:
        data = orjson.dumps(value, default=_refuse, option=_PLAIN_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError: circular, too deep, not plain JSON
        slow.append((container, key, value))
        return None
    if b"null" not in data:
        return orjson.loads(data)
    if value is None:
        return None
    if depth < _PLAIN_SPLIT_DEPTH and type(value) is dict:  # keys are str: orjson took them without NON_STR_KEYS
        out: dict[str, Any] = {}
        for name in sorted(value):
            out[name] = _orjson_plain(value[name], depth + 1, slow, out, name)
        return out
    if depth < _PLAIN_SPLIT_DEPTH and type(value) in (list, tuple):
        items: list[Any] = [None] * len(value)
        for index, item in enumerate(value):
            items[index] = _orjson_plain(item, depth + 1, slow, items, index)
        return items
    slow.append((container, key, value))
    return None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A surrogate code point in a Python string: always a lone one (the JSON decoder joins pairs)."""


def plain_text(text: str) -> str:
    """`text` with every lone surrogate as U+FFFD, as Go's JSON decoder (the Kubernetes API server's)
    reads an unpaired `\\ud800` escape.

    Python's JSON decoder keeps such an escape as a lone surrogate, which no UTF-8 output can hold:
    one object named with it made every report fail (an internal error, exit 4, no report at all),
    so a name an attacker chooses could hide a whole cluster's findings. Evidence, error texts and
    the reasons a target was not read hold the replacement character instead."""
    return text if text.isascii() or not _LONE_SURROGATE.search(text) else _LONE_SURROGATE.sub("\ufffd", text)


def _stdlib_round_trip(value: Any, *, sort_keys: bool) -> Any:
    """`json.loads(json.dumps(value, default=str, sort_keys=...))`, NaN and infinities as text, lone
    surrogates replaced (`plain_text`; the keys sorted again then, as the replacement can move them)."""
    text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=sort_keys)
    clean = plain_text(text)
    result = json.loads(clean, parse_constant=_non_finite)
    if clean is not text and sort_keys:
        result = json.loads(json.dumps(result, sort_keys=True, ensure_ascii=False), parse_constant=_non_finite)
    return result


def _stdlib_one(value: Any, by_text: bool) -> Any:
    """One subtree the standard library's way: keys sorted by value, or (`by_text`) converted to text first."""
    if not by_text:
        return _stdlib_round_trip(value, sort_keys=True)
    return _stdlib_round_trip(_stdlib_round_trip(value, sort_keys=False), sort_keys=True)


def _stdlib_plain(value: Any) -> Any:
    """`_plain_json` through the standard library (the reference; NaN and infinities become their text)."""
    try:  # one round trip for the usual case (string keys): large evidence is costly to copy
        return _stdlib_round_trip(value, sort_keys=True)
    except TypeError:  # mixed key types cannot be sorted before they become strings
        plain = _stdlib_round_trip(value, sort_keys=False)  # keys become strings, tuples lists
        return _stdlib_round_trip(plain, sort_keys=True)


def finite_json(value: Any) -> Any:
    """`value` with NaN and infinities (which JSON cannot hold) as text; unchanged (same object) if none."""
    kind = type(value)
    if kind is str or value is None or kind is bool or kind is int:  # the usual observed/expected values
        return value
    if kind is list:
        for item in value:
            if type(item) is not str:
                break
        else:  # a list of strings (the usual `observed`)
            return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list | tuple):
        items = [finite_json(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else type(value)(items)
    if isinstance(value, dict):
        pairs = {k: finite_json(v) for k, v in value.items()}
        return value if all(pairs[k] is v for k, v in value.items()) else pairs
    return value


def _non_finite(name: str) -> str:
    """NaN and infinities are not JSON: evidence holds them as the text `NaN`, `Infinity`, `-Infinity`."""
    return name


def _validated(box: list[Any], target: Target) -> Evidence:
    """The collector's Evidence checked for shape and normalised to plain JSON; _CollectorBug if unusable.

    `box` holds the collector's answer and is emptied: once the answer is taken apart, each section
    of it is released as soon as its plain copy exists, so a large target's evidence is not held
    twice (measured: 488 instead of 351 MB after collecting a 100k-object dump).
    """
    evidence = box.pop()
    if not isinstance(evidence, Evidence):
        raise _CollectorBug(f"returned {type(evidence).__name__}, not Evidence")
    for name in ("sections", "errors", "metadata"):
        if not isinstance(getattr(evidence, name), Mapping):
            raise _CollectorBug(f"Evidence.{name} is {type(getattr(evidence, name)).__name__}, not a mapping")
    if evidence.target_error is not None and not isinstance(evidence.target_error, str):
        raise _CollectorBug(f"Evidence.target_error is {type(evidence.target_error).__name__}, not a string")
    try:
        sections = dict(evidence.sections)
        evidence = replace(
            evidence,
            target=target.id,
            sections={},
            errors={plain_text(str(k)): plain_text(str(v)) for k, v in evidence.errors.items()},
            target_error=None if evidence.target_error is None else plain_text(evidence.target_error),
            metadata=_plain_json(dict(evidence.metadata)),
        )
        return replace(evidence, sections=_plain_json(sections, consume=True))
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. a circular structure
        raise _CollectorBug(f"evidence is not JSON data: {type(exc).__name__}: {exc}") from None


def ambient_secrets(plugin: TargetPlugin, target: Target) -> list[str]:
    """The values of every credential the plugin would pick up for `target` from its environment.

    Asked before collecting (interface `ambient_credentials`, optional for third-party plugins),
    so that whatever a server echoes of them is redacted like an `env:`/`file:` reference.
    """
    method = getattr(plugin, "ambient_credentials", None)
    if not callable(method):
        return []
    found = method(target)
    if not isinstance(found, Mapping):
        raise _CollectorBug(f"ambient_credentials returned {type(found).__name__}, not a mapping")
    values: list[str] = []
    for value in found.values():
        if isinstance(value, Secret):
            values.append(value.reveal())
        elif isinstance(value, str):
            values.append(value)
        else:
            raise _CollectorBug(f"ambient_credentials returned a {type(value).__name__}, not a Secret")
    return values


def contract_of(plugin: TargetPlugin | None) -> Mapping[str, Mapping[str, Any]]:
    """The plugin's evidence contract (section -> JSON Schema); empty for a plugin without one."""
    method = getattr(plugin, "evidence_contract", None)
    if plugin is None or not callable(method):
        return {}
    contract = method()
    if not isinstance(contract, Mapping):
        raise _CollectorBug(f"evidence_contract returned {type(contract).__name__}, not a mapping")
    return contract


def _safe_target_uri(registry: Registry, target: Target) -> str:
    try:
        return registry.plugin(target.kind).target_uri(target)
    except Exception:  # a plugin bug here must not hide the timeout itself
        return target.url


def _collect_one(
    target: Target,
    registry: Registry,
    timeout: float,
    credential_settings: Mapping[str, Mapping[str, Any]],
    secrets_seen: list[str],
) -> Evidence:
    started = now_iso()
    clock = time.monotonic()
    uri = target.url

    def unread(reason: str) -> Evidence:
        return Evidence(target=target.id, kind=target.kind, uri=uri, sections={}, target_error=plain_text(reason))

    try:
        plugin = registry.plugin(target.kind)
        uri = plugin.target_uri(target)
        secrets_seen.extend(ambient_secrets(plugin, target))
        secrets = resolve_target_credentials(target, registry.resolvers, credential_settings)
        secrets_seen.extend(s.reveal() for s in secrets.values())
        LOG_REDACTION.add(secrets_seen)
        evidence = _validated([plugin.collect(target, secrets, timeout)], target)
        evidence = apply_contract(evidence, contract_of(plugin))
    except CollectionError as exc:
        evidence = unread(str(exc))
    except ConfigError as exc:
        evidence = unread(f"invalid target: {exc}")
    except _CollectorBug as exc:
        evidence = unread(f"collector failed: {exc}")
    except BaseException as exc:  # a collector bug (even SystemExit) is ERROR for that target, not a crash of the scan
        evidence = unread(f"collector failed: {type(exc).__name__}: {exc}")
    return replace(evidence, collected_at=started, duration=time.monotonic() - clock, tool_version=__version__)


class Collected(dict[str, Evidence]):
    """Evidence by target id, plus the findings that worker processes already evaluated for some targets."""

    def __init__(self, evidence: Mapping[str, Evidence], findings: Mapping[str, list[Finding]]) -> None:
        super().__init__(evidence)
        self.findings: dict[str, list[Finding]] = dict(findings)
        """Target id -> its findings, in plan order, for targets evaluated inside their worker process."""


def collect(
    targets: Sequence[Target],
    registry: Registry,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = 8,
    credential_settings: Mapping[str, Mapping[str, Any]] | None = None,
    progress: ProgressCallback | None = None,
    workers: int = 1,
    plan: Plan | None = None,
) -> Collected:
    """Collect every target concurrently, each under its own deadline; secrets are redacted.

    A target whose collector hangs is abandoned at its deadline (plus a short grace) and gives
    back its concurrency slot; its thread runs on as a daemon and its late result is ignored.
    With `workers` > 1 and more than one target, CPU-bound targets (the plugin's optional
    `cpu_bound(target)`: offline files) are collected in worker processes, at most `workers` at
    once, and, given the `plan`, evaluated there too; a hung one is killed at its deadline. The
    evidence and findings are the same, in the same order, whatever the number of workers.
    """
    _check_timeout(timeout, "--timeout")
    for target in targets:
        if target.timeout is not None:
            _check_timeout(target.timeout, f"target '{target.id}': timeout")
    _install_log_redaction()
    with paused_gc():
        return _collect_all(
            targets, registry, timeout, concurrency, credential_settings or {}, progress, max(1, workers), plan
        )


def cpu_bound(registry: Registry, target: Target) -> bool:
    """Whether the target's plugin says its collection is CPU-bound (optional `cpu_bound(target)`, default no)."""
    try:
        method = getattr(registry.plugin(target.kind), "cpu_bound", None)
        return bool(method(target)) if callable(method) else False
    except Exception:  # an unknown kind or a plugin bug: collect it in a thread, where the error is reported
        return False


def _redacted(ev: Evidence, secrets: Sequence[str]) -> Evidence:
    """The evidence with every secret value replaced (what checks, reports and saved evidence see)."""
    return Evidence(
        target=ev.target,
        kind=ev.kind,
        uri=ev.uri,
        sections=evidence_io.redact(dict(ev.sections), secrets),
        errors=evidence_io.redact(dict(ev.errors), secrets),
        target_error=evidence_io.redact(ev.target_error, secrets),
        collected_at=ev.collected_at,
        duration=ev.duration,
        tool_version=ev.tool_version,
        metadata=evidence_io.redact(dict(ev.metadata), secrets),
    )


def _in_worker(
    target: Target,
    registry: Registry,
    budget: float,
    settings: Mapping[str, Mapping[str, Any]],
    controls: Sequence[Control] | None,
) -> tuple[Evidence, list[str], list[Finding] | None]:
    """In a worker process: collect one target and evaluate its controls on its own redacted evidence."""
    secrets: list[str] = []
    evidence = _collect_one(target, registry, budget, settings, secrets)
    findings = None
    if controls is not None:
        seen = _redacted(evidence, secrets)
        findings = [finding for control in controls for finding in evaluate_control(control, seen, registry)]
    return evidence, secrets, findings


_ABANDONED: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
"""Collector threads left running at their target's timeout (daemons: they cannot be killed)."""


def abandoned_collectors() -> int:
    """How many collector threads abandoned at their timeout still run in this process.

    Such a thread may hold a lock (logging, a client library's) at any moment: a process forked
    now could wait for it forever, so callers that fork without a deadline do not while any runs."""
    return sum(1 for thread in list(_ABANDONED) if thread.is_alive())


@dataclass
class _Running:
    """A collection in progress: in a thread of this process, or in a worker process."""

    target: Target
    budget: float
    deadline: float
    thread: threading.Thread | None = None
    process: WorkerProcess | None = None

    def finished(self, wait: float) -> bool:
        """Wait up to `wait` seconds; True when the collection has ended."""
        if self.process is not None:
            return self.process.wait(wait)
        assert self.thread is not None
        self.thread.join(timeout=wait)
        return not self.thread.is_alive()


def _collect_all(
    targets: Sequence[Target],
    registry: Registry,
    timeout: float,
    concurrency: int,
    settings: Mapping[str, Mapping[str, Any]],
    progress: ProgressCallback | None,
    workers: int,
    plan: Plan | None,
) -> Collected:
    results: dict[str, Evidence] = {}
    evaluated: dict[str, list[Finding]] = {}
    secrets_seen: dict[str, list[str]] = {t.id: [] for t in targets}
    lock = threading.Lock()
    free = max(1, concurrency)
    free_cpu = workers
    use_processes = workers > 1 and len(targets) > 1 and available()
    heavy = {t.id for t in targets if use_processes and cpu_bound(registry, t)}
    running: dict[str, _Running] = {}

    helpers = 1 if use_processes else workers  # one target in this process may fork helpers (a large dump)

    def work(target: Target, budget: float) -> None:
        with allowing(helpers, time.monotonic() + budget):
            found = _collect_one(target, registry, budget, settings, secrets_seen[target.id])
        with lock:
            results.setdefault(target.id, found)

    pending = sorted(targets, key=lambda t: t.id not in heavy)  # worker processes fork before threads start
    while pending or running:
        index = 0
        while index < len(pending) and free > 0:
            target = pending[index]
            if target.id in heavy and free_cpu == 0:
                index += 1
                continue
            pending.pop(index)
            free -= 1
            budget = target.timeout or timeout
            if progress:
                progress(target.id, "start", target.url)
            entry = _Running(target, budget, time.monotonic() + budget + _grace(budget))
            if target.id in heavy:
                free_cpu -= 1
                controls = plan.controls.get(target.id) if plan is not None else None
                entry.process = WorkerProcess(
                    _in_worker, target, registry, budget, settings, controls, name=f"collect-{target.id}"
                )
            else:
                entry.thread = threading.Thread(
                    target=work, args=(target, budget), name=f"collect-{target.id}", daemon=True
                )
                entry.thread.start()
            running[target.id] = entry
        for target_id, entry in list(running.items()):
            done_now = entry.finished(0.05 if len(running) == 1 else 0.01)
            if not done_now and time.monotonic() <= entry.deadline:
                continue
            target, budget = entry.target, entry.budget
            del running[target_id]
            free += 1  # a late thread runs on as a daemon but no longer holds a slot
            if entry.thread is not None and not done_now:
                _ABANDONED.add(entry.thread)
            if entry.process is not None:
                free_cpu += 1
                if done_now:
                    _take_worker_result(entry, registry, results, evaluated, secrets_seen[target_id])
                else:
                    entry.process.abandon()  # a hung worker is killed, not left running
            with lock:
                if target_id not in results:
                    results[target_id] = Evidence(
                        target=target.id,
                        kind=target.kind,
                        uri=_safe_target_uri(registry, target),
                        sections={},
                        target_error=f"{CollectionError.TIMEOUT}: collection did not finish within {budget:g}s",
                        duration=budget,
                        tool_version=__version__,
                        collected_at=now_iso(),
                    )
                done = results[target_id]
            if progress:
                seen_so_far = [value for values in secrets_seen.values() for value in list(values)]
                detail = evidence_io.redact(done.target_error or "", seen_so_far)
                progress(target_id, "error" if done.target_error else "done", detail)
    secrets = [value for values in secrets_seen.values() for value in values]
    redacted = {target.id: _redacted(results[target.id], secrets) for target in targets}
    # a worker evaluated its target on evidence redacted with that target's own secrets: the same
    # findings only while no other target brought secrets of its own; otherwise evaluated again here
    valid = {
        target_id: found
        for target_id, found in evaluated.items()
        if not any(values for other, values in secrets_seen.items() if other != target_id)
    }
    return Collected(redacted, valid)


def _take_worker_result(
    entry: _Running,
    registry: Registry,
    results: dict[str, Evidence],
    evaluated: dict[str, list[Finding]],
    secrets: list[str],
) -> None:
    """Store what a worker process sent back: its evidence, the secrets it saw, its findings."""
    assert entry.process is not None
    target = entry.target
    try:
        evidence, seen, findings = entry.process.result()
    except WorkerFailed as exc:
        results[target.id] = Evidence(
            target=target.id,
            kind=target.kind,
            uri=_safe_target_uri(registry, target),
            sections={},
            target_error=f"collector failed: {exc}",
            tool_version=__version__,
            collected_at=now_iso(),
        )
        return
    secrets.extend(seen)
    LOG_REDACTION.add(seen)
    results[target.id] = evidence
    if findings is not None:
        evaluated[target.id] = findings


def _result_problem(results: Sequence[Any], evidence: Evidence) -> str | None:
    """Why a check's results cannot be used (nothing returned, not CheckResults, another target's)."""
    if not results:
        return "returned no result (a check must return NOT_APPLICABLE explicitly when nothing is in scope)"
    target = evidence.target
    for result in results:
        if type(result) is CheckResult and type(result.status) is Status and type(result.resource) is Resource:
            if result.resource.target != target:  # the usual result, decided without the general checks below
                return f"returned a resource of target '{result.resource.target}', not of '{target}'"
            continue
        if not isinstance(result, CheckResult) or not isinstance(result.status, Status):
            shown = type(result.status).__name__ if isinstance(result, CheckResult) else type(result).__name__
            return f"returned {shown}, not a CheckResult with a Status"
        if not isinstance(result.resource, Resource) or result.resource.target != evidence.target:
            owner = result.resource.target if isinstance(result.resource, Resource) else type(result.resource).__name__
            return f"returned a resource of target '{owner}', not of '{evidence.target}'"
    return None


class _ViewErrors(Mapping[str, str]):
    """The section errors a check sees: the real ones for its sections, "not declared" for any other."""

    def __init__(self, errors: Mapping[str, str], needed: Sequence[str], check: str) -> None:
        self._errors = {name: errors[name] for name in needed if name in errors}
        self._needed = frozenset(needed)
        self._check = check

    def __getitem__(self, name: str) -> str:
        if name in self._needed:
            return self._errors[name]
        return (
            f"check '{self._check}' reads evidence section '{name}' that it does not declare in `needs` "
            "or `reads` "
            "(a bug of the check: it must not see evidence it does not declare)"
        )

    def __contains__(self, name: object) -> bool:
        return name in self._errors

    def __iter__(self) -> Any:
        return iter(self._errors)

    def __len__(self) -> int:
        return len(self._errors)


class _ViewSections(Mapping[str, Any]):
    """The sections a check sees; reading an undeclared one directly raises EvidenceUnavailable too."""

    def __init__(self, sections: Mapping[str, Any], needed: Sequence[str], errors: _ViewErrors) -> None:
        self._sections = {name: sections[name] for name in needed if name in sections}
        self._errors = errors

    def __getitem__(self, name: str) -> Any:
        if name in self._sections:
            return self._sections[name]
        if name in self._errors:
            raise KeyError(name)  # a declared section that was not read: Evidence.section() explains it
        raise EvidenceUnavailable(self._errors[name])

    def __contains__(self, name: object) -> bool:
        return name in self._sections

    def __iter__(self) -> Any:
        return iter(self._sections)

    def __len__(self) -> int:
        return len(self._sections)


def evidence_view(evidence: Evidence, spec: CheckSpec, needed: Sequence[str]) -> Evidence:
    """The evidence a check may see: only the sections it declares; any other one is EvidenceUnavailable."""
    errors = _ViewErrors(evidence.errors, needed, spec.name)
    return replace(evidence, sections=_ViewSections(evidence.sections, needed, errors), errors=errors)


def evaluate_control(control: Control, evidence: Evidence, registry: Registry) -> list[Finding]:
    """Evaluate one control on one target's evidence. Never raises; failures become ERROR."""
    if control.disabled:
        return [Finding(control.id, evidence.target_resource(), Status.NOT_APPLICABLE, f"disabled: {control.disabled}")]
    if evidence.target_error is not None:  # even an empty reason means the collector gave up
        return [
            Finding(control.id, evidence.target_resource(), Status.ERROR, f"target not read: {evidence.target_error}")
        ]
    spec = registry.checks.get(control.check)
    if spec is None:
        return [
            Finding(control.id, evidence.target_resource(), Status.ERROR, f"check '{control.check}' is not installed")
        ]
    needed = spec.sections_needed(control.params)
    missing = [s for s in needed if s not in evidence.sections]
    if missing:
        reasons = "; ".join(evidence.errors.get(s, f"evidence section '{s}' was not collected") for s in missing)
        return [Finding(control.id, evidence.target_resource(), Status.ERROR, f"evidence unavailable: {reasons}")]
    try:
        view = evidence_view(evidence, spec, spec.sections_visible(control.params))
        results: list[CheckResult] = list(spec.function(view, control.params))
    except EvidenceUnavailable as exc:
        return [Finding(control.id, evidence.target_resource(), Status.ERROR, f"evidence unavailable: {exc.reason}")]
    except Exception as exc:  # a check bug must not read as PASS, nor stop the scan
        return [
            Finding(
                control.id,
                evidence.target_resource(),
                Status.ERROR,
                f"check '{control.check}' failed: {type(exc).__name__}: {exc}",
            )
        ]
    problem = _result_problem(results, evidence)
    if problem:  # a check must say PASS, FAIL, ERROR or NOT_APPLICABLE for this target, explicitly
        return [Finding(control.id, evidence.target_resource(), Status.ERROR, f"check '{control.check}' {problem}")]
    # one finding per resource URI, the worst status winning (the first of equals), in first-seen order
    merged: dict[str, Finding] = {}
    control_id = control.id
    weight = _STATUS_WEIGHT
    for result in results:
        status = result.status
        message = result.message
        if status is Status.WAIVED:  # only waivers may waive
            status, message = Status.ERROR, f"check returned WAIVED, which only a waiver may set: {message}"
        resource = result.resource
        uri = resource.uri
        previous = merged.get(uri)
        if previous is not None and weight[status] <= weight[previous.status]:
            continue  # a finding would only be built to be dropped
        observed = result.observed
        if observed is not None and type(observed) is not str:  # the usual values need no copy
            observed = finite_json(observed)
        expected = result.expected
        if expected is not None and type(expected) is not str:
            expected = finite_json(expected)
        merged[uri] = Finding(control_id, resource, status, message, observed, expected)
    return list(merged.values())


def evaluate(plan: Plan, evidence: Mapping[str, Evidence], registry: Registry) -> list[Finding]:
    """Evaluate every planned control on its target's evidence (pure: no I/O).

    Targets a worker process already evaluated (`Collected.findings`) keep those findings.
    """
    done: Mapping[str, list[Finding]] = evidence.findings if isinstance(evidence, Collected) else {}
    findings: list[Finding] = []
    for target in plan.targets:
        if target.id in done:
            findings.extend(done[target.id])
            continue
        ev = evidence[target.id]
        for control in plan.controls[target.id]:
            findings.extend(evaluate_control(control, ev, registry))
    return findings


def summarise(target: Target, evidence: Evidence) -> TargetSummary:
    """The per-target summary of a scan."""
    return TargetSummary(
        id=target.id,
        kind=target.kind,
        uri=evidence.uri,
        error=evidence.target_error,
        section_errors=dict(evidence.errors),
        collected_at=evidence.collected_at,
        duration=evidence.duration,
        labels=dict(target.labels),
        insecure_transport=insecure_transport(evidence.metadata),
    )


def run_scan(
    targets: Sequence[Target],
    registry: Registry,
    library: BaselineLibrary,
    *,
    baseline_refs: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = 8,
    credential_settings: Mapping[str, Mapping[str, Any]] | None = None,
    save_evidence: Path | None = None,
    environment: str = "default",
    progress: ProgressCallback | None = None,
    workers: int | None = None,
) -> ScanResult:
    """Plan, collect (live), optionally save evidence, evaluate; return the ScanResult.

    `workers`: worker processes for CPU-bound targets (default: the CPUs this process may use).
    """
    if not targets:
        raise ConfigError("no targets: give --target KIND=VALUE, --inventory FILE or --evidence DIR")
    ids = [t.id for t in targets]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"duplicate target id(s): {', '.join(duplicates)}")
    plan = make_plan(targets, library, baseline_refs)
    started = now_iso()
    collected = collect(
        targets,
        registry,
        timeout=timeout,
        concurrency=concurrency,
        credential_settings=credential_settings,
        progress=progress,
        workers=default_workers() if workers is None else workers,
        plan=plan,
    )
    if save_evidence is not None:
        try:
            evidence_io.save_all(save_evidence, [(collected[t.id], dict(t.labels)) for t in targets])
        except OSError as exc:
            raise ConfigError(f"cannot save evidence: {exc.strerror or exc}", str(save_evidence)) from None
    return build_result(plan, collected, registry, started=started, environment=environment)


def run_offline(
    evidence_dir: Path,
    registry: Registry,
    library: BaselineLibrary,
    *,
    baseline_refs: Sequence[str] = (),
    environment: str = "default",
    workers: int | None = None,
) -> ScanResult:
    """Evaluate saved evidence with no network access (in the order it was scanned, see `load_directory`).

    With more than one target and `workers` > 1 (default: the CPU count), each target's evidence
    is checked against its contract and evaluated in a worker process, `workers` at a time.
    """
    saved = evidence_io.load_directory(evidence_dir)
    targets = [Target(id=ev.target, kind=ev.kind, url=ev.uri, labels=labels) for ev, labels in saved.items]
    plan = make_plan(targets, library, baseline_refs)
    started = now_iso()
    count = default_workers() if workers is None else max(1, workers)
    if count > 1 and len(targets) > 1 and available():
        checked: Mapping[str, Evidence] = _recheck_in_workers(plan, [ev for ev, _ in saved.items], registry, count)
    else:
        checked = {ev.target: _recheck(ev, registry) for ev, _ in saved.items}
    result = build_result(plan, checked, registry, started=started, environment=environment)
    return replace(result, notes=(*result.notes, *saved.notes))


def _recheck_and_evaluate(evidence: Evidence, plan: Plan, registry: Registry) -> tuple[Evidence, list[Finding]]:
    """In a worker process: the contract check and the evaluation of one target's saved evidence.

    Only the evidence without its sections goes back (the summary needs its errors and metadata).
    """
    checked = _recheck(evidence, registry)
    findings = [f for control in plan.controls[evidence.target] for f in evaluate_control(control, checked, registry)]
    return replace(checked, sections={}), findings


def _recheck_in_workers(plan: Plan, saved: Sequence[Evidence], registry: Registry, workers: int) -> Collected:
    """`_recheck` and evaluation of every target, `workers` processes at a time; a failed worker is redone here."""
    evidence: dict[str, Evidence] = {}
    findings: dict[str, list[Finding]] = {}
    waiting = list(saved)
    running: list[tuple[Evidence, WorkerProcess]] = []
    with paused_gc():
        while waiting or running:
            while waiting and len(running) < workers:
                ev = waiting.pop(0)
                running.append((ev, WorkerProcess(_recheck_and_evaluate, ev, plan, registry, name=f"eval-{ev.target}")))
            for item in list(running):
                ev, worker = item
                if not worker.wait(0.05):
                    continue
                running.remove(item)
                try:
                    evidence[ev.target], findings[ev.target] = worker.result()
                except WorkerFailed:  # evaluated here instead: the same findings, only slower
                    evidence[ev.target] = _recheck(ev, registry)
    return Collected({ev.target: evidence[ev.target] for ev in saved}, findings)


def _recheck(evidence: Evidence, registry: Registry) -> Evidence:
    """Saved evidence validated again against its kind's contract (the file may come from anywhere)."""
    try:
        contract = contract_of(registry.plugins.get(evidence.kind))
    except Exception as exc:  # a plugin bug: no section of it can be trusted
        reason = f"evidence contract unavailable: {type(exc).__name__}: {exc}"
        return replace(evidence, sections={}, errors={**evidence.errors, **dict.fromkeys(evidence.sections, reason)})
    return apply_contract(evidence, contract)


def build_result(
    plan: Plan, evidence: Mapping[str, Evidence], registry: Registry, *, started: str, environment: str
) -> ScanResult:
    """Evaluate and assemble the ScanResult."""
    freeze_large(evidence)
    with paused_gc():  # evaluation allocates many small objects that live until the end
        findings = evaluate(plan, evidence, registry)
    controls: dict[str, Control] = {}
    for target in plan.targets:
        for control in plan.controls[target.id]:
            controls.setdefault(control.id, control)
    return ScanResult(
        tool_version=__version__,
        started_at=started,
        finished_at=now_iso(),
        controls=controls,
        findings=tuple(findings),
        targets=tuple(summarise(t, evidence[t.id]) for t in plan.targets),
        baselines=dict(plan.baselines),
        environment=environment,
        run_id=str(uuid.uuid4()),
    )
