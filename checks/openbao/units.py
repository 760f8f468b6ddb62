"""Small value parsers shared by the OpenBao checks: Go-style durations and version numbers."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str | int | float) -> float:
    """Seconds in a duration: a number of seconds, or Go-style text such as `24h`, `1h30m`, `90s`.

    Raises ValueError for anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total = 0.0
    position = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            raise ValueError(f"not a duration: {value!r}")
        total += float(match.group(1)) * _SECONDS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ValueError(f"not a duration: {value!r}")
    return total


def format_duration(seconds: float) -> str:
    """Render seconds the way OpenBao operators write them (`768h`, `1h30m`, `45s`)."""
    whole = int(seconds)
    if whole == 0:
        return "0s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts)


def parse_version(text: str) -> tuple[int, ...]:
    """The numeric part of a version (`2.7.2+ent`, `v2.5.0-beta` -> (2, 7, 2) / (2, 5, 0)).

    Raises ValueError when no number can be read.
    """
    match = re.match(r"v?(\d+(?:\.\d+)*)", text.strip())
    if not match:
        raise ValueError(f"not a version: {text!r}")
    return tuple(int(part) for part in match.group(1).split("."))


def is_prerelease(text: str) -> bool:
    """True for a pre-release (`2.5.0-beta1`, `2.5.0-rc.2`); build metadata (`+hsm`) is not one."""
    match = re.match(r"v?\d+(?:\.\d+)*-([0-9A-Za-z.-]+)", text.strip())
    return match is not None


def version_at_least(observed: str, minimum: str) -> bool:
    """True when `observed` >= `minimum` (missing components count as 0).

    A pre-release comes before its release (semantic versioning): `2.5.0-rc1` is older than `2.5.0`.
    """
    left, right = parse_version(observed), parse_version(minimum)
    width = max(len(left), len(right))
    left, right = left + (0,) * (width - len(left)), right + (0,) * (width - len(right))
    if left == right and is_prerelease(observed) and not is_prerelease(minimum):
        return False
    return left >= right
