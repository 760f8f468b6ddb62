"""Outputs never replace what they should not; each report of one scan carries its run id."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.core.conftest import DATA

GOOD = f"demo={DATA / 'facts-good.json'}"


@pytest.fixture(autouse=True)
def _dev_null_survives() -> Any:
    """These tests write to the real /dev/null: if a regression replaces it, put the device back.

    A /dev/null turned into a regular file breaks every later subprocess on the machine (initdb
    among them), so the test that did it fails here and the device is restored before anything else
    runs.
    """
    before = os.stat("/dev/null")
    yield
    after = os.lstat("/dev/null")
    if not (stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev):
        os.unlink("/dev/null")
        os.mknod("/dev/null", 0o666 | stat.S_IFCHR, before.st_rdev)
        os.chmod("/dev/null", 0o666)  # noqa: S103 - the device is world-writable by definition
        pytest.fail("/dev/null was replaced by a regular file (restored)")


def test_a_character_device_is_written_as_a_stream_not_replaced(run: Any) -> None:
    before = os.stat("/dev/null")
    result = run("scan", "--target", GOOD, "-f", "json=/dev/null", "-f", "sarif=/dev/null")
    assert result.exit_code == 0, result.output
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_a_fifo_is_written_as_a_stream(run: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[str] = []

    def read() -> None:
        with fifo.open(encoding="utf-8") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read)
    reader.start()
    result = run("scan", "--target", GOOD, "-f", f"json={fifo}")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(received[0])["format"] == "sovscan-result"


def test_a_symlink_is_refused_before_the_scan(run: Any, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    result = run("scan", "--target", GOOD, "-f", f"json={link}")
    assert result.exit_code == 2
    assert f"sovscan: error: {link}: cannot write the report here: is a symbolic link" in result.stderr
    assert link.is_symlink() and victim.read_text() == "keep me\n"


def test_a_symlink_to_a_character_device_is_a_stream(run: Any, tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to("/dev/null")  # like /dev/stdout -> /proc/self/fd/1
    result = run("scan", "--target", GOOD, "-f", f"json={link}")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == "/dev/null"


def test_a_dangling_symlink_is_refused_too(run: Any, tmp_path: Path) -> None:
    link = tmp_path / "report.json"
    link.symlink_to(tmp_path / "nowhere" / "x.json")
    result = run("scan", "--target", GOOD, "-f", f"sarif={link}")
    assert result.exit_code == 2 and "is a symbolic link" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_a_socket_is_not_replaced(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        result = run("scan", "--target", GOOD, "-f", f"json={path}")
    finally:
        server.close()
    assert result.exit_code == 2
    assert "is not a regular file, a character device or a FIFO" in result.stderr
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_a_symlink_planted_after_the_check_is_still_refused(tmp_path: Path) -> None:
    from scanner.errors import ConfigError
    from scanner.fileio import write_output

    link = tmp_path / "r.json"
    link.symlink_to(tmp_path / "victim")
    with pytest.raises(ConfigError, match="symbolic link"):
        write_output(link, "{}")
    assert not (tmp_path / "victim").exists()


def test_every_report_of_one_scan_carries_its_run_id(run: Any, tmp_path: Path) -> None:
    paths = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "sarif", "junit", "wazuh", "console")}
    args = ["scan", "--target", f"demo={DATA / 'facts-bad.json'}"]
    for fmt, path in paths.items():
        args += ["-f", f"{fmt}={path}"]
    assert run(*args).exit_code == 1
    run_id = json.loads(paths["json"].read_text())["run"]["id"]
    assert len(run_id) == 36
    sarif = json.loads(paths["sarif"].read_text())
    assert sarif["runs"][0]["properties"]["runId"] == run_id
    suites = ET.parse(paths["junit"]).getroot()  # noqa: S314 (our own output)
    assert {p.get("value") for p in suites.iter("property") if p.get("name") == "run_id"} == {run_id}
    events = [json.loads(line)["sovscan"] for line in paths["wazuh"].read_text().splitlines()]
    assert {e["scan"]["run_id"] for e in events} == {run_id}
    assert f"run {run_id}" in paths["console"].read_text()


def test_the_history_database_is_created_private(run: Any, tmp_path: Path) -> None:
    database = tmp_path / "history" / "sovscan.db"
    result = run("scan", "--target", GOOD, "--store", f"sqlite:{database}", "-f", "json=/dev/null")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(database.parent).st_mode) == 0o700
