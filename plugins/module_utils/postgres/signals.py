# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One server backend, identified by pid and backend_start, that can be cancelled or terminated.

Every signal re-checks, in the same statement, that the pid still belongs to the backend that was
selected (same backend_start): a pid the server has reused for a new session is never signalled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.errors import SignalError

try:
    import psycopg2
except ImportError:  # pragma: no cover - the module reports it through missing_required_lib
    psycopg2 = None

SAME_BACKEND = "FROM pg_catalog.pg_stat_activity WHERE pid = %(pid)s AND backend_start = %(backend_start)s::timestamptz"

CANCEL_SQL = "SELECT pg_catalog.pg_cancel_backend(pid) " + SAME_BACKEND
TERMINATE_WAIT_SQL = "SELECT pg_catalog.pg_terminate_backend(pid, %(timeout_ms)s) " + SAME_BACKEND
TERMINATE_SQL = "SELECT pg_catalog.pg_terminate_backend(pid) " + SAME_BACKEND
RAISE_TIMEOUT_SQL = "SELECT current_setting('statement_timeout'), set_config('statement_timeout', %(ms)s, false)"
RESTORE_TIMEOUT_SQL = "SELECT set_config('statement_timeout', %(previous)s, false)"
ACTIVITY_SQL = "SELECT state, query_start " + SAME_BACKEND
STILL_BLOCKS_SQL = """
SELECT EXISTS (
    SELECT 1 FROM pg_catalog.pg_stat_activity a
    WHERE a.wait_event_type = 'Lock' AND %(pid)s = ANY (pg_catalog.pg_blocking_pids(a.pid))
)
"""

GONE = "gone"


class BackendSession(object):
    """A selected backend; all methods are no-ops returning GONE once its pid is reused or it has ended."""

    def __init__(self, conn, pid, backend_start, server_version_num):
        self.conn = conn
        self.pid = pid
        self.backend_start = backend_start
        self.server_version_num = server_version_num

    def _params(self, **extra):
        params = {"pid": self.pid, "backend_start": self.backend_start}
        params.update(extra)
        return params

    def _one(self, query, params):
        try:
            with self.conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchone()
        except psycopg2.Error as exc:
            raise SignalError("signalling pid %s failed: %s" % (self.pid, str(exc).strip())) from exc

    def activity(self):
        """(state, query_start) of the same backend, or None when it is gone."""
        return self._one(ACTIVITY_SQL, self._params())

    def alive(self):
        return self.activity() is not None

    def still_blocks(self):
        if not self.alive():
            return False
        return bool(self._one(STILL_BLOCKS_SQL, {"pid": self.pid})[0])

    def cancel(self):
        """Send a cancel; True when the server accepted it, GONE when the backend no longer exists."""
        row = self._one(CANCEL_SQL, self._params())
        return GONE if row is None else bool(row[0])

    def terminate(self, timeout):
        """Terminate and wait up to timeout seconds for the backend to exit.

        Returns True when the exit is confirmed, False when it is still there after timeout, GONE when it
        had already ended (or its pid belongs to another session now).
        """
        if self.server_version_num >= 140000:
            timeout_ms = max(1, int(timeout * 1000))
            # The wait happens inside the statement: let it outlast the session's short statement_timeout.
            previous = self._one(RAISE_TIMEOUT_SQL, {"ms": str(timeout_ms + 1000)})[0]
            try:
                row = self._one(TERMINATE_WAIT_SQL, self._params(timeout_ms=timeout_ms))
            finally:
                self._one(RESTORE_TIMEOUT_SQL, {"previous": previous})
            return GONE if row is None else bool(row[0])
        # Before PostgreSQL 14 pg_terminate_backend() cannot wait; the caller polls alive().
        row = self._one(TERMINATE_SQL, self._params())
        return GONE if row is None else bool(row[0])
