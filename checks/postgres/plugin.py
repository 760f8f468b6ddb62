"""The `postgres` target kind: naming a target, collecting its evidence, and its checks."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from checks.postgres import contract, databases, hba, roles, server, settings
from checks.postgres.ambient import ambient_credentials as _ambient
from checks.postgres.grants import least_privilege_sql
from checks.postgres.target import KIND, connection_params, databases_option
from checks.postgres.target import parse_target as _parse_target
from scanner.interface import CheckSpec, Secret, Target, TargetPlugin
from scanner.model import Evidence


class PostgresPlugin(TargetPlugin):
    """PostgreSQL servers, read over read-only psycopg sessions."""

    kind = KIND
    description = "PostgreSQL servers (psycopg 3; read-only sessions; CIS PostgreSQL 17, BSI APP.4.3)"

    def checks(self) -> Sequence[CheckSpec]:
        """Every PostgreSQL check function."""
        return (*settings.CHECKS, *server.CHECKS, *hba.CHECKS, *roles.CHECKS, *databases.CHECKS)

    def baselines(self) -> Sequence[Traversable]:
        """The built-in baseline `baselines/postgres.yaml`."""
        return (files("baselines") / "postgres.yaml",)

    def parse_target(self, value: str) -> Target:
        """A libpq URL, key=value conninfo or host[:port]; passwords in it are refused."""
        return _parse_target(value)

    def validate_target(self, target: Target) -> None:
        """Reject options that are not libpq parameters, hold secrets, or are set by sovscan."""
        connection_params(target, {}, 1.0)
        databases_option(target)

    def collect(self, target: Target, secrets: Mapping[str, Secret], timeout: float) -> Evidence:
        """Read the server over read-only sessions (see `checks.postgres.collect`)."""
        from checks.postgres import collect as collector  # psycopg only for PostgreSQL targets (0.2 s of start-up)

        return collector.collect(target, secrets, timeout)

    def evidence_contract(self) -> Mapping[str, Mapping[str, Any]]:
        """Section name -> JSON Schema of its data (`checks.postgres.contract`)."""
        return contract.CONTRACT

    def ambient_credentials(self, target: Target) -> Mapping[str, Secret]:
        """PGPASSWORD, matching .pgpass entries and service-file passwords libpq would use for `target`."""
        return _ambient(target)

    def least_privilege(self, target: Target, sections: Collection[str]) -> str | None:
        """The GRANT statements that let a dedicated login role read exactly `sections`."""
        return least_privilege_sql(sections, databases_option(target))


PLUGIN = PostgresPlugin()
"""The plugin instance registered under the `sovscan.checks` entry point `postgres`."""
