#!/usr/bin/env python3
"""Benchmark: pg_locks' report on a real pile-up (200 blocked sessions behind 5 blockers) versus the same
snapshot SQL run by psql, in the same script, on the same server.

The lab's PostgreSQL allows 100 connections, so the benchmark starts its own throwaway cluster (the
lab's PostgreSQL service code, max_connections raised to 300) in a scratch state folder, and removes it
afterwards. Prints the figures; asserts nothing.

    .venv/bin/python bench/pg_locks.py [--blocked 200] [--blockers 5] [--runs 5]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
sys.path[:0] = [str(REPO / "lab"), str(REPO / ".collections")]

import psycopg2

from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.connection import connect
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.locks import SNAPSHOT_SQL
from ansible_collections.pynomaly.incident_response.plugins.modules.pg_locks import LockTriage, argument_spec
from labkit.config import LabConfig
from labkit.faults.pg_sessions import SessionGroup
from labkit.services.postgres import PostgresService

ROW = "UPDATE anomalies SET label = label WHERE id = {}"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_cluster(state):
    os.environ["LAB_POSTGRES_PORT"] = str(free_port())
    os.environ["LAB_DB_ROWS"] = "100"
    service = PostgresService(LabConfig(state_dir=state))
    service.start()
    conn = psycopg2.connect(**service.connect_params())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("ALTER SYSTEM SET max_connections = 300")
    conn.close()
    service.stop()
    service.start()
    return service


def pile_up(group, blockers, blocked):
    """`blockers` idle-in-transaction sessions, each holding a row, and `blocked` sessions queued behind them."""
    for b in range(blockers):
        group.open(f"blocker{b}", [ROW.format(b + 1)])
    victims = []
    for v in range(blocked):
        victims.append(group.open(f"victim{v}", [ROW.format(v % blockers + 1)], hold=False))
    group.wait_blocked(victims, timeout=60)
    return victims


def time_psql(env, bindir, runs):
    sql = SNAPSHOT_SQL.format(waitstart="l.waitstart").replace("%(max_query_length)s", "1000")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run([str(Path(bindir) / "psql"), "-X", "-A", "-t", "-c", sql], env=env,
                             capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - started)
    return times, len(out.stdout.splitlines())


def time_task(env, module, args):
    """One ad-hoc run: (task time from the json callback, process wall time, result)."""
    argv = [str(VENV_BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
            "-e", f"ansible_python_interpreter={sys.executable}", "-m", module, "-a", json.dumps(args)]
    menv = dict(env, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    started = time.perf_counter()
    out = subprocess.run(argv, env=menv, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    try:
        data = json.loads(out.stdout)
    except ValueError:
        raise SystemExit(f"ansible gave no JSON:\n{out.stdout}\n{out.stderr}") from None
    task = data["plays"][0]["tasks"][0]
    result = task["hosts"]["localhost"]
    if result.get("failed"):
        raise SystemExit(f"{module} failed: {result.get('msg')}")
    duration = task["task"]["duration"]
    return _seconds(duration["end"]) - _seconds(duration["start"]), wall, result


def time_in_process(params, runs):
    """The module's own work (connect, snapshot, tree, report) without Ansible around it."""
    spec = dict((name, opt.get("default")) for name, opt in argument_spec().items())
    spec.update(login_host=params["host"], login_port=params["port"], login_user=params["user"],
                login_password=params["password"], login_db=params["dbname"])
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        conn = connect(spec, application_name="bench-pg_locks-inprocess")
        triage = LockTriage(conn, spec, check_mode=False)
        triage.report()
        triage.plan()
        json.dumps(triage.finish())
        conn.close()
        times.append(time.perf_counter() - started)
    return times


def _seconds(stamp):
    from datetime import datetime

    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocked", type=int, default=200)
    parser.add_argument("--blockers", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix=".lab-bench-pg_locks-", dir=REPO))
    state.chmod(0o755)
    service = None
    group = None
    try:
        setup = time.perf_counter()
        service = start_cluster(state)
        env = dict(os.environ, **{k: str(v) for k, v in service.env().items()})
        params = service.connect_params()
        app = dict(params, user="pynomaly", password=service.config.secret("pg_app_password"))
        group = SessionGroup(app, params, "bench-")
        threading.stack_size(256 * 1024)
        pile_up(group, args.blockers, args.blocked)
        print(f"setup: scratch PostgreSQL {env['PGPORT']}, {args.blockers} blockers, {args.blocked} blocked "
              f"sessions in {time.perf_counter() - setup:.1f}s")

        psql_times, rows = time_psql(env, env["LAB_PG_BINDIR"], args.runs)
        inproc_times = time_in_process(params, args.runs)
        # Interleaved, so both see the same machine load: ping is Ansible's own floor for a module task.
        task_times, ping_times, wall_times = [], [], []
        for _ in range(args.runs):
            ping_times.append(time_task(env, "ansible.builtin.ping", {"data": "pong"})[0])
            task, wall, result = time_task(env, "pynomaly.incident_response.pg_locks", {"action": "report"})
            task_times.append(task)
            wall_times.append(wall)
        roots = [r for r in result["root_blockers"] if (r["application"] or "").startswith("bench-")]
        print(f"pg_locks saw {len(result['blocked'])} blocked sessions, {len(roots)} root blockers "
              f"(holding up {sum(r['holds_up'] for r in roots)}), {result['connections']['total']} connections")
        print(f"summary: {result['summary']}")
        psql = statistics.median(psql_times)
        inproc = statistics.median(inproc_times)
        task = statistics.median(task_times)
        ping = statistics.median(ping_times)
        wall = statistics.median(wall_times)
        print(f"median of {args.runs} runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"  psql, same snapshot SQL ({rows} rows)      {psql * 1000:7.1f} ms  (1.0x)")
        print(f"  pg_locks work in-process (connect+report)  {inproc * 1000:7.1f} ms  ({inproc / psql:.1f}x psql)")
        print(f"  ansible.builtin.ping task time             {ping * 1000:7.1f} ms  (Ansible's floor)")
        print(f"  pg_locks task time (report)                {task * 1000:7.1f} ms  ({task / psql:.1f}x psql, "
              f"{(task - ping) * 1000:+.0f} ms over ping)  target <= 1000 ms: {'met' if task <= 1.0 else 'MISSED'}")
        print(f"  ansible ad-hoc process wall time           {wall * 1000:7.1f} ms  (includes ansible start-up)")
    finally:
        if group is not None:
            group.close(timeout=30)
        if service is not None:
            service.stop()
        shutil.rmtree(state, ignore_errors=True)
        os.environ.pop("LAB_POSTGRES_PORT", None)


if __name__ == "__main__":
    main()
