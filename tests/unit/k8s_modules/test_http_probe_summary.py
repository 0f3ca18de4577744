"""The probe summary: nearest-rank percentiles, error rate, thresholds."""
import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.http_probe import (
    HttpProbe,
    Outcome,
    ProbeError,
    percentile,
    summarize,
)


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([], 0.5) == 0.0


def test_summary_counts_statuses_and_connection_errors():
    outcomes = [Outcome(200, 0.1)] * 17 + [Outcome(503, 0.2), Outcome(None, 1.0, "timeout"),
                                           Outcome(None, 0.01, "connection refused")]
    res = summarize(outcomes, [200], 0.05, 2.0)
    assert res["status_codes"] == {"200": 17, "503": 1}
    assert res["errors"] == {"timeout": 1, "connection refused": 1}
    assert res["failed_requests"] == 3
    assert res["error_rate"] == pytest.approx(0.15)
    assert res["healthy"] is False
    assert res["latency"]["max"] == 1.0


def test_threshold_boundaries_are_inclusive():
    outcomes = [Outcome(200, 2.0)] * 19 + [Outcome(500, 2.0)]
    res = summarize(outcomes, [200], 0.05, 2.0)
    assert res["error_rate"] == 0.05
    assert res["healthy"] is True
    assert summarize(outcomes, [200], 0.04, 2.0)["problems"] == ["error rate 5.0% is above 4.0%"]


def test_bad_url_is_rejected():
    with pytest.raises(ProbeError):
        HttpProbe("not a url")
    probe = HttpProbe("http://127.0.0.1:8080/health?x=1")
    assert (probe.host, probe.port, probe.path) == ("127.0.0.1", 8080, "/health?x=1")
