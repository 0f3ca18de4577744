# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only queries behind lock triage: one snapshot of pg_stat_activity with the lock each session
waits on and who blocks it, plus the connection limits. Every query is parameterised."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.errors import LockQueryError

try:
    import psycopg2
    import psycopg2.errors
    import psycopg2.extras
except ImportError:  # pragma: no cover - the module reports it through missing_required_lib
    psycopg2 = None

# pg_blocking_pids() takes every lock-manager partition lock, so it is called only for sessions that
# wait on a heavyweight lock, and the whole snapshot runs under the session's statement_timeout.
SNAPSHOT_SQL = """
WITH waiting AS (
    SELECT DISTINCT ON (l.pid) l.pid, l.locktype, l.mode, l.relation::regclass::text AS relation, {waitstart}
    FROM pg_catalog.pg_locks l
    WHERE NOT l.granted
    ORDER BY l.pid
)
SELECT a.pid,
       a.datname AS database,
       a.usename AS "user",
       a.application_name AS application,
       host(a.client_addr) AS client_addr,
       a.client_port,
       a.backend_type,
       a.state,
       a.backend_start,
       a.xact_start,
       a.query_start,
       a.wait_event_type,
       a.wait_event,
       left(a.query, %(max_query_length)s) AS query,
       COALESCE(r.rolsuper, false) AS superuser,
       extract(epoch FROM now() - a.xact_start)::float8 AS xact_age,
       extract(epoch FROM now() - a.query_start)::float8 AS query_age,
       extract(epoch FROM now() - a.state_change)::float8 AS state_age,
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_catalog.pg_blocking_pids(a.pid)
            ELSE '{{}}'::int[] END AS blocking_pids,
       w.locktype AS lock_type,
       w.mode AS lock_mode,
       w.relation AS lock_relation,
       extract(epoch FROM now() - COALESCE(w.waitstart, a.state_change))::float8 AS lock_wait
FROM pg_catalog.pg_stat_activity a
LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
LEFT JOIN waiting w ON w.pid = a.pid AND a.wait_event_type = 'Lock'
ORDER BY a.pid
"""

SETTINGS_SQL = """
SELECT pg_catalog.pg_backend_pid() AS own_pid,
       current_setting('server_version_num')::int AS server_version_num,
       current_setting('server_version') AS server_version,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS superuser_reserved_connections,
       (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS own_superuser
"""


def _round(value):
    return None if value is None else round(float(value), 3)


def _iso(value):
    return value.isoformat() if value is not None else None


def session_from_row(row):
    """A plain, JSON-ready session dict from one snapshot row."""
    waiting = bool(row["blocking_pids"]) or row["wait_event_type"] == "Lock"
    client = None
    if row["client_addr"]:
        client = "%s:%s" % (row["client_addr"], row["client_port"])
    elif row["client_port"] == -1:
        client = "local socket"
    return {
        "pid": row["pid"],
        "database": row["database"],
        "user": row["user"],
        "application": row["application"],
        "client": client,
        "backend_type": row["backend_type"],
        "state": row["state"],
        "backend_start": _iso(row["backend_start"]),
        "xact_start": _iso(row["xact_start"]),
        "query_start": _iso(row["query_start"]),
        "wait_event_type": row["wait_event_type"],
        "wait_event": row["wait_event"],
        "query": row["query"],
        "superuser": bool(row["superuser"]),
        "xact_age": _round(row["xact_age"]),
        "query_age": _round(row["query_age"]),
        "state_age": _round(row["state_age"]),
        "blocking_pids": sorted(row["blocking_pids"] or []),
        "wait_seconds": _round(row["lock_wait"]) if waiting else None,
        "lock": {"locktype": row["lock_type"], "mode": row["lock_mode"], "relation": row["lock_relation"]}
        if waiting else None,
    }


class ActivitySnapshot(object):
    """Reads the server's sessions and locks through one cursor of the module's own connection."""

    def __init__(self, conn, query_timeout, max_query_length=1000):
        self.conn = conn
        self.query_timeout = query_timeout
        self.max_query_length = max_query_length
        self.settings = None

    def cursor(self):
        return self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)

    def prepare(self):
        """Guard every later statement with statement_timeout and read the server's limits."""
        timeout_ms = str(max(1, int(self.query_timeout * 1000)))
        with self.cursor() as cur:
            # A lock timeout too: triage must never queue behind the locks it is looking at.
            cur.execute("SELECT set_config('statement_timeout', %(ms)s, false), "
                        "set_config('lock_timeout', %(ms)s, false)", {"ms": timeout_ms})
            cur.execute(SETTINGS_SQL)
            self.settings = dict(cur.fetchone())
        return self.settings

    def sessions(self):
        """Every backend with its lock wait and blockers, as session dicts."""
        has_waitstart = self.settings["server_version_num"] >= 140000
        query = SNAPSHOT_SQL.format(waitstart="l.waitstart" if has_waitstart else "NULL::timestamptz AS waitstart")
        try:
            with self.cursor() as cur:
                cur.execute(query, {"max_query_length": self.max_query_length})
                rows = cur.fetchall()
        except (psycopg2.extensions.QueryCanceledError, psycopg2.errors.LockNotAvailable) as exc:
            raise LockQueryError(
                "reading pg_stat_activity and pg_blocking_pids() took longer than query_timeout (%ss): the server "
                "is overloaded or a catalog it reads is locked. Nothing was signalled; retry or raise query_timeout."
                % self.query_timeout) from exc
        except psycopg2.Error as exc:
            raise LockQueryError("reading pg_stat_activity failed: %s" % str(exc).strip()) from exc
        return [session_from_row(row) for row in rows]
