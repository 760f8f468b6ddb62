"""OpenBao ACL policy parsing and glob semantics (pure)."""

from __future__ import annotations

import pytest

from checks.openbao.policy import (
    PathRule,
    PolicyParseError,
    covers,
    effective_rule,
    matches,
    parse_policy,
    priority,
    risky_grants,
    unknown_capabilities,
)

SENSITIVE = ["*", "sys/*"]


def rules(text: str) -> dict[str, frozenset[str]]:
    return {r.path: r.capabilities for r in parse_policy(text)}


def grants(text: str, targets: list[str] = SENSITIVE) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(g.target, g.rule, g.capabilities) for g in risky_grants(parse_policy(text), targets)]


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


# -- matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("sys/audit", "sys/audit", True),
        ("sys/audit", "sys/audit/file", False),
        ("sys/*", "sys/audit", True),
        ("sys/*", "sys/", True),
        ("sys/*", "sysx", False),
        ("s*", "sys/policies/acl/x", True),
        ("*", "anything/at/all", True),
        ("secret/+/config", "secret/team-a/config", True),
        ("secret/+/config", "secret/team-a/b/config", False),
        ("secret/+/config", "secret/team-a/configx", False),
        ("+/*", "sys/audit", True),
        ("+/*", "sys", False),
        ("secret/+/a*", "secret/x/abc/d", True),
        ("sys/a*", "sys/b", False),
        ("sys*audit", "sys/audit", False),  # a '*' that is not last is literal
    ],
)
def test_matches(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


@pytest.mark.parametrize(
    ("pattern", "target", "expected"),
    [
        ("*", "sys/*", True),
        ("*", "*", True),
        ("sys/*", "sys/*", True),
        ("sys*", "sys/*", True),
        ("s*", "sys/*", True),
        ("+/*", "sys/*", True),
        ("+/*", "*", False),
        ("s*", "*", False),
        ("sys/*", "*", False),
        ("sys/a*", "sys/*", False),
        ("sys/+", "sys/*", False),
        ("sys/+/*", "sys/*", False),
        ("sys", "sys/*", False),
        ("sys/audit", "sys/audit", True),
        ("sys/+", "sys/audit", True),
        ("{{identity.entity.name}}/*", "sys/*", True),  # a template segment may expand to "sys"
    ],
)
def test_covers(pattern: str, target: str, expected: bool) -> None:
    assert covers(pattern, target) is expected


def test_priority_follows_openbao_ordering() -> None:
    ordered = ["*", "s*", "+/*", "sys/*", "sys/+/acl", "sys/policies/*", "sys/policies/+", "sys/policies/acl/admin"]
    # lower priority first: an earlier first wildcard loses, then prefix loses to non-prefix, then more
    # `+` segments lose, then the shorter pattern; an exact path wins over every glob
    assert sorted(ordered, key=priority) == [
        "+/*",
        "*",
        "s*",
        "sys/*",
        "sys/+/acl",
        "sys/policies/*",
        "sys/policies/+",
        "sys/policies/acl/admin",
    ]


def test_effective_rule_is_the_most_specific_covering_rule() -> None:
    parsed = [PathRule("*", frozenset({"update"})), PathRule("sys/*", frozenset({"deny"}))]
    rule = effective_rule(parsed, "sys/*")
    assert rule is not None and rule.path == "sys/*"
    assert effective_rule(parsed, "auth/*") is not None
    assert effective_rule([PathRule("secret/*", frozenset({"read"}))], "sys/*") is None


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
    parsed = parse_policy('path "*" { capabilities = ["read"] }')
    assert [g.capabilities for g in risky_grants(parsed, ["*"], ["read"])] == [("read",)]
