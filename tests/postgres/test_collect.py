"""The collector against real PostgreSQL 15 clusters (started by tests/services/postgres.py)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from checks.postgres import collect as collector
from checks.postgres.plugin import PLUGIN
from checks.postgres.target import connection_params
from scanner.errors import CollectionError
from scanner.interface import Secret, Target
from scanner.model import Evidence, Status
from tests.postgres.conftest import Evaluate, expected_version_statuses, statuses
from tests.services.postgres import APP, APPDB, MONITOR, NOBODY, SUPERUSER, WEAK_APP, ClusterSpec, PgCluster

PASS, FAIL, ERROR = Status.PASS, Status.FAIL, Status.ERROR
SECTIONS = {
    "server", "pg_settings", "roles", "memberships", "role_settings", "password_hashes", "hba_rules", "connections",
    "archiver", "databases",
}  # fmt: skip


def scan(cluster: PgCluster, user: str = SUPERUSER, timeout: float = 20, **options: Any) -> Evidence:
    """Collect a cluster as `user` with its password given as an inventory credential."""
    target = PLUGIN.parse_target(cluster.url(user))
    if options:
        target = replace(target, options={**target.options, **options})
    secrets = {"password": Secret(cluster.password(user))} if cluster.spec.tls else {}
    return PLUGIN.collect(target, secrets, timeout)


def all_passwords(cluster: PgCluster) -> list[str]:
    return [cluster.password(role) for role in cluster.spec.passwords]


@pytest.fixture(scope="module")
def hardened_su(pg_hardened: PgCluster) -> Evidence:
    return scan(pg_hardened)


# -- what the collector reads ----------------------------------------------------------------


def test_superuser_scan_reads_every_section(hardened_su: Evidence, pg_hardened: PgCluster) -> None:
    evidence = hardened_su
    assert set(evidence.sections) == SECTIONS
    assert dict(evidence.errors) == {}
    assert evidence.target == f"127.0.0.1:{pg_hardened.port}"
    assert evidence.uri == f"postgres://127.0.0.1:{pg_hardened.port}"
    assert evidence.kind == "postgres"
    assert evidence.metadata["read_only"] is True
    assert evidence.metadata["ssl"] is True
    server = evidence.sections["server"]
    assert server["server_version_num"] >= 150000
    assert server["is_superuser"] is True
    assert server["memberships"]["pg_read_all_settings"] is True
    assert server["connection"]["version"] in ("TLSv1.2", "TLSv1.3")
    assert server["hidden_settings"] == []
    assert server["config_loaded_at"] and server["hba_file_modified_at"]  # a superuser may stat pg_hba.conf


def test_sections_have_the_documented_shapes(hardened_su: Evidence) -> None:
    sections = hardened_su.sections
    assert all(set(row) == {"name", "setting", "unit", "source"} for row in sections["pg_settings"])
    settings = {row["name"]: row for row in sections["pg_settings"]}
    assert settings["ssl"]["setting"] == "on"
    assert settings["authentication_timeout"] == {
        "name": "authentication_timeout",
        "setting": "30",
        "unit": "s",
        "source": "configuration file",
    }
    roles = {r["rolname"]: r for r in sections["roles"]}
    assert roles[MONITOR]["member_of"] == ["pg_monitor"]
    assert roles[MONITOR]["rolconnlimit"] == 5
    assert roles[SUPERUSER]["rolsuper"] is True
    hashes = {h["rolname"]: h["hash_type"] for h in sections["password_hashes"]}
    assert all(set(h) == {"rolname", "hash_type"} for h in sections["password_hashes"])
    assert hashes[SUPERUSER] == hashes[APP] == "scram-sha-256"
    assert hashes["pg_monitor"] == "none"
    lines = {r["line_number"]: r for r in sections["hba_rules"]}
    assert lines[3]["type"] == "hostssl"
    assert lines[3]["user_name"] == [SUPERUSER]
    assert lines[6]["netmask"] == "255.255.255.0"
    assert lines[7]["auth_method"] == "reject"
    archiver = sections["archiver"]
    assert archiver["archived_count"] >= 1 and archiver["last_archived_time"] and archiver["now"]
    own = [s for s in sections["connections"]["sessions"] if s["own"]]
    assert own and own[0]["ssl"] is True and own[0]["client_addr"] == "127.0.0.1"
    databases = {d["name"]: d for d in sections["databases"]}
    assert set(databases) >= {"postgres", APPDB, "template0", "template1"}
    assert databases["template0"]["skipped"] and not databases["template0"]["scanned"]
    appdb = databases[APPDB]
    assert appdb["scanned"] is True and appdb["errors"] == {} and appdb["owner"] == APP
    assert appdb["public_schema"]["acl"] == ["pg_database_owner=UC/pg_database_owner", "=U/pg_database_owner"]
    [function] = appdb["secdef_functions"]
    assert function["signature"] == "public.pinned_definer(integer)"
    assert function["search_path"] == "pg_catalog, pg_temp"
    assert {lang["name"]: lang["trusted"] for lang in appdb["languages"]}["plpgsql"] is True
    json.dumps(hardened_su.sections)  # plain JSON


def test_no_password_or_hash_anywhere_in_evidence(hardened_su: Evidence, pg_hardened: PgCluster) -> None:
    text = json.dumps(
        {
            "sections": hardened_su.sections,
            "errors": hardened_su.errors,
            "metadata": hardened_su.metadata,
            "uri": hardened_su.uri,
        }
    )
    for password in all_passwords(pg_hardened):
        assert password not in text
    assert "SCRAM-SHA-256$" not in text


def test_sessions_are_read_only(pg_hardened: PgCluster) -> None:
    """The parameters the collector connects with give a read-only session with a statement timeout."""
    target = PLUGIN.parse_target(pg_hardened.url(SUPERUSER))
    params = connection_params(target, {"password": Secret(pg_hardened.password(SUPERUSER))}, 7)
    with psycopg.connect(**params, autocommit=True) as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert conn.execute("SHOW statement_timeout").fetchone() == ("7s",)
        assert conn.execute("SHOW application_name").fetchone() == ("sovscan",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE must_not_exist (i int)")
    assert pg_hardened.execute("SELECT to_regclass('public.must_not_exist') IS NULL") == [(True,)]


def test_hardened_cluster_passes_all_but_pgaudit(hardened_su: Evidence, evaluate: Evaluate) -> None:
    results = evaluate(hardened_su)
    assert statuses(results.pop("PG-15")) == {"settings/shared_preload_libraries": FAIL}
    assert statuses(results.pop("PG-22")) == expected_version_statuses(hardened_su)
    for control_id, findings in results.items():
        bad = {p: (f.status, f.message) for p, f in findings.items() if f.status is not PASS}
        assert findings and not bad, (control_id, bad)
    assert statuses(results["PG-11"]) == {
        "databases/appdb/schemas/public": PASS,
        "databases/postgres/schemas/public": PASS,
        "databases/template1/schemas/public": PASS,
    }


def test_weak_cluster_fails_each_weakness_on_its_resource(pg_weak: PgCluster, evaluate: Evaluate) -> None:
    # An open plain-text session of the md5 role, from 127.0.0.1 (exempt as loopback by default).
    with psycopg.connect(
        host="127.0.0.1", port=pg_weak.port, user=WEAK_APP, password=pg_weak.password(WEAK_APP), dbname=APPDB
    ):
        evidence = scan(pg_weak)
    results = {cid: statuses(f) for cid, f in evaluate(evidence).items()}
    assert results["PG-01"] == {"settings/ssl": FAIL}
    assert results["PG-02"] == {"settings/ssl_min_protocol_version": FAIL, "settings/ssl_ciphers": FAIL}
    assert results["PG-03"] == {"hba/line/3": FAIL, "hba/line/4": FAIL, "connections": PASS}
    assert results["PG-04"] == {f"hba/line/{n}": FAIL for n in (1, 2, 3, 4)}
    assert results["PG-05"] == {"settings/password_encryption": FAIL, "roles/weak_app": FAIL, "roles/admin2": FAIL}
    assert results["PG-06"] == {"hba/line/3": FAIL, "hba/line/4": FAIL}
    assert results["PG-07"] == {"hba/line/3": FAIL, "hba/line/4": FAIL}
    assert results["PG-09"] == {"roles": FAIL, "roles/admin2": FAIL}
    assert results["PG-10"] == {"roles/admin2": FAIL, "roles/weak_app": FAIL}
    assert results["PG-11"]["databases/appdb/schemas/public"] is FAIL
    assert results["PG-11"]["databases/postgres/schemas/public"] is PASS
    assert results["PG-12"]["databases/appdb/functions/public.unpinned_definer(integer)"] is FAIL
    assert results["PG-13"]["settings/log_connections"] is FAIL
    assert results["PG-13"]["settings/log_disconnections"] is FAIL
    assert results["PG-14"]["settings/log_statement"] is FAIL
    assert results["PG-17"]["settings/authentication_timeout"] is FAIL
    assert results["PG-19"]["databases/appdb/extensions/dblink"] is FAIL
    assert results["PG-20"] == {"settings/archive_mode": FAIL, "settings/archive_command": FAIL, "archiver": FAIL}
    assert results["PG-21"] == {"settings/data_checksums": FAIL}
    assert results["PG-25"] == {"settings/log_destination": FAIL}  # stderr, no logging collector
    assert results["PG-26"] == {"settings/log_replication_commands": FAIL}
    assert results["PG-27"]["settings/debug_print_plan"] is FAIL
    assert results["PG-28"] == {"settings/unix_socket_permissions": FAIL}  # the default 0777
    assert results["PG-29"] == {"hba/line/3": FAIL}
    assert results["PG-30"]["databases/appdb"] is FAIL
    assert results["PG-24"] == {"settings/listen_addresses": PASS}  # 127.0.0.1: the tests bind loopback only
    live = evaluate(evidence, only="PG-03", exempt_loopback=False)["PG-03"]
    assert live[f"connections/{WEAK_APP}@127.0.0.1"].status is FAIL
    assert live["hba/line/2"].status is FAIL


# -- less privileged scanning roles ---------------------------------------------------------


def test_pg_monitor_role_errors_where_superuser_is_needed(pg_hardened: PgCluster, evaluate: Evaluate) -> None:
    evidence = scan(pg_hardened, MONITOR)
    assert set(evidence.errors) == {"hba_rules", "password_hashes"}
    assert "superuser" in evidence.errors["password_hashes"]
    assert "pg_hba_file_rules" in evidence.errors["hba_rules"]
    assert evidence.errors["hba_rules"].startswith("permission denied")
    assert evidence.sections["server"]["hidden_settings"] == []
    results = evaluate(evidence)
    for control_id in ("PG-04", "PG-06", "PG-07"):
        [finding] = results[control_id].values()
        assert finding.status is ERROR and "pg_hba_file_rules" in finding.message, control_id
    for control_id in ("PG-03", "PG-05"):  # they read a section the role may not: ERROR as a whole
        [finding] = results[control_id].values()
        assert finding.status is ERROR and "superuser" in finding.message, control_id
    for control_id in ("PG-01", "PG-02", "PG-09", "PG-11", "PG-13", "PG-14", "PG-17", "PG-20", "PG-21"):
        assert {f.status for f in results[control_id].values()} == {PASS}, control_id
    assert results["PG-22"]["server"].status is PASS


def test_unprivileged_role_never_passes_what_it_cannot_see(pg_hardened: PgCluster, evaluate: Evaluate) -> None:
    evidence = scan(pg_hardened, NOBODY)
    hidden = set(evidence.sections["server"]["hidden_settings"])
    assert {"ssl_ciphers", "ssl_min_protocol_version", "shared_preload_libraries"} <= hidden
    appdb = next(d for d in evidence.sections["databases"] if d["name"] == APPDB)
    assert appdb["scanned"] is False and "CONNECT" in appdb["error"]
    results = {cid: statuses(f) for cid, f in evaluate(evidence).items()}
    assert results["PG-02"] == {"settings/ssl_min_protocol_version": ERROR, "settings/ssl_ciphers": ERROR}
    assert results["PG-15"] == {"settings/shared_preload_libraries": ERROR}
    assert results["PG-17"]["settings/shared_preload_libraries"] is ERROR
    assert list(results["PG-03"].values()) == [ERROR]
    for control_id in ("PG-11", "PG-12", "PG-19"):
        assert results[control_id]["databases/appdb"] is ERROR, control_id
        assert results[control_id]  # the other databases are still judged
    assert results["PG-11"]["databases/postgres/schemas/public"] is PASS
    assert results["PG-01"] == {"settings/ssl": PASS}


def test_explicit_grant_on_pg_hba_file_rules_is_enough(pg_hardened: PgCluster, evaluate: Evaluate) -> None:
    objects = ("SELECT ON pg_hba_file_rules", "EXECUTE ON FUNCTION pg_hba_file_rules()")
    pg_hardened.execute("; ".join(f"GRANT {o} TO {NOBODY}" for o in objects))
    try:
        evidence = scan(pg_hardened, NOBODY)
    finally:
        pg_hardened.execute("; ".join(f"REVOKE {o} FROM {NOBODY}" for o in objects))
    assert "hba_rules" in scan(pg_hardened, NOBODY).errors  # the grant is gone again
    assert "hba_rules" in evidence.sections and "hba_rules" not in evidence.errors
    assert "password_hashes" in evidence.errors
    assert statuses(evaluate(evidence, only="PG-04")["PG-04"]) == {"hba": PASS}


@contextlib.contextmanager
def hba_on_disk(cluster: PgCluster, text: str) -> Iterator[None]:
    """Write pg_hba.conf WITHOUT reloading (the server keeps its rules); restore it and reload afterwards."""
    path = cluster.data / "pg_hba.conf"
    original, stat_before = path.read_text(), path.stat()
    path.write_text(text)
    future = time.time() + 5  # pg_stat_file() has second resolution: be clearly after the last load
    os.utime(path, (future, future))
    try:
        yield
    finally:
        path.write_text(original)
        os.utime(path, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
        cluster.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 30
        check = "SELECT pg_conf_load_time() >= (pg_stat_file(current_setting('hba_file'))).modification"
        while cluster.execute(check) != [(True,)] and time.monotonic() < deadline:
            time.sleep(0.1)


def test_hba_file_edited_without_reload_is_error(pg_hardened: PgCluster, evaluate: Evaluate) -> None:
    """The server still runs the old rules: judging the file on disk would judge rules not in force."""
    original = (pg_hardened.data / "pg_hba.conf").read_text()
    with hba_on_disk(pg_hardened, original + "# edited, not reloaded\n"):
        evidence = scan(pg_hardened)
    server = evidence.sections["server"]
    modified, loaded = (datetime.fromisoformat(server[k]) for k in ("hba_file_modified_at", "config_loaded_at"))
    assert modified > loaded
    results = evaluate(evidence)
    for control_id in ("PG-04", "PG-06", "PG-07"):
        [finding] = results[control_id].values()
        assert finding.status is ERROR and "not the rules in force" in finding.message, control_id
    assert statuses(evaluate(scan(pg_hardened), only="PG-04")["PG-04"]) == {"hba": PASS}  # reloaded: judged again


def test_empty_hba_file_on_disk_is_error_not_pass(pg_hardened: PgCluster, evaluate: Evaluate) -> None:
    """pg_hba_file_rules returns no row; the server refuses to load an empty file and keeps its rules."""
    objects = ("SELECT ON pg_hba_file_rules", "EXECUTE ON FUNCTION pg_hba_file_rules()")
    pg_hardened.execute("; ".join(f"GRANT {o} TO {NOBODY}" for o in objects))
    try:
        with hba_on_disk(pg_hardened, "# nothing here\n"):
            evidence = scan(pg_hardened, NOBODY)  # still admitted: the rules in force are the old ones
    finally:
        pg_hardened.execute("; ".join(f"REVOKE {o} FROM {NOBODY}" for o in objects))
    assert evidence.sections["hba_rules"] == []
    assert evidence.sections["server"]["hba_file_modified_at"] is None  # this role may not stat the file
    results = evaluate(evidence)
    for control_id in ("PG-04", "PG-06", "PG-07"):
        [finding] = results[control_id].values()
        assert finding.status is ERROR and "no rule" in finding.message, control_id
    assert statuses(results["PG-03"])["hba"] is ERROR


def test_settings_holding_credentials_never_reach_evidence(pg_factory: Any, evaluate: Evaluate) -> None:
    conninfo_password = "pw-replica-" + secrets.token_hex(6)
    archive_token = "tok-archive-" + secrets.token_hex(6)
    ldap_password = "pw-ldap-" + secrets.token_hex(6)
    radius_secret = "rad-" + secrets.token_hex(6)
    spec = ClusterSpec(
        name="secrets",
        settings={
            "primary_conninfo": f"host=10.9.9.9 user=replicator password={conninfo_password} sslmode=verify-full",
            "archive_mode": True,
            "archive_command": f"ARCHIVE_TOKEN={archive_token} cp %p {{base}}/archive/%f",
        },
        hba=(
            "{admin}",
            f"host all {SUPERUSER} 127.0.0.1/32 trust",
            'host all ldap_users 10.1.1.0/24 ldap ldapserver=ldap.example ldapbasedn="dc=example" '
            f'ldapbinddn="cn=pg,dc=example" ldapbindpasswd="{ldap_password}"',
            f"host all radius_users 10.1.2.0/24 radius radiusservers=127.0.0.1 radiussecrets={radius_secret}",
        ),
    )
    cluster = pg_factory(spec)
    evidence = scan(cluster)
    text = json.dumps({"sections": evidence.sections, "errors": evidence.errors, "metadata": evidence.metadata})
    for secret in (conninfo_password, archive_token, ldap_password, radius_secret):
        assert secret not in text
    options = [opt for rule in evidence.sections["hba_rules"] for opt in rule.get("options") or []]
    assert "ldapbindpasswd=[REDACTED]" in options and "radiussecrets=[REDACTED]" in options
    assert "ldapserver=ldap.example" in options  # the rest of the rule stays readable
    settings = {row["name"]: row["setting"] for row in evidence.sections["pg_settings"]}
    assert settings["primary_conninfo"] == "host=10.9.9.9 user=replicator password=[REDACTED] sslmode=verify-full"
    assert settings["archive_command"] == "[REDACTED]"
    assert settings["password_encryption"] == "scram-sha-256"  # a setting named "password..." is not a secret
    found = evaluate(evidence, only="PG-20")["PG-20"]
    assert found["settings/archive_command"].status is PASS  # "is it set?" still answered
    assert archive_token not in json.dumps([f.message for f in found.values()])


def test_databases_option_restricts_per_database_reads(pg_hardened: PgCluster, evaluate: Evaluate) -> None:
    evidence = scan(pg_hardened, databases=[APPDB, "nosuchdb"])
    items = {d["name"]: d for d in evidence.sections["databases"]}
    assert items[APPDB]["scanned"] is True
    assert items["template1"]["skipped"] == "not selected by the target's 'databases' option"
    assert "does not exist" in items["nosuchdb"]["error"]
    found = statuses(evaluate(evidence, only="PG-11")["PG-11"])
    assert found == {"databases/appdb/schemas/public": PASS, "databases/nosuchdb": ERROR}


# -- credentials the libpq way ----------------------------------------------------------------


def test_pgpassword_environment_variable(pg_hardened: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", pg_hardened.password(MONITOR))
    evidence = PLUGIN.collect(PLUGIN.parse_target(pg_hardened.url(MONITOR)), {}, 20)
    assert evidence.sections["server"]["current_user"] == MONITOR


def test_pgpass_file(pg_hardened: PgCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_hardened.port}:*:{MONITOR}:{pg_hardened.password(MONITOR)}\n")
    pgpass.chmod(stat.S_IRUSR | stat.S_IWUSR)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    evidence = PLUGIN.collect(PLUGIN.parse_target(pg_hardened.url(MONITOR)), {}, 20)
    assert evidence.sections["server"]["current_user"] == MONITOR


# -- targets that cannot be read ------------------------------------------------------------


def expect_failure(target: Target, secrets: dict[str, Secret], reason: str, timeout: float = 10) -> CollectionError:
    with pytest.raises(CollectionError) as info:
        PLUGIN.collect(target, secrets, timeout)
    assert info.value.reason == reason, str(info.value)
    return info.value


def test_wrong_password_is_authentication_failure_without_the_password(pg_hardened: PgCluster) -> None:
    wrong = "pw-wrong-" + "Zq81xK"
    error = expect_failure(
        PLUGIN.parse_target(pg_hardened.url(MONITOR)), {"password": Secret(wrong)}, CollectionError.AUTHENTICATION
    )
    assert wrong not in str(error)
    assert pg_hardened.password(MONITOR) not in str(error)
    assert "password authentication failed" in str(error)


def test_missing_password_is_credentials_unavailable(
    pg_hardened: PgCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "absent"))
    expect_failure(PLUGIN.parse_target(pg_hardened.url(MONITOR)), {}, CollectionError.CREDENTIALS)


def test_no_hba_entry_is_authentication_failure(pg_hardened: PgCluster) -> None:
    url = pg_hardened.url(APP, dbname="postgres")  # app_user may only reach appdb
    expect_failure(PLUGIN.parse_target(url), {"password": Secret(pg_hardened.password(APP))}, "authentication failed")


def test_closed_port_is_unreachable(closed_port: int) -> None:
    error = expect_failure(
        PLUGIN.parse_target(f"postgresql://scanner@127.0.0.1:{closed_port}/postgres?sslmode=disable"),
        {"password": Secret("pw-never-used")},
        CollectionError.UNREACHABLE,
    )
    assert "pw-never-used" not in str(error)


def test_silent_server_times_out(silent_port: int) -> None:
    target = PLUGIN.parse_target(f"postgresql://scanner@127.0.0.1:{silent_port}/postgres?sslmode=disable")
    expect_failure(target, {}, CollectionError.TIMEOUT, timeout=2)


def test_untrusted_certificate_is_tls_error(pg_hardened: PgCluster) -> None:
    url = pg_hardened.url(MONITOR, sslmode="verify-full", sslrootcert=str(pg_hardened.other_ca_file))
    expect_failure(PLUGIN.parse_target(url), {"password": Secret(pg_hardened.password(MONITOR))}, CollectionError.TLS)


def test_tls_required_but_server_has_none_is_tls_error(pg_weak: PgCluster) -> None:
    expect_failure(PLUGIN.parse_target(pg_weak.url(SUPERUSER, sslmode="require")), {}, CollectionError.TLS)


def test_sections_share_one_time_budget(pg_hardened: PgCluster) -> None:
    target = PLUGIN.parse_target(pg_hardened.url(MONITOR))
    params = connection_params(target, {"password": Secret(pg_hardened.password(MONITOR))}, 30)
    with psycopg.connect(**params, autocommit=True) as conn:
        reader = collector.SectionReader(conn, time.monotonic() + 0.5, [])
        reader.read("archiver", lambda: conn.execute("SELECT pg_sleep(5)").fetchall())
        assert reader.errors["archiver"] == "timed out: reading archiver was cancelled by the statement timeout"
        called = []
        late = collector.SectionReader(conn, time.monotonic() - 1, [])
        late.read("roles", lambda: called.append(1))
        assert not called and late.errors["roles"].startswith("timed out")
        assert "roles" not in late.data


def test_scrub_removes_secrets_and_password_assignments() -> None:
    message = "failed: password=hunter2-xyz user=x postgresql://u:hunter2-xyz@h/db and Pw0rd-Secret"
    cleaned = collector.scrub(message, ["Pw0rd-Secret"])
    assert "hunter2-xyz" not in cleaned and "Pw0rd-Secret" not in cleaned
    assert "password=***" in cleaned


def test_pgaudit_passes_when_loaded(pg_factory: Any, evaluate: Evaluate) -> None:
    from tests.services.postgres import HARDENED

    spec = replace(
        HARDENED,
        name="pgaudit",
        settings={**HARDENED.settings, "shared_preload_libraries": "auth_delay,pgaudit", "pgaudit.log": "ddl, write"},
        setup=(*HARDENED.setup, ("postgres", "CREATE EXTENSION pgaudit"), (APPDB, "CREATE EXTENSION pgaudit")),
    )
    cluster = pg_factory(spec)
    cluster.execute("CREATE EXTENSION pgaudit", "template1")
    found = statuses(evaluate(scan(cluster), only="PG-15")["PG-15"])
    assert found and set(found.values()) == {PASS}


# -- settings as they apply, privileges as they are granted ---------------------------------


def test_role_and_database_overrides_are_read_and_judged(pg_hardened: PgCluster, evaluate: Evaluate) -> None:
    setup = (
        f"ALTER ROLE {APP} SET log_statement = 'none'",
        f"ALTER DATABASE {APPDB} SET log_min_messages = 'panic'",
        f"ALTER ROLE {APP} IN DATABASE {APPDB} SET pgaudit.log = 'none'",
    )
    undo = (
        f"ALTER ROLE {APP} RESET log_statement",
        f"ALTER DATABASE {APPDB} RESET log_min_messages",
        f"ALTER ROLE {APP} IN DATABASE {APPDB} RESET pgaudit.log",
    )
    pg_hardened.execute("; ".join(setup))
    try:
        evidence = scan(pg_hardened, MONITOR)  # pg_db_role_setting needs no superuser
    finally:
        pg_hardened.execute("; ".join(undo))
    results = evaluate(evidence)
    assert statuses(results["PG-14"])["settings/log_statement"] is PASS  # the scanner's own session: fine
    assert statuses(results["PG-23"]) == {
        f"roles/{APP}/settings/log_statement": FAIL,
        f"databases/{APPDB}/settings/log_min_messages": FAIL,
        f"databases/{APPDB}/roles/{APP}/settings/pgaudit.log": FAIL,
    }
    assert statuses(evaluate(scan(pg_hardened, MONITOR), only="PG-23")["PG-23"]) == {"role-settings": PASS}


def test_privileges_reached_through_membership_chains_fail(pg_hardened: PgCluster, evaluate: Evaluate) -> None:
    setup = (
        "CREATE ROLE chain_readers NOLOGIN",
        "GRANT pg_read_all_data TO chain_readers",
        "CREATE ROLE chain_creators NOLOGIN CREATEDB",
        "CREATE ROLE chain_user LOGIN NOINHERIT CONNECTION LIMIT 1",
        "GRANT chain_readers, chain_creators TO chain_user",
    )
    pg_hardened.execute("; ".join(setup))
    try:
        evidence = scan(pg_hardened, MONITOR)
    finally:
        pg_hardened.execute("DROP ROLE chain_user; DROP ROLE chain_readers; DROP ROLE chain_creators")
    findings = evaluate(evidence, only="PG-09")["PG-09"]
    assert statuses(findings) == {"roles/chain_readers": FAIL, "roles/chain_creators": FAIL, "roles/chain_user": FAIL}
    message = findings["roles/chain_user"].message
    # NOINHERIT on 15: no inherited privileges, but SET ROLE still reaches both
    assert "CREATEDB (SET ROLE through chain_user -> chain_creators)" in message
    assert "pg_read_all_data (SET ROLE through chain_user -> chain_readers -> pg_read_all_data)" in message


def test_an_explicit_weak_sslmode_is_reported_in_metadata(pg_weak: PgCluster, hardened_su: Evidence) -> None:
    evidence = scan(pg_weak)  # the weak cluster's url says sslmode=disable
    [warning] = evidence.metadata["insecure_transport"]
    assert "sslmode=disable" in warning
    assert "insecure_transport" not in hardened_su.metadata  # verify-full with the cluster's CA


def test_the_least_privilege_grants_read_every_section_but_password_hashes(pg_hardened: PgCluster) -> None:
    sections = SECTIONS - {"password_hashes"}
    sql = PLUGIN.least_privilege(PLUGIN.parse_target(pg_hardened.url()), sections)
    assert sql is not None
    grants = [
        line.split("--")[0].replace(" sovscan;", f" {NOBODY};") for line in sql.splitlines() if line.startswith("GRANT")
    ]
    revokes = [g.replace("GRANT", "REVOKE", 1).replace(f" TO {NOBODY}", f" FROM {NOBODY}") for g in grants]
    pg_hardened.execute("; ".join([*grants, f"GRANT CONNECT ON DATABASE {APPDB} TO {NOBODY}"]))
    try:
        evidence = scan(pg_hardened, NOBODY)
    finally:
        pg_hardened.execute("; ".join([*revokes, f"REVOKE CONNECT ON DATABASE {APPDB} FROM {NOBODY}"]))
    assert set(evidence.errors) == {"password_hashes"}, evidence.errors
    assert evidence.sections["server"]["hidden_settings"] == []
    assert evidence.sections["server"]["hba_file_modified_at"] is not None
    assert all(d["scanned"] for d in evidence.sections["databases"] if not d["skipped"])
    shipped = (Path(__file__).parents[2] / "examples" / "postgres" / "scanner-role.sql").read_text()
    assert sql in shipped  # the example file is what the plugin says


# -- a newer server: PostgreSQL 18 -----------------------------------------------------------------

LATEST = ClusterSpec(
    name="latest",
    passwords=(SUPERUSER,),
    settings={"log_connections": "receipt,authentication", "password_encryption": "scram-sha-256"},
    hba=("{admin}", f"host all {SUPERUSER} 127.0.0.1/32 scram-sha-256"),
    setup=(
        (
            "postgres",
            "CREATE ROLE latest_group NOLOGIN CREATEDB; CREATE ROLE latest_user LOGIN CONNECTION LIMIT 1;"
            "GRANT latest_group TO latest_user WITH INHERIT FALSE, SET FALSE;"
            "GRANT pg_read_all_data TO latest_user WITH INHERIT TRUE, SET FALSE;",
        ),
    ),
)


def test_postgresql_18_is_read_and_judged_by_its_own_rules(
    pg_latest_factory: Callable[[ClusterSpec], PgCluster], evaluate: Evaluate
) -> None:
    cluster = pg_latest_factory(LATEST)
    target = PLUGIN.parse_target(cluster.url(SUPERUSER, sslmode="disable"))
    evidence = PLUGIN.collect(target, {"password": Secret(cluster.password(SUPERUSER))}, 20)
    assert evidence.sections["server"]["server_version_num"] >= 180000
    assert not any("malformed" in reason or "unexpected shape" in reason for reason in evidence.errors.values())
    grants = {(g["role"], g["member"]): g for g in evidence.sections["memberships"]["grants"]}
    assert grants[("latest_group", "latest_user")]["set_option"] is False
    assert grants[("pg_read_all_data", "latest_user")]["inherit_option"] is True
    results = evaluate(evidence)
    crashed = [(cid, f.message) for cid, fs in results.items() for f in fs.values() if "failed:" in f.message]
    assert not crashed
    pg09 = results["PG-09"]
    # CREATEDB is not reachable (no SET on the grant); pg_read_all_data is (inherited)
    assert "CREATEDB" not in pg09["roles/latest_user"].message
    assert "pg_read_all_data (inherits through latest_user -> pg_read_all_data)" in pg09["roles/latest_user"].message
    assert statuses(results["PG-13"])["settings/log_connections"] is PASS  # 18's list form
