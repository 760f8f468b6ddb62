"""The HTTP collector toolkit: what every HTTP-based target kind needs, in one place.

A collector that talks to a server over HTTP(S) (OpenBao through hvac, Keycloak through
python-keycloak, S3 through the minio client) uses these pieces instead of writing its own:

* `Deadline`: the per-target collection deadline; every request gets at most what is left of it
  (capped at a per-request timeout), and a passed deadline is a `RequestFailed` with reason
  `timed out`;
* `TlsSettings` / `tls_settings()`: certificate verification on by default, a CA file or
  directory option, an explicit opt-out that is recorded (`insecure_transport()` gives the
  strings for `Evidence.metadata["insecure_transport"]`), optional client certificate; the
  environment variable names are the caller's (its ecosystem's conventions);
* `request_failure()`: maps a `requests` or `urllib3` exception (TLS, timeout, connection)
  to a `RequestFailed` carrying the `CollectionError` reason and a message without secrets;
* `status_reason()` / `status_failure()`: maps an HTTP status (401, 403, 404, 5xx, ...) to a
  reason and message;
* `error_texts()` / `response_error_text()`: the server's error text from a JSON or S3-style
  XML error body, shortened;
* `short_error()`: a short, secret-free text of an exception;
* `tls_handshake()`: one handshake with the listener to record the protocol, cipher and
  certificate expiry.

Nothing here logs, and no function puts a request's headers, body or URL query in a message.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import urllib3.exceptions

from scanner.errors import CollectionError, ConfigError
from scanner.operators import parse_bool

REQUEST_TIMEOUT = 10.0
"""Default upper bound of one HTTP request, in seconds (the target's deadline may shorten it)."""


def as_bool(value: Any, what: str) -> bool:
    """Interpret an option or environment value as a boolean; raise ConfigError when it is not one.

    An empty text (a variable set to nothing) is false; other spellings are scanner.operators'.
    """
    if isinstance(value, str) and not value.strip():
        return False
    parsed = parse_bool(value, "generic")
    if parsed is None:
        raise ConfigError(f"{what} must be true or false, got {value!r}")
    return parsed


def env_first(*names: str) -> tuple[str, str] | None:
    """Return (name, value) of the first environment variable among `names` that is set and non-empty."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return name, value
    return None


class RequestFailed(Exception):
    """A request failed; the message says why in words (no secrets).

    `reason` is the `CollectionError` reason this failure means when the whole target fails on
    it; `status` is the HTTP status when the server answered.
    """

    def __init__(self, message: str, reason: str = CollectionError.PROTOCOL, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status

    def as_collection_error(self, context: str) -> CollectionError:
        """The whole-target error for this failure; `context` (e.g. "reading sys/health") prefixes
        the message of an unexpected answer, whose text alone would not say what was being read."""
        message = str(self)
        if self.reason == CollectionError.PROTOCOL:
            message = f"{context}: {message}"
        return CollectionError(self.reason, message)


class Deadline:
    """The collection deadline of one target: every request gets at most what is left of it."""

    def __init__(self, budget: float, request_cap: float = REQUEST_TIMEOUT) -> None:
        self.end = time.monotonic() + max(budget, 1.0)
        self.request_cap = request_cap

    def left(self) -> float:
        """Seconds left until the deadline (negative once it passed)."""
        return self.end - time.monotonic()

    def request_timeout(self) -> float:
        """Timeout for the next request; raise RequestFailed (timed out) when the deadline has passed."""
        left = self.left()
        if left <= 0.2:
            raise RequestFailed(
                "timed out: the target's collection deadline passed before this section was read",
                CollectionError.TIMEOUT,
            )
        return min(self.request_cap, left)

    def soft_timeout(self) -> float:
        """A timeout for a client built once (at least one second, at most the request cap); never raises."""
        return min(self.request_cap, max(self.left(), 1.0))


# -- TLS -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsSettings:
    """How the server certificate is verified and which client certificate is presented."""

    verify: bool | str
    """True (system CAs), a CA file or directory path, or False (verification disabled)."""
    ca_source: str | None = None
    """Where the CA came from (`option ca_cert`, `BAO_CACERT`, ...), for evidence metadata."""
    skip_verify_source: str | None = None
    """Set when verification is disabled: which option or variable disabled it."""
    client_cert: tuple[str, str] | None = None
    """Client certificate and key paths, when mutual TLS is used."""

    def ssl_context(self) -> ssl.SSLContext:
        """An SSL context doing exactly this verification (for urllib3 / minio and raw sockets).

        Raises CollectionError (tls error) when the CA or client certificate files cannot be loaded.
        """
        try:
            if isinstance(self.verify, str):
                is_dir = os.path.isdir(self.verify)
                context = ssl.create_default_context(
                    cafile=None if is_dir else self.verify, capath=self.verify if is_dir else None
                )
            else:
                context = ssl.create_default_context()
                if self.verify is False:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
            if self.client_cert:
                context.load_cert_chain(self.client_cert[0], self.client_cert[1])
        except (OSError, ssl.SSLError) as exc:
            raise CollectionError(
                CollectionError.TLS,
                f"cannot load the CA or client certificate files: {getattr(exc, 'strerror', None) or exc}",
            ) from None
        return context


def tls_settings(
    options: Mapping[str, Any],
    *,
    ca_env: Sequence[str] = (),
    skip_verify_env: Sequence[str] = (),
    client_cert_env: Sequence[str] = (),
    client_key_env: Sequence[str] = (),
    ca_option: str = "ca_cert",
    skip_verify_option: str = "tls_skip_verify",
    client_cert_option: str = "client_cert",
    client_key_option: str = "client_key",
) -> TlsSettings:
    """TLS settings from target options, then the given environment variables (first set one wins).

    Verification stays on unless the option or one of `skip_verify_env` is explicitly true; the
    option, when present, wins over the environment (so `tls_skip_verify: false` re-enables it).
    """
    skip_source: str | None = None
    if skip_verify_option in options:
        if as_bool(options[skip_verify_option], f"option {skip_verify_option}"):
            skip_source = f"option {skip_verify_option}"
    else:
        found = env_first(*skip_verify_env)
        if found and as_bool(found[1], found[0]):
            skip_source = found[0]
    client_cert: tuple[str, str] | None = None
    if options.get(client_cert_option):
        cert_path = str(options[client_cert_option])
        client_cert = (cert_path, str(options.get(client_key_option) or cert_path))
    else:
        cert = env_first(*client_cert_env)
        key = env_first(*client_key_env)
        if cert:
            client_cert = (cert[1], key[1] if key else cert[1])
    if skip_source:
        return TlsSettings(verify=False, skip_verify_source=skip_source, client_cert=client_cert)
    if options.get(ca_option):
        return TlsSettings(verify=str(options[ca_option]), ca_source=f"option {ca_option}", client_cert=client_cert)
    found = env_first(*ca_env)
    if found:
        return TlsSettings(verify=found[1], ca_source=found[0], client_cert=client_cert)
    return TlsSettings(verify=True, client_cert=client_cert)


def insecure_transport(scheme: str, tls: TlsSettings, what: str = "the server") -> list[str]:
    """Human-readable notes for `Evidence.metadata["insecure_transport"]` (empty when transport is sound)."""
    if scheme == "http":
        return [f"plain HTTP: traffic to {what}, including credentials, is not encrypted"]
    if tls.verify is False:
        source = tls.skip_verify_source or "configuration"
        return [f"TLS verification disabled by {source}: the identity of {what} was not verified"]
    return []


def target_parts(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a target URL; the port defaults to 443 for https, else 80."""
    split = urlsplit(url)
    scheme = split.scheme.lower()
    port = split.port or (443 if scheme == "https" else 80)
    return scheme, split.hostname or "", port


@dataclass(frozen=True)
class ServerUrl:
    """The parts of an HTTP(S) server URL given on the command line (`--target KIND=URL`)."""

    scheme: str
    """`https` (the default when none is written) or `http`."""
    host: str
    """The host as written in a URL (IPv6 literals in brackets)."""
    port: int | None
    """The port written, or None."""
    path: str
    """The path, without a trailing slash."""
    options: dict[str, Any]
    """Target options from the query string, converted and checked against the kind's names."""


def parse_server_url(
    value: str,
    *,
    kind: str,
    example: str,
    known_options: Collection[str],
    credential_options: Collection[str] = (),
    credentials_hint: str = "use inventory credentials",
    convert: Callable[[str, str], Any] = lambda key, item: item,
) -> ServerUrl:
    """Parse an HTTP(S) server URL for a target kind, refusing what would put a secret in a URL.

    `kind` names the kind in messages ("an OpenBao"); a missing scheme means https; user:password@
    and query keys in `credential_options` are refused (they would land in shell history and
    process listings); any other query key must be in `known_options` and is turned into an option
    value by `convert(key, text)`. Raises ConfigError with a one-line message.
    """
    raw = value.strip()
    if not raw:
        raise ConfigError(f"{kind} target needs a URL such as {example}")
    if "://" not in raw:
        raw = "https://" + raw
    split = urlsplit(raw)
    scheme = split.scheme.lower()
    name = kind.split(" ", 1)[-1]
    if scheme not in ("http", "https"):
        raise ConfigError(f"{kind} URL must start with https:// (or http://), got '{split.scheme}://'")
    if split.username or split.password:
        raise ConfigError(f"do not put credentials in the {name} URL; {credentials_hint}")
    try:
        port = split.port
    except ValueError:
        raise ConfigError(f"bad port in '{value}'") from None
    host = split.hostname
    if not host:
        raise ConfigError(f"no host in '{value}'")
    options: dict[str, Any] = {}
    for key, item in parse_qsl(split.query, keep_blank_values=True):
        if key in credential_options:
            raise ConfigError(f"do not put credentials in the URL ('{key}'); {credentials_hint}")
        if key not in known_options:
            raise ConfigError(f"unknown {name} option '{key}' (known: {', '.join(sorted(known_options))})")
        options[key] = convert(key, item)
    return ServerUrl(scheme, url_host(host), port, split.path.rstrip("/"), options)


def url_host(host: str) -> str:
    """A host as written in a URL: IPv6 literals keep their brackets."""
    return f"[{host}]" if ":" in host else host


def tls_handshake(
    host: str, port: int, tls: TlsSettings, deadline: Deadline, *, ca_hint: str = "give option ca_cert"
) -> dict[str, Any]:
    """Handshake with the listener to record the negotiated protocol, cipher and certificate expiry.

    Raises CollectionError: `tls error` for an unverified certificate (with `ca_hint` in the
    message) or a failed handshake, `timed out`, or `unreachable`.
    """
    context = tls.ssl_context()
    timeout = deadline.soft_timeout()
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls_sock,
        ):
            cert = tls_sock.getpeercert() if tls.verify is not False else {}
            cipher = tls_sock.cipher()
            not_after = cert.get("notAfter") if cert else None
            return {
                "version": tls_sock.version(),
                "cipher": cipher[0] if cipher else None,
                "verified": tls.verify is not False,
                "certificate_not_after": _iso_cert_time(not_after) if isinstance(not_after, str) else None,
            }
    except ssl.SSLCertVerificationError as exc:
        raise CollectionError(
            CollectionError.TLS, f"certificate of {host}:{port} not verified ({exc.verify_message}); {ca_hint}"
        ) from None
    except ssl.SSLError as exc:
        raise CollectionError(CollectionError.TLS, f"TLS handshake with {host}:{port} failed: {exc.reason}") from None
    except TimeoutError:
        raise CollectionError(CollectionError.TIMEOUT, f"no answer from {host}:{port} within {timeout:g}s") from None
    except OSError as exc:
        raise CollectionError(
            CollectionError.UNREACHABLE, f"cannot connect to {host}:{port}: {exc.strerror or exc}"
        ) from None


def _iso_cert_time(text: str) -> str | None:
    try:
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(text), UTC).isoformat().replace("+00:00", "Z")
    except ValueError:
        return None


# -- errors --------------------------------------------------------------------------------

_SHORT = re.compile(
    r"(Connection refused|Name or service not known|Temporary failure in name resolution|"
    r"No route to host|Network is unreachable|Connection reset by peer|"
    r"certificate verify failed[^)\]']*|timed out)"
)


def short_error(exc: BaseException) -> str:
    """A short text of an exception: the known cause when one is recognisable, else its first 200 characters.

    Client libraries' exception texts name the URL (never credentials, which travel in headers
    or bodies); callers must not pass exceptions whose text could carry a secret.
    """
    text = " ".join(str(exc).split())
    match = _SHORT.search(text)
    return match.group(1) if match else text[:200]


_TLS_EXC: tuple[type[BaseException], ...] = (
    requests.exceptions.SSLError,
    urllib3.exceptions.SSLError,
    ssl.SSLError,
)
_TIMEOUT_EXC: tuple[type[BaseException], ...] = (
    requests.exceptions.Timeout,
    urllib3.exceptions.TimeoutError,
    TimeoutError,
)
_CONNECTION_EXC: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.MaxRetryError,
    ConnectionError,
    OSError,
)


def _cause(exc: BaseException) -> BaseException:
    """The innermost meaningful exception of a urllib3 retry error (its `reason`)."""
    seen = 0
    while isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None and seen < 5:
        exc = exc.reason
        seen += 1
    return exc


def request_failure(exc: BaseException, what: str) -> RequestFailed:
    """Map a transport exception of `requests` or `urllib3` (or the socket layer) to a RequestFailed.

    `what` says what was being done, e.g. "reading sys/auth"; the messages are
    "TLS error <what>: <cause>", "timed out <what>", "connection failed (<cause>) <what>", and
    "request failed (<cause>) <what>" for anything else (reason `unexpected response`).
    """
    inner = _cause(exc)
    for candidate in (exc, inner):
        if isinstance(candidate, _TLS_EXC):
            return RequestFailed(f"TLS error {what}: {short_error(candidate)}", CollectionError.TLS)
    for candidate in (exc, inner):
        # urllib3's NewConnectionError derives from ConnectTimeoutError: a refused connection is not a timeout.
        if isinstance(candidate, urllib3.exceptions.NewConnectionError):
            return RequestFailed(f"connection failed ({short_error(candidate)}) {what}", CollectionError.UNREACHABLE)
    for candidate in (exc, inner):
        if isinstance(candidate, _TIMEOUT_EXC):
            return RequestFailed(f"timed out {what}", CollectionError.TIMEOUT)
    for candidate in (exc, inner):
        if isinstance(candidate, _CONNECTION_EXC):
            return RequestFailed(f"connection failed ({short_error(candidate)}) {what}", CollectionError.UNREACHABLE)
    return RequestFailed(f"request failed ({short_error(exc)}) {what}")


TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    OSError,
)
"""Exceptions that `request_failure()` classifies: catch these around a client call."""


def status_reason(status: int) -> str:
    """The CollectionError reason an HTTP error status means."""
    if status == 401:
        return CollectionError.AUTHENTICATION
    if status == 403:
        return CollectionError.PERMISSION
    if status in (408, 504):
        return CollectionError.TIMEOUT
    if status in (502, 503):
        return CollectionError.UNREACHABLE
    return CollectionError.PROTOCOL


def status_failure(status: int, what: str, detail: str = "", *, needs: str | None = None) -> RequestFailed:
    """A RequestFailed for an HTTP error answer to `what` (e.g. "GET /admin/realms/x/events/config").

    401: "authentication failed"; 403: "permission denied" (adding "needs <needs>" when given);
    404: "not found"; others: "returned HTTP <status>". `detail` is the server's error text.
    """
    suffix = f": {detail}" if detail and detail != f"HTTP {status}" else ""
    if status == 401:
        message = f"{what} was refused (HTTP 401): the credentials are invalid or expired{suffix}"
    elif status == 403:
        message = f"permission denied: {what}" + (f" needs {needs}" if needs else " was refused (HTTP 403)") + suffix
    elif status == 404:
        message = f"{what}: not found (HTTP 404){suffix}"
    else:
        message = f"{what} returned HTTP {status}{suffix}"
    return RequestFailed(message, status_reason(status), status)


_ERROR_KEYS = ("errors", "error_description", "errorMessage", "error", "message", "detail")
_XML_FIELD = re.compile(r"<(Code|Message)>([^<]{0,300})</\1>")


def error_texts(body: Any) -> list[str]:
    """The error strings of a parsed JSON error body: OpenBao's `errors` list, OAuth's
    `error_description` / `error`, Keycloak's `errorMessage`, or a `message` / `detail` string."""
    if not isinstance(body, Mapping):
        return []
    errors = body.get("errors")
    if isinstance(errors, list):
        return [str(e).strip() for e in errors if str(e).strip()]
    for key in _ERROR_KEYS[1:]:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return [value.strip()]
    return []


def _body_bytes(response: Any) -> bytes:
    content = getattr(response, "content", None)  # requests
    if isinstance(content, bytes):
        return content
    data = getattr(response, "data", None)  # urllib3
    return data if isinstance(data, bytes) else b""


def response_error_text(response: Any, limit: int = 300) -> str:
    """The server's error text of a `requests` or `urllib3` response (JSON, or S3-style XML
    `<Code>`/`<Message>`), whitespace-collapsed and cut to `limit`; "HTTP <status>" when there is none."""
    raw = _body_bytes(response)
    texts: list[str] = []
    stripped = raw.lstrip()
    if stripped.startswith((b"{", b"[")):
        try:
            texts = error_texts(json.loads(raw))
        except ValueError:
            texts = []
    elif stripped.startswith(b"<"):
        found = dict(_XML_FIELD.findall(raw[:4096].decode("utf-8", "replace")))
        texts = [": ".join(v for v in (found.get("Code"), found.get("Message")) if v)] if found else []
    text = " ".join("; ".join(t for t in texts if t).split())
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return text[:limit] or f"HTTP {status}"
