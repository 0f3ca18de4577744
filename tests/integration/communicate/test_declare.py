"""incident_declare.yml against the Statuspage, Slack and PagerDuty stand-ins: what each receives,
that --check sends nothing, that a rerun sends nothing new, that secrets stay out of every output,
and that bad input sends nothing."""
import json


def slack_text(call):
    return json.dumps(call["body"]["blocks"])


def test_check_mode_sends_nothing_and_writes_no_record(incident):
    res = incident.declare(check=True, diff=True, incident_severity="p1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert incident.writes() == []
    assert incident.record() is None
    assert [i for i in incident.statuspage_incidents() if incident.tag in i["name"]] == []
    # --diff shows the record the run would open: a P1 incident.
    assert '"severity": "P1"' in res.stdout


def test_p0_pages_posts_and_opens_the_incident_then_a_rerun_sends_nothing(incident):
    res = incident.declare(declare_started_at="2026-01-02T03:00:00Z", declare_detected_at="2026-01-02T03:04:00Z",
                           args=("-vvv",))
    assert res.returncode == 0, res.stdout + res.stderr
    [page] = incident.calls("pagerduty")
    event = page["body"]
    assert (event["event_action"], event["dedup_key"]) == ("trigger", incident.incident_id)
    assert event["payload"]["severity"] == "critical"
    # One line, the title said once; the update text travels in custom_details.
    title = "Checkout API failing " + incident.tag
    assert event["payload"]["summary"] == f"[P0] {title} (investigating)"
    assert event["payload"]["custom_details"]["message"].startswith(f"{title}. Declared P0")
    assert event["payload"]["custom_details"]["incident_commander"] == "alice"
    assert page["status"] == 202

    [post] = incident.calls("slack")
    assert post["status"] == 200
    blocks = post["body"]["blocks"]
    assert blocks[0]["type"] == "header"
    assert "[P0] Checkout API failing" in blocks[0]["text"]["text"]
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert "*Severity*\nP0 (Critical)" in fields
    assert "*Incident commander*\nalice" in fields
    assert "*Response target*\nImmediate (&lt; 15 minutes)" in fields
    assert f"*Incident*\n`{incident.incident_id}`" in fields

    [opened] = [c for c in incident.calls("statuspage") if c["method"] == "POST"]
    assert opened["body"]["incident"]["impact_override"] == "critical"
    [live] = [i for i in incident.statuspage_incidents() if i["name"] == opened["body"]["incident"]["name"]]
    assert (live["status"], live["impact"]) == ("investigating", "critical")

    channels = incident.channels()
    assert channels["statuspage"]["incident_id"] == live["id"]
    assert (channels["pagerduty"]["last_action"], channels["pagerduty"]["severity"]) == ("trigger", "critical")
    assert [(name, [e["update"] for e in channels[name]["log"]]) for name in ("pagerduty", "slack", "statuspage")] \
        == [("pagerduty", ["declared"]), ("slack", ["declared"]), ("statuspage", ["declared"])]
    record = incident.record()
    assert (record["severity"], record["commander"], record["status"]) == ("P0", "alice", "open")

    doc = incident.timeline()
    assert [m["milestone"] for m in doc["milestones"]] == ["started", "detected", "declared"]
    assert doc["measures"]["time_to_detect"]["seconds"] == 240
    assert (doc["severity"], doc["commander"], doc["status"]) == ("P0", "alice", "open")

    # Nothing secret in the -vvv output, the record or the timeline.
    secrets = [incident.lab["PAGERDUTY_ROUTING_KEY"], incident.lab["STATUSPAGE_API_KEY"],
               incident.lab["SLACK_WEBHOOK_URL"].rsplit("/", 1)[1]]
    written = [p.read_text() for p in incident.timeline_dir.rglob("*") if p.is_file()] + [str(incident.record())]
    for secret in secrets:
        assert secret not in res.stdout + res.stderr
        for text in written:
            assert secret not in text

    before = len(incident.writes())
    again = incident.declare()
    assert again.returncode == 0, again.stdout + again.stderr
    assert incident.recap(again)["changed"] == 0
    assert len(incident.writes()) == before  # no second incident, page or message
    assert [i["id"] for i in incident.statuspage_incidents() if i["name"] == live["name"]] == [live["id"]]
    assert incident.channels() == channels


def test_p1_notifies_and_exactly_5_percent_with_an_alert_is_p2_which_pages_no_one(incident):
    res = incident.declare(incident_signals={"error_rate": 7.5})
    assert res.returncode == 0, res.stdout + res.stderr
    [notify] = incident.calls("pagerduty")
    assert notify["body"]["payload"]["severity"] == "warning"
    assert "error rate 7.5 % &gt; 5 %" in slack_text(incident.calls("slack")[0])

    incident.admin.clear_calls()
    incident.incident_id += "-P2"
    res = incident.declare(incident_signals={"error_rate": 5, "alert": True},
                           incident_summary="Slightly elevated errors " + incident.tag)
    assert res.returncode == 0, res.stdout + res.stderr
    assert incident.calls("pagerduty") == []
    assert "P2 (Medium)" in slack_text(incident.calls("slack")[0])
    [opened] = [c for c in incident.calls("statuspage") if c["method"] == "POST"]
    assert opened["body"]["incident"]["impact_override"] == "minor"


def test_bad_input_is_a_clear_error_and_sends_nothing(incident):
    res = incident.declare(incident_summary="")
    assert res.returncode != 0
    assert "Nothing was declared" in res.stdout
    res = incident.declare(incident_signals={"outtage": True})
    assert res.returncode != 0
    assert "unknown signal(s) outtage" in res.stdout + res.stderr
    res = incident.declare(incident_pagerduty_routing_key="")
    assert res.returncode != 0
    assert "Nothing was sent" in res.stdout
    res = incident.declare(incident_id="INC 1; rm -rf")
    assert res.returncode != 0
    assert "may hold only letters" in res.stdout
    assert incident.record() is None
    assert "Traceback" not in res.stdout + res.stderr
    assert incident.writes() == []
