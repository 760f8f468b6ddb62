"""Fixtures of the fuzz suite: a fixed hypothesis profile and a memory-bounded sovscan subprocess.

Hypothesis runs derandomized (the same examples on every run, so CI is stable), without an
example database, with a bounded number of examples and a per-example deadline.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).parents[2]

settings.register_profile(
    "sovscan-fuzz",
    max_examples=40,
    deadline=30_000,  # ms per example: a reader that hangs on an input fails; generous for a loaded CI machine
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("sovscan-fuzz")

MEMORY_LIMIT = 1 << 30
"""Address space a sovscan subprocess of this suite may use (1 GiB): an alias bomb must stay below it."""

Runner = Callable[..., subprocess.CompletedProcess[str]]


def _limit_memory() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.fixture
def sovscan() -> Runner:
    """Run the sovscan CLI in a subprocess limited to MEMORY_LIMIT bytes and 120 s; returns the process."""

    def invoke(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("SOVSCAN_DEBUG", None)
        return subprocess.run(
            [sys.executable, "-c", "from scanner.cli import main; main()", *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=120,
            preexec_fn=_limit_memory,  # no threads are started before the fork here
        )

    return invoke


def assert_clean_failure(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    """The process exited with `code`, printed no traceback, and its stderr holds every needle."""
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-2000:]
    assert "internal error" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:], proc.stdout[-2000:])
    for needle in needles:
        assert needle in proc.stderr + proc.stdout, (needle, proc.stderr[-2000:], proc.stdout[-2000:])
