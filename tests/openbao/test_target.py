"""Target parsing and the token/TLS/namespace conventions (no server needed)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from checks.openbao.collect import REDACTED, _redact
from checks.openbao.connect import namespace_setting, tls_settings, token_from_conventions
from checks.openbao.plugin import PLUGIN
from checks.openbao.resolver import parse_reference
from checks.openbao.units import format_duration, parse_duration, version_at_least
from scanner.errors import CollectionError, ConfigError
from scanner.interface import Secret

# -- parse_target -----------------------------------------------------------------------


def test_parse_target_defaults() -> None:
    target = PLUGIN.parse_target("https://bao.example:8200")
    assert (target.id, target.kind, target.url, dict(target.options)) == (
        "bao.example:8200",
        "openbao",
        "https://bao.example:8200",
        {},
    )
    assert PLUGIN.parse_target("bao.example").url == "https://bao.example:8200"
    assert PLUGIN.parse_target("http://127.0.0.1:18200/").id == "127.0.0.1:18200"
    assert PLUGIN.parse_target("https://[::1]:8200").id == "[::1]:8200"


def test_parse_target_query_options() -> None:
    target = PLUGIN.parse_target(
        "https://bao.example:8200?namespace=team-a&probes=true&ca_cert=/ca.pem&max_accessors=50"
    )
    assert target.id == "bao.example:8200/team-a"
    assert dict(target.options) == {"namespace": "team-a", "probes": True, "ca_cert": "/ca.pem", "max_accessors": 50}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("https://bao.example:8200?token=s.abc", "do not put credentials in the URL"),
        ("https://user:pw@bao.example:8200", "do not put credentials"),
        ("ftp://bao.example", "must start with https://"),
        ("https://bao.example:8200?colour=red", "unknown OpenBao option 'colour'"),
        ("https://bao.example:8200?probes=maybe", "probes must be true or false"),
        ("https://bao.example:8200/v1/secret", "has no path"),
        ("https://bao.example:99999", "bad port"),
        ("", "needs a URL"),
    ],
)
def test_parse_target_rejects(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PLUGIN.parse_target(value)


def test_plugin_shape() -> None:
    names = {spec.name for spec in PLUGIN.checks()}
    assert "openbao.acl_policies" in names and len(names) == len(PLUGIN.checks())
    assert [r.scheme for r in PLUGIN.credential_resolvers()] == ["bao"]
    assert [b.name for b in PLUGIN.baselines()] == ["openbao.yaml"]


# -- token conventions ------------------------------------------------------------------


def test_token_precedence(monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path) -> None:
    (home / ".vault-token").write_text("from-helper\n")
    token_file = tmp_path / "token"
    token_file.write_text("  from-file\n")
    monkeypatch.setenv("VAULT_TOKEN", "from-vault-env")
    monkeypatch.setenv("BAO_TOKEN", "from-bao-env")
    options = {"token_file": str(token_file)}
    secrets = {"token": Secret("from-inventory")}

    def pick(secrets: dict[str, Secret], options: dict[str, str]) -> tuple[str, str]:
        token, source = token_from_conventions(secrets, options)
        return token.reveal(), source

    assert pick(secrets, options) == ("from-inventory", "inventory credential 'token'")
    assert pick({}, options) == ("from-file", "option token_file")
    assert pick({}, {}) == ("from-bao-env", "BAO_TOKEN")
    monkeypatch.delenv("BAO_TOKEN")
    assert pick({}, {}) == ("from-vault-env", "VAULT_TOKEN")
    monkeypatch.delenv("VAULT_TOKEN")
    assert pick({}, {}) == ("from-helper", "~/.vault-token")


def test_no_token_anywhere(home: Path) -> None:
    with pytest.raises(CollectionError) as info:
        token_from_conventions({}, {})
    assert info.value.reason == CollectionError.CREDENTIALS
    assert "BAO_TOKEN" in info.value.message


def test_unreadable_or_empty_token_file(tmp_path: Path) -> None:
    with pytest.raises(CollectionError, match="cannot read token_file"):
        token_from_conventions({}, {"token_file": str(tmp_path / "missing")})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(CollectionError, match="is empty"):
        token_from_conventions({}, {"token_file": str(tmp_path / "empty")})


# -- TLS and namespace ------------------------------------------------------------------


def test_tls_defaults_to_verification() -> None:
    settings = tls_settings({})
    assert settings.verify is True and settings.skip_verify_source is None


def test_ca_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_CACERT", "/vault-ca.pem")
    assert tls_settings({}).verify == "/vault-ca.pem"
    monkeypatch.setenv("BAO_CACERT", "/bao-ca.pem")
    assert (tls_settings({}).verify, tls_settings({}).ca_source) == ("/bao-ca.pem", "BAO_CACERT")
    assert (tls_settings({"ca_cert": "/opt.pem"}).verify, tls_settings({"ca_cert": "/opt.pem"}).ca_source) == (
        "/opt.pem",
        "option ca_cert",
    )


@pytest.mark.parametrize(("value", "skipped"), [("1", True), ("true", True), ("false", False), ("0", False)])
def test_skip_verify_only_when_explicitly_true(monkeypatch: pytest.MonkeyPatch, value: str, skipped: bool) -> None:
    monkeypatch.setenv("BAO_SKIP_VERIFY", value)
    settings = tls_settings({"ca_cert": "/ca.pem"})
    assert (settings.verify is False) is skipped
    assert settings.skip_verify_source == ("BAO_SKIP_VERIFY" if skipped else None)


def test_skip_verify_option_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAO_SKIP_VERIFY", "true")
    assert tls_settings({"tls_skip_verify": False}).verify is True
    assert tls_settings({"tls_skip_verify": True}).skip_verify_source == "option tls_skip_verify"
    monkeypatch.setenv("BAO_SKIP_VERIFY", "perhaps")
    with pytest.raises(ConfigError, match="BAO_SKIP_VERIFY must be true or false"):
        tls_settings({})


def test_client_certificate_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAO_CLIENT_CERT", "/c.pem")
    monkeypatch.setenv("BAO_CLIENT_KEY", "/k.pem")
    assert tls_settings({}).client_cert == ("/c.pem", "/k.pem")
    assert tls_settings({"client_cert": "/o.pem", "client_key": "/ok.pem"}).client_cert == ("/o.pem", "/ok.pem")


def test_namespace_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert namespace_setting({}) is None
    monkeypatch.setenv("BAO_NAMESPACE", "env-ns/")
    assert namespace_setting({}) == "env-ns"
    assert namespace_setting({"namespace": "/team-a/sub/"}) == "team-a/sub"
    assert namespace_setting({"namespace": ""}) is None


# -- small parsers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("24h", 86400), ("1h30m", 5400), ("90s", 90), ("3600", 3600), (7200, 7200), ("1d", 86400)]
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "24x", "1h 30m", "-5s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_format_duration_and_versions() -> None:
    assert [format_duration(s) for s in (0, 45, 5400, 2764800)] == ["0s", "45s", "1h30m", "768h"]
    assert (
        version_at_least("2.7.2", "2.5") and version_at_least("2.5", "2.5.0") and not version_at_least("2.4.9", "2.5")
    )


@pytest.mark.parametrize(
    ("reference", "expected"),
    [("secret/db/pg#password", ("secret/db/pg", "password")), ("/kv/team/app/#key", ("kv/team/app", "key"))],
)
def test_parse_reference(reference: str, expected: tuple[str, str]) -> None:
    assert parse_reference(reference) == expected


@pytest.mark.parametrize("reference", ["secret/db", "secret#password", "secret/db#", "secret//db#x", "#x"])
def test_parse_reference_rejects(reference: str) -> None:
    with pytest.raises(CollectionError, match=r"bao:MOUNT/PATH#FIELD"):
        parse_reference(reference)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"probe": True}, "unknown OpenBao option"),
        ({"probes": "sometimes"}, "option probes must be true or false"),
        ({"max_accessors": 0}, "max_accessors must be a positive integer"),
        ({"max_accessors": "many"}, "max_accessors must be a positive integer"),
    ],
)
def test_bad_inventory_options_are_config_errors(options: dict[str, object], message: str) -> None:
    target = replace(PLUGIN.parse_target("http://127.0.0.1:1"), options=options)
    with pytest.raises(ConfigError, match=message):
        PLUGIN.collect(target, {"token": Secret("s.x")}, 5)


def test_secret_looking_values_are_redacted_from_evidence() -> None:
    raw = {
        "token_type": "default-service",
        "circonus_api_token": "abc",
        "telemetry": {"stackdriver_access_key": "", "statsd_address": "10.0.0.1:8125"},
        "audit": [
            {"options": {"headers": {"Authorization": ["Bearer x"]}, "file_path": "/var/log/a", "log_raw": "false"}}
        ],
        "tls_key_file": "/etc/bao/key.pem",
    }
    assert _redact(raw) == {
        "token_type": "default-service",
        "circonus_api_token": REDACTED,
        "telemetry": {"stackdriver_access_key": "", "statsd_address": "10.0.0.1:8125"},
        "audit": [{"options": {"headers": REDACTED, "file_path": "/var/log/a", "log_raw": "false"}}],
        "tls_key_file": "/etc/bao/key.pem",
    }
