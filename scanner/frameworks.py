"""Framework catalogues (BSI IT-Grundschutz, NIS2, BSI C5, ISO/IEC 27001) and per-requirement results.

A catalogue is data, kept apart from the controls (as Prowler keeps its compliance documents
apart from its checks): one YAML file per framework edition under `baselines/frameworks/`,
validated against `scanner/schema/framework.schema.json`. Each requirement lists the sovscan
controls that give evidence for it, or says in `manual` what a person has to check.

`evaluate` turns a ScanResult into one status per requirement:

- `met`: every mapped control that was evaluated PASSed on every in-scope resource;
- `violated`: some mapped control FAILed somewhere (waived failures excepted);
- `not verified`: no failure, but some mapped control was ERROR (its evidence could not be read);
- `waived`: no failure or error, and some failure is covered by an accepted waiver;
- `manual`: no automated control maps to the requirement; a person has to check it;
- `not covered`: controls map to it, but none of them was evaluated in this scan (their target
  kind was not scanned, they were tailored out, or nothing was in scope).

Coverage is the share of requirements for which this scan produced automated evidence.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.errors import ConfigError
from scanner.yamlfile import YamlDocument, load_yaml, read_yaml, validate

if TYPE_CHECKING:
    from scanner.model import ScanResult


class RequirementStatus(enum.Enum):
    """The state of one framework requirement in one scan."""

    MET = "met"
    """Every evaluated mapped control passed."""
    VIOLATED = "violated"
    """A mapped control failed."""
    NOT_VERIFIED = "not verified"
    """A mapped control could not be evaluated (ERROR) and none failed."""
    WAIVED = "waived"
    """Failures exist but every one is covered by an accepted waiver."""
    MANUAL = "manual"
    """No automated control maps here; a person must check it."""
    NOT_COVERED = "not covered"
    """Controls map here, but none of them was evaluated in this scan."""

    @property
    def automated(self) -> bool:
        """True when the scan produced automated evidence for the requirement."""
        return self in _AUTOMATED


_AUTOMATED = {
    RequirementStatus.MET,
    RequirementStatus.VIOLATED,
    RequirementStatus.NOT_VERIFIED,
    RequirementStatus.WAIVED,
}

STATUS_ORDER = (
    RequirementStatus.VIOLATED,
    RequirementStatus.NOT_VERIFIED,
    RequirementStatus.WAIVED,
    RequirementStatus.MET,
    RequirementStatus.NOT_COVERED,
    RequirementStatus.MANUAL,
)
"""Requirement statuses from the most to the least urgent (report order)."""


@dataclass(frozen=True)
class Family:
    """A group of requirements: a BSI module, a NIS2 article point, an ISO Annex A theme, a C5 area."""

    id: str
    """Identifier, e.g. `APP.4.3`, `21(2)(i)`, `A.8`, `IDM`."""
    title: str
    """Title in our own words."""


@dataclass(frozen=True)
class Requirement:
    """One requirement of a framework and the controls that give evidence for it."""

    id: str
    """Identifier as the framework numbers it, e.g. `APP.4.3.A3` (a family id for module-level entries)."""
    title: str
    """Title in our own words (the official text is not copied)."""
    family: str
    """The family (module, article) it belongs to."""
    controls: tuple[str, ...] = ()
    """sovscan control ids that give evidence for it."""
    manual: str | None = None
    """What a person has to check (alone, or in addition to the controls)."""
    line: int = 0
    """Line of the requirement in the catalogue file."""


@dataclass(frozen=True)
class Framework:
    """One framework edition's catalogue."""

    name: str
    """Name used with `--framework`, e.g. `bsi-grundschutz`."""
    edition: str
    """Edition, e.g. `2023`, `2022`, `2020`."""
    title: str
    """Human title."""
    families: tuple[Family, ...]
    """Families in catalogue order."""
    requirements: tuple[Requirement, ...]
    """Requirements in catalogue order."""
    reference_key: str | None = None
    """Key of `Control.references` checked against this catalogue (e.g. `bsi`); None when the
    catalogue is the only place the mapping lives."""
    url: str = ""
    """Where the official text is published."""
    notes: str = ""
    """Scope notes for the reader (what is and is not listed, how the mapping was judged)."""
    external_references: Mapping[str, str] = field(default_factory=dict)
    """Identifiers controls may cite under `reference_key` that are not requirements of this
    catalogue (e.g. a technical guideline), with what they are."""
    source: str = ""
    """Where the catalogue was read from."""

    def family(self, family_id: str) -> Family:
        """The family with this id."""
        for family in self.families:
            if family.id == family_id:
                return family
        raise KeyError(family_id)

    def requirement(self, requirement_id: str) -> Requirement:
        """The requirement with this id."""
        for requirement in self.requirements:
            if requirement.id == requirement_id:
                return requirement
        raise KeyError(requirement_id)

    def mapped_controls(self) -> set[str]:
        """Every control id some requirement maps."""
        return {c for r in self.requirements for c in r.controls}

    def catalogue_coverage(self) -> float:
        """Share of requirements that have at least one mapped control (independent of any scan)."""
        return sum(1 for r in self.requirements if r.controls) / len(self.requirements) if self.requirements else 0.0

    def requirements_for(self, control_id: str) -> tuple[Requirement, ...]:
        """Requirements that map `control_id`."""
        return tuple(r for r in self.requirements if control_id in r.controls)


@dataclass(frozen=True)
class RequirementResult:
    """One requirement's status in one scan."""

    id: str
    """Requirement id."""
    title: str
    """Requirement title."""
    family: str
    """Family id."""
    status: RequirementStatus
    """The requirement's status."""
    controls: tuple[str, ...] = ()
    """Mapped controls evaluated in this scan."""
    not_evaluated: tuple[str, ...] = ()
    """Mapped controls that this scan did not evaluate (other target kinds, tailored out, nothing in scope)."""
    failed: tuple[str, ...] = ()
    """Mapped controls with at least one FAIL."""
    errors: tuple[str, ...] = ()
    """Mapped controls with at least one ERROR."""
    counts: Mapping[str, int] = field(default_factory=dict)
    """Finding status value -> number of findings of the mapped controls."""
    manual: str | None = None
    """What a person still has to check."""


@dataclass(frozen=True)
class FrameworkResult:
    """A framework's per-requirement view of one scan."""

    name: str
    """Framework name."""
    edition: str
    """Edition."""
    title: str
    """Human title."""
    families: tuple[Family, ...]
    """Families in catalogue order."""
    requirements: tuple[RequirementResult, ...]
    """One result per requirement, in catalogue order."""

    def count(self, status: RequirementStatus) -> int:
        """Number of requirements with `status`."""
        return sum(1 for r in self.requirements if r.status is status)

    @property
    def coverage(self) -> float:
        """Share of requirements for which this scan produced automated evidence (0.0 .. 1.0)."""
        if not self.requirements:
            return 0.0
        return sum(1 for r in self.requirements if r.status.automated) / len(self.requirements)


def _catalogue_dir() -> Traversable:
    return files("baselines").joinpath("frameworks")


def builtin_names() -> list[str]:
    """Names of the shipped framework catalogues, sorted."""
    directory = _catalogue_dir()
    if not directory.is_dir():
        return []
    return sorted(p.name.rsplit(".", 1)[0] for p in directory.iterdir() if p.name.endswith(".yaml"))


def load_framework(ref: str) -> Framework:
    """Load a catalogue by built-in name (`bsi-grundschutz`) or by file path; errors name `file:line`."""
    if ref in builtin_names() and not ref.endswith((".yaml", ".yml")):
        resource = _catalogue_dir().joinpath(f"{ref}.yaml")
        document = load_yaml(resource.read_text(encoding="utf-8"), f"baselines/frameworks/{ref}.yaml")
    elif ref.endswith((".yaml", ".yml")) or "/" in ref:
        document = read_yaml(Path(ref), "framework catalogue")
    else:
        known = ", ".join(builtin_names()) or "none"
        raise ConfigError(f"unknown framework '{ref}' (known: {known})")
    return framework_from_document(document)


def load_frameworks(refs: Iterable[str]) -> tuple[Framework, ...]:
    """Load several catalogues (duplicates removed, order kept)."""
    return tuple(load_framework(ref) for ref in dict.fromkeys(refs))


def framework_from_document(document: YamlDocument) -> Framework:
    """Validate a parsed catalogue against its schema and build the Framework."""
    from scanner.baseline import schema  # the schema cache lives there

    validate(document, schema("framework"), "framework catalogue")
    data = document.data
    families = tuple(Family(f["id"], f["title"]) for f in data["families"])
    family_ids = {f.id for f in families}
    if len(family_ids) != len(families):
        raise ConfigError("duplicate family id", document.where(["families"]))
    requirements: list[Requirement] = []
    seen: set[str] = set()
    for index, item in enumerate(data["requirements"]):
        where = document.where(["requirements", index])
        if item["id"] in seen:
            raise ConfigError(f"duplicate requirement id {item['id']}", where)
        seen.add(item["id"])
        if item["family"] not in family_ids:
            raise ConfigError(f"requirement {item['id']} names unknown family {item['family']}", where)
        controls = tuple(item.get("controls", ()))
        if len(set(controls)) != len(controls):
            raise ConfigError(f"requirement {item['id']} lists a control twice", where)
        if not controls and not item.get("manual"):
            raise ConfigError(f"requirement {item['id']} has neither controls nor a manual check", where)
        requirements.append(
            Requirement(
                id=item["id"],
                title=item["title"],
                family=item["family"],
                controls=controls,
                manual=item.get("manual"),
                line=document.line_of(["requirements", index]),
            )
        )
    return Framework(
        name=data["name"],
        edition=str(data["edition"]),
        title=data["title"],
        families=families,
        requirements=tuple(requirements),
        reference_key=data.get("reference_key"),
        url=data.get("url", ""),
        notes=data.get("notes", ""),
        external_references=dict(data.get("external_references", {})),
        source=document.path,
    )


def evaluate(framework: Framework, result: ScanResult) -> FrameworkResult:
    """Compute every requirement's status from a scan's findings (see the module docstring)."""
    from scanner.model import Status

    by_control: dict[str, dict[str, int]] = {}
    for finding in result.findings:
        counts = by_control.setdefault(finding.control_id, {})
        counts[finding.status.value] = counts.get(finding.status.value, 0) + 1
    decisive = (Status.PASS.value, Status.FAIL.value, Status.ERROR.value, Status.WAIVED.value)
    out: list[RequirementResult] = []
    for requirement in framework.requirements:
        evaluated: list[str] = []
        missing: list[str] = []
        totals: dict[str, int] = {}
        for control_id in requirement.controls:
            counts = by_control.get(control_id, {})
            control = result.controls.get(control_id)
            if control is None or control.disabled or not any(counts.get(s) for s in decisive):
                missing.append(control_id)
            else:
                evaluated.append(control_id)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
        failed = tuple(c for c in evaluated if by_control[c].get(Status.FAIL.value))
        errors = tuple(c for c in evaluated if by_control[c].get(Status.ERROR.value))
        waived = any(by_control[c].get(Status.WAIVED.value) for c in evaluated)
        if not requirement.controls:
            status = RequirementStatus.MANUAL
        elif not evaluated:
            status = RequirementStatus.NOT_COVERED
        elif failed:
            status = RequirementStatus.VIOLATED
        elif errors:
            status = RequirementStatus.NOT_VERIFIED
        elif waived:
            status = RequirementStatus.WAIVED
        else:
            status = RequirementStatus.MET
        out.append(
            RequirementResult(
                id=requirement.id,
                title=requirement.title,
                family=requirement.family,
                status=status,
                controls=tuple(evaluated),
                not_evaluated=tuple(missing),
                failed=failed,
                errors=errors,
                counts=totals,
                manual=requirement.manual,
            )
        )
    return FrameworkResult(
        name=framework.name,
        edition=framework.edition,
        title=framework.title,
        families=framework.families,
        requirements=tuple(out),
    )


def evaluate_all(refs: Sequence[str], result: ScanResult) -> tuple[FrameworkResult, ...]:
    """Load the named catalogues and evaluate each on `result`."""
    return tuple(evaluate(framework, result) for framework in load_frameworks(refs))


def requirements_by_control(results: Sequence[FrameworkResult]) -> dict[str, list[tuple[str, str]]]:
    """Control id -> [(framework name, requirement id)] over the given per-requirement views."""
    out: dict[str, list[tuple[str, str]]] = {}
    for framework in results:
        for requirement in framework.requirements:
            for control_id in (*requirement.controls, *requirement.not_evaluated):
                out.setdefault(control_id, []).append((framework.name, requirement.id))
    return out


# --- serialisation (native JSON result) -------------------------------------------------------


def result_to_dict(result: FrameworkResult) -> dict[str, Any]:
    """Serialise a per-requirement view for the native JSON result."""
    return {
        "name": result.name,
        "edition": result.edition,
        "title": result.title,
        "coverage": round(result.coverage, 4),
        "by_status": {s.value: result.count(s) for s in RequirementStatus},
        "families": [{"id": f.id, "title": f.title} for f in result.families],
        "requirements": [
            {
                "id": r.id,
                "title": r.title,
                "family": r.family,
                "status": r.status.value,
                "controls": list(r.controls),
                "not_evaluated": list(r.not_evaluated),
                "failed": list(r.failed),
                "errors": list(r.errors),
                "counts": dict(r.counts),
                "manual": r.manual,
            }
            for r in result.requirements
        ],
    }


def result_from_dict(data: Mapping[str, Any]) -> FrameworkResult:
    """Deserialise a per-requirement view."""
    return FrameworkResult(
        name=data["name"],
        edition=data["edition"],
        title=data["title"],
        families=tuple(Family(f["id"], f["title"]) for f in data["families"]),
        requirements=tuple(
            RequirementResult(
                id=r["id"],
                title=r["title"],
                family=r["family"],
                status=RequirementStatus(r["status"]),
                controls=tuple(r["controls"]),
                not_evaluated=tuple(r["not_evaluated"]),
                failed=tuple(r["failed"]),
                errors=tuple(r["errors"]),
                counts=dict(r["counts"]),
                manual=r.get("manual"),
            )
            for r in data["requirements"]
        ),
    )


# --- drift between control references and catalogues ------------------------------------------

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9.()_-]*|[0-9]+\([0-9a-z()]+")
MODULE_LEVEL = "controls that cite the module, not one requirement"
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
_CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Za-z0-9]+)+$")


@dataclass(frozen=True)
class Drift:
    """One disagreement between a control's `references` and a catalogue."""

    framework: str
    """Catalogue name."""
    control_id: str
    """The control."""
    reference: str
    """The requirement or family id concerned."""
    problem: str
    """`missing-mapping` (the control cites it, the catalogue does not map the control there),
    `unreferenced-mapping` (the catalogue maps it, the control does not cite it or its family),
    `unknown-reference` (the control cites an id the catalogue does not know)."""

    def __str__(self) -> str:
        text = {
            "missing-mapping": "cites {ref}, but the catalogue does not map the control there",
            "unreferenced-mapping": "is mapped to {ref} by the catalogue, but its references do not cite it",
            "unknown-reference": "cites {ref}, which the catalogue does not know",
        }[self.problem]
        return f"{self.framework}: {self.control_id} " + text.format(ref=self.reference)


def drift(framework: Framework, controls: Mapping[str, Mapping[str, Sequence[str]]]) -> list[Drift]:
    """Compare a catalogue with controls' references (control id -> references by framework key).

    The rule: a control's reference `X` under the catalogue's `reference_key` is satisfied when the
    catalogue maps the control to requirement `X`, or — when `X` is a family id (a whole BSI module,
    a NIS2 article point) — to any requirement of that family. Every mapping of a control the
    catalogue makes must be backed by a reference to the requirement or to its family. Controls
    not in `controls` are not judged (they live in baselines not present here).
    """
    if framework.reference_key is None:
        return []
    key = framework.reference_key
    requirement_ids = {r.id: r for r in framework.requirements}
    family_ids = {f.id for f in framework.families}
    out: list[Drift] = []
    for control_id, references in sorted(controls.items()):
        cited = list(references.get(key, ()))
        mapped = framework.requirements_for(control_id)
        mapped_ids = {r.id for r in mapped}
        mapped_families = {r.family for r in mapped}
        for ref in cited:
            if ref in framework.external_references:
                continue
            if ref in family_ids:
                if ref not in mapped_families:
                    out.append(Drift(framework.name, control_id, ref, "missing-mapping"))
            elif ref in requirement_ids:
                if ref not in mapped_ids:
                    out.append(Drift(framework.name, control_id, ref, "missing-mapping"))
            else:
                out.append(Drift(framework.name, control_id, ref, "unknown-reference"))
        for requirement in mapped:
            if requirement.id not in cited and requirement.family not in cited:
                out.append(Drift(framework.name, control_id, requirement.id, "unreferenced-mapping"))
    return out


def unknown_controls(framework: Framework, known: Iterable[str]) -> list[str]:
    """Control ids the catalogue maps that are not in `known` (not loaded here: another branch, a typo)."""
    known_set = set(known)
    return sorted(c for c in framework.mapped_controls() if c not in known_set)


def malformed_control_ids(framework: Framework) -> list[str]:
    """Mapped control ids that do not look like control ids at all."""
    return sorted(c for c in framework.mapped_controls() if not _CONTROL_ID.match(c))


def dump_catalogue(framework: Framework) -> str:
    """The canonical YAML text of a catalogue (what `scripts/frameworks-sync --write` writes)."""
    import json

    def scalar(value: str) -> str:
        plain = _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS
        return value if plain else json.dumps(value, ensure_ascii=False)

    lines = [
        "# Framework catalogue: requirements (titles in our own words) and the sovscan controls that give",
        "# evidence for them. Schema: scanner/schema/framework.schema.json. Kept in sync with the controls'",
        "# `references` by tests/compliance/test_catalogues.py; reconcile with scripts/frameworks-sync.",
        "apiVersion: sovscan/v1",
        "kind: Framework",
        f"name: {scalar(framework.name)}",
        f"edition: {json.dumps(framework.edition)}",
        f"title: {scalar(framework.title)}",
    ]
    if framework.reference_key:
        lines.append(f"reference_key: {scalar(framework.reference_key)}")
    if framework.url:
        lines.append(f"url: {scalar(framework.url)}")
    if framework.notes:
        lines.append(f"notes: {scalar(framework.notes)}")
    if framework.external_references:
        lines.append("external_references:")
        lines.extend(f"  {scalar(k)}: {scalar(v)}" for k, v in framework.external_references.items())
    lines.append("families:")
    for family in framework.families:
        lines.append(f"  - {{id: {scalar(family.id)}, title: {scalar(family.title)}}}")
    lines.append("requirements:")
    for requirement in framework.requirements:
        lines.append(f"  - id: {scalar(requirement.id)}")
        lines.append(f"    family: {scalar(requirement.family)}")
        lines.append(f"    title: {scalar(requirement.title)}")
        if requirement.controls:
            lines.append(f"    controls: [{', '.join(requirement.controls)}]")
        if requirement.manual:
            lines.append(f"    manual: {scalar(requirement.manual)}")
    return "\n".join(lines) + "\n"


def reconcile(framework: Framework, controls: Mapping[str, Mapping[str, Sequence[str]]]) -> Framework:
    """Return the catalogue changed so that `drift(framework, controls)` is empty where it can be.

    A missing mapping is added (to the cited requirement, or to the family's module-level entry —
    the requirement whose id is the family id, created when absent); a mapping no reference backs
    is removed (a requirement left with neither controls nor manual text gets a manual note).
    Unknown references are left for a person: they are typos or a requirement to add by hand.
    """
    problems = drift(framework, controls)
    requirements = list(framework.requirements)

    def index_of(requirement_id: str) -> int | None:
        return next((i for i, r in enumerate(requirements) if r.id == requirement_id), None)

    for item in problems:
        if item.problem == "missing-mapping":
            target = item.reference
            index = index_of(target)
            if index is None:  # a family cited as a whole, with no module-level entry yet
                family = framework.family(target)
                last = max((i for i, r in enumerate(requirements) if r.family == target), default=len(requirements) - 1)
                requirements.insert(
                    last + 1,
                    Requirement(
                        id=target,
                        title=f"{family.title}: the module as a whole ({MODULE_LEVEL})",
                        family=target,
                    ),
                )
                index = last + 1
            current = requirements[index]
            if item.control_id not in current.controls:
                requirements[index] = replace_requirement(current, (*current.controls, item.control_id))
        elif item.problem == "unreferenced-mapping":
            index = index_of(item.reference)
            if index is not None:
                current = requirements[index]
                kept = tuple(c for c in current.controls if c != item.control_id)
                requirements[index] = replace_requirement(current, kept)
    return Framework(
        name=framework.name,
        edition=framework.edition,
        title=framework.title,
        families=framework.families,
        requirements=tuple(requirements),
        reference_key=framework.reference_key,
        url=framework.url,
        notes=framework.notes,
        external_references=framework.external_references,
        source=framework.source,
    )


def replace_requirement(requirement: Requirement, controls: tuple[str, ...]) -> Requirement:
    """The requirement with another control list (sorted by prefix and number); never left empty-handed."""
    ordered = tuple(sorted(dict.fromkeys(controls), key=_control_sort_key))
    manual = requirement.manual
    if not ordered and not manual:
        manual = f"No sovscan control maps here any more; check by hand: {requirement.title}."
    return Requirement(
        id=requirement.id,
        title=requirement.title,
        family=requirement.family,
        controls=ordered,
        manual=manual,
        line=requirement.line,
    )


def _control_sort_key(control_id: str) -> tuple[str, int, str]:
    prefix, _, rest = control_id.partition("-")
    digits = re.match(r"\d+", rest)
    return (prefix, int(digits.group()) if digits else 0, rest)
