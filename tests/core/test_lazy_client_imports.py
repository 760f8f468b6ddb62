"""A scan that names no live PostgreSQL, S3 or Keycloak target never loads their client libraries.

psycopg, minio and python-keycloak (with httpx and cryptography under it) cost every `sovscan` start
about 0.3 s and 30 MB when loaded eagerly; they are imported when a target of their kind is collected
(or a PostgreSQL history store opened). A fresh interpreter shows what a start really loads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLIENTS = ("psycopg", "minio", "keycloak")


def _loaded_after(code: str, cwd: Path) -> set[str]:
    listing = f"sorted(m for m in sys.modules if m.split('.')[0] in {CLIENTS!r})"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({listing}))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_start_and_plugin_discovery_load_no_client_library(tmp_path: Path) -> None:
    loaded = _loaded_after("from scanner.cli import cli\nfrom scanner.plugins import discover\ndiscover()", tmp_path)
    assert loaded == set()


def test_an_offline_scan_of_every_kind_loads_no_client_library(tmp_path: Path) -> None:
    """The README's demo: saved evidence of PostgreSQL, OpenBao, Kubernetes, Keycloak and S3 re-evaluated."""
    evidence = Path(__file__).resolve().parents[2] / "examples" / "evidence"
    out = tmp_path / "r.json"
    code = (
        "from scanner.cli import cli\n"
        "try:\n"
        f"    cli(['scan', '--no-progress', '--evidence', {str(evidence)!r}, '-f', 'json={out}'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 1, exc.code  # the demo's failures fail the gate\n"
    )
    assert _loaded_after(code, tmp_path) == set()
    kinds = {target["kind"] for target in json.loads(out.read_text())["targets"]}
    assert kinds == {"postgres", "openbao", "kubernetes", "keycloak", "s3"}


@pytest.mark.parametrize(
    ("code", "needed"),
    [
        ("from checks.postgres.plugin import PLUGIN\nPLUGIN.parse_target('host=db.example dbname=app')", "psycopg"),
        ("from scanner.store import _describe_pg\n_describe_pg('postgresql://u@h/db')", "psycopg"),
    ],
)
def test_the_library_is_loaded_where_it_is_needed(tmp_path: Path, code: str, needed: str) -> None:
    assert needed in {m.split(".")[0] for m in _loaded_after(code, tmp_path)}
