"""Real PostgreSQL sessions for the pg_locks tests: blockers and victims held open in threads, all ended
on the server when the test finishes (even the ones pg_locks already terminated)."""
import json
import re
import sys

import psycopg2
import pytest

from labkit.faults.pg_sessions import SessionGroup
from tests.conftest import REPO

# The module_utils under test are imported by their FQCN, as Ansible does.
if str(REPO / ".collections") not in sys.path:
    sys.path.insert(0, str(REPO / ".collections"))

# Keeps a lab incident someone left injected out of these tests' selections.
NOT_OURS = ["lab-fault-*"]


@pytest.fixture(scope="session")
def pg_admin_params(lab):
    return {"host": lab["PGHOST"], "port": int(lab["PGPORT"]), "user": lab["PGUSER"],
            "password": lab["PGPASSWORD"], "dbname": lab["PGDATABASE"], "connect_timeout": 3}


@pytest.fixture(scope="session")
def pg_app_params(lab, pg_admin_params):
    return dict(pg_admin_params, user=lab["LAB_PG_APP_USER"], password=lab["LAB_PG_APP_PASSWORD"])


@pytest.fixture
def sessions(request, pg_admin_params, pg_app_params):
    """A SessionGroup whose application_names start with t-<test name>-."""
    prefix = "t-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[-40:].strip("-") + "-"
    group = SessionGroup(pg_app_params, pg_admin_params, prefix)
    yield group
    group.close()


@pytest.fixture
def pg_locks(run_module):
    """Run the module; exclude_applications always keeps lab incidents out."""

    def _run(args, check=False, diff=False, verbosity=0):
        args = dict(args)
        args["exclude_applications"] = [*args.get("exclude_applications", []), *NOT_OURS]
        return run_module("pg_locks", args, check=check, diff=diff, verbosity=verbosity)

    return _run


@pytest.fixture(scope="session")
def admin_conn(pg_admin_params):
    conn = psycopg2.connect(application_name="t-pg_locks-observer", **pg_admin_params)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
def pg_locks_steps(run_playbook, tmp_path):
    """Run several pg_locks tasks in one playbook (one Ansible start-up) and return each task's result.

    Each step is (args, check_mode); a failing step does not stop the next (ignore_errors).
    """

    def _run(*steps, diff=False):
        tasks = []
        for number, (args, check) in enumerate(steps):
            args = dict(args)
            args["exclude_applications"] = [*args.get("exclude_applications", []), *NOT_OURS]
            tasks.append({"name": f"step {number}", "pynomaly.incident_response.pg_locks": args,
                          "check_mode": check, "ignore_errors": True})
        playbook = tmp_path / f"pg_locks_steps_{len(list(tmp_path.iterdir()))}.yml"
        playbook.write_text(json.dumps([{"name": "pg_locks steps", "hosts": "localhost", "gather_facts": False,
                                         "tasks": tasks}]))
        res = run_playbook(str(playbook), diff=diff, env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                                                          "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"})
        try:
            data = json.loads(res.stdout)
        except ValueError as exc:
            raise AssertionError(f"no JSON from ansible-playbook:\n{res.stdout}\n{res.stderr}") from exc
        results = [task["hosts"]["localhost"] for task in data["plays"][0]["tasks"]]
        assert len(results) == len(steps), res.stdout
        return results

    return _run
