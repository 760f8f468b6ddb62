"""Loading baselines and profiles: schema validation, includes, tailoring, check binding.

Every problem is a ConfigError naming `file:line`: malformed YAML, a schema violation, an
unknown check, a duplicate control id, parameters the check does not accept, a tailoring
entry for a control that does not exist, an include cycle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jsonschema

from scanner.errors import ConfigError
from scanner.model import Control, Severity, SourceLocation
from scanner.plugins import Registry
from scanner.yamlfile import YamlDocument, load_yaml, read_yaml, schema_error_text, validate


@cache
def schema(name: str) -> dict[str, Any]:
    """Return a JSON Schema shipped in `scanner/schema/` by file stem (e.g. `baseline`)."""
    text = files("scanner").joinpath("schema", f"{name}.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline or profile with its includes resolved and tailoring applied."""

    name: str
    """Baseline name."""
    version: str
    """Baseline version."""
    title: str
    """Human title."""
    source: str
    """Where it was read from (`baselines/postgres.yaml` for built-ins, else the path given)."""
    controls: tuple[Control, ...]
    """Controls in definition order; tailored-out ones have `disabled` set."""
    versions: Mapping[str, str]
    """Name -> version of this baseline and everything it includes."""
    description: str = ""
    """Free text."""


class BaselineLibrary:
    """Finds built-in baselines (from plugins) and loads baselines by name or path."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._builtin: dict[str, tuple[Traversable, str]] = {}
        for plugin in registry.plugins.values():
            for resource in plugin.baselines():
                stem = resource.name.rsplit(".", 1)[0]
                self._builtin[stem] = (resource, f"baselines/{resource.name}")

    def builtin_names(self) -> list[str]:
        """Names of the built-in baselines, sorted."""
        return sorted(self._builtin)

    def default_for(self, kind: str) -> list[str]:
        """Built-in baselines whose name is the target kind (the kind's default baseline)."""
        return [kind] if kind in self._builtin else []

    def load(self, ref: str) -> Baseline:
        """Load a baseline by built-in name or by file path."""
        return self._load(ref, None, ())

    def _read(self, ref: str, relative_to: Path | None) -> tuple[YamlDocument, Path | None]:
        if ref in self._builtin and not ref.endswith((".yaml", ".yml")):
            resource, display = self._builtin[ref]
            return load_yaml(resource.read_text(encoding="utf-8"), display), None
        path = Path(ref)
        if relative_to is not None and not path.is_absolute():
            path = relative_to / path
        if not path.exists():
            known = ", ".join(self.builtin_names()) or "none"
            raise ConfigError(f"no baseline file '{ref}' and no built-in baseline of that name (built-in: {known})")
        return read_yaml(path), path.parent

    def _load(self, ref: str, relative_to: Path | None, chain: tuple[str, ...]) -> Baseline:
        doc, directory = self._read(ref, relative_to)
        if doc.path in chain:
            raise ConfigError(f"include cycle: {' -> '.join((*chain, doc.path))}", doc.path)
        validate(doc, schema("baseline"), "baseline")
        data: dict[str, Any] = doc.data
        controls: dict[str, Control] = {}
        versions: dict[str, str] = {}
        for index, include in enumerate(data.get("include", [])):
            try:
                included = self._load(include, directory, (*chain, doc.path))
            except ConfigError as exc:
                if exc.location is None:
                    raise ConfigError(exc.message, doc.where(["include", index])) from None
                raise
            versions.update(included.versions)
            for control in included.controls:
                if control.id in controls:
                    first = controls[control.id].source
                    raise ConfigError(
                        f"duplicate control id '{control.id}' (included twice; first at {_where(first)})",
                        doc.where(["include", index]),
                    )
                controls[control.id] = control
        default_target = data.get("target")
        for index, raw in enumerate(data.get("controls", [])):
            control = self._control(doc, index, raw, default_target, data["name"])
            if control.id in controls:
                raise ConfigError(
                    f"duplicate control id '{control.id}' (first defined at {_where(controls[control.id].source)})",
                    doc.where(["controls", index, "id"]),
                )
            controls[control.id] = control
        for control_id, change in data.get("tailor", {}).items():
            if control_id not in controls:
                raise ConfigError(f"tailor: unknown control id '{control_id}'", doc.where(["tailor", control_id]))
            controls[control_id] = self._tailor(doc, controls[control_id], change)
        versions[data["name"]] = data["version"]
        return Baseline(
            name=data["name"],
            version=data["version"],
            title=data.get("title", data["name"]),
            source=doc.path,
            controls=tuple(controls.values()),
            versions=versions,
            description=data.get("description", ""),
        )

    def _control(
        self, doc: YamlDocument, index: int, raw: Mapping[str, Any], default_target: str | None, baseline: str
    ) -> Control:
        at: list[str | int] = ["controls", index]
        target = raw.get("target", default_target)
        if not target:
            raise ConfigError("control has no target and the baseline sets no default target", doc.where(at))
        spec = self.registry.checks.get(raw["check"])
        if spec is None:
            known = ", ".join(sorted(self.registry.checks))
            raise ConfigError(f"unknown check '{raw['check']}' (registered: {known})", doc.where([*at, "check"]))
        prefix = raw["check"].split(".", 1)[0]
        if prefix != "generic" and prefix != target:
            raise ConfigError(
                f"check '{raw['check']}' does not apply to target kind '{target}'", doc.where([*at, "check"])
            )
        params = dict(raw.get("params", {}))
        _validate_params(params, spec.params_schema, doc, [*at, "params"], raw["check"])
        return Control(
            id=raw["id"],
            title=raw["title"],
            severity=Severity(raw["severity"]),
            target=target,
            check=raw["check"],
            params=params,
            description=raw.get("description", ""),
            rationale=raw["rationale"],
            remediation=raw["remediation"],
            references={k: tuple(v) for k, v in raw.get("references", {}).items()},
            tags=tuple(raw.get("tags", ())),
            baseline=baseline,
            source=SourceLocation(doc.path, doc.line_of([*at, "id"])),
        )

    def _tailor(self, doc: YamlDocument, control: Control, change: Mapping[str, Any]) -> Control:
        at: list[str | int] = ["tailor", control.id]
        updated = control
        if "severity" in change:
            updated = replace(updated, severity=Severity(change["severity"]))
        if "params" in change:
            params = {**control.params, **change["params"]}
            _validate_params(
                params, self.registry.checks[control.check].params_schema, doc, [*at, "params"], control.check
            )
            updated = replace(updated, params=params)
        if "disabled" in change:
            updated = replace(updated, disabled=f"{change['disabled']} (tailored out at {doc.where(at)})")
        return updated


def _validate_params(
    params: Mapping[str, Any], params_schema: Mapping[str, Any], doc: YamlDocument, at: Sequence[str | int], check: str
) -> None:
    validator = jsonschema.Draft202012Validator(
        params_schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    error = jsonschema.exceptions.best_match(validator.iter_errors(params))
    if error is not None:
        where = [*at, *error.absolute_path]
        field = ".".join(str(p) for p in error.absolute_path) or "params"
        raise ConfigError(f"bad parameter for check '{check}': {field}: {schema_error_text(error)}", doc.where(where))


def _where(source: SourceLocation | None) -> str:
    return f"{source.path}:{source.line}" if source else "unknown location"


def select_controls(baselines: Sequence[Baseline]) -> dict[str, Control]:
    """Merge the controls of several selected baselines, in order.

    The same control from two of them is kept once; the same id defined differently (a profile
    that tailors a control of a baseline also selected) is a ConfigError rather than a silent pick.
    """
    merged: dict[str, tuple[Control, Baseline]] = {}
    for baseline in baselines:
        for control in baseline.controls:
            first = merged.get(control.id)
            if first is not None and first[0] != control:
                raise ConfigError(
                    f"control {control.id} is defined differently by the selected baselines {first[1].name} "
                    f"({first[1].source}) and {baseline.name} (a profile tailoring it?): select only one of them",
                    baseline.source,
                )
            merged.setdefault(control.id, (control, baseline))
    return {cid: control for cid, (control, _) in merged.items()}
