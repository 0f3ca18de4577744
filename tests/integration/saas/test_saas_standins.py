"""The Statuspage, Slack and PagerDuty stand-ins answer as the real services do, and record every call."""
import json
import subprocess
import time

import pytest
import requests

from tests.conftest import LABCTL

SAAS_VARIABLES = ("STATUSPAGE_API_URL", "STATUSPAGE_PAGE_ID", "STATUSPAGE_API_KEY", "SLACK_WEBHOOK_URL",
                  "PAGERDUTY_EVENTS_URL", "PAGERDUTY_ROUTING_KEY", "SAAS_ADMIN_URL")
INCIDENT_FIELDS = {"id", "name", "status", "impact", "impact_override", "created_at", "updated_at", "resolved_at",
                   "shortlink", "page_id", "incident_updates", "components", "monitoring_at"}
UPDATE_FIELDS = {"id", "incident_id", "status", "body", "created_at", "updated_at", "display_at",
                 "affected_components", "deliver_notifications"}


def labctl(*args):
    return subprocess.run([str(LABCTL), *args], capture_output=True, text=True, check=False)


def components_by_name(statuspage):
    resp = statuspage("GET", "/components")
    assert resp.status_code == 200
    return {comp["name"]: comp for comp in resp.json()}


# --- labctl ------------------------------------------------------------------------------

def test_labctl_env_exports_every_saas_value(lab):
    exported = labctl("env").stdout
    for name in SAAS_VARIABLES:
        assert f"export {name}=" in exported
        assert lab[name]
    assert lab["STATUSPAGE_API_URL"].startswith("http://127.0.0.1:")
    assert len(lab["PAGERDUTY_ROUTING_KEY"]) == 32
    status = labctl("status")
    assert "saas" in status.stdout and "healthy" in status.stdout.split("saas", 1)[1].splitlines()[0]


# --- Statuspage ----------------------------------------------------------------------------

@pytest.mark.parametrize("auth", [None, "OAuth wrong-key", "Bearer {key}"])
def test_statuspage_rejects_missing_or_wrong_key(lab, statuspage, auth):
    headers = {"Authorization": auth.format(key=lab["STATUSPAGE_API_KEY"])} if auth else {}
    resp = requests.get(statuspage.base + "/incidents", headers=headers, timeout=10)
    assert resp.status_code == 401
    assert resp.json() == {"error": "Could not authenticate"}


def test_statuspage_accepts_the_key_as_api_key_query_parameter(lab, statuspage):
    resp = requests.get(statuspage.base + "/components", params={"api_key": lab["STATUSPAGE_API_KEY"]}, timeout=10)
    assert resp.status_code == 200


def test_statuspage_unknown_page_is_404(lab, statuspage):
    resp = statuspage.http.get(f"{lab['STATUSPAGE_API_URL']}/pages/nosuchpage000/incidents", timeout=10)
    assert resp.status_code == 404


def test_components_are_seeded_operational_and_patchable(statuspage):
    comps = components_by_name(statuspage)
    assert set(comps) == {"API", "Database", "Web App", "Model Training", "Notifications"}
    assert {c["status"] for c in comps.values()} == {"operational"}
    for status in ("under_maintenance", "degraded_performance", "partial_outage", "major_outage", "operational"):
        resp = statuspage("PATCH", f"/components/{comps['Database']['id']}", json={"component": {"status": status}})
        assert resp.status_code == 200, resp.text
        assert statuspage("GET", f"/components/{comps['Database']['id']}").json()["status"] == status
    bad = statuspage("PATCH", f"/components/{comps['Database']['id']}", json={"component": {"status": "down"}})
    assert bad.status_code == 422


def test_incident_lifecycle_has_real_shapes_updates_and_resolved_at(statuspage):
    comps = components_by_name(statuspage)
    api_id = comps["API"]["id"]
    created = statuspage("POST", "/incidents", json={"incident": {
        "name": "API unavailable", "status": "investigating", "body": "Looking into it.",
        "components": {api_id: "major_outage"}, "component_ids": [api_id]}})
    assert created.status_code == 201, created.text
    inc = created.json()
    assert INCIDENT_FIELDS <= set(inc)
    assert inc["impact"] == "critical" and inc["impact_override"] is None  # derived from major_outage
    assert inc["resolved_at"] is None
    assert [c["name"] for c in inc["components"]] == ["API"]
    assert len(inc["incident_updates"]) == 1
    assert UPDATE_FIELDS <= set(inc["incident_updates"][0])
    assert inc["incident_updates"][0]["affected_components"] == [
        {"code": api_id, "name": "API", "old_status": "operational", "new_status": "major_outage"}]

    patched = statuspage("PATCH", f"/incidents/{inc['id']}", json={"incident": {
        "status": "identified", "body": "Bad deploy.", "impact_override": "major"}}).json()
    assert patched["status"] == "identified" and patched["impact"] == "major"
    assert [u["body"] for u in patched["incident_updates"]] == ["Bad deploy.", "Looking into it."]

    renamed = statuspage("PATCH", f"/incidents/{inc['id']}", json={"incident": {"name": "API errors"}}).json()
    assert len(renamed["incident_updates"]) == 2, "a rename alone is not an incident update"

    resolved = statuspage("PATCH", f"/incidents/{inc['id']}", json={"incident": {
        "status": "resolved", "body": "Fixed.", "components": {api_id: "operational"}}}).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    assert statuspage("GET", f"/components/{api_id}").json()["status"] == "operational"
    assert statuspage("GET", f"/incidents/{inc['id']}").json() == resolved
    assert statuspage("GET", "/incidents/unresolved").json() == []

    deleted = statuspage("DELETE", f"/incidents/{inc['id']}")
    assert deleted.status_code == 200
    assert statuspage("GET", f"/incidents/{inc['id']}").status_code == 404


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"incident": {"name": ""}}, 422, "Name can't be blank"),
    ({"incident": {"name": "x", "status": "on_fire"}}, 422, "Status must be one of"),
    ({"incident": {"name": "x", "impact_override": "huge"}}, 422, "Impact override"),
    ({"incident": {"name": "x", "components": {"nosuchcomp": "major_outage"}}}, 404, "not found"),
    ({"name": "no incident envelope"}, 400, "'incident' object"),
])
def test_statuspage_validates_incident_payloads(statuspage, body, status, needle):
    resp = statuspage("POST", "/incidents", json=body)
    assert resp.status_code == status
    assert needle in resp.json()["error"]
    assert statuspage("GET", "/incidents").json() == [], "a rejected create must create nothing"


def test_statuspage_rejects_a_body_that_is_not_json(statuspage):
    resp = statuspage("POST", "/incidents", data="name=x", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400


def test_incident_listing_paginates_searches_and_filters_unresolved(statuspage, saas_admin):
    saas_admin.seed_incidents(130, name="Old outage {n}", status="resolved")
    saas_admin.seed_incidents(105, name="Open issue {n}", status="investigating")
    first = statuspage("GET", "/incidents", params={"limit": 100, "page": 1}).json()
    assert len(first) == 100
    assert first[0]["name"] == "Open issue 105", "newest first"
    pages = [statuspage("GET", "/incidents", params={"page": n}).json() for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [100, 100, 35]
    ids = [inc["id"] for page in pages for inc in page]
    assert len(set(ids)) == 235
    assert statuspage("GET", "/incidents", params={"page": 4}).json() == []

    unresolved = [statuspage("GET", "/incidents/unresolved", params={"per_page": 100, "page": n}).json()
                  for n in (1, 2)]
    assert [len(p) for p in unresolved] == [100, 5]
    assert {inc["status"] for p in unresolved for inc in p} == {"investigating"}

    found = statuspage("GET", "/incidents", params={"q": "Old outage 12"}).json()
    assert sorted(inc["name"] for inc in found) == ["Old outage 12", *(f"Old outage {n}" for n in range(120, 130))]
    assert len(statuspage("GET", "/incidents", params={"limit": 7}).json()) == 7


def test_rate_limit_answers_429_with_retry_after_then_admits_again(statuspage, saas_admin):
    saas_admin.rate_limit(enabled=True, requests=2, window=2)
    assert statuspage("GET", "/components").status_code == 200
    assert statuspage("GET", "/components").status_code == 200
    limited = statuspage("GET", "/components")
    assert limited.status_code == 429
    wait = int(limited.headers["Retry-After"])
    assert 1 <= wait <= 2
    time.sleep(wait)
    assert statuspage("GET", "/components").status_code == 200
    calls = saas_admin.calls("statuspage")
    assert [call["status"] for call in calls] == [200, 200, 429, 200]
    assert calls[2]["retry_after"] == str(wait), "the call log records the Retry-After answered"


def test_rate_limit_is_on_by_default_at_60_per_minute(saas_admin):
    assert saas_admin.calls() == [], "the reset leaves a clean call log"
    settings = saas_admin._call("GET", "/statuspage/rate-limit")
    assert settings == {"enabled": True, "requests": 60, "window": 60.0}


def test_injected_500s_answer_the_next_n_requests_only(statuspage, saas_admin):
    saas_admin.fail_next("statuspage", 2)
    assert [statuspage("GET", "/components").status_code for _ in range(3)] == [500, 500, 200]
    saas_admin.fail_next("statuspage", 1, status=503)
    assert statuspage("GET", "/components").status_code == 503


# --- Slack ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "status", "answer"), [
    ({"text": "Incident declared"}, 200, "ok"),
    ({"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "P0"}},
                 {"type": "section", "text": {"type": "mrkdwn", "text": "*API down*"}},
                 {"type": "divider"}]}, 200, "ok"),
    ({"attachments": [{"fallback": "x", "text": "y"}]}, 200, "ok"),
    ({"text": ""}, 400, "no_text"),
    ({"username": "bot"}, 400, "no_text"),
    ({"blocks": "not a list"}, 400, "invalid_blocks_format"),
    ({"blocks": [{"type": "section"}]}, 400, "invalid_blocks"),
    ({"blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}]}, 400, "invalid_blocks"),
    ({"blocks": [{"type": "carousel"}]}, 400, "invalid_blocks"),
])
def test_slack_webhook_validates_payloads_like_slack(lab, saas_admin, payload, status, answer):
    resp = requests.post(lab["SLACK_WEBHOOK_URL"], json=payload, timeout=10)
    assert (resp.status_code, resp.text) == (status, answer)
    call = saas_admin.calls("slack")[-1]
    assert call["status"] == status and call["body"] == payload


def test_slack_webhook_rejects_non_json_and_wrong_token_and_takes_form_payload(lab, saas_admin):
    url = lab["SLACK_WEBHOOK_URL"]
    resp = requests.post(url, data="{not json", headers={"Content-Type": "application/json"}, timeout=10)
    assert (resp.status_code, resp.text) == (400, "invalid_payload")
    resp = requests.post(url.rsplit("/", 1)[0] + "/wrongtoken", json={"text": "x"}, timeout=10)
    assert (resp.status_code, resp.text) == (403, "invalid_token")
    resp = requests.post(url.replace("T00LAB000", "TOTHER"), json={"text": "x"}, timeout=10)
    assert (resp.status_code, resp.text) == (404, "no_service")
    resp = requests.post(url, data={"payload": json.dumps({"text": "form"})}, timeout=10)
    assert (resp.status_code, resp.text) == (200, "ok")


# --- PagerDuty --------------------------------------------------------------------------------

def _event(lab, **overrides):
    event = {"routing_key": lab["PAGERDUTY_ROUTING_KEY"], "event_action": "trigger",
             "payload": {"summary": "API down", "source": "pynomaly-api", "severity": "critical"}}
    event.update(overrides)
    return event


def test_pagerduty_trigger_acknowledge_resolve(lab, saas_admin):
    url = lab["PAGERDUTY_EVENTS_URL"]
    resp = requests.post(url, json=_event(lab), timeout=10)
    assert resp.status_code == 202
    body = resp.json()
    assert body["status"] == "success" and body["message"] == "Event processed" and body["dedup_key"]
    resp = requests.post(url, json=_event(lab, dedup_key="INC-1"), timeout=10)
    assert resp.json()["dedup_key"] == "INC-1"
    for action in ("acknowledge", "resolve"):
        resp = requests.post(url, json={"routing_key": lab["PAGERDUTY_ROUTING_KEY"], "event_action": action,
                                        "dedup_key": "INC-1"}, timeout=10)
        assert resp.status_code == 202, resp.text
    assert [c["status"] for c in saas_admin.calls("pagerduty")] == [202, 202, 202, 202]


@pytest.mark.parametrize(("overrides", "needle"), [
    ({"routing_key": ""}, "'routing_key' is missing"),
    ({"routing_key": "short"}, "must be 32 characters"),
    ({"routing_key": "0" * 32}, "Invalid routing key"),
    ({"event_action": "escalate"}, "'event_action'"),
    ({"event_action": "resolve"}, "'dedup_key' is required for event_action 'resolve'"),
    ({"event_action": "acknowledge"}, "'dedup_key' is required for event_action 'acknowledge'"),
    ({"dedup_key": "x" * 256}, "'dedup_key' must be a string of at most 255"),
    ({"payload": {"source": "s", "severity": "critical"}}, "'payload.summary' is missing"),
    ({"payload": {"summary": "s", "severity": "critical"}}, "'payload.source' is missing"),
    ({"payload": {"summary": "s", "source": "s", "severity": "fatal"}}, "'payload.severity'"),
    ({"payload": {"summary": "s" * 1025, "source": "s", "severity": "info"}}, "at most 1024"),
    ({"payload": None}, "'payload' is missing"),
])
def test_pagerduty_rejects_invalid_events_with_errors(lab, saas_admin, overrides, needle):
    resp = requests.post(lab["PAGERDUTY_EVENTS_URL"], json=_event(lab, **overrides), timeout=10)
    assert resp.status_code == 400
    body = resp.json()
    assert body["status"] == "invalid event" and body["message"] == "Event object is invalid"
    assert any(needle in err for err in body["errors"]), body["errors"]


def test_fail_next_applies_per_stand_in(lab, saas_admin):
    saas_admin.fail_next("pagerduty", 1)
    saas_admin.fail_next("slack", 1, status=503)
    assert requests.post(lab["SLACK_WEBHOOK_URL"], json={"text": "x"}, timeout=10).status_code == 503
    assert requests.post(lab["PAGERDUTY_EVENTS_URL"], json=_event(lab), timeout=10).status_code == 500
    assert requests.post(lab["SLACK_WEBHOOK_URL"], json={"text": "x"}, timeout=10).status_code == 200
    assert requests.post(lab["PAGERDUTY_EVENTS_URL"], json=_event(lab), timeout=10).status_code == 202


# --- the call log ---------------------------------------------------------------------------

def test_call_log_records_every_call_with_secrets_redacted(lab, statuspage, saas_admin):
    statuspage("POST", "/incidents", params={"source": "test"}, json={"incident": {"name": "Logged"}})
    requests.get(statuspage.base + "/incidents", headers={"Authorization": "OAuth wrong"}, timeout=10)
    requests.post(lab["SLACK_WEBHOOK_URL"], json={"text": "hello"}, timeout=10)

    out = labctl("calls", "statuspage")
    assert out.returncode == 0, out.stderr
    calls = json.loads(out.stdout)
    assert [(c["method"], c["status"]) for c in calls] == [("POST", 201), ("GET", 401)]
    first = calls[0]
    assert first["service"] == "statuspage"
    assert first["path"] == f"/v1/pages/{lab['STATUSPAGE_PAGE_ID']}/incidents"
    assert first["query"] == {"source": "test"}
    assert first["body"] == {"incident": {"name": "Logged"}}
    assert first["headers"]["Authorization"] == "OAuth ***"
    assert first["time"].endswith("Z") and first["timestamp"] > 0

    everything = labctl("calls").stdout
    assert lab["STATUSPAGE_API_KEY"] not in everything
    token = lab["SLACK_WEBHOOK_URL"].rsplit("/", 1)[1]
    assert token not in everything
    slack = json.loads(labctl("calls", "slack").stdout)
    assert slack[0]["path"].endswith("/B00LAB000/***") and slack[0]["body"] == {"text": "hello"}

    assert labctl("calls", "slack", "--clear").returncode == 0
    assert json.loads(labctl("calls", "slack").stdout) == []
    assert len(json.loads(labctl("calls", "statuspage").stdout)) == 2, "clearing one stand-in keeps the others"
    labctl("calls", "--clear")
    assert json.loads(labctl("calls").stdout) == []


def test_admin_calls_are_not_recorded(saas_admin):
    saas_admin.rate_limit(enabled=False)
    saas_admin.seed_incidents(3)
    assert saas_admin.calls() == []


def test_fail_next_can_target_one_method_and_fail_after_processing(statuspage, saas_admin):
    saas_admin.fail_next("statuspage", 1, method="POST", after_processing=True)
    assert statuspage("GET", "/incidents").status_code == 200, "a GET is not the targeted method"
    resp = statuspage("POST", "/incidents", json={"incident": {"name": "Processed anyway"}})
    assert resp.status_code == 500
    assert [inc["name"] for inc in statuspage("GET", "/incidents").json()] == ["Processed anyway"]
    saas_admin.fail_next("statuspage", 1, method="POST")
    assert statuspage("POST", "/incidents", json={"incident": {"name": "Refused"}}).status_code == 500
    assert len(statuspage("GET", "/incidents").json()) == 1, "a plain injected 500 processes nothing"
