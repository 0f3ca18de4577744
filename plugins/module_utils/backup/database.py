# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database backups: pg_dump in a snapshot shared with the row counts, and restores that swap in only a checked copy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib
import json
import os
import threading
import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import (
    BackupError,
    VerificationFailed,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.pgtools import finish, stop
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.connection import connect

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # pragma: no cover - the module reports missing_required_lib
    psycopg2 = None

MARKER_BY = "pynomaly.incident_response.backup_restore"
APPLICATION = "pynomaly_backup_restore"
_USER_TABLES_FROM = """
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
"""
USER_TABLES = "SELECT n.nspname, c.relname" + _USER_TABLES_FROM + "ORDER BY 1, 2"
# Biggest first, so that the last table to be counted is a small one whichever connection gets it.
USER_TABLES_LARGEST_FIRST = ("SELECT n.nspname, c.relname" + _USER_TABLES_FROM
                             + "ORDER BY pg_catalog.pg_relation_size(c.oid) DESC, 1, 2")


@contextlib.contextmanager
def pg_errors(action):
    """Turn a psycopg2 error into a BackupError that says what was being done."""
    try:
        yield
    except psycopg2.Error as exc:
        raise BackupError("%s: %s" % (action, str(exc).strip())) from None


def count_rows(cursor, schema, table):
    """The exact row count of one table."""
    cursor.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
    return cursor.fetchone()[0]


def row_counts(cursor, between_tables=None):
    """Exact row count of every user table, keyed schema.table."""
    cursor.execute(USER_TABLES)
    counts = {}
    for schema, table in cursor.fetchall():
        if between_tables:
            between_tables()
        counts["%s.%s" % (schema, table)] = count_rows(cursor, schema, table)
    return counts


class CopyCounter(object):
    """Exact row counts of a restored copy, over up to `jobs` connections of its own, in a thread.

    Nothing but pg_restore writes to the copy, and once pg_restore has committed every table's data the counts
    cannot change any more, so start() may be called while it still builds indexes and constraints: each
    count runs in its own transaction. A count can still lose a lock conflict with that DDL; result() then
    counts again, after pg_restore has finished.
    """

    def __init__(self, params, dbname, jobs):
        self.params = params
        self.dbname = dbname
        self.jobs = max(1, jobs)
        self.seconds = None
        self._thread = None
        self._counts = None
        self._error = None
        self._connections = []
        self._lock = threading.Lock()

    def start(self):
        self._thread = threading.Thread(target=self._run, name="row-counts", daemon=True)
        self._thread.start()

    def result(self):
        """Every user table's row count, keyed schema.table; raises BackupError when they cannot be read."""
        if self._thread is None:
            self._run()
        else:
            self._thread.join()
            if self._error is not None:
                self._run()
        if self._error is not None:
            raise self._error
        return self._counts

    def cancel(self):
        """Interrupt the counts (the copy is about to be dropped) and wait for the thread."""
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(psycopg2.Error):
                    conn.cancel()
        if self._thread is not None:
            self._thread.join()

    def _run(self):
        started = time.time()
        self._counts, self._error = None, None
        try:
            self._counts = self._count_all()
        except Exception as exc:  # noqa: BLE001 - raised by result() in the caller's thread
            self._error = exc
        finally:
            with self._lock:
                for conn in self._connections:
                    conn.close()
                self._connections = []
        self.seconds = time.time() - started

    def _connect(self):
        with pg_errors("cannot connect to the restored copy %s to count its rows" % self.dbname):
            conn = connect(self.params, dbname=self.dbname, application_name=APPLICATION)
        with self._lock:
            self._connections.append(conn)
        return conn

    def _count_all(self):
        first = self._connect()
        with pg_errors("listing the tables of the restored copy %s" % self.dbname):
            with first.cursor() as cur:
                cur.execute(USER_TABLES_LARGEST_FIRST)
                tables = cur.fetchall()
        pending = collections.deque(tables)
        counts, failures = {}, []
        more = [self._connect() for _number in range(1, min(self.jobs, len(tables)))]
        helpers = [threading.Thread(target=self._count_from, args=(conn, pending, counts, failures),
                                    name="row-counts", daemon=True) for conn in more]
        for helper in helpers:
            helper.start()
        self._count_from(first, pending, counts, failures)
        for helper in helpers:
            helper.join()
        if failures:
            raise failures[0]
        return dict(sorted(counts.items()))

    @staticmethod
    def _count_from(conn, pending, counts, failures):
        """Count tables taken from pending until none is left (or another connection failed)."""
        while not failures:
            try:
                schema, table = pending.popleft()
            except IndexError:
                return
            try:
                with pg_errors("counting the rows of %s.%s in the restored copy" % (schema, table)):
                    with conn.cursor() as cur:
                        counts["%s.%s" % (schema, table)] = count_rows(cur, schema, table)
            except BackupError as exc:
                failures.append(exc)


def count_differences(expected, actual):
    """Plain sentences for every table whose restored count differs from the manifest."""
    problems = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append("%s: missing after restore (manifest says %d rows)" % (table, expected[table]))
        elif table not in expected:
            problems.append("%s: restored but not in the manifest (%d rows)" % (table, actual[table]))
        elif expected[table] != actual[table]:
            problems.append("%s: %d rows restored, manifest says %d" % (table, actual[table], expected[table]))
    return problems


def dump_database(params, tools, dbname, target, jobs, compression):
    """pg_dump -Fd into target with row counts from the very same snapshot; returns the manifest part."""
    with pg_errors("cannot open a snapshot of database %s" % dbname):
        conn = connect(params, dbname=dbname, application_name=APPLICATION, autocommit=False)
    try:
        with pg_errors("reading database %s" % dbname):
            conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
            cur = conn.cursor()
            cur.execute("SELECT pg_catalog.pg_export_snapshot(), current_setting('server_version'), "
                        "current_setting('server_version_num')::int, pg_catalog.pg_get_userbyid(datdba) "
                        "FROM pg_catalog.pg_database WHERE datname = current_database()")
            snapshot, server_version, version_num, owner = cur.fetchone()
            tools.check_server(version_num)
            # The counts share the CPU with pg_dump's workers: no parallel workers of their own.
            cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            started = time.time()
            proc = tools.start_dump(params, dbname, target, jobs, snapshot, compression)

            def dump_still_running():
                if proc.poll() not in (None, 0):
                    finish(proc, "pg_dump")

            try:
                counts = row_counts(cur, between_tables=dump_still_running)
                counted = time.time() - started
            except BaseException:
                stop(proc)
                raise
        finish(proc, "pg_dump")
        dumped = time.time() - started
    finally:
        conn.close()
    return {
        "source": {"database": dbname, "server_version": server_version, "owner": owner},
        "row_counts": counts,
        "tool_versions": {"pg_dump": tools.versions["pg_dump"]},
        "timings": {"pg_dump_seconds": round(dumped, 3), "row_counts_seconds": round(counted, 3)},
    }


class Server(object):
    """The databases of one server, managed from a maintenance database (never the one being replaced)."""

    def __init__(self, params, maintenance_db):
        self.params = params
        with pg_errors("cannot connect to the maintenance database %s" % maintenance_db):
            self.conn = connect(params, dbname=maintenance_db, application_name=APPLICATION)
        self.executed = []

    def close(self):
        self.conn.close()

    def _run(self, statement, args=None, record=True):
        with pg_errors("PostgreSQL refused: %s" % (statement if isinstance(statement, str) else "statement")):
            with self.conn.cursor() as cur:
                cur.execute(statement, args)
                text = cur.query.decode("utf-8", "replace") if cur.query else ""
                rows = cur.fetchall() if cur.description else None
        if record:
            self.executed.append(text)
        return rows

    def exists(self, name):
        return bool(self._run("SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (name,), record=False))

    def owner(self, name):
        rows = self._run("SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = %s",
                         (name,), record=False)
        return rows[0][0] if rows else None

    def current_user(self):
        return self._run("SELECT current_user", record=False)[0][0]

    def role_exists(self, role):
        return bool(self._run("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (role,), record=False))

    def marker(self, name):
        """What this module recorded on the database when it restored it (None if never)."""
        rows = self._run("SELECT pg_catalog.shobj_description(oid, 'pg_database') FROM pg_catalog.pg_database "
                         "WHERE datname = %s", (name,), record=False)
        try:
            data = json.loads(rows[0][0]) if rows and rows[0][0] else None
        except ValueError:
            return None
        return data if isinstance(data, dict) and data.get("by") == MARKER_BY else None

    def set_marker(self, name, marker):
        self._run(sql.SQL("COMMENT ON DATABASE {} IS %s").format(sql.Identifier(name)),
                  (json.dumps(dict(marker, by=MARKER_BY), sort_keys=True),))

    def create(self, name, owner):
        self._run(sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0").format(
            sql.Identifier(name), sql.Identifier(owner)))

    def drop(self, name):
        self._run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def inspect(self, name):
        """(user table names, row counts or None) of an existing database, read in one snapshot."""
        with pg_errors("cannot read database %s" % name):
            conn = connect(self.params, dbname=name, application_name=APPLICATION, autocommit=False)
        try:
            with pg_errors("reading database %s" % name):
                conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
                with conn.cursor() as cur:
                    return row_counts(cur)
        finally:
            conn.close()

    def wait_until_unused(self, name, seconds=5.0):
        """Wait for the sessions of a database to end (pg_restore's exit before its server processes do).

        ALTER DATABASE ... RENAME would wait too, but it looks again only every 100 ms.
        """
        deadline = time.time() + seconds
        while self._run("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = %s", (name,),
                        record=False)[0][0] and time.time() < deadline:
            time.sleep(0.005)

    def swap_in(self, staging, target):
        """Put the checked copy in place of target: close target's sessions, rename, drop the old one."""
        terminated = 0
        self.wait_until_unused(staging)
        if not self.exists(target):
            self._run(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(staging), sql.Identifier(target)))
            return terminated
        replaced = "%s__replaced" % target[:50]
        self.drop(replaced)
        self._run(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(target)))
        try:
            for _attempt in range(5):
                rows = self._run("SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity "
                                 "WHERE datname = %s AND pid <> pg_catalog.pg_backend_pid()", (target,))
                terminated += rows[0][0]
                try:
                    self._run(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(target), sql.Identifier(replaced)))
                    break
                except BackupError as exc:
                    if "being accessed by other users" not in str(exc):
                        raise
            else:
                raise BackupError("sessions keep reconnecting to %s; cannot replace it" % target)
        except BackupError:
            self._run(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(sql.Identifier(target)))
            raise
        try:
            self._run(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(staging), sql.Identifier(target)))
        except BackupError:
            self._run(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(replaced), sql.Identifier(target)))
            self._run(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(sql.Identifier(target)))
            raise
        self.drop(replaced)
        return terminated


def run_assertions(params, dbname, assertions):
    """Each assertion is SQL returning one true value; returns the failures as sentences."""
    failures = []
    if not assertions:
        return failures
    with pg_errors("cannot connect to %s to run the assertions" % dbname):
        conn = connect(params, dbname=dbname, application_name=APPLICATION, autocommit=False)
    try:
        conn.set_session(readonly=True)
        for number, statement in enumerate(assertions, 1):
            try:
                with conn.cursor() as cur:
                    cur.execute(statement)
                    row = cur.fetchone()
                if not row or row[0] is not True:
                    failures.append("assertion %d (%s) returned %r, expected true"
                                    % (number, statement, row[0] if row else None))
            except psycopg2.Error as exc:
                failures.append("assertion %d (%s) failed: %s" % (number, statement, str(exc).strip()))
            conn.rollback()
    finally:
        conn.close()
    return failures


def restore_copy(server, tools, source_dir, name, owner, jobs, expected_counts, assertions, abandon=None):
    """pg_restore into a fresh database (name) and check it against the manifest; drop it on any failure.

    The rows are counted in parallel connections as soon as pg_restore has loaded every table, while it builds
    the indexes. abandon: a threading.Event that stops pg_restore (the backup turned out to be damaged).
    """
    server.drop(name)
    server.create(name, owner)
    timings = {}
    counter = CopyCounter(server.params, name, jobs)
    try:
        started = time.time()
        tools.restore(server.params, name, source_dir, jobs, on_data_loaded=counter.start, abandon=abandon)
        restored = time.time()
        timings["pg_restore_seconds"] = round(restored - started, 3)
        actual = counter.result()
        timings["row_counts_seconds"] = round(counter.seconds, 3)
        timings["row_counts_after_pg_restore_seconds"] = round(time.time() - restored, 3)
        problems = count_differences(expected_counts, actual) + run_assertions(server.params, name, assertions)
        if problems:
            raise VerificationFailed("the restored copy does not match the backup: %s" % "; ".join(problems),
                                     problems=problems, row_counts=actual)
    except BaseException:
        counter.cancel()
        server.drop(name)
        raise
    return actual, timings


def scratch_name(dbname, purpose):
    return "%s__%s_%d" % (dbname[:40], purpose, os.getpid())
