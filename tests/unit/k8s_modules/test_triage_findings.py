"""Triage findings and the suggested scenario, from facts the lab cluster really served.

Fixtures: tests/unit/k8s_modules/fixtures/<scenario>.json, recorded by fixtures/capture.py after
`labctl inject <scenario>` (and on a healthy lab).
"""
import json
from pathlib import Path

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.findings import analyse
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.logstats import LogStats
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.triage import pod_facts
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.usage import parse_quantity, pod_usage

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load(scenario):
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


@pytest.mark.parametrize(("scenario", "expected", "top"), [
    ("api_down", "api_down", r"^\d/\d pods of pynomaly-api crash-loop since revision \d+ "
                             r"\(image pynomaly-api:1\.3\.0-crashloop, change-cause \"Release 1\.3\.0"),
    ("error_rate", "error_rate", r"% of \d+ requests in the recent logs of pynomaly-api answered 5xx \(5\d\d: "),
    ("latency", "latency", r"^p95 response time in the recent logs of pynomaly-api is [3-9]\.\d\ds, above 2\.0s"),
    ("security", "security", r"% of \d+ requests to pynomaly-api are failed authentications"),
    ("memory", "memory", r"^3/3 pods of pynomaly-api use over 90% of their memory limit \(max 9\d"),
    ("cpu", "cpu", r"^3/3 pods of pynomaly-api use over 80% of their cpu limit"),
])
def test_each_injected_scenario_gets_its_top_finding(scenario, expected, top):
    findings, suggested = analyse(load(scenario)["facts"])
    assert suggested == expected, findings
    assert findings, "an incident must produce findings"
    import re

    assert re.search(top, findings[0]), findings[0]


def test_healthy_lab_suggests_nothing():
    findings, suggested = analyse(load("healthy")["facts"])
    assert suggested == "none"
    # Recorded right after the api_down incident healed: its BackOff events are still recent.
    assert all("recent Warning events" in f for f in findings), findings


def test_thresholds_move_the_verdict():
    facts = load("error_rate")["facts"]
    assert analyse(facts, {"max_error_rate": 0.5})[1] != "error_rate"
    healthy = load("healthy")["facts"]
    assert analyse(healthy, {"memory_percent": 10.0})[1] == "memory"


def test_pod_facts_from_a_crash_looping_pod():
    data = load("api_down")
    crashing = [p for p in data["raw_pods"] if p["spec"]["containers"][0]["image"].endswith("crashloop")]
    assert crashing, "the fixture has a crash-looping pod"
    hashes = {p["metadata"]["labels"]["pod-template-hash"]: 5 for p in crashing}
    facts = pod_facts(crashing[0], hashes, now=0)
    assert facts["is_ready"] is False
    assert facts["revision"] == 5
    assert facts["restarts"] >= 1
    assert facts["last_termination"] == "Error"
    assert set(facts["reasons"]) & {"CrashLoopBackOff", "Error"}


def test_log_stats_on_real_lines():
    data = load("error_rate")
    stats = LogStats()
    for text in data["raw_logs"].values():
        stats.add(text)
    summary = stats.summary()
    assert summary["lines"] > 0
    assert summary["http_requests"] == sum(summary["status_codes"].values())
    assert all(len(code) == 3 for code in summary["status_codes"])
    assert summary["latency"]["p50"] <= summary["latency"]["p95"] <= summary["latency"]["max"]


def test_log_stats_counts_like_the_seed_pipelines():
    stats = LogStats()
    stats.add("2026-11-27T06:09:39.178Z INFO POST /api/v1/detect HTTP/1.1 201 0.043s 10.0.6.76\n"
              "2026-11-27T06:09:39.200Z ERROR app: GET /api/v1/detect failed with 503 Service Unavailable: x\n"
              "2026-11-27T06:09:39.201Z INFO GET /api/v1/detect HTTP/1.1 503 2.500s 10.0.1.1\n"
              "2026-11-27T06:09:40.000Z WARNING auth: failed login for user=bob from 10.0.0.9\n"
              "2026-11-27T06:09:40.001Z INFO POST /api/v1/auth/login HTTP/1.1 401 0.010s 10.0.0.9\n"
              "\n")
    s = stats.summary()
    assert s["lines"] == 5
    assert s["status_codes"] == {"201": 1, "401": 1, "503": 1}
    assert s["error_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["auth_failures"] == 1 and s["failed_login_lines"] == 1
    assert s["error_lines"] == 1
    assert s["latency"]["max"] == 2.5
    assert s["top_errors"][0]["message"].startswith("ERROR app: GET /api/v1/detect failed with N")


def test_quantities_and_pod_usage():
    assert parse_quantity("250m") == pytest.approx(0.25)
    assert parse_quantity("512Mi") == 512 * 1024 ** 2
    assert parse_quantity("123456789n") == pytest.approx(0.123456789)
    assert parse_quantity("1.5") == 1.5
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                                    "limits": {"cpu": "1", "memory": "512Mi"}}}]}}
    usage = pod_usage(pod, {"containers": [{"name": "a", "usage": {"cpu": "950m", "memory": "505Mi"}}]})
    assert usage["cpu_percent_of_limit"] == 95.0
    assert usage["memory_percent_of_limit"] == pytest.approx(98.6, abs=0.1)
    assert usage["cpu_percent_of_request"] == 380.0
    no_limits = {"metadata": {"name": "q"}, "spec": {"containers": [{"name": "a"}]}}
    assert pod_usage(no_limits, {"containers": [{"usage": {"cpu": "1", "memory": "1Mi"}}]})[
        "memory_percent_of_limit"] is None


def test_a_pod_running_between_two_crashes_counts_as_crash_looping():
    data = load("api_down")
    pod = next(p for p in data["raw_pods"] if p["spec"]["containers"][0]["image"].endswith("crashloop"))
    cs = pod["status"]["containerStatuses"][0]
    cs["state"] = {"running": {"startedAt": "2026-11-27T06:12:00Z"}}
    cs["ready"] = False
    cs["restartCount"] = 2
    cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-27T06:11:58Z"}}
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.triage import recent_crashes

    now = 1795759930.0  # 2026-11-27T06:12:10Z
    assert recent_crashes([cs], now) == ["Error"]
    assert recent_crashes([cs], now + 3600) == []  # an old crash is history, not a crash loop
    cs["ready"] = True
    assert recent_crashes([cs], now) == []
    facts = dict(data["facts"])
    facts["pods"] = [dict(p, reasons=["Error"] if p["name"] == pod["metadata"]["name"] else []) for p in facts["pods"]]
    findings, scenario = analyse(facts)
    assert scenario == "api_down"
    assert "crash-loop" in findings[0]
