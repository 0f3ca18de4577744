"""What statuspage_update decides to write, from the incident it read: only what differs."""
import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.client import (
    retry_after_seconds,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.errors import InvalidRequest
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.incident import (
    latest_update,
    pick_by_name,
    plan_create,
    plan_update,
    predict,
    resolve_components,
    summarize,
)

COMPONENTS = [
    {"id": "c-api", "name": "API", "status": "major_outage"},
    {"id": "c-db", "name": "Database", "status": "operational"},
    {"id": "c-web", "name": "Web App", "status": "operational"},
]
BY_ID = {c["id"]: c for c in COMPONENTS}


def incident(**overrides):
    inc = {
        "id": "inc1", "name": "API unavailable", "status": "investigating", "impact": "critical",
        "impact_override": None, "components": [COMPONENTS[0]],
        "incident_updates": [
            {"id": "u2", "body": "Second", "created_at": "2026-01-02T03:05:00.000Z"},
            {"id": "u1", "body": "First", "created_at": "2026-01-02T03:04:00.000Z"},
        ],
    }
    inc.update(overrides)
    return inc


def test_components_resolve_by_id_exact_name_then_case_insensitive_name():
    assert resolve_components({"c-db": "partial_outage", "API": "operational", "web app": "major_outage"},
                              COMPONENTS) == {"c-db": "partial_outage", "c-api": "operational",
                                              "c-web": "major_outage"}


def test_unknown_or_ambiguous_components_are_refused_with_the_page_components_listed():
    with pytest.raises(InvalidRequest) as err:
        resolve_components({"Billing": "major_outage"}, COMPONENTS)
    assert "'Billing' is neither" in err.value.message and "Database (c-db)" in err.value.message
    twins = [*COMPONENTS, {"id": "c-api2", "name": "API", "status": "operational"}]
    with pytest.raises(InvalidRequest, match="names 2 components"):
        resolve_components({"API": "operational"}, twins)
    with pytest.raises(InvalidRequest, match="not one of"):
        resolve_components({"API": "down"}, COMPONENTS)


def test_latest_update_is_the_newest_by_created_at_whatever_the_order():
    inc = incident()
    assert latest_update(inc)["id"] == "u2"
    inc["incident_updates"].reverse()
    assert latest_update(inc)["id"] == "u2"
    assert latest_update(incident(incident_updates=[])) is None


def test_nothing_differs_means_no_write():
    desired = {"name": "API unavailable", "status": "investigating", "impact": "critical", "body": "Second"}
    assert plan_update(incident(), desired, {"c-api": "major_outage"}, BY_ID) == {}


def test_a_body_already_posted_as_latest_is_not_posted_again_but_an_older_one_is():
    assert plan_update(incident(), {"body": "Second"}, {}, BY_ID) == {}
    assert plan_update(incident(), {"body": "First"}, {}, BY_ID) == {"body": "First"}


def test_status_impact_and_components_that_differ_are_sent():
    fields = plan_update(incident(), {"status": "identified", "impact": "major"},
                         {"c-api": "major_outage", "c-db": "degraded_performance"}, BY_ID)
    assert fields == {"status": "identified", "impact_override": "major",
                      "components": {"c-db": "degraded_performance"}, "component_ids": ["c-api", "c-db"]}


def test_a_component_with_the_right_status_but_not_attached_is_attached():
    fields = plan_update(incident(), {}, {"c-web": "operational"}, BY_ID)
    assert fields["components"] == {"c-web": "operational"}


def test_the_name_is_changed_only_when_the_incident_was_named_by_id():
    assert plan_update(incident(), {"name": "New"}, {}, BY_ID) == {}
    assert plan_update(incident(), {"name": "New", "rename": True}, {}, BY_ID) == {"name": "New"}


def test_impact_is_compared_with_the_override_first():
    inc = incident(impact="critical", impact_override="minor")
    assert plan_update(inc, {"impact": "minor"}, {}, BY_ID) == {}
    assert plan_update(inc, {"impact": "critical"}, {}, BY_ID) == {"impact_override": "critical"}


def test_create_defaults_to_investigating_and_sends_only_what_was_given():
    assert plan_create({"name": "X"}, {}) == {"name": "X", "status": "investigating"}
    assert plan_create({"name": "X", "status": "identified", "impact": "major", "body": "B"},
                       {"c-api": "major_outage"}) == {
        "name": "X", "status": "identified", "impact_override": "major", "body": "B",
        "components": {"c-api": "major_outage"}, "component_ids": ["c-api"]}


def test_pick_by_name_is_exact_and_refuses_ambiguity():
    incs = [incident(id="a", name="API"), incident(id="b", name="API unavailable")]
    assert pick_by_name(incs, "API")["id"] == "a"
    assert pick_by_name(incs, "api") is None
    with pytest.raises(InvalidRequest, match="2 unresolved incidents are named 'API'.*a, c"):
        pick_by_name([*incs, incident(id="c", name="API")], "API")


def test_diff_summary_and_prediction():
    before = summarize(incident(), BY_ID)
    assert before == {"name": "API unavailable", "status": "investigating", "impact": "critical",
                      "body": "Second", "components": {"API": "major_outage"}}
    after = predict(before, {"status": "resolved", "body": "Fixed", "components": {"c-api": "operational"}}, BY_ID)
    assert after["status"] == "resolved" and after["body"] == "Fixed"
    assert after["components"] == {"API": "operational"}
    assert before["components"] == {"API": "major_outage"}, "predict must not modify the before summary"
    assert summarize(None, BY_ID) == {}


@pytest.mark.parametrize(("header", "expected"), [
    ("2", 2.0), ("0.5", 0.5), ("-3", 0.0), (None, None), ("soon", None),
    ("Fri, 02 Jan 2026 03:04:10 GMT", 10.0),
])
def test_retry_after_reads_seconds_and_http_dates(header, expected):
    now = 1767323040.0  # 2026-01-02T03:04:00Z
    assert retry_after_seconds(header, now=now) == expected
