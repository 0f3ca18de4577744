#!/usr/bin/env python3
"""Benchmark: backup_restore against the raw tools it wraps, in one run, on a database of at least 500 MB.

Builds `bench_backup` (generate_series) on the lab's PostgreSQL, then times
  create   backup_restore state=create (pg_dump -Fd -j2 in a shared snapshot + row counts + sha256 + manifest)
           vs raw `pg_dump -Fd -j2`
  restore  backup_restore state=restore into a new database (staging db, pg_restore -j2 while the checksums are
           recomputed, row counts once the data is in, rename) vs raw `createdb` + `pg_restore -j2`
  verify   backup_restore state=verify (checksums, restore into a scratch database, row counts)
and prints the ratios (target: create and restore <= 1.10x the raw tool). The module runs through
`ansible localhost -m` with the JSON callback; the headline figure is the task's time (task start to end, as
bench/k8s_rollback.py measures: AnsiballZ, the module's Python, its work and its result), which is what the
step costs inside a playbook run. The whole command's time (plus the `ansible` CLI's start-up, paid once per
run; measured on its own with `ansible localhost -m ping`) and the module's own time (from its result) are
printed next to it. The raw tool and the module take turns going first, so use an even number of rounds.
Everything it creates is dropped at the end. Prints figures; asserts nothing.

    .venv/bin/python bench/backup.py [--size-mb 1100] [--rounds 4] [--jobs 2] [--keep-db]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psycopg2
from psycopg2 import sql

REPO = Path(__file__).resolve().parents[1]
LABCTL = REPO / "lab" / "labctl"
DB = "bench_backup"
RAW_RESTORE_DB = "bench_backup_raw"
MODULE_RESTORE_DB = "bench_backup_module"
ROW_BYTES = 150  # about what one generated row takes on disk, heap and index


def lab_env():
    out = subprocess.run([str(LABCTL), "env", "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


class Server:
    def __init__(self, env):
        self.params = {"host": env["PGHOST"], "port": int(env["PGPORT"]), "user": env["PGUSER"],
                       "password": env["PGPASSWORD"]}
        self.bindir = Path(env.get("LAB_PG_BINDIR") or "/usr/lib/postgresql/15/bin")
        self.env = dict(os.environ, PGHOST=env["PGHOST"], PGPORT=str(env["PGPORT"]), PGUSER=env["PGUSER"],
                        PGPASSWORD=env["PGPASSWORD"])

    def run(self, statement, dbname="postgres", args=None):
        conn = psycopg2.connect(dbname=dbname, **self.params)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(statement, args)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def drop(self, name):
        self.run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def size_mb(self, name):
        return self.run("SELECT pg_database_size(%s)", args=(name,))[0][0] / 1e6

    def tool(self, name, *args):
        started = time.perf_counter()
        subprocess.run([str(self.bindir / name), *args], env=self.env, check=True, capture_output=True)
        return time.perf_counter() - started


def build(server, size_mb):
    server.drop(DB)
    server.run(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    rows = int(size_mb * 1e6 / ROW_BYTES)
    started = time.perf_counter()
    server.run("CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, source text NOT NULL, "
               "payload text NOT NULL, score double precision NOT NULL)", DB)
    server.run("CREATE TABLE sources (id int PRIMARY KEY, name text NOT NULL)", DB)
    server.run("INSERT INTO sources SELECT g, 'source-' || g FROM generate_series(1, 1000) g", DB)
    step = 500_000
    for first in range(1, rows + 1, step):
        server.run("INSERT INTO events SELECT g, now() - g * interval '1 second', 'source-' || (g %% 1000), "
                   "md5(g::text) || md5((g * 31)::text), (g %% 997) / 997.0 "
                   "FROM generate_series(%s, %s) g", DB, (first, min(first + step - 1, rows)))
    server.run("CREATE INDEX events_at_idx ON events (at)", DB)
    server.run("VACUUM ANALYZE", DB)
    return rows, time.perf_counter() - started


def module(env, args, name="pynomaly.incident_response.backup_restore"):
    argv = [str(REPO / ".venv" / "bin" / "ansible"), "localhost", "-m", name]
    if args:
        argv += ["-a", json.dumps(args)]
    run_env = dict(os.environ, **{k: str(v) for k, v in env.items()}, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                   ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    started = time.perf_counter()
    out = subprocess.run(argv, env=run_env, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    task = json.loads(out.stdout)["plays"][0]["tasks"][0]
    result = task["hosts"]["localhost"]
    if result.get("failed"):
        sys.exit("backup_restore failed: %s" % result.get("msg"))
    span = task["task"]["duration"]
    task_seconds = stamp(span["end"]) - stamp(span["start"])
    return elapsed, task_seconds, result


def stamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1100)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true", help="reuse bench_backup if it exists and keep it")
    opts = parser.parse_args()

    env = lab_env()
    server = Server(env)
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    try:
        exists = server.run("SELECT 1 FROM pg_database WHERE datname = %s", args=(DB,))
        if opts.keep_db and exists and server.size_mb(DB) >= opts.size_mb * 0.95:
            print("reusing %s" % DB)
        else:
            rows, took = build(server, opts.size_mb)
            print("built %s: %d rows in %.1f s" % (DB, rows, took))
        print("database size: %.0f MB (pg_database_size)" % server.size_mb(DB))
        print("jobs: %d, rounds: %d, CPUs: %d, load average: %s" % (
            opts.jobs, opts.rounds, os.cpu_count(), " ".join("%.1f" % x for x in os.getloadavg())))

        # What any module pays before and after its own work: ansible's start-up, AnsiballZ, the result.
        startup = statistics.median(module(env, {}, name="ansible.builtin.ping")[0] for _ in range(5))
        print("ansible start-up (ansible localhost -m ping, median of 5): %.2f s" % startup, flush=True)
        figures = {"create": [], "raw_dump": [], "restore": [], "raw_restore": [], "verify": []}
        # The task as a playbook step pays it (callback's task start to end): AnsiballZ, the module's Python,
        # its work, the result. Without the `ansible` command's own start-up, paid once per playbook run.
        task = {"create": [], "restore": [], "verify": []}
        inside = {"create": [], "restore": [], "verify": []}  # the module's own time, without Ansible's start-up
        dump_mb = 0.0
        for round_no in range(opts.rounds):
            repo = work / ("repo%d" % round_no)
            raw_dir = work / ("raw%d" % round_no)

            def raw_dump(raw_dir=raw_dir):
                figures["raw_dump"].append(server.tool("pg_dump", "-Fd", "-j%d" % opts.jobs, "-f", str(raw_dir), DB))

            def module_create(repo=repo):
                took, step, created = module(env, {"state": "create", "repository": str(repo), "login_db": DB,
                                                   "jobs": opts.jobs})
                figures["create"].append(took)
                task["create"].append(step)
                inside["create"].append(created["manifest"]["duration_seconds"])
                return created

            def raw_restore(raw_dir=raw_dir):
                server.drop(RAW_RESTORE_DB)
                started = time.perf_counter()
                server.tool("createdb", RAW_RESTORE_DB)
                server.tool("pg_restore", "-j%d" % opts.jobs, "-d", RAW_RESTORE_DB, str(raw_dir))
                figures["raw_restore"].append(time.perf_counter() - started)
                server.drop(RAW_RESTORE_DB)

            def module_restore(repo=repo):
                server.drop(MODULE_RESTORE_DB)
                took, step, restored = module(env, {"state": "restore", "repository": str(repo), "login_db": DB,
                                                     "target_db": MODULE_RESTORE_DB, "jobs": opts.jobs})
                figures["restore"].append(took)
                task["restore"].append(step)
                inside["restore"].append(restored["duration_seconds"])
                server.drop(MODULE_RESTORE_DB)
                return restored

            # Alternate which runs first, so a change in the machine's load does not favour one side.
            if round_no % 2 == 0:
                raw_dump()
                created = module_create()
                raw_restore()
                restored = module_restore()
            else:
                created = module_create()
                raw_dump()
                restored = module_restore()
                raw_restore()
            dump_mb = created["manifest"]["size_bytes"] / 1e6
            dumped = created["manifest"]["database"]["timings"]
            loaded = restored["components"]["database"]["timings"]
            print("round %d: raw pg_dump %.1f s, create %.1f s (its pg_dump %.1f s, counts done at %.1f s); "
                  "raw restore %.1f s, restore %.1f s (its pg_restore %.1f s, counts %.1f s of which %.1f s after "
                  "pg_restore)"
                  % (round_no + 1, figures["raw_dump"][-1], figures["create"][-1], dumped["pg_dump_seconds"],
                     dumped["row_counts_seconds"], figures["raw_restore"][-1], figures["restore"][-1],
                     loaded["pg_restore_seconds"], loaded["row_counts_seconds"],
                     loaded["row_counts_after_pg_restore_seconds"]), flush=True)

            took, step, verified = module(env, {"state": "verify", "repository": str(repo), "login_db": DB,
                                                "jobs": opts.jobs})
            assert verified["results"][0]["ok"], verified
            figures["verify"].append(took)
            task["verify"].append(step)
            inside["verify"].append(verified["results"][0]["duration_seconds"])
            shutil.rmtree(raw_dir, ignore_errors=True)
            shutil.rmtree(repo, ignore_errors=True)

        med = dict((k, statistics.median(v)) for k, v in figures.items())
        own = dict((k, statistics.median(v)) for k, v in inside.items())
        step = dict((k, statistics.median(v)) for k, v in task.items())
        print("dump size: %.0f MB (gzip, directory format); medians of %d rounds:" % (dump_mb, opts.rounds))
        print("%-36s %8.1f s" % ("raw pg_dump -Fd -j%d" % opts.jobs, med["raw_dump"]))
        print("%-36s %8.1f s   %.2fx raw (target <= 1.10x)" % (
            "backup_restore create, task", step["create"], step["create"] / med["raw_dump"]))
        print("%-36s %8.1f s   %.2fx raw; in the module %.1f s = %.2fx" % (
            "  whole `ansible -m` command", med["create"], med["create"] / med["raw_dump"], own["create"],
            own["create"] / med["raw_dump"]))
        print("%-36s %8.1f s" % ("raw createdb + pg_restore -j%d" % opts.jobs, med["raw_restore"]))
        print("%-36s %8.1f s   %.2fx raw (target <= 1.10x)" % (
            "backup_restore restore, task", step["restore"], step["restore"] / med["raw_restore"]))
        print("%-36s %8.1f s   %.2fx raw; in the module %.1f s = %.2fx" % (
            "  whole `ansible -m` command", med["restore"], med["restore"] / med["raw_restore"], own["restore"],
            own["restore"] / med["raw_restore"]))
        print("%-36s %8.1f s   whole command %.1f s, in the module %.1f s (checksums + restore into a scratch db "
              "+ row counts)" % ("backup_restore verify, task", step["verify"], med["verify"], own["verify"]))
        print("ansible start-up alone (ping command) adds %.2fx to the raw pg_dump's time and %.2fx to the raw "
              "restore's" % (startup / med["raw_dump"], startup / med["raw_restore"]))
        print("min/max per step: %s" % json.dumps(dict((k, [round(min(v), 1), round(max(v), 1)])
                                                        for k, v in figures.items())))
    finally:
        for name in (RAW_RESTORE_DB, MODULE_RESTORE_DB) + (() if opts.keep_db else (DB,)):
            server.drop(name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
