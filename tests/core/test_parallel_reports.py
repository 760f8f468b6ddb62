"""Report files written by worker processes (`--workers`): the same files, messages and errors as with one.

Every test compares against `workers=1`, the path that writes the reports one after the other
in this process, as before.
"""

from __future__ import annotations

import os
import signal
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner import cli
from scanner.errors import ConfigError
from scanner.interface import Reporter, ReportOptions
from scanner.model import ScanResult
from scanner.plugins import Registry
from tests.reporters.golden_cases import REPORTERS, cases

_CASES = dict(cases())
_PARENT = os.getpid()
_FILES = {"json": "r.json", "sarif": "r.sarif", "junit": "r.xml", "wazuh": "r.wazuh"}


@pytest.fixture(autouse=True)
def _room_for_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """However large the test process has grown, the workers asked for are started (see the budget test)."""
    monkeypatch.setattr(cli, "REPORT_MEMORY_BUDGET", 1 << 50)


def _in_child() -> bool:
    return os.getpid() != _PARENT


class _Warns(Reporter):
    """Writes its name and warns twice, as SARIF does at GitHub's limits."""

    def __init__(self, name: str) -> None:
        self.name = name

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Two warnings naming the report, then a line."""
        warnings.warn(UserWarning(f"{self.name}: first"), stacklevel=2)
        warnings.warn(UserWarning(f"{self.name}: second"), stacklevel=2)
        return f"{self.name} {len(result.findings)}\n"


class _DiesInChild(Reporter):
    """Killed (SIGKILL, no cleanup) midway through its file when it runs in a worker process."""

    name = "dies"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """The whole text."""
        return "".join(f"line {i}\n" for i in range(1000))

    def chunks(self, result: ScanResult, options: ReportOptions) -> Iterable[bytes]:
        """Half the file, then death in a child."""
        yield self.render(result, options)[:3000].encode()
        if _in_child():
            os.kill(os.getpid(), signal.SIGKILL)
        yield self.render(result, options)[3000:].encode()


class _BugInChild(Reporter):
    """Raises (a reporter's bug) when it runs in a worker process only."""

    name = "bug"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """A line, or a bug in a child."""
        if _in_child():
            raise RuntimeError("only in the child")
        return "fine\n"


class _AlwaysBug(Reporter):
    """Raises wherever it runs, after a warning."""

    name = "alwaysbug"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """A warning, then a bug."""
        warnings.warn(UserWarning("alwaysbug: about to fail"), stacklevel=2)
        raise RuntimeError("a reporter bug")


class _DiskFull(Reporter):
    """Fails with ENOSPC after a first chunk (in any process), after a warning."""

    name = "full"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Never complete."""
        raise AssertionError("not used")

    def chunks(self, result: ScanResult, options: ReportOptions) -> Iterator[bytes]:
        """One chunk, then no space left."""
        warnings.warn(UserWarning("full: warned before failing"), stacklevel=2)
        yield b"x" * 100_000
        raise OSError(28, "No space left on device")


def _registry(*extra: Reporter) -> Registry:
    reporters: dict[str, Reporter] = dict(REPORTERS)
    reporters.update({r.name: r for r in extra})
    return Registry(reporters=reporters)


def _write(
    result: ScanResult,
    out: Path,
    names: list[str],
    workers: int,
    registry: Registry,
    capsys: pytest.CaptureFixture[str],
    options: ReportOptions | None = None,
) -> tuple[dict[str, bytes], str, str]:
    """Write `names` into `out` with `workers`; the files written, stdout and stderr."""
    out.mkdir()
    specs = [cli.OutputSpec(n, out / _FILES.get(n, f"r.{n}")) for n in names]
    capsys.readouterr()
    cli.write_outputs(result, specs, registry, options or ReportOptions(verdict="PASS"), workers=workers)
    captured = capsys.readouterr()
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}, captured.out, captured.err


@pytest.mark.parametrize("case", sorted(_CASES))
@pytest.mark.parametrize("workers", [2, 3, 4])
def test_report_files_are_byte_identical_whatever_the_worker_count(
    case: str, workers: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # SARIF paths are relative to the working directory
    names = ["json", "sarif", "junit", "wazuh"]
    registry = _registry()
    one = _write(_CASES[case], tmp_path / "one", names, 1, registry, capsys)
    many = _write(_CASES[case], tmp_path / "many", names, workers, registry, capsys)
    assert sorted(one[0]) == sorted(_FILES.values())  # every report, and no temporary file left
    assert many == one  # files, the console summary on stdout, warnings on stderr


def test_options_reach_the_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = ReportOptions(full=True, changes_only=True, verdict="FAIL (exit 1)")
    result = _CASES["fixture"]
    one = _write(result, tmp_path / "one", ["sarif", "wazuh", "junit"], 1, _registry(), capsys, options)
    many = _write(result, tmp_path / "many", ["sarif", "wazuh", "junit"], 2, _registry(), capsys, options)
    assert many == one
    plain = _write(result, tmp_path / "plain", ["sarif", "wazuh", "junit"], 2, _registry(), capsys)
    assert plain[0] != one[0]  # the options make a difference, so the comparison above means something


def test_the_work_is_split_over_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []
    original = cli.WorkerProcess

    def counting(function: Any, *args: Any, **kwargs: Any) -> Any:
        started.append([spec.name for spec in args[1]])
        return original(function, *args, **kwargs)

    monkeypatch.setattr(cli, "WorkerProcess", counting)
    _write(_CASES["fixture"], tmp_path / "two", ["json", "sarif", "junit", "wazuh"], 2, _registry(), capsys)
    assert started == [["sarif", "junit"]]  # 4.0; the parent writes json and wazuh (3.4) itself
    started.clear()
    _write(_CASES["fixture"], tmp_path / "four", ["json", "sarif", "junit", "wazuh"], 4, _registry(), capsys)
    assert started == [["junit"], ["wazuh"], ["json"]]  # the parent writes SARIF, the cheapest
    started.clear()
    _write(_CASES["fixture"], tmp_path / "one", ["json", "sarif", "junit", "wazuh"], 1, _registry(), capsys)
    _write(_CASES["fixture"], tmp_path / "single", ["json"], 4, _registry(), capsys)
    assert started == []  # --workers 1, or a single report file: no process is started


def test_groups_balance_the_expected_cost() -> None:
    def named(*names: str) -> list[cli.OutputSpec]:
        return [cli.OutputSpec(n, Path(f"/x/{i}")) for i, n in enumerate(names)]

    specs = named("json", "sarif", "junit", "wazuh")
    assert cli.report_groups(specs, 2) == [[1, 2], [0, 3]]  # sarif+junit (4.0), json+wazuh (3.4)
    assert cli.report_groups(specs, 1) == [[0, 1, 2, 3]]
    assert cli.report_groups(specs, 8) == [[2], [3], [0], [1]]
    assert cli.report_groups(named("sarif", "sarif", "sarif", "junit"), 2) == [[3], [0, 1, 2]]
    assert cli.report_groups(named("sarif", "sarif", "sarif", "sarif", "junit"), 2) == [[3, 4], [0, 1, 2]]
    for count in range(1, 6):
        groups = cli.report_groups(specs, count)
        assert sorted(i for g in groups for i in g) == [0, 1, 2, 3]
        assert all(g == sorted(g) for g in groups)


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_warnings_are_relayed_in_the_order_of_one_process(
    workers: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = _registry(*(_Warns(n) for n in ("w1", "w2", "w3", "w4")))
    names = ["w3", "w1", "junit", "w4", "w2"]
    one = _write(_CASES["fixture"], tmp_path / "one", names, 1, registry, capsys)
    many = _write(_CASES["fixture"], tmp_path / "many", names, workers, registry, capsys)
    expected = [f"sovscan: warning: {n}: {w}" for n in ("w3", "w1", "w4", "w2") for w in ("first", "second")]
    assert one[2].splitlines() == expected
    assert many == one


def test_sarif_limit_warning_is_relayed_from_a_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reporters import sarif

    monkeypatch.chdir(tmp_path)
    # GitHub's 25,000 results, lowered to 2 for the fixture (inherited by the forked worker)
    monkeypatch.setitem(sarif._prepare.__kwdefaults__, "max_results", 2)
    many_failures = _CASES["fixture"]
    names = ["junit", "json", "sarif", "wazuh"]  # SARIF goes to the worker
    one = _write(many_failures, tmp_path / "one", names, 1, _registry(), capsys)
    many = _write(many_failures, tmp_path / "many", names, 2, _registry(), capsys)
    assert one[2].startswith("sovscan: warning: sarif:")
    assert many == one


def _error_of(
    result: ScanResult, out: Path, names: list[str], workers: int, registry: Registry, capsys: Any
) -> tuple[str, str, list[str]]:
    out.mkdir()
    specs = [cli.OutputSpec(n, out / _FILES.get(n, f"r.{n}")) for n in names]
    capsys.readouterr()
    with pytest.raises(ConfigError) as raised:
        cli.write_outputs(result, specs, registry, ReportOptions(), workers=workers)
    return str(raised.value), capsys.readouterr().err, sorted(p.name for p in out.iterdir())


@pytest.mark.parametrize("position", [0, 1, 3])
def test_a_report_that_cannot_be_written_is_the_same_error(
    position: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ["w1", "json", "w2", "junit"]
    names.insert(position, "full")
    registry = _registry(_Warns("w1"), _Warns("w2"), _DiskFull())
    message, err, left = _error_of(_CASES["fixture"], tmp_path / "one", names, 1, registry, capsys)
    assert message == f"{tmp_path / 'one' / 'r.full'}: cannot write the full report: No space left on device"
    for workers in (2, 3, 5):
        got = _error_of(_CASES["fixture"], tmp_path / f"many{workers}", names, workers, registry, capsys)
        assert got[0] == message.replace("/one/", f"/many{workers}/")
        assert got[1] == err  # the warnings of the reports before it, its own, then nothing more
        assert "r.full" not in got[2]
        assert not [n for n in got[2] if n.endswith(".tmp")]  # no partial file left behind
    assert "r.full" not in left


def test_an_unwritable_path_is_the_same_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("not a directory")
    results = []
    for workers in (1, 2, 4):
        out = tmp_path / f"w{workers}"
        out.mkdir()
        # the third report goes to a worker with 2 or 4 processes: its temporary file cannot be made
        specs = [
            cli.OutputSpec("json", out / "r.json"),
            cli.OutputSpec("sarif", out / "r.sarif"),
            cli.OutputSpec("wazuh", tmp_path / "file" / f"r{workers}.wazuh"),
            cli.OutputSpec("junit", out / "r.xml"),
        ]
        with pytest.raises(ConfigError) as raised:
            cli.write_outputs(_CASES["fixture"], specs, _registry(), ReportOptions(), workers=workers)
        results.append((str(raised.value).replace(f"r{workers}.", "r."), capsys.readouterr().err))
    assert results[0][0] == f"{tmp_path / 'file' / 'r.wazuh'}: cannot write the wazuh report: File exists"
    assert results[1] == results[0]
    assert results[2] == results[0]


def test_a_symlink_is_refused_the_same_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        out.mkdir()
        (out / "r.wazuh").symlink_to(tmp_path / "elsewhere")
        specs = [cli.OutputSpec(n, out / f) for n, f in _FILES.items()]
        with pytest.raises(ConfigError) as raised:
            cli.write_outputs(_CASES["fixture"], specs, _registry(), ReportOptions(), workers=workers)
        found.append(str(raised.value).replace(f"/w{workers}/", "/"))
        assert not (tmp_path / "elsewhere").exists()
    assert found[0] == found[1]
    assert "is a symbolic link" in found[0]


@pytest.mark.parametrize("workers", [2, 4])
def test_a_worker_that_dies_midway_has_its_report_written_here(
    workers: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = _registry(_DiesInChild())
    names = ["junit", "dies", "json", "sarif"]
    one = _write(_CASES["fixture"], tmp_path / "one", names, 1, registry, capsys)
    many = _write(_CASES["fixture"], tmp_path / "many", names, workers, registry, capsys)
    assert one[0]["r.dies"] == "".join(f"line {i}\n" for i in range(1000)).encode()
    assert many == one  # every report complete, and no temporary file of the dead worker left


def test_a_worker_that_raises_has_its_report_written_here(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = _registry(_BugInChild(), _Warns("w1"))
    names = ["junit", "bug", "w1", "json"]
    one = _write(_CASES["fixture"], tmp_path / "one", names, 1, registry, capsys)
    many = _write(_CASES["fixture"], tmp_path / "many", names, 2, registry, capsys)
    assert one[0]["r.bug"] == b"fine\n"
    assert many == one


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_reporter_bug_is_raised_as_with_one_process(
    workers: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = _registry(_AlwaysBug(), _Warns("w1"), _Warns("w2"))
    out = tmp_path / "out"
    out.mkdir()
    specs = [cli.OutputSpec(n, out / f"r.{n}") for n in ("w1", "junit", "alwaysbug", "w2")]
    with pytest.raises(RuntimeError, match="a reporter bug"):
        cli.write_outputs(_CASES["fixture"], specs, registry, ReportOptions(), workers=workers)
    assert capsys.readouterr().err.splitlines() == [
        "sovscan: warning: w1: first",
        "sovscan: warning: w1: second",
        "sovscan: warning: alwaysbug: about to fail",
    ]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp") or p.name == "r.alwaysbug"]


def test_a_stream_output_is_written_by_this_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # /dev/null is a character device: written through, never replaced, and not by a worker
    started: list[Path] = []
    original = cli.WorkerProcess

    def counting(function: Any, *args: Any, **kwargs: Any) -> Any:
        started.extend(spec.path for spec in args[1])
        return original(function, *args, **kwargs)

    specs = [cli.OutputSpec("junit", Path(os.devnull)), cli.OutputSpec("wazuh", tmp_path / "r.wazuh")]
    specs.append(cli.OutputSpec("junit", tmp_path / "r.xml"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "WorkerProcess", counting)
        cli.write_outputs(_CASES["fixture"], specs, _registry(), ReportOptions(), workers=3)
    # three groups, the two JUnit reports the heaviest: the worker of the one to /dev/null is not started
    assert started == [tmp_path / "r.xml"]
    assert (tmp_path / "r.xml").read_bytes() == b"".join(REPORTERS["junit"].chunks(_CASES["fixture"], ReportOptions()))


def test_scan_exit_code_and_messages_do_not_depend_on_the_worker_count(run_process: Any, tmp_path: Path) -> None:
    from tests.core.test_scan import target

    runs = []
    for workers in ("1", "2"):
        out = tmp_path / workers
        args = ["scan", "--no-progress", "--workers", workers, "--target", target("bad")]
        args += ["-f", f"json={out / 'r.json'}", "-f", f"junit={out / 'r.xml'}", "-f", f"warny={out / 'r.txt'}"]
        proc = run_process(*args)
        files = sorted(p.name for p in out.iterdir())
        runs.append((proc.returncode, proc.stderr, len(proc.stdout.splitlines()), files, (out / "r.txt").read_text()))
    assert runs[0][0] == 1  # the gate's verdict
    assert "warny: 2 results left out" in runs[0][1]
    assert runs[1] == runs[0]


def test_write_outputs_defaults_to_the_cpu_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    counts: list[int] = []
    original = cli._write_in_workers

    def spy(result: ScanResult, files: Any, registry: Registry, options: ReportOptions, count: int) -> None:
        counts.append(count)
        original(result, files, registry, options, count)

    monkeypatch.setattr(cli, "_write_in_workers", spy)
    monkeypatch.setattr(cli, "default_workers", lambda: 3)
    specs = [cli.OutputSpec(n, tmp_path / f) for n, f in _FILES.items()]
    cli.write_outputs(_CASES["fixture"], specs, _registry(), ReportOptions())
    assert counts == [3]
    cli.write_outputs(_CASES["fixture"], specs[:2], _registry(), ReportOptions())
    assert counts == [3, 2]  # no more processes than report files


def test_only_the_workers_that_fit_in_the_memory_budget_are_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mib = 2**20
    monkeypatch.setattr(cli, "REPORT_MEMORY_BUDGET", 600 * mib)
    # the 100k scan: 444 MiB resident when the reports start, 243,323 findings (~238 MiB copied per worker)
    assert cli.report_workers_that_fit(243_323, 444 * mib, 1) == 0
    assert cli.report_workers_that_fit(47_948, 150 * mib, 1) == 1  # the 20k scan: ~47 MiB per worker
    assert cli.report_workers_that_fit(47_948, 150 * mib, 3) == 3
    assert cli.report_workers_that_fit(100_000, 300 * mib, 3) == 3
    assert cli.report_workers_that_fit(200_000, 300 * mib, 3) == 1
    assert cli.report_workers_that_fit(10, 700 * mib, 3) == 0  # already over
    assert cli.report_workers_that_fit(10, None, 2) == 2  # unknown resident memory (not Linux)

    started: list[list[str]] = []
    original = cli.WorkerProcess

    def counting(function: Any, *args: Any, **kwargs: Any) -> Any:
        started.append([spec.name for spec in args[1]])
        return original(function, *args, **kwargs)

    monkeypatch.setattr(cli, "WorkerProcess", counting)
    names = ["json", "sarif", "junit", "wazuh"]
    monkeypatch.setattr(cli, "_resident_bytes", lambda: 600 * mib)  # no room: written here, as with one
    one = _write(_CASES["fixture"], tmp_path / "one", names, 1, _registry(), capsys)
    assert _write(_CASES["fixture"], tmp_path / "full", names, 4, _registry(), capsys) == one
    assert started == []
    monkeypatch.setattr(cli, "COPY_PER_FINDING", 60 * mib // len(_CASES["fixture"].findings))
    monkeypatch.setattr(cli, "_resident_bytes", lambda: 470 * mib)  # room for two workers of ~60 MiB
    assert _write(_CASES["fixture"], tmp_path / "two", names, 4, _registry(), capsys) == one
    assert started == [["junit"], ["json", "sarif"]]  # three groups: two workers, and wazuh here
    assert cli._resident_bytes() is None or cli._resident_bytes() > 0


def test_no_report_worker_is_forked_while_an_abandoned_collector_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collector thread left running at its timeout may hold a lock a forked child would wait for
    forever: while one runs, the reports are written in this process, the same bytes."""
    from scanner import engine
    from tests.core.test_engine import odd, registry_with

    started: list[list[str]] = []
    original = cli.WorkerProcess

    def counting(function: Any, *args: Any, **kwargs: Any) -> Any:
        started.append([spec.name for spec in args[1]])
        return original(function, *args, **kwargs)

    monkeypatch.setattr(cli, "WorkerProcess", counting)
    names = ["json", "sarif", "junit", "wazuh"]
    one = _write(_CASES["fixture"], tmp_path / "one", names, 1, _registry(), capsys)
    release = threading.Event()

    def hang(target: Any) -> Any:
        release.wait(30)
        raise RuntimeError("released")

    odd_registry, library = registry_with(tmp_path, {"hang": hang})
    try:
        scanned = engine.run_scan(odd("hang"), odd_registry, library, timeout=0.2)
        assert scanned.targets[0].error == "timed out: collection did not finish within 0.2s"
        assert engine.abandoned_collectors() == 1
        assert _write(_CASES["fixture"], tmp_path / "busy", names, 2, _registry(), capsys) == one
        assert started == []
    finally:
        release.set()
    for _ in range(300):
        if not engine.abandoned_collectors():
            break
        threading.Event().wait(0.01)
    assert engine.abandoned_collectors() == 0
    assert _write(_CASES["fixture"], tmp_path / "alone", names, 2, _registry(), capsys) == one
    assert started == [["sarif", "junit"]]  # the same call forks once the collector has ended
