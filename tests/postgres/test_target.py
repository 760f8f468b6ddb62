"""Naming PostgreSQL targets and building connection parameters (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest

from checks.postgres.plugin import PLUGIN
from checks.postgres.target import (
    connection_params,
    databases_option,
    session_options,
    target_uri,
    transport_warnings,
)
from scanner.errors import ConfigError
from scanner.interface import Secret, Target


def test_url_gives_host_port_id_and_base_uri() -> None:
    target = PLUGIN.parse_target(
        "postgresql://scanner@db.example:5432/postgres?sslmode=verify-full&sslrootcert=/ca.pem"
    )
    assert target.id == "db.example:5432"
    assert target.kind == "postgres"
    assert target.url == "postgres://db.example:5432"
    assert dict(target.options) == {
        "user": "scanner",
        "dbname": "postgres",
        "sslmode": "verify-full",
        "sslrootcert": "/ca.pem",
    }
    assert target.credentials == {}


def test_postgres_scheme_and_default_port() -> None:
    target = PLUGIN.parse_target("postgres://scanner@DB.Example/appdb")
    assert target.id == "DB.Example:5432"
    assert target.url == "postgres://db.example:5432"
    assert target.options["dbname"] == "appdb"


def test_conninfo_string() -> None:
    target = PLUGIN.parse_target("host=db.example port=6432 user=scanner sslmode=require dbname=x")
    assert target.id == "db.example:6432"
    assert target.url == "postgres://db.example:6432"
    assert target.options == {"user": "scanner", "sslmode": "require", "dbname": "x"}


def test_bare_host_port_and_ipv6() -> None:
    assert PLUGIN.parse_target("db.example:5433").id == "db.example:5433"
    assert PLUGIN.parse_target("db.example").url == "postgres://db.example:5432"
    target = PLUGIN.parse_target("postgresql://scanner@[::1]:5432/postgres")
    assert target.id == "[::1]:5432"
    assert target.url == "postgres://[::1]:5432"


def test_unix_socket_directory_host() -> None:
    target = PLUGIN.parse_target("host=/var/run/postgresql port=5432 user=postgres")
    assert target.url == "postgres://%2Fvar%2Frun%2Fpostgresql:5432"
    params = connection_params(target, {}, 10)
    assert params["host"] == "/var/run/postgresql"


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://scanner:Sup3rS3cret-xyz@db.example:5432/postgres",
        "host=db.example user=scanner password=Sup3rS3cret-xyz",
        "postgresql://scanner@db.example/postgres?password=Sup3rS3cret-xyz",
        "host=db.example sslpassword=Sup3rS3cret-xyz",
    ],
)
def test_password_in_value_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        PLUGIN.parse_target(value)
    message = str(info.value)
    assert "Sup3rS3cret-xyz" not in message
    assert "PGPASSWORD" in message and ".pgpass" in message and "'password'" in message


def test_invalid_conninfo_does_not_echo_its_pieces() -> None:
    with pytest.raises(ConfigError) as info:
        PLUGIN.parse_target("host=db.example Sup3rS3cret-xyz")
    assert "Sup3rS3cret-xyz" not in str(info.value)
    assert "not a valid libpq URL" in str(info.value)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "empty"),
        ("host=a,b port=5432", "one host per"),
        ("host=db.example options=-cfoo=bar", "'options'"),
        ("postgresql://u@db.example:99999/x", "port"),
        ("user=scanner dbname=x", "no host"),
    ],
)
def test_bad_values(value: str, fragment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGHOST", raising=False)
    monkeypatch.delenv("PGPORT", raising=False)
    with pytest.raises(ConfigError, match=fragment):
        PLUGIN.parse_target(value)


def test_pghost_is_the_default_host_like_libpq(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOST", "env-db.example")
    monkeypatch.setenv("PGPORT", "6543")
    assert PLUGIN.parse_target("user=scanner").id == "env-db.example:6543"


def test_databases_option_from_url_and_options() -> None:
    target = PLUGIN.parse_target("postgres://s@db/postgres")
    assert databases_option(target) is None
    restricted = Target(id="x", kind="postgres", url=target.url, options={"databases": "appdb, other"})
    assert databases_option(restricted) == ["appdb", "other"]
    listed = Target(id="x", kind="postgres", url=target.url, options={"databases": ["appdb"]})
    assert databases_option(listed) == ["appdb"]
    bad = Target(id="x", kind="postgres", url=target.url, options={"databases": 5})
    with pytest.raises(ConfigError):
        databases_option(bad)


def test_connection_params_are_read_only_named_and_bounded() -> None:
    target = PLUGIN.parse_target("postgresql://scanner@db.example:5432/postgres?sslmode=verify-full")
    params = connection_params(target, {"password": Secret("pw-1")}, 12.5)
    assert params["host"] == "db.example"
    assert params["port"] == "5432"
    assert params["user"] == "scanner"
    assert params["dbname"] == "postgres"
    assert params["sslmode"] == "verify-full"
    assert params["password"] == "pw-1"
    assert params["application_name"] == "sovscan"
    assert params["connect_timeout"] == "13"
    assert params["options"] == session_options(12500)
    assert "default_transaction_read_only=on" in params["options"]
    assert "statement_timeout=12500" in params["options"]


def test_connection_params_options_override_and_dbname_override() -> None:
    target = Target(
        id="db",
        kind="postgres",
        url="postgres://db.example:5432",
        options={"user": "auditor", "sslmode": "require", "sslrootcert": "/etc/ca.pem", "databases": ["a"]},
    )
    params = connection_params(target, {}, 30, dbname="appdb")
    assert params["user"] == "auditor"
    assert params["sslrootcert"] == "/etc/ca.pem"
    assert params["dbname"] == "appdb"
    assert "databases" not in params
    assert "password" not in params  # libpq then reads PGPASSWORD / .pgpass itself


def test_connection_params_default_dbname_respects_pgdatabase(monkeypatch: pytest.MonkeyPatch) -> None:
    target = PLUGIN.parse_target("db.example")
    monkeypatch.delenv("PGDATABASE", raising=False)
    assert connection_params(target, {}, 5)["dbname"] == "postgres"
    monkeypatch.setenv("PGDATABASE", "fromenv")
    assert "dbname" not in connection_params(target, {}, 5)


def test_connection_params_user_connect_timeout_is_capped_by_budget() -> None:
    target = Target(id="db", kind="postgres", url="postgres://db:5432", options={"connect_timeout": "3"})
    assert connection_params(target, {}, 60)["connect_timeout"] == "3"
    target = Target(id="db", kind="postgres", url="postgres://db:5432", options={"connect_timeout": "90"})
    assert connection_params(target, {}, 10)["connect_timeout"] == "10"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"password": "x"}, "holds a secret"),
        ({"options": "-c default_transaction_read_only=off"}, "set by sovscan"),
        ({"application_name": "x"}, "set by sovscan"),
        ({"no_such_option": "1"}, "not a libpq connection parameter"),
    ],
)
def test_connection_params_refuse_bad_options(options: dict[str, str], fragment: str) -> None:
    target = Target(id="db", kind="postgres", url="postgres://db:5432", options=options)
    with pytest.raises(ConfigError, match=fragment):
        connection_params(target, {}, 10)


def test_connection_params_refuse_a_password_in_a_hand_made_target_url() -> None:
    target = Target(id="db", kind="postgres", url="postgresql://u:Sup3rS3cret-xyz@db:5432/x")
    with pytest.raises(ConfigError) as info:
        connection_params(target, {}, 10)
    assert "Sup3rS3cret-xyz" not in str(info.value)


def test_target_uri_normalises_any_url_form() -> None:
    target = Target(id="db", kind="postgres", url="postgresql://scanner@DB.example:6000/x?sslmode=require")
    assert target_uri(target) == "postgres://db.example:6000"
    assert connection_params(target, {}, 10)["sslmode"] == "require"


def test_plugin_shape() -> None:
    names = [spec.name for spec in PLUGIN.checks()]
    assert PLUGIN.kind == "postgres"
    assert len(names) == len(set(names)) == 25
    assert all(name.startswith("postgres.") for name in names)
    [baseline] = PLUGIN.baselines()
    assert baseline.name == "postgres.yaml"
    assert baseline.read_text(encoding="utf-8").startswith("apiVersion: sovscan/v1")


# -- TLS verified by default -------------------------------------------------------------------


def test_no_sslmode_means_verify_full_never_prefer(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("PGSSLMODE", "disable")  # the environment does not weaken it
    monkeypatch.delenv("PGSSLROOTCERT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.postgresql/root.crt
    params = connection_params(PLUGIN.parse_target("db.example:5432"), {}, 10)
    assert params["sslmode"] == "verify-full"
    assert params["sslrootcert"] == "system"
    assert transport_warnings(params) == []
    given = PLUGIN.parse_target("postgresql://s@db.example/postgres?sslrootcert=/etc/ca.pem")
    assert connection_params(given, {}, 10)["sslrootcert"] == "/etc/ca.pem"


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer", "require", "verify-ca"])
def test_weaker_modes_only_when_explicit_and_then_reported(mode: str) -> None:
    params = connection_params(PLUGIN.parse_target(f"host=db.example sslmode={mode}"), {}, 10)
    assert params["sslmode"] == mode
    [warning] = transport_warnings(params)
    assert f"sslmode={mode}" in warning and "explicitly" in warning


def test_unknown_sslmode_is_refused_and_sockets_need_none() -> None:
    with pytest.raises(ConfigError, match="sslmode 'sometimes'"):
        connection_params(PLUGIN.parse_target("host=db.example sslmode=sometimes"), {}, 10)
    params = connection_params(PLUGIN.parse_target("host=/run/postgresql"), {}, 10)
    assert "sslmode" not in params and transport_warnings(params) == []
