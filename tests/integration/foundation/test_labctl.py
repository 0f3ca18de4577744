"""labctl keeps its promises: idempotent up, truthful status, clean down, clear errors."""
import os
import signal
import socket
import subprocess
from pathlib import Path

import psycopg2
import pytest
import redis

from tests.conftest import LABCTL, free_port_offset


def labctl(*args, env=None):
    return subprocess.run([str(LABCTL), *args], capture_output=True, text=True, env=env, check=False)


def test_up_twice_is_harmless_and_status_is_healthy(lab):
    again = labctl("up")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    status = labctl("status")
    assert status.returncode == 0, status.stdout
    assert "postgres" in status.stdout and "redis" in status.stdout


def test_env_exports_connection_values_that_work(lab):
    conn = psycopg2.connect(host=lab["PGHOST"], port=lab["PGPORT"], user=lab["PGUSER"],
                            password=lab["PGPASSWORD"], dbname=lab["PGDATABASE"])
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM anomalies")
        assert cur.fetchone()[0] >= 100
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        assert cur.fetchone()[0] == 6
    conn.close()
    assert redis.Redis.from_url(lab["REDIS_URL"]).ping() is True
    exported = labctl("env").stdout
    assert "export PGPORT=" in exported and "export REDIS_URL=" in exported


def test_services_listen_on_loopback_only(lab):
    for port in (int(lab["PGPORT"]), int(lab["REDIS_PORT"])):
        out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            pytest.skip("ss not available")
        assert out.stdout.strip(), f"nothing listens on {port}"
        for line in out.stdout.splitlines():
            assert "127.0.0.1:" in line, line


def test_unknown_command_fails_clearly():
    res = labctl("frobnicate")
    assert res.returncode == 2
    assert "unknown command 'frobnicate'" in res.stderr
    assert "up" in res.stderr


@pytest.fixture
def scratch_lab(scratch_dir):
    """A second, throwaway lab on other ports, so down/up can be tested without disturbing the shared one."""
    offset = free_port_offset(700)
    env = dict(os.environ, LAB_STATE_DIR=str(scratch_dir), LAB_PORT_OFFSET=str(offset))
    yield env
    labctl("down", env=env)


def _lab_pids(state_dir: Path):
    pids = []
    pg = state_dir / "postgres" / "data" / "postmaster.pid"
    if pg.exists():
        pids.append(int(pg.read_text().split()[0]))
    rd = state_dir / "redis" / "pid"
    if rd.exists():
        pids.append(int(rd.read_text().split()[0]))
    return pids


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]


def test_down_leaves_nothing_running_and_up_after_down_works(scratch_lab):
    state = Path(scratch_lab["LAB_STATE_DIR"])
    assert labctl("up", env=scratch_lab).returncode == 0
    pids = _lab_pids(state)
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    down = labctl("down", env=scratch_lab)
    assert down.returncode == 0, down.stderr
    assert not any(_alive(p) for p in pids)
    assert labctl("status", env=scratch_lab).returncode == 1
    up = labctl("up", env=scratch_lab)
    assert up.returncode == 0, up.stderr
    assert labctl("status", env=scratch_lab).returncode == 0


def test_taken_port_fails_clearly_and_starts_nothing(scratch_lab):
    state = Path(scratch_lab["LAB_STATE_DIR"])
    redis_port = 56379 + int(scratch_lab["LAB_PORT_OFFSET"])
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", redis_port))
    blocker.listen(1)
    try:
        res = labctl("up", env=scratch_lab)
    finally:
        blocker.close()
    assert res.returncode == 1
    assert f"port {redis_port}" in res.stderr and "redis" in res.stderr
    assert "nothing was started" in res.stderr
    assert _lab_pids(state) == []


def test_status_reports_a_dead_service(scratch_lab):
    state = Path(scratch_lab["LAB_STATE_DIR"])
    assert labctl("up", env=scratch_lab).returncode == 0
    redis_pid = int((state / "redis" / "pid").read_text())
    os.kill(redis_pid, signal.SIGKILL)
    status = labctl("status", env=scratch_lab)
    assert status.returncode == 1
    assert "redis" in status.stdout and "DOWN" in status.stdout
