"""What each channel receives for an update: PagerDuty's event, Slack's message, Statuspage's wanted state."""
import json

from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify import pagerduty, slack
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify import statuspage as sp
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.deliveries import new_item
from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import policy

INCIDENT = "INC-20261204-163005-api_down"
ROUTING_KEY = "r" * 32


def update(severity="P0", status="investigating", title="Checkout API failing", message="Declared P0.",
           commander="alice", **extra):
    return new_item("declared", severity, status, title=title, message=message, commander=commander, **extra)


def test_a_trigger_carries_the_page_and_the_whole_update():
    event = {"action": "trigger", "severity": "critical"}
    body = pagerduty.event_body(ROUTING_KEY, INCIDENT, event, update(), "pynomaly-api", policy("P0"))
    assert (body["event_action"], body["dedup_key"], body["client"]) == ("trigger", INCIDENT,
                                                                         "pynomaly.incident_response")
    assert body["payload"]["summary"] == "[P0] Checkout API failing (investigating)"
    assert (body["payload"]["source"], body["payload"]["severity"]) == ("pynomaly-api", "critical")
    assert body["payload"]["custom_details"] == {
        "incident_id": INCIDENT, "severity": "P0 (Critical)", "status": "investigating", "message": "Declared P0.",
        "incident_commander": "alice", "response_target": "Immediate (< 15 minutes)",
        "escalation": "Page on-call engineer immediately"}


def test_acknowledge_and_resolve_only_name_the_alert():
    for action in ("acknowledge", "resolve"):
        body = pagerduty.event_body(ROUTING_KEY, INCIDENT, {"action": action, "severity": None},
                                    update(status="identified"), "pynomaly-api", policy("P0"))
        assert body == {"routing_key": ROUTING_KEY, "event_action": action, "dedup_key": INCIDENT,
                        "client": "pynomaly.incident_response"}


def test_a_trigger_without_commander_says_unassigned_and_a_long_title_is_cut_at_a_word():
    long_title = "word " * 400
    body = pagerduty.event_body(ROUTING_KEY, INCIDENT, {"action": "trigger", "severity": None},
                                update(title=long_title, commander=None), "svc", policy("P3"))
    assert body["payload"]["custom_details"]["incident_commander"] == "unassigned"
    assert body["payload"]["severity"] == "info"
    assert len(body["payload"]["summary"]) <= 1000 and body["payload"]["summary"].endswith("word...")


def test_slack_escapes_what_mrkdwn_would_read_as_markup():
    payload = slack.message(INCIDENT, update(message="5xx > 5 % & <rising>", commander="<@U1> & co"), policy("P1"))
    text = json.dumps(payload)
    assert payload["text"] == "[P0] Checkout API failing (investigating): 5xx &gt; 5 % &amp; &lt;rising&gt;"
    assert payload["blocks"][2]["text"]["text"] == "5xx &gt; 5 % &amp; &lt;rising&gt;"
    fields = [f["text"] for f in payload["blocks"][1]["fields"]]
    assert "*Incident commander*\n&lt;@U1&gt; &amp; co" in fields
    assert "<rising>" not in text and "<@U1>" not in text


def test_slack_shows_the_facts_the_role_showed():
    payload = slack.message(INCIDENT, update(), policy("P0"))
    assert payload["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                               "text": ":rotating_light: [P0] Checkout API failing"}}
    assert [f["text"] for f in payload["blocks"][1]["fields"]] == [
        "*Severity*\nP0 (Critical)", "*Status*\nInvestigating", "*Incident commander*\nalice",
        "*Response target*\nImmediate (&lt; 15 minutes)", "*Escalation*\nPage on-call engineer immediately",
        "*Incident*\n`%s`" % INCIDENT]
    assert payload["blocks"][3]["elements"][0]["text"] == (
        "PagerDuty dedup key `%s` | pynomaly.incident_response" % INCIDENT)


def test_slack_header_emoji_follows_severity_and_resolution_and_links_the_status_page():
    def header(severity, status="investigating"):
        return slack.message(INCIDENT, update(severity=severity, status=status), policy(severity))["blocks"][0]

    assert header("P1")["text"]["text"].startswith(":warning: [P1]")
    assert header("P2")["text"]["text"].startswith(":large_yellow_circle: [P2]")
    assert header("P3")["text"]["text"].startswith(":information_source: [P3]")
    assert header("P1", "resolved")["text"]["text"].startswith(":white_check_mark: [P1]")
    linked = slack.message(INCIDENT, update(), policy("P0"), shortlink="https://stspg.io/abc")
    assert linked["blocks"][3]["elements"][0]["text"].startswith("Status page: https://stspg.io/abc | PagerDuty")


def test_slack_header_fits_slacks_limit():
    payload = slack.message(INCIDENT, update(title="x" * 300), policy("P0"))
    assert len(payload["blocks"][0]["text"]["text"]) <= 150


def test_statuspage_gets_the_status_the_impact_of_the_severity_and_the_components():
    wanted = sp.desired(update(components={"API": "major_outage"}), "critical")
    assert wanted == {"name": "Checkout API failing", "rename": False, "status": "investigating",
                      "impact": "critical", "body": "Declared P0.", "components": {"API": "major_outage"}}
    # Resolving is ensure()'s state=resolved; the status is implied.
    assert sp.desired(update(status="resolved"), "critical")["status"] is None
