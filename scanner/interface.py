"""The extension points of sovscan: target plugins (collector + checks), reporters, credential resolvers.

A third party adds a target kind by shipping a package with an entry point in the group
`sovscan.checks` whose object is a `TargetPlugin`, and a reporter with an entry point in
`sovscan.reporters` whose object is a `Reporter` (class or instance). The built-in ones are
registered the same way.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from typing import Any

from scanner.model import CheckResult, Evidence, ScanResult

CheckFunction = Callable[[Evidence, Mapping[str, Any]], Iterable[CheckResult]]
"""A pure function: evidence and parameters in, results out. No I/O, no globals."""


@dataclass(frozen=True)
class CheckSpec:
    """A registered check function and what it needs."""

    name: str
    """Name used in baselines, e.g. `postgres.hba_methods`."""
    function: CheckFunction
    """The pure check function."""
    needs: tuple[str, ...] = ()
    """Evidence sections the check reads; a missing one makes the control ERROR with its reason.

    The check sees only these sections (and those named by `needs_params`): reading any other
    one raises EvidenceUnavailable, so the control is ERROR naming the undeclared section."""
    params_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    """JSON Schema the control's `params` must satisfy (checked when the baseline is loaded)."""
    description: str = ""
    """One line on what the check verifies."""
    needs_params: tuple[str, ...] = ()
    """Parameters whose values name further sections the check needs (`generic.field`: `section`)."""
    reads: tuple[str, ...] = ()
    """Sections the check may also read but handles the absence of itself (per resource, with the
    recorded reason from `evidence.section()`): a missing one does not make the whole control ERROR."""

    def sections_needed(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Every section the control cannot do without: `needs` plus the sections named by parameters."""
        named = tuple(str(params[p]) for p in self.needs_params if isinstance(params.get(p), str))
        return tuple(dict.fromkeys((*self.needs, *named)))

    def sections_visible(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Every section the check may see: the needed ones and `reads`."""
        return tuple(dict.fromkeys((*self.sections_needed(params), *self.reads)))


def check(
    name: str,
    *,
    needs: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
    description: str | None = None,
    needs_params: Sequence[str] = (),
    reads: Sequence[str] = (),
) -> Callable[[CheckFunction], CheckSpec]:
    """Decorate a pure function as a check; returns a CheckSpec (no registry, no side effect).

    `params` is a JSON Schema `properties` mapping; unknown parameters are rejected. `needs`
    lists every evidence section the check cannot do without (it sees no other, and a missing one
    makes the control ERROR); `reads` lists sections it reads optionally, handling their absence
    itself; `needs_params` names the parameters whose values are further needed sections.
    """

    def wrap(function: CheckFunction) -> CheckSpec:
        schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": dict(params or {})}
        doc = description or ((function.__doc__ or "").strip().splitlines() or [""])[0]
        return CheckSpec(
            name=name,
            function=function,
            needs=tuple(needs),
            params_schema=schema,
            description=doc,
            needs_params=tuple(needs_params),
            reads=tuple(reads),
        )

    return wrap


@dataclass(frozen=True)
class Target:
    """One thing to scan: a database, a secrets manager, a cluster, a manifest directory."""

    id: str
    """Unique identifier in the inventory (used in resource URIs' target field and reports)."""
    kind: str
    """Target kind, matching a TargetPlugin's `kind`."""
    url: str
    """Where to reach it, without credentials."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Kind-specific options (sslmode, CA file, namespace, ...)."""
    credentials: Mapping[str, str] = field(default_factory=dict)
    """Credential name -> reference (`env:NAME`, `file:PATH`, `bao:MOUNT/PATH#FIELD`), never a value."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Free-form labels (environment, owner)."""
    timeout: float | None = None
    """Collection timeout in seconds for this target (overrides the scan's)."""
    baselines: tuple[str, ...] = ()
    """Baselines to apply to this target; empty means the kind's default baselines."""


class Secret:
    """A credential value that refuses to be printed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the value, for passing to a client library only."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class TargetPlugin(abc.ABC):
    """A target kind: how to name a target, collect its evidence, and check it."""

    kind: str
    """Target kind, e.g. `postgres`."""
    description: str = ""
    """One line for `sovscan checks list`."""

    @abc.abstractmethod
    def checks(self) -> Sequence[CheckSpec]:
        """All check functions of this kind."""

    def baselines(self) -> Sequence[Traversable]:
        """Built-in baseline files for this kind (read with importlib.resources)."""
        return ()

    @abc.abstractmethod
    def parse_target(self, value: str) -> Target:
        """Turn the VALUE of `--target KIND=VALUE` into a Target (credentials stripped into refs)."""

    def target_uri(self, target: Target) -> str:
        """The base URI of the target's resources (must equal `Evidence.uri` of a successful collection).

        Used for the target-level findings of a target that could not be read, so their
        fingerprints are the same whether or not the target answered. Default: `target.url`.
        """
        return target.url

    def validate_target(self, target: Target) -> None:  # noqa: B027 - optional hook, no-op by default
        """Raise ConfigError when the target (options merged from an inventory) is invalid."""

    @abc.abstractmethod
    def collect(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
        """Read the target (read-only) and return its evidence.

        Raise `CollectionError` when the target cannot be read at all; record partial
        failures in `Evidence.errors`. Must return within about `timeout` seconds.
        """

    def credential_resolvers(self) -> Sequence[CredentialResolver]:
        """Credential reference schemes this plugin provides (e.g. `bao:`)."""
        return ()

    def ambient_credentials(self, target: Target) -> Mapping[str, Secret]:
        """Every credential this kind would pick up for `target` from the environment or its files.

        (PGPASSWORD, ~/.pgpass, BAO_TOKEN, ~/.vault-token, kubeconfig tokens and keys, ...). The
        engine calls it before collecting and redacts every value exactly like `env:`/`file:`
        references, wherever it would appear. Never raises for absent ones. Default: none.
        """
        return {}

    def evidence_contract(self) -> Mapping[str, Mapping[str, Any]]:
        """Section name -> JSON Schema (draft 2020-12) of that section's data.

        The engine validates every present section against it after collection and after
        `--evidence` re-reads it; a section that does not match becomes a section error
        ("malformed evidence section ..."), so the controls that need it are ERROR. Default:
        no contract (no validation), for plugins that do not declare one.
        """
        return {}


class CredentialResolver(abc.ABC):
    """Resolves a credential reference such as `bao:kv/db#password` to a value, in memory only."""

    scheme: str
    """The prefix before the colon, e.g. `bao`."""

    @abc.abstractmethod
    def resolve(self, reference: str, settings: Mapping[str, Any]) -> str:
        """Return the value for `reference` (without the scheme); raise CollectionError on failure.

        `settings` is the inventory's `credentials.<scheme>` mapping (address, CA, token reference).
        """


@dataclass(frozen=True)
class ReportOptions:
    """Options a reporter may honour; each reporter ignores what it does not use."""

    full: bool = False
    """Include passing and not-applicable results (SARIF full log; the `--full` flag SARIF declares)."""
    changes_only: bool = False
    """Emit only new, resolved and regressed findings (Wazuh; the `--wazuh-changes-only` flag it declares)."""
    source_root: str | None = None
    """Directory that repository-relative paths are computed against (SARIF locations)."""
    color: bool = False
    """Use ANSI colours (console)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Values of every reporter-declared option (`ReporterOption.dest` -> value), third-party ones included."""
    history: tuple[Any, ...] = ()
    """Trend series from the history store (`scanner.store.history.Series`), when `--store` is given (HTML)."""
    verdict: str | None = None
    """The gate's verdict in words (e.g. `FAIL: 3 failures at or above high`), for reports that show it (HTML)."""

    def value(self, dest: str, default: Any = None) -> Any:
        """The value of a reporter-declared option."""
        return self.extra.get(dest, default)


@dataclass(frozen=True)
class ReporterOption:
    """A command-line option a reporter declares (the CLI turns it into a flag of `scan` and `report`)."""

    flag: str
    """The long flag, e.g. `--full` or `--html-theme`."""
    dest: str
    """Name of the value in `ReportOptions.extra` (`full` and `changes_only` also set those fields)."""
    help: str
    """One line for `--help`."""
    is_flag: bool = True
    """A boolean switch; otherwise the option takes a text value."""
    default: Any = None
    """Value when not given (False for a switch)."""


@dataclass(frozen=True)
class ReadBack:
    """A ScanResult rebuilt from a report, and whether the report held every finding."""

    result: ScanResult
    """The rebuilt result (controls, findings, targets as far as the format carries them)."""
    complete: bool = True
    """False when the report lists only some findings (a SARIF log written without --full)."""


class Reporter(abc.ABC):
    """Renders a ScanResult into one output format."""

    name: str
    """Format name used with `-f NAME=PATH`."""
    description: str = ""
    """One line for `--help`."""
    extension: str = ".txt"
    """Usual file extension."""

    @abc.abstractmethod
    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Return the whole report as text."""

    def chunks(self, result: ScanResult, options: ReportOptions) -> Iterable[bytes]:
        """The report as UTF-8 chunks that are written one after the other to the report file.

        Default: `render`, encoded. A reporter of large outputs streams instead, so neither the
        whole text nor the whole document is held at once; the bytes must be `render`'s text.
        """
        yield self.render(result, options).encode()

    @classmethod
    def options(cls) -> Sequence[ReporterOption]:
        """The command-line options this reporter declares (none by default)."""
        return ()

    def read(self, document: Any, source: str) -> ReadBack | None:
        """Rebuild a result from a parsed report of this format (`--compare`), or None: not this format.

        Raise ConfigError (naming `source`) for a document of this format that cannot be read.
        Default: the format cannot be read back.
        """
        return None
