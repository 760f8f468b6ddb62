"""File I/O shared by the CLI and the engine: atomic writes, JSON reads whose errors name the file."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from scanner.errors import ConfigError


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomic(path: Path, text: str, *, private: bool = False) -> None:
    """Write `text` to `path` via a temporary file in the same directory and a rename.

    Reports get the usual permissions (0666 less the umask); `private` files (evidence) are 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600 if private else 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def unwritable(path: Path, *, directory: bool = False) -> str | None:
    """Why `path` cannot be written (as a file, or with `directory` as a directory to write into), else None.

    Checked before a scan, so a typo in an output path is a usage error rather than a scan thrown
    away at the end.
    """
    if path.exists():
        if directory and not path.is_dir():
            return "exists and is not a directory"
        if not directory and path.is_dir():
            return "is a directory"
    nearest = path if directory else path.parent
    while not nearest.exists() and nearest != nearest.parent:
        nearest = nearest.parent
    if not nearest.is_dir():
        return f"{nearest} is not a directory"
    if not os.access(nearest, os.W_OK | os.X_OK):
        return f"{nearest} is not writable"
    return None


class _NotJson(ValueError):
    """NaN or Infinity: accepted by Python's json module, but not JSON."""


def _no_constant(name: str) -> Any:
    raise _NotJson(name)


_CONSTANT = re.compile(r"(?<![\w\"])(?:NaN|-?Infinity)(?![\w\"])")


def decode_json(raw: bytes, path: Path | str) -> Any:
    """Parse JSON bytes read from `path`; a ConfigError naming file:line for anything that is not JSON.

    Not UTF-8, malformed, NaN/Infinity (Python would accept them; no JSON reader does, and they
    must never reach a written result), or nested deeper than the parser can follow.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("file is not UTF-8 text", str(path)) from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", f"{path}:{exc.lineno}") from None
    except _NotJson as exc:
        found = _CONSTANT.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else 1
        raise ConfigError(f"invalid JSON: {exc} is not a JSON number", f"{path}:{line}") from None
    except RecursionError:
        raise ConfigError("invalid JSON: nested too deeply", str(path)) from None


def read_json(path: Path | str, what: str) -> Any:
    """Read a JSON file (`what` names it in messages); every failure is a ConfigError naming the file."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror or exc}", str(path)) from None
    return decode_json(raw, path)
