"""The guard rails: who is never signalled, who qualifies, and how each one is signalled."""
import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.errors import TooManySessionsError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.session_policy import (
    SessionPolicy,
    enforce_max_sessions,
    is_anti_wraparound,
    plan_signals,
    select_blockers,
    select_long_running,
    session_duration,
)

OWN_PID = 999


def s(pid=1, **extra):
    base = {"pid": pid, "user": "app", "application": "api", "backend_type": "client backend", "state": "active",
            "superuser": False, "query": "UPDATE t SET x = 1", "backend_start": "2026-01-01T00:00:00+00:00",
            "query_age": 10.0, "xact_age": 20.0}
    base.update(extra)
    return base


def policy(**kw):
    return SessionPolicy(own_pid=OWN_PID, own_application="ansible-pg_locks", **kw)


WRAPAROUND = s(backend_type="autovacuum worker", user=None,
               query="autovacuum: VACUUM public.anomalies (to prevent wraparound)")


@pytest.mark.parametrize(("session", "reason"), [
    (s(pid=OWN_PID), "own session"),
    (s(application="ansible-pg_locks"), "application_name"),
    (s(backend_type="walsender"), "walsender, not a client backend"),
    (s(backend_type="background worker"), "not a client backend"),
    (s(backend_type="autovacuum worker", query="autovacuum: VACUUM public.t"), "allow_autovacuum"),
    (WRAPAROUND, "anti-wraparound"),
    (s(superuser=True), "superuser"),
    (s(visible=False, user=None), "not visible"),
    (s(backend_start=None, state=None, query="<insufficient privilege>"), "pg_read_all_stats"),
], ids=["own-pid", "own-application", "walsender", "background-worker", "autovacuum", "anti-wraparound",
        "superuser", "invisible", "hidden-details"])
def test_protected_sessions(session, reason):
    assert reason in policy().protection(session)


def test_a_plain_client_session_may_be_signalled():
    assert policy().protection(s()) is None


def test_allow_flags_loosen_only_their_own_guard():
    assert policy(allow_superuser=True).protection(s(superuser=True)) is None
    autovacuum = s(backend_type="autovacuum worker", query="autovacuum: VACUUM public.t")
    assert policy(allow_autovacuum=True).protection(autovacuum) is None


def test_anti_wraparound_autovacuum_is_never_signalled_even_when_everything_is_allowed():
    assert is_anti_wraparound(WRAPAROUND)
    loose = policy(allow_autovacuum=True, allow_superuser=True)
    assert "anti-wraparound" in loose.protection(WRAPAROUND)


def test_exclusions_take_shell_wildcards():
    rules = policy(exclude_users=["replic*"], exclude_applications=["pg_dump*", "pgbouncer"])
    assert "exclude_users" in rules.protection(s(user="replicator"))
    assert "exclude_applications" in rules.protection(s(application="pg_dump_nightly"))
    assert "exclude_applications" in rules.protection(s(application="pgbouncer"))
    assert rules.protection(s(application="pgbouncer-2")) is None
    assert rules.protection(s(user="app")) is None


def root(pid, waited, **extra):
    return s(pid, max_victim_wait=waited, holds_up=2, **extra)


def test_blockers_qualify_once_their_victims_waited_min_wait():
    targets, spared = select_blockers([root(1, 30.0), root(2, 29.9), root(3, 100.0, superuser=True)], policy(), 30)
    assert [t["pid"] for t in targets] == [1]
    assert "holding up 2" in targets[0]["why"]
    reasons = {x["pid"]: x["reason"] for x in spared}
    assert "less than min_wait" in reasons[2] and "superuser" in reasons[3]


def test_long_running_measures_queries_and_open_transactions_oldest_first():
    sessions = [
        s(1, state="active", query_age=50.0, xact_age=500.0),
        s(2, state="idle in transaction", query_age=1.0, xact_age=400.0),
        s(3, state="idle", query_age=9000.0, xact_age=None),
        s(4, state="active", query_age=5.0),
        s(OWN_PID, state="active", query_age=1000.0),
    ]
    assert session_duration(sessions[0]) == 50.0 and session_duration(sessions[1]) == 400.0
    assert session_duration(sessions[2]) is None
    targets, spared = select_long_running(sessions, policy(), 30)
    assert [t["pid"] for t in targets] == [2, 1]
    assert spared == [], "the module's own session is not even listed"


def test_a_cancel_cannot_free_an_idle_transaction():
    idle = s(1, state="idle in transaction")
    planned, spared = plan_signals([idle, s(2)], "cancel")
    assert [(p["pid"], p["step"]) for p in planned] == [(2, "cancel")]
    assert "no effect" in spared[0]["reason"]
    planned, spared = plan_signals([idle, s(2)], "cancel_then_terminate")
    assert [(p["pid"], p["step"]) for p in planned] == [(1, "terminate"), (2, "cancel_then_terminate")]
    assert spared == []


def test_each_planned_signal_keeps_the_backend_identity_used_against_pid_reuse():
    planned, _ = plan_signals([s(7, backend_start="2026-11-27T05:00:00.123456+00:00")], "terminate")
    assert planned[0]["pid"] == 7 and planned[0]["backend_start"] == "2026-11-27T05:00:00.123456+00:00"


def test_max_sessions_refuses_the_whole_run_and_lists_the_sessions():
    planned, _ = plan_signals([s(i) for i in range(1, 4)], "terminate")
    enforce_max_sessions(planned, 3, "terminate")
    with pytest.raises(TooManySessionsError) as err:
        enforce_max_sessions(planned, 2, "terminate")
    assert "3 sessions qualify" in str(err.value) and "nothing was signalled" in str(err.value)
    assert [x["pid"] for x in err.value.details["sessions"]] == [1, 2, 3]
