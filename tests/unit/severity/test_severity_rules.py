"""Every rule of the seed's "Incident Severity Levels", its boundaries, and bad input."""
import pytest
from ansible.errors import AnsibleFilterError, AnsibleLookupError

from ansible_collections.pynomaly.incident_response.plugins.filter.severity import FilterModule
from ansible_collections.pynomaly.incident_response.plugins.lookup.severity_policy import LookupModule
from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import (
    RTO_MINUTES,
    classify,
    rto,
)

severity = FilterModule().filters()["severity"]


@pytest.mark.parametrize(("signals", "level"), [
    # P0: complete outage, data loss/corruption, security breach, revenue impact
    ({"outage": True}, "P0"),
    ({"data_loss": True}, "P0"),
    ({"security_breach": True}, "P0"),
    ({"revenue_impact": True}, "P0"),
    # P1: significant degradation, error rate > 5 %, p95 > 2 s, partial outage
    ({"significant_degradation": True}, "P1"),
    ({"error_rate": 7.5}, "P1"),
    ({"p95_latency": 2.5}, "P1"),
    ({"partial_outage": True}, "P1"),
    # P2: minor issues, non-critical degradation, monitoring alerts
    ({"minor_issue": True}, "P2"),
    ({"degraded": True}, "P2"),
    ({"alert": True}, "P2"),
    # P3: cosmetic, and nothing at all
    ({"cosmetic": True}, "P3"),
    ({}, "P3"),
])
def test_each_seed_rule_gives_its_level(signals, level):
    assert severity(signals) == level


@pytest.mark.parametrize(("signals", "level"), [
    ({"error_rate": 5}, "P3"),                     # exactly 5 % is not "> 5 %"
    ({"error_rate": 5, "alert": True}, "P2"),      # ... the alert that reported it makes it P2
    ({"error_rate": 5.001}, "P1"),
    ({"error_rate": "5%"}, "P3"),
    ({"error_rate": "5.1%"}, "P1"),
    ({"error_ratio": 0.05}, "P3"),
    ({"error_ratio": 0.0501}, "P1"),
    ({"p95_latency": 2}, "P3"),                    # exactly 2 s is not "> 2 s"
    ({"p95_latency": 2, "degraded": True}, "P2"),
    ({"p95_latency": 2.001}, "P1"),
    ({"p95_latency_ms": 2000}, "P3"),
    ({"p95_latency_ms": 2001}, "P1"),
])
def test_thresholds_are_strict(signals, level):
    assert severity(signals) == level


def test_most_severe_rule_wins_and_explains_itself():
    result = severity({"error_rate": 12, "p95_latency": 3, "alert": True, "outage": True}, explain=True)
    assert result["severity"] == "P0"
    assert result["reasons"] == ["complete system outage"]
    p1 = severity({"error_rate": 12, "p95_latency": 3, "alert": True}, explain=True)
    assert p1["severity"] == "P1"
    assert p1["reasons"] == ["error rate 12 % > 5 %", "p95 latency 3 s > 2 s"]
    assert p1["error_rate"] == 12.0
    assert p1["p95_latency"] == 3.0


def test_false_flags_do_not_count():
    assert severity({"outage": False, "data_loss": "no", "alert": "yes"}) == "P2"


def test_thresholds_can_be_tuned():
    assert severity({"error_rate": 3}, error_rate_threshold=2) == "P1"
    assert severity({"p95_latency": 0.8}, p95_threshold=0.5) == "P1"
    assert severity({"p95_latency": 0.5}, p95_threshold=0.5) == "P3"


@pytest.mark.parametrize(("signals", "message"), [
    ({"outtage": True}, "unknown signal(s) outtage"),
    ({"error_rate": 120}, "between 0 and 100"),
    ({"error_rate": -1}, "between 0 and 100"),
    ({"error_rate": "lots"}, "must be a number"),
    ({"error_rate": True}, "must be a number"),
    ({"error_ratio": 5}, "between 0 and 1"),
    ({"error_rate": 6, "error_ratio": 0.06}, "not both"),
    ({"p95_latency": 3, "p95_latency_ms": 3000}, "not both"),
    ({"outage": "maybe"}, "must be a boolean"),
    ("P1", "expects a dict"),
])
def test_bad_input_is_a_clear_error(signals, message):
    with pytest.raises(AnsibleFilterError, match="severity: .*" + message.replace("(", r"\(").replace(")", r"\)")):
        severity(signals)


@pytest.mark.parametrize(("level", "minutes", "escalation", "pd_action", "impact"), [
    ("P0", 15, "Page on-call engineer immediately", "trigger", "critical"),
    ("P1", 60, "Notify on-call engineer within 30 minutes", "trigger", "major"),
    ("P2", 240, "Standard business hours response", None, "minor"),
    ("P3", None, "Regular development workflow", None, "none"),
])
def test_policy_lookup_gives_the_seed_targets(level, minutes, escalation, pd_action, impact):
    [entry] = LookupModule().run([level.lower()], variables={})
    assert entry["level"] == level
    assert entry["response_target_minutes"] == minutes
    assert entry["escalation"] == escalation
    assert entry["pagerduty_action"] == pd_action
    assert entry["statuspage_impact"] == impact


def test_policy_lookup_pages_only_p0_and_notifies_p1():
    p0, p1 = LookupModule().run(["P0", "P1"], variables={})
    assert (p0["pagerduty_severity"], p0["notify_within_minutes"]) == ("critical", 0)
    assert (p1["pagerduty_severity"], p1["notify_within_minutes"]) == ("warning", 30)


def test_policy_lookup_rejects_unknown_levels():
    with pytest.raises(AnsibleLookupError, match="severity must be one of P0, P1, P2, P3"):
        LookupModule().run(["P5"], variables={})


def test_rto_table_is_the_seeds():
    assert RTO_MINUTES == {"api": 15, "database": 30, "ml_models": 60, "file_storage": 120}
    assert rto("Database") == (30, "Database")
    assert rto("file storage") == (120, "File Storage")


def test_classify_returns_a_new_result_each_time():
    first = classify({"alert": True})
    first["reasons"].append("mutated")
    assert classify({"alert": True})["reasons"] == ["monitoring alert"]
