"""The read-only report: blocked sessions, long-running ones, connection counts, the one-line summary."""
import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.activity_report import (
    blocked_sessions,
    connection_counts,
    long_running,
    summary,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.errors import PgLocksError
from ansible_collections.pynomaly.incident_response.plugins.modules.pg_locks import build_diff, validate

SETTINGS = {"max_connections": 100, "superuser_reserved_connections": 3}


def s(pid, **extra):
    base = {"pid": pid, "user": "app", "application": "api", "backend_type": "client backend", "state": "idle",
            "blocking_pids": [], "query_age": 1.0, "xact_age": None, "wait_seconds": None}
    base.update(extra)
    return base


SESSIONS = [
    s(1, state="idle in transaction", xact_age=120.0),
    s(2, state="active", blocking_pids=[1], wait_seconds=50.0, query_age=50.0, xact_age=50.0),
    s(3, state="active", blocking_pids=[1], wait_seconds=80.0, query_age=80.0, xact_age=80.0),
    s(4, user="postgres", application="ansible-pg_locks", state="active", query_age=0.0),
    s(5, backend_type="walsender", user="replicator", state="active", query_age=9999.0),
    s(6), s(7, user="report", application="metabase"),
]


def test_blocked_sessions_longest_wait_first():
    assert [(b["pid"], b["blocked_by"]) for b in blocked_sessions(SESSIONS)] == [(3, [1]), (2, [1])]


def test_long_running_excludes_the_module_itself_and_non_client_backends():
    rows = long_running(SESSIONS, 60, own_pid=4)
    assert [(r["pid"], r["duration"]) for r in rows] == [(1, 120.0), (3, 80.0)]
    assert rows[1]["waiting_on_lock"] is True


def test_connections_count_client_backends_against_max_connections():
    conns = connection_counts(SESSIONS, SETTINGS)
    assert conns["total"] == 6 and conns["percent_used"] == 6.0
    assert conns["available_to_non_superusers"] == 91
    assert conns["by_state"] == {"active": 3, "idle": 2, "idle in transaction": 1}
    assert conns["by_user"]["app"] == 4 and "replicator" not in conns["by_user"]
    assert next(iter(conns["by_application"])) == "api"


def test_sessions_hidden_from_an_unprivileged_login_still_count_as_connections():
    hidden = [s(50, user="postgres", backend_type=None, state=None), s(51, user=None, backend_type=None, state=None)]
    conns = connection_counts(SESSIONS + hidden, SETTINGS)
    assert conns["total"] == 7 and conns["by_state"]["unknown"] == 1


def test_summary_names_the_worst_blocker_the_load_and_what_was_done():
    roots = [{"pid": 1, "user": "app", "application": "api", "state": "idle in transaction", "holds_up": 2}]
    actions = [{"pid": 1, "what": "terminate", "result": "terminated", "effective": True}]
    text = summary(blocked_sessions(SESSIONS), roots, long_running(SESSIONS, 60, 4),
                   connection_counts(SESSIONS, SETTINGS), actions, min_duration=60)
    assert text == ("2 sessions blocked behind 1 root blocker; worst: pid 1 (app, api, idle in transaction) "
                    "holds up 2; 2 long-running sessions older than 60s (oldest pid 1, 120s); "
                    "6/100 connections (6.0%); 1 session signalled: pid 1 terminated.")
    quiet = summary([], [], [], connection_counts([s(9)], SETTINGS), [], check_mode=True, min_duration=60)
    assert quiet == "no blocked sessions; 1/100 connections (1.0%); no session signalled."


def test_diff_shows_terminated_sessions_leaving_and_cancelled_ones_staying():
    planned = [{"pid": 1, "user": "app", "database": "db", "application": "api", "state": "idle in transaction",
                "query": "UPDATE t"},
               {"pid": 2, "user": "app", "database": "db", "application": "api", "state": "active", "query": "SELECT"}]
    diff = build_diff(planned, [{"pid": 1, "result": "check mode: would terminate"},
                                {"pid": 2, "result": "check mode: would cancel"}])
    assert "pid 1" in diff["before"] and "pid 1" not in diff["after"]
    assert "pid 2" in diff["after"] and "cancelled" in diff["after"]


def params(**kw):
    base = {"min_wait": 30.0, "min_duration": 300.0, "escalate_after": 10.0, "signal_timeout": 5.0,
            "query_timeout": 3.0, "max_sessions": 5, "max_query_length": 1000, "application_name": "ansible-pg_locks"}
    base.update(kw)
    return base


@pytest.mark.parametrize(("bad", "message"), [
    ({"min_wait": -1}, "min_wait must be 0 or more"),
    ({"min_duration": -0.5}, "min_duration must be 0 or more"),
    ({"escalate_after": -3}, "escalate_after must be 0 or more"),
    ({"signal_timeout": 0}, "signal_timeout must be more than 0"),
    ({"query_timeout": -1}, "query_timeout must be more than 0"),
    ({"max_sessions": 0}, "max_sessions must be 1 or more"),
    ({"application_name": " "}, "application_name must not be empty"),
])
def test_bad_values_are_refused_before_connecting(bad, message):
    with pytest.raises(PgLocksError) as err:
        validate(params(**bad))
    assert message in str(err.value) and "Nothing was signalled" in str(err.value)


def test_zero_waits_are_valid():
    validate(params(min_wait=0, min_duration=0, escalate_after=0))
