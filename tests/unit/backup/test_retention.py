"""Retention: what prune keeps and what it removes, rule by rule."""
import datetime

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.retention import (
    DEFAULT_KEEP_DAYS,
    plan_prune,
)

NOW = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.UTC)


def backups(*ages_days, verified=()):
    return [{"id": "b%02d" % i, "started": NOW - datetime.timedelta(days=age), "verified_ok": i in verified}
            for i, age in enumerate(ages_days)]


def ids(pairs):
    return [b["id"] for b, _reason in pairs]


def test_the_seed_policy_is_the_default():
    assert DEFAULT_KEEP_DAYS["database"] == 30
    assert DEFAULT_KEEP_DAYS["config"] == 90
    assert DEFAULT_KEEP_DAYS["models"] == 180


def test_backups_older_than_keep_days_go_and_younger_ones_stay():
    keep, remove = plan_prune(backups(1, 10, 29.9, 30.5, 45), NOW, keep_days=30, keep_min=1)
    assert ids(keep) == ["b00", "b01", "b02"]
    assert ids(remove) == ["b03", "b04"]
    assert "older than 30 days" in remove[0][1]


def test_keep_min_keeps_the_newest_even_when_all_are_old():
    keep, remove = plan_prune(backups(40, 50, 60, 70), NOW, keep_days=30, keep_min=2)
    assert ids(keep) == ["b00", "b01"]
    assert ids(remove) == ["b02", "b03"]
    assert "keep_min" in keep[0][1]


def test_the_newest_verified_backup_is_never_removed():
    keep, remove = plan_prune(backups(40, 50, 60, 70, verified={2, 3}), NOW, keep_days=30, keep_min=1)
    assert "b02" in ids(keep)
    assert dict((b["id"], r) for b, r in keep)["b02"] == "newest verified backup"
    # Only the newest verified one is protected; an older verified one follows the policy.
    assert ids(remove) == ["b01", "b03"]


def test_keep_min_zero_and_nothing_verified_can_remove_everything_old():
    keep, remove = plan_prune(backups(40, 50), NOW, keep_days=30, keep_min=0)
    assert keep == []
    assert ids(remove) == ["b00", "b01"]


def test_order_of_input_does_not_matter():
    data = backups(5, 60, 1, 90)
    keep, remove = plan_prune(list(reversed(data)), NOW, keep_days=30, keep_min=1)
    assert ids(keep) == ["b02", "b00"]
    assert ids(remove) == ["b01", "b03"]
