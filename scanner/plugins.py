"""Discovery of target plugins and reporters through entry points.

The scanner knows no target kind and no output format by name: everything comes from the
entry-point groups `sovscan.checks` and `sovscan.reporters`, the built-in ones included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TypeVar

from scanner import generic
from scanner.errors import PluginError
from scanner.interface import CheckSpec, CredentialResolver, Reporter, TargetPlugin

_T = TypeVar("_T")

CHECKS_GROUP = "sovscan.checks"
REPORTERS_GROUP = "sovscan.reporters"


@dataclass
class Registry:
    """Everything the plugins provide, indexed by name."""

    plugins: dict[str, TargetPlugin] = field(default_factory=dict)
    """Target kind -> plugin."""
    checks: dict[str, CheckSpec] = field(default_factory=dict)
    """Check name -> spec (the generic checks included)."""
    reporters: dict[str, Reporter] = field(default_factory=dict)
    """Format name -> reporter."""
    resolvers: dict[str, CredentialResolver] = field(default_factory=dict)
    """Credential scheme -> resolver (besides the built-in env: and file:)."""
    broken: dict[str, str] = field(default_factory=dict)
    """Entry point -> why it could not be loaded (reported, not fatal, unless it is used)."""

    def plugin(self, kind: str) -> TargetPlugin:
        """Return the plugin of a target kind; raise PluginError naming the known kinds."""
        return self._lookup(self.plugins, kind, "target kind", "kinds")

    def reporter(self, name: str) -> Reporter:
        """Return a reporter by format name; raise PluginError naming the known formats."""
        return self._lookup(self.reporters, name, "output format", "formats")

    def _lookup(self, table: Mapping[str, _T], name: str, what: str, plural: str) -> _T:
        if name in table:
            return table[name]
        known = ", ".join(sorted(table)) or "none"
        hint = f" ({self.broken[name]})" if name in self.broken else ""
        raise PluginError(f"unknown {what} '{name}'{hint}; known {plural}: {known}")

    def add_plugin(self, plugin: TargetPlugin, origin: str = "") -> None:
        """Register a target plugin and its checks; reject duplicate check names."""
        self.plugins[plugin.kind] = plugin
        self.add_checks(plugin.checks(), origin or plugin.kind)
        for resolver in plugin.credential_resolvers():
            self.resolvers[resolver.scheme] = resolver

    def add_checks(self, specs: Iterable[CheckSpec], origin: str) -> None:
        """Register check specs; a name registered twice is a PluginError."""
        for spec in specs:
            if not isinstance(spec, CheckSpec):
                raise PluginError(f"{origin}: checks() returned {type(spec).__name__}, not a CheckSpec")
            if spec.name in self.checks and self.checks[spec.name] is not spec:
                raise PluginError(f"{origin}: check '{spec.name}' is registered twice")
            self.checks[spec.name] = spec


def _load(ep: EntryPoint) -> object:
    try:
        return ep.load()
    except Exception as exc:  # a broken third-party plugin must not stop unrelated scans
        raise PluginError(f"cannot load entry point {ep.group}:{ep.name} ({ep.value}): {exc}") from exc


def discover(
    extra_plugins: Iterable[TargetPlugin] = (), extra_reporters: Mapping[str, Reporter] | None = None
) -> Registry:
    """Load every plugin and reporter registered through entry points."""
    registry = Registry()
    registry.add_checks(generic.CHECKS, "sovscan (generic checks)")
    for ep in entry_points(group=CHECKS_GROUP):
        try:
            obj = _load(ep)
            plugin = obj() if isinstance(obj, type) else obj
            if not isinstance(plugin, TargetPlugin):
                raise PluginError(f"entry point {ep.group}:{ep.name} is not a TargetPlugin")
            registry.add_plugin(plugin, f"{ep.group}:{ep.name}")
        except PluginError as exc:
            registry.broken[ep.name] = str(exc)
    for plugin in extra_plugins:
        registry.add_plugin(plugin)
    for ep in entry_points(group=REPORTERS_GROUP):
        try:
            obj = _load(ep)
            reporter = obj() if isinstance(obj, type) else obj
            if not isinstance(reporter, Reporter):
                raise PluginError(f"entry point {ep.group}:{ep.name} is not a Reporter")
            registry.reporters[ep.name] = reporter
        except PluginError as exc:
            registry.broken[ep.name] = str(exc)
    for name, reporter in (extra_reporters or {}).items():
        registry.reporters[name] = reporter
    return registry
