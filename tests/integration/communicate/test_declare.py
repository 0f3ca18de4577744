"""incident_declare.yml against the Statuspage, Slack and PagerDuty stand-ins: what each receives,
that --check sends nothing, that a rerun sends nothing new, that secrets stay out of every output,
and that bad input sends nothing."""
import json


def slack_text(call):
    return json.dumps(call["body"]["blocks"])


def test_check_mode_sends_nothing_and_writes_no_state(incident):
    res = incident.declare(check=True, diff=True, incident_severity="p1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert incident.writes() == []
    assert incident.state() is None
    assert incident.statuspage_incidents() == []
    # --diff shows the state the run would write, that is what it would send: a P1 notification.
    assert '"last_action": "trigger"' in res.stdout
    assert '"severity": "warning"' in res.stdout
    assert "PagerDuty would send (trigger" in res.stdout


def test_p0_pages_posts_and_opens_the_incident_then_a_rerun_sends_nothing(incident):
    res = incident.declare(declare_started_at="2026-01-02T03:00:00Z", declare_detected_at="2026-01-02T03:04:00Z",
                           args=("-vvv",))
    assert res.returncode == 0, res.stdout + res.stderr
    [page] = incident.calls("pagerduty")
    event = page["body"]
    assert (event["event_action"], event["dedup_key"]) == ("trigger", incident.incident_id)
    assert event["payload"]["severity"] == "critical"
    # One line, the title said once; the update text travels in custom_details.
    title = "Checkout API failing " + incident.incident_id[-8:]
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
    [live] = incident.statuspage_incidents()
    assert (live["name"], live["status"], live["impact"]) == (
        opened["body"]["incident"]["name"], "investigating", "critical")

    state = incident.state()
    assert state["statuspage"]["incident_id"] == live["id"]
    assert state["pagerduty"] == {"dedup_key": incident.incident_id, "last_action": "trigger",
                                  "severity": "critical"}
    assert [entry["channel"] for entry in state["log"]] == ["pagerduty", "slack", "statuspage"]

    doc = incident.timeline()
    assert [m["milestone"] for m in doc["milestones"]] == ["started", "detected", "declared"]
    assert doc["measures"]["time_to_detect"]["seconds"] == 240
    assert (doc["severity"], doc["commander"], doc["status"]) == ("P0", "alice", "open")

    # Nothing secret in the -vvv output, the state file or the timeline.
    secrets = [incident.lab["PAGERDUTY_ROUTING_KEY"], incident.lab["STATUSPAGE_API_KEY"],
               incident.lab["SLACK_WEBHOOK_URL"].rsplit("/", 1)[1]]
    written = [p.read_text() for folder in (incident.timeline_dir, incident.state_dir)
               for p in folder.rglob("*") if p.is_file()]
    for secret in secrets:
        assert secret not in res.stdout + res.stderr
        for text in written:
            assert secret not in text

    before = len(incident.writes())
    again = incident.declare()
    assert again.returncode == 0, again.stdout + again.stderr
    assert incident.recap(again)["changed"] == 0
    assert len(incident.writes()) == before  # no second incident, page or message
    assert len(incident.statuspage_incidents()) == 1
    assert incident.state() == state


def test_p1_notifies_and_exactly_5_percent_with_an_alert_is_p2_which_pages_no_one(incident):
    res = incident.declare(incident_signals={"error_rate": 7.5})
    assert res.returncode == 0, res.stdout + res.stderr
    [notify] = incident.calls("pagerduty")
    assert notify["body"]["payload"]["severity"] == "warning"
    assert "error rate 7.5 % &gt; 5 %" in slack_text(incident.calls("slack")[0])

    incident.admin.clear_calls()
    incident.incident_id += "-P2"
    res = incident.declare(incident_signals={"error_rate": 5, "alert": True},
                           incident_summary="Slightly elevated errors")
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
    assert "Traceback" not in res.stdout + res.stderr
    assert incident.writes() == []
