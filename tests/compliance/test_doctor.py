"""`sovscan doctor` against the real servers of the test suite: what it says is unreadable is, and applying
the grants it prints to an unprivileged account makes the next scan free of permission ERRORs."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.services.keycloak import KeycloakServer
from tests.services.minio import MinioServer
from tests.services.openbao import BaoServer
from tests.services.postgres import APPDB, NOBODY, PgCluster

SOVSCAN = Path(sys.executable).parent / "sovscan"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "BAO_", "VAULT_", "AWS_", "MINIO_"))}
    base["PGPASSFILE"] = "/nonexistent/pgpass"
    return subprocess.run([str(SOVSCAN), *args], capture_output=True, text=True, env={**base, **(env or {})},
                          timeout=180, check=False)  # fmt: skip


def pg_inventory(tmp_path: Path, pg: PgCluster, user: str) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\nenvironment: test\ntargets:\n"
        f"  - id: pg\n    kind: postgres\n    url: {pg.url(user)}\n    credentials: {{password: env:PW}}\n"
        f"    options: {{databases: [postgres, {APPDB}]}}\n"
    )
    return path


def findings(path: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(path.read_text())["findings"]
    return found


def test_postgres_grants_make_the_next_scan_free_of_permission_errors(pg_hardened: PgCluster, tmp_path: Path) -> None:
    inventory = pg_inventory(tmp_path, pg_hardened, NOBODY)
    env = {"PW": pg_hardened.password(NOBODY)}
    before = run("doctor", "--inventory", str(inventory), "--format", "json", env=env)
    assert before.returncode == 3, before.stdout + before.stderr
    (report,) = json.loads(before.stdout)
    assert report["unreadable_sections"] and report["error_controls"]
    grants = report["least_privilege"]
    assert "GRANT pg_monitor TO sovscan" in grants
    # the scan agrees with doctor about which controls are ERROR with these credentials
    scan = run("scan", "--no-progress", "--inventory", str(inventory), "-f", f"json={tmp_path / 'before.json'}",
               "--fail-on", "none", env=env)  # fmt: skip
    assert scan.returncode == 3
    erroring = {f["control_id"] for f in findings(tmp_path / "before.json") if f["status"] == "ERROR"}
    assert erroring == set(report["error_controls"])
    # apply the printed grants to the unprivileged account (it exists already: skip CREATE ROLE); the
    # cluster is shared by the session, so every grant is taken back at the end
    applied: list[str] = []
    try:
        for statement in grants.splitlines():
            statement = statement.split("--", 1)[0].strip()
            if statement and not statement.upper().startswith("CREATE ROLE"):
                statement = re.sub(r"\bsovscan\b", NOBODY, statement)
                pg_hardened.execute(statement)
                applied.append(statement)
        check_after_grants(pg_hardened, inventory, env, grants, report, before, tmp_path)
    finally:
        for statement in reversed(applied):
            pg_hardened.execute(undo(statement))
    assert pg_hardened.execute(f"SELECT pg_has_role('{NOBODY}', 'pg_monitor', 'member')") == [(False,)]


def undo(statement: str) -> str:
    """The statement that takes a GRANT or an ALTER ROLE ... SET back."""
    grant = re.fullmatch(r"GRANT (.+) TO (\S+);", statement)
    if grant:
        return f"REVOKE {grant.group(1)} FROM {grant.group(2)};"
    setting = re.fullmatch(r"ALTER ROLE (\S+) SET (\w+) = .+;", statement)
    assert setting, statement
    return f"ALTER ROLE {setting.group(1)} RESET {setting.group(2)};"


def check_after_grants(
    pg_hardened: PgCluster,
    inventory: Path,
    env: dict[str, str],
    grants: str,
    report: dict[str, Any],
    before: subprocess.CompletedProcess[str],
    tmp_path: Path,
) -> None:
    after = run("doctor", "--inventory", str(inventory), "--format", "json", env=env)
    (fixed,) = json.loads(after.stdout)
    scan = run("scan", "--no-progress", "--inventory", str(inventory), "-f", f"json={tmp_path / 'after.json'}",
               "--fail-on", "none", env=env)  # fmt: skip
    errors = [f for f in findings(tmp_path / "after.json") if f["status"] == "ERROR"]
    # what is left is what the grants themselves say no grant can give: the password hashes (pg_authid) that
    # only a superuser may read, which PG-05 reports as ERROR, naming the reason
    assert "password_hashes: only a superuser may read pg_authid" in grants
    assert {f["control_id"] for f in errors} <= {"PG-05"}, [(f["control_id"], f["message"]) for f in errors]
    assert all("password hash" in f["message"] for f in errors), errors
    assert not set(fixed["unreadable_sections"]) - {"password_hashes"}
    assert set(fixed["error_controls"]) == {f["control_id"] for f in errors}
    assert len(fixed["read_sections"]) > len(report["read_sections"])
    assert pg_hardened.password(NOBODY) not in before.stdout + after.stdout + scan.stdout + scan.stderr


def test_openbao_policy_makes_the_next_scan_free_of_permission_errors(bao_dev: BaoServer, tmp_path: Path) -> None:
    nobody = bao_dev.create_token(["default"], display_name="doctor-nobody")
    target = f"openbao={bao_dev.url}"
    before = run("doctor", "--target", target, "--format", "json", env={"BAO_TOKEN": nobody})
    assert before.returncode == 3, before.stdout + before.stderr
    (report,) = json.loads(before.stdout)
    assert report["unreadable_sections"] and report["error_controls"]
    policy = report["least_privilege"]
    assert 'path "sys/' in policy
    # apply: the printed HCL becomes a policy, given to a token that otherwise has only `default`; the dev
    # server is shared by the session, so the policy and the tokens are removed at the end
    bao_dev.api("PUT", "sys/policies/acl/sovscan-doctor", {"policy": policy})
    granted = bao_dev.create_token(["default", "sovscan-doctor"], display_name="doctor-granted")
    try:
        after = run("doctor", "--target", target, "--format", "json", env={"BAO_TOKEN": granted})
        (fixed,) = json.loads(after.stdout)
        scan = run("scan", "--no-progress", "--target", target, "-f", f"json={tmp_path / 'after.json'}",
                   "--fail-on", "none", env={"BAO_TOKEN": granted})  # fmt: skip
        errors = [(f["control_id"], f["message"]) for f in findings(tmp_path / "after.json") if f["status"] == "ERROR"]
        assert errors == [], errors
        assert fixed["error_controls"] == {} and after.returncode == 0, after.stdout
        assert not set(fixed["needed_sections"]) & set(fixed["unreadable_sections"])
        for secret in (nobody, granted):
            assert secret not in before.stdout + after.stdout + scan.stdout + scan.stderr
    finally:
        for token in (nobody, granted):
            bao_dev.api("POST", "auth/token/revoke", {"token": token})
        bao_dev.api("DELETE", "sys/policies/acl/sovscan-doctor")


def test_minio_policy_makes_the_next_scan_free_of_permission_errors(minio_weak: MinioServer, tmp_path: Path) -> None:
    admin = minio_weak.admin()
    user, secret = "doctor-nobody", "doctor-" + secrets.token_urlsafe(18)
    admin.user_add(user, secret)  # no policy: MinIO denies it everything
    env = {"AWS_ACCESS_KEY_ID": user, "AWS_SECRET_ACCESS_KEY": secret}
    target = f"s3={minio_weak.url}"
    try:
        before = run("doctor", "--target", target, "--format", "json", env=env)
        assert before.returncode == 3, before.stdout + before.stderr
        (report,) = json.loads(before.stdout)
        # without any policy even the bucket list is refused: the whole target is unreadable
        assert report["target_error"] and "permission denied" in report["target_error"] and report["error_controls"]
        policy = json.loads(report["least_privilege"])
        # apply: the printed policy JSON, attached to the user
        admin.policy_add("sovscan-doctor", policy=policy)
        admin.attach_policy(["sovscan-doctor"], user=user)
        after = run("doctor", "--target", target, "--format", "json", env=env)
        (fixed,) = json.loads(after.stdout)
        scan = run("scan", "--no-progress", "--target", target, "-f", f"json={tmp_path / 'after.json'}",
                   "--fail-on", "none", env=env)  # fmt: skip
        errors = [(f["control_id"], f["message"]) for f in findings(tmp_path / "after.json") if f["status"] == "ERROR"]
        assert [e for e in errors if "permission denied" in e[1] or "AccessDenied" in e[1]] == [], errors
        assert not set(fixed["needed_sections"]) & {
            s for s, reason in fixed["unreadable_sections"].items() if "permission denied" in reason
        }, fixed["unreadable_sections"]
        assert secret not in before.stdout + after.stdout + scan.stdout + scan.stderr
    finally:
        with contextlib.suppress(Exception):
            admin.detach_policy(["sovscan-doctor"], user=user)
        admin.user_remove(user)
        with contextlib.suppress(Exception):
            admin.policy_remove("sovscan-doctor")


def test_keycloak_roles_make_the_next_scan_free_of_permission_errors(
    keycloak_server: KeycloakServer, tmp_path: Path
) -> None:
    client_id, secret = "sovscan-doctor", "doctor-" + secrets.token_urlsafe(18)
    keycloak_server.admin(
        "POST",
        "/admin/realms/master/clients",
        {"clientId": client_id, "secret": secret, "publicClient": False, "serviceAccountsEnabled": True,
         "standardFlowEnabled": False, "directAccessGrantsEnabled": False},
    )  # fmt: skip
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        "apiVersion: sovscan/v1\nkind: Inventory\ntargets:\n"
        f"  - id: sso\n    kind: keycloak\n    url: {keycloak_server.https_url}\n"
        f"    options: {{client_id: {client_id}, ca_cert: {keycloak_server.ca}, realms: [hardened]}}\n"
        "    credentials: {client_secret: env:KC_SECRET}\n"
    )
    env = {"KC_SECRET": secret}
    config = tmp_path / "kcadm.config"
    kcadm = [str(keycloak_server.home / "bin" / "kcadm.sh")]
    try:
        before = run("doctor", "--inventory", str(inventory), "--format", "json", env=env)
        assert before.returncode == 3, before.stdout + before.stderr
        (report,) = json.loads(before.stdout)
        assert (report["target_error"] or report["unreadable_sections"]) and report["error_controls"]
        grants = report["least_privilege"]
        # apply: run the printed kcadm.sh commands as the admin (the client exists already: skip its creation)
        login = [*kcadm, "config", "credentials", "--server", keycloak_server.url, "--realm", "master",
                 "--user", keycloak_server.admin_user, "--password", keycloak_server.admin_password,
                 "--config", str(config)]  # fmt: skip
        subprocess.run(login, env=keycloak_server.env(), check=True, capture_output=True, timeout=300)
        commands = [line.split() for line in grants.splitlines() if line.startswith("kcadm.sh add-roles")]
        assert commands
        for command in commands:
            subprocess.run([*kcadm, *command[1:], "--config", str(config)], env=keycloak_server.env(), check=True,
                           capture_output=True, timeout=300)  # fmt: skip
        after = run("doctor", "--inventory", str(inventory), "--format", "json", env=env)
        (fixed,) = json.loads(after.stdout)
        scan = run("scan", "--no-progress", "--inventory", str(inventory), "-f", f"json={tmp_path / 'after.json'}",
                   "--fail-on", "none", env=env)  # fmt: skip
        denied = [
            (f["control_id"], f["message"])
            for f in findings(tmp_path / "after.json")
            if f["status"] == "ERROR" and ("permission denied" in f["message"] or "403" in f["message"])
        ]
        assert denied == [], denied
        assert fixed["target_error"] is None
        assert not set(fixed["needed_sections"]) & {
            s for s, reason in fixed["unreadable_sections"].items() if "permission denied" in reason
        }, fixed["unreadable_sections"]
        assert secret not in before.stdout + after.stdout + scan.stdout + scan.stderr
    finally:
        found = keycloak_server.admin("GET", f"/admin/realms/master/clients?clientId={client_id}")
        for client in found or []:
            keycloak_server.admin("DELETE", f"/admin/realms/master/clients/{client['id']}")
