# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only part of pg_locks' result: blocked sessions, long-running ones, connection counts and a
one-line summary. Pure functions over session dicts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.session_policy import (
    CLIENT_BACKEND,
    session_duration,
)

SESSION_FIELDS = ("pid", "user", "application", "client", "database", "state", "backend_start", "query")


def _public(session, extra=()):
    return dict((key, session.get(key)) for key in SESSION_FIELDS + tuple(extra))


def blocked_sessions(sessions):
    """Sessions waiting on a lock another session holds, the longest wait first."""
    blocked = [dict(_public(s, ("wait_seconds", "query_age", "xact_age", "lock")), blocked_by=s["blocking_pids"])
               for s in sessions if s.get("blocking_pids")]
    blocked.sort(key=lambda s: (-(s["wait_seconds"] or 0), s["pid"]))
    return blocked


def long_running(sessions, min_duration, own_pid):
    """Client sessions whose active query or open idle transaction is older than min_duration, oldest first."""
    rows = []
    for session in sessions:
        if session["pid"] == own_pid or session.get("backend_type") != CLIENT_BACKEND:
            continue
        duration = session_duration(session)
        if duration is None or duration < min_duration:
            continue
        row = _public(session, ("query_age", "xact_age", "wait_event_type", "wait_event"))
        row["duration"] = duration
        row["waiting_on_lock"] = bool(session.get("blocking_pids"))
        rows.append(row)
    rows.sort(key=lambda r: (-r["duration"], r["pid"]))
    return rows


def _count(sessions, key):
    counts = {}
    for session in sessions:
        name = session.get(key) or ("unknown" if key == "state" else "")
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def connection_counts(sessions, settings):
    """Client connections by state, user and application versus max_connections."""
    # A role without pg_read_all_stats sees other roles' sessions with their type and state hidden; those with a
    # user are counted as clients (state "unknown"), since they take a connection slot all the same.
    clients = [s for s in sessions if s.get("backend_type") == CLIENT_BACKEND
               or (s.get("backend_type") is None and s.get("user"))]
    max_connections = settings["max_connections"]
    reserved = settings["superuser_reserved_connections"]
    total = len(clients)
    return {
        "total": total,
        "max_connections": max_connections,
        "superuser_reserved_connections": reserved,
        "available_to_non_superusers": max(0, max_connections - reserved - total),
        "percent_used": round(100.0 * total / max_connections, 1) if max_connections else None,
        "by_state": _count(clients, "state"),
        "by_user": _count(clients, "user"),
        "by_application": _count(clients, "application"),
    }


def _plural(count, word):
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def _done(actions, check_mode):
    if not actions:
        return "no session signalled"
    if check_mode:
        return "would signal %s (check mode)" % ", ".join("pid %s: %s" % (a["pid"], a["what"]) for a in actions)
    effective = [a for a in actions if a.get("effective")]
    return "%s: %s" % (_plural(len(effective), "session") + " signalled",
                       ", ".join("pid %s %s" % (a["pid"], a["result"]) for a in actions))


def summary(blocked, root_blockers, long_rows, connections, actions, check_mode=False, min_duration=None):
    """One sentence for the person on call."""
    parts = []
    if blocked:
        worst = root_blockers[0] if root_blockers else None
        text = "%s blocked" % _plural(len(blocked), "session")
        if worst:
            text += " behind %s; worst: pid %s (%s, %s, %s) holds up %d" % (
                _plural(len(root_blockers), "root blocker"), worst["pid"], worst.get("user") or "?",
                worst.get("application") or "no application_name", worst.get("state") or "unknown state",
                worst.get("holds_up", 0))
        parts.append(text)
    else:
        parts.append("no blocked sessions")
    if long_rows:
        parts.append("%s older than %ss (oldest pid %s, %.0fs)" % (
            _plural(len(long_rows), "long-running session"), min_duration, long_rows[0]["pid"],
            long_rows[0]["duration"]))
    parts.append("%d/%d connections (%s%%)" % (connections["total"], connections["max_connections"],
                                               connections["percent_used"]))
    parts.append(_done(actions, check_mode))
    return "; ".join(parts) + "."
