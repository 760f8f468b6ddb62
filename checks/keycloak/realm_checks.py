"""Checks on realm settings: TLS, brute force, passwords, OTP, MFA, events, registration, lifespans,
headers, signature algorithm. Pure functions over the evidence sections of `checks.keycloak.shape`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from checks.keycloak.common import SCOPE, as_int, client_resource, each_realm, realm_resource, truthy
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Status

Judged = tuple[Status, str, Any, Any]
"""(status, message, observed, expected) for one realm."""


def _per_realm(
    evidence: Evidence, section: str, judge: Callable[[str, Mapping[str, Any]], Judged]
) -> Iterable[CheckResult]:
    for realm, data, error in each_realm(evidence, section):
        if error is not None:
            yield error
            continue
        status, message, observed, expected = judge(realm, data)
        yield CheckResult(realm_resource(evidence, realm), status, message, observed, expected)


_INT = {"type": "integer", "minimum": 0}
_STRS = {"type": "array", "items": {"type": "string"}}


@check("keycloak.ssl_required", needs=(SCOPE, "realms"), params={"allowed": _STRS})
def ssl_required(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The realm requires TLS (`sslRequired` external or all)."""
    allowed = list(params.get("allowed", ["external", "all"]))

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        value = str(data.get("sslRequired") or "external").lower()  # Keycloak's default is external
        ok = value in allowed
        return (Status.PASS if ok else Status.FAIL, f"sslRequired is '{value}'", value, allowed)

    return _per_realm(evidence, "realms", judge)


@check(
    "keycloak.brute_force",
    needs=(SCOPE, "realms"),
    params={"max_failure_factor": _INT, "min_wait_seconds": _INT},
)
def brute_force(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Brute-force detection is on, locking after at most `max_failure_factor` failures."""
    max_failures = int(params.get("max_failure_factor", 10))
    min_wait = int(params.get("min_wait_seconds", 60))
    expected = {
        "bruteForceProtected": True,
        "failureFactor": f"<= {max_failures}",
        "maxFailureWaitSeconds": f">= {min_wait}",
    }

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        observed = {
            k: data.get(k)
            for k in ("bruteForceProtected", "failureFactor", "permanentLockout", "maxFailureWaitSeconds")
        }
        if not truthy(data.get("bruteForceProtected")):
            return Status.FAIL, "brute-force detection is off", observed, expected
        factor = as_int(data.get("failureFactor"))
        wait = as_int(data.get("maxFailureWaitSeconds"))
        problems = []
        if factor is None or factor > max_failures or factor < 1:
            problems.append(f"failureFactor {factor} (allows more than {max_failures} failures)")
        if not truthy(data.get("permanentLockout")) and (wait is None or wait < min_wait):
            problems.append(f"temporary lockout of at most {wait}s (< {min_wait}s)")
        if problems:
            return Status.FAIL, "brute-force thresholds too lax: " + "; ".join(problems), observed, expected
        return Status.PASS, f"brute-force detection on, lockout after {factor} failures", observed, expected

    return _per_realm(evidence, "realms", judge)


_POLICY_ITEM = re.compile(r"([A-Za-z][\w-]*)\s*(?:\(([^)]*)\))?")


def parse_password_policy(text: Any) -> dict[str, str]:
    """`length(12) and notUsername and passwordHistory(3)` -> {"length": "12", "notUsername": "", ...}."""
    out: dict[str, str] = {}
    for part in re.split(r"\s+and\s+", str(text or "").strip()):
        match = _POLICY_ITEM.fullmatch(part.strip())
        if match:
            out[match.group(1)] = (match.group(2) or "").strip()
    return out


@check(
    "keycloak.password_policy",
    needs=(SCOPE, "realms"),
    params={"min_length": _INT, "min_history": _INT, "require": _STRS},
)
def password_policy(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The password policy sets a minimum length, a history and the required rules (e.g. notUsername)."""
    min_length = int(params.get("min_length", 12))
    min_history = int(params.get("min_history", 3))
    required = list(params.get("require", ["notUsername"]))
    expected = {"length": f">= {min_length}", "passwordHistory": f">= {min_history}", "rules": required}

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        policy = parse_password_policy(data.get("passwordPolicy"))
        problems = []
        length = as_int(policy.get("length"))
        if length is None or length < min_length:
            problems.append(f"minimum length {length if length is not None else 'not set'} (< {min_length})")
        history = as_int(policy.get("passwordHistory"))
        if min_history and (history is None or history < min_history):
            problems.append(f"password history {history if history is not None else 'not set'} (< {min_history})")
        problems.extend(f"{rule} missing" for rule in required if rule not in policy)
        observed = data.get("passwordPolicy") or ""
        if problems:
            return Status.FAIL, "password policy too weak: " + "; ".join(problems), observed, expected
        return Status.PASS, "password policy meets the minimums", observed, expected

    return _per_realm(evidence, "realms", judge)


DEFAULT_MIN_ITERATIONS = {"pbkdf2-sha512": 210000, "pbkdf2-sha256": 600000, "pbkdf2": 1300000, "argon2": 1}
"""OWASP Password Storage Cheat Sheet minimums (argon2 is tuned by memory; Keycloak's default is 5)."""
KEYCLOAK_DEFAULT_ITERATIONS = {"pbkdf2-sha512": 210000, "pbkdf2-sha256": 600000, "pbkdf2": 1300000, "argon2": 5}


@check(
    "keycloak.password_hashing",
    needs=(SCOPE, "realms"),
    params={
        "allowed_algorithms": _STRS,
        "min_iterations": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
    },
)
def password_hashing(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Passwords are hashed with an allowed algorithm and at least its minimum iterations."""
    allowed = list(params.get("allowed_algorithms", ["argon2", "pbkdf2-sha512", "pbkdf2-sha256"]))
    minimums = {**DEFAULT_MIN_ITERATIONS, **dict(params.get("min_iterations", {}))}

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        policy = parse_password_policy(data.get("passwordPolicy"))
        algorithm = policy.get("hashAlgorithm") or "argon2"  # Keycloak 24+ default (non-FIPS)
        iterations = as_int(policy.get("hashIterations"))
        effective = iterations if iterations is not None else KEYCLOAK_DEFAULT_ITERATIONS.get(algorithm)
        observed = {
            "hashAlgorithm": algorithm,
            "hashIterations": effective,
            "set_explicitly": "hashIterations" in policy,
        }
        expected = {"hashAlgorithm": allowed, "hashIterations": f">= {minimums.get(algorithm, '?')}"}
        if algorithm not in allowed:
            return Status.FAIL, f"password hash algorithm '{algorithm}' is not allowed", observed, expected
        floor = minimums.get(algorithm)
        if floor is not None and (effective is None or effective < floor):
            return Status.FAIL, f"{algorithm} with {effective} iterations (< {floor})", observed, expected
        return Status.PASS, f"passwords hashed with {algorithm}, {effective} iterations", observed, expected

    return _per_realm(evidence, "realms", judge)


@check(
    "keycloak.otp_policy",
    needs=(SCOPE, "realms"),
    params={"min_digits": _INT, "max_look_ahead": _INT, "max_period": _INT, "allowed_algorithms": _STRS},
)
def otp_policy(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """OTP codes are not reusable, have enough digits and a narrow look-ahead window."""
    min_digits = int(params.get("min_digits", 6))
    max_look_ahead = int(params.get("max_look_ahead", 1))
    max_period = int(params.get("max_period", 30))
    algorithms = list(params.get("allowed_algorithms", ["HmacSHA1", "HmacSHA256", "HmacSHA512"]))
    expected = {"codeReusable": False, "digits": f">= {min_digits}", "lookAheadWindow": f"<= {max_look_ahead}",
                "period": f"<= {max_period}", "algorithm": algorithms}  # fmt: skip

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        observed = {
            "codeReusable": data.get("otpPolicyCodeReusable"),
            "digits": data.get("otpPolicyDigits"),
            "lookAheadWindow": data.get("otpPolicyLookAheadWindow"),
            "period": data.get("otpPolicyPeriod"),
            "algorithm": data.get("otpPolicyAlgorithm"),
            "type": data.get("otpPolicyType"),
        }
        problems = []
        if truthy(data.get("otpPolicyCodeReusable")):
            problems.append("codes are reusable")
        digits = as_int(data.get("otpPolicyDigits"))
        if digits is None or digits < min_digits:
            problems.append(f"{digits} digits")
        window = as_int(data.get("otpPolicyLookAheadWindow"))
        if window is None or window > max_look_ahead:
            problems.append(f"look-ahead window {window}")
        period = as_int(data.get("otpPolicyPeriod"))
        if str(data.get("otpPolicyType") or "totp") == "totp" and (period is None or period > max_period):
            problems.append(f"period {period}s")
        if str(data.get("otpPolicyAlgorithm")) not in algorithms:
            problems.append(f"algorithm {data.get('otpPolicyAlgorithm')}")
        if problems:
            return Status.FAIL, "weak OTP policy: " + ", ".join(problems), observed, expected
        return Status.PASS, "OTP policy is strict", observed, expected

    return _per_realm(evidence, "realms", judge)


MFA_AUTHENTICATORS = frozenset(
    {"auth-otp-form", "webauthn-authenticator", "webauthn-authenticator-passwordless", "auth-recovery-authn-code-form"}
)
PASSWORD_AUTHENTICATORS = frozenset({"auth-username-password-form", "auth-password-form"})
NEUTRAL_AUTHENTICATORS = frozenset({"auth-cookie", "identity-provider-redirector", "auth-spnego"})


Outcome = tuple[bool, bool]
"""(a password was used, a second factor was used) for one way through a flow."""


def _tree(executions: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The flattened executions (level = depth) as a tree under a REQUIRED root."""
    root: dict[str, Any] = {"children": [], "requirement": "REQUIRED", "flow": "(top)"}
    stack = [root]
    for step in executions:
        level = int(step.get("level") or 0)
        node = {**step, "children": []}
        del stack[level + 1 :]
        if level >= len(stack):  # malformed nesting: attach to the deepest flow
            level = len(stack) - 1
        stack[level]["children"].append(node)
        if step.get("flow"):
            stack.append(node)
    return root


def _outcomes(node: Mapping[str, Any]) -> set[Outcome]:
    """Every (password, second factor) combination a successful pass through `node` can have.

    Keycloak's semantics: when a flow has REQUIRED or CONDITIONAL steps, all REQUIRED ones run
    (CONDITIONAL ones may or may not, depending on their conditions) and ALTERNATIVE ones are
    ignored; otherwise one ALTERNATIVE succeeds. Conditions (`conditional-*`), the SSO cookie and
    the identity-provider redirector are not ways to prove a password or a second factor.
    """
    if not node.get("flow") and node.get("authenticator"):
        authenticator = str(node.get("authenticator"))
        if authenticator in PASSWORD_AUTHENTICATORS:
            return {(True, False)}
        if authenticator in MFA_AUTHENTICATORS:
            return {(False, True)}
        return {(False, False)}
    children = [
        c
        for c in node.get("children") or []
        if str(c.get("requirement")) != "DISABLED"
        and not str(c.get("authenticator") or "").startswith("conditional-")
        and c.get("authenticator") not in NEUTRAL_AUTHENTICATORS
    ]
    mandatory = [c for c in children if str(c.get("requirement")) in ("REQUIRED", "CONDITIONAL")]
    if mandatory:
        combined: set[Outcome] = {(False, False)}
        for child in mandatory:
            options = _outcomes(child)
            if str(child.get("requirement")) == "CONDITIONAL":
                options = options | {(False, False)}
            combined = {(a[0] or b[0], a[1] or b[1]) for a in combined for b in options}
        return combined
    found: set[Outcome] = set()
    for child in children:
        if str(child.get("requirement")) == "ALTERNATIVE":
            found |= _outcomes(child)
    return found


def mfa_enforced(executions: list[Mapping[str, Any]]) -> bool:
    """Whether no successful pass through a flattened flow uses a password without a second factor."""
    return not any(password and not second for password, second in _outcomes(_tree(executions)))


def _client_overrides(
    evidence: Evidence,
    realm: str,
    flows: list[Mapping[str, Any]],
    clients: tuple[Any, CheckResult | None] | None,
) -> Iterable[CheckResult]:
    """Findings for clients whose browser-flow override skips the second factor."""
    data, error = clients if clients is not None else (None, None)
    if error is not None or data is None:
        reason = error.message if error is not None else "clients not read"
        yield CheckResult(
            evidence.resource("clients", f"{realm}/clients", f"realms/{quote(realm, safe='')}/clients"),
            Status.ERROR,
            f"client browser-flow overrides unknown: {reason}",
        )
        return
    by_id = {str(f.get("id")): f for f in flows}
    for client in data:
        override = (client.get("authenticationFlowBindingOverrides") or {}).get("browser")
        if not override:
            continue
        resource = client_resource(evidence, realm, client)
        flow = by_id.get(str(override))
        if flow is None:
            yield CheckResult(resource, Status.ERROR, f"browser-flow override {override} is not among the flows read")
        elif mfa_enforced(list(flow.get("executions") or [])):
            yield CheckResult(resource, Status.PASS, f"browser-flow override '{flow.get('alias')}' requires MFA")
        else:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"the client overrides the browser flow with '{flow.get('alias')}', which lets users sign in "
                "with a password alone",
                flow.get("alias"),
                "an override that requires MFA, or none",
            )


@check(
    "keycloak.browser_mfa",
    needs=(SCOPE, "realms", "authentication_flows", "privileged_holders", "clients"),
    params={"realms": _STRS, "all_realms": {"type": "boolean"}},
)
def browser_mfa(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The browser flow of privileged realms (master, realms with human admins, listed ones) needs a second factor.

    A client may override the realm's browser flow (`authenticationFlowBindingOverrides.browser`):
    each override in a privileged realm is judged too, on the client, since it is a way around
    the realm's MFA.
    """
    listed = set(params.get("realms", []))
    every = bool(params.get("all_realms", False))
    settings = {realm: data for realm, data, error in each_realm(evidence, "realms") if error is None}
    holders = {realm: (data, error) for realm, data, error in each_realm(evidence, "privileged_holders")}
    clients = {realm: (data, error) for realm, data, error in each_realm(evidence, "clients")}
    for realm, flows, error in each_realm(evidence, "authentication_flows"):
        resource = realm_resource(evidence, realm)
        if error is not None:
            yield error
            continue
        held, held_error = holders[realm]
        humans = sorted(
            {
                str(h.get("username"))
                for r in (held or {}).get("roles", [])
                for h in r.get("holders", [])
                if not h.get("service_account")
            }
        )
        privileged = every or realm == "master" or realm in listed or bool(humans)
        if not privileged:
            if held_error is not None:
                yield CheckResult(
                    resource, Status.ERROR, f"cannot tell whether the realm has administrators: {held_error.message}"
                )
            else:
                yield CheckResult(resource, Status.NOT_APPLICABLE, "no human holds an admin role in this realm")
            continue
        if realm not in settings:
            yield CheckResult(resource, Status.ERROR, "realm settings not read: the browser flow binding is unknown")
            continue
        alias = str(settings[realm].get("browserFlow") or "browser")
        flow = next((f for f in flows if f.get("alias") == alias), None)
        if flow is None:
            yield CheckResult(resource, Status.ERROR, f"browser flow '{alias}' is not among the flows read")
            continue
        yield from _client_overrides(evidence, realm, flows, clients.get(realm))
        ok = mfa_enforced(list(flow.get("executions") or []))
        observed = {"browserFlow": alias, "admins": humans}
        if ok:
            yield CheckResult(
                resource, Status.PASS, f"browser flow '{alias}' requires a second factor", observed, "MFA REQUIRED"
            )
        else:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"browser flow '{alias}' lets a user sign in with a password alone "
                "(a second factor is optional or conditional)",
                observed,
                "an OTP / WebAuthn step REQUIRED after the password",
            )


@check(
    "keycloak.login_events",
    needs=(SCOPE, "events_config"),
    params={"required_types": _STRS, "min_retention_days": _INT},
)
def login_events(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Login events are stored, include the required types, and have a retention of at least the minimum."""
    required = list(params.get("required_types", ["LOGIN", "LOGIN_ERROR"]))
    min_days = int(params.get("min_retention_days", 30))
    expected = {
        "eventsEnabled": True,
        "enabledEventTypes": f"include {required}",
        "eventsExpiration": f">= {min_days} days",
    }

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        types = [str(t) for t in data.get("enabledEventTypes") or []]
        expiration = as_int(data.get("eventsExpiration"))
        observed = {
            "eventsEnabled": data.get("eventsEnabled"),
            "eventsExpiration": expiration,
            "types": len(types) or "all",
        }
        if not truthy(data.get("eventsEnabled")):
            return Status.FAIL, "login events are not stored", observed, expected
        missing = [t for t in required if types and t not in types]  # an empty list means every type
        if missing:
            return Status.FAIL, f"event types not stored: {', '.join(missing)}", observed, expected
        if expiration is None or expiration <= 0:
            return Status.FAIL, "login events have no retention (eventsExpiration not set)", observed, expected
        if expiration < min_days * 86400:
            return Status.FAIL, f"login events kept {expiration // 86400} days (< {min_days})", observed, expected
        return Status.PASS, f"login events stored for {expiration // 86400} days", observed, expected

    return _per_realm(evidence, "events_config", judge)


@check("keycloak.admin_events", needs=(SCOPE, "events_config"))
def admin_events(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Admin events are stored with their representation details."""
    expected = {"adminEventsEnabled": True, "adminEventsDetailsEnabled": True}

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        observed = {k: data.get(k) for k in expected}
        if not truthy(data.get("adminEventsEnabled")):
            return Status.FAIL, "admin events are not stored", observed, expected
        if not truthy(data.get("adminEventsDetailsEnabled")):
            return Status.FAIL, "admin events are stored without details", observed, expected
        return Status.PASS, "admin events stored with details", observed, expected

    return _per_realm(evidence, "events_config", judge)


@check("keycloak.registration", needs=(SCOPE, "realms"), params={"allow_registration": {"type": "boolean"}})
def registration(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Self-registration is off (or allowed by parameter), email is verified, emails are unique."""
    allow = bool(params.get("allow_registration", False))
    expected = {"registrationAllowed": allow or False, "verifyEmail": True, "duplicateEmailsAllowed": False}

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        observed = {k: data.get(k) for k in ("registrationAllowed", "verifyEmail", "duplicateEmailsAllowed")}
        problems = []
        if truthy(data.get("registrationAllowed")) and not allow:
            problems.append("anyone can register an account")
        if not truthy(data.get("verifyEmail")):
            problems.append("email addresses are not verified")
        if truthy(data.get("duplicateEmailsAllowed")):
            problems.append("duplicate emails are allowed")
        if problems:
            return Status.FAIL, "; ".join(problems), observed, expected
        return Status.PASS, "registration controlled, emails verified and unique", observed, expected

    return _per_realm(evidence, "realms", judge)


def _lifespan(evidence: Evidence, limits: Mapping[str, int], what: str) -> Iterable[CheckResult]:
    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        observed = {k: data.get(k) for k in limits}
        expected = {k: f"<= {v}s" for k, v in limits.items()}
        too_long = [
            f"{k} {as_int(data.get(k))}s > {v}s"
            for k, v in limits.items()
            if (as_int(data.get(k)) or 0) > v or as_int(data.get(k)) is None
        ]
        if too_long:
            return Status.FAIL, f"{what} too long: " + "; ".join(too_long), observed, expected
        return Status.PASS, f"{what} within limits", observed, expected

    return _per_realm(evidence, "realms", judge)


@check("keycloak.access_token_lifespan", needs=(SCOPE, "realms", "clients"), params={"max_seconds": _INT})
def access_token_lifespan(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Access tokens live at most `max_seconds`, in the realm and in clients that override it."""
    limit = int(params.get("max_seconds", 300))
    yield from _lifespan(evidence, {"accessTokenLifespan": limit}, "access-token lifespan")
    for realm, clients, error in each_realm(evidence, "clients"):
        if error is not None:
            yield error
            continue
        for client in clients:
            value = as_int((client.get("attributes") or {}).get("access.token.lifespan"))
            if value is None or value <= 0:
                continue  # no override: the realm's lifespan applies
            status = Status.PASS if value <= limit else Status.FAIL
            yield CheckResult(
                client_resource(evidence, realm, client),
                status,
                f"the client overrides the access-token lifespan with {value}s",
                value,
                f"<= {limit}s",
            )


@check("keycloak.sso_session", needs=(SCOPE, "realms"), params={"max_idle_seconds": _INT, "max_lifespan_seconds": _INT})
def sso_session(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """SSO sessions end after at most `max_idle_seconds` idle and `max_lifespan_seconds` in total."""
    limits = {
        "ssoSessionIdleTimeout": int(params.get("max_idle_seconds", 1800)),
        "ssoSessionMaxLifespan": int(params.get("max_lifespan_seconds", 36000)),
    }
    return _lifespan(evidence, limits, "SSO session")


@check(
    "keycloak.offline_session", needs=(SCOPE, "realms"), params={"max_idle_seconds": _INT, "max_lifespan_seconds": _INT}
)
def offline_session(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Offline sessions have a maximum lifespan, and their idle timeout and lifespan are bounded."""
    max_idle = int(params.get("max_idle_seconds", 2592000))
    max_life = int(params.get("max_lifespan_seconds", 5184000))

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        observed = {
            k: data.get(k)
            for k in ("offlineSessionIdleTimeout", "offlineSessionMaxLifespanEnabled", "offlineSessionMaxLifespan")
        }
        expected = {
            "offlineSessionIdleTimeout": f"<= {max_idle}s",
            "offlineSessionMaxLifespanEnabled": True,
            "offlineSessionMaxLifespan": f"<= {max_life}s",
        }
        problems = []
        idle = as_int(data.get("offlineSessionIdleTimeout"))
        if idle is None or idle > max_idle:
            problems.append(f"idle timeout {idle}s")
        if not truthy(data.get("offlineSessionMaxLifespanEnabled")):
            problems.append("no maximum lifespan (offline tokens live as long as they are used)")
        else:
            life = as_int(data.get("offlineSessionMaxLifespan"))
            if life is None or life > max_life:
                problems.append(f"maximum lifespan {life}s")
        if problems:
            return Status.FAIL, "offline sessions too long: " + "; ".join(problems), observed, expected
        return Status.PASS, "offline sessions bounded", observed, expected

    return _per_realm(evidence, "realms", judge)


@check("keycloak.refresh_rotation", needs=(SCOPE, "realms"))
def refresh_rotation(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Refresh tokens are rotated (`revokeRefreshToken` on, no reuse)."""
    expected = {"revokeRefreshToken": True, "refreshTokenMaxReuse": 0}

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        observed = {k: data.get(k) for k in expected}
        if not truthy(data.get("revokeRefreshToken")):
            return Status.FAIL, "refresh tokens are not rotated (revokeRefreshToken off)", observed, expected
        if (as_int(data.get("refreshTokenMaxReuse")) or 0) > 0:
            return (
                Status.FAIL,
                f"a refresh token may be reused {data.get('refreshTokenMaxReuse')} times",
                observed,
                expected,
            )
        return Status.PASS, "refresh tokens are rotated on use", observed, expected

    return _per_realm(evidence, "realms", judge)


@check("keycloak.signature_algorithm", needs=(SCOPE, "realms"), params={"forbidden_prefixes": _STRS})
def signature_algorithm(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The realm's default token signature algorithm is asymmetric (not HS*, not none)."""
    forbidden = [p.upper() for p in params.get("forbidden_prefixes", ["HS", "NONE"])]

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        value = str(data.get("defaultSignatureAlgorithm") or "RS256")
        bad = any(value.upper().startswith(p) for p in forbidden)
        message = f"default signature algorithm {value}" + (
            ": a shared secret signs the tokens, so every party that verifies them can forge them" if bad else ""
        )
        return Status.FAIL if bad else Status.PASS, message, value, f"not {forbidden}"

    return _per_realm(evidence, "realms", judge)


@check("keycloak.clickjacking", needs=(SCOPE, "realms"))
def clickjacking(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Login pages cannot be framed by other sites (X-Frame-Options or CSP frame-ancestors)."""

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        headers = data.get("browserSecurityHeaders") or {}
        xfo = str(headers.get("xFrameOptions") or "").strip().upper()
        csp = str(headers.get("contentSecurityPolicy") or "")
        ancestors = re.search(r"frame-ancestors\s+([^;]*)", csp)
        observed = {
            "xFrameOptions": headers.get("xFrameOptions"),
            "contentSecurityPolicy": headers.get("contentSecurityPolicy"),
        }
        expected = "X-Frame-Options DENY/SAMEORIGIN or CSP frame-ancestors 'self'/'none'"
        framed_ok = ancestors is not None and "*" not in ancestors.group(1)
        if xfo in ("DENY", "SAMEORIGIN") or framed_ok:
            return Status.PASS, "framing by other sites is refused", observed, expected
        return Status.FAIL, "login pages can be framed by any site (clickjacking)", observed, expected

    return _per_realm(evidence, "realms", judge)


@check("keycloak.hsts", needs=(SCOPE, "realms"), params={"min_max_age": _INT})
def hsts(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Strict-Transport-Security is sent with a max-age of at least `min_max_age` seconds."""
    minimum = int(params.get("min_max_age", 31536000))

    def judge(realm: str, data: Mapping[str, Any]) -> Judged:
        value = str((data.get("browserSecurityHeaders") or {}).get("strictTransportSecurity") or "")
        match = re.search(r"max-age\s*=\s*(\d+)", value)
        age = int(match.group(1)) if match else None
        if age is None or age < minimum:
            return (
                Status.FAIL,
                f"HSTS {'not sent' if age is None else f'max-age {age}s'}",
                value,
                f"max-age >= {minimum}",
            )
        return Status.PASS, f"HSTS max-age {age}s", value, f"max-age >= {minimum}"

    return _per_realm(evidence, "realms", judge)


CHECKS = (
    ssl_required,
    brute_force,
    password_policy,
    password_hashing,
    otp_policy,
    browser_mfa,
    login_events,
    admin_events,
    registration,
    access_token_lifespan,
    sso_session,
    offline_session,
    refresh_rotation,
    signature_algorithm,
    clickjacking,
    hsts,
)
"""The realm-settings checks."""
