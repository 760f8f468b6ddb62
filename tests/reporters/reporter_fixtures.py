"""A realistic ScanResult built from real model objects, shared by the reporter tests.

Four targets: a reachable PostgreSQL with one unreadable evidence section, an unreachable
PostgreSQL replica (every control ERROR), an OpenBao, and an offline Kubernetes manifest
directory (resources with file locations, two Deployments named `web` in different namespaces).
Every Status and every Severity occurs; controls carry `source`, references (including a
framework key with a dot), tags, remediation; one finding is waived; the scan was compared with
a previous run (new, unchanged, updated findings, a regression, a resolution, and two `absent`
findings). `build_scan_result(compared=False)` drops the comparison.

Control ids and references follow /work/shared/reference/controls.md; BAO-18 is given severity
`info` here (the reference says low) so that every severity is exercised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from scanner.model import (
    BaselineState,
    Control,
    Finding,
    Resource,
    ScanResult,
    Severity,
    SourceLocation,
    Status,
    TargetSummary,
    Waiver,
)

PG = "postgres://db.example:5432"
PG_REPLICA = "postgres://replica.example:5432"
BAO = "https://bao.example:8200"
K8S = "k8s://manifests"

UNREACHABLE_ERROR = "unreachable: connection refused (replica.example:5432)"
SECTION_ERROR = "permission denied: reading pg_hba_file_rules needs superuser or SELECT on pg_hba_file_rules"
HOSTILE_TEXT = 'Zürich <team> & "ops" \x07bell \u2028sep'
"""A value with XML/HTML metacharacters, a control character, non-ASCII and a JSON line separator."""


def _control(
    id: str,
    title: str,
    severity: Severity,
    target: str,
    check: str,
    line: int,
    *,
    references: Mapping[str, tuple[str, ...]],
    tags: tuple[str, ...],
    params: Mapping[str, Any] | None = None,
    disabled: str | None = None,
    source_dir: str = "baselines",
) -> Control:
    return Control(
        id=id,
        title=title,
        severity=severity,
        target=target,
        check=check,
        params=dict(params or {}),
        description=f"{title}. Checked on the live {target} target.",
        rationale=f"Without it, {title.lower()} cannot be relied upon.",
        remediation=f"Fix {id}: see the {target} hardening guide; then re-run sovscan.",
        references=references,
        tags=tags,
        baseline=target,
        source=SourceLocation(path=f"{source_dir}/{target}.yaml", line=line),
        disabled=disabled,
    )


def build_controls(source_dir: str = "baselines") -> dict[str, Control]:
    """The controls of the fixture scan, keyed by id; sources are `<source_dir>/<kind>.yaml`."""
    controls = [
        _control(
            "PG-01",
            "TLS on",
            Severity.CRITICAL,
            "postgres",
            "generic.field",
            4,
            references={"cis-postgresql-17": ("6.8",), "bsi": ("APP.4.3.A16",), "iso27001-2022": ("A.8.24",)},
            tags=("CRYt",),
            params={"section": "pg_settings", "tests": [{"field": "setting", "op": "eq", "value": "on"}]},
            source_dir=source_dir,
        ),
        _control(
            "PG-02",
            "TLS strength",
            Severity.HIGH,
            "postgres",
            "postgres.tls_strength",
            21,
            references={"cis-postgresql-17": ("6.8", "6.10")},
            tags=("CRYt",),
            source_dir=source_dir,
        ),
        _control(
            "PG-04",
            "No weak auth methods",
            Severity.CRITICAL,
            "postgres",
            "postgres.hba_methods",
            38,
            references={"cis-postgresql-17": ("5.3", "5.4"), "bsi": ("APP.4.3.A3",), "nis2": ("21(2)(j)",)},
            tags=("AUTH",),
            params={"forbidden": ["trust", "password", "md5", "ident"]},
            source_dir=source_dir,
        ),
        _control(
            "PG-05",
            "SCRAM only",
            Severity.HIGH,
            "postgres",
            "postgres.scram_only",
            55,
            references={"cis-postgresql-17": ("5.12",)},
            tags=("AUTH",),
            source_dir=source_dir,
        ),
        _control(
            "PG-07",
            "Narrow source ranges",
            Severity.HIGH,
            "postgres",
            "postgres.hba_ranges",
            70,
            references={"pgdsat": ("5.9",)},
            tags=("NET",),
            source_dir=source_dir,
        ),
        _control(
            "PG-09",
            "Few privileged roles",
            Severity.HIGH,
            "postgres",
            "postgres.privileged_roles",
            88,
            references={"cis-postgresql-17": ("4.3", "7.1")},
            tags=("IAM",),
            source_dir=source_dir,
        ),
        _control(
            "PG-10",
            "Login roles limited",
            Severity.LOW,
            "postgres",
            "postgres.login_roles",
            104,
            references={"cis-postgresql-17": ("5.5",)},
            tags=("IAM",),
            source_dir=source_dir,
        ),
        _control(
            "PG-13",
            "Connection logging",
            Severity.MEDIUM,
            "postgres",
            "generic.field",
            120,
            references={"cis-postgresql-17": ("3.1.20", "3.1.21")},
            tags=("LOG",),
            source_dir=source_dir,
        ),
        _control(
            "PG-20",
            "WAL archiving works",
            Severity.HIGH,
            "postgres",
            "postgres.archiving",
            140,
            references={"cis-postgresql-17": ("7.3", "7.4")},
            tags=("BCM",),
            disabled="replica profile: archiving is verified on the primary",
            source_dir=source_dir,
        ),
        _control(
            "BAO-05",
            "Audit devices enabled",
            Severity.CRITICAL,
            "openbao",
            "openbao.audit_devices",
            9,
            references={"bsi": ("OPS.1.1.5.A3",), "iso27001-2022": ("A.8.15",)},
            tags=("LOG",),
            source_dir=source_dir,
        ),
        _control(
            "BAO-14",
            "KV v2 everywhere",
            Severity.LOW,
            "openbao",
            "openbao.kv_version",
            30,
            references={},
            tags=("HARD",),
            source_dir=source_dir,
        ),
        _control(
            "BAO-18",
            "Login rate limits",
            Severity.INFO,
            "openbao",
            "openbao.rate_limits",
            44,
            references={},
            tags=("AUTH",),
            source_dir=source_dir,
        ),
        _control(
            "K8S-13",
            "No privileged containers",
            Severity.CRITICAL,
            "kubernetes",
            "kubernetes.privileged",
            12,
            references={"cis-kubernetes-1.12": ("5.2.2",), "pss": ("baseline",), "bsi": ("SYS.1.6.A17",)},
            tags=("HARD",),
            source_dir=source_dir,
        ),
        _control(
            "K8S-18",
            "Read-only root filesystem",
            Severity.LOW,
            "kubernetes",
            "kubernetes.readonly_rootfs",
            60,
            references={"bsi": ("SYS.1.6.A23",)},
            tags=("HARD",),
            source_dir=source_dir,
        ),
        _control(
            "K8S-24",
            "Supported version",
            Severity.MEDIUM,
            "kubernetes",
            "kubernetes.version",
            99,
            references={"bsi": ("OPS.1.1.3",)},
            tags=("VULN",),
            source_dir=source_dir,
        ),
    ]
    return {c.id: c for c in controls}


def _res(target: str, base: str, kind: str, name: str, path: str, location: SourceLocation | None = None) -> Resource:
    uri = base + (f"/{path}" if path else "")  # as Evidence.resource builds it
    return Resource(target=target, kind=kind, name=name, uri=uri, location=location)


WAIVER = Waiver(
    control_id="PG-10",
    resource=f"{PG}/roles/reporting*",
    justification="Reporting role is used by the BI gateway; connection limit enforced by pgbouncer.",
    owner="data-platform@example.org",
    expires="2031-12-31",
    ticket="SEC-1234",
    source=SourceLocation(path="waivers.yaml", line=3),
)


def build_findings() -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """(findings, absent) of the fixture scan, with the comparison fields set."""
    unchanged, new, updated = BaselineState.UNCHANGED, BaselineState.NEW, BaselineState.UPDATED
    web_a = _res(
        "k8s-manifests",
        K8S,
        "Deployment",
        "web",
        "ns/team-a/Deployment/web",
        SourceLocation(path="manifests/team-a/web.yaml", line=17),
    )
    web_b = _res(
        "k8s-manifests",
        K8S,
        "Deployment",
        "web",
        "ns/team-b/Deployment/web",
        SourceLocation(path="manifests/team-b/web.yaml", line=9),
    )
    findings = (
        # pg-prod: reachable, pg_hba_file_rules unreadable.
        Finding(
            "PG-01",
            _res("pg-prod", PG, "setting", "ssl", "settings/ssl"),
            Status.PASS,
            "ssl is on.",
            observed="on",
            expected="on",
            baseline_state=unchanged,
            previous_status=Status.PASS,
        ),
        Finding(
            "PG-02",
            _res("pg-prod", PG, "setting", "ssl_min_protocol_version", "settings/ssl_min_protocol_version"),
            Status.PASS,
            "ssl_min_protocol_version is TLSv1.3.",
            observed="TLSv1.3",
            expected=">= TLSv1.2",
            baseline_state=updated,
            previous_status=Status.FAIL,
        ),
        Finding(
            "PG-04",
            _res("pg-prod", PG, "hba", "pg_hba.conf", "hba"),
            Status.ERROR,
            SECTION_ERROR,
            baseline_state=unchanged,
            previous_status=Status.ERROR,
        ),
        Finding(
            "PG-05",
            _res("pg-prod", PG, "setting", "password_encryption", "settings/password_encryption"),
            Status.FAIL,
            "password_encryption is md5; passwords are stored as MD5 hashes.",
            observed="md5",
            expected="scram-sha-256",
            baseline_state=new,
        ),
        Finding(
            "PG-09",
            _res("pg-prod", PG, "role", "app_owner", "roles/app_owner"),
            Status.FAIL,
            "Role app_owner is a superuser and not in the allow-list.",
            observed={"rolsuper": True, "rolcreaterole": True},
            expected={"rolsuper": False},
            baseline_state=unchanged,
            previous_status=Status.FAIL,
        ),
        Finding(
            "PG-09",
            _res("pg-prod", PG, "role", "backup", "roles/backup"),
            Status.FAIL,
            "Role backup has BYPASSRLS and is not in the allow-list.",
            observed={"rolbypassrls": True},
            expected={"rolbypassrls": False},
            baseline_state=new,
        ),
        Finding(
            "PG-10",
            _res("pg-prod", PG, "role", "reporting", "roles/reporting"),
            Status.WAIVED,
            "Role reporting can log in without a connection limit.",
            observed={"rolconnlimit": -1},
            expected="a connection limit",
            waiver=WAIVER,
            baseline_state=unchanged,
            previous_status=Status.WAIVED,
        ),
        Finding(
            "PG-13",
            _res("pg-prod", PG, "setting", "log_connections", "settings/log_connections"),
            Status.FAIL,
            "log_connections is off.",
            observed="off",
            expected="on",
            baseline_state=updated,
            previous_status=Status.PASS,
        ),
        Finding(
            "PG-20",
            _res("pg-prod", PG, "server", "db.example:5432", ""),
            Status.NOT_APPLICABLE,
            "Tailored out: replica profile: archiving is verified on the primary.",
            baseline_state=unchanged,
            previous_status=Status.NOT_APPLICABLE,
        ),
        # pg-replica: unreachable, every control ERROR.
        Finding(
            "PG-01",
            _res("pg-replica", PG_REPLICA, "server", "replica.example:5432", ""),
            Status.ERROR,
            UNREACHABLE_ERROR,
            baseline_state=updated,
            previous_status=Status.PASS,
        ),
        Finding(
            "PG-05",
            _res("pg-replica", PG_REPLICA, "server", "replica.example:5432", ""),
            Status.ERROR,
            UNREACHABLE_ERROR,
            baseline_state=updated,
            previous_status=Status.FAIL,
        ),
        # bao-prod.
        Finding(
            "BAO-05",
            _res("bao-prod", BAO, "audit", "audit devices", "sys/audit"),
            Status.FAIL,
            "No audit device is enabled.",
            observed=[],
            expected="at least 1 audit device",
            baseline_state=new,
        ),
        Finding(
            "BAO-14",
            _res("bao-prod", BAO, "mount", "secret/", "sys/mounts/secret"),
            Status.FAIL,
            "Mount secret/ is KV version 1.",
            observed={"version": "1", "description": HOSTILE_TEXT},
            expected={"version": "2"},
            baseline_state=unchanged,
            previous_status=Status.FAIL,
        ),
        Finding(
            "BAO-18",
            _res("bao-prod", BAO, "quota", "auth/*", "sys/quotas/rate-limit"),
            Status.FAIL,
            "No rate-limit quota covers auth/*.",
            observed=[],
            expected="a rate-limit quota on auth/*",
            baseline_state=new,
        ),
        # k8s-manifests: offline, resources have file locations.
        Finding(
            "K8S-13",
            web_a,
            Status.FAIL,
            "Container nginx runs privileged.",
            observed={"container": "nginx", "privileged": True},
            expected={"privileged": False},
            baseline_state=new,
        ),
        Finding(
            "K8S-13",
            web_b,
            Status.PASS,
            "No container runs privileged.",
            baseline_state=unchanged,
            previous_status=Status.PASS,
        ),
        Finding(
            "K8S-18",
            web_a,
            Status.FAIL,
            "Container nginx has a writable root filesystem.",
            observed={"readOnlyRootFilesystem": None},
            expected=True,
            baseline_state=unchanged,
            previous_status=Status.FAIL,
        ),
        Finding(
            "K8S-24",
            _res("k8s-manifests", K8S, "cluster", "manifests", ""),
            Status.NOT_APPLICABLE,
            "Offline manifests carry no server version.",
            baseline_state=new,
        ),
    )
    absent = (
        Finding(
            "PG-07",
            _res("pg-prod", PG, "hba_rule", "host all all 0.0.0.0/0", "hba/line/12"),
            Status.FAIL,
            "pg_hba line 12 accepts connections from 0.0.0.0/0.",
            observed="0.0.0.0/0",
            expected="a prefix longer than /16",
            baseline_state=BaselineState.ABSENT,
            previous_status=Status.FAIL,
        ),
        Finding(
            "K8S-13",
            _res("k8s-manifests", K8S, "Deployment", "legacy", "ns/team-a/Deployment/legacy"),
            Status.PASS,
            "No container runs privileged.",
            baseline_state=BaselineState.ABSENT,
            previous_status=Status.PASS,
        ),
    )
    return findings, absent


TARGETS = (
    TargetSummary(
        id="pg-prod",
        kind="postgres",
        uri=PG,
        section_errors={"pg_hba_file_rules": SECTION_ERROR},
        collected_at="2025-06-01T02:00:01+00:00",
        duration=1.2345,
        labels={"environment": "prod", "owner": "data-platform"},
    ),
    TargetSummary(
        id="pg-replica",
        kind="postgres",
        uri=PG_REPLICA,
        error=UNREACHABLE_ERROR,
        collected_at="2025-06-01T02:00:01+00:00",
        duration=5.0,
    ),
    TargetSummary(id="bao-prod", kind="openbao", uri=BAO, collected_at="2025-06-01T02:00:01Z", duration=0.42),
    TargetSummary(id="k8s-manifests", kind="kubernetes", uri=K8S, collected_at="2025-06-01T02:00:00Z", duration=0.05),
)


def build_scan_result(*, compared: bool = True, source_dir: str = "baselines") -> ScanResult:
    """The fixture ScanResult; `compared=False` strips every trace of a previous run."""
    findings, absent = build_findings()
    if not compared:
        findings = tuple(dataclasses.replace(f, baseline_state=None, previous_status=None) for f in findings)
        absent = ()
    return ScanResult(
        tool_version="0.1.0",
        started_at="2025-06-01T02:00:00+00:00",
        finished_at="2025-06-01T02:00:07.5+00:00",
        controls=build_controls(source_dir),
        findings=findings,
        targets=TARGETS,
        baselines={"postgres": "1.0.0", "openbao": "1.0.0", "kubernetes": "1.0.0"},
        environment="prod",
        run_id="20250601T020000Z-1a2b",
        compared_with="run 20250531T020000Z-9f8e" if compared else None,
        absent=absent,
        notes=("waiver for PG-10 on postgres://db.example:5432/roles/reporting* expires 2031-12-31",),
    )


def scan_with(result: ScanResult, *findings: Finding, absent: tuple[Finding, ...] = ()) -> ScanResult:
    """A copy of `result` with exactly these findings (and absent findings)."""
    return dataclasses.replace(result, findings=tuple(findings), absent=absent)
