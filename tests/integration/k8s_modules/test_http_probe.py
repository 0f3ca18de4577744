"""http_probe against a real HTTP server on loopback: distribution, latency, thresholds, unreachable."""
import socket

import pytest

pytestmark = pytest.mark.usefixtures("reset_counter")


def test_healthy_endpoint(run_module, http_server):
    res = run_module("http_probe", {"url": f"{http_server}/health", "count": 30, "concurrency": 5})
    assert not res.get("failed"), res
    assert res["changed"] is False
    assert res["requests"] == 30
    assert res["status_codes"] == {"200": 30}
    assert res["error_rate"] == 0
    assert res["healthy"] is True
    assert 0 < res["latency"]["p50"] <= res["latency"]["p95"] <= res["latency"]["max"]


def test_error_rate_counts_unexpected_statuses(run_module, http_server):
    # Every 5th request answers 503: 20 % errors, above the 5 % default.
    res = run_module("http_probe", {"url": f"{http_server}/?fail_every=5&fail_status=503", "count": 40,
                                    "concurrency": 1})
    assert not res.get("failed"), res
    assert res["status_codes"] == {"200": 32, "503": 8}
    assert res["error_rate"] == pytest.approx(0.2)
    assert res["healthy"] is False
    assert res["problems"] == ["error rate 20.0% is above 5.0%"]


def test_expected_status_makes_other_codes_success(run_module, http_server):
    res = run_module("http_probe", {"url": f"{http_server}/?status=204", "count": 5, "expected_status": [204]})
    assert res["healthy"] is True
    assert res["status_codes"] == {"204": 5}


def test_slow_endpoint_fails_p95_threshold_only_when_asked(run_module, http_server):
    args = {"url": f"{http_server}/?delay=0.25", "count": 8, "concurrency": 8, "max_p95_seconds": 0.1}
    res = run_module("http_probe", args)
    assert not res.get("failed")
    assert res["healthy"] is False
    assert res["latency"]["p95"] >= 0.25
    assert "p95 latency" in res["problems"][0]
    res = run_module("http_probe", dict(args, fail_on_threshold=True))
    assert res["failed"] is True
    assert "unhealthy" in res["msg"]


def test_concurrency_runs_requests_in_parallel(run_module, http_server):
    # 12 requests of 0.3 s each over 6 connections take ~0.6 s, not 3.6 s: total time is bounded by
    # the max latency times the number of waves (latency is per request, so p50 stays ~0.3).
    res = run_module("http_probe", {"url": f"{http_server}/?delay=0.3", "count": 12, "concurrency": 6})
    assert res["requests"] == 12
    assert res["latency"]["p50"] >= 0.3


def test_timeout_counts_as_error(run_module, http_server):
    res = run_module("http_probe", {"url": f"{http_server}/?delay=1", "count": 2, "timeout": 0.2})
    assert res["errors"] == {"timeout": 2}
    assert res["error_rate"] == 1.0
    assert res["healthy"] is False


def test_unreachable_host_is_a_clear_message_not_a_traceback(run_module):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    res = run_module("http_probe", {"url": f"http://127.0.0.1:{port}/health", "count": 3,
                                    "fail_on_threshold": True})
    assert res["failed"] is True
    assert res["errors"] == {"connection refused": 3}
    assert "unreachable: connection refused" in res["msg"]
    assert "Traceback" not in res["_stdout"] + res["_stderr"]


@pytest.mark.parametrize(("args", "message"), [
    ({"url": "ftp://example.com/x"}, "http:// or https://"),
    ({"url": "http://127.0.0.1:1/", "count": 0}, "count must be at least 1"),
    ({"url": "http://127.0.0.1:1/", "max_error_rate": 5}, "between 0 and 1"),
    ({"url": "http://127.0.0.1:1/", "timeout": 0}, "timeout must be a positive"),
])
def test_bad_input_fails_clearly(run_module, args, message):
    res = run_module("http_probe", args)
    assert res["failed"] is True
    assert message in res["msg"]


def test_headers_are_never_printed(run_module, http_server):
    proc = run_module("http_probe", {"url": f"{http_server}/", "count": 1,
                                     "headers": {"Authorization": "Bearer s3cr3t-token"}}, verbosity=3, raw=True)
    assert proc.returncode == 0, proc.stdout
    assert "healthy: true" in proc.stdout
    assert "s3cr3t-token" not in proc.stdout + proc.stderr


def test_check_mode_probes_too(run_module, http_server):
    res = run_module("http_probe", {"url": f"{http_server}/", "count": 3}, check=True)
    assert res["requests"] == 3
    assert res["changed"] is False


def test_the_lab_api_service_healthy_then_with_a_5xx_burst(run_module, lab, lab_environ):
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]

    def labctl(*args):
        res = subprocess.run([str(repo / "lab" / "labctl"), *args], capture_output=True, text=True, env=lab_environ,
                             check=False)
        assert res.returncode == 0, res.stdout + res.stderr

    labctl("heal", "error_rate")
    url = f"{lab['PYNOMALY_API_URL']}/api/v1/detect"
    try:
        healthy = run_module("http_probe", {"url": url, "count": 40, "concurrency": 4, "fail_on_threshold": True})
        assert healthy["healthy"] is True, healthy
        labctl("inject", "error_rate")
        burst = run_module("http_probe", {"url": url, "count": 80, "concurrency": 4, "fail_on_threshold": True})
        assert burst["failed"] is True
        assert burst["error_rate"] > 0.05
        assert any(code.startswith("5") for code in burst["status_codes"])
        assert "error rate" in burst["msg"]
    finally:
        labctl("heal", "error_rate")
