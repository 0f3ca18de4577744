"""Durations, ids and age reports."""
import datetime

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import BadInput
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.timeutil import (
    backup_id,
    human_duration,
    isoformat,
    parse_duration,
    parse_iso,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90), ("90s", 90), ("15m", 900), ("6h", 21600), ("30d", 2592000), ("2w", 1209600),
    ("1h30m", 5400), (" 6H ", 21600), (45, 45),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "6 hours", "h", "-5m", "5x", "1.5h", True])
def test_bad_durations_name_the_option(text):
    with pytest.raises(BadInput, match="if_older_than"):
        parse_duration(text, "if_older_than")


def test_ids_are_utc_and_sortable_and_unique_within_a_second():
    moment = datetime.datetime(2026, 11, 27, 7, 15, 3, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    first = backup_id(moment)
    assert first == "20261127T051503Z"
    second = backup_id(moment, taken={first})
    third = backup_id(moment, taken={first, second})
    assert (second, third) == ("20261127T051503Z-01", "20261127T051503Z-02")
    assert sorted([third, first, second]) == [first, second, third]


def test_iso_round_trip_keeps_microseconds():
    moment = datetime.datetime(2026, 11, 27, 5, 15, 3, 123456, tzinfo=datetime.UTC)
    assert parse_iso(isoformat(moment)) == moment


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59, "59s"), (900, "15m"), (3725, "1h 2m"),
                                               (90061, "1d 1h")])
def test_human_durations(seconds, text):
    assert human_duration(seconds) == text
