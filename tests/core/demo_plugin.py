"""A small real target plugin used by the core tests: it reads facts from a local JSON file.

It is registered through a generated entry point (see conftest.py), exactly as a third-party
package would be, so the tests exercise plugin discovery too.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from scanner.errors import CollectionError, ConfigError
from scanner.interface import (
    CheckSpec,
    Reporter,
    ReporterOption,
    ReportOptions,
    Secret,
    Target,
    TargetPlugin,
    check,
)
from scanner.model import CheckResult, Evidence, ScanResult, Status

HERE = Path(__file__).parent


@check("demo.users_mfa", needs=("users",), params={"exempt": {"type": "array", "items": {"type": "string"}}})
def users_mfa(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Every user has MFA unless exempt."""
    for user in evidence.section("users"):
        resource = evidence.resource("user", user["name"], f"users/{user['name']}")
        if user["name"] in params.get("exempt", []) or user["mfa"]:
            yield CheckResult(resource, Status.PASS, f"{user['name']} has MFA or is exempt", user["mfa"], True)
        else:
            yield CheckResult(resource, Status.FAIL, f"{user['name']} has no MFA", user["mfa"], True)


@check("demo.crash", needs=("users",))
def crash(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """A check with a bug."""
    raise KeyError("boom")


@check("demo.nothing")
def nothing(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """A buggy check that returns nothing instead of an explicit NOT_APPLICABLE."""
    return []


@check("demo.sneaky", needs=("settings",))
def sneaky(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """A buggy check that reads a section (`users`) it does not declare in `needs`."""
    users = evidence.section("users")
    yield CheckResult(evidence.resource("target", evidence.target), Status.PASS, f"{len(users)} users")


AMBIENT_VARIABLE = "DEMO_AMBIENT_TOKEN"
"""The demo kind's ambient credential: picked up from the environment like PGPASSWORD."""

CONTRACT: Mapping[str, Mapping[str, Any]] = {
    "users": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "mfa"],
            "properties": {"name": {"type": "string"}, "mfa": {"type": "boolean"}},
        },
    },
    "settings": {"type": "array", "items": {"type": "object", "required": ["name"]}},
}
"""The demo kind's evidence contract."""


class DemoPlugin(TargetPlugin):
    """Target kind `demo`: VALUE is a JSON file of facts: {"sections": {...}, "errors": {...}}."""

    kind = "demo"
    description = "test plugin reading facts from a JSON file"

    def checks(self) -> Sequence[CheckSpec]:
        """All demo checks."""
        return (users_mfa, crash, nothing, sneaky)

    def baselines(self) -> Sequence[Traversable]:
        """The demo baseline."""
        from importlib.resources import files

        return (files("tests.core").joinpath("data", "demo.yaml"),)

    def parse_target(self, value: str) -> Target:
        """VALUE is a file path; `bad:` values are rejected."""
        if value.startswith("bad:"):
            raise ConfigError("demo targets are file paths")
        return Target(id=f"demo-{Path(value).stem}", kind="demo", url=value)

    def ambient_credentials(self, target: Target) -> Mapping[str, Secret]:
        """The token in DEMO_AMBIENT_TOKEN, when set (the collector "uses" it without a reference)."""
        value = os.environ.get(AMBIENT_VARIABLE)
        return {"token": Secret(value)} if value else {}

    def evidence_contract(self) -> Mapping[str, Mapping[str, Any]]:
        """The demo sections' schemas."""
        return CONTRACT

    def collect(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
        """Read the facts file; honour `sleep`, `fail` (`{password}`/`{ambient}` in it are echoed), echo secrets.

        `echo_ambient` echoes the ambient token into a section, a section error and the metadata;
        `metadata` is passed through (e.g. `insecure_transport`).
        """
        try:
            facts = json.loads(Path(target.url).read_text())
        except OSError as exc:
            raise CollectionError(CollectionError.UNREACHABLE, f"cannot open {target.url}: {exc.strerror}") from None
        time.sleep(float(facts.get("sleep", 0)))
        if facts.get("fail"):
            echoed = secrets["password"].reveal() if "password" in secrets else ""
            ambient = os.environ.get(AMBIENT_VARIABLE, "")
            message = facts["fail"].replace("{password}", echoed).replace("{ambient}", ambient)
            raise CollectionError(CollectionError.AUTHENTICATION, message)
        if facts.get("explode"):
            raise RuntimeError("collector bug")
        sections = dict(facts.get("sections", {}))
        errors = dict(facts.get("errors", {}))
        metadata = dict(facts.get("metadata", {}))
        if "password" in secrets and facts.get("echo_password"):
            sections["banner"] = f"server says: password={secrets['password'].reveal()}"
        if facts.get("echo_ambient"):
            ambient = os.environ.get(AMBIENT_VARIABLE, "")
            logging.getLogger("demo.client").warning("retrying with token %s", ambient)
            sections["banner"] = f"server says: token {ambient} accepted"
            errors["groups"] = f"permission denied for token {ambient}"
            metadata["account"] = f"token:{ambient}"
        return Evidence(
            target=target.id,
            kind="demo",
            uri=f"demo://{Path(target.url).stem}",
            sections=sections,
            errors=errors,
            metadata=metadata,
        )


class WarningReporter(Reporter):
    """A reporter that has to leave something out and warns about it, as SARIF does at GitHub's limits."""

    name = "warny"

    def render(self, result: ScanResult, options: ReportOptions) -> str:
        """Render a count, with a warning."""
        import warnings

        warnings.warn(UserWarning("warny: 2 results left out to stay under a limit"), stacklevel=2)
        prefix = str(options.value("warny_prefix") or "")
        text = f"{prefix}{len(result.findings)}\n"
        return text.upper() if options.value("warny_shout") else text

    @classmethod
    def options(cls) -> Sequence[ReporterOption]:
        """A third-party reporter's own flags: declared here, no edit of the core."""
        return (
            ReporterOption("--warny-shout", "warny_shout", "warny: shout."),
            ReporterOption("--warny-prefix", "warny_prefix", "warny: text before the count.", is_flag=False),
            ReporterOption("--timeout", "timeout", "taken by scan: left out", is_flag=False),
        )


PLUGIN = DemoPlugin()
