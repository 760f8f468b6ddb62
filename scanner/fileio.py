"""File I/O shared by the CLI and the engine: atomic writes, JSON reads whose errors name the file."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import stat
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from scanner.errors import ConfigError


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _write_all(handle: BinaryIO, content: str | Iterable[bytes]) -> None:
    """Write text (as UTF-8) or a sequence of byte chunks, one chunk at a time."""
    if isinstance(content, str):
        handle.write(content.encode())
        return
    for chunk in content:
        handle.write(chunk)


_BATCH_BYTES = 4 << 20
"""Bytes of chunks collected before they are handed to the writing thread (one `writev`)."""
_BATCH_PIECES = 512
"""At most this many chunks per `writev` (the system's IOV_MAX is at least 1024)."""
_QUEUED_BATCHES = 4
"""Batches waiting for the writing thread at most: the memory write-behind may hold is bounded."""
_SYNC_BYTES = 32 << 20
"""Bytes the writing thread writes between two `fdatasync` calls: the disk is kept busy while the report
is produced, so the final `fsync` waits only for the last few megabytes (measured: 0.29-0.38 s for a
250-330 MB report flushed only at the end, the system starting no writeback before gigabytes are dirty)."""
_datasync = getattr(os, "fdatasync", os.fsync)
"""`fdatasync` where the system has it (not macOS), else `fsync`."""


def _write_fd(fd: int, pieces: list[bytes]) -> int:
    """Write every byte of `pieces` to `fd` (one `writev`, then whatever a short write left); return their size."""
    done = os.writev(fd, pieces)
    total = sum(len(p) for p in pieces)
    if done < total:  # a short write (rare for a regular file): the rest, byte-exact
        rest = memoryview(b"".join(pieces))[done:]
        while rest:
            rest = rest[os.write(fd, rest) :]
    return total


def _write_behind(fd: int, content: str | Iterable[bytes]) -> None:
    """Write `content` to the regular file `fd` and fsync it, the system calls in a second thread.

    `write()` and `fsync()` release the GIL, so the kernel's copying into the page cache (about a
    second for the 800 MB of a 100k-object scan's four reports) and the flush to disk overlap with
    the reporter producing the next chunks instead of following them. At most `_QUEUED_BATCHES`
    batches wait, so memory stays bounded. A failed write (a full disk) stops the producer and is
    raised here, as a synchronous write would have raised it; a failing producer lets the writer
    finish and is raised as it was.
    """
    if isinstance(content, str):
        content = (content.encode(),)
    batches: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=_QUEUED_BATCHES)
    failure: list[BaseException] = []

    def writer() -> None:
        try:
            unsynced = 0
            while (batch := batches.get()) is not None:
                unsynced += _write_fd(fd, batch)
                if unsynced >= _SYNC_BYTES:
                    _datasync(fd)
                    unsynced = 0
            os.fsync(fd)
        except BaseException as exc:  # re-raised in the producing thread
            failure.append(exc)
            while batches.get() is not None:  # keep the producer from blocking on a full queue
                pass

    thread = threading.Thread(target=writer, name="sovscan-write-behind", daemon=True)
    thread.start()
    try:
        pending: list[bytes] = []
        size = 0
        for chunk in content:
            if not chunk:
                continue
            pending.append(chunk)
            size += len(chunk)
            if size >= _BATCH_BYTES or len(pending) >= _BATCH_PIECES:
                if failure:
                    break
                batches.put(pending)
                pending, size = [], 0
        if pending and not failure:
            batches.put(pending)
    finally:
        batches.put(None)
        thread.join()
    if failure:
        raise failure[0]


def reserve_temporary(path: Path, *, private: bool = False) -> tuple[int, Path]:
    """Create the temporary file through which `write_atomic` writes `path`: its open descriptor and its name.

    A process that has a report written by a worker process reserves it first: if the worker dies
    midway, the parent knows the name and removes the partial file (`discard_temporary`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600 if private else 0o666 & ~_umask())
    except BaseException:
        discard_temporary((fd, Path(tmp)))
        raise
    return fd, Path(tmp)


def discard_temporary(reserved: tuple[int, Path]) -> None:
    """Close this process's descriptor of a reserved temporary file and remove it if it is still there."""
    fd, tmp = reserved
    with contextlib.suppress(OSError):
        os.close(fd)
    tmp.unlink(missing_ok=True)


def write_atomic(
    path: Path, text: str | Iterable[bytes], *, private: bool = False, reserved: tuple[int, Path] | None = None
) -> None:
    """Write `text` (or UTF-8 chunks, streamed) to `path` via a temporary file in the same directory and a rename.

    Reports get the usual permissions (0666 less the umask); `private` files (evidence) are 0600.
    Nothing appears at `path` until every chunk is written; a failure midway leaves no file behind.
    `reserved`: the temporary file to write through (from `reserve_temporary`), else a new one.
    """
    fd, tmp = reserve_temporary(path, private=private) if reserved is None else reserved
    try:
        try:
            _write_behind(fd, text)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def is_stream(path: Path) -> bool:
    """True when `path` is a character device or a FIFO: written as a stream, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def replace_problem(path: Path) -> str | None:
    """Why an output must not be written to `path` by replacing it (a symlink, a non-regular file), else None."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # nothing there to replace
        return None
    except OSError as exc:
        return f"cannot inspect it: {exc.strerror or exc}"
    if stat.S_ISLNK(mode):
        if is_stream(path):  # e.g. /dev/stdout: written through as a stream, nothing is replaced
            return None
        return "is a symbolic link: sovscan does not replace it (give the real path, or - for standard output)"
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISREG(mode):
        return None
    return "is not a regular file, a character device or a FIFO: sovscan does not replace it"


def write_output(path: Path, text: str | Iterable[bytes], *, reserved: tuple[int, Path] | None = None) -> None:
    """Write a report: a character device or FIFO as a stream, a regular file atomically, nothing else.

    A symlink or another non-regular file is refused (ConfigError): run as root, replacing
    `/dev/null` or a symlink planted in a shared directory would damage the system. `reserved`:
    the temporary file to write a regular file through (`reserve_temporary`); removed if unused.
    """
    problem = replace_problem(path)
    if problem is not None:
        if reserved is not None:
            discard_temporary(reserved)
        raise ConfigError(f"cannot write the report here: {problem}", str(path))
    if is_stream(path):
        if reserved is not None:
            discard_temporary(reserved)
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)  # no O_CREAT, no O_TRUNC: nothing is created or cut
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):  # swapped since the check: refuse
            os.close(fd)
            raise ConfigError("cannot write the report here: it changed into a regular file meanwhile", str(path))
        with os.fdopen(fd, "wb") as handle:
            _write_all(handle, text)
        return
    write_atomic(path, text, reserved=reserved)


def unwritable(path: Path, *, directory: bool = False) -> str | None:
    """Why `path` cannot be written (as a file, or with `directory` as a directory to write into), else None.

    Checked before a scan, so a typo in an output path is a usage error rather than a scan thrown
    away at the end. A report path that is a symlink or a special file other than a character
    device or FIFO is refused here too.
    """
    if not directory:
        problem = replace_problem(path)
        if problem is not None:
            return problem
        if is_stream(path):
            return None if os.access(path, os.W_OK) else "is not writable"
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


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_HIGH_LOW = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _refuse_lone_surrogates(value: Any, text: str, path: Path | str) -> None:
    """A ConfigError if the decoded `value` holds a lone surrogate (an unpaired `\\ud800` escape).

    Python's decoder accepts one; no UTF-8 output can hold it, so a report written from it would
    fail at the end of the scan. sovscan itself never writes one (evidence holds U+FFFD instead)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        paired = {m.start() for m in _HIGH_LOW.finditer(text)} | {m.start() + 6 for m in _HIGH_LOW.finditer(text)}
        lone = next((m.start() for m in _SURROGATE_ESCAPE.finditer(text) if m.start() not in paired), 0)
        line = text.count("\n", 0, lone) + 1
        raise ConfigError("invalid JSON: an unpaired surrogate escape is not Unicode text", f"{path}:{line}") from None


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
        value = json.loads(text, parse_constant=_no_constant)
        if _SURROGATE_ESCAPE.search(text):
            _refuse_lone_surrogates(value, text, path)
        return value
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
