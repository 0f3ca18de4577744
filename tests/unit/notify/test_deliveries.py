"""The rules that make each channel get each update once: fingerprints, claims, pending, PagerDuty's decision."""
import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.record import utc_iso
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify import deliveries as dl
from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import pagerduty_action

NOW = 1_800_000_000.0


def item(update="declared", severity="P0", status="investigating", message="It is down.", **extra):
    return dl.new_item(update, severity, status, title="API down", message=message, **extra)


def test_a_rerun_worded_differently_is_the_same_update_and_is_not_sent_again():
    first, reworded = item(message="The API is down."), item(message="API down since 03:04, investigating.")
    assert first["fingerprint"] == reworded["fingerprint"] == "declared|P0|investigating"
    state = dl.delivered({}, first, first["fingerprint"], "call-1", {"action": "posted"}, "run-1", NOW)
    assert dl.plan("slack", state, reworded) == dict(send=False, key=None, reason="already sent", event=None)
    # Another severity or status is another update.
    assert dl.plan("slack", state, item(severity="P1"))["send"] is True
    assert dl.plan("slack", state, item(status="identified"))["send"] is True


def test_a_claim_younger_than_60_seconds_keeps_another_run_out_and_an_older_one_is_taken_over():
    update = item()
    claimed, reason = dl.claim({}, update["fingerprint"], "run-a", "call-a", NOW)
    assert reason is None and claimed["claims"][update["fingerprint"]]["run_id"] == "run-a"

    unchanged, reason = dl.claim(claimed, update["fingerprint"], "run-b", "call-b", NOW + 59)
    assert unchanged == claimed
    assert reason == "sent by another run: run run-a claimed it 59s ago"

    taken, reason = dl.claim(claimed, update["fingerprint"], "run-b", "call-b", NOW + 61)
    assert reason is None and taken["claims"][update["fingerprint"]]["call"] == "call-b"


def test_the_same_call_may_claim_again_but_another_call_of_the_same_run_may_not():
    claimed, _ = dl.claim({}, "k", "run-a", "call-a", NOW)
    assert dl.claim(claimed, "k", "run-a", "call-a", NOW + 1)[1] is None
    # Two hosts of one play share the run id; each task call is its own claimant.
    assert dl.claim(claimed, "k", "run-a", "call-a2", NOW + 1)[1] is not None


def test_an_unreadable_claim_time_is_treated_as_live():
    state = {"claims": {"k": {"run_id": "run-a", "call": "call-a", "at": "garbage"}}}
    assert dl.claim(state, "k", "run-b", "call-b", NOW)[1].startswith("sent by another run")


def test_a_failure_releases_the_claim_and_keeps_the_update_owed_with_its_error_and_attempts():
    update = item(components={"API": "major_outage"})
    claimed, _ = dl.claim({}, update["fingerprint"], "run-a", "call-a", NOW)
    state = dl.failed(claimed, update, update["fingerprint"], "call-a", "Statuspage answered HTTP 500", NOW)
    assert "claims" not in state
    [owed] = state["pending"]
    assert (owed["update"], owed["attempts"], owed["error"]) == ("declared", 1, "Statuspage answered HTTP 500")
    assert owed["components"] == {"API": "major_outage"} and owed["message"] == "It is down."
    assert owed["first_failed_at"] == owed["failed_at"] == utc_iso(NOW)

    again = dl.failed(state, item(message="Reworded."), None, "call-b", "HTTP 502", NOW + 30)
    [owed] = again["pending"]
    assert (owed["attempts"], owed["error"], owed["message"]) == (2, "HTTP 502", "Reworded.")
    assert owed["first_failed_at"] == utc_iso(NOW) and owed["failed_at"] == utc_iso(NOW + 30)
    assert dl.owed(again) == ["declared"]


def test_a_failure_leaves_a_claim_another_call_took_over():
    state = {"claims": {"k": {"run_id": "run-b", "call": "call-b", "at": utc_iso(NOW)}}}
    assert dl.failed(state, item(), "k", "call-a", "boom", NOW)["claims"] == state["claims"]


def test_pending_updates_go_first_oldest_first_and_an_update_already_pending_is_sent_once_in_new_words():
    declared, contained = item(), item(update="contained", status="identified")
    state = dl.failed({}, declared, None, "c", "e1", NOW)
    state = dl.failed(state, contained, None, "c", "e2", NOW + 1)

    order = dl.due(state, item(update="resolved", status="resolved"))
    assert [(i["update"], i["new"]) for i in order] == [("declared", False), ("contained", False), ("resolved", True)]

    order = dl.due(state, item(message="Declared again, reworded."))
    assert [(i["update"], i["new"]) for i in order] == [("declared", True), ("contained", False)]
    assert order[0]["message"] == "Declared again, reworded."
    assert [i["update"] for i in dl.due(state)] == ["declared", "contained"]
    assert dl.due({}) == []


def test_a_delivery_leaves_pending_is_logged_and_keeps_what_the_channel_needs_later():
    update = item()
    state = dl.failed({}, update, None, "c", "e", NOW)
    state, _ = dl.claim(state, update["fingerprint"], "run-a", "call-a", NOW + 5)
    outcome = {"action": "created", "state": {"incident_id": "sp1", "shortlink": "https://stspg.io/x",
                                              "status": "investigating"}}
    state = dl.delivered(state, update, update["fingerprint"], "call-a", outcome, "run-a", NOW + 6)
    assert state["sent"] == ["declared|P0|investigating"] and state["pending"] == [] and "claims" not in state
    assert state["log"] == [{"at": utc_iso(NOW + 6), "action": "created", "update": "declared", "severity": "P0",
                             "status": "investigating", "run_id": "run-a"}]
    assert (state["incident_id"], state["shortlink"]) == ("sp1", "https://stspg.io/x")
    # Nothing differed: delivered, but nothing reached the channel, so nothing is logged.
    quiet = dl.delivered({}, update, update["fingerprint"], "call-a", {"action": None}, "run-a", NOW)
    assert quiet["sent"] == ["declared|P0|investigating"] and "log" not in quiet


def test_a_pending_update_no_longer_owed_leaves_pending():
    update = item()
    state = dl.failed({}, update, None, "c", "e", NOW)
    assert dl.settle(state, update)["pending"] == []
    assert dl.settle({"sent": []}, update) == {"sent": []}


def test_the_spool_keeps_no_claims():
    state, _ = dl.claim({"sent": ["x"]}, "k", "r", "c", NOW)
    assert dl.for_spool(state) == {"sent": ["x"]}


@pytest.mark.parametrize(("severity", "status", "last", "expected"), [
    ("P0", "investigating", {}, ("trigger", "critical", "trigger:critical")),
    ("P1", "investigating", {}, ("trigger", "warning", "trigger:warning")),
    ("P0", "identified", {"last_action": "trigger", "severity": "critical"}, ("acknowledge", None, "acknowledge")),
    ("P0", "resolved", {"last_action": "acknowledge", "severity": "critical"}, ("resolve", None, "resolve")),
    ("P0", "investigating", {"last_action": "trigger", "severity": "warning"}, ("trigger", "critical",
                                                                                 "trigger:critical")),
])
def test_pagerduty_sends_what_the_policy_decides_from_what_it_was_last_sent(severity, status, last, expected):
    decision = dl.plan("pagerduty", last, item(severity=severity, status=status), pagerduty_action)
    assert decision["send"] is True
    assert (decision["event"]["action"], decision["event"]["severity"], decision["key"]) == expected


def test_pagerduty_sends_nothing_the_policy_does_not_ask_for():
    p2 = dl.plan("pagerduty", {}, item(severity="P2"), pagerduty_action)
    assert p2["send"] is False and p2["reason"].startswith("P2 does not page")
    again = dl.plan("pagerduty", {"last_action": "trigger", "severity": "critical"}, item(update="retriage"),
                    pagerduty_action)
    assert again["send"] is False and again["reason"] == "already triggered"
    muted = dl.plan("pagerduty", {}, item(requested="none"), pagerduty_action)
    assert muted["send"] is False and muted["reason"] == "PagerDuty disabled for this update"


def test_two_updates_that_decide_the_same_page_claim_the_same_key():
    declared = dl.plan("pagerduty", {}, item(update="declared"), pagerduty_action)
    retriaged = dl.plan("pagerduty", {}, item(update="retriaged"), pagerduty_action)
    assert declared["key"] == retriaged["key"] == "trigger:critical"


def test_record_timestamps_are_read_back_to_the_microsecond():
    assert dl.seconds_since(utc_iso(NOW + 0.25), NOW + 1) == pytest.approx(0.75)
    assert dl.seconds_since(None, NOW) is None
