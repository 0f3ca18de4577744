"""`labctl inject` for the Kubernetes-side incidents of the seed, read back the way an on-call engineer
would (kubectl get/rollout/top/logs piped through the seed's own grep/awk, curl /health and /metrics),
then `labctl heal`: every symptom gone, injecting twice harmless, a playbook's repair left alone."""
import json
import math
import re
import shutil
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import LABCTL

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH")

NS = "pynomaly-production"
SELECTOR = "app.kubernetes.io/name=pynomaly-api"
K8S_SCENARIOS = ("api_down", "error_rate", "latency", "memory", "cpu", "security")
# The seed's own pipelines ("High Error Rates" and "Security Incidents").
ERROR_DISTRIBUTION = (f"kubectl logs -l {SELECTOR} -n {NS} --since=1h | "
                      r'grep -E "HTTP/[0-9\.]+ [45][0-9][0-9]" | awk '"'{print $6}'"' | sort | uniq -c | sort -nr')
FAILED_LOGINS = f'kubectl logs -l {SELECTOR} -n {NS} --since=1h | grep -E "failed.*login|unauthorized|403|401"'


class Engineer:
    """Types the commands of the seed against the lab."""

    def __init__(self, env):
        self.env = env
        self.api = env["PYNOMALY_API_URL"]

    def labctl(self, *args, check=True):
        res = subprocess.run([str(LABCTL), *args], capture_output=True, text=True, env=self.env, check=False,
                             timeout=120)
        if check:
            assert res.returncode == 0, f"labctl {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
        return res.stdout

    def sh(self, command, check=True):
        res = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True,
                             env=self.env, check=False, timeout=60)
        if check:
            assert res.returncode == 0, f"{command} failed:\n{res.stdout}\n{res.stderr}"
        return res

    def kubectl(self, *args, check=True):
        res = subprocess.run(["kubectl", *args], capture_output=True, text=True, env=self.env, check=False,
                             timeout=60)
        if check:
            assert res.returncode == 0, f"kubectl {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
        return res

    def deployment(self):
        return json.loads(self.kubectl("get", "deployment", "pynomaly-api", "-n", NS, "-o", "json").stdout)

    def image(self):
        return self.deployment()["spec"]["template"]["spec"]["containers"][0]["image"]

    def revisions(self):
        out = self.kubectl("rollout", "history", "deployment/pynomaly-api", "-n", NS).stdout
        return [line.split(None, 1) for line in out.splitlines() if line[:1].isdigit()]

    def curl(self, path):
        """(status, seconds, body) like `curl -w "%{http_code} %{time_total}"`."""
        started = time.monotonic()
        try:
            with urllib.request.urlopen(self.api + path, timeout=30) as resp:
                return resp.status, time.monotonic() - started, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, time.monotonic() - started, exc.read().decode()

    def curl_many(self, path, count, parallel=1):
        with ThreadPoolExecutor(parallel) as pool:
            return list(pool.map(lambda _: self.curl(path), range(count)))

    def metrics(self):
        status, _, text = self.curl("/metrics")
        assert status == 200
        series = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                series[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return series

    def access_lines_since(self, since):
        """Access-log lines of every pynomaly-api pod written after epoch `since` (all of them: --tail=-1)."""
        out = self.kubectl("logs", "-l", SELECTOR, "-n", NS, "--since=1h", "--tail=-1").stdout
        lines = []
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 7 and fields[4].startswith("HTTP/") and log_time(fields[0]) >= since:
                lines.append(fields)
        return lines

    def top(self, *args):
        """`kubectl top ...` as a list of row dicts keyed by the header."""
        out = self.kubectl("top", *args).stdout.splitlines()
        header = out[0].split()
        return [dict(zip(header, row.split(), strict=True)) for row in out[1:]]


def log_time(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def poll(predicate, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not show within {timeout}s (last: {value!r})"
        time.sleep(0.2)


def requests_by_status(series):
    return {int(dict(labels)["status"]): value for (name, labels), value in series.items()
            if name == "http_requests_total"}


def traffic_delta(engineer, min_requests):
    """{status: requests} served between now and when at least `min_requests` more were counted."""
    before = requests_by_status(engineer.metrics())

    def grown():
        now = requests_by_status(engineer.metrics())
        delta = {s: now.get(s, 0) - before.get(s, 0) for s in now}
        return delta if sum(delta.values()) >= min_requests else None

    return poll(grown, timeout=30, what=f"{min_requests} more requests in /metrics")


@pytest.fixture(scope="module")
def engineer(lab_environ):
    return Engineer(lab_environ)


@pytest.fixture(autouse=True)
def healed(engineer):
    """Every test starts and ends with no Kubernetes-side fault injected."""
    engineer.labctl("heal", check=True)
    yield
    engineer.labctl("heal", check=True)


def test_api_down_is_a_bad_release_that_heal_rolls_back(engineer, run_module):
    image_before = engineer.image()
    revisions_before = engineer.revisions()
    assert engineer.curl("/health")[0] == 200

    out = engineer.labctl("inject", "api_down")
    assert "1.3.0-crashloop" in out

    # kubectl get pods: the new pods crash-loop
    poll(lambda: re.search(r"CrashLoopBackOff|Error",
                           engineer.kubectl("get", "pods", "-l", SELECTOR, "-n", NS).stdout),
         what="a crash-looping pynomaly-api pod")
    # the rollout is stuck on the bad release, which has its own revision and change-cause
    stuck = engineer.kubectl("rollout", "status", "deployment/pynomaly-api", "-n", NS, "--timeout=2s", check=False)
    assert stuck.returncode != 0 and "Waiting for deployment" in stuck.stdout + stuck.stderr
    revisions = engineer.revisions()
    assert int(revisions[-1][0]) == int(revisions_before[-1][0]) + 1
    assert revisions[-1][1].startswith("Release 1.3.0")
    # curl /health fails, and says why
    status, _, body = engineer.curl("/health")
    assert status == 503
    assert "1.3.0-crashloop" in json.loads(body)["reason"]
    probe = run_module("http_probe", {"url": engineer.api + "/health", "count": 5})
    assert probe["error_rate"] == 1.0 and probe["status_codes"] == {"503": 5}, probe
    # the seed's log check finds the crash
    errors = engineer.sh(f'kubectl logs -l {SELECTOR} -n {NS} --tail=50 | grep -E "(ERROR|CRITICAL)"').stdout
    assert "CRITICAL Application startup failed" in errors

    again = engineer.labctl("inject", "api_down")
    assert "already injected" in again
    assert engineer.revisions() == revisions, "a second inject must not make a second revision"

    healed = engineer.labctl("heal", "api_down")
    assert "rolled pynomaly-api back" in healed
    assert engineer.image() == image_before
    engineer.kubectl("rollout", "status", "deployment/pynomaly-api", "-n", NS, "--timeout=30s")
    assert engineer.curl("/health")[0] == 200
    assert "nothing to heal" in engineer.labctl("heal", "api_down")


def test_heal_leaves_a_rollback_done_by_the_responder_alone(engineer):
    engineer.labctl("inject", "api_down")
    # the responder rolls back (as the api_downtime playbook would)
    engineer.kubectl("rollout", "undo", "deployment/pynomaly-api", "-n", NS)
    engineer.kubectl("rollout", "status", "deployment/pynomaly-api", "-n", NS, "--timeout=30s")
    repaired = engineer.deployment()

    out = engineer.labctl("heal", "api_down")
    assert "left as it is" in out
    after = engineer.deployment()
    assert after["metadata"]["generation"] == repaired["metadata"]["generation"]
    assert after["metadata"]["annotations"] == repaired["metadata"]["annotations"]
    # The new pods of the restored ReplicaSet may still be starting; /health turns 200 once they are ready.
    answers = []
    poll(lambda: answers.append(engineer.curl("/health")) or answers[-1][0] == 200, timeout=20,
         what="/health 200 after the responder's rollback")


def test_error_rate_shows_in_logs_metrics_and_health(engineer, run_module):
    injected_at = time.time()
    out = engineer.labctl("inject", "error_rate")
    assert "error_rate=0.25" in out

    # the seed's error distribution: 5xx statuses lead it
    def distribution():
        text = engineer.sh(ERROR_DISTRIBUTION, check=False).stdout  # grep exits 1 until an error is logged
        rows = [line.split() for line in text.splitlines() if line.strip()]
        return rows if rows and any(row[1].startswith("5") for row in rows) else None

    rows = poll(distribution, what="5xx lines in the seed's error distribution")
    assert all(re.fullmatch(r"[45]\d\d", status) for _, status in rows)
    # the error rate among all access lines written since the injection is far above 5 %
    lines = poll(lambda: (found := engineer.access_lines_since(injected_at)) and len(found) >= 40 and found,
                 timeout=30, what="40 access lines since the injection")
    rate = sum(1 for f in lines if f[5].startswith("5")) / len(lines)
    assert 0.08 < rate < 0.5, rate
    assert engineer.sh(f'kubectl logs -l {SELECTOR} -n {NS} --since=1h | grep "ERROR" | head -20').stdout

    # Prometheus' view: the 5xx share of what the pods served since
    delta = traffic_delta(engineer, 40)
    five_xx = sum(v for s, v in delta.items() if s >= 500)
    assert 0.1 < five_xx / sum(delta.values()) < 0.4, delta
    # and the service itself: a quarter of 20 health checks fail
    statuses = [status for status, _, _ in engineer.curl_many("/health", 20, parallel=4)]
    assert 3 <= sum(1 for s in statuses if s >= 500) <= 7, statuses

    # the collection's own probe sees it too
    probe = run_module("http_probe", {"url": engineer.api + "/health", "count": 20, "concurrency": 4})
    assert probe["healthy"] is False and 0.15 <= probe["error_rate"] <= 0.35, probe

    assert "already injected" in engineer.labctl("inject", "error_rate")

    engineer.labctl("heal", "error_rate")
    assert all(status == 200 for status, _, _ in engineer.curl_many("/health", 20, parallel=4))


def test_latency_makes_responses_slower_than_two_seconds(engineer, run_module):
    injected_at = time.time()
    engineer.labctl("inject", "latency")

    timings = [seconds for status, seconds, _ in engineer.curl_many("/health", 4, parallel=4)]
    assert statistics.median(timings) > 2.0, timings
    lines = poll(lambda: (found := engineer.access_lines_since(injected_at)) and len(found) >= 20 and found,
                 timeout=30, what="20 access lines since the injection")
    assert statistics.median(float(f[6].rstrip("s")) for f in lines) > 2.0
    # the request-duration histogram: most of the new requests are over 2 s
    # The histogram observes a request when it ends, 3 s after /metrics counted it in http_requests_total:
    # wait on the histogram's own count.
    count = ("http_request_duration_seconds_count", ())
    before = engineer.metrics()
    after = poll(lambda: (now := engineer.metrics())[count] - before[count] >= 30 and now, timeout=60,
                 what="30 more requests in the duration histogram")
    under_2s = after[("http_request_duration_seconds_bucket", (("le", "2.0"),))] - \
        before[("http_request_duration_seconds_bucket", (("le", "2.0"),))]
    total = after[("http_request_duration_seconds_count", ())] - before[("http_request_duration_seconds_count", ())]
    assert total >= 30 and under_2s / total < 0.3, (under_2s, total)

    probe = run_module("http_probe", {"url": engineer.api + "/health", "count": 8, "concurrency": 8})
    assert probe["healthy"] is False and probe["latency"]["p95"] > 2.0, probe

    engineer.labctl("heal", "latency")
    assert max(seconds for _, seconds, _ in engineer.curl_many("/health", 4, parallel=4)) < 1.0


def percent(value):
    return int(value.rstrip("%"))


def mebibytes(value):
    return int(value.rstrip("Mi"))


def millicores(value):
    return int(value.rstrip("m")) if value.endswith("m") else int(float(value) * 1000)


@pytest.mark.parametrize(("scenario", "column", "threshold"), [("memory", "MEMORY(%)", 90), ("cpu", "CPU(%)", 80)])
def test_resource_pressure_on_pods_and_nodes(engineer, scenario, column, threshold):
    engineer.labctl("inject", scenario)

    nodes = engineer.top("nodes")
    assert nodes and all(percent(n[column]) > threshold for n in nodes), nodes
    pods = engineer.top("pods", "-n", NS, "-l", SELECTOR)
    assert pods
    if scenario == "memory":  # limit 512Mi
        assert all(mebibytes(p["MEMORY(bytes)"]) > 0.9 * 512 for p in pods), pods
    else:  # limit 1 core
        assert all(millicores(p["CPU(cores)"]) > 800 for p in pods), pods
    assert "already injected" in engineer.labctl("inject", scenario)
    assert len(engineer.top("nodes")) == len(nodes)

    engineer.labctl("heal", scenario)
    assert all(percent(n[column]) < 50 for n in engineer.top("nodes"))
    daemonsets = engineer.kubectl("get", "daemonsets", "-n", "kube-system", "-o", "name").stdout
    assert f"lab-pressure-{scenario}" not in daemonsets


def test_security_burst_of_failed_logins(engineer):
    injected_at = time.time()
    engineer.labctl("inject", "security")

    def failed_logins_since(since):
        text = engineer.sh(FAILED_LOGINS, check=False).stdout
        return [line for line in text.splitlines() if log_time(line.split()[0]) >= since]

    burst = poll(lambda: (found := failed_logins_since(injected_at)) and len(found) >= 10 and found,
                 what="10 failed-login lines")
    assert any("WARNING auth: failed login for user=" in line for line in burst)
    assert any(re.search(r"HTTP/1\.1 40[13] ", line) for line in burst)
    # the API answers the same share of requests with 401/403
    statuses = [status for status, _, _ in engineer.curl_many("/api/v1/detect", 20, parallel=4)]
    assert 4 <= sum(1 for s in statuses if s in (401, 403)) <= 8, statuses

    engineer.labctl("heal", "security")
    # pods log each second with the profile in force when it began: the burst ends with the next second
    healed_at = math.floor(time.time()) + 1
    poll(lambda: engineer.access_lines_since(healed_at + 2), what="access lines two seconds after the heal")
    assert failed_logins_since(healed_at) == []


def test_heal_clears_every_fault_at_once(engineer):
    for scenario in ("error_rate", "latency", "memory"):
        engineer.labctl("inject", scenario)
    active = [line.split()[0] for line in engineer.labctl("faults").splitlines() if " ACTIVE " in line]
    assert set(active) >= {"error_rate", "latency", "memory"}

    engineer.labctl("heal")
    listing = engineer.labctl("faults")
    assert not any(f"{name} " in line and " ACTIVE " in line for name in K8S_SCENARIOS for line in listing.splitlines())
    state = json.loads(engineer.curl("/_lab/v1/state")[2])
    assert state["custom_profile"] is False and state["status"] == "healthy"
