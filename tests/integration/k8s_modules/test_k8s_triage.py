"""k8s_triage against the lab: the right top finding and scenario for each `labctl inject`, none when healthy.

Log-based scenarios read the logs written since the injection (log_since_seconds), as an on-call
engineer reads the logs since the alert fired; the test waits until enough requests were logged.
"""
import re
import subprocess
import time

import pytest

NS = "pynomaly-production"
API = "pynomaly-api"
LABCTL = ["lab/labctl"]


def labctl(lab_environ, *args):
    res = subprocess.run([*LABCTL, *args], capture_output=True, text=True, env=lab_environ, check=False,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[3]))
    assert res.returncode == 0, f"labctl {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


SETTLE_SECONDS = 5.0  # longer than the lab's slowest injected response


@pytest.fixture
def healed(lab_environ, kube):
    """Every incident healed; yields the time it was (monotonic)."""
    labctl(lab_environ, "heal")
    kube.wait_rollout("Deployment", NS, API)
    yield time.monotonic()
    labctl(lab_environ, "heal")


def logged_requests_since(kube, since):
    pods = kube.pods(NS, "app.kubernetes.io/name=pynomaly-api")
    total = 0
    for pod in pods:
        if pod["status"].get("phase") != "Running":
            continue
        text = kube.core.read_namespaced_pod_log(pod["metadata"]["name"], NS, since_seconds=max(1, int(since)))
        total += len(re.findall(r"HTTP/1\.1 \d{3}", text))
    return total


def triage(run_module, **extra):
    return run_module("k8s_triage", dict({"name": API, "namespace": NS}, **extra))


def test_healthy_lab_suggests_none(run_module, kube, healed):
    # Logs from before the heal still show earlier incidents: read those written since.
    kube.wait(lambda: logged_requests_since(kube, time.monotonic() - healed) >= 60, 60, "60 healthy requests")
    res = triage(run_module, log_since_seconds=int(time.monotonic() - healed) + 1)
    assert not res.get("failed"), res
    assert res["changed"] is False
    assert res["suggested_scenario"] == "none", res["findings"]
    assert res["workload"]["available"] == res["workload"]["replicas"] == 3
    assert res["metrics"]["available"] is True
    assert len(res["nodes"]) == 3 and all(n["ready"] for n in res["nodes"])
    assert res["logs"]["http_requests"] > 0
    assert [h["revision"] for h in res["history"]] == sorted(h["revision"] for h in res["history"])
    check = run_module("k8s_triage", {"name": API, "namespace": NS,
                                      "log_since_seconds": int(time.monotonic() - healed) + 1}, check=True)
    assert check["changed"] is False and check["suggested_scenario"] == "none"


@pytest.mark.parametrize(("scenario", "expected", "top"), [
    ("api_down", "api_down",
     r"pods of pynomaly-api crash-loop since revision \d+ \(image pynomaly-api:1\.3\.0-crashloop"),
    ("error_rate", "error_rate", r"requests in the recent logs of pynomaly-api answered 5xx"),
    ("latency", "latency", r"^p95 response time in the recent logs of pynomaly-api is \d+\.\d\ds, above 2\.0s"),
    ("security", "security", r"requests to pynomaly-api are failed authentications"),
    ("memory", "memory", r"^3/3 pods of pynomaly-api use over 90% of their memory limit"),
    ("cpu", "cpu", r"^3/3 pods of pynomaly-api use over 80% of their cpu limit"),
])
def test_each_injected_incident_is_recognised(run_module, kube, lab_environ, healed, scenario, expected, top):
    # Requests the previous fault slowed down are logged when they end: let them end before the window opens.
    time.sleep(max(0.0, SETTLE_SECONDS - (time.monotonic() - healed)))
    started = time.monotonic()
    labctl(lab_environ, "inject", scenario)
    extra = {}
    if scenario in ("error_rate", "latency", "security"):
        kube.wait(lambda: logged_requests_since(kube, time.monotonic() - started) >= 60, 60,
                  "60 requests logged since the injection")
        extra["log_since_seconds"] = int(time.monotonic() - started) + 1
    elif scenario == "api_down":
        kube.wait(lambda: any("CrashLoopBackOff" == (cs.get("state", {}).get("waiting") or {}).get("reason")
                              for p in kube.pods(NS, "app.kubernetes.io/name=pynomaly-api")
                              for cs in p["status"].get("containerStatuses") or []), 30, "a crash-looping pod")
    res = triage(run_module, **extra)
    assert not res.get("failed"), res
    assert res["suggested_scenario"] == expected, res["findings"]
    assert re.search(top, res["findings"][0]), res["findings"]


def test_caps_are_reported(run_module, healed):
    res = triage(run_module, max_pods=1, log_pods=1, log_tail_lines=5)
    assert len(res["pods"]) == 1 and res["pods_total"] == 3
    assert "1 of 3 pods examined (max_pods)" in res["capped"]
    assert res["logs"]["pods_read"] == 1 and res["logs"]["lines"] <= 5


def test_errors_are_clear(run_module, namespace):
    res = run_module("k8s_triage", {"name": "ghost", "namespace": namespace})
    assert res["failed"] is True and res["msg"] == f"Deployment {namespace}/ghost not found"
    res = run_module("k8s_triage", {"name": API, "namespace": NS, "log_tail_lines": 0})
    assert res["failed"] is True and "log_tail_lines must be at least 1" in res["msg"]
