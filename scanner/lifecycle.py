"""The finding lifecycle after evaluation: waivers, comparison with a previous run, history.

`scan` and `report` share it: `prepare` validates everything the options name before any work
is done (the waiver file, the previous result, the store and its schema), `process` turns the
evaluated result into the reported one (waivers first, then the comparison, so a waived finding
compares as WAIVED), and `record` stores it in the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from scanner.compare import Previous, compare, empty_previous, load_previous
from scanner.errors import ConfigError
from scanner.interface import Reporter
from scanner.model import ScanResult, Status
from scanner.store import Store, open_store
from scanner.waivers import DEFAULT_MAX_DAYS, WaiverSet, apply_waivers, load_waivers, utc_today

COMPARE_LAST = "last"
"""The `--compare` value meaning the last stored scan of the same targets."""


@dataclass(frozen=True)
class LifecycleOptions:
    """The lifecycle options of `scan` and `report`."""

    compare: str | None = None
    """A previous result file, or `last` (needs `store`)."""
    fail_on_new: bool = False
    """Gate only on new and regressed failures."""
    allow_new_errors: bool = False
    """Do not fail the gate when a control evaluated in the compared run is ERROR now."""
    min_coverage: float | None = None
    """Minimum share (0-100) of applicable controls evaluated per target."""
    waivers: Path | None = None
    """Waiver file."""
    waiver_max_days: int = DEFAULT_MAX_DAYS
    """Maximum waiver lifetime in days."""
    store: str | None = None
    """History store URL (`default`, `sqlite:PATH`, `postgresql://...`)."""
    today: date | None = None
    """The reference date for waiver expiry (default: today's UTC date)."""


@dataclass(frozen=True)
class Prepared:
    """Options with their files read and validated and the store opened."""

    options: LifecycleOptions
    """The options."""
    today: date
    """The reference date."""
    waivers: WaiverSet | None = None
    """The validated waivers."""
    previous: Previous | None = None
    """The previous run read from a file (None for `--compare last` or no comparison)."""
    store: Store | None = None
    """The opened, migrated store."""


def prepare(options: LifecycleOptions, readers: Sequence[Reporter] = ()) -> Prepared:
    """Validate and load everything the options name; raise ConfigError / StoreError early.

    `readers` are the reporters asked to read a `--compare` file that is not a native JSON result.
    """
    today = options.today or utc_today()
    if options.compare == COMPARE_LAST and options.store is None:
        raise ConfigError("--compare last needs --store (the history to take the last scan from)")
    waivers = None
    if options.waivers is not None:
        waivers = load_waivers(options.waivers, today=today, max_days=options.waiver_max_days)
    previous = None
    if options.compare is not None and options.compare != COMPARE_LAST:
        previous = load_previous(options.compare, readers)
    store = open_store(options.store) if options.store is not None else None
    return Prepared(options=options, today=today, waivers=waivers, previous=previous, store=store)


def process(result: ScanResult, prepared: Prepared) -> ScanResult:
    """Waivers, then the comparison (pure apart from reading the last scan from the store).

    Without a waiver file, the waivers a saved result carries are applied again as of today: one
    that expired since the result was written no longer waives anything, and a WAIVED finding
    without a waiver is FAIL (`report --from` must not keep an expired risk acceptance green).
    """
    if prepared.waivers is not None:
        result = apply_waivers(result, prepared.waivers.waivers, prepared.today)
    elif any(f.status is Status.WAIVED for f in result.findings):
        carried = dict.fromkeys(f.waiver for f in result.findings if f.waiver is not None)
        result = apply_waivers(result, list(carried), prepared.today)
    previous = prepared.previous
    if prepared.options.compare == COMPARE_LAST and prepared.store is not None:
        previous = prepared.store.last_scan(result) or empty_previous(
            result, f"nothing: no earlier scan of these targets in {prepared.store.description}"
        )
    if previous is not None:
        result = compare(result, previous)
    return result


def record(result: ScanResult, prepared: Prepared) -> bool | None:
    """Record the result in the store, if one was given; None when there is no store."""
    if prepared.store is None:
        return None
    return prepared.store.record(result)
