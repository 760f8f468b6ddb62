"""Version floors as dated data: a minimum version with the date it was last reviewed.

A floor says "a release older than this misses security fixes". It is only true on the
day someone checked the vendor's release notes: every later security release raises the
real floor while the baseline's number stays put, so a stale floor turns into silent
PASSes. A floor therefore carries `reviewed` (ISO date) and `review_interval_days`; a
check judges a version against it with `judge()` and reports the floor itself, through
`stale_floor_result()`, when the scan date (taken from `Evidence.collected_at`, never from
the clock: checks are pure) is more than the interval after the review.

The parameter, as written in a baseline (schema `FLOOR_SCHEMA`)::

    version_floor:
      reviewed: "2026-11-13"          # when the floors below were last checked
      review_interval_days: 120       # after that the floor is reported as out of date
      minimum: "15"                   # optional: oldest supported release line
      floors: {"15": "15.15", "16": "16.11", "17": "17.7", "18": "18.1"}

`floors` maps a release *track* (the leading components of a version: a PostgreSQL
major "15", a Kubernetes minor "1.34", an OpenBao minor "2.4") to the lowest acceptable
release on it. All keys have the same number of components; a version's track is its
first that many components. A version whose track has no floor is judged by `minimum`
and by whether its track is newer than every listed one (a major released after the
review: nothing is known against it) or older (an unlisted old track: below the floor).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from scanner.model import CheckResult, Resource, Status

Version = tuple[int, ...]
"""A parsed version: its numeric components, e.g. `(15, 15)` or `(1, 34, 2)`."""

_VERSION = re.compile(r"^\s*v?(\d+(?:\.\d+)*)")

DEFAULT_REVIEW_INTERVAL_DAYS = 120
"""Review interval when a floor does not give one: about one quarterly release cycle and a margin."""

FLOOR_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reviewed", "floors"],
    "properties": {
        "reviewed": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "review_interval_days": {"type": "integer", "minimum": 1},
        "minimum": {"type": "string", "pattern": r"^v?\d+(\.\d+)*$"},
        "floors": {
            "type": "object",
            "propertyNames": {"pattern": r"^v?\d+(\.\d+)*$"},
            "additionalProperties": {"type": "string", "pattern": r"^v?\d+(\.\d+)*$"},
        },
    },
}
"""JSON Schema of a floor parameter (use it as the parameter's schema in `@check(params=...)`)."""


def parse_version(text: Any) -> Version | None:
    """The leading numeric components of a version string (`v1.34.2-eks` -> (1, 34, 2)); None if none."""
    match = _VERSION.match(str(text)) if isinstance(text, str) else None
    if match is None:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def version_text(version: Version) -> str:
    """`(15, 15)` -> `15.15`."""
    return ".".join(str(part) for part in version)


def _at_least(version: Version, floor: Version) -> bool:
    """True when `version` >= `floor`, missing components counting as 0 (`15` == `15.0`)."""
    width = max(len(version), len(floor))
    return version + (0,) * (width - len(version)) >= floor + (0,) * (width - len(floor))


@dataclass(frozen=True)
class VersionFloor:
    """Minimum versions per release track, with the date they were last reviewed."""

    floors: Mapping[Version, Version]
    """Track (leading components) -> lowest acceptable release on that track."""
    reviewed: date
    """When the floors were last checked against the vendor's security releases."""
    review_interval_days: int = DEFAULT_REVIEW_INTERVAL_DAYS
    """How long a review stays valid; a scan later than that reports the floor as out of date."""
    minimum: Version | None = None
    """Oldest supported release line (older versions fail whatever their track)."""

    @property
    def track_length(self) -> int:
        """Number of leading components that make a track (1 for PostgreSQL majors, 2 for `1.34`)."""
        return len(next(iter(self.floors))) if self.floors else 1

    def age_days(self, scan_date: date) -> int:
        """Days between the review and the scan."""
        return (scan_date - self.reviewed).days

    def is_stale(self, scan_date: date) -> bool:
        """True when the scan is more than `review_interval_days` after the review."""
        return self.age_days(scan_date) > self.review_interval_days

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary, for a finding's `expected`/`observed`."""
        return {
            "floors": {version_text(k): version_text(v) for k, v in sorted(self.floors.items())},
            "minimum": version_text(self.minimum) if self.minimum else None,
            "reviewed": self.reviewed.isoformat(),
            "review_interval_days": self.review_interval_days,
        }


def floor_from_params(value: Mapping[str, Any]) -> VersionFloor:
    """Build a VersionFloor from a parameter matching FLOOR_SCHEMA; ValueError names what is wrong."""
    if not isinstance(value, Mapping):
        raise ValueError("a version floor must be a mapping with 'reviewed' and 'floors'")
    try:
        reviewed = date.fromisoformat(str(value["reviewed"]))
    except (KeyError, ValueError):
        raise ValueError("a version floor needs 'reviewed' as an ISO date (YYYY-MM-DD)") from None
    raw = value.get("floors")
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError("a version floor needs a non-empty 'floors' mapping (track -> minimum release)")
    floors: dict[Version, Version] = {}
    for track_text, floor_text in raw.items():
        track, floor = parse_version(str(track_text)), parse_version(str(floor_text))
        if track is None or floor is None:
            raise ValueError(f"version floor '{track_text}: {floor_text}' is not a version")
        if floor[: len(track)] != track:
            raise ValueError(f"version floor {floor_text} is not on track {track_text}")
        floors[track] = floor
    if len({len(track) for track in floors}) != 1:
        raise ValueError("all tracks of a version floor must have the same number of components")
    minimum = parse_version(str(value["minimum"])) if value.get("minimum") is not None else None
    if value.get("minimum") is not None and minimum is None:
        raise ValueError(f"version floor minimum '{value['minimum']}' is not a version")
    interval = int(value.get("review_interval_days", DEFAULT_REVIEW_INTERVAL_DAYS))
    if interval < 1:
        raise ValueError("review_interval_days must be at least 1")
    return VersionFloor(floors=floors, reviewed=reviewed, review_interval_days=interval, minimum=minimum)


class Verdict(enum.Enum):
    """How a version compares with a floor."""

    OK = "ok"
    """At or above the floor of its track (and the minimum)."""
    BELOW_MINIMUM = "below_minimum"
    """Older than the oldest supported release line."""
    BELOW_FLOOR = "below_floor"
    """On a known track, but below its floor (missing security releases)."""
    UNKNOWN_OLD_TRACK = "unknown_old_track"
    """On a track older than every listed one that has no floor of its own (treated as failing)."""
    NEWER_TRACK = "newer_track"
    """On a track newer than every listed one: nothing is known against it (passing)."""


@dataclass(frozen=True)
class Judgement:
    """The outcome of judging one version against a floor."""

    verdict: Verdict
    """The comparison outcome."""
    version: Version
    """The version judged."""
    floor: Version | None
    """The floor that applied (the track's, or the minimum), if any."""

    @property
    def passes(self) -> bool:
        """True for OK and NEWER_TRACK."""
        return self.verdict in (Verdict.OK, Verdict.NEWER_TRACK)

    def message(self, product: str) -> str:
        """One sentence for a finding, e.g. `PostgreSQL 15.3 is below the floor 15.15 of its release line`."""
        shown = f"{product} {version_text(self.version)}"
        floor = version_text(self.floor) if self.floor else "?"
        if self.verdict is Verdict.OK:
            return f"{shown} is at or above the floor {floor} of its release line"
        if self.verdict is Verdict.NEWER_TRACK:
            return f"{shown} is on a release line newer than every floor of the baseline"
        if self.verdict is Verdict.BELOW_MINIMUM:
            return f"{shown} is older than the oldest supported release line ({floor})"
        if self.verdict is Verdict.UNKNOWN_OLD_TRACK:
            return f"{shown} is on a release line the baseline has no floor for, older than those it has"
        return f"{shown} misses security releases: update to {floor} or later"


def judge(version: Version, floor: VersionFloor) -> Judgement:
    """Judge `version` against `floor` (see the module docstring for unlisted tracks)."""
    if floor.minimum is not None and not _at_least(version, floor.minimum):
        return Judgement(Verdict.BELOW_MINIMUM, version, floor.minimum)
    length = floor.track_length
    track = (version + (0,) * length)[:length]
    if track in floor.floors:
        wanted = floor.floors[track]
        return Judgement(Verdict.OK if _at_least(version, wanted) else Verdict.BELOW_FLOOR, version, wanted)
    newest = max(floor.floors)
    if track > newest:
        return Judgement(Verdict.NEWER_TRACK, version, floor.floors[newest])
    below = [t for t in floor.floors if t > track]
    return Judgement(Verdict.UNKNOWN_OLD_TRACK, version, floor.floors[min(below)] if below else None)


def scan_date(collected_at: str) -> date | None:
    """The UTC date of an ISO 8601 timestamp such as `Evidence.collected_at`; None when absent or unreadable."""
    text = (collected_at or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def stale_floor_result(
    floor: VersionFloor, collected_at: str, resource: Resource, what: str = "version floor"
) -> CheckResult | None:
    """A FAIL when the floor's review is older than its interval at the scan date; None when current.

    `collected_at` is the evidence's collection time (the scan's "now"); when it is missing
    or unreadable, the result is ERROR: whether the floor is current cannot be told. Report
    it on its own resource (for example `/server/version-floor`), so fixing the floor
    (review it, update `reviewed`) closes exactly this finding.
    """
    when = scan_date(collected_at)
    expected = f"reviewed within {floor.review_interval_days} days of the scan"
    observed = floor.describe()
    if when is None:
        return CheckResult(
            resource,
            Status.ERROR,
            f"the {what} (reviewed {floor.reviewed.isoformat()}) cannot be checked for age: the evidence has no "
            "collection time",
            observed,
            expected,
        )
    if not floor.is_stale(when):
        return None
    return CheckResult(
        resource,
        Status.FAIL,
        f"the {what} was last reviewed on {floor.reviewed.isoformat()}, {floor.age_days(when)} days before this "
        f"scan ({when.isoformat()}; review interval {floor.review_interval_days} days): security releases since "
        "then are unknown to it, so a version may pass it and still miss fixes; check the vendor's releases, "
        "raise the floors and update 'reviewed'",
        observed,
        expected,
    )
