"""Which S3 server answers: decided from what the server says in its answers' bodies, never from a header.

The `Server` header is set by whoever runs the endpoint, and a reverse proxy in front of it may
rewrite or drop it, so with `flavour: auto` it is recorded but decides nothing. The flavour comes
from unauthenticated GETs whose answers the flavours shape differently (observed on the real
servers of the test suite; Ceph RGW from its documented and widely published answers: no Ceph
server runs in the tests):

* `GET /minio/admin/v3/info`: MinIO's admin API answers with a JSON error object naming the admin
  resource (`{"Code": "AccessDenied", "Resource": "/minio/admin/v3/info", ...}`) -- MinIO. Every
  other S3 store reads the path as object `admin/v3/info` of a bucket `minio` and answers with an
  S3 XML `<Error>`; Ceph RGW's carries a request id of its own shape
  (`tx<21 hex>-<hex time>-<hex id>-<zone>`, with a `HostId` of `<hex id>-<zone>-<zonegroup>`).
* `GET /healthz` and `GET /status`: SeaweedFS's S3 gateway answers both with an empty 200 (its
  health handler); MinIO, Ceph RGW and AWS read them as buckets and answer with XML.
* a store that answers the admin path with an S3 error about a bucket `minio` and is neither of
  those is `generic`: it has no MinIO admin API at this address.

An answer that proves nothing (a proxy's HTML page, a timeout, a 502) leaves the flavour
undetermined: the MinIO-only controls are then ERROR ("could not determine the S3 server
flavour"), never NOT_APPLICABLE, and the other controls use the flavour-independent, conservative
readings. `flavour:` set explicitly skips the detection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from xml.etree import ElementTree

ADMIN_PROBE_PATH = "/minio/admin/v3/info"
"""The MinIO admin API call probed (unsigned: it needs no permission and changes nothing)."""
SEAWEEDFS_PROBE_PATHS = ("/healthz", "/status")
"""SeaweedFS S3 gateway endpoints that answer with an empty 200."""

_RGW_REQUEST_ID = re.compile(r"^tx[0-9a-f]{21}-[0-9a-f]{8,16}-([0-9a-f]+)-\S+$")


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of the endpoint, as far as the detection reads it."""

    status: int
    """The HTTP status code."""
    content_type: str
    """The Content-Type header ('' when absent)."""
    body: bytes
    """The body (the first bytes are enough)."""


@dataclass(frozen=True)
class Decision:
    """The flavour the answers prove, or why they prove none."""

    flavour: str | None
    """minio, seaweedfs, ceph-rgw or generic (an S3 store proven not to be MinIO); None when undetermined."""
    evidence: str
    """What the server said that decided it (or, when undetermined, why nothing did)."""


def _json_error(body: bytes) -> dict[str, object] | None:
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _xml_error(body: bytes) -> dict[str, str] | None:
    """The fields of an S3 XML `<Error>` answer, or None when the body is not one."""
    text = body.strip()
    if not text.startswith(b"<"):
        return None
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - the store's answer, no entities expanded
    except ElementTree.ParseError:
        return None
    if root.tag.rpartition("}")[2] != "Error":
        return None
    return {child.tag.rpartition("}")[2]: (child.text or "") for child in root}


def is_minio_admin(answer: Answer) -> str | None:
    """What makes `answer` to the admin probe a MinIO admin API answer, or None."""
    data = _json_error(answer.body)
    if data is None:
        return None
    if answer.status == 200 and ("deploymentID" in data or "mode" in data):
        return "the MinIO admin API answered server info"
    code, resource = data.get("Code"), data.get("Resource")
    if isinstance(code, str) and code and resource == ADMIN_PROBE_PATH:
        return f"the MinIO admin API answered {ADMIN_PROBE_PATH} with its JSON error {code} (HTTP {answer.status})"
    return None


def is_ceph_rgw(error: dict[str, str]) -> str | None:
    """What makes an S3 XML error Ceph RGW's (its transaction id and host id), or None."""
    match = _RGW_REQUEST_ID.match(error.get("RequestId", "").strip())
    if match is None or not error.get("HostId", "").strip().startswith(match.group(1) + "-"):
        return None
    return "the S3 error carries a Ceph RGW transaction id and host id"


def is_seaweedfs(health: list[Answer]) -> str | None:
    """What makes the answers to the SeaweedFS health endpoints SeaweedFS's, or None."""
    if health and all(a.status == 200 and not a.body.strip() for a in health):
        paths = " and ".join(SEAWEEDFS_PROBE_PATHS)
        return f"{paths} answered with SeaweedFS's empty 200 (its S3 gateway health handler)"
    return None


def _shown(answer: Answer) -> str:
    kind = answer.content_type.split(";")[0].strip() or "no content type"
    return f"HTTP {answer.status}, {kind}"


def decide(admin: Answer, health: list[Answer] | None) -> Decision:
    """The flavour proved by the admin probe's answer and (when it is not MinIO's) the health answers.

    `health` is None when those were not asked (the admin answer settled it or the caller stops early).
    """
    reason = is_minio_admin(admin)
    if reason:
        return Decision("minio", reason)
    error = _xml_error(admin.body)
    if error is None:
        return Decision(
            None,
            f"{ADMIN_PROBE_PATH} got neither a MinIO admin answer nor an S3 error ({_shown(admin)}): "
            "a proxy in front of the store may be hiding it",
        )
    reason = is_ceph_rgw(error)
    if reason:
        return Decision("ceph-rgw", reason)
    if error.get("BucketName") != "minio":
        return Decision(
            None, f"{ADMIN_PROBE_PATH} got an S3 error ({error.get('Code') or 'no code'}) that proves no flavour"
        )
    # the store reads the path as a bucket `minio`: it has no MinIO admin API at this address
    not_minio = f"the store read {ADMIN_PROBE_PATH} as an object of a bucket minio: it has no MinIO admin API"
    reason = is_seaweedfs(health or [])
    if reason:
        return Decision("seaweedfs", f"{reason}; {not_minio}")
    return Decision("generic", not_minio)
