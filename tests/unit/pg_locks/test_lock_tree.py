"""Blocking chains from pg_blocking_pids(): roots, how many each holds up, one place per session in the tree."""
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.lock_tree import LockTree


def s(pid, blocked_by=(), wait=None, **extra):
    return dict({"pid": pid, "user": "app", "application": "api", "state": "active", "backend_type": "client backend",
                 "blocking_pids": list(blocked_by), "wait_seconds": wait}, **extra)


def test_chain_of_three_behind_an_idle_blocker():
    tree = LockTree([s(1, state="idle in transaction"), s(2, [1], 40.0), s(3, [2], 30.0), s(4, [3], 20.0)])
    (root,) = tree.root_blockers()
    assert root["pid"] == 1 and root["holds_up"] == 3 and root["blocks_directly"] == 1
    assert root["max_victim_wait"] == 40.0
    (top,) = tree.forest()
    assert [top["pid"], top["children"][0]["pid"], top["children"][0]["children"][0]["pid"],
            top["children"][0]["children"][0]["children"][0]["pid"]] == [1, 2, 3, 4]
    assert top["children"][0]["holds_up"] == 2 and top["children"][0]["blocked_by"] == [1]
    assert tree.in_cycles() == []


def test_queued_waiters_appear_once_under_the_nearest_blocker():
    # 4 waits on 2 (the tuple lock holder) and on 3 (ahead of it in the queue).
    tree = LockTree([s(1), s(2, [1], 9.0), s(3, [2], 8.0), s(4, [2, 3], 7.0)])
    (top,) = tree.forest()
    (second,) = top["children"]
    assert [c["pid"] for c in second["children"]] == [3, 4]
    assert second["children"][1]["blocked_by"] == [2, 3]
    assert tree.root_blockers()[0]["holds_up"] == 3


def test_roots_are_ordered_by_how_many_they_hold_up():
    tree = LockTree([s(10), s(11, [10], 1.0), s(20), s(21, [20], 1.0), s(22, [20], 2.0), s(30)])
    assert [r["pid"] for r in tree.root_blockers()] == [20, 10]
    assert [t["pid"] for t in tree.forest()] == [20, 10]
    assert 30 not in {r["pid"] for r in tree.root_blockers()}, "a session that blocks nobody is no blocker"


def test_sessions_waiting_on_each_other_are_a_cycle_not_a_tree():
    tree = LockTree([s(1, [2], 1.0), s(2, [1], 1.0), s(3)])
    assert tree.root_blockers() == [] and tree.forest() == []
    assert tree.in_cycles() == [1, 2]


def test_a_blocker_missing_from_pg_stat_activity_is_a_root_marked_invisible():
    # A prepared transaction holds the lock: pg_blocking_pids() reports pid 0.
    tree = LockTree([s(5, [0], 12.0)])
    (root,) = tree.root_blockers()
    assert root["pid"] == 0 and root["visible"] is False and root["holds_up"] == 1


def test_a_long_queue_places_each_waiter_once():
    # 200 waiters on one row: waiter k lists every waiter ahead of it, about 20 000 edges.
    sessions = [s(1)] + [s(100 + k, [1] if k == 0 else [100, *range(101, 100 + k)], 1.0) for k in range(200)]
    tree = LockTree(sessions)
    forest = tree.forest()
    roots = tree.root_blockers()

    def count(node):
        return 1 + sum(count(c) for c in node["children"])

    assert count(forest[0]) == 201 and roots[0]["holds_up"] == 200
    assert len(forest[0]["children"]) == 1 and len(forest[0]["children"][0]["children"]) == 199
