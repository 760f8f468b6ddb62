"""The history store against real SQLite and the suite's real PostgreSQL: recording, --compare last,
migrations from an old schema, history trends, and concurrent recording."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.compare import compare
from scanner.model import BaselineState, Finding, ScanResult, Status
from scanner.store import StoreError, default_path, open_store
from scanner.store.migrations import LATEST
from tests.lifecycle.builders import finding, result, save
from tests.lifecycle.conftest import Invoke
from tests.services.postgres import PgCluster

ROOT = Path(__file__).parents[2]

A_FAIL = finding("C-CRIT", "a", Status.FAIL, observed="md5")
B_PASS = finding("C-HIGH", "b", Status.PASS, observed=True)


def scan(n: int, *findings: Finding, **kwargs: Any) -> ScanResult:
    """The n-th nightly scan (run id scan-n, started on day n of March)."""
    kwargs.setdefault("run_id", f"scan-{n}")
    return result(*findings, started=f"2025-03-{n:02d}T02:00:00Z", **kwargs)


@pytest.fixture
def pg_url(pg_hardened: PgCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database on the hardened cluster; the password comes from PGPASSWORD, not the URL."""
    name = f"sovscan_history_{secrets.token_hex(4)}"
    pg_hardened.execute(f"CREATE DATABASE {name}")
    monkeypatch.setenv("PGPASSWORD", pg_hardened.password("postgres"))
    yield pg_hardened.url("postgres", name)
    pg_hardened.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs against a real SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'history.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_record_is_one_scan_per_run_id(store_url: str) -> None:
    store = open_store(store_url)
    assert store.schema_version() == LATEST
    assert store.record(scan(1, A_FAIL, B_PASS)) is True
    assert store.record(scan(1, A_FAIL, B_PASS)) is False  # the same run again: not duplicated
    [series] = store.history()
    assert [p.run_id for p in series.points] == ["scan-1"]
    assert dict(series.points[0].counts) == {"PASS": 1, "FAIL": 1, "ERROR": 0, "NOT_APPLICABLE": 0, "WAIVED": 0}
    assert series.points[0].baseline_version == "1.0"


def test_last_scan_matches_targets_and_environment(store_url: str) -> None:
    store = open_store(store_url)
    store.record(scan(1, A_FAIL, B_PASS))
    store.record(scan(2, A_FAIL, targets=("t1", "t2")))  # another set of targets
    store.record(scan(3, A_FAIL, environment="staging"))  # another environment
    current = scan(4, A_FAIL, finding("C-HIGH", "b", Status.FAIL, observed=False))
    previous = store.last_scan(current)
    assert previous is not None
    assert previous.result.run_id == "scan-1"
    assert previous.result.findings == (A_FAIL, B_PASS)  # the complete result, observed values included
    assert "scan-1" in previous.description
    compared = compare(current, previous)
    assert [f.baseline_state for f in compared.findings] == [BaselineState.UNCHANGED, BaselineState.UPDATED]
    # a scan never compares with itself or with a later one
    assert store.last_scan(scan(1, A_FAIL, B_PASS)) is None


def test_compare_last_through_the_cli(sovscan: Invoke, store_url: str, tmp_path: Path) -> None:
    def run(n: int, *findings: Finding) -> tuple[int, dict[str, Any], str]:
        out = tmp_path / f"out-{n}.json"
        outcome = sovscan(
            "report", "--from", save(scan(n, *findings), tmp_path / f"r{n}.json"), "--store", store_url,
            "--compare", "last", "--fail-on-new", "-f", f"json={out}",
        )  # fmt: skip
        return outcome.exit_code, json.loads(out.read_text()), outcome.stderr

    code, first, _ = run(1, B_PASS)
    assert code == 0
    assert first["run"]["compared_with"].startswith("nothing: no earlier scan")
    assert [f["baseline_state"] for f in first["findings"]] == ["new"]

    code, second, err = run(2, B_PASS, A_FAIL)
    assert code == 1 and "(new)" in err
    assert "scan-1" in second["run"]["compared_with"]

    code, third, _ = run(3, B_PASS, A_FAIL)  # compared with scan-2: the failure is known now
    assert code == 0
    assert [f["baseline_state"] for f in third["findings"]] == ["unchanged", "unchanged"]

    code, _, err = run(4, finding("C-HIGH", "b", Status.ERROR, message="permission denied"), A_FAIL)
    assert code == 1 and "ERROR now" in err

    history = sovscan("history", "--store", store_url, "--format", "json")
    assert history.exit_code == 0, history.stderr
    [series] = json.loads(history.stdout)["series"]
    assert [p["run_id"] for p in series["scans"]] == ["scan-1", "scan-2", "scan-3", "scan-4"]
    where = store_url.removeprefix("sqlite:") if store_url.startswith("sqlite:") else store_url.split("@")[-1]
    assert json.loads(history.stdout)["store"].endswith(where.split("?")[0])


def test_history_trend(sovscan: Invoke, store_url: str) -> None:
    store = open_store(store_url)
    c_fail = finding("C-MED", "c", Status.FAIL)
    store.record(scan(1, A_FAIL, B_PASS, baseline_version="1.0"))
    store.record(scan(3, A_FAIL, finding("C-HIGH", "b", Status.FAIL), c_fail, baseline_version="1.1"))
    still_evaluated = finding("C-MED", "d", Status.PASS)  # C-MED is evaluated in scan 5: c's absence is a fix
    store.record(scan(5, finding("C-CRIT", "a", Status.ERROR), B_PASS, still_evaluated, baseline_version="1.1"))
    store.record(scan(8, A_FAIL, B_PASS, finding("C-LOW", "n", Status.NOT_APPLICABLE), baseline_version="1.2"))
    [series] = store.history()
    assert (series.environment, series.target, series.baseline) == ("test", "t1", "demo")
    points = [
        (p.started_at[:10], p.baseline_version, p.pass_rate and round(p.pass_rate, 1), p.new, p.resolved, p.still_open)
        for p in series.points
    ]
    assert points == [
        ("2025-03-01", "1.0", 50.0, 1, 0, 0),
        ("2025-03-03", "1.1", 0.0, 2, 0, 1),  # b regressed, c appeared; a still open
        ("2025-03-05", "1.1", 66.7, 0, 2, 0),  # b fixed, c gone while C-MED was evaluated: resolved; a unknown (ERROR)
        ("2025-03-08", "1.2", 50.0, 1, 0, 0),  # a FAIL again (was ERROR); NOT_APPLICABLE left out of the rate
    ]
    assert series.open_failures == 1
    # the ERROR scan does not interrupt a's failure: it has been open since the first scan
    assert series.oldest_open is not None
    assert (series.oldest_open.control_id, series.oldest_open.since, series.oldest_open.age_days) == (
        "C-CRIT",
        "2025-03-01T02:00:00Z",
        7.0,
    )
    text = sovscan("history", "--store", store_url, "--last", "2")
    assert text.exit_code == 0
    assert "test / t1 / baseline demo" in text.stdout
    assert "... 2 earlier scan(s)" in text.stdout
    assert "2025-03-08T02:00:00Z  1.2           50.0%" in text.stdout
    assert "oldest: C-CRIT on demo://t1.example/items/a, failing since 2025-03-01T02:00:00Z (7 day(s))" in text.stdout
    filtered = sovscan("history", "--store", store_url, "--target", "other", "--format", "json")
    assert json.loads(filtered.stdout)["series"] == []
    since = sovscan("history", "--store", store_url, "--since", "2025-03-04", "--format", "json")
    assert [p["run_id"] for p in json.loads(since.stdout)["series"][0]["scans"]] == ["scan-5", "scan-8"]


def test_old_schema_is_migrated(store_url: str) -> None:
    old = open_store(store_url, migrate=False)
    assert old.migrate(upto=1) == [1]
    # a scan recorded by a sovscan that knew only schema version 1
    with old.transaction() as cursor:
        sql = old.dialect.sql
        cursor.execute(
            sql(
                "INSERT INTO sovscan_scans (run_id, environment, started_at, finished_at, tool_version, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?)"
            ),
            ("old-run", "test", "2025-02-01T02:00:00Z", "2025-02-01T02:01:00Z", "0.0.9", "2025-02-01T02:01:00Z"),
        )
        cursor.execute(sql("SELECT id FROM sovscan_scans WHERE run_id = ?"), ("old-run",))
        scan_id = cursor.fetchone()[0]
        cursor.execute(
            sql(
                "INSERT INTO sovscan_scan_targets (scan_id, target_id, kind, uri, error, collected_at, duration) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)"
            ),
            (scan_id, "t1", "demo", "demo://t1.example", None, "2025-02-01T02:00:00Z", 1.0),
        )
        cursor.executemany(
            sql(
                "INSERT INTO sovscan_findings (scan_id, target_id, fingerprint, control_id, baseline, severity, "
                "resource_uri, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            [
                (scan_id, "t1", f.fingerprint, f.control_id, "demo", "critical", f.resource.uri, f.status.value)
                for f in (A_FAIL, B_PASS)
            ],
        )
    assert old.schema_version() == 1

    migrated = open_store(store_url)
    assert migrated.schema_version() == LATEST
    with migrated.transaction() as cursor:
        cursor.execute(migrated.dialect.sql("SELECT version FROM sovscan_schema_version ORDER BY version"))
        assert [int(r[0]) for r in cursor.fetchall()] == list(range(1, LATEST + 1))
        cursor.execute(migrated.dialect.sql("SELECT target_key FROM sovscan_scans WHERE run_id = ?"), ("old-run",))
        assert cursor.fetchone()[0] == "t1"  # backfilled by the data migration
    # the old scan is found by --compare last and compared by status (its observed values were never stored)
    previous = migrated.last_scan(scan(2, A_FAIL, B_PASS))
    assert previous is not None and previous.result.run_id == "old-run" and previous.observed is False
    compared = compare(scan(2, A_FAIL, B_PASS), previous)
    assert {f.baseline_state for f in compared.findings} == {BaselineState.UNCHANGED}
    migrated.record(scan(2, A_FAIL, B_PASS))
    [series] = migrated.history()
    assert [p.run_id for p in series.points] == ["old-run", "scan-2"]
    assert migrated.migrate() == []  # nothing left to apply


def test_store_newer_than_sovscan_is_refused(sovscan: Invoke, store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url)
    with store.transaction() as cursor:
        cursor.execute(
            store.dialect.sql("INSERT INTO sovscan_schema_version (version, description, applied_at) VALUES (?, ?, ?)"),
            (LATEST + 7, "from the future", "2030-01-01T00:00:00Z"),
        )
    with pytest.raises(StoreError, match=f"schema version {LATEST + 7}, newer than this sovscan"):
        open_store(store_url)
    outcome = sovscan("report", "--from", save(scan(1), tmp_path / "r.json"), "--store", store_url)
    assert outcome.exit_code == 2 and "newer than this sovscan" in outcome.stderr


def test_two_threads_record_concurrently(store_url: str) -> None:
    """Both threads open (and so migrate) a fresh store at the same moment, then record at once.

    SQLite is cheap to start afresh, so its race is run for several rounds, each on a new file.
    """
    urls = [f"{store_url}.{n}" for n in range(40)] if store_url.startswith("sqlite:") else [store_url]
    for url in urls:
        barrier = threading.Barrier(2, timeout=60)
        errors: list[BaseException] = []

        def work(
            n: int, url: str = url, barrier: threading.Barrier = barrier, errors: list[BaseException] = errors
        ) -> None:
            try:
                barrier.wait()
                store = open_store(url)
                barrier.wait()
                assert store.record(scan(n, A_FAIL, B_PASS, finding("C-MED", f"only-{n}", Status.FAIL))) is True
            except BaseException as exc:  # reported below: a thread's assertion would otherwise vanish
                errors.append(exc)
                barrier.abort()  # do not leave the other thread waiting

        threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, (url, errors)
        [series] = open_store(url).history()
        assert [(p.run_id, sum(p.counts.values())) for p in series.points] == [("scan-1", 3), ("scan-2", 3)]
        assert open_store(url).schema_version() == LATEST


def test_two_processes_record_into_postgresql(pg_url: str, tmp_path: Path) -> None:
    """Two real `sovscan report --store` processes started together; neither scan is lost."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def command(n: int) -> list[str]:
        source = save(scan(n, A_FAIL, B_PASS, run_id=f"proc-{n}"), tmp_path / f"r{n}.json")
        out = tmp_path / f"out{n}.json"
        cli = [sys.executable, "-c", "from scanner.cli import main; main()"]
        return [*cli, "report", "--from", str(source), "--store", pg_url, "--fail-on", "none", "-f", f"json={out}"]

    processes = [
        subprocess.Popen(command(n), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for n in (1, 2)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    [series] = open_store(pg_url).history()
    assert sorted(p.run_id for p in series.points) == ["proc-1", "proc-2"]


def test_store_urls(sovscan: Invoke, tmp_path: Path, isolated_data_home: Path) -> None:
    assert default_path() == isolated_data_home / "sovscan" / "history.sqlite3"
    outcome = sovscan("report", "--from", save(scan(1, A_FAIL), tmp_path / "r.json"), "--store", "default")
    assert outcome.exit_code == 1  # the gate; the scan is recorded all the same
    assert open_store("default").history()[0].points[0].run_id == "scan-1"
    absolute = tmp_path / "abs.db"  # sqlite:///tmp/.../abs.db: an absolute path after "sqlite://"
    assert open_store(f"sqlite://{absolute}").description == str(absolute) and absolute.is_file()
    relative = open_store("sqlite:rel.db", migrate=False)
    assert relative.description == "rel.db"
    for bad, message in (("ftp://x/y", "unsupported store"), ("sqlite:", "needs a file path")):
        outcome = sovscan("report", "--from", tmp_path / "r.json", "--store", bad)
        assert outcome.exit_code == 2 and message in outcome.stderr


def test_store_env_variable(sovscan: Invoke, tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path / 'env.db'}"
    outcome = sovscan("report", "--from", save(scan(1, B_PASS), tmp_path / "r.json"), env={"SOVSCAN_STORE": url})
    assert outcome.exit_code == 0
    assert open_store(url).history()[0].points[0].run_id == "scan-1"


def test_unreachable_postgresql_is_exit_2_without_the_password(sovscan: Invoke, tmp_path: Path) -> None:
    from tests.services.postgres import free_port

    url = f"postgresql://scanner:s3cret-pw@127.0.0.1:{free_port()}/history?connect_timeout=5"
    outcome = sovscan("report", "--from", save(scan(1), tmp_path / "r.json"), "--store", url)
    assert outcome.exit_code == 2
    assert "cannot open the history store postgresql://scanner@127.0.0.1" in outcome.stderr
    assert "s3cret-pw" not in outcome.stderr + outcome.stdout


def test_password_in_url_is_never_shown(pg_hardened: PgCluster, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    password = pg_hardened.password("postgres")
    monkeypatch.delenv("PGPASSWORD")
    with_password = pg_url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")
    store = open_store(with_password)
    store.record(scan(1, A_FAIL))
    previous = store.last_scan(scan(2, A_FAIL))
    assert previous is not None
    assert password not in store.description and password not in previous.description


def test_history_does_not_count_a_failure_as_resolved_when_its_control_was_not_evaluated(store_url: str) -> None:
    store = open_store(store_url)
    store.record(scan(1, A_FAIL, finding("C-MED", "c", Status.FAIL)))
    # C-MED is gone from scan 2 altogether (tailored out or removed from the baseline): nobody looked
    store.record(scan(2, A_FAIL, finding("C-MED", "target", Status.NOT_APPLICABLE)))
    [series] = store.history()
    assert [p.resolved for p in series.points] == [0, 0]
