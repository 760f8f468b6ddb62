"""The `sovscan` command line. Only this module chooses exit codes and prints errors."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import math
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from scanner import __version__, engine, frameworks, lifecycle, resultio
from scanner.baseline import BaselineLibrary
from scanner.credentials import mask_credentials
from scanner.errors import ConfigError, PluginError, SovscanError
from scanner.fileio import is_stream, replace_problem, reserve_temporary, unwritable, write_output
from scanner.gate import ExitCode, evaluate_gate
from scanner.interface import Reporter, ReporterOption, ReportOptions, Target
from scanner.inventory import load_inventory, parse_target_option, shard
from scanner.model import ScanResult, Severity
from scanner.plugins import Registry, discover
from scanner.store import open_store
from scanner.store.history import render_history
from scanner.text import visible
from scanner.waivers import DEFAULT_MAX_DAYS, load_waivers, utc_today
from scanner.workers import WorkerFailed, WorkerProcess, default_workers
from scanner.workers import available as workers_available

F = TypeVar("F", bound=Callable[..., Any])

SEVERITY_CHOICES = [s.value for s in Severity] + ["none"]


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also rejects NaN and infinity (NaN compares false with every bound)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Convert, then refuse values that are not finite."""
        converted = super().convert(value, param, ctx)
        if not math.isfinite(converted):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return converted


def _fail(message: str, code: ExitCode = ExitCode.CONFIG_ERROR) -> NoReturn:
    # last line of defence: a URL password or `password=` value in any message is masked
    click.echo(f"sovscan: error: {visible(mask_credentials(message))}", err=True)
    sys.exit(int(code))


def handle_errors(function: F) -> F:
    """Turn typed errors into one line and an exit code; never show a traceback unless --debug."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (ConfigError, PluginError) as exc:
            _fail(str(exc))
        except SovscanError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            click.echo("sovscan: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # `sovscan explain X | head`: the reader had enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except Exception as exc:
            if os.environ.get("SOVSCAN_DEBUG"):
                traceback.print_exc()
            _fail(
                f"internal error: {type(exc).__name__}: {exc} (set SOVSCAN_DEBUG=1 for the traceback)",
                ExitCode.INTERNAL_ERROR,
            )

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class OutputSpec:
    """One requested output: a format and where to write it (None = standard output)."""

    name: str
    path: Path | None


def parse_outputs(values: Sequence[str], output: str | None, registry: Registry) -> list[OutputSpec]:
    """Parse `-f FORMAT[=PATH]` options (and the `--format json -o FILE` form)."""
    specs: list[OutputSpec] = []
    for value in values:
        name, sep, path = value.partition("=")
        registry.reporter(name)  # raises PluginError naming the known formats
        specs.append(OutputSpec(name, Path(path) if sep and path and path != "-" else None))
    if output is not None:
        unnamed = [s for s in specs if s.path is None]
        if len(unnamed) != 1:
            raise ConfigError("-o/--output needs exactly one --format without a path (e.g. --format json -o out.json)")
        specs[specs.index(unnamed[0])] = OutputSpec(unnamed[0].name, Path(output))
    if sum(1 for s in specs if s.path is None) > 1:
        raise ConfigError("only one output format can go to standard output; give the others a path (-f FORMAT=PATH)")
    paths = [s.path for s in specs if s.path is not None and not is_stream(s.path)]
    if len(paths) != len(set(paths)):
        raise ConfigError("two outputs are written to the same file")
    for target in paths:
        problem = unwritable(target)
        if problem:
            raise ConfigError(f"cannot write the report here: {problem}", str(target))
    return specs


def write_outputs(
    result: ScanResult,
    specs: Sequence[OutputSpec],
    registry: Registry,
    options: ReportOptions,
    *,
    workers: int | None = None,
) -> None:
    """Render every requested output; files are written atomically. Console goes to stdout by default.

    With `workers` > 1 (default: the CPU count) and more than one report file, the files are
    written by up to `workers` processes at once (`_write_in_workers`), as many as fit in
    REPORT_MEMORY_BUDGET; the files, the messages and their order are the same as with one.
    """
    to_stdout = [s for s in specs if s.path is None] or [OutputSpec("console", None)]
    # files first, standard output last: a reader that closes the pipe early (`| head`) must not
    # cost a report file, the history record or the gate's exit code
    files = [s for s in specs if s.path is not None]
    plain = dataclasses.replace(options, color=False)
    count = default_workers() if workers is None else workers
    if count > 1 and len(files) > 1 and workers_available() and not engine.abandoned_collectors():
        # each worker copies much of what the reporters read (see COPY_PER_FINDING): as many as fit.
        # No fork while a collector thread abandoned at its timeout still runs: it may hold a lock
        # a child would then wait for forever, and nothing bounds the wait for a report worker
        count = 1 + report_workers_that_fit(len(result.findings), _resident_bytes(), min(count, len(files)) - 1)
    else:
        count = 1
    if count > 1:
        _write_in_workers(result, files, registry, plain, count)
    else:
        for spec in files:
            with _reporter_warnings():
                _write_file(result, spec, registry, plain)
    for spec in to_stdout:
        _echo_stdout(_render(registry.reporter(spec.name), result, options))


def _write_file(
    result: ScanResult,
    spec: OutputSpec,
    registry: Registry,
    options: ReportOptions,
    reserved: tuple[int, Path] | None = None,
) -> None:
    """Write one report file; an OSError becomes the ConfigError that names the report and the file."""
    assert spec.path is not None
    reporter = registry.reporter(spec.name)
    try:
        write_output(spec.path, reporter.chunks(result, options), reserved=reserved)
    except OSError as exc:
        raise ConfigError(f"cannot write the {spec.name} report: {exc.strerror or exc}", str(spec.path)) from None


REPORT_COST = {"junit": 3.0, "wazuh": 2.0, "html": 2.0, "json": 1.4, "sarif": 1.0}
"""Relative CPU cost of writing each format's file for the same result (measured at 100k objects,
243,323 findings: JUnit 3.0 s, Wazuh 2.0 s, JSON 1.4 s, SARIF 0.9 s); other formats count 1. Only
the grouping of the reports over the worker processes depends on it. Measured again after JUnit
and Wazuh got cheaper (JUnit 1.72 s, Wazuh 1.77 s, JSON 0.96 s, SARIF 0.75 s): the two groups these
figures make for the four formats, SARIF+JUnit and JSON+Wazuh, still differ by only 0.26 s."""

REPORT_MEMORY_BUDGET = 600 * 2**20
"""Bytes the process and its report workers together should stay within: fewer workers (or none)
are started when the estimate (`report_workers_that_fit`) says more would not fit."""

COPY_PER_FINDING = 1024
"""Bytes a report worker is expected to copy per finding: a forked child shares the parent's memory,
but every object a reporter reads has its reference count written, and the page holding it is
copied (measured: 180-250 MB per worker for 243,323 findings, as minor page faults)."""


def report_workers_that_fit(findings: int, resident: int | None, wanted: int) -> int:
    """How many of `wanted` report workers fit in REPORT_MEMORY_BUDGET next to a parent of `resident` bytes.

    Unknown resident memory (not Linux): the workers wanted.
    """
    if resident is None:
        return wanted
    room = REPORT_MEMORY_BUDGET - resident
    per_worker = max(1, findings * COPY_PER_FINDING)
    return max(0, min(wanted, room // per_worker))


def _resident_bytes() -> int | None:
    """This process's resident memory (Linux), else None."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def report_groups(specs: Sequence[OutputSpec], count: int) -> list[list[int]]:
    """The indexes of `specs` split into at most `count` groups of similar total cost, heaviest first.

    Each group is written by one process, in the order of `specs`; the last (lightest) by the
    parent, which also writes standard output afterwards.
    """
    groups: list[list[int]] = [[] for _ in range(min(count, len(specs)))]
    totals = [0.0] * len(groups)
    for index in sorted(range(len(specs)), key=lambda i: -REPORT_COST.get(specs[i].name, 1.0)):
        lightest = totals.index(min(totals))
        groups[lightest].append(index)
        totals[lightest] += REPORT_COST.get(specs[index].name, 1.0)
    order = sorted(range(len(groups)), key=lambda g: -totals[g])
    return [sorted(groups[g]) for g in order if groups[g]]


@dataclass(frozen=True)
class _Written:
    """How writing one report file in a group ended; replayed by the parent in the order of the files."""

    warnings: tuple[str, ...] = ()
    """The messages of the warnings the reporter issued."""
    error: tuple[str, str | None] | None = None
    """The ConfigError (message, location) it ended with."""
    redo: bool = False
    """It ended otherwise (a reporter's bug): written again by the parent, which reports what happens then."""


def _write_group(
    result: ScanResult,
    specs: Sequence[OutputSpec],
    registry: Registry,
    options: ReportOptions,
    reserved: Sequence[tuple[int, Path] | None],
    in_child: bool,
) -> list[_Written]:
    """Write some report files one after the other, their warnings and errors kept (not shown) for the parent."""
    if in_child:
        # nothing the child allocates needs the collector before it exits, and a collection would
        # dirty (copy) pages it shares with the parent
        gc.disable()
    outcomes: list[_Written] = []
    for spec, temporary in zip(specs, reserved, strict=True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            error: tuple[str, str | None] | None = None
            redo = False
            try:
                _write_file(result, spec, registry, options, temporary)
            except ConfigError as exc:
                error = (exc.message, exc.location)
            except Exception:
                redo = True
        outcomes.append(_Written(tuple(str(w.message) for w in caught), error, redo))
        if error is not None:
            break  # the error ends the command: as with one process, the next reports are not written
    return outcomes


def _write_in_workers(
    result: ScanResult, files: Sequence[OutputSpec], registry: Registry, options: ReportOptions, count: int
) -> None:
    """Write the report files in groups, one group per process; the parent writes the last one itself.

    Forked after the result is final, so nothing is pickled on the way in; only each file's
    warnings and error come back. The temporary file of each report a child writes is reserved
    here first, so a child that dies leaves nothing behind; its reports are then written here.
    Afterwards the outcomes are replayed in the order of the files, exactly as one process would
    have shown them: each report's warnings, and the first error ends the command.
    """
    groups = report_groups(files, count)
    *theirs, mine = groups
    outcomes: dict[int, _Written] = {}
    reserved: dict[int, tuple[int, Path]] = {}
    running: list[tuple[list[int], WorkerProcess]] = []
    sys.stdout.flush()
    sys.stderr.flush()
    # the result and everything else alive now is moved out of the collector's sight: collections
    # in the parent while the children run would otherwise touch (and copy) the pages they share
    gc.freeze()
    try:
        for group in theirs:
            for index in group:
                path = files[index].path
                if path is not None and _regular_file(path):
                    with contextlib.suppress(OSError):  # else written here afterwards, with the same error
                        reserved[index] = reserve_temporary(path)
            # a stream (FIFO, device), a refused or an unwritable path is written here, in its turn
            ready = [i for i in group if i in reserved]
            if not ready:
                continue
            temporaries = [reserved[i] for i in ready]
            worker = WorkerProcess(
                _write_group,
                result,
                [files[i] for i in ready],
                registry,
                options,
                temporaries,
                True,
                name=f"report-{'-'.join(files[i].name for i in ready)}",
            )
            for fd, _ in temporaries:
                os.close(fd)  # the child writes it; the name stays here, to remove it if the child dies
            running.append((ready, worker))
        here = _write_group(result, [files[i] for i in mine], registry, options, [None] * len(mine), False)
        outcomes.update(zip(mine, here, strict=False))
        for ready, worker in running:
            while not worker.wait(1.0):
                pass
            with contextlib.suppress(WorkerFailed):  # else its reports are written here below
                # shorter than `ready` after an error: the reports after it are not written
                outcomes.update(zip(ready, worker.result(), strict=False))
    finally:
        for _, worker in running:
            if not worker.wait(0):
                worker.abandon()
        for _, name in reserved.values():
            name.unlink(missing_ok=True)  # a child that died midway; the renamed ones are gone
    for index, spec in enumerate(files):
        written = outcomes.get(index)
        if written is None or written.redo:
            with _reporter_warnings():
                _write_file(result, spec, registry, options)
            continue
        for message in written.warnings:
            _warn(message)
        if written.error is not None:
            raise ConfigError(*written.error)


def _regular_file(path: Path) -> bool:
    """Whether a report goes to a regular file (or a new one): written by replacing it, so by any process."""
    return replace_problem(path) is None and not is_stream(path)


def _warn(message: str) -> None:
    click.echo(f"sovscan: warning: {visible(message)}", err=True)


@contextlib.contextmanager
def _reporter_warnings() -> Iterator[None]:
    """Warnings a reporter issues inside (e.g. SARIF size limits) become one stderr line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                _warn(str(warning.message))


def _render(reporter: Reporter, result: ScanResult, options: ReportOptions) -> str:
    """Render one report (to standard output), its warnings on stderr."""
    with _reporter_warnings():
        return reporter.render(result, options)


def _echo_stdout(text: str) -> None:
    """Write to standard output; a closed pipe is not an error of the scan."""
    try:
        click.echo(text, nl=False)
        sys.stdout.flush()
    except BrokenPipeError:
        # keep Python from failing again when it flushes stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _progress(enabled: bool) -> engine.ProgressCallback | None:
    if not enabled:
        return None

    def show(target_id: str, state: str, detail: str) -> None:
        if state == "start":
            click.echo(f"  collecting {visible(target_id)} ...", err=True)
        elif state == "done":
            click.echo(f"  collected  {visible(target_id)}", err=True)
        else:
            click.echo(f"  failed     {visible(target_id)}: {visible(detail)}", err=True)

    return show


def _parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    index, sep, count = value.partition("/")
    if not sep or not index.isdigit() or not count.isdigit():
        raise ConfigError(f"--shard expects INDEX/COUNT (e.g. 0/4), got '{value}'")
    return int(index), int(count)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sovscan")
def cli() -> None:
    """Audit running Kubernetes, Keycloak, OpenBao, S3/MinIO and PostgreSQL against YAML baselines.

    \b
    Exit codes:
      0  clean: every control evaluated, no FAIL at or above --fail-on
      1  gate failed: a FAIL (with --fail-on-new: a new or regressed FAIL) at or above --fail-on,
         a control verified in the compared run that is ERROR now, or coverage below
         --min-coverage (takes precedence over 3)
      2  usage or configuration error (baseline, inventory, evidence, result, waiver file,
         history store)
      3  scan incomplete: some controls are ERROR (could not be verified)
      4  internal error in sovscan or a plugin
    """


class ReporterOptionsCommand(click.Command):
    """A command that also takes the options the installed reporters declare (`Reporter.options()`).

    They are found when the command runs (entry points, no import-time discovery), so a
    third-party reporter adds its own flags without editing the core; the built-in `--full`
    (SARIF) and `--wazuh-changes-only` (Wazuh) are declared the same way. An option whose flag or
    name is already taken is left out.
    """

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        """The command's own options, then the reporters', then --help.

        Discovered once per invocation (kept in the context), never for the life of the process:
        the reporters installed can differ between two invocations in one process.
        """
        params = super().get_params(ctx)
        help_option = self.get_help_option(ctx)
        own = [p for p in params if p is not help_option]
        declared: list[click.Parameter] = ctx.meta.setdefault(f"sovscan.reporter_params.{self.name}", [])
        if not declared:
            declared.extend(_reporter_params(own))
        return [*own, *declared, *([help_option] if help_option is not None else [])]


def _reporter_params(existing: Sequence[click.Parameter]) -> list[click.Parameter]:
    taken = {p.name for p in existing} | {flag for p in existing for flag in getattr(p, "opts", [])}
    declared: list[click.Parameter] = []
    registry = discover()
    for name in sorted(registry.reporters):
        try:
            options = list(registry.reporters[name].options())
        except Exception:  # a broken third-party reporter must not break every command
            options = []
        for option in options:
            if not isinstance(option, ReporterOption) or not option.flag.startswith("--"):
                continue
            if option.flag in taken or option.dest in taken or not option.dest.isidentifier():
                continue
            taken |= {option.flag, option.dest}
            if option.is_flag:
                declared.append(click.Option([option.flag, option.dest], is_flag=True, default=False, help=option.help))
            else:
                declared.append(click.Option([option.flag, option.dest], default=option.default, help=option.help))
    return declared


def report_options(values: dict[str, Any], *, color: bool) -> ReportOptions:
    """ReportOptions from the values of the reporter-declared options."""
    return ReportOptions(
        full=bool(values.get("full", False)),
        changes_only=bool(values.get("changes_only", False)),
        source_root=os.getcwd(),
        color=color,
        extra=dict(values),
    )


def common_outputs(function: F) -> F:
    """Options shared by `scan` and `report`."""
    function = click.option(
        "-f",
        "--format",
        "formats",
        multiple=True,
        metavar="FORMAT[=PATH]",
        help="Output format, repeatable: console, json, sarif, junit, wazuh (and plugins). "
        "FORMAT=PATH writes a file atomically; without a path, standard output.",
    )(function)
    function = click.option(
        "-o", "--output", "output", metavar="PATH", help="File for the single --format given without a path."
    )(function)
    function = click.option(
        "--fail-on",
        type=click.Choice(SEVERITY_CHOICES),
        default="info",
        show_default=True,
        help="Gate: exit 1 if any FAIL has this severity or worse; 'none' never fails on findings.",
    )(function)
    function = click.option(
        "--framework",
        "framework_refs",
        multiple=True,
        metavar="NAME|PATH",
        help="Add the per-requirement view of a framework catalogue (repeatable): "
        + ", ".join(frameworks.builtin_names())
        + " (see `sovscan frameworks list`).",
    )(function)
    return function


def lifecycle_options(function: F) -> F:
    """Comparison, gate, waiver and history options shared by `scan` and `report`.

    They arrive in the command as one `lifecycle_opts: lifecycle.LifecycleOptions` argument.
    """

    @functools.wraps(function)
    def wrapper(
        *args: Any,
        compare: str | None,
        fail_on_new: bool,
        allow_new_errors: bool,
        min_coverage: float | None,
        waivers: Path | None,
        waiver_max_days: int,
        store: str | None,
        today: Any,
        **kwargs: Any,
    ) -> Any:
        kwargs["lifecycle_opts"] = lifecycle.LifecycleOptions(
            compare=compare,
            fail_on_new=fail_on_new,
            allow_new_errors=allow_new_errors,
            min_coverage=min_coverage,
            waivers=waivers,
            waiver_max_days=waiver_max_days,
            store=store,
            today=today.date() if today is not None else None,
        )
        return function(*args, **kwargs)

    options = [
        click.option(
            "--compare",
            metavar="PREVIOUS|last",
            help="Compare with a previous run: a native JSON result or a SARIF log written by sovscan, or "
            "'last' for the last scan of the same targets and environment in --store. Every finding gets a "
            "baseline state (new, unchanged, updated; gone ones are listed as absent).",
        ),
        click.option(
            "--fail-on-new",
            is_flag=True,
            help="Gate on regressions only: exit 1 for FAILs at or above --fail-on that are new or were not "
            "FAIL in the compared run (PASS/WAIVED/ERROR -> FAIL). Known failures do not fail the gate.",
        ),
        click.option(
            "--allow-new-errors",
            is_flag=True,
            help="With --compare: do not fail the gate when a control evaluated in the compared run is ERROR "
            "now (by default that is lost coverage and exits 1).",
        ),
        click.option(
            "--min-coverage",
            type=FiniteFloatRange(0, 100),
            metavar="PERCENT",
            help="Exit 1 when, on any target, less than PERCENT of the applicable controls were evaluated "
            "(ERROR = not evaluated; NOT_APPLICABLE is not counted); names the controls and why.",
        ),
        click.option(
            "--waivers",
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            help="Waiver file (YAML): FAILs it covers become WAIVED until the waiver expires. ERROR is never waived.",
        ),
        click.option(
            "--waiver-max-days",
            type=click.IntRange(min=1),
            default=DEFAULT_MAX_DAYS,
            show_default=True,
            metavar="DAYS",
            help="Reject waivers that run longer than this (the waiver file's max_days may only lower it).",
        ),
        click.option(
            "--store",
            metavar="URL",
            envvar="SOVSCAN_STORE",
            help="Record the scan in a history store: 'default' (SQLite in the user data directory), "
            "sqlite:PATH, or postgresql://USER@HOST/DB (password via PGPASSWORD or ~/.pgpass). Env: SOVSCAN_STORE.",
        ),
        click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), hidden=True),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def target_options(baseline_help: str) -> Callable[[F], F]:
    """Target selection options shared by `scan` and `doctor`: --target, --inventory, --baseline, --timeout."""

    def decorate(function: F) -> F:
        options = [
            click.option(
                "-t",
                "--target",
                "targets",
                multiple=True,
                metavar="KIND=VALUE",
                help="A target, repeatable, e.g. postgres=postgresql://scanner@db:5432/postgres.",
            ),
            click.option(
                "-i",
                "--inventory",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Inventory file (YAML) listing targets and credential references.",
            ),
            click.option("-b", "--baseline", "baselines", multiple=True, metavar="NAME|PATH", help=baseline_help),
            click.option(
                "--timeout",
                type=FiniteFloatRange(min=0.1),
                default=engine.DEFAULT_TIMEOUT,
                show_default=True,
                help="Collection timeout per target, in seconds.",
            ),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def gather_targets(
    targets: Sequence[str], inventory: Path | None, registry: Registry
) -> tuple[list[Target], dict[str, Any], str | None]:
    """The targets of --inventory then --target, the inventory's credential settings and its environment."""
    found: list[Target] = []
    settings: dict[str, Any] = {}
    environment = None
    if inventory is not None:
        inv = load_inventory(inventory, registry)
        found.extend(inv.targets)
        settings = dict(inv.credential_settings)
        environment = inv.environment
    found.extend(parse_target_option(value, registry) for value in targets)
    return found, settings, environment


@cli.command(cls=ReporterOptionsCommand)
@target_options("Baseline or profile to apply (repeatable); default: each target kind's built-in baseline.")
@click.option(
    "--evidence",
    "evidence_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Evaluate evidence saved earlier with --save-evidence; no network access.",
)
@click.option(
    "--save-evidence",
    "save_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save what each collector read (JSON, secrets redacted) into this directory.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    default=8,
    show_default=True,
    help="Targets collected at the same time.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=256),
    default=None,
    help="Worker processes for CPU-bound targets (manifest files, dumps) and for writing the report files "
    "[default: the number of CPUs].",
)
@click.option("--environment", metavar="NAME", help="Name of the scanned environment (SARIF category).")
@click.option("--shard", metavar="INDEX/COUNT", help="Scan only shard INDEX (0-based) of COUNT of the targets.")
@click.option("--progress/--no-progress", default=None, help="Show collection progress (default: on a terminal).")
@common_outputs
@lifecycle_options
@handle_errors
def scan(
    targets: tuple[str, ...],
    inventory: Path | None,
    baselines: tuple[str, ...],
    evidence_dir: Path | None,
    save_dir: Path | None,
    timeout: float,
    concurrency: int,
    workers: int | None,
    environment: str | None,
    shard: str | None,
    progress: bool | None,
    formats: tuple[str, ...],
    output: str | None,
    fail_on: str,
    framework_refs: tuple[str, ...],
    lifecycle_opts: lifecycle.LifecycleOptions,
    **reporter_values: Any,
) -> None:
    """Collect evidence from targets, evaluate the baselines, and report."""
    frameworks.load_frameworks(framework_refs)  # a bad name fails before any target is contacted
    registry = discover()
    library = BaselineLibrary(registry)
    specs = parse_outputs(formats, output, registry)
    prepared = lifecycle.prepare(lifecycle_opts, list(registry.reporters.values()))
    shard_spec = _parse_shard(shard)
    if evidence_dir is not None:
        if targets or inventory:
            raise ConfigError("--evidence evaluates saved evidence: do not combine it with --target or --inventory")
        if save_dir is not None:
            raise ConfigError("--save-evidence cannot be combined with --evidence")
        if shard_spec is not None:
            raise ConfigError("--shard selects live targets; it cannot be combined with --evidence")
        result = engine.run_offline(
            evidence_dir,
            registry,
            library,
            baseline_refs=baselines,
            environment=environment or "default",
            workers=workers,
        )
    else:
        all_targets, settings, inventory_environment = gather_targets(targets, inventory, registry)
        env_name = environment or inventory_environment
        problem = unwritable(save_dir, directory=True) if save_dir is not None else None
        if problem:
            raise ConfigError(f"--save-evidence: {problem}", str(save_dir))
        if shard_spec is not None:
            all_targets = list(_shard(all_targets, shard_spec))
        show = sys.stderr.isatty() if progress is None else progress
        if show:
            click.echo(f"sovscan: collecting {len(all_targets)} target(s)", err=True)
        result = engine.run_scan(
            all_targets,
            registry,
            library,
            baseline_refs=baselines,
            timeout=timeout,
            concurrency=concurrency,
            workers=workers,
            credential_settings=settings,
            save_evidence=save_dir,
            environment=env_name or "default",
            progress=_progress(show),
        )
    _finish(result, specs, registry, reporter_values, fail_on, prepared, framework_refs, workers)


def _shard(targets: Sequence[Target], spec: tuple[int, int]) -> tuple[Target, ...]:
    return shard(targets, spec[0], spec[1])


def _finish(
    result: ScanResult,
    specs: Sequence[OutputSpec],
    registry: Registry,
    reporter_values: dict[str, Any],
    fail_on: str,
    prepared: lifecycle.Prepared,
    framework_refs: Sequence[str] = (),
    workers: int | None = None,
) -> NoReturn:
    result = lifecycle.process(result, prepared)
    # the per-requirement view is computed after waivers, so a waived failure counts as waived; a
    # re-rendered result keeps the frameworks it was written with unless others are asked for
    refs = list(framework_refs) or [f.name for f in result.frameworks]
    result = dataclasses.replace(result, frameworks=frameworks.evaluate_all(refs, result))
    opts = prepared.options
    outcome = evaluate_gate(
        result,
        None if fail_on == "none" else Severity(fail_on),
        new_only=opts.fail_on_new,
        allow_new_errors=opts.allow_new_errors,
        min_coverage=opts.min_coverage,
    )
    history: tuple[Any, ...] = ()
    if prepared.store is not None and any(s.name == "html" for s in specs):
        history = tuple(prepared.store.history(environment=result.environment, targets=[t.id for t in result.targets]))
    verdict = (
        "PASS" if outcome.exit_code == ExitCode.CLEAN else f"{outcome.exit_code.name} (exit {int(outcome.exit_code)})"
    )
    if outcome.reasons:
        verdict += ": " + outcome.reasons[0].rstrip(":")
    options = dataclasses.replace(
        report_options(reporter_values, color=sys.stdout.isatty() and "NO_COLOR" not in os.environ),
        history=history,
        verdict=verdict,
    )
    write_outputs(result, specs, registry, options, workers=workers)
    if lifecycle.record(result, prepared) is False:
        click.echo(
            f"sovscan: run {visible(result.run_id)} is already in the history store; not recorded again", err=True
        )
    for reason in outcome.reasons:
        click.echo(f"sovscan: {visible(reason)}", err=True)
    sys.exit(int(outcome.exit_code))


@cli.command(cls=ReporterOptionsCommand)
@click.option(
    "--from",
    "sources",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A native JSON result written by `sovscan scan -f json=...`; repeat it to merge the results "
    "of the shards of one scan (--shard) into one report.",
)
@common_outputs
@lifecycle_options
@handle_errors
def report(
    sources: tuple[Path, ...],
    formats: tuple[str, ...],
    output: str | None,
    fail_on: str,
    framework_refs: tuple[str, ...],
    lifecycle_opts: lifecycle.LifecycleOptions,
    **reporter_values: Any,
) -> None:
    """Re-render a saved native JSON result (or merge the results of shards) without scanning again.

    With --waivers, --compare and the gate options it re-applies the lifecycle to the saved
    result (waivers first, then the comparison, then the gate), so a CI job can gate on a
    result produced elsewhere.
    """
    registry = discover()
    specs = parse_outputs(formats, output, registry)
    prepared = lifecycle.prepare(lifecycle_opts, list(registry.reporters.values()))
    frameworks.load_frameworks(framework_refs)
    result = resultio.merge([(resultio.load(source), str(source)) for source in sources])
    _finish(result, specs, registry, reporter_values, fail_on, prepared, framework_refs)


@cli.command()
@click.option(
    "--store",
    "store_url",
    metavar="URL",
    envvar="SOVSCAN_STORE",
    default="default",
    show_default=True,
    help="History store: 'default', sqlite:PATH or postgresql://USER@HOST/DB. Env: SOVSCAN_STORE.",
)
@click.option("--environment", metavar="NAME", help="Only this environment.")
@click.option("-t", "--target", "targets", multiple=True, metavar="ID", help="Only this target (repeatable).")
@click.option("-b", "--baseline", "baselines", multiple=True, metavar="NAME", help="Only this baseline (repeatable).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only scans started on or after this date.")
@click.option(
    "--last", type=click.IntRange(min=1), default=10, show_default=True, help="Scans shown per target and baseline."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format."
)
@handle_errors
def history(
    store_url: str,
    environment: str | None,
    targets: tuple[str, ...],
    baselines: tuple[str, ...],
    since: Any,
    last: int,
    fmt: str,
) -> None:
    """Show the trend per target and baseline: pass rate, new / resolved / open failures, oldest open failure."""
    store = open_store(store_url)
    series = store.history(
        environment=environment,
        targets=targets,
        baselines=baselines,
        since=since.date().isoformat() if since is not None else None,
    )
    click.echo(render_history(series, last=last, fmt=fmt, where=store.description), nl=False)


@cli.command()
@click.option(
    "-b",
    "--baseline",
    "baselines",
    multiple=True,
    metavar="NAME|PATH",
    help="Baseline to validate (repeatable); default: every built-in baseline.",
)
@click.option(
    "-i",
    "--inventory",
    "inventories",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Inventory file to validate (repeatable).",
)
@click.option(
    "--waivers",
    "waiver_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Waiver file to validate (repeatable), against today's UTC date and --waiver-max-days.",
)
@click.option(
    "--waiver-max-days",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_DAYS,
    show_default=True,
    metavar="DAYS",
    help="Longest allowed waiver.",
)
@handle_errors
def validate(
    baselines: tuple[str, ...], inventories: tuple[Path, ...], waiver_files: tuple[Path, ...], waiver_max_days: int
) -> None:
    """Validate baselines, inventories and waiver files; print one line per problem and exit 2 if any."""
    registry = discover()
    library = BaselineLibrary(registry)
    problems = 0
    for ref in baselines or tuple(library.builtin_names()):
        try:
            loaded = library.load(ref)
            click.echo(f"ok  baseline {ref}: {loaded.name} {loaded.version}, {len(loaded.controls)} controls")
        except ConfigError as exc:
            problems += 1
            click.echo(f"sovscan: error: {visible(mask_credentials(str(exc)))}", err=True)
    for path in inventories:
        try:
            inv = load_inventory(path, registry)
            click.echo(f"ok  inventory {path}: {len(inv.targets)} target(s)")
        except (ConfigError, PluginError) as exc:
            problems += 1
            click.echo(f"sovscan: error: {visible(mask_credentials(str(exc)))}", err=True)
    for path in waiver_files:
        try:
            waiver_set = load_waivers(path, today=utc_today(), max_days=waiver_max_days)
            click.echo(f"ok  waivers {path}: {len(waiver_set.waivers)} waiver(s), at most {waiver_set.max_days} days")
        except ConfigError as exc:
            problems += 1
            click.echo(f"sovscan: error: {visible(mask_credentials(str(exc)))}", err=True)
    for name, reason in sorted(registry.broken.items()):
        click.echo(f"warning: plugin {name} is not loaded: {visible(reason)}", err=True)
    sys.exit(int(ExitCode.CONFIG_ERROR) if problems else 0)


@cli.group()
def baselines() -> None:
    """List and show baselines."""


@baselines.command("list")
@handle_errors
def baselines_list() -> None:
    """List the built-in baselines."""
    library = BaselineLibrary(discover())
    for name in library.builtin_names():
        loaded = library.load(name)
        click.echo(f"{name:<14} {loaded.version:<8} {len(loaded.controls):>3} controls  {loaded.title}")


@baselines.command("show")
@click.argument("ref", metavar="NAME|PATH")
@handle_errors
def baselines_show(ref: str) -> None:
    """Show the controls of a baseline (after includes and tailoring)."""
    loaded = BaselineLibrary(discover()).load(ref)
    click.echo(f"{loaded.name} {loaded.version} — {loaded.title} ({loaded.source})")
    for control in loaded.controls:
        flag = f"  [disabled: {control.disabled}]" if control.disabled else ""
        click.echo(f"  {control.id:<10} {control.severity.value:<9} {control.target:<11} {control.title}{flag}")


@cli.group()
def checks() -> None:
    """List the registered check functions."""


@checks.command("list")
@handle_errors
def checks_list() -> None:
    """List every check function and the target kinds that provide them."""
    registry = discover()
    for kind, plugin in sorted(registry.plugins.items()):
        click.echo(f"{kind}: {plugin.description}")
    click.echo("")
    for name, spec in sorted(registry.checks.items()):
        needs = f"  (needs: {', '.join(spec.needs)})" if spec.needs else ""
        click.echo(f"{name:<36} {spec.description}{needs}")
    for name, reason in sorted(registry.broken.items()):
        click.echo(f"warning: plugin {name} is not loaded: {visible(reason)}", err=True)


@cli.command()
@click.argument("control_id")
@click.option(
    "-b",
    "--baseline",
    "baselines",
    multiple=True,
    metavar="NAME|PATH",
    help="Baseline to search (default: every built-in baseline).",
)
@handle_errors
def explain(control_id: str, baselines: tuple[str, ...]) -> None:
    """Explain a control: title, rationale, remediation, references."""
    library = BaselineLibrary(discover())
    for ref in baselines or tuple(library.builtin_names()):
        for control in library.load(ref).controls:
            if control.id.lower() == control_id.lower():
                click.echo(f"{control.id}  {control.title}")
                click.echo(f"severity: {control.severity.value}   target: {control.target}   check: {control.check}")
                if control.source:
                    click.echo(f"defined at: {control.source.path}:{control.source.line}")
                for label, text in (
                    ("Description", control.description),
                    ("Rationale", control.rationale),
                    ("Remediation", control.remediation),
                ):
                    if text:
                        click.echo(f"\n{label}:\n  {text.strip()}")
                if control.params:
                    click.echo("\nParameters:")
                    for key, value in control.params.items():
                        click.echo(f"  {key}: {value!r}")
                if control.references:
                    click.echo("\nReferences:")
                    for framework, ids in control.references.items():
                        click.echo(f"  {framework}: {', '.join(ids)}")
                mapped = [
                    (fw.name, r.id)
                    for fw in frameworks.load_frameworks(frameworks.builtin_names())
                    for r in fw.requirements_for(control.id)
                ]
                if mapped:
                    click.echo("\nFramework catalogues (baselines/frameworks/):")
                    for name in dict.fromkeys(n for n, _ in mapped):
                        click.echo(f"  {name}: {', '.join(r for n, r in mapped if n == name)}")
                if control.disabled:
                    click.echo(f"\nDisabled: {control.disabled}")
                return
    raise ConfigError(f"no control '{control_id}' in baseline(s) {', '.join(baselines or library.builtin_names())}")


@cli.command()
@target_options("Baseline or profile whose enabled controls decide what must be readable (default: each kind's).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format."
)
@handle_errors
def doctor(
    targets: tuple[str, ...], inventory: Path | None, baselines: tuple[str, ...], timeout: float, fmt: str
) -> None:
    """Check sovscan's permissions on each target and print the least-privilege grants it needs.

    Connects with the configured credentials and reads exactly what a scan reads (nothing is
    written), then says which evidence sections could not be read, which controls would be ERROR
    with these credentials, and the grants (SQL, HCL, ClusterRole, ...) that let sovscan read
    what its enabled controls need. Exit 0 when everything is readable, 3 when something is not.
    """
    from scanner import doctor as doctor_mod

    registry = discover()
    library = BaselineLibrary(registry)
    all_targets, settings, _ = gather_targets(targets, inventory, registry)
    if not all_targets:
        raise ConfigError("no targets: give --target KIND=VALUE or --inventory FILE")
    found = doctor_mod.diagnose(all_targets, registry, library, baseline_refs=baselines, timeout=timeout,
                                credential_settings=settings)  # fmt: skip
    text = doctor_mod.render_json(found) if fmt == "json" else doctor_mod.render_text(found)
    click.echo(mask_credentials(text), nl=False)
    sys.exit(0 if all(d.complete for d in found) else int(ExitCode.INCOMPLETE))


@cli.group("frameworks")
def frameworks_group() -> None:
    """List and show framework catalogues (BSI IT-Grundschutz, NIS2, BSI C5, ISO/IEC 27001)."""


@frameworks_group.command("list")
@handle_errors
def frameworks_list() -> None:
    """List the shipped framework catalogues with their catalogue coverage."""
    for name in frameworks.builtin_names():
        fw = frameworks.load_framework(name)
        mapped = sum(1 for r in fw.requirements if r.controls)
        click.echo(
            f"{name:<16} {fw.edition:<20} {len(fw.requirements):>3} requirements, {mapped:>3} with controls "
            f"({fw.catalogue_coverage():.0%})  {fw.title}"
        )


@frameworks_group.command("show")
@click.argument("ref", metavar="NAME|PATH")
@click.option(
    "--from",
    "source",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A native JSON result: show each requirement's status in that scan.",
)
@handle_errors
def frameworks_show(ref: str, source: Path | None) -> None:
    """Show a catalogue's requirements: mapped controls or the manual check; with --from, each one's status."""
    fw = frameworks.load_framework(ref)
    click.echo(f"{fw.name} {fw.edition} — {fw.title} ({fw.source})")
    if fw.notes:
        click.echo(f"  {fw.notes}")
    statuses: dict[str, frameworks.RequirementResult] = {}
    if source is not None:
        view = frameworks.evaluate(fw, resultio.load(source))
        statuses = {r.id: r for r in view.requirements}
        counts = ", ".join(f"{view.count(s)} {s.value}" for s in frameworks.STATUS_ORDER)
        click.echo(f"  scan {source}: coverage {view.coverage:.0%} ({counts})")
    for family in fw.families:
        click.echo(f"\n{family.id}  {family.title}")
        for req in (r for r in fw.requirements if r.family == family.id):
            state = f"[{statuses[req.id].status.value}] " if req.id in statuses else ""
            click.echo(f"  {req.id:<14} {state}{req.title}")
            if req.controls:
                click.echo(f"  {'':<14}   controls: {', '.join(req.controls)}")
            if req.manual:
                click.echo(f"  {'':<14}   manual: {req.manual}")


def main() -> None:
    """Console-script entry point."""
    cli()
