"""pg_locks on the lab's PostgreSQL with real sessions: check mode changes nothing, a real run frees the
victims and spares the protected sessions, a rerun changes nothing."""
import time

ROW = "UPDATE anomalies SET label = label WHERE id = {}"  # the lab seeds at least 100 anomalies


def row(i):
    return ROW.format(i)


def pids(items):
    """Pids of result records (dicts) or of held sessions."""
    return {item["pid"] if isinstance(item, dict) else item.pid for item in items}


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def open_chain(sessions, first_row):
    """An idle-in-transaction blocker on first_row and a chain of 3: each victim holds the row the next wants."""
    blocker = sessions.open("blocker", [row(first_row)])
    victims = []
    for i in range(3):
        own = [row(first_row + i + 1)] if i < 2 else []
        victim = sessions.open(f"victim{i}", [*own, row(first_row + i)], hold=False)
        sessions.wait_blocked([victim])
        victims.append(victim)
    return blocker, victims


def assert_all_alive(sessions, held):
    for session in held:
        assert sessions.alive(session), f"pid {session.pid} ({session.application_name}) was ended"


def test_idle_in_transaction_blocker_with_chain_of_three(sessions, pg_locks, pg_locks_steps):
    blocker, victims = open_chain(sessions, 11)
    args = {"action": "terminate", "min_wait": 0, "min_duration": 0}

    checked = pg_locks(args, check=True, diff=True)
    assert checked["changed"] is True, checked
    assert [a["pid"] for a in checked["actions"]] == [blocker.pid]
    assert checked["actions"][0]["result"] == "check mode: would terminate"
    assert str(blocker.pid) in checked["diff"]["before"] and str(blocker.pid) not in checked["diff"]["after"]
    assert_all_alive(sessions, [blocker, *victims])
    assert pids(victims) <= sessions.waiting_pids(), "check mode let the victims through"

    # The report, read from the check run: the chain, its root and the locks waited on.
    root = next(r for r in checked["root_blockers"] if r["pid"] == blocker.pid)
    assert root["state"] == "idle in transaction" and root["holds_up"] == 3 and root["protected"] is None
    assert root["xact_age"] > 0 and root["user"] == "pynomaly"
    tree = next(t for t in checked["lock_tree"] if t["pid"] == blocker.pid)
    chain = [tree["pid"], tree["children"][0]["pid"], tree["children"][0]["children"][0]["pid"],
             tree["children"][0]["children"][0]["children"][0]["pid"]]
    assert chain == [blocker.pid] + [v.pid for v in victims]
    blocked = {b["pid"]: b for b in checked["blocked"]}
    assert blocked[victims[0].pid]["blocked_by"] == [blocker.pid]
    assert blocked[victims[0].pid]["lock"]["mode"] == "ShareLock"
    assert blocked[victims[0].pid]["application"] == victims[0].application_name
    assert blocked[victims[0].pid]["wait_seconds"] >= 0
    assert blocker.pid in pids(checked["long_running"])
    assert "blocked" in checked["summary"] and str(blocker.pid) in checked["summary"]

    done, again = pg_locks_steps((args, False), (args, False))  # real run, then the rerun
    assert done["changed"] is True, done
    assert [(a["pid"], a["result"], a["effective"]) for a in done["actions"]] == [(blocker.pid, "terminated", True)]
    assert not sessions.alive(blocker)
    for victim in victims:
        assert victim.finished.wait(10), f"victim {victim.pid} never got its lock"
        assert victim.error is None and victim.statements_done.is_set()
    assert again["changed"] is False and again["actions"] == []
    assert not pids(again["blocked"]) & pids([blocker, *victims])


def test_active_long_query_is_cancelled_then_terminated(sessions, pg_locks, pg_locks_steps):
    # The slow statement runs in a savepoint (as ORMs do) and the client never rolls back after the cancel:
    # only the savepoint aborts, so the transaction keeps its row lock and only a terminate frees it.
    blocker = sessions.open("active", [row(21), "SAVEPOINT work", "SELECT pg_sleep(60)"], on_error="hold")
    victims = [sessions.open(f"victim{i}", [row(21)], hold=False) for i in range(2)]
    sessions.wait_blocked(victims)
    wait_until(lambda: sessions.query("SELECT state FROM pg_stat_activity WHERE pid = %s",
                                      (blocker.pid,)) == [("active",)], what="the blocker to run its query")
    args = {"action": "cancel_then_terminate", "min_wait": 0, "escalate_after": 1}

    checked = pg_locks(args, check=True)
    assert checked["changed"] is True
    assert [(a["pid"], a["what"]) for a in checked["actions"]] == [(blocker.pid, "cancel_then_terminate")]
    assert "would cancel, then terminate if still blocking after 1.0s" in checked["actions"][0]["result"]
    assert_all_alive(sessions, [blocker, *victims])
    assert blocker.error is None, "check mode cancelled the query"

    done, again = pg_locks_steps((args, False), (args, False))
    assert done["changed"] is True
    (action,) = done["actions"]
    assert action["pid"] == blocker.pid and action["result"].startswith("cancelled, then terminated"), action
    assert isinstance(blocker.error, Exception) and "cancel" in str(blocker.error)
    assert not sessions.alive(blocker)
    for victim in victims:
        assert victim.finished.wait(10) and victim.error is None
    assert again["changed"] is False


def test_cancel_frees_victims_of_a_client_that_rolls_back(sessions, pg_locks_steps):
    blocker = sessions.open("active", [row(25), "SELECT pg_sleep(60)"])
    victim = sessions.open("victim", [row(25)], hold=False)
    sessions.wait_blocked([victim])
    wait_until(lambda: sessions.query("SELECT state FROM pg_stat_activity WHERE pid = %s",
                                      (blocker.pid,)) == [("active",)], what="the blocker to run its query")
    args = {"action": "cancel", "min_wait": 0}
    done, again = pg_locks_steps((args, False), (args, False))
    assert done["changed"] is True
    assert [(a["pid"], a["result"]) for a in done["actions"]] == [(blocker.pid, "cancelled")]
    assert victim.finished.wait(10) and victim.error is None
    assert again["changed"] is False


def test_superuser_blocker_is_never_touched_unless_allowed(sessions, pg_locks_steps):
    blocker = sessions.open("su-blocker", [row(31)], superuser=True)
    victims = [sessions.open(f"victim{i}", [row(31)], hold=False) for i in range(2)]
    sessions.wait_blocked(victims)
    args = {"action": "terminate", "min_wait": 0}

    # Check run, real run, rerun, and a check run with the guard lifted; none may end a session.
    checked, done, again, allowed = pg_locks_steps(
        (args, True), (args, False), (args, False), (dict(args, allow_superuser=True), True))
    assert_all_alive(sessions, [blocker, *victims])
    assert pids(victims) <= sessions.waiting_pids()
    for res in (checked, done, again):
        assert res["changed"] is False and res["actions"] == [], res
        assert "superuser" in {s["pid"]: s["reason"] for s in res["spared"]}[blocker.pid]
    root = next(r for r in checked["root_blockers"] if r["pid"] == blocker.pid)
    assert root["superuser"] is True and "superuser" in root["protected"]
    # The guard is the only thing in the way: allowed, a run would terminate it.
    assert [a["pid"] for a in allowed["actions"]] == [blocker.pid]


def test_excluded_application_is_spared_and_the_other_blocker_terminated(sessions, pg_locks, pg_locks_steps):
    spared = sessions.open("pgdump-blocker", [row(41)])
    spared_victim = sessions.open("victim-a", [row(41)], hold=False)
    other = sessions.open("app-blocker", [row(42)])
    other_victim = sessions.open("victim-b", [row(42)], hold=False)
    sessions.wait_blocked([spared_victim, other_victim])
    args = {"action": "cancel_then_terminate", "min_wait": 0, "exclude_applications": ["*pgdump*"]}

    checked = pg_locks(args, check=True)
    assert [a["pid"] for a in checked["actions"]] == [other.pid]
    assert "exclude_applications" in {s["pid"]: s["reason"] for s in checked["spared"]}[spared.pid]
    assert_all_alive(sessions, [spared, spared_victim, other, other_victim])

    done, again = pg_locks_steps((args, False), (args, False))
    assert done["changed"] is True
    assert [(a["pid"], a["what"], a["result"]) for a in done["actions"]] == [(other.pid, "terminate", "terminated")]
    assert not sessions.alive(other) and other_victim.finished.wait(10) and other_victim.error is None
    assert_all_alive(sessions, [spared, spared_victim])
    assert spared_victim.pid in sessions.waiting_pids()
    assert again["changed"] is False and again["actions"] == []


def test_more_blockers_than_max_sessions_fails_without_signalling(sessions, pg_locks_steps):
    blockers, victims = [], []
    for i in range(3):
        blockers.append(sessions.open(f"blocker{i}", [row(51 + i)]))
        victims.append(sessions.open(f"victim{i}", [row(51 + i)], hold=False))
    sessions.wait_blocked(victims)
    args = {"action": "terminate", "min_wait": 0, "max_sessions": 2}

    for res in pg_locks_steps((args, True), (args, False), (args, False)):  # check run, real run, rerun
        assert res.get("failed") is True and res["changed"] is False, res
        assert "max_sessions is 2" in res["msg"] and "nothing was signalled" in res["msg"]
        assert pids(res["sessions"]) == pids(blockers)
    assert_all_alive(sessions, [*blockers, *victims])

    raised = dict(args, max_sessions=3)
    done, again = pg_locks_steps((raised, False), (raised, False))
    assert done["changed"] is True and pids(done["actions"]) == pids(blockers)
    for victim in victims:
        assert victim.finished.wait(10) and victim.error is None
    assert again["changed"] is False


def test_min_wait_holds_back_until_victims_waited_long_enough(sessions, pg_locks):
    blocker = sessions.open("blocker", [row(61)])
    victim = sessions.open("victim", [row(61)], hold=False)
    sessions.wait_blocked([victim])
    res = pg_locks({"action": "terminate", "min_wait": 3600})
    assert res["changed"] is False and res["actions"] == []
    assert "min_wait" in {s["pid"]: s["reason"] for s in res["spared"]}[blocker.pid]
    assert_all_alive(sessions, [blocker, victim])


def test_long_running_target(sessions, pg_locks, pg_locks_steps):
    idle = sessions.open("idle-tx", ["SELECT 1"])
    active = sessions.open("sleeper", ["SELECT pg_sleep(60)"])
    wait_until(lambda: sessions.query("SELECT state FROM pg_stat_activity WHERE pid = %s",
                                      (active.pid,)) == [("active",)], what="the long query to start")
    time.sleep(0.3)  # both must be older than min_duration
    args = {"action": "cancel", "target": "long_running", "min_duration": 0.2,
            "exclude_applications": ["t-pg_locks-observer"]}

    report, checked = pg_locks_steps(({"min_duration": 0.2}, False), (args, True))
    assert {idle.pid, active.pid} <= pids(report["long_running"])
    durations = [r["duration"] for r in report["long_running"]]
    assert durations == sorted(durations, reverse=True), "long_running must be oldest first"

    assert [a["pid"] for a in checked["actions"] if a["pid"] in (idle.pid, active.pid)] == [active.pid]
    assert "cancel has no effect" in {s["pid"]: s["reason"] for s in checked["spared"]}[idle.pid]
    assert active.error is None

    cancelled = pg_locks(args)
    assert (active.pid, "cancelled") in {(a["pid"], a["result"]) for a in cancelled["actions"]}
    assert active.finished.wait(10) and "cancel" in str(active.error)
    assert sessions.alive(idle)

    terminate = dict(args, action="terminate")
    ended, again = pg_locks_steps((terminate, False), (terminate, False))
    assert (idle.pid, "terminated") in {(a["pid"], a["result"]) for a in ended["actions"]}
    assert not sessions.alive(idle)
    assert not {idle.pid, active.pid} & pids(again["actions"])


def test_connections_are_counted_against_max_connections(sessions, pg_locks, admin_conn):
    for i in range(3):
        sessions.open(f"idle{i}", [])
    res = pg_locks({})
    conns = res["connections"]
    with admin_conn.cursor() as cur:
        cur.execute("SHOW max_connections")
        assert conns["max_connections"] == int(cur.fetchone()[0])
    assert conns["by_application"][sessions.prefix + "idle0"] == 1
    assert conns["by_user"]["pynomaly"] >= 3
    assert conns["by_application"]["ansible-pg_locks"] == 1, "the module's own session is counted once"
    assert conns["percent_used"] == round(100.0 * conns["total"] / conns["max_connections"], 1)
    assert sum(conns["by_state"].values()) == conns["total"]
    assert res["changed"] is False


BAD_INPUT = [
    ({"action": "kill"}, "value of action must be one of"),
    ({"action": "terminate", "min_wait": -1}, "min_wait must be 0 or more"),
    ({"action": "terminate", "min_duration": -5, "target": "long_running"}, "min_duration must be 0 or more"),
    ({"action": "cancel_then_terminate", "escalate_after": -1}, "escalate_after must be 0 or more"),
    ({"action": "terminate", "max_sessions": 0}, "max_sessions must be 1 or more"),
    ({"action": "terminate", "login_port": 1}, "cannot connect to PostgreSQL"),
]


def test_bad_input_fails_clearly_and_signals_nothing(sessions, pg_locks_steps):
    blocker = sessions.open("blocker", [row(71)])
    victim = sessions.open("victim", [row(71)], hold=False)
    sessions.wait_blocked([victim])
    results = pg_locks_steps(*[(dict({"min_wait": 0}, **args), False) for args, _ in BAD_INPUT])
    for (args, expected), res in zip(BAD_INPUT, results, strict=True):
        assert res.get("failed") is True, (args, res)
        assert expected in res["msg"], (args, res["msg"])
        assert res.get("changed") is False, args
    assert_all_alive(sessions, [blocker, victim])


def test_the_app_role_can_contain_its_own_pile_up_without_superuser(sessions, pg_locks, pg_locks_steps, lab):
    # Least privilege: logged in as the app role, pg_locks sees and may signal that role's sessions only.
    su = sessions.open("su-idle-tx", ["SELECT 1"], superuser=True)
    blocker = sessions.open("blocker", [row(81)])
    victim = sessions.open("victim", [row(81)], hold=False)
    sessions.wait_blocked([victim])
    as_app = {"login_user": lab["LAB_PG_APP_USER"], "login_password": lab["LAB_PG_APP_PASSWORD"]}

    long_check = pg_locks(dict(as_app, action="terminate", target="long_running", min_duration=0), check=True)
    # The superuser's session is counted, but its state and query are hidden from the app role: never a target.
    assert long_check["connections"]["by_state"].get("unknown", 0) >= 1
    assert su.pid not in pids(long_check["actions"]) | pids(long_check["long_running"])
    assert blocker.pid in pids(long_check["actions"])

    args = dict(as_app, action="terminate", min_wait=0)
    done, again = pg_locks_steps((args, False), (args, False))
    assert [(a["pid"], a["result"]) for a in done["actions"]] == [(blocker.pid, "terminated")]
    assert victim.finished.wait(10) and victim.error is None
    assert sessions.alive(su)
    assert again["changed"] is False
