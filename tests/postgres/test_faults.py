"""Fault injection for the PostgreSQL connector: no control reads PASS from evidence that was not read.

Faults: a closed port (down), a port that accepts and never answers (hanging), a real server
refusing the password (the PostgreSQL equivalent of a 401), a real server that requires TLS
the client will not verify, and the fake wire-protocol server of `tests/services/pgwire.py`
(a stand-in: no real server answers with the wrong columns) answering every query with an
unexpected shape (malformed answers). Each scan goes through the engine, as the CLI runs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from checks.postgres import contract
from checks.postgres.plugin import PLUGIN
from scanner import engine
from scanner.errors import CollectionError
from scanner.interface import Secret
from scanner.model import Control, Evidence, Status
from scanner.plugins import Registry
from tests.postgres.conftest import DATA, Evaluate, load_document, to_evidence
from tests.services.pgwire import fake_pg_server
from tests.services.postgres import SUPERUSER, PgCluster


def collect_like_the_engine(value: str, secrets: dict[str, Secret] | None = None, timeout: float = 5) -> Evidence:
    """Collect one target; a CollectionError becomes a target error, as in the engine."""
    target = PLUGIN.parse_target(value)
    try:
        return PLUGIN.collect(target, secrets or {}, timeout)
    except CollectionError as exc:
        return Evidence(target=target.id, kind="postgres", uri=PLUGIN.target_uri(target), sections={},
                        target_error=f"{exc.reason}: {exc.message}")  # fmt: skip


def no_pass(evaluate: Evaluate, evidence: Evidence) -> dict[str, set[Status]]:
    results = {cid: {f.status for f in findings.values()} for cid, findings in evaluate(evidence).items()}
    passing = {cid for cid, found in results.items() if Status.PASS in found}
    assert not passing, f"controls that PASS on evidence that was not read: {sorted(passing)}"
    return results


def test_down(evaluate: Evaluate, closed_port: int) -> None:
    evidence = collect_like_the_engine(f"postgresql://scanner@127.0.0.1:{closed_port}/postgres?sslmode=disable")
    assert evidence.target_error and evidence.target_error.startswith(CollectionError.UNREACHABLE)
    assert set().union(*no_pass(evaluate, evidence).values()) == {Status.ERROR}


def test_hanging(evaluate: Evaluate, silent_port: int) -> None:
    started = time.monotonic()
    evidence = collect_like_the_engine(
        f"postgresql://scanner@127.0.0.1:{silent_port}/postgres?sslmode=disable", timeout=2
    )
    assert time.monotonic() - started < 10
    assert evidence.target_error and evidence.target_error.startswith(CollectionError.TIMEOUT)
    no_pass(evaluate, evidence)


def test_hanging_after_startup(evaluate: Evaluate) -> None:
    with fake_pg_server("hang") as server:
        started = time.monotonic()
        evidence = collect_like_the_engine(
            f"postgresql://scanner@127.0.0.1:{server.port}/postgres?sslmode=disable", timeout=2
        )
    assert time.monotonic() - started < 10
    assert evidence.target_error
    no_pass(evaluate, evidence)


def test_a_server_that_stalls_mid_session_is_abandoned_at_the_targets_timeout(tmp_path: Path) -> None:
    """psycopg has no client-side query timeout: the engine's per-target timeout is what ends it."""
    from tests.postgres.test_cli import findings, sovscan

    with fake_pg_server("stall") as server:
        started = time.monotonic()
        target = f"postgres=postgresql://scanner@127.0.0.1:{server.port}/postgres?sslmode=disable"
        result = sovscan(
            "scan", "--no-progress", "--timeout", "3", "--target", target, "-f", f"json={tmp_path / 'r.json'}",
            env={"PGPASSWORD": "stall-pw-1"},
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert elapsed < 30
    statuses = {f["status"] for f in findings(tmp_path / "r.json")}
    assert statuses == {"ERROR"}


def test_authentication_failure(evaluate: Evaluate, pg_hardened: PgCluster) -> None:
    evidence = collect_like_the_engine(pg_hardened.url(SUPERUSER), {"password": Secret("wrong-password-123")})
    assert evidence.target_error and evidence.target_error.startswith(CollectionError.AUTHENTICATION)
    assert "wrong-password-123" not in evidence.target_error
    no_pass(evaluate, evidence)


def test_tls_verified_by_default_refuses_an_unknown_certificate(pg_hardened: PgCluster, evaluate: Evaluate) -> None:
    """No sslmode: verify-full against the system CA store, which does not know the test cluster's certificate."""
    value = f"postgresql://{SUPERUSER}@127.0.0.1:{pg_hardened.port}/postgres"
    evidence = collect_like_the_engine(value, {"password": Secret(pg_hardened.password(SUPERUSER))})
    assert evidence.target_error and evidence.target_error.startswith(CollectionError.TLS), evidence.target_error
    no_pass(evaluate, evidence)


def test_malformed_answers(evaluate: Evaluate) -> None:
    with fake_pg_server("malformed") as server:
        evidence = collect_like_the_engine(
            f"postgresql://scanner@127.0.0.1:{server.port}/postgres?sslmode=disable", {"password": Secret("any-pw-1")}
        )
    assert evidence.target_error and evidence.target_error.startswith(CollectionError.PROTOCOL), evidence.target_error
    no_pass(evaluate, evidence)


# -- a malformed section is an error, never data ---------------------------------------------

MALFORMED: dict[str, Callable[[dict[str, object]], None]] = {
    "roles": lambda s: s.update(roles={}),
    "pg_settings": lambda s: s.update(pg_settings=[]),
    "hba_rules": lambda s: s.update(hba_rules={"rules": []}),
    "connections": lambda s: s.update(connections={}),
    "memberships": lambda s: s.update(memberships={"grants": [{"role": "x"}]}),
    "databases": lambda s: s.update(databases=[{"name": "appdb"}]),
    "archiver": lambda s: s.update(archiver={"now": None}),
    "server": lambda s: s.update(server={"server_version_num": "15"}),
}


@pytest.mark.parametrize("section", sorted(MALFORMED))
def test_a_malformed_section_fails_the_contract_and_no_control_passes_on_it(
    section: str, evaluate: Evaluate, registry: Registry, controls: dict[str, Control]
) -> None:
    document = load_document("good.json")
    MALFORMED[section](document["sections"])
    problems = contract.validate_sections(document["sections"])
    assert set(problems) == {section}, problems
    # what the collector (and the engine, on re-read evidence) does with it: a section error
    del document["sections"][section]
    document["errors"][section] = problems[section]
    needing = 0
    for control_id, findings in evaluate(to_evidence(document)).items():
        spec = registry.checks[controls[control_id].check]
        reads = set(spec.needs) | ({controls[control_id].params.get("section")} - {None})
        if section in reads:
            needing += 1
            assert {f.status for f in findings.values()} == {Status.ERROR}, control_id
            assert "malformed evidence" in next(iter(findings.values())).message
    assert needing


def test_the_contract_accepts_real_and_shipped_evidence(pg_hardened: PgCluster) -> None:
    for name in ("good.json", "weak.json"):
        assert contract.validate_sections(load_document(name)["sections"]) == {}, name
    for path in sorted((DATA.parents[2] / "examples" / "evidence").glob("db-*.json")):
        import json

        assert contract.validate_sections(json.loads(path.read_text())["sections"]) == {}, path.name
    target = PLUGIN.parse_target(pg_hardened.url(SUPERUSER))
    evidence = PLUGIN.collect(target, {"password": Secret(pg_hardened.password(SUPERUSER))}, 20)
    assert not any("malformed" in reason for reason in evidence.errors.values()), evidence.errors
    assert contract.validate_sections(evidence.sections) == {}
    assert set(PLUGIN.evidence_contract()) >= set(evidence.sections)


# -- every check declares every section it reads -----------------------------------------------


def test_every_check_declares_the_sections_it_reads(evaluate: Evaluate) -> None:
    """Give each control only the sections in its `needs` (as the engine will): results must not change."""
    from scanner.baseline import BaselineLibrary
    from scanner.plugins import discover

    registry = discover()
    specs = {spec.name: spec for spec in PLUGIN.checks()}
    hidden = load_document("good.json")  # facts the checks find in `server`: hidden settings, a stale pg_hba.conf
    hidden["sections"]["pg_settings"] = [r for r in hidden["sections"]["pg_settings"] if r["name"] != "ssl_ciphers"]
    hidden["sections"]["server"]["hidden_settings"] = ["ssl_ciphers"]
    hidden["sections"]["server"]["hba_file_modified_at"] = "2099-01-01T00:00:00+00:00"
    for name, document in (("good.json", load_document("good.json")), ("weak.json", load_document("weak.json")),
                           ("hidden", hidden)):  # fmt: skip
        full = to_evidence(document)
        for control in BaselineLibrary(registry).load("postgres").controls:
            spec = specs.get(control.check)
            if spec is None:  # generic.field: reads the section named in its params
                continue
            only = replace(full, sections={k: v for k, v in full.sections.items() if k in spec.needs})
            with_all = engine.evaluate_control(control, full, registry)
            with_needs = engine.evaluate_control(control, only, registry)
            assert [(f.resource.uri, f.status, f.message) for f in with_needs] == [
                (f.resource.uri, f.status, f.message) for f in with_all
            ], (name, control.id, spec.needs)
