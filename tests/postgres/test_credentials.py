"""Every credential is redacted wherever it came from, even when the server echoes it back.

Uses the fake wire-protocol server of `tests/services/pgwire.py` (a stand-in: a real
PostgreSQL never echoes a password), which asks for a clear-text password and sends it back
in its ErrorResponse. For every credential source (inventory `env:` and `file:`, PGPASSWORD,
a .pgpass file, a service file) the password must reach the server (it was really used) and
must appear in no report format, not on the console and not in saved evidence.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.postgres.ambient import ambient_credentials, pgpass_fields, pgpass_passwords
from checks.postgres.plugin import PLUGIN
from scanner.interface import Target
from tests.postgres.test_cli import every_output, sovscan
from tests.services.pgwire import FakePgServer, fake_pg_server

FORMATS = ("json", "sarif", "junit", "wazuh")


@pytest.fixture
def echo_server() -> Iterator[FakePgServer]:
    with fake_pg_server("echo") as server:
        yield server


def url(server: FakePgServer) -> str:
    return f"postgresql://scanner@127.0.0.1:{server.port}/postgres?sslmode=disable"


def run_scan(tmp_path: Path, scan_args: list[str], env: dict[str, str]) -> str:
    out = tmp_path / "out"
    out.mkdir()
    evidence = tmp_path / "evidence"
    args = ["scan", "--no-progress", *scan_args, "-f", "console", "--save-evidence", str(evidence)]
    for name in FORMATS:
        args += ["-f", f"{name}={out / name}"]
    result = sovscan(*args, env=env)
    assert result.returncode == 3, result.stderr  # the target could not be read: incomplete scan
    return every_output(result, out, evidence) if evidence.exists() else every_output(result, out)


def inventory(tmp_path: Path, server: FakePgServer, reference: str) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - id: echo\n    kind: postgres\n    url: {url(server)}\n    credentials: {{password: '{reference}'}}\n"
    )
    return path


def assert_redacted(text: str, password: str, server: FakePgServer) -> None:
    assert server.received == [password] or set(server.received) == {password}, "the password was not sent"
    assert "you sent" in text, "the server's echo did not reach the reports: the test would prove nothing"
    assert password not in text


@pytest.mark.parametrize("source", ["env", "file"])
def test_inventory_credentials_are_redacted(tmp_path: Path, echo_server: FakePgServer, source: str) -> None:
    password = "inv-" + secrets.token_urlsafe(16)
    env: dict[str, str] = {}
    if source == "env":
        env["SOVSCAN_ECHO_PW"] = password
        reference = "env:SOVSCAN_ECHO_PW"
    else:
        secret_file = tmp_path / "pw"
        secret_file.write_text(password + "\n")
        reference = f"file:{secret_file}"
    text = run_scan(tmp_path, ["--inventory", str(inventory(tmp_path, echo_server, reference))], env)
    assert_redacted(text, password, echo_server)


def test_pgpassword_is_redacted(tmp_path: Path, echo_server: FakePgServer) -> None:
    password = "env-" + secrets.token_urlsafe(16)
    text = run_scan(tmp_path, ["--target", f"postgres={url(echo_server)}"], {"PGPASSWORD": password})
    assert_redacted(text, password, echo_server)


def test_pgpass_file_is_redacted(tmp_path: Path, echo_server: FakePgServer) -> None:
    password = "pgpass-" + secrets.token_urlsafe(16) + ":x"  # a colon, escaped in the file
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"# comment\n127.0.0.1:{echo_server.port}:*:scanner:{password.replace(':', chr(92) + ':')}\n")
    passfile.chmod(0o600)
    text = run_scan(tmp_path, ["--target", f"postgres={url(echo_server)}"], {"PGPASSFILE": str(passfile)})
    assert_redacted(text, password, echo_server)


def test_service_file_password_is_redacted(tmp_path: Path, echo_server: FakePgServer) -> None:
    password = "svc-" + secrets.token_urlsafe(16)
    service_file = tmp_path / "pg_service.conf"
    service_file.write_text(f"[echo]\nhost=127.0.0.1\nport={echo_server.port}\nuser=scanner\npassword={password}\n")
    target = f"postgres=service=echo host=127.0.0.1 port={echo_server.port} sslmode=disable"
    text = run_scan(tmp_path, ["--target", target], {"PGSERVICEFILE": str(service_file)})
    assert_redacted(text, password, echo_server)


# -- ambient_credentials() itself ------------------------------------------------------------


def test_pgpass_parsing_follows_libpq() -> None:
    assert pgpass_fields(r"db\:1:5432:*:u:pa\:ss\\word") == ["db:1", "5432", "*", "u", r"pa:ss\word"]
    text = "db:5432:*:*:one\n*:*:*:*:two\nother:5432:*:*:three\ndb:6000:*:*:four\n#db:5432:*:*:five\n"
    assert pgpass_passwords(text, "db", "5432") == ["one", "two"]
    assert pgpass_passwords("localhost:5432:*:*:sock\n", "/run/postgresql", "5432") == ["sock"]


def test_ambient_credentials_never_raise_and_find_every_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target: Target = PLUGIN.parse_target("postgresql://scanner@db.example:5432/postgres?sslmode=verify-full")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "missing"))
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "missing-too"))
    assert dict(PLUGIN.ambient_credentials(target)) == {}
    monkeypatch.setenv("PGPASSWORD", "from-env")
    (tmp_path / "pgpass").write_text("db.example:5432:*:*:from-file\n")
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "pgpass"))
    (tmp_path / "svc").write_text("[s]\npassword=from-service\n")
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "svc"))
    monkeypatch.setenv("PGSERVICE", "s")
    found = {secret.reveal() for secret in ambient_credentials(target).values()}
    assert found == {"from-env", "from-file", "from-service"}
    (tmp_path / "svc").write_text("[broken\n")
    assert {s.reveal() for s in ambient_credentials(target).values()} == {"from-env", "from-file"}
