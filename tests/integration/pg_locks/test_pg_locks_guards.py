"""pg_locks' guards against the real server: a reused pid is never signalled, secrets never printed."""
import secrets

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.signals import (
    GONE,
    BackendSession,
)


def test_a_reused_pid_is_never_signalled(sessions, admin_conn):
    held = sessions.open("reused", [])
    # The pid now belongs to `held`, but the session selected under it started long ago: a reused pid.
    stale = BackendSession(admin_conn, held.pid, "2000-01-01 00:00:00+00", 150000)
    assert stale.cancel() is GONE
    assert stale.terminate(1) is GONE
    assert sessions.alive(held)

    same = BackendSession(admin_conn, held.pid, held.backend_start, 150000)
    assert same.terminate(5) is True, "pg_terminate_backend(pid, timeout) confirms the exit"
    assert not sessions.alive(held)
    assert same.terminate(1) is GONE


def flat(text):
    """Output with YAML line wrapping undone."""
    return " ".join(text.split())


PLAYBOOK = """
- name: Lock triage
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Report, and terminate root blockers whose victims waited an hour
      pynomaly.incident_response.pg_locks:
        login_password: "{{ pg_password }}"
        action: terminate
        min_wait: 3600
"""


def run_vvv(run_playbook, tmp_path, password, env=None):
    playbook = tmp_path / "pg_locks.yml"
    playbook.write_text(PLAYBOOK)
    res = run_playbook(str(playbook), extra_vars={"pg_password": password}, env=env, args=("-vvv",))
    return res, flat(res.stdout + res.stderr)


def test_password_never_appears_at_vvv(run_playbook, tmp_path, lab):
    res, output = run_vvv(run_playbook, tmp_path, lab["PGPASSWORD"])
    assert res.returncode == 0, output
    assert "root_blockers" in output and "connections" in output
    assert lab["PGPASSWORD"] not in output


def test_wrong_password_fails_clearly_without_printing_it(run_playbook, tmp_path):
    sentinel = "wrong-" + secrets.token_hex(12)
    res, output = run_vvv(run_playbook, tmp_path, sentinel)
    assert res.returncode != 0
    assert "cannot connect to PostgreSQL" in output and "password authentication failed" in output
    assert "Nothing was signalled" in output
    assert sentinel not in output


def test_password_from_pgpassword_is_not_printed_either(run_module, lab_environ):
    from tests.conftest import ModuleRunner

    sentinel = "wrong-" + secrets.token_hex(12)
    res = ModuleRunner(dict(lab_environ, PGPASSWORD=sentinel))("pg_locks", {"action": "report"}, verbosity=3, raw=True)
    output = flat(res.stdout + res.stderr)
    assert res.returncode != 0 and "password authentication failed" in output
    assert sentinel not in output


def test_the_snapshot_runs_under_a_short_statement_timeout(pg_admin_params):
    import psycopg2

    from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.errors import LockQueryError
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.locks import ActivitySnapshot

    conn = psycopg2.connect(**pg_admin_params)
    conn.autocommit = True
    blocker = psycopg2.connect(**pg_admin_params)
    try:
        snapshot = ActivitySnapshot(conn, query_timeout=0.3)
        snapshot.prepare()
        with conn.cursor() as cur:
            cur.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout')")
            assert cur.fetchone() == ("300ms", "300ms")
        assert snapshot.sessions(), "the snapshot works within the timeout"
        # A server where the catalog the snapshot reads is locked: the guard ends the wait with a clear error.
        with blocker.cursor() as cur:
            cur.execute("LOCK TABLE pg_catalog.pg_authid IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(LockQueryError, match="took longer than query_timeout"):
            snapshot.sessions()
    finally:
        blocker.rollback()
        blocker.close()
        conn.close()


def test_a_terminate_lifts_the_short_statement_timeout_only_while_it_waits(sessions, pg_admin_params):
    import psycopg2

    from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.locks import ActivitySnapshot

    held = sessions.open("slow-exit", [])
    conn = psycopg2.connect(**pg_admin_params)
    conn.autocommit = True
    try:
        ActivitySnapshot(conn, query_timeout=0.05).prepare()
        backend = BackendSession(conn, held.pid, held.backend_start, 150000)
        assert backend.terminate(5) is True
        with conn.cursor() as cur:
            cur.execute("SELECT current_setting('statement_timeout')")
            assert cur.fetchone()[0] == "50ms", "the short guard is back after the terminate"
    finally:
        conn.close()
