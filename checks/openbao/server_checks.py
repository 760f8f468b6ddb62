"""Checks on the OpenBao server itself: state, seal, TLS, audit, raw storage, CORS, probes, version.

Pure functions over collected evidence (see `checks.openbao.collect` for the sections).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from checks.openbao.units import parse_version, version_at_least
from scanner.errors import EvidenceUnavailable
from scanner.interface import check
from scanner.model import CheckResult, Evidence, Resource, Status

PROBE_DISABLED = "active probe not enabled"
_TLS_ORDER = {"tls10": 10, "tls11": 11, "tls12": 12, "tls13": 13}
_NEGOTIATED = {"TLSv1": "tls10", "TLSv1.1": "tls11", "TLSv1.2": "tls12", "TLSv1.3": "tls13"}


def server(evidence: Evidence) -> Resource:
    """The target-level resource (the OpenBao server)."""
    return evidence.resource("server", evidence.target)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@check(
    "openbao.health",
    needs=("health",),
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
    try:
        raft = evidence.section("raft")
    except EvidenceUnavailable as exc:
        yield CheckResult(resource, Status.ERROR, f"raft configuration not read: {exc.reason}", expected=expected)
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
    needs=("connection",),
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

    try:
        config = evidence.section("sanitized_config")
    except EvidenceUnavailable as exc:
        yield CheckResult(
            evidence.resource("listener", "configured listeners", "sys/config/state/sanitized/listeners"),
            Status.ERROR,
            f"listener configuration not read: {exc.reason}",
            expected=expected,
        )
        return
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


@check("openbao.audit_devices", needs=("audit_devices",), params={"min_devices": {"type": "integer", "minimum": 1}})
def audit_devices(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """At least `min_devices` audit devices are enabled."""
    devices = evidence.section("audit_devices")
    minimum = int(params.get("min_devices", 1))
    names = [f"{d.get('path')} ({d.get('type')})" for d in devices]
    resource = evidence.resource("audit", "audit devices", "sys/audit")
    if len(devices) >= minimum:
        yield CheckResult(resource, Status.PASS, f"{len(devices)} audit device(s): {', '.join(names)}", names)
    else:
        yield CheckResult(
            resource,
            Status.FAIL,
            f"{len(devices)} audit device(s) enabled, {minimum} required" + (f": {', '.join(names)}" if names else ""),
            names,
            f">= {minimum}",
        )


@check("openbao.audit_hashing", needs=("audit_devices",))
def audit_hashing(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """No audit device logs secrets in clear text (`log_raw`)."""
    devices = evidence.section("audit_devices")
    if not devices:
        yield CheckResult(
            evidence.resource("audit", "audit devices", "sys/audit"),
            Status.NOT_APPLICABLE,
            "no audit device is enabled (see the audit-device control)",
        )
    for device in devices:
        path = str(device.get("path", "")).strip("/")
        resource = evidence.resource("audit_device", path, str(device.get("uri_path") or f"sys/audit/{path}"))
        raw = (device.get("options") or {}).get("log_raw", False)
        if _truthy(raw):
            yield CheckResult(
                resource, Status.FAIL, f"audit device {path} logs secrets unhashed (log_raw=true)", raw, "log_raw false"
            )
        else:
            yield CheckResult(resource, Status.PASS, f"audit device {path} hashes secrets", raw, "log_raw false")


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


@check("openbao.version", needs=("health",), params={"min_version": {"type": "string", "pattern": r"^v?\d+(\.\d+)*"}})
def version(evidence: Evidence, params: Mapping[str, Any]) -> Iterable[CheckResult]:
    """The server runs at least the minimum supported version."""
    observed = evidence.section("health").get("version")
    minimum = str(params.get("min_version", "2.5.0"))
    resource = server(evidence)
    if not observed:
        yield CheckResult(resource, Status.ERROR, "sys/health did not report a version", expected=f">= {minimum}")
        return
    try:
        parse_version(str(observed))
    except ValueError:
        yield CheckResult(resource, Status.ERROR, f"cannot read the version {observed!r}", observed, f">= {minimum}")
        return
    if version_at_least(str(observed), minimum):
        yield CheckResult(resource, Status.PASS, f"OpenBao {observed} (>= {minimum})", observed, f">= {minimum}")
    else:
        yield CheckResult(
            resource, Status.FAIL, f"OpenBao {observed} is older than {minimum}", observed, f">= {minimum}"
        )


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
)
"""The server-level checks, in baseline order."""
