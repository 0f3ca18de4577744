"""Range checks the argument spec cannot express."""
import pytest

from ansible_collections.pynomaly.incident_response.plugins.modules.backup_restore import check_values

GOOD = {"state": "create", "jobs": 2, "compression": None, "keep_min": 1, "keep_days": None,
        "encryption_passphrase": None}


def test_good_values_pass():
    assert check_values(dict(GOOD)) is None
    assert check_values(dict(GOOD, compression=0, keep_days=0, keep_min=0)) is None


@pytest.mark.parametrize(("change", "message"), [
    ({"state": "delete"}, "value of state must be one of: create, list, restore, verify, prune, got: delete"),
    ({"jobs": 0}, "jobs must be 1 or more"),
    ({"compression": 10}, "compression must be between 0 and 9"),
    ({"compression": -1}, "compression must be between 0 and 9"),
    ({"keep_days": -1}, "must not be negative"),
    ({"keep_min": -2}, "must not be negative"),
    ({"encryption_passphrase": ""}, "encryption_passphrase must not be empty"),
])
def test_bad_values_are_named(change, message):
    assert message in check_values(dict(GOOD, **change))
