"""Checks on the OpenBao server itself: state, seal, TLS, audit, raw storage, CORS, probes, version.

Pure functions over collected evidence (see `checks.openbao.collect` for the sections).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from checks.openbao.defaults import DEFAULT_POLICY
from checks.openbao.policy import PolicyParseError, parse_policy
from checks.openbao.units import parse_version, version_at_least
from scanner import floors
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Resource, Status
from scanner.operators import parse_bool

PROBE_DISABLED = "active probe not enabled"
_TLS_ORDER = {"tls10": 10, "tls11": 11, "tls12": 12, "tls13": 13}
_NEGOTIATED = {"TLSv1": "tls10", "TLSv1.1": "tls11", "TLSv1.2": "tls12", "TLSv1.3": "tls13"}


def server(evidence: Evidence) -> Resource:
    """The target-level resource (the OpenBao server)."""
    return evidence.target_resource("server")


def _truthy(value: Any) -> bool:
    return parse_bool(value, "generic") is True


@check(
    "openbao.health",
    needs=("health", "raft"),
    params={
        "min_voters": {"type": "integer", "minimum": 1, "description": "Integrated-storage voters required."},
        "require_raft": {"type": "boolean", "description": "FAIL when the storage is not integrated storage."},
    },
)
def health(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The server is initialised and unsealed; integrated storage has enough voters for HA."""
    state = evidence.section("health")
    observed = {k: state.get(k) for k in ("initialized", "sealed", "standby")}
    if not state.get("initialized"):
        yield CheckResult(
            server(evidence), Status.FAIL, "OpenBao is not initialised", observed, "initialized, unsealed"
        )
    elif state.get("sealed"):
        yield CheckResult(server(evidence), Status.FAIL, "OpenBao is sealed", observed, "initialized, unsealed")
    else:
        yield CheckResult(server(evidence), Status.PASS, "OpenBao is initialised and unsealed", observed)

    min_voters = int(params.get("min_voters", 3))
    resource = evidence.resource("storage", "integrated storage", "sys/storage/raft/configuration")
    expected = f">= {min_voters} raft voters"
    raft = evidence.section("raft")
    if raft.get("present") is None:  # a sealed or uninitialised server: the configuration cannot be read
        reason = raft.get("unreadable", "not read")
        yield CheckResult(resource, Status.ERROR, f"raft configuration not read: {reason}", expected=expected)
        return
    if not raft.get("present"):
        storage = raft.get("storage_type") or "unknown"
        if params.get("require_raft", False):
            yield CheckResult(
                resource, Status.FAIL, f"storage is '{storage}', not integrated storage (raft)", storage, "raft"
            )
        else:
            yield CheckResult(
                resource,
                Status.NOT_APPLICABLE,
                f"storage is '{storage}', not integrated storage: raft voters not checked "
                "(set require_raft: true to require integrated storage)",
                storage,
            )
        return
    voters = [s.get("node_id") for s in raft.get("servers", []) if s.get("voter")]
    status = Status.PASS if len(voters) >= min_voters else Status.FAIL
    yield CheckResult(
        resource, status, f"{len(voters)} raft voter(s): {', '.join(map(str, voters)) or 'none'}", voters, expected
    )


@check(
    "openbao.seal",
    needs=("seal_status",),
    params={
        "min_threshold": {"type": "integer", "minimum": 1},
        "min_shares": {"type": "integer", "minimum": 1},
        "weak_types": {"type": "array", "items": {"type": "string"}},
    },
)
def seal(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Auto-unseal (not a weak type), or Shamir with enough shares and a high enough threshold."""
    status = evidence.section("seal_status")
    resource = evidence.resource("seal", str(status.get("type", "unknown")), "sys/seal-status")
    seal_type = str(status.get("type", ""))
    min_t, min_n = int(params.get("min_threshold", 3)), int(params.get("min_shares", 5))
    weak = [str(w) for w in params.get("weak_types", ["static"])]
    observed = {k: status.get(k) for k in ("type", "t", "n")}
    if not seal_type:
        yield CheckResult(resource, Status.ERROR, "sys/seal-status did not report a seal type", observed)
    elif seal_type in weak:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"seal type '{seal_type}' keeps the unseal key with the server (a weak seal type)",
            observed,
            f"an HSM/KMS/transit auto-unseal or shamir with t >= {min_t}, n >= {min_n}",
        )
    elif seal_type == "shamir":
        t, n = int(status.get("t") or 0), int(status.get("n") or 0)
        expected = f"shamir t >= {min_t}, n >= {min_n}"
        if t >= min_t and n >= min_n:
            yield CheckResult(
                resource, Status.PASS, f"shamir seal with threshold {t} of {n} shares", observed, expected
            )
        else:
            yield CheckResult(
                resource, Status.FAIL, f"shamir seal with threshold {t} of {n} shares is too small", observed, expected
            )
    else:
        yield CheckResult(resource, Status.PASS, f"auto-unseal with seal type '{seal_type}'", observed)


@check(
    "openbao.tls",
    needs=("connection", "sanitized_config"),
    params={"min_version": {"enum": ["tls12", "tls13"]}},
)
def tls(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The API is served over TLS (>= the minimum version) on the scanned and every configured listener."""
    minimum = str(params.get("min_version", "tls12"))
    connection = evidence.section("connection")
    scanned = evidence.resource("listener", str(connection.get("address")), "listeners/scanned")
    expected = f"https with {minimum} or later"
    if connection.get("scheme") != "https":
        yield CheckResult(scanned, Status.FAIL, "the API is served over plain HTTP", "http", expected)
    else:
        negotiated = _NEGOTIATED.get(str((connection.get("tls") or {}).get("version")), "")
        if negotiated and _TLS_ORDER[negotiated] >= _TLS_ORDER[minimum]:
            yield CheckResult(scanned, Status.PASS, f"TLS handshake negotiated {negotiated}", negotiated, expected)
        else:
            shown = negotiated or str((connection.get("tls") or {}).get("version"))
            yield CheckResult(scanned, Status.FAIL, f"TLS handshake negotiated {shown}", shown, expected)

    config = evidence.section("sanitized_config")
    listeners = config.get("listeners")
    if not isinstance(listeners, list) or not listeners:
        # A server answering the API has at least one listener: an empty list is not "nothing to check".
        yield CheckResult(
            evidence.resource("listener", "configured listeners", "sys/config/state/sanitized/listeners"),
            Status.ERROR,
            "the sanitized configuration lists no listener: the listeners' TLS settings were not seen",
            expected=expected,
        )
        return
    for index, listener in enumerate(listeners):
        if not isinstance(listener, Mapping):
            continue
        if listener.get("type") != "tcp":
            continue  # unix sockets are local
        settings = listener.get("config") or {}
        address = str(settings.get("address", index))
        resource = evidence.resource("listener", address, f"sys/config/state/sanitized/listeners/{index}")
        if _truthy(settings.get("tls_disable", False)):
            yield CheckResult(resource, Status.FAIL, f"listener {address} has tls_disable set", settings, expected)
            continue
        configured = str(settings.get("tls_min_version") or "tls12")
        if _TLS_ORDER.get(configured, 0) < _TLS_ORDER[minimum]:
            yield CheckResult(
                resource, Status.FAIL, f"listener {address} accepts {configured}", configured, f">= {minimum}"
            )
        else:
            yield CheckResult(resource, Status.PASS, f"listener {address} requires {configured} or later", configured)


_NOWHERE = frozenset({"discard", "/dev/null"})
"""`file_path` values of a file audit device that write nothing anywhere."""


def _writes_nowhere(device: Mapping[str, Any]) -> bool:
    options = device.get("options") or {}
    path = str(options.get("file_path", options.get("path", ""))).strip()
    return device.get("type") == "file" and path in _NOWHERE


@check("openbao.audit_devices", needs=("audit_devices",), params={"min_devices": {"type": "integer", "minimum": 1}})
def audit_devices(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """At least `min_devices` audit devices are enabled that really write somewhere (not `discard`)."""
    devices = evidence.section("audit_devices")
    minimum = int(params.get("min_devices", 1))
    counted = [d for d in devices if not _writes_nowhere(d)]
    names = [f"{d.get('path')} ({d.get('type')})" for d in counted]
    void = [
        f"{d.get('path')} (file_path {(d.get('options') or {}).get('file_path')})" for d in devices if d not in counted
    ]
    resource = evidence.resource("audit", "audit devices", "sys/audit")
    observed = {"counted": names, "writing_nowhere": void}
    note = f"; not counted, they write nowhere: {', '.join(void)}" if void else ""
    if len(counted) >= minimum:
        yield CheckResult(resource, Status.PASS, f"{len(counted)} audit device(s): {', '.join(names)}{note}", observed)
    else:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"{len(counted)} audit device(s) enabled, {minimum} required"
            + (f": {', '.join(names)}" if names else "")
            + note,
            observed,
            f">= {minimum} that write somewhere",
        )


@check("openbao.audit_hashing", needs=("audit_devices",))
def audit_hashing(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No audit device logs secrets in clear text (`log_raw`) or token accessors unhashed (`hmac_accessor` off)."""
    devices = evidence.section("audit_devices")
    if not devices:
        yield CheckResult(
            evidence.resource("audit", "audit devices", "sys/audit"),
            Status.NOT_APPLICABLE,
            "no audit device is enabled (see the audit-device control)",
        )
    expected = {"log_raw": False, "hmac_accessor": True}
    for device in devices:
        path = str(device.get("path", "")).strip("/")
        resource = evidence.resource("audit_device", path, str(device.get("uri_path") or f"sys/audit/{path}"))
        options = device.get("options") or {}
        raw = options.get("log_raw", False)
        accessor = options.get("hmac_accessor", True)
        observed = {"log_raw": raw, "hmac_accessor": accessor}
        problems = []
        if _truthy(raw):
            problems.append("logs secrets unhashed (log_raw=true)")
        if not _truthy(accessor):
            problems.append(
                "logs token accessors unhashed (hmac_accessor=false): each one can revoke or look up a token"
            )
        if problems:
            yield CheckResult(
                resource, Status.FAIL, f"audit device {path} {' and '.join(problems)}", observed, expected
            )
        else:
            yield CheckResult(
                resource, Status.PASS, f"audit device {path} hashes secrets and accessors", observed, expected
            )


@check("openbao.raw_storage", needs=("sanitized_config",))
def raw_storage(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The `sys/raw` endpoint (direct storage access) is disabled."""
    config = evidence.section("sanitized_config")
    resource = evidence.resource("setting", "raw_storage_endpoint", "sys/config/state/sanitized/raw_storage_endpoint")
    if "raw_storage_endpoint" not in config:
        yield CheckResult(resource, Status.ERROR, "the sanitized configuration has no raw_storage_endpoint field")
        return
    value = config["raw_storage_endpoint"]
    if _truthy(value):
        yield CheckResult(
            resource, Status.FAIL, "raw_storage_endpoint is enabled (sys/raw exposes storage)", value, False
        )
    else:
        yield CheckResult(resource, Status.PASS, "raw_storage_endpoint is disabled", value, False)


def _probe_results(evidence: Evidence, paths: Iterable[str], what: str, fix: str) -> Iterable[CheckResult]:
    probes = evidence.section("probes")
    if not probes.get("enabled"):
        yield CheckResult(
            server(evidence),
            Status.NOT_APPLICABLE,
            f"{PROBE_DISABLED} (set target option probes: true to send unauthenticated GETs to {', '.join(paths)})",
        )
        return
    results = probes.get("results") or {}
    for path in paths:
        resource = evidence.resource("endpoint", path, path.rstrip("/"))
        result = results.get(path)
        if result is None or "status" not in result:
            reason = (result or {}).get("error", "probe not run")
            yield CheckResult(resource, Status.ERROR, f"unauthenticated probe of {path} failed: {reason}")
            continue
        code = int(result["status"])
        if code == 200:
            yield CheckResult(
                resource, Status.FAIL, f"{path} answers unauthenticated requests (HTTP 200); {fix}", code, "4xx"
            )
        elif 400 <= code < 500:
            yield CheckResult(
                resource, Status.PASS, f"{path} refuses unauthenticated {what} (HTTP {code})", code, "4xx"
            )
        else:
            yield CheckResult(resource, Status.ERROR, f"{path} answered HTTP {code}: cannot tell", code, "4xx")


@check("openbao.unauthenticated_root_generation", needs=("probes",))
def unauthenticated_root_generation(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Unauthenticated root-token generation and rekey endpoints are disabled (active probe)."""
    yield from _probe_results(
        evidence,
        ("sys/generate-root/attempt", "sys/rekey/init"),
        "requests",
        "set disable_unauthed_generate_root_endpoints / disable_unauthed_rekey_endpoints = true on the listener",
    )


@check("openbao.unauthenticated_diagnostics", needs=("probes",))
def unauthenticated_diagnostics(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Metrics and pprof are not served to unauthenticated clients (active probe)."""
    yield from _probe_results(
        evidence,
        ("sys/metrics", "sys/pprof/"),
        "requests",
        "remove unauthenticated_metrics_access / unauthenticated_pprof_access from the listener",
    )


@check("openbao.cors", needs=("cors",), params={"forbidden_origins": {"type": "array", "items": {"type": "string"}}})
def cors(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """CORS is off, or allows only named origins (no wildcard)."""
    config = evidence.section("cors")
    resource = evidence.resource("setting", "cors", "sys/config/cors")
    forbidden = [str(o) for o in params.get("forbidden_origins", ["*"])]
    origins = [str(o) for o in config.get("allowed_origins") or []]
    if not config.get("enabled"):
        yield CheckResult(resource, Status.PASS, "CORS is disabled", config)
        return
    bad = [o for o in origins if o in forbidden]
    if bad:
        yield CheckResult(
            resource, Status.FAIL, f"CORS allows any origin ({', '.join(bad)})", origins, f"none of {forbidden}"
        )
    else:
        yield CheckResult(resource, Status.PASS, f"CORS allows only {', '.join(origins) or 'no origin'}", origins)


@check(
    "openbao.version",
    needs=("health",),
    params={"min_version": {"type": "string", "pattern": r"^v?\d+(\.\d+)*"}, "version_floor": floors.FLOOR_SCHEMA},
)
def version(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The server runs at least the floor of its release line (dated data: an out-of-date floor is reported)."""
    observed = evidence.section("health").get("version")
    resource = server(evidence)
    floor = floors.floor_from_params(params["version_floor"]) if "version_floor" in params else None
    minimum = str(params.get("min_version", "2.5.0"))
    wanted = f">= the floors {floor.describe()['floors']}" if floor else f">= {minimum}"
    if floor is not None:
        stale = floors.stale_floor_result(
            floor, evidence.collected_at, evidence.resource("version_floor", "OpenBao version floor", "version-floor")
        )
        if stale is not None:
            yield stale
    if not observed:
        yield CheckResult(resource, Status.ERROR, "sys/health did not report a version", expected=wanted)
        return
    try:
        parse_version(str(observed))
    except ValueError:
        yield CheckResult(resource, Status.ERROR, f"cannot read the version {observed!r}", observed, wanted)
        return
    if floor is not None:
        parsed = floors.parse_version(str(observed))
        assert parsed is not None
        judgement = floors.judge(parsed, floor)
        message = judgement.message("OpenBao")
        passes = judgement.passes
        if passes and judgement.floor is not None:
            floor_text = floors.version_text(judgement.floor)
            if not version_at_least(str(observed), floor_text):  # a pre-release of the floor comes before it
                passes, message = False, f"OpenBao {observed} is a pre-release of {floor_text}, older than it"
        yield CheckResult(resource, Status.PASS if passes else Status.FAIL, message, observed, wanted)
        return
    if version_at_least(str(observed), minimum):
        yield CheckResult(resource, Status.PASS, f"OpenBao {observed} (>= {minimum})", observed, wanted)
    else:
        yield CheckResult(resource, Status.FAIL, f"OpenBao {observed} is older than {minimum}", observed, wanted)


# -- controls added for issue 11 (class 4) ------------------------------------------------------


@check(
    "openbao.recovery_keys",
    needs=("seal_status",),
    params={"min_threshold": {"type": "integer", "minimum": 1}, "min_shares": {"type": "integer", "minimum": 1}},
)
def recovery_keys(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """An auto-unseal's recovery keys are split into enough shares with a high enough threshold."""
    status = evidence.section("seal_status")
    seal_type = str(status.get("type", ""))
    resource = evidence.resource("seal", "recovery keys", "sys/seal-status/recovery")
    min_t, min_n = int(params.get("min_threshold", 3)), int(params.get("min_shares", 5))
    expected = f"recovery keys t >= {min_t}, n >= {min_n}"
    observed = {k: status.get(k) for k in ("type", "recovery_seal", "t", "n")}
    if seal_type == "shamir":
        yield CheckResult(
            resource,
            Status.NOT_APPLICABLE,
            "the seal is shamir: it has unseal keys (BAO-02), no recovery keys",
            observed,
        )
        return
    t, n = int(status.get("t") or 0), int(status.get("n") or 0)
    if not seal_type or not status.get("recovery_seal") or t <= 0 or n <= 0:
        yield CheckResult(
            resource,
            Status.ERROR,
            f"sys/seal-status of this '{seal_type or 'unknown'}' seal does not report the recovery-key split "
            "(recovery_seal, t, n): it was not verified",
            observed,
            expected,
        )
    elif t >= min_t and n >= min_n:
        yield CheckResult(resource, Status.PASS, f"recovery keys: threshold {t} of {n} shares", observed, expected)
    else:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"recovery keys: threshold {t} of {n} shares is too small (one person can generate a root token)",
            observed,
            expected,
        )


def _config_field(evidence: Evidence, field: str, path: str) -> tuple[Resource, Any, str | None]:
    config = evidence.section("sanitized_config")
    resource = evidence.resource("setting", field, f"sys/config/state/sanitized/{path}")
    if field not in config:
        return resource, None, f"the sanitized configuration has no {field} field"
    return resource, config[field], None


@check("openbao.ui", needs=("sanitized_config",), params={"allowed": {"type": "boolean"}})
def ui(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The built-in web UI is disabled (unless `allowed`)."""
    resource, value, missing = _config_field(evidence, "enable_ui", "enable_ui")
    if missing:
        yield CheckResult(resource, Status.ERROR, missing)
    elif _truthy(value) and not params.get("allowed", False):
        yield CheckResult(resource, Status.FAIL, "the web UI is enabled (ui = true)", value, False)
    else:
        shown = "enabled (allowed by the control's parameters)" if _truthy(value) else "disabled"
        yield CheckResult(resource, Status.PASS, f"the web UI is {shown}", value, False)


@check(
    "openbao.storage",
    needs=("sanitized_config", "seal_status"),
    params={"forbidden_types": {"type": "array", "items": {"type": "string"}}},
)
def storage(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The server does not run in dev mode: no in-memory (or other forbidden) storage."""
    forbidden = [str(t) for t in params.get("forbidden_types", ["inmem"])]
    config = evidence.section("sanitized_config")
    seal_status = evidence.section("seal_status")
    resource = evidence.resource("storage", "storage backend", "sys/config/state/sanitized/storage")
    configured = (config.get("storage") or {}).get("type")
    reported = seal_status.get("storage_type")
    observed = {"storage.type": configured, "seal_status.storage_type": reported}
    kinds = {str(k) for k in (configured, reported) if k}
    if not kinds:
        yield CheckResult(resource, Status.ERROR, "neither the configuration nor sys/seal-status names the storage")
        return
    bad = sorted(kinds & set(forbidden))
    if bad:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"storage is '{bad[0]}': dev mode or in-memory storage loses every secret on restart, and dev mode "
            "starts unsealed with a root token",
            observed,
            f"not {forbidden}",
        )
    else:
        yield CheckResult(
            resource, Status.PASS, f"storage is '{', '.join(sorted(kinds))}'", observed, f"not {forbidden}"
        )


def _tcp_listeners(evidence: Evidence) -> list[tuple[int, Mapping[str, Any]]] | CheckResult:
    """(index, config) of the TCP listeners, or an ERROR result when none could be seen."""
    listeners = evidence.section("sanitized_config").get("listeners")
    if not isinstance(listeners, list) or not listeners:
        return CheckResult(
            evidence.resource("listener", "configured listeners", "sys/config/state/sanitized/listeners"),
            Status.ERROR,
            "the sanitized configuration lists no listener: the listeners' settings were not seen",
        )
    return [
        (index, listener.get("config") or {})
        for index, listener in enumerate(listeners)
        if isinstance(listener, Mapping) and listener.get("type") == "tcp"
    ]


def _addresses(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


@check(
    "openbao.forwarded_for",
    needs=("sanitized_config",),
    params={
        "min_prefix_v4": {"type": "integer", "minimum": 0, "maximum": 32},
        "min_prefix_v6": {"type": "integer", "minimum": 0, "maximum": 128},
    },
)
def forwarded_for(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """`X-Forwarded-For` is trusted only from narrow proxy address ranges."""
    listeners = _tcp_listeners(evidence)
    if isinstance(listeners, CheckResult):
        yield listeners
        return
    min_v4, min_v6 = int(params.get("min_prefix_v4", 16)), int(params.get("min_prefix_v6", 48))
    expected = f"unset, or IPv4 ranges of /{min_v4} or narrower and IPv6 of /{min_v6} or narrower"
    for index, settings in listeners:
        address = str(settings.get("address", index))
        resource = evidence.resource("listener", address, f"sys/config/state/sanitized/listeners/{index}/xff")
        entries = _addresses(settings.get("x_forwarded_for_authorized_addrs"))
        if not entries:
            yield CheckResult(resource, Status.PASS, f"listener {address} trusts no X-Forwarded-For header", [])
            continue
        broad: list[str] = []
        unreadable: list[str] = []
        for entry in entries:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                unreadable.append(entry)
                continue
            if network.prefixlen < (min_v4 if network.version == 4 else min_v6):
                broad.append(entry)
        if unreadable:
            yield CheckResult(
                resource, Status.ERROR, f"listener {address}: cannot read {', '.join(unreadable)}", entries, expected
            )
        elif broad:
            yield CheckResult(
                resource,
                Status.FAIL,
                f"listener {address} trusts X-Forwarded-For from {', '.join(broad)}: clients there can claim any "
                "source address (defeating CIDR-bound tokens, rate limits and audit)",
                entries,
                expected,
            )
        else:
            yield CheckResult(
                resource,
                Status.PASS,
                f"listener {address} trusts X-Forwarded-For only from {', '.join(entries)}",
                entries,
            )


def _weak_go_suite(name: str) -> bool:
    """A Go cipher-suite name without forward secrecy or without an AEAD (or with RC4/3DES)."""
    upper = name.upper()
    if upper.startswith("TLS_AES_") or upper.startswith("TLS_CHACHA20_"):
        return False  # TLS 1.3 suites
    return not ("ECDHE" in upper and ("GCM" in upper or "CHACHA20" in upper))


def _weak_openssl_suite(name: str) -> bool:
    """A negotiated suite (OpenSSL name) without forward secrecy or without an AEAD."""
    upper = name.upper()
    if upper.startswith("TLS_"):
        return False  # TLS 1.3 suites are all forward secret AEADs
    return not (upper.startswith(("ECDHE-", "DHE-")) and ("GCM" in upper or "CHACHA20" in upper))


@check("openbao.tls_ciphers", needs=("connection", "sanitized_config"))
def tls_ciphers(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """Listeners offer only forward-secret AEAD cipher suites (configured and negotiated)."""
    connection = evidence.section("connection")
    expected = "ECDHE with AES-GCM or ChaCha20-Poly1305 (or TLS 1.3)"
    if connection.get("scheme") == "https":
        negotiated = str((connection.get("tls") or {}).get("cipher") or "")
        resource = evidence.resource("listener", str(connection.get("address")), "listeners/scanned/cipher")
        if not negotiated:
            yield CheckResult(resource, Status.ERROR, "the TLS handshake recorded no cipher suite", expected=expected)
        elif _weak_openssl_suite(negotiated):
            yield CheckResult(resource, Status.FAIL, f"the handshake negotiated {negotiated}", negotiated, expected)
        else:
            yield CheckResult(resource, Status.PASS, f"the handshake negotiated {negotiated}", negotiated, expected)
    listeners = _tcp_listeners(evidence)
    if isinstance(listeners, CheckResult):
        yield listeners
        return
    for index, settings in listeners:
        address = str(settings.get("address", index))
        resource = evidence.resource("listener", address, f"sys/config/state/sanitized/listeners/{index}/ciphers")
        if _truthy(settings.get("tls_disable", False)):
            yield CheckResult(resource, Status.NOT_APPLICABLE, f"listener {address} serves no TLS (see BAO-03)")
            continue
        suites = _addresses(settings.get("tls_cipher_suites"))
        if not suites:
            yield CheckResult(
                resource,
                Status.PASS,
                f"listener {address} uses Go's default cipher suites (forward secret; no RSA key exchange)",
                [],
                expected,
            )
            continue
        weak = [suite for suite in suites if _weak_go_suite(suite)]
        if weak:
            yield CheckResult(resource, Status.FAIL, f"listener {address} offers {', '.join(weak)}", suites, expected)
        else:
            yield CheckResult(resource, Status.PASS, f"listener {address} offers only strong suites", suites, expected)


@check("openbao.default_policy", needs=("policies",))
def default_policy(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The `default` policy (attached to every token) grants nothing beyond what OpenBao ships."""
    policies = evidence.section("policies")
    item = next((p for p in policies if p.get("name") == "default"), None)
    resource = evidence.resource("policy", "default", "sys/policies/acl/default/changes")
    if item is None:
        yield CheckResult(resource, Status.ERROR, "the default policy was not listed (OpenBao always has one)")
        return
    if "error" in item or not isinstance(item.get("policy"), str):
        yield CheckResult(resource, Status.ERROR, str(item.get("error", "the text of the default policy was not read")))
        return
    try:
        current = parse_policy(str(item["policy"]))
    except PolicyParseError as exc:
        yield CheckResult(resource, Status.ERROR, f"the default policy could not be parsed: {exc}")
        return
    shipped = {rule.path: rule.granted for rule in parse_policy(DEFAULT_POLICY)}
    added = {
        rule.path: sorted(rule.granted - shipped.get(rule.path, frozenset()))
        for rule in current
        if rule.granted - shipped.get(rule.path, frozenset())
    }
    if added:
        shown = "; ".join(f'path "{p}" {",".join(c)}' for p, c in sorted(added.items()))
        yield CheckResult(
            resource,
            Status.FAIL,
            f"the default policy, attached to every token, grants more than OpenBao ships: {shown}",
            added,
            "no grant beyond the shipped default policy",
        )
    else:
        yield CheckResult(resource, Status.PASS, "the default policy grants nothing beyond the shipped one", {})


CHECKS = (
    health,
    seal,
    tls,
    audit_devices,
    audit_hashing,
    raw_storage,
    unauthenticated_root_generation,
    unauthenticated_diagnostics,
    cors,
    version,
    recovery_keys,
    ui,
    storage,
    forwarded_for,
    tls_ciphers,
    default_policy,
)
"""The server-level checks, in baseline order."""
