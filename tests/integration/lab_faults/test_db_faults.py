"""labctl inject db_locks | db_connections: real incidents that pg_locks and pg_stat_activity see, that heal
removes whatever a playbook already repaired, and that inject twice does not double."""
import os
import subprocess
import time
from pathlib import Path

import psycopg2
import pytest

from labkit.process import pid_alive, read_pid
from tests.conftest import LABCTL, free_port_offset


def labctl(*args, env=None):
    return subprocess.run([str(LABCTL), *args], capture_output=True, text=True, env=env, check=False)


@pytest.fixture
def observer(lab):
    conn = psycopg2.connect(host=lab["PGHOST"], port=lab["PGPORT"], user=lab["PGUSER"], password=lab["PGPASSWORD"],
                            dbname=lab["PGDATABASE"], application_name="t-lab-faults-observer")
    conn.autocommit = True

    def sessions(prefix):
        with conn.cursor() as cur:
            cur.execute("SELECT pid, usename, state, wait_event_type FROM pg_stat_activity "
                        "WHERE starts_with(application_name, %s)", (prefix,))
            return cur.fetchall()

    yield sessions
    conn.close()


@pytest.fixture
def healed(lab):
    yield
    res = labctl("heal")
    assert res.returncode == 0, res.stdout + res.stderr


def test_db_locks_pile_up_is_seen_by_pg_locks_and_heal_clears_what_is_left(healed, observer, run_module):
    res = labctl("inject", "db_locks")
    assert res.returncode == 0, res.stdout + res.stderr
    again = labctl("inject", "db_locks")
    assert again.returncode == 0 and "already injected" in again.stdout
    assert len(observer("lab-fault-db_locks")) == 4, "injecting twice must not double the sessions"

    report = run_module("pg_locks", {"action": "report"})
    (root,) = [r for r in report["root_blockers"] if r["application"] == "lab-fault-db_locks"]
    assert root["state"] == "idle in transaction" and root["holds_up"] == 3
    assert root["user"] == "pynomaly" and root["superuser"] is False and root["protected"] is None
    victims = [b for b in report["blocked"] if (b["application"] or "").startswith("lab-fault-db_locks-victim")]
    assert len(victims) == 3 and all(v["lock"]["mode"] for v in victims)
    assert "lab-fault-db_locks" in report["summary"] or str(root["pid"]) in report["summary"]

    # What the database_performance playbook would do: terminate the blocker. The chain then drains.
    fixed = run_module("pg_locks", {"action": "terminate", "min_wait": 0})
    assert [(a["pid"], a["result"]) for a in fixed["actions"]] == [(root["pid"], "terminated")]
    deadline = time.monotonic() + 10
    while [s for s in observer("lab-fault-db_locks") if s[3] == "Lock"]:
        assert time.monotonic() < deadline, "the chain did not drain once its blocker was gone"
        time.sleep(0.05)
    assert "db_locks" in labctl("faults").stdout

    heal = labctl("heal")
    assert heal.returncode == 0, heal.stdout + heal.stderr
    assert observer("lab-fault-db_locks") == []
    assert "db_locks         healed" in labctl("faults").stdout
    # Re-injecting after a heal works, and a second heal too.
    assert labctl("inject", "db_locks").returncode == 0
    assert len(observer("lab-fault-db_locks")) == 4


def test_db_connections_fills_the_server_near_max_connections(healed, observer, run_module):
    res = labctl("inject", "db_connections")
    assert res.returncode == 0, res.stdout + res.stderr
    held = len(observer("lab-fault-db_connections"))
    assert labctl("inject", "db_connections").returncode == 0
    assert len(observer("lab-fault-db_connections")) == held, "injecting twice must not open more sessions"

    conns = run_module("pg_locks", {"action": "report"})["connections"]
    assert conns["percent_used"] >= 85, conns
    assert conns["by_application"]["lab-fault-db_connections"] == held
    assert {s[1] for s in observer("lab-fault-db_connections")} == {"pynomaly"}
    assert {s[2] for s in observer("lab-fault-db_connections")} == {"idle"}

    assert labctl("heal", "db_connections").returncode == 0
    assert observer("lab-fault-db_connections") == []
    by_application = run_module("pg_locks", {"action": "report"})["connections"]["by_application"]
    assert "lab-fault-db_connections" not in by_application


def test_heal_with_nothing_injected_is_harmless(lab):
    res = labctl("heal")
    assert res.returncode == 0
    assert "db_locks: nothing to heal" in res.stdout and "db_connections: nothing to heal" in res.stdout


def test_unknown_scenario_is_refused(lab):
    res = labctl("inject", "meteor")
    assert res.returncode != 0 and "invalid choice" in res.stderr and "db_locks" in res.stderr


def test_down_stops_the_helper_and_its_sessions(scratch_dir):
    env = dict(os.environ, LAB_STATE_DIR=str(scratch_dir), LAB_PORT_OFFSET=str(free_port_offset(900)))
    try:
        assert labctl("up", env=env).returncode == 0
        assert labctl("inject", "db_locks", env=env).returncode == 0
        helper = read_pid(Path(scratch_dir) / "faults" / "db_locks.pid")
        assert pid_alive(helper)
        down = labctl("down", env=env)
        assert down.returncode == 0, down.stderr
        assert "db_locks: helper stopped" in down.stdout
        assert not pid_alive(helper)
    finally:
        labctl("down", env=env)
