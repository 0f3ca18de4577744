"""incident_milestone's validation and normalisation (shared by the module and its action plugin)."""
from datetime import datetime

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident_milestone import (
    MilestoneError,
    build_milestone,
    parse_timestamp,
)


def params(**kw):
    base = {"incident_id": "INC-1", "milestone": "declared", "at": None, "severity": None, "component": None,
            "summary": None, "commander": None, "note": None}
    base.update(kw)
    return base


@pytest.mark.parametrize(("text", "utc"), [
    ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5)),
    ("2026-01-02T03:04:05.25z", datetime(2026, 1, 2, 3, 4, 5, 250000)),
    ("2026-01-02 03:04+01:00", datetime(2026, 1, 2, 2, 4)),
    ("2026-01-02T23:30:00-0230", datetime(2026, 1, 3, 2, 0)),
])
def test_timestamps_are_normalised_to_utc(text, utc):
    assert parse_timestamp(text) == utc


@pytest.mark.parametrize("text", ["yesterday", "2026-01-02T03:04:05", "2026-13-02T03:04:05Z", "1767225600"])
def test_timestamps_without_a_zone_or_invalid_are_refused(text):
    with pytest.raises(MilestoneError):
        parse_timestamp(text)


def test_milestone_defaults_to_now_and_keeps_its_fields():
    now = datetime(2026, 1, 2, 3, 4, 5)
    mark = build_milestone(params(severity="P1", note="rolled back"), now=now)
    assert mark == {"incident_id": "INC-1", "milestone": "declared", "at": "2026-01-02T03:04:05.000000Z",
                    "severity": "P1", "component": None, "summary": None, "commander": None, "note": "rolled back"}


@pytest.mark.parametrize("incident_id", ["INC 1", "../etc", "", "-leading-dash", "x" * 129])
def test_incident_ids_that_could_escape_a_folder_are_refused(incident_id):
    with pytest.raises(MilestoneError, match="may hold only"):
        build_milestone(params(incident_id=incident_id))
