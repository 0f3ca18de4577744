"""playbooks/incident_db_performance.yml against a real lock pile-up (labctl inject db_locks): a dry run
signals nobody, the real run terminates only the root blocker so its victims proceed, the rerun changes
nothing."""
import json
import subprocess
import uuid

import psycopg2
import pytest

from tests.conftest import LABCTL

PREFIX = "lab-fault-db_locks"


def labctl(lab_environ, *args):
    res = subprocess.run([str(LABCTL), *args], capture_output=True, text=True, env=lab_environ, check=False)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.fixture
def pile_up(lab, lab_environ):
    labctl(lab_environ, "heal")
    labctl(lab_environ, "inject", "db_locks")
    conn = psycopg2.connect(host=lab["PGHOST"], port=lab["PGPORT"], user=lab["PGUSER"], password=lab["PGPASSWORD"],
                            dbname=lab["PGDATABASE"], application_name="t-scenario-observer")
    conn.autocommit = True

    def sessions():
        with conn.cursor() as cur:
            cur.execute("SELECT pid, state, wait_event_type FROM pg_stat_activity "
                        "WHERE starts_with(application_name, %s) ORDER BY pid", (PREFIX,))
            return cur.fetchall()

    yield sessions
    conn.close()
    labctl(lab_environ, "heal")


def signals_sent(json_stdout):
    tasks = json.loads(json_stdout)["plays"][0]["tasks"]
    release = [t for t in tasks if "Release the lock pile-up" in t["task"]["name"]]
    return [a for a in release[0]["hosts"]["localhost"]["actions"] if a["effective"]]


def recap(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("localhost "))
    return dict(part.split("=") for part in line.split(":", 1)[1].split())


def test_lock_pile_up_is_released_through_its_root_blocker_once(run_playbook, pile_up, tmp_path):
    before = pile_up()
    blockers = [pid for pid, state, _ in before if state == "idle in transaction"]
    waiting = [pid for pid, _, wait in before if wait == "Lock"]
    assert len(blockers) == 1
    assert len(waiting) >= 3
    extra = {"incident_id": f"INC-test-{uuid.uuid4().hex[:8]}",
             "database_performance_min_wait": 0}
    env = {"INCIDENT_TIMELINE_DIR": str(tmp_path / "timeline")}

    dry = run_playbook("playbooks/incident_db_performance.yml", extra, check=True, env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert [pid for pid, *_ in pile_up()] == [pid for pid, *_ in before]

    real = run_playbook("playbooks/incident_db_performance.yml", extra,
                        env=dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"))
    assert real.returncode == 0, real.stdout + real.stderr
    after = pile_up()
    alive = {pid for pid, *_ in after}
    assert blockers[0] not in alive
    assert not [pid for pid, _, wait in after if wait == "Lock"]
    signalled = [action["pid"] for action in signals_sent(real.stdout)]
    assert set(signalled) == {blockers[0]}, "only the root blocker is signalled; its victims proceed"

    again = run_playbook("playbooks/incident_db_performance.yml", extra, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again.stdout)["changed"] == "0"
    assert {pid for pid, *_ in pile_up()} == alive
