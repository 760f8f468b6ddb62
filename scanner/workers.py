"""Run one function call in a worker process, so CPU-bound collection uses every core.

Collection runs in threads under the GIL: two offline targets (manifest files, dumps) took the
sum of their times, not the longer one. A `WorkerProcess` forks the running scan (so the
registry, the plan and every loaded plugin are inherited, nothing is pickled on the way in),
calls the function in the child, and brings back only its result, pickled through a pipe: the
slim evidence and the findings of one target. A child that hangs is killed at its deadline,
which a thread could never be.
"""

from __future__ import annotations

import contextlib
import contextvars
import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

_CONTEXT = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None


def available() -> bool:
    """Whether worker processes can be used here (they need `fork`: Linux, BSD, macOS)."""
    return _CONTEXT is not None


def default_workers() -> int:
    """The CPUs this process may run on (the default of `--workers`)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


EXIT_GRACE = 10.0
"""Seconds a worker that has sent its answer gets to end before it is killed."""

_ALLOWANCE: contextvars.ContextVar[tuple[int, float | None]] = contextvars.ContextVar(
    "sovscan_process_allowance", default=(1, None)
)


def allowance() -> int:
    """How many processes the collection running here may use (itself included): 1 unless the engine
    said more with `allowing` (a single CPU-bound target read in the scanning process), and always 1
    inside a worker process."""
    return _ALLOWANCE.get()[0]


def allowance_deadline() -> float | None:
    """The `time.monotonic()` by which helper processes of this collection must have answered (None: no limit)."""
    return _ALLOWANCE.get()[1]


@contextlib.contextmanager
def allowing(processes: int, deadline: float | None = None) -> Iterator[None]:
    """Let the collection run inside the block (in this thread) use up to `processes` processes until `deadline`."""
    token = _ALLOWANCE.set((max(1, processes) if available() else 1, deadline))
    try:
        yield
    finally:
        _ALLOWANCE.reset(token)


class WorkerFailed(Exception):
    """The worker process raised, could not send its result, or died without one."""


def _child(send: Connection, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    _ALLOWANCE.set((1, None))  # a worker is one of the processes: it never forks helpers of its own
    try:
        value: tuple[str, Any] = ("ok", function(*args))
    except BaseException as exc:  # whatever happens in the child is reported to the parent
        value = ("error", f"{type(exc).__name__}: {exc}")
    try:
        send.send_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as exc:  # e.g. a result that cannot be pickled
        send.send_bytes(pickle.dumps(("error", f"result not transferable: {type(exc).__name__}: {exc}")))
    finally:
        send.close()


class WorkerProcess:
    """`function(*args)` running in a forked child; `wait` for it, `result` to read it, `abandon` to kill it."""

    def __init__(self, function: Callable[..., Any], *args: Any, name: str = "sovscan-worker") -> None:
        if _CONTEXT is None:  # pragma: no cover - depends on the platform
            raise RuntimeError("worker processes need the fork start method")
        self._receive, send = _CONTEXT.Pipe(duplex=False)
        self._process = _CONTEXT.Process(target=_child, args=(send, function, args), name=name, daemon=True)
        self._process.start()
        send.close()  # the child holds the only writing end: its death ends the pipe
        self._outcome: tuple[str, Any] | None = None

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds; True once the child has answered (or died)."""
        if self._outcome is not None:
            return True
        if not self._receive.poll(timeout):
            return False
        try:
            self._outcome = pickle.loads(self._receive.recv_bytes())  # noqa: S301 - our own child's answer
        except (EOFError, OSError):
            self._process.join(1.0)
            self._outcome = ("error", f"worker process ended without a result (exit code {self._process.exitcode})")
        self._receive.close()
        self._process.join(EXIT_GRACE)
        if self._process.is_alive():  # answered but does not end (e.g. a lock held at fork time): its answer is in
            self._process.kill()
            self._process.join()
        return True

    def result(self) -> Any:
        """The function's return value; WorkerFailed with the reason if it raised or died."""
        if self._outcome is None:
            raise WorkerFailed("worker process has not finished")
        state, value = self._outcome
        if state != "ok":
            raise WorkerFailed(str(value))
        return value

    def abandon(self) -> None:
        """Kill the child (it missed its deadline) and release its resources."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._receive.close()
