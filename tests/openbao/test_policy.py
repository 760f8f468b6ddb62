"""OpenBao ACL policy parsing and glob semantics (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from checks.openbao.acl import Acl, Reach, Sensitive, policy_reaches, witnesses
from checks.openbao.policy import (
    SUDO,
    WRITE_CAPABILITIES,
    PolicyParseError,
    parse_blocks,
    parse_policy,
    unknown_capabilities,
)

SENSITIVE = ["*", "sys/*"]
RISKY = frozenset({*WRITE_CAPABILITIES, SUDO})


def rules(text: str) -> dict[str, frozenset[str]]:
    return {r.path: r.capabilities for r in parse_policy(text)}


def _generic(targets: list[str], risky: frozenset[str] = RISKY) -> list[Sensitive]:
    return [Sensitive(path=t, capabilities=risky, generic=True) for t in targets]


def grants(
    text: str, targets: list[str] = SENSITIVE, risky: frozenset[str] = RISKY
) -> list[tuple[str, str, tuple[str, ...]]]:
    """Risky grants on an arbitrary path of each broad family."""
    return [(r.target, r.rule, r.capabilities) for r in policy_reaches(parse_blocks(text), _generic(targets, risky))]


def reach(text: str, target: str, risky: set[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Risky grants on any path of a sensitive family."""
    found = policy_reaches(parse_blocks(text), [Sensitive(path=target, capabilities=frozenset(risky))])
    return [(r.rule, r.path, r.capabilities) for r in found]


def caps(text: str, path: str) -> list[str]:
    return Acl.build([parse_blocks(text)]).capabilities(path)


# -- parsing ----------------------------------------------------------------------------


def test_parses_hcl_with_comments_and_several_blocks() -> None:
    text = """
    # operators
    path "sys/*" {
      capabilities = ["create", "update", "sudo"]
    }
    path "secret/data/+/config" { capabilities = ["read"] }
    """
    assert rules(text) == {
        "sys/*": frozenset({"create", "update", "sudo"}),
        "secret/data/+/config": frozenset({"read"}),
    }


def test_same_path_blocks_merge() -> None:
    text = 'path "sys/*" { capabilities = ["read"] }\npath "sys/*" { capabilities = ["update"] }\n'
    assert rules(text) == {"sys/*": frozenset({"read", "update"})}


def test_json_policies_are_understood() -> None:
    text = '{"path": {"sys/*": {"capabilities": ["sudo", "read"]}, "kv/*": {"capabilities": ["list"]}}}'
    assert rules(text) == {"sys/*": frozenset({"sudo", "read"}), "kv/*": frozenset({"list"})}


def test_legacy_policy_shorthand_expands() -> None:
    assert rules('path "*" { policy = "write" }') == {"*": frozenset({"create", "read", "update", "delete", "list"})}
    assert rules('path "sys/*" { policy = "sudo" }')["sys/*"] >= {"sudo", "update"}
    assert rules('path "sys/*" { policy = "deny" }') == {"sys/*": frozenset({"deny"})}


def test_capabilities_are_case_insensitive() -> None:
    assert rules('path "x" { capabilities = ["READ", "Sudo"] }') == {"x": frozenset({"read", "sudo"})}


def test_identity_templates_and_other_parameters_parse() -> None:
    text = """
    path "identity/entity/id/{{identity.entity.id}}" {
      capabilities = ["read"]
      allowed_parameters = { "foo" = [], "*" = ["a"] }
      min_wrapping_ttl = "1s"
    }
    """
    assert rules(text) == {"identity/entity/id/{{identity.entity.id}}": frozenset({"read"})}


def test_empty_policy_has_no_rules() -> None:
    assert parse_policy("") == ()
    assert parse_policy("   \n") == ()


@pytest.mark.parametrize(
    "text",
    [
        'path "x" { capabilities = ["read"',
        'path "x" { capabilities = "read" "write" }',
        'path "x" { policy = "superuser" }',
        '{"path": ["not", "blocks"]}',
        '{"path": {"x": {"capabilities": [1]}}}',
    ],
)
def test_malformed_policies_raise(text: str) -> None:
    with pytest.raises(PolicyParseError):
        parse_policy(text)


def test_unknown_capabilities_are_reported() -> None:
    parsed = parse_policy('path "x" { capabilities = ["read", "wrte"] }')
    assert unknown_capabilities(parsed) == {"x": ["wrte"]}


# -- evaluation (the differential test proves these against the real server) -----------------


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("sys/audit", "sys/audit", ["read"]),
        ("sys/audit", "sys/audit/file", ["deny"]),
        ("sys/*", "sys/audit", ["read"]),
        ("sys/*", "sys/", ["read"]),
        ("sys/*", "sysx", ["deny"]),
        ("s*", "sys/policies/acl/x", ["read"]),
        ("*", "anything/at/all", ["read"]),
        ("secret/+/config", "secret/team-a/config", ["read"]),
        ("secret/+/config", "secret/team-a/b/config", ["deny"]),
        ("secret/+/config", "secret/team-a/configx", ["deny"]),
        ("+/*", "sys/audit", ["read"]),
        ("+/*", "sys", ["deny"]),
        ("secret/+/a*", "secret/x/abc/d", ["read"]),
        ("sys/a*", "sys/b", ["deny"]),
        ("sys*audit", "sys/audit", ["deny"]),  # a '*' that is not last is literal
        ("a", "a/", ["read"]),  # LIST (and sys/capabilities) take the exact rule for a trailing '/'
    ],
)
def test_matching(pattern: str, path: str, expected: list[str]) -> None:
    assert caps(f'path "{pattern}" {{ capabilities = ["read"] }}', path) == expected


def test_the_most_specific_rule_decides_and_capabilities_do_not_add_up() -> None:
    text = 'path "*" { capabilities = ["update"] }\npath "sys/*" { capabilities = ["read"] }'
    assert caps(text, "sys/x") == ["read"]
    assert caps(text, "auth/x") == ["update"]


def test_same_path_rules_merge_across_policies_and_deny_wins() -> None:
    one, two = (
        parse_blocks('path "a/*" { capabilities = ["read"] }'),
        parse_blocks('path "a/*" { capabilities = ["list"] }'),
    )
    assert Acl.build([one, two]).capabilities("a/b") == ["list", "read"]
    deny = parse_blocks('path "a/*" { capabilities = ["deny"] }')
    assert Acl.build([one, deny, two]).capabilities("a/b") == ["deny"]


def test_witnesses_fill_wildcards_with_a_segment_no_rule_names() -> None:
    assert witnesses("sys/policies/acl/*", "sys/*")[0] == "sys/policies/acl/~sovscan"
    assert witnesses("auth/+/role/*", "auth/approle/*")[0] == "auth/approle/role/~sovscan"
    assert witnesses("sys/seal", "sys/+") == ["sys/seal"]
    assert witnesses("sys/seal", "secret/*") == []


# -- risky grants -----------------------------------------------------------------------


def test_star_with_write_fails_on_both_targets() -> None:
    assert grants('path "*" { capabilities = ["create", "read"] }') == [
        ("*", "*", ("create",)),
        ("sys/*", "*", ("create",)),
    ]


def test_sys_star_with_sudo() -> None:
    assert grants('path "sys/*" { capabilities = ["read", "sudo"] }') == [("sys/*", "sys/*", ("sudo",))]


@pytest.mark.parametrize("glob", ["+/*", "s*", "sy*", "sys*"])
def test_globs_that_cover_sys_are_found(glob: str) -> None:
    assert grants(f'path "{glob}" {{ capabilities = ["patch"] }}', ["sys/*"]) == [("sys/*", glob, ("patch",))]


def test_read_and_list_are_not_risky() -> None:
    assert grants('path "*" { capabilities = ["read", "list"] }\npath "sys/*" { capabilities = ["read"] }') == []


def test_narrow_paths_are_not_flagged() -> None:
    text = """
    path "sys/audit" { capabilities = ["read", "sudo"] }
    path "sys/policies/acl/*" { capabilities = ["create", "update"] }
    path "sys/+/tune" { capabilities = ["update"] }
    path "secret/*" { capabilities = ["create", "update", "delete"] }
    """
    assert grants(text) == []


def test_deny_on_the_same_path_grants_nothing() -> None:
    text = 'path "sys/*" { capabilities = ["update", "sudo"] }\npath "sys/*" { capabilities = ["deny"] }\n'
    assert grants(text) == []


def test_deny_in_the_same_rule_grants_nothing() -> None:
    assert grants('path "*" { capabilities = ["sudo", "deny"] }') == []


def test_a_more_specific_deny_shields_sys_but_not_star() -> None:
    text = 'path "*" { capabilities = ["update"] }\npath "sys/*" { capabilities = ["deny"] }\n'
    assert grants(text) == [("*", "*", ("update",))]


def test_a_less_specific_deny_does_not_shield() -> None:
    text = 'path "sys/*" { capabilities = ["delete"] }\npath "s*" { capabilities = ["deny"] }\n'
    assert grants(text) == [("sys/*", "sys/*", ("delete",))]


def test_a_read_only_more_specific_rule_wins_over_a_broad_write() -> None:
    text = 'path "+/*" { capabilities = ["update"] }\npath "sys/*" { capabilities = ["read"] }\n'
    assert grants(text, ["sys/*"]) == []


def test_custom_targets_and_capabilities() -> None:
    text = 'path "sys/policies/*" { capabilities = ["update"] }'
    assert grants(text) == []
    assert grants(text, ["sys/policies/acl/*"]) == [("sys/policies/acl/*", "sys/policies/*", ("update",))]
    assert [g[2] for g in grants('path "*" { capabilities = ["read"] }', ["*"], frozenset({"read"}))] == [("read",)]


# -- OpenBao's own reading of policies (HCL v1, leading '/', expirations, templates) ------------


def blocks_grants(text: str, targets: list[str] = SENSITIVE, now: datetime | None = None) -> list[Reach]:
    return policy_reaches(parse_blocks(text), _generic(targets), now=now)


def test_a_repeated_capabilities_attribute_adds_up() -> None:
    """HCL v1 keeps both attributes (OpenBao grants read and sudo); HCL 2 would keep only the last."""
    for text in (
        'path "sys/*" {\n capabilities = ["sudo"]\n capabilities = ["read"]\n}',
        'path "sys/*" {\n capabilities = ["read"]\n capabilities = ["sudo"]\n}',
    ):
        assert rules(text) == {"sys/*": frozenset({"read", "sudo"})}


def test_the_first_label_is_the_path() -> None:
    assert rules('path "sys/*" "ignored" { capabilities = ["sudo"] }') == {"sys/*": frozenset({"sudo"})}


def test_one_leading_slash_is_dropped() -> None:
    assert rules('path "/sys/*" { capabilities = ["sudo"] }') == {"sys/*": frozenset({"sudo"})}
    assert grants('path "/sys/*" { capabilities = ["sudo"] }') == [("sys/*", "sys/*", ("sudo",))]
    assert rules('path "//sys/*" { capabilities = ["sudo"] }') == {"/sys/*": frozenset({"sudo"})}


def test_json_duplicate_keys_are_kept() -> None:
    text = '{"path": {"sys/*": {"capabilities": ["read"]}, "sys/*": {"capabilities": ["sudo"]}}}'
    assert rules(text) == {"sys/*": frozenset({"read", "sudo"})}


def test_hcl_v1_syntax() -> None:
    text = """
    /* block comment
       over lines */
    name = "x"   // line comment
    path "a/*" { capabilities = ["read",] }, path "b" {
      capabilities = ["list"]
      allowed_parameters = { "k" = [1, 2.5, true, "v"] }
      comment = <<EOT
    free "text" { with braces }
    EOT
    }
    path "c\\u002fd" { capabilities = ["read"] }
    """
    assert rules(text) == {"a/*": frozenset({"read"}), "b": frozenset({"list"}), "c/d": frozenset({"read"})}


@pytest.mark.parametrize(
    "text",
    [
        'path "x" "y" = { capabilities = ["read"] }',
        'path "x" { capabilities = "read" }',
        'path "x" { policy = "read"\n policy = "write" }',
        'path "sys/+*" { capabilities = ["read"] }',
        'path "x" { capabilities = ["read"]\n expiration = "next tuesday" }',
        'path "x" { comment = <<EOT\nno end\n}',
        'path "x" { capabilities = ["read"] } }',
    ],
)
def test_what_openbao_refuses_is_a_parse_error(text: str) -> None:
    with pytest.raises(PolicyParseError):
        parse_blocks(text)


def test_an_expired_deny_does_not_shield() -> None:
    text = (
        'path "s*" { capabilities = ["sudo"] }\n'
        'path "sys/*" {\n capabilities = ["deny"]\n expiration = "2020-01-01T00:00:00Z"\n}'
    )
    [grant] = blocks_grants(text)
    assert (grant.target, grant.rule, grant.capabilities) == ("sys/*", "s*", ("sudo",))
    assert grant.after == datetime(2020, 1, 1, tzinfo=UTC)  # from the expiry on
    [now] = blocks_grants(text, now=datetime(2026, 11, 1, tzinfo=UTC))
    assert now.after is None  # already in force at collection time


def test_a_deny_that_will_expire_is_reported_with_the_date() -> None:
    text = (
        'path "*" { capabilities = ["update"] }\n'
        'path "sys/*" {\n capabilities = ["deny"]\n expiration = "2030-06-01T00:00:00Z"\n}'
    )
    found = {(g.target, g.after) for g in blocks_grants(text, now=datetime(2026, 11, 1, tzinfo=UTC))}
    assert found == {("*", None), ("sys/*", datetime(2030, 6, 1, tzinfo=UTC))}


def test_a_grant_that_has_expired_is_not_reported_once_the_time_is_known() -> None:
    text = 'path "sys/*" {\n capabilities = ["sudo"]\n expiration = "2020-01-01T00:00:00Z"\n}'
    assert [g.rule for g in blocks_grants(text)] == ["sys/*"]  # collection time unknown: assume it may hold
    assert blocks_grants(text, now=datetime(2026, 11, 1, tzinfo=UTC)) == []


def test_a_templated_deny_does_not_shield_but_a_templated_grant_counts() -> None:
    shield = 'path "+/*" { capabilities = ["update"] }\npath "{{identity.entity.name}}/*" { capabilities = ["deny"] }'
    assert [(g.target, g.rule) for g in blocks_grants(shield, ["sys/*"])] == [("sys/*", "+/*")]
    grant = 'path "{{identity.entity.name}}/*" { capabilities = ["sudo"] }'
    assert [g.rule for g in blocks_grants(grant, ["sys/*"])] == ["{{identity.entity.name}}/*"]


def test_the_witness_fill_is_a_character_the_policy_does_not_use() -> None:
    plain = Acl.build([parse_blocks('path "sys/*" { capabilities = ["update"] }')])
    assert plain.fresh() == "~sovscan"
    crowded = "".join(chr(c) for c in [*b"~!^`|$", *range(0x4E00, 0x5100)])
    acl = Acl.build([parse_blocks(f'path "x/{crowded}*" {{ capabilities = ["deny"] }}')])
    assert acl.fresh()[0] not in crowded
