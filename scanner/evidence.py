"""Saving and re-reading evidence (`--save-evidence DIR`, `--evidence DIR`), and redaction."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scanner.errors import ConfigError
from scanner.fileio import write_atomic
from scanner.model import Evidence

FORMAT = "sovscan-evidence"
FORMAT_VERSION = 1
REDACTED = "[REDACTED]"


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """Return `value` with every occurrence of a secret string replaced, recursively.

    Collectors never read secret values on purpose; this is the second line of defence for
    a value echoed back by a server (a connection string in an error message, say).
    """
    needles = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
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
    """Rebuild Evidence (and the target's labels) from a saved document."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ConfigError("not a sovscan evidence file", source)
    if document.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"unsupported evidence format_version {document.get('format_version')!r}", source)
    try:
        target = document["target"]
        evidence = Evidence(
            target=str(target["id"]),
            kind=str(target["kind"]),
            uri=str(target["uri"]),
            sections=dict(document["sections"]),
            errors={str(k): str(v) for k, v in document.get("errors", {}).items()},
            target_error=document.get("target_error"),
            collected_at=str(document.get("collected_at", "")),
            duration=float(document.get("duration", 0.0)),
            tool_version=str(document.get("tool_version", "")),
            metadata=dict(document.get("metadata", {})),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"malformed evidence file: {exc}", source) from None
    return evidence, {str(k): str(v) for k, v in target.get("labels", {}).items()}


def file_name(target_id: str) -> str:
    """A safe, unique file name for a target's evidence."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", target_id).strip("._") or "target"
    digest = hashlib.sha256(target_id.encode()).hexdigest()[:8]
    return f"{safe[:80]}-{digest}.json"


def save(directory: Path, evidence: Evidence, labels: dict[str, str] | None = None) -> Path:
    """Write one target's evidence into `directory`; return the file path."""
    path = directory / file_name(evidence.target)
    document = json.dumps(to_document(evidence, labels), indent=1, sort_keys=True, default=str) + "\n"
    write_atomic(path, document, private=True)
    return path


def load_directory(directory: Path) -> list[tuple[Evidence, dict[str, str]]]:
    """Read every evidence file of a directory, sorted by file name."""
    if not directory.is_dir():
        raise ConfigError("evidence directory does not exist", str(directory))
    loaded = []
    for path in sorted(directory.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read evidence: {exc}", str(path)) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc.msg}", f"{path}:{exc.lineno}") from None
        loaded.append(from_document(document, str(path)))
    if not loaded:
        raise ConfigError("no evidence files (*.json) in directory", str(directory))
    ids = [e.target for e, _ in loaded]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"evidence for target(s) {', '.join(duplicates)} appears more than once", str(directory))
    return loaded
