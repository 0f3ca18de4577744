# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which sessions pg_locks may signal, and how. Pure rules over session dicts, no database access."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from fnmatch import fnmatchcase

from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.errors import TooManySessionsError

CLIENT_BACKEND = "client backend"
AUTOVACUUM_WORKER = "autovacuum worker"
ANTI_WRAPAROUND_MARK = "(to prevent wraparound)"
IDLE_IN_TRANSACTION = ("idle in transaction", "idle in transaction (aborted)")


def is_anti_wraparound(session):
    """An autovacuum run that stops transaction-id wraparound; killing it only makes it restart later."""
    return session.get("backend_type") == AUTOVACUUM_WORKER and ANTI_WRAPAROUND_MARK in (session.get("query") or "")


def is_idle_in_transaction(session):
    return session.get("state") in IDLE_IN_TRANSACTION


def session_duration(session):
    """How long a session has been doing the thing that makes it long-running, or None.

    Active: the age of its current query. Idle in transaction: the age of its open transaction,
    since that is how long it has been holding its locks and the vacuum horizon.
    """
    if session.get("state") == "active":
        return session.get("query_age")
    if is_idle_in_transaction(session):
        return session.get("xact_age")
    return None


def _matches(value, patterns):
    return value is not None and any(fnmatchcase(value, pattern) for pattern in patterns)


class SessionPolicy(object):
    """The guard rails: which sessions are never signalled, and why."""

    def __init__(self, own_pid, own_application=None, allow_superuser=False, allow_autovacuum=False,
                 exclude_users=(), exclude_applications=()):
        self.own_pid = own_pid
        self.own_application = own_application
        self.allow_superuser = allow_superuser
        self.allow_autovacuum = allow_autovacuum
        self.exclude_users = list(exclude_users or ())
        self.exclude_applications = list(exclude_applications or ())

    def protection(self, session):
        """The reason this session must not be signalled, or None when it may be."""
        if not session.get("visible", True):
            return "not visible in pg_stat_activity (a prepared transaction, or a session that just ended)"
        if session["pid"] == self.own_pid:
            return "the module's own session"
        if not session.get("backend_start"):
            # Without it the pid-reuse check is impossible; PostgreSQL hides it from roles lacking pg_read_all_stats.
            return "its details are hidden from the login role (grant it pg_read_all_stats)"
        if self.own_application and session.get("application") == self.own_application:
            return "runs under this module's application_name %r" % self.own_application
        backend_type = session.get("backend_type")
        if is_anti_wraparound(session):
            return "an anti-wraparound autovacuum, which is never signalled"
        if backend_type == AUTOVACUUM_WORKER:
            if not self.allow_autovacuum:
                return "an autovacuum worker (set allow_autovacuum to include it)"
        elif backend_type != CLIENT_BACKEND:
            return "a %s, not a client backend" % (backend_type or "backend of unknown type")
        if session.get("superuser") and not self.allow_superuser:
            return "a superuser session (set allow_superuser to include it)"
        if _matches(session.get("user"), self.exclude_users):
            return "user %r is in exclude_users" % session.get("user")
        if _matches(session.get("application"), self.exclude_applications):
            return "application %r is in exclude_applications" % session.get("application")
        return None


def _skip(session, reason):
    return {"pid": session["pid"], "user": session.get("user"), "application": session.get("application"),
            "reason": reason}


def select_blockers(root_blockers, policy, min_wait):
    """Root blockers whose victims have waited at least min_wait seconds and that policy allows.

    Returns (targets, skipped); each target carries a ``why`` sentence.
    """
    targets, skipped = [], []
    for root in root_blockers:
        waited = root.get("max_victim_wait") or 0
        if waited < min_wait:
            skipped.append(_skip(root, "its victims have waited %.1fs, less than min_wait %ss" % (waited, min_wait)))
            continue
        reason = policy.protection(root)
        if reason:
            skipped.append(_skip(root, reason))
            continue
        target = dict(root)
        target["why"] = "root blocker holding up %d session(s); the longest has waited %.1fs (min_wait %ss)" % (
            root.get("holds_up", 0), waited, min_wait)
        targets.append(target)
    return targets, skipped


def select_long_running(sessions, policy, min_duration):
    """Active queries and idle-in-transaction sessions older than min_duration that policy allows, oldest first."""
    targets, skipped = [], []
    for session in sorted(sessions, key=lambda s: -(session_duration(s) or 0)):
        duration = session_duration(session)
        if duration is None or duration < min_duration:
            continue
        reason = policy.protection(session)
        if reason:
            if session["pid"] != policy.own_pid:
                skipped.append(_skip(session, reason))
            continue
        target = dict(session)
        if session.get("state") == "active":
            target["why"] = "query running for %.1fs (min_duration %ss)" % (duration, min_duration)
        else:
            target["why"] = "%s, transaction open for %.1fs (min_duration %ss)" % (
                session.get("state"), duration, min_duration)
        targets.append(target)
    return targets, skipped


def plan_signals(targets, action):
    """Decide the signal for each target. Returns (planned, skipped).

    A cancel only interrupts a running statement: it does nothing to a session that is idle in
    transaction, so ``cancel`` skips those and ``cancel_then_terminate`` terminates them at once.
    """
    planned, skipped = [], []
    for target in targets:
        step = action
        if is_idle_in_transaction(target):
            if action == "cancel":
                skipped.append(_skip(target, "idle in transaction: a cancel has no effect on it "
                                             "(use action=terminate or cancel_then_terminate)"))
                continue
            if action == "cancel_then_terminate":
                step = "terminate"
        planned.append(dict(target, step=step))
    return planned, skipped


def enforce_max_sessions(planned, max_sessions, action):
    """Refuse the whole run when it would signal more than max_sessions sessions."""
    if len(planned) > max_sessions:
        sessions = [{"pid": p["pid"], "user": p.get("user"), "application": p.get("application"),
                     "state": p.get("state"), "why": p.get("why")} for p in planned]
        raise TooManySessionsError(
            "%d sessions qualify for %s but max_sessions is %d; nothing was signalled. Review the list, then "
            "raise max_sessions or narrow the selection (min_wait, min_duration, exclude_users, "
            "exclude_applications)." % (len(planned), action, max_sessions),
            sessions=sessions)
