"""The communicate role when a channel fails: the others still get the update, the failure is
named, and a rerun sends only what is missing (retrying a 5xx)."""


def test_a_failing_pagerduty_does_not_stop_slack_and_statuspage_and_a_rerun_sends_only_the_page(incident):
    incident.admin.fail_next("pagerduty", 3, 503)  # every attempt of the first run
    res = incident.declare()
    assert res.returncode != 0
    assert "PagerDuty refused the trigger event: HTTP 503" in res.stdout
    assert [c["status"] for c in incident.calls("pagerduty")] == [503, 503, 503]
    assert len(incident.calls("slack")) == 1
    state = incident.state()
    assert "last_action" not in state["pagerduty"]
    assert [entry["channel"] for entry in state["log"]] == ["slack", "statuspage"]

    incident.admin.clear_calls()
    incident.admin.fail_next("pagerduty", 1, 500)  # one more failure, then PagerDuty answers
    res = incident.declare()
    assert res.returncode == 0, res.stdout + res.stderr
    assert [c["status"] for c in incident.calls("pagerduty")] == [500, 202]
    assert incident.calls("pagerduty")[-1]["body"]["event_action"] == "trigger"
    assert incident.calls("slack") == []
    assert [c["method"] for c in incident.calls("statuspage")] == ["GET"]
