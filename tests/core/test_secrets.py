"""Secrets typed in the wrong place never come back in an error message, a report or the progress output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner.credentials import mask_credentials, resolve_target_credentials
from scanner.errors import CollectionError, SovscanError
from scanner.evidence import redact
from scanner.interface import Target
from scanner.store import open_store

DATA = Path(__file__).parent / "data"
SECRET = "s3cret-Pa55"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://scanner:{SECRET}@[::1/sovscan",  # libpq quotes the whole URL in its message
        f"postgresql://scanner:{SECRET}%zz@db.example/sovscan",  # ... or the bad token
        f"postgresql://scanner:{SECRET}@db.example/sovscan?nosuchparam=1",
        f"postgresql://scanner@db.example/sovscan?password={SECRET}&nosuchparam=1",
        f"mysql://scanner:{SECRET}@db.example/sovscan",
        f"postgresql+psycopg://scanner:{SECRET}@db.example/sovscan",
        f"postgresql://scanner:{SECRET}@127.0.0.1:1/sovscan?connect_timeout=2",  # refused
    ],
)
def test_store_url_password_is_never_in_an_error(url: str) -> None:
    with pytest.raises(SovscanError) as info:
        open_store(url)
    assert SECRET not in str(info.value)
    assert "s3cret" not in str(info.value)


def test_store_url_password_is_not_printed_by_the_cli(run: Any) -> None:
    result = run("history", "--store", f"postgresql://scanner:{SECRET}@[::1/sovscan")
    assert result.exit_code == 2
    assert SECRET not in result.output
    assert result.stderr.startswith("sovscan: error: --store: invalid PostgreSQL URL")


def test_a_target_without_kind_is_not_echoed_with_its_password(run: Any) -> None:
    result = run("scan", "--target", f"postgresql://scanner:{SECRET}@db.example:5432/postgres")
    assert result.exit_code == 2
    assert SECRET not in result.output
    assert "postgresql://scanner:***@db.example:5432/postgres" in result.stderr


def test_a_target_url_with_a_password_is_refused_for_every_kind(run: Any, tmp_path: Path) -> None:
    # the demo plugin accepts any VALUE: the engine itself must refuse credentials in a target's URL
    result = run("scan", "--target", f"demo=https://scanner:{SECRET}@facts.example/x.json")
    assert result.exit_code == 2
    assert SECRET not in result.output
    assert "password" in result.stderr
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - kind: demo\n    url: https://scanner:{SECRET}@facts.example/x.json\n"
    )
    result = run("scan", "--inventory", str(inventory))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sovscan: error: {inventory}:5: ")
    assert SECRET not in result.output


@pytest.mark.parametrize(
    ("target_yaml", "line", "needle"),
    [
        (f"url: {{password: {SECRET}}}", 5, "s3cret"),  # a mapping where a string belongs: its repr would show it
        (f"url: x.json\n    labels: {{db: [{SECRET}]}}", 6, "s3cret"),
        (f"url: x.json\n    timeout: '{SECRET}'", 6, "s3cret"),
        (f"url: x.json\n    credentials: {{password: '{SECRET}'}}", 6, "s3cret"),
        ("url: x.json\n    credentials: {password: 'correcthorse:battery'}", 6, "correcthorse"),  # looks like a ref
        (f"url: x.json\n    id: '-{SECRET}'", 6, "s3cret"),
        (f"url: x.json\n    id: 'https://scanner:{SECRET}@db.example'", 6, "s3cret"),
    ],
)
def test_inventory_errors_never_echo_values(run: Any, tmp_path: Path, target_yaml: str, line: int, needle: str) -> None:
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n  - kind: demo\n    {target_yaml}\n")
    result = run("validate", "--inventory", str(inventory))
    assert result.exit_code == 2
    assert f"{inventory}:{line}: " in result.stderr
    assert needle not in result.output


def test_unknown_credential_scheme_is_not_echoed() -> None:
    target = Target(id="t", kind="demo", url="x", credentials={"password": f"{SECRET}:rest"})
    with pytest.raises(CollectionError) as info:
        resolve_target_credentials(target, {}, {})
    assert "s3cret" not in str(info.value)
    assert "credential 'password'" in str(info.value)
    with pytest.raises(CollectionError) as info:
        resolve_target_credentials(Target(id="t", kind="demo", url="x", credentials={"password": "plainpw"}), {}, {})
    assert "plainpw" not in str(info.value)


def test_redaction_covers_the_url_encoded_form() -> None:
    secret = "p@ss/w0rd:x"
    text = "could not connect to postgresql://scanner:p%40ss%2Fw0rd%3Ax@db/postgres"
    assert secret not in redact(text, [secret]) and "p%40ss" not in redact(text, [secret])


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:p@ss@db/x", "postgresql://u:***@db/x"),  # an unencoded @ in the password
        ("host=db password=pw1 user=u", "host=db password=*** user=u"),
        ("https://sso/token?client_secret=abc&grant_type=x", "https://sso/token?client_secret=***&grant_type=x"),
        ("https://bao:8200/v1/kv?access_token=t0k", "https://bao:8200/v1/kv?access_token=***"),
        ("postgresql://scanner@db:5432/postgres", "postgresql://scanner@db:5432/postgres"),  # nothing to hide
    ],
)
def test_mask_credentials(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked


def test_every_error_line_masks_url_passwords(capsys: pytest.CaptureFixture[str]) -> None:
    from scanner.cli import _fail

    with pytest.raises(SystemExit) as info:
        _fail(f"internal error: OperationalError: could not connect to postgresql://u:{SECRET}@db/x")
    assert info.value.code == 2
    assert (
        capsys.readouterr().err == "sovscan: error: internal error: OperationalError: could not connect to "
        "postgresql://u:***@db/x\n"
    )
