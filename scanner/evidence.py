"""Saving and re-reading evidence (`--save-evidence DIR`, `--evidence DIR`), and redaction."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import jsonschema

from scanner.baseline import schema
from scanner.errors import ConfigError
from scanner.fileio import decode_json, write_atomic
from scanner.model import Evidence
from scanner.yamlfile import schema_error_text

FORMAT = "sovscan-evidence"
FORMAT_VERSION = 1
REDACTED = "[REDACTED]"
MANIFEST = "SHA256SUMS"
"""The manifest of an evidence directory: `sha256sum` lines, one per target, in scan order."""


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """Return `value` with every occurrence of a secret string replaced, recursively.

    Collectors never read secret values on purpose; this is the second line of defence for
    a value echoed back by a server (a connection string in an error message, say), so the
    percent-encoded forms a URL would carry are replaced too.
    """
    variants = {form for s in secrets if s for form in (s, quote(s, safe=""), quote(s), quote_plus(s))}
    needles = sorted({s for s in variants if len(s) >= 4}, key=len, reverse=True)
    if not needles:
        return value
    pattern = re.compile("|".join(re.escape(n) for n in needles))

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return pattern.sub(REDACTED, item)
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        return item

    return walk(value)


def to_document(evidence: Evidence, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON document of one target's evidence."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool_version": evidence.tool_version,
        "target": {"id": evidence.target, "kind": evidence.kind, "uri": evidence.uri, "labels": labels or {}},
        "collected_at": evidence.collected_at,
        "duration": round(evidence.duration, 3),
        "target_error": evidence.target_error,
        "errors": dict(evidence.errors),
        "metadata": dict(evidence.metadata),
        "sections": dict(evidence.sections),
    }


def from_document(document: Any, source: str) -> tuple[Evidence, dict[str, str]]:
    """Rebuild Evidence (and the target's labels) from a saved document, validated first."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigError("not a sovscan evidence file", source)
    if document.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"unsupported evidence format_version {document.get('format_version')!r}", source)
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema("evidence")).iter_errors(document))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"malformed evidence file: {where}: {schema_error_text(error)}", source)
    target = document["target"]
    evidence = Evidence(
        target=target["id"],
        kind=target["kind"],
        uri=target["uri"],
        sections=document["sections"],
        errors=document.get("errors", {}),
        target_error=document.get("target_error"),
        collected_at=document.get("collected_at", ""),
        duration=float(document.get("duration", 0.0)),
        tool_version=document.get("tool_version", ""),
        metadata=document.get("metadata", {}),
    )
    return evidence, dict(target.get("labels", {}))


def file_name(target_id: str) -> str:
    """A safe, unique file name for a target's evidence."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", target_id).strip("._") or "target"
    digest = hashlib.sha256(target_id.encode()).hexdigest()[:8]
    return f"{safe[:80]}-{digest}.json"


def _text(evidence: Evidence, labels: dict[str, str] | None) -> str:
    return json.dumps(to_document(evidence, labels), indent=1, sort_keys=True, default=str) + "\n"


def save(directory: Path, evidence: Evidence, labels: dict[str, str] | None = None) -> Path:
    """Write one target's evidence into `directory`; return the file path (see `save_all` for a scan)."""
    path = directory / file_name(evidence.target)
    write_atomic(path, _text(evidence, labels), private=True)
    return path


def save_all(directory: Path, items: Sequence[tuple[Evidence, dict[str, str]]]) -> list[Path]:
    """Write the evidence of every target of a scan, then the `SHA256SUMS` manifest listing them in scan order.

    The manifest is written last, so `--evidence` notices files missing (an interrupted save, a
    deleted file), files added or left from another run, and files changed after the scan. It is
    the format of `sha256sum`, so `sha256sum -c SHA256SUMS` checks a directory without sovscan.
    Saving again into the same directory removes the files the previous manifest listed that this
    scan does not write (targets no longer scanned), and nothing else.
    """
    try:
        earlier = {name for name, _, _ in _listed(directory) or []}
    except ConfigError:  # an unreadable old manifest: leave every file alone
        earlier = set()
    lines: list[str] = []
    paths: list[Path] = []
    for evidence, labels in items:
        path = directory / file_name(evidence.target)
        text = _text(evidence, labels)
        write_atomic(path, text, private=True)
        lines.append(f"{hashlib.sha256(text.encode('utf-8')).hexdigest()}  {path.name}\n")
        paths.append(path)
    for name in sorted(earlier - {p.name for p in paths}):
        (directory / name).unlink(missing_ok=True)
    write_atomic(directory / MANIFEST, "".join(lines), private=True)
    return paths


@dataclass(frozen=True)
class SavedEvidence:
    """The evidence of a directory, in scan order."""

    items: tuple[tuple[Evidence, dict[str, str]], ...]
    """(evidence, target labels) per target."""
    notes: tuple[str, ...] = ()
    """What the reader should know (no manifest: completeness and integrity not verified)."""


_MANIFEST_LINE = re.compile(r"^(?P<digest>[0-9a-fA-F]{64}) [ *](?P<name>.+)$")


def _listed(directory: Path) -> list[tuple[str, str, str]] | None:
    """(file name, expected SHA-256, manifest file:line) from SHA256SUMS; None when there is none."""
    manifest = directory / MANIFEST
    if not manifest.exists():
        return None
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the evidence manifest: {exc}", str(manifest)) from None
    listed: list[tuple[str, str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{manifest}:{number}"
        match = _MANIFEST_LINE.match(line)
        name = match.group("name") if match else ""
        if not match or "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".json"):
            raise ConfigError(f"not a line of a {MANIFEST} manifest of evidence files", where)
        if name in {n for n, _, _ in listed}:
            raise ConfigError(f"{name} is listed twice", where)
        listed.append((name, match.group("digest").lower(), where))
    return listed


def _read(path: Path) -> tuple[bytes, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read evidence: {exc.strerror or exc}", str(path)) from None
    return raw, decode_json(raw, path)


def load_directory(directory: Path) -> SavedEvidence:
    """Read the evidence files of a directory, checked against its `SHA256SUMS` manifest.

    With a manifest, every listed file must be there unchanged and every `*.json` file must be
    listed; the order is the manifest's (the scan's). A directory without one (saved by an older
    sovscan, or assembled by hand) is read in file-name order and the result says it was not verified.
    """
    if not directory.is_dir():
        raise ConfigError("evidence directory does not exist", str(directory))
    present = sorted(p.name for p in directory.glob("*.json") if p.is_file())
    listed = _listed(directory)
    loaded: list[tuple[Evidence, dict[str, str]]] = []
    notes: list[str] = []
    if listed is None:
        notes.append(
            f"evidence: {directory} has no {MANIFEST} manifest (saved by an older sovscan, or the save did not "
            "finish): whether files are missing, left from another run or changed was not verified"
        )
        for name in present:
            _, document = _read(directory / name)
            loaded.append(from_document(document, str(directory / name)))
    else:
        unlisted = sorted(set(present) - {name for name, _, _ in listed})
        if unlisted:
            raise ConfigError(
                f"{unlisted[0]} is not listed in {MANIFEST} (left from another run, or added later): remove it, "
                "or save the evidence again into an empty directory",
                str(directory / unlisted[0]),
            )
        for name, digest, where in listed:
            path = directory / name
            if not path.is_file():
                raise ConfigError(f"{name} is listed but missing: the evidence is incomplete", where)
            raw, document = _read(path)
            if hashlib.sha256(raw).hexdigest() != digest:
                raise ConfigError(f"{name} does not match its SHA-256: it changed after it was saved", where)
            loaded.append(from_document(document, str(path)))
    if not loaded:
        raise ConfigError("no evidence files (*.json) in directory", str(directory))
    ids = [e.target for e, _ in loaded]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"evidence for target(s) {', '.join(duplicates)} appears more than once", str(directory))
    return SavedEvidence(tuple(loaded), tuple(notes))
