"""Pure check tests: the shipped baseline evaluated on small evidence files (no server).

`data/good.json` is evidence of a hardened server (collected from the hardened test
cluster, with pgaudit added); `data/weak.json` of the weak one (plus a plain-text remote
session). Each test changes one fact and asserts the status of one control on one resource.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from checks.postgres import databases as db_checks
from checks.postgres import hba as hba_checks
from checks.postgres import roles as role_checks
from checks.postgres import settings as setting_checks
from scanner.model import Control, Status
from tests.postgres.conftest import Evaluate, database, load_document, setting, statuses, to_evidence

PASS, FAIL, ERROR = Status.PASS, Status.FAIL, Status.ERROR
ANY_V4 = "0.0.0.0"  # noqa: S104 (an address in a pg_hba rule, not a bind)

ALL_IDS = {
    "PG-01", "PG-02", "PG-03", "PG-04", "PG-05", "PG-06", "PG-07", "PG-09", "PG-10", "PG-11",
    "PG-12", "PG-13", "PG-14", "PG-15", "PG-17", "PG-19", "PG-20", "PG-21", "PG-22", "PG-23",
    "PG-24", "PG-25", "PG-26", "PG-27", "PG-28", "PG-29", "PG-30",
}  # fmt: skip


def run(evaluate: Evaluate, document: dict[str, Any], control: str, **params: Any) -> dict[str, Status]:
    """Statuses of one control on a document, by resource path."""
    return statuses(evaluate(to_evidence(document), only=control, **params)[control])


def test_good_evidence_passes_every_control(evaluate: Evaluate) -> None:
    results = evaluate(to_evidence(load_document("good.json")))
    assert set(results) == ALL_IDS
    for control_id, findings in results.items():
        assert findings, control_id
        bad = {path: (f.status, f.message) for path, f in findings.items() if f.status is not PASS}
        assert not bad, (control_id, bad)


WEAK_EXPECTED: dict[str, dict[str, Status]] = {
    "PG-01": {"settings/ssl": FAIL},
    "PG-02": {"settings/ssl_min_protocol_version": FAIL, "settings/ssl_ciphers": FAIL},
    "PG-03": {"hba/line/3": FAIL, "hba/line/4": FAIL, "connections/weak_app@192.0.2.10": FAIL},
    "PG-04": {"hba/line/1": FAIL, "hba/line/2": FAIL, "hba/line/3": FAIL, "hba/line/4": FAIL},
    "PG-05": {"settings/password_encryption": FAIL, "roles/admin2": FAIL, "roles/weak_app": FAIL},
    "PG-06": {"hba/line/3": FAIL, "hba/line/4": FAIL},
    "PG-07": {"hba/line/3": FAIL, "hba/line/4": FAIL},
    "PG-09": {"roles": FAIL, "roles/admin2": FAIL},
    "PG-10": {"roles/admin2": FAIL, "roles/weak_app": FAIL},
    "PG-11": {
        "databases/appdb/schemas/public": FAIL,
        "databases/postgres/schemas/public": PASS,
        "databases/template1/schemas/public": PASS,
    },
    "PG-12": {
        "databases/appdb/functions/public.unpinned_definer(integer)": FAIL,
        "databases/postgres/functions": PASS,
        "databases/template1/functions": PASS,
    },
    "PG-13": {"settings/log_connections": FAIL, "settings/log_disconnections": FAIL, "settings/log_line_prefix": FAIL},
    "PG-14": {
        "settings/log_statement": FAIL,
        "settings/log_min_error_statement": PASS,
        "settings/log_min_messages": PASS,
    },
    "PG-15": {"settings/shared_preload_libraries": FAIL},
    "PG-17": {"settings/authentication_timeout": FAIL, "settings/shared_preload_libraries": FAIL},
    "PG-19": {"databases/appdb/extensions/dblink": FAIL, "databases/postgres": PASS, "databases/template1": PASS},
    "PG-20": {"settings/archive_mode": FAIL, "settings/archive_command": FAIL, "archiver": FAIL},
    "PG-21": {"settings/data_checksums": FAIL},
    "PG-22": {"server": PASS},
    "PG-23": {"role-settings": PASS},
    "PG-24": {"settings/listen_addresses": FAIL},
    "PG-25": {"settings/log_destination": FAIL},
    "PG-26": {"settings/log_replication_commands": FAIL},
    "PG-27": {
        "settings/debug_print_parse": PASS,
        "settings/debug_print_rewritten": PASS,
        "settings/debug_print_plan": FAIL,
    },
    "PG-28": {"settings/unix_socket_permissions": FAIL},
    "PG-29": {"hba/line/3": FAIL},
    "PG-30": {"databases/appdb": FAIL, "databases/postgres": PASS, "databases/template1": PASS},
}


def test_weak_evidence_fails_each_control_on_the_right_resource(evaluate: Evaluate) -> None:
    results = evaluate(to_evidence(load_document("weak.json")))
    assert set(results) == set(WEAK_EXPECTED)
    for control_id, expected in WEAK_EXPECTED.items():
        assert statuses(results[control_id]) == expected, control_id


def test_results_carry_observed_expected_and_an_actionable_message(evaluate: Evaluate) -> None:
    results = evaluate(to_evidence(load_document("weak.json")))
    finding = results["PG-04"]["hba/line/3"]
    assert finding.observed["auth_method"] == "md5"
    assert "md5" in finding.message and "scram-sha-256" in finding.message
    assert finding.resource.kind == "hba_rule"
    assert results["PG-05"]["roles/weak_app"].observed == "md5"
    assert results["PG-11"]["databases/appdb/schemas/public"].resource.kind == "schema"


# -- missing evidence and hidden settings -------------------------------------------------


def test_missing_section_is_error_with_the_recorded_privilege(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    del document["sections"]["hba_rules"]
    document["errors"]["hba_rules"] = "permission denied: reading hba rules needs superuser"
    results = evaluate(to_evidence(document))
    for control_id in ("PG-04", "PG-06", "PG-07"):
        [finding] = results[control_id].values()
        assert finding.status is ERROR
        assert "needs superuser" in finding.message
    [finding] = results["PG-03"].values()  # PG-03 reads the rules too: it declares them, and is ERROR
    assert finding.status is ERROR and "needs superuser" in finding.message


def test_hidden_settings_are_error_naming_pg_read_all_settings(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    for name in ("ssl_ciphers", "ssl_min_protocol_version", "shared_preload_libraries"):
        setting(document, name, None)
    document["sections"]["server"]["hidden_settings"] = ["ssl_ciphers", "ssl_min_protocol_version"]
    results = evaluate(to_evidence(document))
    assert statuses(results["PG-02"]) == {"settings/ssl_min_protocol_version": ERROR, "settings/ssl_ciphers": ERROR}
    assert "pg_read_all_settings" in results["PG-02"]["settings/ssl_ciphers"].message
    assert statuses(results["PG-15"]) == {"settings/shared_preload_libraries": ERROR}
    assert "not in pg_settings" in results["PG-15"]["settings/shared_preload_libraries"].message
    assert results["PG-17"]["settings/shared_preload_libraries"].status is ERROR


def test_generic_ssl_control_is_error_when_the_setting_is_absent(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    setting(document, "ssl", None)
    [finding] = evaluate(to_evidence(document), only="PG-01")["PG-01"].values()
    assert finding.status is ERROR


def test_target_error_makes_every_control_error(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["sections"] = {}
    document["target_error"] = "unreachable: cannot connect"
    for control_id, findings in evaluate(to_evidence(document)).items():
        assert {f.status for f in findings.values()} == {ERROR}, control_id


# -- PG-02 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ciphers", "expected"),
    [
        ("HIGH:MEDIUM:+3DES:!aNULL", FAIL),  # the PostgreSQL default
        ("HIGH:!aNULL:!MD5", FAIL),  # includes AES256-GCM-SHA384: RSA key exchange, no forward secrecy
        ("HIGH:!aNULL:!MD5:!3DES:!RC4", FAIL),  # the old remediation text: the same
        ("AES", FAIL),  # expands to ADH-AES256-GCM-SHA384 and friends (anonymous)
        ("DHE:AES", FAIL),  # DHE includes the anonymous DHE suites
        ("ECDHE:!aNULL:!eNULL", PASS),
        ("ECDHE:!aNULL", FAIL),  # ECDHE-RSA-NULL-SHA and friends: no encryption
        ("ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL:@STRENGTH", PASS),
        ("ALL", FAIL),
        ("ECDHE+AESGCM:RC4-SHA", FAIL),  # RC4 unknown to OpenSSL 3: the token decides
        ("RC4", FAIL),  # selects nothing locally; the token decides
        ("CAMELLIA256-SHA256:!CAMELLIA", ERROR),  # selects nothing, no weak token: cannot be verified
    ],
)
def test_tls_ciphers(evaluate: Evaluate, ciphers: str, expected: Status) -> None:
    document = load_document("good.json")
    setting(document, "ssl_ciphers", ciphers)
    assert run(evaluate, document, "PG-02")["settings/ssl_ciphers"] is expected


def test_tls_cipher_findings_name_the_weak_suites(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    setting(document, "ssl_ciphers", "DHE:AES")
    finding = evaluate(to_evidence(document), only="PG-02")["PG-02"]["settings/ssl_ciphers"]
    assert "anonymous" in finding.message
    assert any(name.startswith("ADH-") for name in finding.observed["weak_suites"])
    assert "ECDHE+AESGCM" in finding.message  # the remediation offered has forward secrecy


def test_tls13_minimum_makes_ssl_ciphers_moot_and_tls13_suites_are_judged(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    setting(document, "ssl_ciphers", "ALL")
    setting(document, "ssl_min_protocol_version", "TLSv1.3")
    assert run(evaluate, document, "PG-02")["settings/ssl_ciphers"] is PASS
    setting(document, "ssl_tls13_ciphers", "TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_8_SHA256")
    assert run(evaluate, document, "PG-02")["settings/ssl_tls13_ciphers"] is FAIL
    setting(document, "ssl_tls13_ciphers", "TLS_AES_256_GCM_SHA384")
    assert run(evaluate, document, "PG-02")["settings/ssl_tls13_ciphers"] is PASS


@pytest.mark.parametrize(
    ("version", "minimum", "expected"),
    [("TLSv1.2", "TLSv1.2", PASS), ("TLSv1.3", "TLSv1.2", PASS), ("TLSv1.1", "TLSv1.2", FAIL), ("", "TLSv1.2", FAIL),
     ("TLSv1.2", "TLSv1.3", FAIL), ("SSLv3", "TLSv1.2", ERROR)],
)  # fmt: skip
def test_tls_min_protocol(evaluate: Evaluate, version: str, minimum: str, expected: Status) -> None:
    document = load_document("good.json")
    setting(document, "ssl_min_protocol_version", version)
    result = run(evaluate, document, "PG-02", min_protocol=minimum)
    assert result["settings/ssl_min_protocol_version"] is expected


def test_weak_cipher_tokens() -> None:
    forbidden = setting_checks.DEFAULT_FORBIDDEN_CIPHERS
    assert setting_checks.weak_cipher_tokens("HIGH:MEDIUM:+3DES:!aNULL", forbidden) == ["3DES", "MEDIUM"]
    assert setting_checks.weak_cipher_tokens("DES-CBC3-SHA:ECDHE-RSA-AES128-SHA", forbidden) == ["DES-CBC3-SHA"]


def test_enabled_cipher_tokens() -> None:
    assert setting_checks.enabled_cipher_tokens("HIGH:!aNULL:+3DES:-MD5:ECDHE+AESGCM") == [
        "HIGH",
        "3DES",
        "ECDHE",
        "AESGCM",
    ]


# -- PG-03 ----------------------------------------------------------------------------------


def _session(user: str, addr: str | None, ssl: bool | None, visible: bool = True) -> dict[str, Any]:
    return {"pid": 1, "usename": user, "datname": "appdb", "client_addr": addr, "backend_type": "client backend",
            "ssl": ssl, "version": None, "cipher": None, "visible": visible, "own": False}  # fmt: skip


def test_remote_tls_sessions(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    sessions = document["sections"]["connections"]["sessions"]
    sessions.append(_session("local_tool", "127.0.0.1", False))
    sessions.append(_session("socket_user", None, None))
    assert run(evaluate, document, "PG-03")["connections"] is PASS
    result = run(evaluate, document, "PG-03", exempt_loopback=False)
    assert result["connections/local_tool@127.0.0.1"] is FAIL
    sessions.append(_session(None, None, None, visible=False))  # type: ignore[arg-type]
    result = run(evaluate, document, "PG-03")
    assert result["connections"] is ERROR


def test_remote_tls_rules(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    rules = document["sections"]["hba_rules"]
    rules.append({"line_number": 20, "type": "hostnossl", "database": ["all"], "user_name": ["app"],
                  "address": "10.0.0.0", "netmask": "255.255.255.0", "auth_method": "scram-sha-256",
                  "options": None, "error": None})  # fmt: skip
    rules.append({"line_number": 21, "type": "hostgssenc", "database": ["all"], "user_name": ["app"],
                  "address": "10.0.0.0", "netmask": "255.255.255.0", "auth_method": "gss",
                  "options": None, "error": None})  # fmt: skip
    result = run(evaluate, document, "PG-03")
    assert result["hba/line/20"] is FAIL
    assert "hba/line/21" not in result
    assert "hba" not in result


# -- PG-04 ----------------------------------------------------------------------------------


def test_hba_methods_invalid_line_and_local_rules(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    rules = document["sections"]["hba_rules"]
    local = _host_rule(30, ["all"], None, None, method="trust", kind="local")
    broken = dict.fromkeys(local) | {"line_number": 31, "error": 'invalid authentication method "bogus"'}
    rules.extend([local, broken])
    result = run(evaluate, document, "PG-04")
    assert result == {"hba/line/30": FAIL, "hba/line/31": ERROR}
    result = run(evaluate, document, "PG-04", include_local=False)
    assert result == {"hba/line/31": ERROR}


def test_no_hba_rule_is_error_not_pass(evaluate: Evaluate) -> None:
    """An empty pg_hba.conf on disk: the server refuses to load it and keeps its old rules, unseen."""
    document = load_document("good.json")
    document["sections"]["hba_rules"] = []
    results = evaluate(to_evidence(document))
    for control_id in ("PG-04", "PG-06", "PG-07"):
        [finding] = results[control_id].values()
        assert finding.status is ERROR and "no rule" in finding.message, control_id
    assert statuses(results["PG-03"]) == {"hba": ERROR, "connections": PASS}


def test_hba_file_changed_since_the_last_reload_is_error(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    server = document["sections"]["server"]
    server["hba_file_modified_at"] = "2026-11-25T06:30:00+00:00"  # after config_loaded_at (06:00)
    results = evaluate(to_evidence(document))
    for control_id in ("PG-04", "PG-06", "PG-07"):
        [finding] = results[control_id].values()
        assert finding.status is ERROR and "not the rules in force" in finding.message, control_id
    assert statuses(results["PG-03"])["hba"] is ERROR
    server["hba_file_modified_at"] = None  # the role may not stat the file: the rules on disk are judged
    assert run(evaluate, document, "PG-04") == {"hba": PASS}


# -- PG-05 ----------------------------------------------------------------------------------


def test_scram_only_without_pg_authid(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    del document["sections"]["password_hashes"]
    document["errors"]["password_hashes"] = "permission denied: reading password hashes needs superuser"
    findings = evaluate(to_evidence(document), only="PG-05")["PG-05"]
    [finding] = findings.values()  # password_hashes is a declared need: the control is ERROR as a whole
    assert finding.status is ERROR and "needs superuser" in finding.message


def test_empty_role_and_session_lists_are_error_not_pass(evaluate: Evaluate) -> None:
    """pg_authid, pg_roles and pg_stat_activity are never empty when read (bootstrap superuser, own session)."""
    document = load_document("good.json")
    document["sections"]["password_hashes"] = []
    document["sections"]["roles"] = []
    document["sections"]["connections"]["sessions"] = []
    results = evaluate(to_evidence(document))
    assert statuses(results["PG-05"]) == {"settings/password_encryption": PASS, "roles": ERROR}
    for control_id in ("PG-06", "PG-09", "PG-10"):
        assert {f.status for f in results[control_id].values()} == {ERROR}, control_id
    assert statuses(results["PG-03"]) == {"hba": PASS, "connections": ERROR}


def test_scram_only_unknown_hash_fails(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["sections"]["password_hashes"].append({"rolname": "legacy", "hash_type": "unknown"})
    assert run(evaluate, document, "PG-05")["roles/legacy"] is FAIL


# -- PG-06 ----------------------------------------------------------------------------------


def _host_rule(line: int, users: list[str], address: str | None = "10.1.2.0", netmask: str | None = "255.255.255.0",
               method: str = "scram-sha-256", kind: str = "hostssl",
               database: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    return {"line_number": line, "type": kind, "database": database or ["appdb"], "user_name": users,
            "address": address, "netmask": netmask, "auth_method": method, "options": None, "error": None}  # fmt: skip


def test_hba_superuser_via_group_and_allow_list(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["sections"]["roles"].append({"rolname": "dba", "rolsuper": False, "rolcanlogin": False, "member_of": []})
    for role in document["sections"]["roles"]:
        if role["rolname"] == "postgres":
            role["member_of"] = ["dba"]
    document["sections"]["hba_rules"].append(_host_rule(40, ["+dba"]))
    document["sections"]["hba_rules"].append(_host_rule(41, ["app_user", "postgres"]))
    document["sections"]["hba_rules"].append(_host_rule(42, ["all"], method="reject"))
    assert run(evaluate, document, "PG-06") == {"hba/line/40": FAIL, "hba/line/41": FAIL}
    assert run(evaluate, document, "PG-06", allowed_roles=["postgres"]) == {"hba": PASS}


def test_hba_superuser_via_regex_and_samerole(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    rules = document["sections"]["hba_rules"]
    rules.append(_host_rule(43, ["/^post"]))  # PostgreSQL 16+: a regular expression over role names
    rules.append(_host_rule(44, ["/^app_"]))
    rules.append(_host_rule(45, ["/(unclosed"]))  # cannot be read: assume it admits superusers
    assert run(evaluate, document, "PG-06") == {"hba/line/43": FAIL, "hba/line/45": FAIL}
    rules[:] = [r for r in rules if r["line_number"] < 43]
    rules.append(_host_rule(46, ["samerole"]))
    assert run(evaluate, document, "PG-06") == {"hba": PASS}  # postgres is a member of no role
    for role in document["sections"]["roles"]:
        if role["rolname"] == "postgres":
            role["member_of"] = ["appdb_admins"]
    assert run(evaluate, document, "PG-06") == {"hba/line/46": FAIL}


# -- PG-07 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "netmask", "expected"),
    [
        ("10.0.0.0", "255.255.0.0", FAIL),
        ("10.0.0.0", "255.255.128.0", PASS),
        (ANY_V4, ANY_V4, FAIL),
        ("::", "::", FAIL),
        ("2001:db8::", "ffff:ffff:ffff:ffff::", PASS),
        ("2001:db8::", "ffff:ffff::", FAIL),
        ("all", None, FAIL),
        ("samenet", None, FAIL),
        (".example.com", None, FAIL),
        ("app1.example.com", None, PASS),
        ("127.0.0.0", "255.0.0.0", PASS),
    ],
)
def test_hba_ranges(evaluate: Evaluate, address: str, netmask: str | None, expected: Status) -> None:
    document = load_document("good.json")
    document["sections"]["hba_rules"].append(_host_rule(50, ["app_user"], address, netmask))
    result = run(evaluate, document, "PG-07")
    assert result.get("hba/line/50", result.get("hba")) is expected


def test_hba_ranges_samenet_can_be_allowed(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["sections"]["hba_rules"].append(_host_rule(50, ["app_user"], "samenet", None))
    assert run(evaluate, document, "PG-07", allow_samenet=True) == {"hba": PASS}


def test_hba_rules_from_several_files_get_file_resources(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    rule = _host_rule(3, ["app_user"], ANY_V4, ANY_V4)
    rule["file_name"] = "/etc/postgresql/conf.d/extra.conf"
    for existing in document["sections"]["hba_rules"]:
        existing["file_name"] = "/etc/postgresql/pg_hba.conf"
    document["sections"]["hba_rules"].append(rule)
    assert run(evaluate, document, "PG-07") == {"hba/%2Fetc%2Fpostgresql%2Fconf.d%2Fextra.conf/line/3": FAIL}


# -- PG-09 / PG-10 --------------------------------------------------------------------------


def _role(name: str, **attrs: Any) -> dict[str, Any]:
    role = {"rolname": name, "rolsuper": False, "rolinherit": True, "rolcreaterole": False, "rolcreatedb": False,
            "rolcanlogin": True, "rolreplication": False, "rolbypassrls": False, "rolconnlimit": 5,
            "rolvaliduntil": None, "member_of": []}  # fmt: skip
    role.update(attrs)
    return role


def add_roles(document: dict[str, Any], *roles: dict[str, Any], **options: bool | None) -> None:
    """Add roles and their `member_of` grants (pg_auth_members rows; options inherit/set as given)."""
    sections = document["sections"]
    for role in roles:
        sections["roles"].append(role)
        for group in role["member_of"]:
            sections["memberships"]["grants"].append(
                {"role": group, "member": role["rolname"], "grantor": "postgres", "admin_option": False,
                 "inherit_option": options.get("inherit"), "set_option": options.get("set")}
            )  # fmt: skip


def test_privileged_roles_allow_lists(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    add_roles(
        document,
        _role("replicator", rolreplication=True),
        _role("loader", member_of=["pg_write_server_files"]),
        _role("pg_fake_predefined", rolcreaterole=True),
    )
    assert run(evaluate, document, "PG-09") == {"roles/replicator": FAIL, "roles/loader": FAIL}
    result = run(evaluate, document, "PG-09", allowed_replication=["replicator"], allowed_members=["loader"])
    assert result == {"roles": PASS}


def test_privileged_memberships_count_through_grant_chains(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    add_roles(
        document,
        _role("file_ops", rolcanlogin=False, member_of=["pg_execute_server_program"]),
        _role("deployer", member_of=["file_ops"]),  # gets the program role through file_ops
        _role("dba_group", rolcanlogin=False, member_of=["postgres"]),
        _role("alice", member_of=["dba_group"]),  # can SET ROLE postgres: a superuser in effect
    )
    found = evaluate(to_evidence(document), only="PG-09")["PG-09"]
    assert statuses(found) == {
        "roles/file_ops": FAIL,
        "roles/deployer": FAIL,
        "roles/dba_group": FAIL,
        "roles/alice": FAIL,
    }
    assert "pg_execute_server_program" in found["roles/deployer"].message
    assert "postgres" in found["roles/alice"].message


def test_createdb_and_data_roles_through_chains(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    add_roles(
        document,
        _role("creators", rolcanlogin=False, rolcreatedb=True),
        _role("readers", rolcanlogin=False, member_of=["pg_read_all_data"]),
        _role("bob", member_of=["creators", "readers"]),
        _role("killer", member_of=["pg_signal_backend"]),
    )
    found = evaluate(to_evidence(document), only="PG-09")["PG-09"]
    assert statuses(found) == {
        "roles/creators": FAIL,
        "roles/readers": FAIL,
        "roles/bob": FAIL,
        "roles/killer": FAIL,
    }
    assert "CREATEDB (SET ROLE through bob -> creators)" in found["roles/bob"].message
    assert "pg_read_all_data (inherits through bob -> readers -> pg_read_all_data)" in found["roles/bob"].message


def test_postgres_15_noinherit_member_can_still_set_role(evaluate: Evaluate) -> None:
    document = load_document("good.json")  # a 15 server: grants have no inherit/set options
    add_roles(document, _role("carol", rolinherit=False, member_of=["pg_read_server_files"]))
    found = evaluate(to_evidence(document), only="PG-09")["PG-09"]
    assert "pg_read_server_files (SET ROLE through carol -> pg_read_server_files)" in found["roles/carol"].message


def test_postgres_16_grant_options_decide(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["sections"]["memberships"]["server_version_num"] = 160004
    add_roles(document, _role("inert", member_of=["pg_write_all_data"]), inherit=False, set=False)
    assert run(evaluate, document, "PG-09") == {"roles": PASS}  # a membership that confers nothing
    add_roles(document, _role("setter", member_of=["pg_write_all_data"]), inherit=False, set=True)
    add_roles(document, _role("heir", member_of=["pg_write_all_data"]), inherit=True, set=False)
    assert run(evaluate, document, "PG-09") == {"roles/setter": FAIL, "roles/heir": FAIL}


def test_privileged_roles_superuser_count(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    add_roles(document, _role("second", rolsuper=True))
    result = run(evaluate, document, "PG-09", allowed_superusers=["postgres", "second"])
    assert result == {"roles": FAIL}
    result = run(evaluate, document, "PG-09", allowed_superusers=["postgres", "second"], max_superusers=2)
    assert result == {"roles": PASS}


def test_login_roles_expiry_and_exemptions(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["sections"]["roles"].append(_role("forever", rolvaliduntil="infinity"))
    document["sections"]["roles"].append(_role("expiring", rolvaliduntil="2027-01-01T00:00:00+00:00"))
    document["sections"]["roles"].append(_role("nologin", rolcanlogin=False, rolconnlimit=-1))
    assert run(evaluate, document, "PG-10") == {"roles": PASS}
    result = run(evaluate, document, "PG-10", require_valid_until=True)
    assert result["roles/forever"] is FAIL
    assert "roles/expiring" not in result
    assert "roles/nologin" not in result


# -- PG-11 / PG-12 / PG-19 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("acl", "forbid_usage", "expected"),
    [
        (None, False, PASS),
        (["postgres=UC/postgres", "=UC/postgres"], False, FAIL),
        (["postgres=UC/postgres", "=C/postgres"], False, FAIL),
        (["postgres=UC/postgres", "=U/postgres"], False, PASS),
        (["postgres=UC/postgres", "=U/postgres"], True, FAIL),
        (["postgres=UC/postgres", "app=C/postgres"], False, PASS),
    ],
)
def test_public_schema_acl(evaluate: Evaluate, acl: list[str] | None, forbid_usage: bool, expected: Status) -> None:
    document = load_document("good.json")
    database(document, "appdb")["public_schema"]["acl"] = acl
    result = run(evaluate, document, "PG-11", forbid_public_usage=forbid_usage)
    assert result["databases/appdb/schemas/public"] is expected


def test_database_errors_and_skips(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    appdb = database(document, "appdb")
    for part in ("public_schema", "secdef_functions", "extensions", "languages"):
        del appdb[part]
    appdb.update(scanned=False, error="permission denied: no CONNECT privilege on database appdb")
    database(document, "postgres")["errors"]["secdef_functions"] = "timed out: cancelled"
    del database(document, "postgres")["secdef_functions"]
    results = evaluate(to_evidence(document))
    for control_id in ("PG-11", "PG-12", "PG-19"):
        found = statuses(results[control_id])
        assert found["databases/appdb"] is ERROR, control_id
        assert "template0" not in str(found), control_id  # skipped on purpose: datallowconn false
    assert "CONNECT" in results["PG-11"]["databases/appdb"].message
    assert statuses(results["PG-12"])["databases/postgres"] is ERROR
    assert statuses(results["PG-11"])["databases/postgres/schemas/public"] is PASS
    assert statuses(results["PG-15"])["databases/appdb"] is ERROR


def test_no_database_read_is_error(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    for item in document["sections"]["databases"]:
        item["skipped"] = "not selected"
    assert run(evaluate, document, "PG-11") == {"databases/*": ERROR}


def test_public_schema_absent_passes(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    database(document, "appdb")["public_schema"] = None
    assert run(evaluate, document, "PG-11")["databases/appdb/schemas/public"] is PASS


def test_secdef_extension_functions_and_allow_list(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    functions = database(document, "appdb")["secdef_functions"]
    functions.append({"schema": "ext", "name": "f", "args": "", "signature": "ext.f()", "owner": "postgres",
                      "language": "c", "search_path": None, "config_keys": [], "extension": "someext"})  # fmt: skip
    functions.append({"schema": "public", "name": "g", "args": "text", "signature": "public.g(text)",
                      "owner": "app_user", "language": "plpgsql", "search_path": None, "config_keys": [],
                      "extension": None})  # fmt: skip
    result = run(evaluate, document, "PG-12")
    assert result["databases/appdb/functions/public.g(text)"] is FAIL
    assert "databases/appdb/functions/ext.f()" not in result
    result = run(evaluate, document, "PG-12", ignore_extension_functions=False, allowed_functions=["appdb/public.*"])
    assert result["databases/appdb/functions/ext.f()"] is FAIL
    assert "databases/appdb/functions/public.g(text)" not in result


def _definer(search_path: str | None, owner: str = "postgres") -> dict[str, Any]:
    return {"schema": "public", "name": "h", "args": "", "signature": "public.h()", "owner": owner,
            "language": "sql", "search_path": search_path, "config_keys": ["search_path"] if search_path else [],
            "extension": None}  # fmt: skip


@pytest.mark.parametrize(
    ("search_path", "expected", "reason"),
    [
        ("pg_catalog, pg_temp", PASS, ""),
        ("pg_catalog", FAIL, "pg_temp is not listed"),
        ("pg_temp, pg_catalog", FAIL, "pg_temp is not last"),
        ('"$user", pg_catalog, pg_temp', FAIL, "'$user'"),
        # public of appdb belongs to pg_database_owner: appdb's owner app_user may create there
        ("public, pg_temp", FAIL, "schema public is writable by app_user"),
        ("nowhere, pg_temp", FAIL, "schema nowhere does not exist"),
        ("owned, pg_temp", PASS, ""),  # a schema only the function's owner can write
        ("shared, pg_temp", FAIL, "schema shared is writable by PUBLIC"),
        ("grouped, pg_temp", FAIL, "writable by app_user, sovscan_monitor"),  # CREATE to pg_monitor's members
    ],
)
def test_secdef_search_path_must_be_owner_only_with_pg_temp_last(
    evaluate: Evaluate, search_path: str, expected: Status, reason: str
) -> None:
    document = load_document("good.json")
    appdb = database(document, "appdb")
    appdb["secdef_functions"] = [_definer(search_path)]
    appdb["schemas"] += [
        {"name": "owned", "owner": "postgres", "acl": None},
        {"name": "shared", "owner": "postgres", "acl": ["postgres=UC/postgres", "=UC/postgres"]},
        {"name": "grouped", "owner": "postgres", "acl": ["postgres=UC/postgres", "pg_monitor=C/postgres",
                                                         "app_user=C/postgres"]},
    ]  # fmt: skip
    findings = evaluate(to_evidence(document), only="PG-12")["PG-12"]
    if expected is PASS:
        assert findings["databases/appdb/functions"].status is PASS
    else:
        finding = findings["databases/appdb/functions/public.h()"]
        assert finding.status is FAIL and reason in finding.message, finding.message


# -- PG-23 ----------------------------------------------------------------------------------


def test_role_and_database_overrides_that_weaken_settings_fail(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["sections"]["role_settings"] = [
        {"role": "app_user", "database": "", "settings": {"pgaudit.log": "none", "search_path": "app"}},
        {"role": "", "database": "appdb", "settings": {"log_statement": "none", "log_connections": "on"}},
        {"role": "app_user", "database": "appdb", "settings": {"log_min_messages": "panic"}},
        {"role": "sovscan_monitor", "database": "", "settings": {"pgaudit.log": "all, -read"}},
        {"role": "", "database": "postgres", "settings": {"debug_print_plan": "on", "password_encryption": "md5"}},
    ]
    findings = evaluate(to_evidence(document), only="PG-23")["PG-23"]
    assert statuses(findings) == {
        "roles/app_user/settings/pgaudit.log": FAIL,
        "databases/appdb/settings/log_statement": FAIL,
        "databases/appdb/roles/app_user/settings/log_min_messages": FAIL,
        "databases/postgres/settings/debug_print_plan": FAIL,
        "databases/postgres/settings/password_encryption": FAIL,
    }
    assert "ALTER ROLE app_user SET pgaudit.log" in findings["roles/app_user/settings/pgaudit.log"].message
    document["sections"]["role_settings"] = [{"role": "app_user", "database": "", "settings": {"pgaudit.log": "all"}}]
    assert run(evaluate, document, "PG-23") == {"role-settings": PASS}


# -- PG-24 ... PG-29 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("localhost", PASS), ("", PASS), ("127.0.0.1, 10.1.2.3", PASS), ("*", FAIL), ("localhost,::", FAIL)],
)
def test_listen_addresses(evaluate: Evaluate, value: str, expected: Status) -> None:
    document = load_document("good.json")
    setting(document, "listen_addresses", value)
    assert run(evaluate, document, "PG-24") == {"settings/listen_addresses": expected}


@pytest.mark.parametrize(
    ("destination", "collector", "expected"),
    [
        ("stderr", "on", PASS),
        ("syslog", "off", PASS),
        ("stderr", "off", FAIL),
        ("csvlog", "off", FAIL),
        ("", "on", FAIL),
    ],
)
def test_log_destination(evaluate: Evaluate, destination: str, collector: str, expected: Status) -> None:
    document = load_document("good.json")
    setting(document, "log_destination", destination)
    setting(document, "logging_collector", collector)
    assert run(evaluate, document, "PG-25") == {"settings/log_destination": expected}
    if expected is FAIL and destination:
        assert run(evaluate, document, "PG-25", accept_stderr_without_collector=True) == {
            "settings/log_destination": PASS
        }


@pytest.mark.parametrize(
    ("value", "expected"), [("511", FAIL), ("0777", FAIL), ("504", PASS), ("0700", PASS), ("x", ERROR)]
)
def test_unix_socket_permissions(evaluate: Evaluate, value: str, expected: Status) -> None:
    document = load_document("good.json")
    setting(document, "unix_socket_permissions", value)
    assert run(evaluate, document, "PG-28") == {"settings/unix_socket_permissions": expected}


def test_hidden_new_settings_are_error(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    setting(document, "log_replication_commands", None)
    document["sections"]["server"]["hidden_settings"] = ["log_replication_commands"]
    findings = evaluate(to_evidence(document), only="PG-26")["PG-26"]
    assert statuses(findings) == {"settings/log_replication_commands": ERROR}


def test_broad_hba_rules(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    rules = document["sections"]["hba_rules"]
    rules.append(_host_rule(30, ["all"], "10.1.2.0", "255.255.255.0", database=["all"]))
    rules.append(_host_rule(31, ["all"], "10.1.3.0", "255.255.255.0", database=["replication"]))
    rules.append(_host_rule(32, ["app_user"], "10.1.4.0", "255.255.255.0", database=["all"]))
    rules.append(_host_rule(33, ["all"], "10.1.5.0", "255.255.255.0", database=["samerole"]))
    assert run(evaluate, document, "PG-29") == {"hba/line/30": FAIL, "hba/line/33": FAIL}


def test_database_create_privilege(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    appdb = database(document, "appdb")
    appdb["acl"] = ["app_user=CTc/app_user", "sovscan_monitor=c/app_user", "pg_monitor=C/app_user"]
    findings = evaluate(to_evidence(document), only="PG-30")["PG-30"]
    assert findings["databases/appdb"].status is FAIL
    assert "sovscan_monitor may CREATE" in findings["databases/appdb"].message  # through pg_monitor
    assert run(evaluate, document, "PG-30", allowed_creators=["sovscan_monitor"])["databases/appdb"] is PASS
    appdb["acl"] = None  # the default: PUBLIC has TEMPORARY and CONNECT only
    assert run(evaluate, document, "PG-30")["databases/appdb"] is PASS
    assert run(evaluate, document, "PG-30", forbid_public_temporary=True)["databases/appdb"] is FAIL
    del appdb["acl"]
    assert run(evaluate, document, "PG-30")["databases/appdb"] is ERROR


def test_untrusted_language_and_approved_extension(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    appdb = database(document, "appdb")
    appdb["languages"].append({"name": "plpython3u", "trusted": False, "is_pl": True, "owner": "postgres"})
    appdb["extensions"].append({"name": "postgres_fdw", "version": "1.1", "schema": "public"})
    result = run(evaluate, document, "PG-19")
    assert result["databases/appdb/languages/plpython3u"] is FAIL
    assert result["databases/appdb/extensions/postgres_fdw"] is FAIL
    result = run(
        evaluate,
        document,
        "PG-19",
        approved_extensions=["postgres_fdw"],
        allowed_untrusted_languages=["c", "internal", "plpython3u"],
    )
    assert result["databases/appdb"] is PASS


# -- PG-13 / PG-14 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("%m [%p] %q%u@%d %h ", PASS), ("%t [%c] user=%u,db=%d,client=%r ", PASS), ("%m [%p] %u@%d ", FAIL), ("", FAIL)],
)
def test_log_line_prefix(evaluate: Evaluate, prefix: str, expected: Status) -> None:
    document = load_document("good.json")
    setting(document, "log_line_prefix", prefix)
    assert run(evaluate, document, "PG-13")["settings/log_line_prefix"] is expected


def test_log_connections_without_a_value_is_error(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    for row in document["sections"]["pg_settings"]:
        if row["name"] == "log_connections":
            row["setting"] = None
    assert run(evaluate, document, "PG-13")["settings/log_connections"] is ERROR


def test_log_connections_postgres_18_list_value(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    setting(document, "log_connections", "receipt,authentication,authorization")
    assert run(evaluate, document, "PG-13")["settings/log_connections"] is PASS
    setting(document, "log_connections", "")
    assert run(evaluate, document, "PG-13")["settings/log_connections"] is FAIL


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("log_min_messages", "error", FAIL),
        ("log_min_messages", "log", FAIL),
        ("log_min_messages", "info", PASS),
        ("log_min_error_statement", "warning", PASS),
        ("log_min_error_statement", "fatal", FAIL),
        ("log_min_error_statement", "nonsense", ERROR),
        ("log_statement", "mod", PASS),
        ("log_statement", "none", FAIL),
    ],
)
def test_statement_logging(evaluate: Evaluate, name: str, value: str, expected: Status) -> None:
    document = load_document("good.json")
    setting(document, name, value)
    assert run(evaluate, document, "PG-14")[f"settings/{name}"] is expected


# -- PG-15 ----------------------------------------------------------------------------------


def test_pgaudit_classes() -> None:
    assert setting_checks.pgaudit_classes("ddl, write") == {"ddl", "write"}
    assert setting_checks.pgaudit_classes("all, -misc") == {"read", "write", "function", "role", "ddl"}
    assert setting_checks.pgaudit_classes("none") == set()


def test_pgaudit_log_classes_and_extension(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    setting(document, "pgaudit.log", "all, -write")
    assert run(evaluate, document, "PG-15")["settings/pgaudit.log"] is FAIL
    setting(document, "pgaudit.log", "all")
    extensions = database(document, "appdb")["extensions"]
    extensions[:] = [e for e in extensions if e["name"] != "pgaudit"]
    result = run(evaluate, document, "PG-15")
    assert result["settings/pgaudit.log"] is PASS
    assert result["databases/appdb/extensions/pgaudit"] is FAIL
    assert "databases/appdb/extensions/pgaudit" not in run(evaluate, document, "PG-15", require_extension=False)


# -- PG-17 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "expected"), [("60", "s", PASS), ("61", "s", FAIL), ("1", "min", PASS), ("30000", "ms", PASS)]
)
def test_authentication_timeout_units(evaluate: Evaluate, value: str, unit: str, expected: Status) -> None:
    document = load_document("good.json")
    setting(document, "authentication_timeout", value, unit)
    assert run(evaluate, document, "PG-17")["settings/authentication_timeout"] is expected


def test_auth_delay_must_delay(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    setting(document, "shared_preload_libraries", "auth_delay")
    setting(document, "auth_delay.milliseconds", "0", "ms")
    assert run(evaluate, document, "PG-17")["settings/auth_delay.milliseconds"] is FAIL
    setting(document, "shared_preload_libraries", "")
    assert run(evaluate, document, "PG-17")["settings/shared_preload_libraries"] is FAIL
    assert "settings/shared_preload_libraries" not in run(evaluate, document, "PG-17", require_delay_library=False)


def test_credcheck_must_lock_out_or_delay(evaluate: Evaluate) -> None:
    """credcheck's defaults (max_auth_failure 0, auth_delay_ms 0) neither lock out nor delay anyone."""
    document = load_document("good.json")
    setting(document, "shared_preload_libraries", "credcheck")
    setting(document, "credcheck.max_auth_failure", "0")
    setting(document, "credcheck.auth_delay_ms", "0", "ms")
    result = run(evaluate, document, "PG-17")
    assert result["settings/credcheck.max_auth_failure"] is FAIL
    assert "settings/shared_preload_libraries" not in result
    setting(document, "credcheck.max_auth_failure", "3")
    result = run(evaluate, document, "PG-17")
    assert result["settings/shared_preload_libraries"] is PASS
    assert result["settings/credcheck.max_auth_failure"] is PASS
    setting(document, "credcheck.max_auth_failure", None)
    setting(document, "credcheck.auth_delay_ms", None)
    assert run(evaluate, document, "PG-17")["settings/credcheck.max_auth_failure"] is ERROR  # not seen
    setting(document, "shared_preload_libraries", "credcheck,auth_delay")  # auth_delay (100 ms) is enough
    result = run(evaluate, document, "PG-17")
    assert result["settings/shared_preload_libraries"] is PASS
    assert "settings/credcheck.max_auth_failure" not in result


# -- PG-20 ----------------------------------------------------------------------------------


def test_archiver_failure_newer_than_success(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["sections"]["archiver"]["last_failed_time"] = "2026-11-25T06:30:00+00:00"
    assert run(evaluate, document, "PG-20")["archiver"] is FAIL


def test_archiver_too_old_and_age_test_off(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["sections"]["archiver"]["last_archived_time"] = "2026-11-23T07:00:00+00:00"
    assert run(evaluate, document, "PG-20")["archiver"] is FAIL
    assert run(evaluate, document, "PG-20", max_age_hours=72)["archiver"] is PASS
    assert run(evaluate, document, "PG-20", max_age_hours=0)["archiver"] is PASS


def test_archiver_without_server_clock_is_error(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["sections"]["archiver"]["now"] = None
    assert run(evaluate, document, "PG-20")["archiver"] is ERROR
    assert run(evaluate, document, "PG-20", max_age_hours=0)["archiver"] is PASS


def test_hidden_archive_library_is_error_not_fail(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    setting(document, "archive_command", "")
    setting(document, "archive_library", None)
    document["sections"]["server"]["hidden_settings"] = ["archive_library"]
    assert run(evaluate, document, "PG-20")["settings/archive_library"] is ERROR
    document["sections"]["server"]["hidden_settings"] = []  # PostgreSQL 14: no such setting
    assert run(evaluate, document, "PG-20")["settings/archive_command"] is FAIL


def test_archive_library_instead_of_command(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    setting(document, "archive_command", "")
    assert run(evaluate, document, "PG-20")["settings/archive_command"] is FAIL
    setting(document, "archive_library", "basic_archive")
    setting(document, "archive_mode", "always")
    result = run(evaluate, document, "PG-20")
    assert result["settings/archive_command"] is PASS
    assert result["settings/archive_mode"] is PASS


# -- PG-22 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num", "expected"),
    [(140023, FAIL), (150017, FAIL), (150018, PASS), (170010, PASS), (160013, FAIL), (190000, PASS), (0, ERROR)],
)
def test_server_version(evaluate: Evaluate, num: int, expected: Status) -> None:
    document = load_document("good.json")
    document["sections"]["server"]["server_version_num"] = num
    assert run(evaluate, document, "PG-22") == {"server": expected}


def test_an_out_of_date_version_floor_is_reported_on_its_own_resource(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    document["collected_at"] = "2026-09-11T00:00:00Z"  # 120 days after the review: still current
    assert run(evaluate, document, "PG-22") == {"server": PASS}
    document["collected_at"] = "2026-09-12T00:00:00Z"  # 121 days
    findings = evaluate(to_evidence(document), only="PG-22")["PG-22"]
    assert statuses(findings) == {"server": PASS, "server/version-floor": FAIL}
    assert "2026-05-14" in findings["server/version-floor"].message
    # a profile that reviewed the floor (and raised it) makes the finding go away
    reviewed = {**setting_checks.DEFAULT_VERSION_FLOOR, "reviewed": "2026-09-01"}
    assert run(evaluate, document, "PG-22", version_floor=reviewed) == {"server": PASS}
    document["collected_at"] = ""  # no scan date: the floor's age cannot be vouched for
    assert run(evaluate, document, "PG-22")["server/version-floor"] is ERROR


def test_version_text() -> None:
    assert setting_checks.version_text(150018) == "15.18"
    assert setting_checks.version_text(90624) == "9.6.24"


# -- the baseline and the code agree -------------------------------------------------------


def test_baseline_params_equal_the_code_defaults(controls: dict[str, Control]) -> None:
    """Each documented default in the YAML is also what the check uses when a profile omits it."""
    defaults: dict[str, dict[str, Any]] = {
        "PG-02": {
            "min_protocol": setting_checks.DEFAULT_MIN_PROTOCOL,
            "require_forward_secrecy": True,
            "forbidden_cipher_tokens": list(setting_checks.DEFAULT_FORBIDDEN_CIPHERS),
        },
        "PG-04": {"forbidden": list(hba_checks.DEFAULT_FORBIDDEN_METHODS), "include_local": True},
        "PG-05": {"password_encryption": role_checks.DEFAULT_PASSWORD_ENCRYPTION},
        "PG-07": {
            "min_ipv4_prefix": hba_checks.DEFAULT_MIN_IPV4_PREFIX,
            "min_ipv6_prefix": hba_checks.DEFAULT_MIN_IPV6_PREFIX,
            "allow_samenet": False,
        },
        "PG-09": {
            "max_superusers": role_checks.DEFAULT_MAX_SUPERUSERS,
            "allowed_superusers": list(role_checks.DEFAULT_ALLOWED_SUPERUSERS),
            "privileged_memberships": list(role_checks.DEFAULT_PRIVILEGED_MEMBERSHIPS),
        },
        "PG-10": {"exempt_roles": list(role_checks.DEFAULT_EXEMPT_LOGIN_ROLES)},
        "PG-13": {"required_prefix_escapes": [list(g) for g in setting_checks.DEFAULT_PREFIX_ESCAPES]},
        "PG-14": {
            "log_statement": list(setting_checks.DEFAULT_LOG_STATEMENT),
            "log_min_error_statement": setting_checks.DEFAULT_MIN_ERROR_STATEMENT,
            "log_min_messages": setting_checks.DEFAULT_MIN_MESSAGES,
        },
        "PG-15": {"required_classes": list(setting_checks.DEFAULT_PGAUDIT_CLASSES)},
        "PG-17": {
            "max_authentication_timeout": setting_checks.DEFAULT_MAX_AUTH_TIMEOUT,
            "delay_libraries": list(setting_checks.DEFAULT_DELAY_LIBRARIES),
        },
        "PG-19": {
            "allowed_untrusted_languages": list(db_checks.DEFAULT_ALLOWED_UNTRUSTED),
            "risky_extensions": list(db_checks.DEFAULT_RISKY_EXTENSIONS),
        },
        "PG-20": {"max_age_hours": setting_checks.DEFAULT_ARCHIVE_MAX_AGE_HOURS},
        "PG-22": {"version_floor": dict(setting_checks.DEFAULT_VERSION_FLOOR)},
        "PG-23": {
            "required_pgaudit_classes": list(setting_checks.DEFAULT_PGAUDIT_CLASSES),
            "log_statement": list(setting_checks.DEFAULT_LOG_STATEMENT),
        },
    }
    for control_id, expected in defaults.items():
        params = controls[control_id].params
        for name, value in expected.items():
            assert params[name] == value, (control_id, name)


def test_every_control_is_complete(controls: dict[str, Control]) -> None:
    assert set(controls) == ALL_IDS
    for control in controls.values():
        assert control.target == "postgres"
        assert control.description and control.rationale and control.remediation, control.id
        assert {"bsi", "nis2", "iso27001-2022"} <= set(control.references), control.id
        assert control.tags, control.id
    generic = sorted(c.id for c in controls.values() if c.check == "generic.field")
    assert generic == ["PG-01", "PG-21"]


def test_baseline_file_header() -> None:
    from importlib.resources import files

    document = yaml.safe_load((files("baselines") / "postgres.yaml").read_text(encoding="utf-8"))
    assert {k: document[k] for k in ("apiVersion", "kind", "name", "version", "target")} == {
        "apiVersion": "sovscan/v1",
        "kind": "Baseline",
        "name": "postgres",
        "version": "1.0.0",
        "target": "postgres",
    }


def test_exemptions_say_how_many_objects_they_skipped(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    functions = database(document, "appdb")["secdef_functions"]
    functions.append({**_definer(None), "signature": "ext.f()", "extension": "someext"})
    functions.append({**_definer(None), "signature": "public.legacy()"})
    findings = evaluate(to_evidence(document), only="PG-12", allowed_functions=["appdb/public.legacy()"])["PG-12"]
    passed = findings["databases/appdb/functions"]
    assert passed.status is PASS
    assert "not judged: 1 of extensions, 1 allow-listed" in passed.message
    assert passed.observed == {"judged": 1, "skipped_extension": 1, "skipped_allowed": 1}
    found = evaluate(to_evidence(document), only="PG-10")["PG-10"]
    assert "1 exempt: postgres" in found["roles"].message


def test_hba_superuser_counts_roles_that_can_become_superuser(evaluate: Evaluate) -> None:
    document = load_document("good.json")
    add_roles(
        document, _role("ops_group", rolcanlogin=False, member_of=["postgres"]), _role("ops", member_of=["ops_group"])
    )
    document["sections"]["hba_rules"].append(_host_rule(41, ["ops"]))
    findings = evaluate(to_evidence(document), only="PG-06")["PG-06"]
    assert statuses(findings) == {"hba/line/41": FAIL}
    assert "ops" in findings["hba/line/41"].message
    document["sections"]["memberships"]["server_version_num"] = 160004  # on 16+ a grant WITH SET FALSE
    for grant in document["sections"]["memberships"]["grants"]:
        if grant["member"] == "ops_group":
            grant.update(inherit_option=True, set_option=False)
        elif grant["member"] == "ops":
            grant.update(inherit_option=True, set_option=True)
    assert run(evaluate, document, "PG-06") == {"hba": PASS}  # ops cannot SET ROLE postgres
