"""The history store: every scan recorded in SQLite (default) or a shared PostgreSQL.

`--store URL` takes:

- `default`: an SQLite file in the user's data directory
  (`platformdirs.user_data_path("sovscan") / "history.sqlite3"`, e.g.
  `~/.local/share/sovscan/history.sqlite3`; `$XDG_DATA_HOME` is honoured);
- `sqlite:PATH`: an SQLite file at PATH (`sqlite:history.db`, `sqlite:///var/lib/sovscan/h.db`);
- `postgresql://USER@HOST:PORT/DB?sslmode=...` (or `postgres://`): a PostgreSQL database shared by
  many scanners. Give the password through `PGPASSWORD` or `~/.pgpass` rather than the URL; it is
  never printed either way.

A scan is recorded with its targets (and collection timings), baseline versions, each finding's
control, resource, fingerprint, severity and status, and the complete native result (used by
`--compare last`). Recording is one transaction per scan and is idempotent per run id. Every
operation opens its own connection, so a store can be shared by threads and processes; the
schema is migrated on open (see `scanner.store.migrations`).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from scanner import resultio
from scanner.compare import Previous
from scanner.credentials import mask_credentials, secrets_in_text
from scanner.errors import ConfigError, SovscanError
from scanner.evidence import redact
from scanner.model import Finding, Resource, ScanResult, Status
from scanner.store import migrations
from scanner.store.history import HistoryRow, Series, build_series
from scanner.store.migrations import POSTGRESQL, SQLITE, Dialect, target_key

__all__ = ["DEFAULT", "HistoryRow", "Series", "Store", "StoreError", "default_path", "open_store"]

DEFAULT = "default"
"""The `--store` value naming the embedded SQLite store in the user's data directory."""

_ADVISORY_LOCK = 0x50765C41
"""PostgreSQL advisory lock key held while migrating (an arbitrary constant: 'sovscan')."""


def _create_private(path: Path) -> None:
    """Create the SQLite file 0600 (in a 0700 directory when sovscan creates it) before SQLite opens it.

    The history holds every finding of every scan (the weaknesses of each system): readable by its
    owner only, like saved evidence. SQLite gives its -wal and -shm files the database's mode.
    """
    if str(path) in ("", ":memory:") or path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # created meanwhile by a concurrent sovscan
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))


class StoreError(SovscanError):
    """The history store could not be opened, migrated, read or written."""


def default_path() -> Path:
    """The default SQLite store file in the user's data directory."""
    return platformdirs.user_data_path("sovscan", appauthor=False) / "history.sqlite3"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Store:
    """A history store (SQLite file or PostgreSQL database)."""

    def __init__(self, dialect: Dialect, target: str, description: str) -> None:
        self.dialect = dialect
        self._target = target
        self._secrets = secrets_in_text(target)
        self.description = description
        """Where the store is, without credentials (safe to print)."""

    def _reason(self, exc: BaseException) -> str:
        """The first line of a driver error, with any password of the store URL redacted."""
        return str(redact(_reason(exc), self._secrets))

    # -- connections --------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            if self.dialect is SQLITE:
                _create_private(Path(self._target))
                conn = sqlite3.connect(self._target, timeout=60, isolation_level=None)
                conn.execute("PRAGMA busy_timeout = 60000")
                _wal(conn)
                conn.execute("PRAGMA foreign_keys = ON")
                return conn
            import psycopg  # loaded only for a PostgreSQL store: it costs every scan 0.2 s of start-up

            return psycopg.connect(self._target, autocommit=True, connect_timeout=15, application_name="sovscan")
        except _database_errors(OSError) as exc:
            raise StoreError(f"cannot open the history store {self.description}: {self._reason(exc)}") from None

    @contextlib.contextmanager
    def transaction(self, *, lock: bool = False) -> Iterator[Any]:
        """A cursor inside one transaction (committed on success); `lock` serialises migrations."""
        conn = self._connect()
        try:
            if self.dialect is SQLITE:
                cursor = conn.cursor()
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield cursor
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            else:
                with conn.transaction(), conn.cursor() as cursor:
                    if lock:
                        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK,))
                    yield cursor
        except _database_errors() as exc:
            raise StoreError(f"history store {self.description}: {self._reason(exc)}") from None
        finally:
            conn.close()

    def migrate(self, upto: int = migrations.LATEST) -> list[int]:
        """Bring the schema up to date (or up to `upto`, for tests); return the versions applied."""
        try:
            with self.transaction(lock=True) as cursor:
                return migrations.apply(cursor, self.dialect, _now(), upto)
        except migrations.SchemaTooNew as exc:
            raise StoreError(f"history store {self.description}: {exc}") from None

    def schema_version(self) -> int:
        """The schema version of the store."""
        with self.transaction() as cursor:
            return migrations.current_version(cursor, self.dialect)

    # -- recording ----------------------------------------------------------------------

    def record(self, result: ScanResult) -> bool:
        """Record a scan in one transaction; False when this run id was recorded already."""
        sql = self.dialect.sql
        run_id = result.run_id or f"unnamed-{uuid.uuid4()}"
        targets = [t.id for t in result.targets] or sorted({f.resource.target for f in result.findings})
        document = gzip.compress(resultio.dumps(result).encode("utf-8"))
        with self.transaction() as cursor:
            cursor.execute(
                sql(
                    "INSERT INTO sovscan_scans (run_id, environment, target_key, started_at, finished_at, "
                    "tool_version, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (run_id) DO NOTHING RETURNING id"
                ),
                (
                    run_id,
                    result.environment,
                    target_key(targets),
                    result.started_at,
                    result.finished_at,
                    result.tool_version,
                    _now(),
                ),
            )
            row = cursor.fetchone()
            if row is None:
                return False
            scan_id = int(row[0])
            summaries = {t.id: t for t in result.targets}
            cursor.executemany(
                sql(
                    "INSERT INTO sovscan_scan_targets (scan_id, target_id, kind, uri, error, collected_at, duration) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                [
                    (
                        scan_id,
                        tid,
                        summaries[tid].kind if tid in summaries else "",
                        summaries[tid].uri if tid in summaries else "",
                        summaries[tid].error if tid in summaries else None,
                        summaries[tid].collected_at if tid in summaries else "",
                        float(summaries[tid].duration) if tid in summaries else 0.0,
                    )
                    for tid in dict.fromkeys(targets)
                ],
            )
            if result.baselines:
                cursor.executemany(
                    sql("INSERT INTO sovscan_scan_baselines (scan_id, name, version) VALUES (?, ?, ?)"),
                    [(scan_id, name, version) for name, version in sorted(result.baselines.items())],
                )
            rows: dict[tuple[str, str], tuple[Any, ...]] = {}
            for f in result.findings:
                control = result.controls.get(f.control_id)
                rows.setdefault(
                    (f.resource.target, f.fingerprint),
                    (
                        scan_id,
                        f.resource.target,
                        f.fingerprint,
                        f.control_id,
                        control.baseline if control is not None else "",
                        control.severity.value if control is not None else "",
                        f.resource.uri,
                        f.status.value,
                    ),
                )
            if rows:
                cursor.executemany(
                    sql(
                        "INSERT INTO sovscan_findings (scan_id, target_id, fingerprint, control_id, baseline, "
                        "severity, resource_uri, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    ),
                    list(rows.values()),
                )
            cursor.execute(
                sql("INSERT INTO sovscan_scan_documents (scan_id, format_version, document) VALUES (?, ?, ?)"),
                (scan_id, resultio.FORMAT_VERSION, document),
            )
        return True

    # -- reading ------------------------------------------------------------------------

    def last_scan(self, current: ScanResult) -> Previous | None:
        """The last recorded scan of the same set of targets and environment, before `current`."""
        sql = self.dialect.sql
        targets = [t.id for t in current.targets] or sorted({f.resource.target for f in current.findings})
        with self.transaction() as cursor:
            cursor.execute(
                sql(
                    "SELECT s.id, s.run_id, s.started_at, d.document FROM sovscan_scans s "
                    "LEFT JOIN sovscan_scan_documents d ON d.scan_id = s.id "
                    "WHERE s.environment = ? AND s.target_key = ? AND s.run_id <> ? AND s.started_at <= ? "
                    "ORDER BY s.started_at DESC, s.id DESC LIMIT 1"
                ),
                (current.environment, target_key(targets), current.run_id, current.started_at),
            )
            row = cursor.fetchone()
            if row is None:
                return None
            scan_id, run_id, started_at = int(row[0]), str(row[1]), str(row[2])
            description = f"the last stored scan of these targets (run {run_id}, started {started_at})"
            if row[3] is not None:
                result = resultio.from_dict(json.loads(gzip.decompress(bytes(row[3])).decode("utf-8")))
                return Previous(result, description)
            cursor.execute(
                sql(
                    "SELECT target_id, control_id, resource_uri, status FROM sovscan_findings "
                    "WHERE scan_id = ? ORDER BY target_id, control_id, resource_uri"
                ),
                (scan_id,),
            )
            findings = tuple(
                Finding(
                    control_id=str(control_id),
                    resource=Resource(target=str(tid), kind="", name=str(uri).rsplit("/", 1)[-1], uri=str(uri)),
                    status=Status(str(status)),
                    message="(recorded before sovscan stored complete results)",
                )
                for tid, control_id, uri, status in cursor.fetchall()
            )
        previous = ScanResult(
            tool_version="",
            started_at=started_at,
            finished_at="",
            controls={},
            findings=findings,
            targets=(),
            environment=current.environment,
            run_id=run_id,
        )
        return Previous(previous, description, observed=False)

    def history(
        self,
        *,
        environment: str | None = None,
        targets: Sequence[str] = (),
        baselines: Sequence[str] = (),
        since: str | None = None,
    ) -> list[Series]:
        """The trend per (environment, target, baseline): one row per recorded scan, oldest first."""
        sql = self.dialect.sql
        where: list[str] = []
        params: list[Any] = []
        if environment is not None:
            where.append("s.environment = ?")
            params.append(environment)
        if targets:
            where.append("f.target_id IN (" + ", ".join("?" for _ in targets) + ")")
            params.extend(targets)
        if baselines:
            where.append("f.baseline IN (" + ", ".join("?" for _ in baselines) + ")")
            params.extend(baselines)
        if since is not None:
            where.append("s.started_at >= ?")
            params.append(since)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self.transaction() as cursor:
            cursor.execute(
                sql(
                    "SELECT s.id, s.run_id, s.environment, s.started_at, f.target_id, f.baseline, f.control_id, "
                    "f.fingerprint, f.resource_uri, f.status FROM sovscan_findings f "
                    "JOIN sovscan_scans s ON s.id = f.scan_id" + clause + " ORDER BY s.started_at, s.id"
                ),
                params,
            )
            rows = [_history_row(r) for r in cursor.fetchall()]
            cursor.execute(sql("SELECT scan_id, name, version FROM sovscan_scan_baselines"))
            versions: dict[tuple[int, str], str] = {(int(a), str(b)): str(c) for a, b, c in cursor.fetchall()}
        return build_series(rows, versions)


def _wal(conn: sqlite3.Connection, wait: float = 60.0) -> None:
    """Switch an SQLite file to WAL (persistent; readers do not block the writer).

    Changing the journal mode can fail with "database is locked" at once, without waiting for the
    busy timeout, when another process is creating the same file: retry for up to `wait` seconds.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _history_row(r: Sequence[Any]) -> HistoryRow:
    return HistoryRow(
        scan_id=int(r[0]),
        run_id=str(r[1]),
        environment=str(r[2]),
        started_at=str(r[3]),
        target=str(r[4]),
        baseline=str(r[5]),
        control_id=str(r[6]),
        fingerprint=str(r[7]),
        resource_uri=str(r[8]),
        status=Status(str(r[9])),
    )


def _database_errors(*more: type[Exception]) -> tuple[type[Exception], ...]:
    """sqlite3's error class, psycopg's once psycopg is loaded (nothing raises one before that), and `more`."""
    psycopg = sys.modules.get("psycopg")
    found: tuple[type[Exception], ...] = (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)
    return found + more


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _describe_pg(url: str) -> str:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:  # libpq quotes the URL (or a piece of it) in its message
        detail = mask_credentials(str(redact(_reason(exc), secrets_in_text(url))))
        raise ConfigError(f"--store: invalid PostgreSQL URL: {detail}") from None
    user = f"{info['user']}@" if info.get("user") else ""
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{info.get('host', '')}{port}/{info.get('dbname', '')}"


def open_store(value: str, *, migrate: bool = True) -> Store:
    """Open (and migrate) the store named by a `--store` value; see the module docstring."""
    if value == DEFAULT:
        path = default_path()
        store = Store(SQLITE, str(path), str(path))
    elif value.startswith("sqlite:"):
        rest = value[len("sqlite:") :]
        rest = rest[2:] if rest.startswith("//") else rest
        if not rest:
            raise ConfigError("--store sqlite: needs a file path, e.g. sqlite:history.db")
        store = Store(SQLITE, rest, rest)
    elif value.startswith(("postgresql://", "postgres://")):
        store = Store(POSTGRESQL, value, _describe_pg(value))
    else:
        raise ConfigError(
            f"--store: unsupported store '{mask_credentials(value)}': use 'default', sqlite:PATH or "
            "postgresql://USER@HOST/DB"
        )
    if migrate:
        store.migrate()
    return store
