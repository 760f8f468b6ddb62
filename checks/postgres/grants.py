"""Least-privilege grants for a dedicated PostgreSQL scanning role (for `sovscan doctor` and the README).

sovscan needs no superuser for most sections: `pg_monitor` gives every setting (through
pg_read_all_settings) and every session (pg_read_all_stats). Two sections need more:
`hba_rules` an explicit GRANT on pg_hba_file_rules, and `password_hashes` superuser
(pg_authid is readable by superusers only; without it PG-05's hash part is ERROR).
"""

from __future__ import annotations

from collections.abc import Collection

ROLE = "sovscan"
"""The role name used in the generated SQL."""

_BASE = (
    f"CREATE ROLE {ROLE} LOGIN CONNECTION LIMIT 3;  -- set its password with \\password {ROLE} (scram-sha-256)",
    f"GRANT pg_monitor TO {ROLE};  -- every setting (pg_read_all_settings) and session (pg_read_all_stats)",
)
_BY_SECTION = {
    "hba_rules": (
        f"GRANT SELECT ON pg_catalog.pg_hba_file_rules TO {ROLE};",
        f"GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO {ROLE};",
    ),
    "server": (
        "-- optional: lets sovscan tell whether pg_hba.conf changed since the last reload",
        f"GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text) TO {ROLE};",
    ),
    "databases": (
        "-- in each database to judge (PUBLIC often has CONNECT already):",
        f"-- GRANT CONNECT ON DATABASE name TO {ROLE};",
    ),
    "password_hashes": (
        "-- password_hashes: only a superuser may read pg_authid; without it PG-05 reports its hash part as ERROR",
    ),
}


def least_privilege_sql(sections: Collection[str], databases: Collection[str] | None = None) -> str:
    """The SQL that lets role `sovscan` read `sections` (and nothing it does not need).

    With `databases` (the target's `databases` option), CONNECT is granted on exactly those
    instead of the commented template line.
    """
    lines = list(_BASE)
    for name, statements in _BY_SECTION.items():
        if name in sections:
            if name == "databases" and databases:
                lines.extend(
                    f'GRANT CONNECT ON DATABASE "{d.replace(chr(34), chr(34) * 2)}" TO {ROLE};' for d in databases
                )
            else:
                lines.extend(statements)
    lines.append(f"ALTER ROLE {ROLE} SET default_transaction_read_only = on;")
    return "\n".join(lines) + "\n"
