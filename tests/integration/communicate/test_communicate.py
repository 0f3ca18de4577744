"""The communicate role when a channel fails: the others still get the update, the failure is
named at the end of the run, the update is owed in the incident record, and the next run sends
only what is owed (retrying a 5xx)."""


def test_a_failing_pagerduty_does_not_stop_slack_and_statuspage_and_a_rerun_sends_only_the_page(incident):
    incident.admin.fail_next("pagerduty", 6, 503)  # every attempt of the first run, and its retry at the end
    res = incident.declare()
    assert res.returncode != 0
    assert "pagerduty" in res.stdout.lower().rsplit("fatal:", 1)[-1]
    assert {c["status"] for c in incident.calls("pagerduty")} == {503}
    assert len(incident.calls("slack")) == 1
    channels = incident.channels()
    assert "last_action" not in channels["pagerduty"]
    assert [p["update"] for p in channels["pagerduty"]["pending"]] == ["declared"]
    assert channels["slack"]["sent"] and channels["statuspage"]["sent"]

    incident.admin.clear_calls()
    incident.admin.fail_next("pagerduty", 1, 500)  # one more failure, then PagerDuty answers
    res = incident.declare()
    assert res.returncode == 0, res.stdout + res.stderr
    assert [c["status"] for c in incident.calls("pagerduty")] == [500, 202]
    assert incident.calls("pagerduty")[-1]["body"]["event_action"] == "trigger"
    assert incident.calls("slack") == []
    assert [c for c in incident.calls("statuspage") if c["method"] != "GET"] == []
    assert not incident.channels()["pagerduty"].get("pending")
