"""Which PagerDuty event an update sends: by severity (P0 pages, P1 notifies), by status, never twice."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pynomaly.incident_response.plugins.filter.pagerduty_action import FilterModule

decide = FilterModule().filters()["pagerduty_action"]


@pytest.mark.parametrize(("level", "status", "last", "last_sev", "action", "severity"), [
    ("P0", "investigating", None, None, "trigger", "critical"),       # page immediately
    ("P1", "investigating", None, None, "trigger", "warning"),        # notify on-call
    ("P2", "investigating", None, None, None, None),                  # business hours: no page
    ("P3", "investigating", None, None, None, None),
    ("P0", "investigating", "trigger", "critical", None, None),       # rerun: nothing new
    ("P0", "identified", "trigger", "critical", "acknowledge", None),
    ("P0", "monitoring", "acknowledge", "critical", None, None),
    ("P0", "resolved", "acknowledge", "critical", "resolve", None),
    ("P1", "resolved", "trigger", "warning", "resolve", None),
    ("P1", "resolved", "resolve", "warning", None, None),             # rerun of the resolve
    ("P2", "resolved", None, None, None, None),                       # never paged: nothing to resolve
    ("P0", "investigating", "trigger", "warning", "trigger", "critical"),   # raised P1 -> P0
    ("P0", "identified", "acknowledge", "warning", "trigger", "critical"),  # raised while acknowledged
    ("P1", "investigating", "trigger", "critical", None, None),       # lowered: no new page
    ("P1", "identified", None, None, "trigger", "warning"),           # declared straight as identified
    ("P0", "investigating", "resolve", "critical", None, None),       # resolved stays resolved
])
def test_auto_follows_severity_and_status(level, status, last, last_sev, action, severity):
    result = decide(level, status=status, last_action=last, last_severity=last_sev)
    assert (result["action"], result["severity"]) == (action, severity), result["reason"]


@pytest.mark.parametrize(("requested", "last", "action"), [
    ("none", None, None),
    ("trigger", None, "trigger"),
    ("trigger", "trigger", None),
    ("acknowledge", "trigger", "acknowledge"),
    ("acknowledge", "acknowledge", None),
    ("acknowledge", None, None),
    ("resolve", "acknowledge", "resolve"),
    ("resolve", "resolve", None),
])
def test_requested_actions_are_sent_once(requested, last, action):
    result = decide("P1", status="investigating", last_action=last, last_severity="warning", requested=requested)
    assert result["action"] == action, result["reason"]


def test_an_explicit_trigger_of_a_non_paging_level_is_informational():
    assert decide("P3", status="investigating", requested="trigger")["severity"] == "info"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"status": "panicking"}, "status must be one of"),
    ({"status": "investigating", "requested": "page"}, "must be auto, none"),
    ({"status": "investigating", "last_action": "snooze"}, "last PagerDuty action"),
])
def test_bad_input_is_a_clear_error(kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        decide("P1", **kwargs)
