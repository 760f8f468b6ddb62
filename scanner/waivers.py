"""Waivers: accepted risks that turn matching FAIL findings into WAIVED, until they expire.

A waiver file (schema: scanner/schema/waivers.schema.json) lists entries with a control id, a
glob over resource URIs, a justification, an owner and an expiry date (all required), and
optionally a ticket and the date the waiver was granted (`created`)::

    max_days: 90                       # optional: the stricter of this and --waiver-max-days applies
    waivers:
      - control: PG-04
        resource: "postgres://db.example:5432/hba/*"
        justification: legacy replication host, replaced in Q3
        owner: team-db@example.org
        expires: 2025-09-30
        created: 2025-07-01            # optional; lifetime is measured from it, else from today
        ticket: SEC-1234               # optional

Semantics (`apply_waivers`):

- Only FAIL is waived. ERROR stays ERROR: a control that could not be verified is not a risk
  anyone accepted, and waiving it would let a scanner that lost its permissions look clean.
- A waiver applies through its `expires` day (compared with today's UTC date); from the next day
  on it is expired: the findings it covered FAIL again, their message says the waiver expired,
  and the result's notes say so.
- A waiver that waived nothing is reported as unused in the notes (with the number of ERROR
  findings it matched, if any, since those are never waived).
- A waiver whose lifetime (`expires` minus `created`, or minus today) exceeds the maximum is a
  ConfigError naming `file:line`, as is every schema violation.

Everything here is a pure function of its inputs; "today" is always passed in.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from scanner.baseline import schema
from scanner.errors import ConfigError
from scanner.model import BaselineState, Finding, ScanResult, SourceLocation, Status, Waiver
from scanner.yamlfile import YamlDocument, read_yaml, validate

DEFAULT_MAX_DAYS = 180
"""Default maximum lifetime of a waiver, in days (`--waiver-max-days`)."""

EXPIRING_SOON_DAYS = 14
"""A used waiver that expires within this many days gets a note."""

NOTE_PREFIX = "waiver "
"""Every note written by `apply_waivers` starts with this, so re-applying waivers replaces them."""

_EXPIRED_SUFFIX = re.compile(r" \[waiver expired on [0-9-]+[^\]]*\]$")


def utc_today() -> date:
    """Today's date in UTC (the reference date for expiry unless a test injects another)."""
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class WaiverSet:
    """The waivers of one file, validated."""

    path: str
    """The file they were read from (as given)."""
    waivers: tuple[Waiver, ...]
    """The waivers in file order (each with its `source` file:line)."""
    max_days: int
    """The maximum lifetime that was enforced when loading, in days."""


def _where(waiver: Waiver) -> str:
    return f"{waiver.source.path}:{waiver.source.line}" if waiver.source else "?"


def describe(waiver: Waiver) -> str:
    """A short human reference to a waiver: control, selector and file:line."""
    return f"{waiver.control_id} on {waiver.resource} ({_where(waiver)})"


def _plain(value: Any) -> Any:
    """YAML turns unquoted dates into date/datetime objects; the schema wants strings."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_waivers(path: Path | str, *, today: date, max_days: int = DEFAULT_MAX_DAYS) -> WaiverSet:
    """Read, validate and check a waiver file; every problem is a ConfigError naming file:line.

    The enforced lifetime limit is the stricter of `max_days` (the command line) and the file's
    own `max_days`: a waiver file can tighten the policy, never relax it.
    """
    doc = read_yaml(path, "waiver file")
    plain = YamlDocument(path=doc.path, data=_plain(doc.data), node=doc.node)
    _check_values(plain)
    validate(plain, schema("waivers"), "waiver file")
    data: Mapping[str, Any] = plain.data
    limit = max_days
    limit_source = "--waiver-max-days"
    if "max_days" in data and int(data["max_days"]) < limit:
        limit = int(data["max_days"])
        limit_source = f"max_days at {plain.where(['max_days'])}"
    waivers: list[Waiver] = []
    seen: dict[tuple[str, str], str] = {}
    for index, entry in enumerate(data["waivers"]):
        at: list[str | int] = ["waivers", index]
        expires = _date(entry["expires"], plain, [*at, "expires"])
        created = _date(entry["created"], plain, [*at, "created"]) if "created" in entry else None
        if created is not None and created > today:
            raise ConfigError(
                f"invalid waiver file: created date {created} is in the future", plain.where([*at, "created"])
            )
        if created is not None and expires < created:
            raise ConfigError(
                f"invalid waiver file: expires {expires} is before created {created}", plain.where([*at, "expires"])
            )
        start = created or today
        lifetime = (expires - start).days
        if lifetime > limit:
            since = f"created {created}" if created else f"today {today}"
            raise ConfigError(
                f"waiver for {entry['control']} runs {lifetime} days ({since} to {expires}), longer than the "
                f"maximum of {limit} days ({limit_source}); shorten it or renew it later",
                plain.where([*at, "expires"]),
            )
        key = (entry["control"], entry["resource"])
        if key in seen:
            raise ConfigError(f"duplicate waiver for {key[0]} on {key[1]} (first at {seen[key]})", plain.where(at))
        seen[key] = plain.where(at)
        waivers.append(
            Waiver(
                control_id=entry["control"],
                resource=entry["resource"],
                justification=entry["justification"].strip(),
                owner=entry["owner"].strip(),
                expires=expires.isoformat(),
                ticket=entry.get("ticket"),
                source=SourceLocation(str(path), plain.line_of(at)),
            )
        )
    return WaiverSet(path=str(path), waivers=tuple(waivers), max_days=limit)


_TEXT_FIELDS = ("control", "resource", "justification", "owner", "ticket")
_DATE_FIELDS = ("expires", "created")


def _check_values(doc: YamlDocument) -> None:
    """Clearer messages than the schema's patterns for the two usual mistakes: blank text, bad dates."""
    entries = doc.data.get("waivers") if isinstance(doc.data, dict) else None
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        for name in _TEXT_FIELDS:
            value = entry.get(name)
            if isinstance(value, str) and not value.strip():
                raise ConfigError(
                    f"invalid waiver file: waivers.{index}.{name}: must not be empty",
                    doc.where(["waivers", index, name]),
                )
        for name in _DATE_FIELDS:
            value = entry.get(name)
            if isinstance(value, str):
                try:
                    ok = len(value) == 10 and date.fromisoformat(value) is not None
                except ValueError:
                    ok = False
                if not ok:
                    raise ConfigError(
                        f"invalid waiver file: waivers.{index}.{name}: '{value}' is not a date (YYYY-MM-DD)",
                        doc.where(["waivers", index, name]),
                    )


def _date(value: str, doc: YamlDocument, at: Sequence[str | int]) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"invalid waiver file: '{value}' is not a date (YYYY-MM-DD)", doc.where(at)) from None


def expired(waiver: Waiver, today: date) -> bool:
    """True when the waiver's last day (`expires`) is before `today`."""
    return date.fromisoformat(waiver.expires) < today


def matches(waiver: Waiver, finding: Finding) -> bool:
    """True when the waiver names the finding's control and its glob matches the resource URI."""
    return waiver.control_id == finding.control_id and fnmatch.fnmatchcase(finding.resource.uri, waiver.resource)


def unwaive(finding: Finding) -> Finding:
    """The finding as the checks produced it: WAIVED back to FAIL, expiry remarks removed."""
    message = _EXPIRED_SUFFIX.sub("", finding.message)
    if finding.status is Status.WAIVED:
        return replace(finding, status=Status.FAIL, waiver=None, message=message)
    return replace(finding, message=message) if message != finding.message else finding


def _restate(finding: Finding, before: Status) -> Finding:
    """Keep a compared finding's baseline state consistent when a waiver changed its status."""
    if finding.status is before or finding.previous_status is None:
        return finding
    if finding.status is not finding.previous_status:
        return replace(finding, baseline_state=BaselineState.UPDATED)
    return finding


def apply_waivers(result: ScanResult, waivers: Iterable[Waiver], today: date) -> ScanResult:
    """Return `result` with waivers applied (pure; any earlier waiver application is undone first).

    A FAIL matched by an unexpired waiver (the first in file order) becomes WAIVED with the waiver
    attached. A FAIL matched only by expired waivers stays FAIL and its message says which waiver
    expired when. Notes report expired, unused and soon-expiring waivers.
    """
    waiver_list = list(waivers)
    used: dict[int, int] = {}
    expired_hits: dict[int, int] = {}
    error_hits: dict[int, int] = {}
    findings: list[Finding] = []
    for original in result.findings:
        finding = unwaive(original)
        if finding.status in (Status.FAIL, Status.ERROR):
            hits = [i for i, w in enumerate(waiver_list) if matches(w, finding)]
            if finding.status is Status.ERROR:
                for i in hits:
                    error_hits[i] = error_hits.get(i, 0) + 1
            elif hits:
                active = [i for i in hits if not expired(waiver_list[i], today)]
                if active:
                    chosen = active[0]
                    used[chosen] = used.get(chosen, 0) + 1
                    finding = replace(finding, status=Status.WAIVED, waiver=waiver_list[chosen])
                else:
                    last = max(hits, key=lambda i: waiver_list[i].expires)
                    for i in hits:
                        expired_hits[i] = expired_hits.get(i, 0) + 1
                    w = waiver_list[last]
                    finding = replace(
                        finding, message=f"{finding.message} [waiver expired on {w.expires}: {_where(w)}]"
                    )
        findings.append(_restate(finding, original.status))
    notes = [n for n in result.notes if not n.startswith(NOTE_PREFIX)]
    for i, waiver in enumerate(waiver_list):
        ref = describe(waiver)
        if expired(waiver, today):
            count = expired_hits.get(i, 0)
            tail = (
                f"{count} finding(s) it covered FAIL again; renew or remove it"
                if count
                else "it matches no failing finding; remove it"
            )
            notes.append(f"{NOTE_PREFIX}{ref} expired on {waiver.expires}: {tail}")
        elif i not in used:
            extra = ""
            if error_hits.get(i):
                extra = f" (it matches {error_hits[i]} ERROR finding(s); ERROR is never waived)"
            notes.append(f"{NOTE_PREFIX}{ref} is unused: it matched no failing finding{extra}")
        else:
            left = (date.fromisoformat(waiver.expires) - today).days
            if left <= EXPIRING_SOON_DAYS:
                notes.append(f"{NOTE_PREFIX}{ref} expires in {left} day(s) on {waiver.expires} (owner {waiver.owner})")
    return replace(result, findings=tuple(findings), notes=tuple(notes))
