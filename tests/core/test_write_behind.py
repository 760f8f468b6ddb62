"""Atomic writes whose system calls run in a second thread (`scanner.fileio._write_behind`).

A real file system, real `writev`/`fsync`, and a real write failure (the file-size limit of a
child process, which makes the kernel refuse writes with EFBIG as a full disk refuses with
ENOSPC); nothing is mocked. The batch sizes are lowered so that a few kilobytes go through many
batches, a full queue and a data sync every few batches.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner import fileio


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fileio, "_BATCH_BYTES", 64)
    monkeypatch.setattr(fileio, "_BATCH_PIECES", 3)
    monkeypatch.setattr(fileio, "_QUEUED_BATCHES", 1)
    monkeypatch.setattr(fileio, "_SYNC_BYTES", 100)  # a real fdatasync every few batches


def _chunks(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 7, 50, 300)))) for _ in range(count)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_byte_in_order_through_many_batches(tmp_path: Path, small_batches: None, seed: int) -> None:
    chunks = _chunks(2_000, seed)
    target = tmp_path / "out.bin"
    fileio.write_atomic(target, iter(chunks))
    assert target.read_bytes() == b"".join(chunks)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_text_is_written_as_utf8(tmp_path: Path, small_batches: None) -> None:
    target = tmp_path / "out.txt"
    fileio.write_atomic(target, "grüße\n" * 100)
    assert target.read_text(encoding="utf-8") == "grüße\n" * 100


def test_a_failing_producer_leaves_no_file(tmp_path: Path, small_batches: None) -> None:
    def produce() -> Iterator[bytes]:
        yield from _chunks(500, 4)
        raise RuntimeError("reporter bug")

    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError, match="reporter bug"):
        fileio.write_atomic(target, produce())
    assert list(tmp_path.iterdir()) == []


def test_a_refused_write_stops_the_producer_and_is_raised(tmp_path: Path) -> None:
    """The kernel refuses writes beyond the child's 1 MiB file-size limit: the write's OSError
    reaches the caller, nothing is left behind, and the producer is not drained to its end."""
    script = textwrap.dedent(
        f"""
        import errno, resource, signal, sys
        from pathlib import Path
        from scanner import fileio
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        made = []
        def produce():
            for _ in range(4000):  # 4000 MiB if nothing stopped it
                made.append(1)
                yield b"x" * (1 << 20)
        try:
            fileio.write_atomic(Path({str(tmp_path / "big.bin")!r}), produce())
        except OSError as exc:
            print(errno.errorcode[exc.errno], len(made))
            sys.exit(0)
        print("no error")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 0, done.stderr
    code, made = done.stdout.split()
    assert code == "EFBIG"
    assert int(made) < 100  # stopped within a few batches of the refusal
    assert list(tmp_path.iterdir()) == []
