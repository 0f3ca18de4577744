#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pg_locks
short_description: Triage PostgreSQL lock pile-ups and long sessions, and contain them safely
version_added: 0.1.0
description:
  - Reads, in one snapshot, the sessions that wait on a lock with the lock they wait on, the blocking
    chains built from C(pg_blocking_pids()) (the lock tree) and the root blockers, the long-running
    queries and idle-in-transaction sessions, and the connection counts versus C(max_connections).
  - With O(action) other than V(report), cancels and/or terminates the root blockers whose victims
    have waited at least O(min_wait) seconds (or, with O(target=long_running), the sessions older than
    O(min_duration)), within guard rails that can only be loosened explicitly.
  - Never signals superusers (unless O(allow_superuser)), non-client backends (walsenders, background
    workers, autovacuum unless O(allow_autovacuum)), an anti-wraparound autovacuum (never), its own
    session or any session using O(application_name), nor the users and applications excluded.
  - Before each signal it re-checks that the pid still belongs to the selected backend (same
    C(backend_start)), so a reused pid is never signalled; each terminate is confirmed with
    C(pg_terminate_backend(pid, timeout)).
  - Check mode sends no signal and returns the actions a real run would take; diff mode shows the
    sessions that would be cancelled or terminated.
author:
  - Pynomaly Platform Engineering (@pynomaly)
extends_documentation_fragment:
  - pynomaly.incident_response.postgres
attributes:
  check_mode:
    support: full
    description: No signal is sent; RV(actions) lists what a real run would do.
  diff_mode:
    support: full
    description: Shows the sessions that would be (or were) cancelled or terminated.
options:
  application_name:
    description:
      - C(application_name) of the module's own session, so it can be recognised in C(pg_stat_activity).
      - Sessions using this name (the module's own, and concurrent runs of it) are never signalled.
    type: str
    default: ansible-pg_locks
  action:
    description:
      - V(report) only reads.
      - V(cancel) cancels the running statement of each selected session (C(pg_cancel_backend)); it has no
        effect on a session that is idle in transaction, so those are left alone and listed in RV(spared).
      - V(terminate) ends each selected session (C(pg_terminate_backend)).
      - V(cancel_then_terminate) cancels first, waits up to O(escalate_after) seconds and terminates what
        still blocks (or still runs, with O(target=long_running)); idle-in-transaction sessions are
        terminated at once since a cancel cannot free them.
    type: str
    default: report
    choices: [ report, cancel, terminate, cancel_then_terminate ]
  target:
    description:
      - V(blockers) acts on root blockers (sessions that block others and wait on nobody) whose victims
        have waited at least O(min_wait) seconds.
      - V(long_running) acts on active queries and idle-in-transaction sessions older than O(min_duration).
    type: str
    default: blockers
    choices: [ blockers, long_running ]
  min_wait:
    description:
      - Seconds the longest-waiting victim of a root blocker must have waited before the blocker is acted on.
    type: float
    default: 30
  min_duration:
    description:
      - Seconds after which a session is reported in RV(long_running) (and, with O(target=long_running),
        acted on). An active session's age is its current query's; an idle-in-transaction session's age
        is its open transaction's.
    type: float
    default: 300
  escalate_after:
    description:
      - With O(action=cancel_then_terminate), seconds to wait after the cancel before terminating the
        sessions that still block or run. The wait ends as soon as they stop.
    type: float
    default: 10
  signal_timeout:
    description:
      - Seconds to wait for a cancel to interrupt a statement, and for a terminated session to exit
        (passed to C(pg_terminate_backend(pid, timeout))). An unconfirmed terminate fails the task.
    type: float
    default: 5
  max_sessions:
    description:
      - Most sessions one run may signal. When more qualify, the task fails without signalling any and
        lists them.
    type: int
    default: 5
  allow_superuser:
    description:
      - Also act on sessions of superusers.
    type: bool
    default: false
  allow_autovacuum:
    description:
      - Also act on autovacuum workers. An anti-wraparound autovacuum is never signalled.
    type: bool
    default: false
  exclude_users:
    description:
      - Users whose sessions are never signalled. Shell-style wildcards (V(replicator*)) are allowed.
    type: list
    elements: str
    default: []
  exclude_applications:
    description:
      - C(application_name)s whose sessions are never signalled. Shell-style wildcards (V(pg_dump*)) are allowed.
    type: list
    elements: str
    default: []
  query_timeout:
    description:
      - Seconds allowed to each of the module's own statements (its session's C(statement_timeout) and
        C(lock_timeout)), so reading C(pg_blocking_pids()) on a server in trouble cannot hang the task.
    type: float
    default: 3
  max_query_length:
    description:
      - Characters of each session's query text returned.
    type: int
    default: 1000
notes:
  - The login role needs C(pg_read_all_stats) (or superuser) to see other roles' queries and
    C(pg_signal_backend) (or to be the sessions' role, or superuser) to signal them.
  - Requires PostgreSQL 9.6 or later; confirmed terminates and lock wait start times need PostgreSQL 14 or later.
seealso:
  - name: Server signalling functions
    description: pg_cancel_backend and pg_terminate_backend.
    link: https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADMIN-SIGNAL
  - name: pg_blocking_pids
    description: How the blocking chains are found.
    link: https://www.postgresql.org/docs/current/functions-info.html
'''

EXAMPLES = r'''
- name: What is blocking the database right now?
  pynomaly.incident_response.pg_locks:
    login_host: db.example.internal
    login_user: postgres
    login_password: "{{ vault_pg_password }}"
    login_db: pynomaly
  register: locks

- name: Say it in one line
  ansible.builtin.debug:
    msg: "{{ locks.summary }}"

- name: Free the pile-up - cancel root blockers whose victims waited 30 s, terminate them 10 s later if needed
  pynomaly.incident_response.pg_locks:
    action: cancel_then_terminate
    min_wait: 30
    escalate_after: 10
    max_sessions: 3
    exclude_applications:
      - pg_dump*
      - pgbouncer

- name: End transactions left idle for more than 15 minutes by the app role
  pynomaly.incident_response.pg_locks:
    action: terminate
    target: long_running
    min_duration: 900
    exclude_users:
      - replicator
'''

RETURN = r'''
summary:
  description: One sentence for the person on call - blocked sessions, worst root blocker, long-running sessions,
    connections used and what was done.
  returned: always
  type: str
  sample: "3 sessions blocked behind 1 root blocker; worst: pid 4242 (pynomaly, api, idle in transaction) holds up 3;
    92/100 connections (92.0%); 1 session signalled: pid 4242 terminated."
blocked:
  description: Sessions waiting on a lock held by another session, the longest wait first.
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: Backend pid.
      type: int
    user:
      description: Role of the session.
      type: str
    application:
      description: Its application_name.
      type: str
    client:
      description: Client address and port, or V(local socket).
      type: str
    database:
      description: Database of the session.
      type: str
    state:
      description: Session state (V(active) while waiting).
      type: str
    wait_seconds:
      description: Seconds it has waited for the lock.
      type: float
    query:
      description: The statement that waits.
      type: str
    lock:
      description: The lock it waits on.
      type: dict
      contains:
        locktype:
          description: V(relation), V(tuple), V(transactionid) and so on.
          type: str
        mode:
          description: Lock mode requested.
          type: str
        relation:
          description: Table or index name, when the lock is on one.
          type: str
    blocked_by:
      description: Pids of the sessions it waits on (C(pg_blocking_pids)).
      type: list
      elements: int
  sample: [{"pid": 4250, "user": "pynomaly", "application": "api", "wait_seconds": 41.2,
            "lock": {"locktype": "transactionid", "mode": "ShareLock", "relation": null}, "blocked_by": [4242]}]
lock_tree:
  description: One nested tree per root blocker; each blocked session appears once, under the blocker
    nearest to the root, with its full C(blocked_by) list and how many sessions it holds up.
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "holds_up": 3, "blocked_by": [], "children": [{"pid": 4250, "holds_up": 2,
            "blocked_by": [4242], "children": [{"pid": 4251, "holds_up": 1, "children": []}]}]}]
root_blockers:
  description: Sessions that block others and wait on nobody, the one holding up most sessions first,
    with their state, transaction and query age, and C(protected) (why the module will not signal it, or null).
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "user": "pynomaly", "state": "idle in transaction", "holds_up": 3, "blocks_directly": 1,
            "xact_age": 125.3, "query_age": 124.9, "max_victim_wait": 41.2, "protected": null}]
lock_cycles:
  description: Blocked sessions that no root blocker reaches (they wait on each other; the server's deadlock
    detector breaks such cycles).
  returned: always
  type: list
  elements: int
long_running:
  description: Client sessions whose active query or idle open transaction is older than O(min_duration),
    oldest first (C(duration) in seconds).
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "state": "idle in transaction", "duration": 125.3, "waiting_on_lock": false}]
connections:
  description: Client connections by state, user and application versus C(max_connections). Sessions whose details
    the login role may not see (no C(pg_read_all_stats)) count under the state V(unknown).
  returned: always
  type: dict
  sample: {"total": 92, "max_connections": 100, "percent_used": 92.0, "superuser_reserved_connections": 3,
           "available_to_non_superusers": 5, "by_state": {"idle": 85, "active": 6, "idle in transaction": 1},
           "by_user": {"pynomaly": 91, "postgres": 1}, "by_application": {"api": 90, "ansible-pg_locks": 1}}
actions:
  description: One record per session signalled (or, in check mode, that would be). C(effective) is true when
    the signal took effect; C(changed) is true only then (in check mode, when a real run would signal).
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "user": "pynomaly", "application": "api", "what": "terminate",
            "why": "root blocker holding up 3 session(s); the longest has waited 41.2s (min_wait 30.0s)",
            "result": "terminated", "effective": true}]
spared:
  description: Candidates the module did not signal, each with its C(reason) (superuser, excluded, victims not
    waiting long enough, idle in transaction under O(action=cancel)...).
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4300, "user": "postgres", "application": "psql",
            "reason": "a superuser session (set allow_superuser to include it)"}]
sessions:
  description: With O(max_sessions) exceeded, the sessions that qualified (nothing was signalled).
  returned: failure
  type: list
  elements: dict
server_version:
  description: The server's version string.
  returned: always
  type: str
  sample: "15.18 (Debian 15.18-0+deb12u1)"
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.activity_report import (
    blocked_sessions,
    connection_counts,
    long_running,
    summary,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.connection import (
    HAS_PSYCOPG2,
    PSYCOPG2_IMPORT_ERROR,
    PostgresConnectionError,
    connect,
    postgres_argument_spec,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.containment import (
    Containment,
    would_do,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.errors import PgLocksError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.lock_tree import LockTree
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.locks import ActivitySnapshot
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.session_policy import (
    SessionPolicy,
    enforce_max_sessions,
    plan_signals,
    select_blockers,
    select_long_running,
)


def argument_spec():
    spec = postgres_argument_spec()
    spec.update(
        application_name=dict(type="str", default="ansible-pg_locks"),
        action=dict(type="str", default="report", choices=["report", "cancel", "terminate", "cancel_then_terminate"]),
        target=dict(type="str", default="blockers", choices=["blockers", "long_running"]),
        min_wait=dict(type="float", default=30),
        min_duration=dict(type="float", default=300),
        escalate_after=dict(type="float", default=10),
        signal_timeout=dict(type="float", default=5),
        max_sessions=dict(type="int", default=5),
        allow_superuser=dict(type="bool", default=False),
        allow_autovacuum=dict(type="bool", default=False),
        exclude_users=dict(type="list", elements="str", default=[]),
        exclude_applications=dict(type="list", elements="str", default=[]),
        query_timeout=dict(type="float", default=3),
        max_query_length=dict(type="int", default=1000),
    )
    return spec


def validate(params):
    """Reject bad values before connecting, so bad input never reaches the server."""
    errors = []
    for name in ("min_wait", "min_duration", "escalate_after"):
        if params[name] < 0:
            errors.append("%s must be 0 or more seconds, got %s" % (name, params[name]))
    for name in ("signal_timeout", "query_timeout"):
        if params[name] <= 0:
            errors.append("%s must be more than 0 seconds, got %s" % (name, params[name]))
    for name in ("max_sessions", "max_query_length"):
        if params[name] < 1:
            errors.append("%s must be 1 or more, got %s" % (name, params[name]))
    if not (params["application_name"] or "").strip():
        errors.append("application_name must not be empty: it is how the module's own session is recognised")
    if errors:
        raise PgLocksError("invalid options: %s. Nothing was signalled." % "; ".join(errors))


def _diff_line(session):
    return "pid %s %s@%s app=%s %s: %s" % (
        session["pid"], session.get("user"), session.get("database"), session.get("application") or "",
        session.get("state"), (session.get("query") or "").replace("\n", " ")[:200])


def build_diff(planned, actions):
    """Sessions before, and what is left of them after, the signals (real or planned)."""
    results = dict((a["pid"], a["result"]) for a in actions)
    before, after = [], []
    for session in planned:
        line = _diff_line(session)
        before.append(line)
        result = results.get(session["pid"], "")
        if "terminate" in result and "not confirmed" not in result:
            continue
        if "cancel" in result and "still" not in result:
            after.append(line + "  <- statement cancelled")
        else:
            after.append(line)
    return {"before_header": "sessions to signal", "after_header": "sessions left",
            "before": "\n".join(before) + "\n", "after": "\n".join(after) + ("\n" if after else "")}


class LockTriage(object):
    """One run of the module: snapshot, report, select, and (unless check mode) signal."""

    def __init__(self, conn, params, check_mode):
        self.conn = conn
        self.params = params
        self.check_mode = check_mode
        self.planned = []
        self.result = {}

    def report(self):
        params = self.params
        snapshot = ActivitySnapshot(self.conn, params["query_timeout"], params["max_query_length"])
        settings = snapshot.prepare()
        self.settings = settings
        self.sessions = snapshot.sessions()
        self.tree = LockTree(self.sessions)
        self.policy = SessionPolicy(
            own_pid=settings["own_pid"], own_application=params["application_name"],
            allow_superuser=params["allow_superuser"], allow_autovacuum=params["allow_autovacuum"],
            exclude_users=params["exclude_users"], exclude_applications=params["exclude_applications"])
        self.roots = self.tree.root_blockers()
        for root in self.roots:
            root["protected"] = self.policy.protection(root)
        self.result = {
            "server_version": settings["server_version"],
            "blocked": blocked_sessions(self.sessions),
            "lock_tree": self.tree.forest(),
            "root_blockers": self.roots,
            "lock_cycles": self.tree.in_cycles(),
            "long_running": long_running(self.sessions, params["min_duration"], settings["own_pid"]),
            "connections": connection_counts(self.sessions, settings),
            "actions": [],
            "spared": [],
        }
        return self.result

    def plan(self):
        params = self.params
        if params["action"] == "report":
            return []
        if params["target"] == "blockers":
            targets, skipped = select_blockers(self.roots, self.policy, params["min_wait"])
        else:
            targets, skipped = select_long_running(self.sessions, self.policy, params["min_duration"])
        self.planned, not_signalled = plan_signals(targets, params["action"])
        self.result["spared"] = skipped + not_signalled
        enforce_max_sessions(self.planned, params["max_sessions"], params["action"])
        return self.planned

    def act(self):
        params = self.params
        if self.check_mode:
            actions = [would_do(p, params["target"], params["escalate_after"]) for p in self.planned]
        else:
            containment = Containment(self.conn, self.settings["server_version_num"], params["target"],
                                      params["escalate_after"], params["signal_timeout"])
            actions = containment.run(self.planned)
        self.result["actions"] = actions
        return actions

    def finish(self):
        result = self.result
        actions = result["actions"]
        result["changed"] = bool(actions) if self.check_mode else any(a["effective"] for a in actions)
        result["summary"] = summary(result["blocked"], result["root_blockers"], result["long_running"],
                                    result["connections"], actions, self.check_mode, self.params["min_duration"])
        return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=str(PSYCOPG2_IMPORT_ERROR))

    conn = None
    triage = None
    try:
        validate(module.params)
        conn = connect(module.params, application_name=module.params["application_name"])
        triage = LockTriage(conn, module.params, module.check_mode)
        triage.report()
        triage.plan()
        triage.act()
        result = triage.finish()
    except PostgresConnectionError as exc:
        module.fail_json(msg="%s. Nothing was signalled." % exc, changed=False)
    except PgLocksError as exc:
        failed = dict(triage.result) if triage else {}
        failed.update(exc.details)
        actions = failed.get("actions") or []
        failed["changed"] = any(a.get("effective") for a in actions)
        module.fail_json(msg=str(exc), **failed)
    finally:
        if conn is not None:
            conn.close()

    if module._diff and triage.planned:
        result["diff"] = build_diff(triage.planned, result["actions"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
