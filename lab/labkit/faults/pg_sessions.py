"""Real PostgreSQL sessions held open in threads: the lab's database incidents and the pg_locks tests use them.

A HeldSession connects, reports its pid and backend_start, runs its statements inside one transaction
and then either holds the transaction open (an idle-in-transaction blocker) or rolls it back (a victim
that finishes once its lock is granted). SessionGroup owns several and removes them all, even the ones
a playbook or a test has already terminated.
"""
import threading
import time

import psycopg2

from labkit.errors import LabError


class HeldSession:
    def __init__(self, params, application_name, statements, hold=True, on_error="rollback"):
        self.params = dict(params, application_name=application_name)
        self.application_name = application_name
        self.statements = list(statements)
        self.hold = hold
        self.on_error = on_error
        self.pid = None
        self.backend_start = None
        self.error = None
        self.connected = threading.Event()
        self.statements_done = threading.Event()
        self.finished = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._run, name=application_name, daemon=True)

    def start(self, timeout=10.0):
        self._thread.start()
        if not self.connected.wait(timeout) or self.pid is None:
            raise LabError(f"session {self.application_name} could not connect: {self.error}")
        return self

    def _run(self):
        conn = None
        try:
            conn = psycopg2.connect(**self.params)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT pid, backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()")
                self.pid, self.backend_start = cur.fetchone()
            conn.autocommit = False
            self.connected.set()
            with conn.cursor() as cur:
                for statement in self.statements:
                    cur.execute(statement)
            self.statements_done.set()
            if self.hold:
                self._release.wait()
            conn.rollback()
        except psycopg2.Error as exc:
            self.error = exc
            if self.on_error == "hold" and conn is not None and not conn.closed:
                # A careless client: the failed transaction stays open (and keeps its locks) until released.
                self._release.wait()
        finally:
            self.connected.set()
            if conn is not None:
                try:
                    conn.close()
                except psycopg2.Error:
                    pass
            self.finished.set()

    def release(self):
        self._release.set()

    def join(self, timeout):
        self._thread.join(timeout)
        return not self._thread.is_alive()


class SessionGroup:
    """Sessions whose application_name starts with ``prefix``; close() ends every one of them on the server."""

    def __init__(self, app_params, admin_params, prefix):
        self.app_params = app_params
        self.admin_params = admin_params
        self.prefix = prefix
        self.sessions = []

    def open(self, name, statements, superuser=False, hold=True, on_error="rollback"):
        params = self.admin_params if superuser else self.app_params
        session = HeldSession(params, f"{self.prefix}{name}", statements, hold=hold, on_error=on_error)
        self.sessions.append(session)
        return session.start()

    def _admin(self):
        conn = psycopg2.connect(**dict(self.admin_params, application_name=f"{self.prefix}admin"))
        conn.autocommit = True
        return conn

    def query(self, sql, params=None):
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise LabError(f"timed out after {timeout}s waiting for {what}")

    def waiting_pids(self):
        rows = self.query("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                          "AND starts_with(application_name, %s)", (self.prefix,))
        return {row[0] for row in rows}

    def wait_blocked(self, sessions, timeout=10.0):
        pids = {s.pid for s in sessions}
        self.wait_for(lambda: pids <= self.waiting_pids(), timeout, f"sessions {sorted(pids)} to wait on a lock")

    def alive(self, session):
        rows = self.query("SELECT 1 FROM pg_stat_activity WHERE pid = %s AND backend_start = %s::timestamptz",
                          (session.pid, session.backend_start))
        return bool(rows)

    def server_sessions(self):
        return self.query("SELECT pid, application_name, state FROM pg_stat_activity "
                          "WHERE starts_with(application_name, %s) AND pid <> pg_backend_pid()", (self.prefix,))

    def close(self, timeout=10.0):
        """Release every session, terminate what is left on the server, and wait until none remains."""
        for session in self.sessions:
            session.release()
        try:
            self.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE starts_with(application_name, %s) AND pid <> pg_backend_pid()", (self.prefix,))
            self.wait_for(lambda: not self.server_sessions(), timeout, f"sessions {self.prefix}* to end")
        except psycopg2.OperationalError:
            pass  # the server is gone, and every session with it
        for session in self.sessions:
            session.join(timeout)
        self.sessions = []
