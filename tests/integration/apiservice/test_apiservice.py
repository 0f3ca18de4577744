"""The simulated API service against the lab's Kubernetes simulator.

A private instance serves a Deployment of its own in a scratch namespace, so its releases, crashes and
traffic profiles never touch the seeded pynomaly-api; the last tests check the lab's own instance and
what `labctl env` and inventory/lab give playbooks.
"""
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO

LAB = REPO / "lab"
DEPLOYMENT = "api"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url, timeout=30):
    """(status, seconds, body)."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, time.monotonic() - started, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, time.monotonic() - started, exc.read().decode()


def poll(predicate, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not hold within {timeout}s (last: {value!r})"
        time.sleep(0.1)


class Cluster:
    """The lab simulator through its REST API and admin API, with the lab's kubeconfig values."""

    def __init__(self, env):
        import ssl

        self.url, self.token = env["LAB_K8S_URL"], env["LAB_K8S_TOKEN"]
        self.ctx = ssl.create_default_context(cafile=env["LAB_K8S_CA"])

    def request(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type})
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def set_image(self, ns, image):
        self.request("PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/{DEPLOYMENT}",
                     {"spec": {"template": {"spec": {"containers": [{"name": "api", "image": image}]}}}},
                     "application/strategic-merge-patch+json")

    def scale(self, ns, replicas):
        self.request("PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/{DEPLOYMENT}",
                     {"spec": {"replicas": replicas}}, "application/merge-patch+json")

    def profile(self, ns, fields):
        self.request("PUT", f"/_lab/v1/namespaces/{ns}/profiles/{DEPLOYMENT}", fields)


@pytest.fixture(scope="module")
def cluster(lab):
    return Cluster(lab)


@pytest.fixture(scope="module")
def namespace(cluster):
    name = f"t-api-{uuid.uuid4().hex[:6]}"
    cluster.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    labels = {"app.kubernetes.io/name": DEPLOYMENT}
    cluster.request("POST", f"/apis/apps/v1/namespaces/{name}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": DEPLOYMENT, "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                     "name": "api", "image": "pynomaly-api:1.2.0", "ports": [{"name": "http", "containerPort": 8000}],
                     "resources": {"limits": {"cpu": "1", "memory": "512Mi"}}}]}}}})
    yield name
    cluster.request("DELETE", f"/api/v1/namespaces/{name}")


def start_service(tmp_path, kubeconfig, namespace):
    port = free_port()
    log = open(tmp_path / f"apiservice-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "apiservice", "--port", str(port), "--kubeconfig", str(kubeconfig),
                             "--namespace", namespace, "--deployment", DEPLOYMENT],
                            cwd=LAB, env={"PYTHONPATH": str(LAB), "PATH": "/usr/bin:/bin"}, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def answers():
        assert proc.poll() is None, (tmp_path / f"apiservice-{port}.log").read_text()
        try:
            return get(url + "/_lab/v1/state", timeout=2)[0] == 200
        except OSError:
            return False

    poll(answers, timeout=15, what="the API service answering")
    return proc, log, url


@pytest.fixture(scope="module")
def service(lab, namespace, tmp_path_factory, cluster):
    tmp = tmp_path_factory.mktemp("apiservice")
    proc, log, url = start_service(tmp, lab["KUBECONFIG"], namespace)
    poll(lambda: get(url + "/health")[0] == 200, what="the scratch Deployment healthy")
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


@pytest.fixture
def default_profile(cluster, namespace, service):
    yield
    cluster.request("DELETE", f"/_lab/v1/namespaces/{namespace}/profiles/{DEPLOYMENT}")
    poll(lambda: json.loads(get(service + "/_lab/v1/state")[2])["custom_profile"] is False,
         what="the default profile back")


def scrape(url):
    status, _, text = get(url + "/metrics")
    assert status == 200
    series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return series


def requests_by_status(series):
    return {int(dict(labels)["status"]): v for (name, labels), v in series.items() if name == "http_requests_total"}


def test_health_is_200_with_the_checks_an_engineer_wants(service):
    status, _, body = get(service + "/health")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "healthy"
    assert health["checks"]["image"] == "pynomaly-api:1.2.0"
    assert health["checks"]["ready_pods_on_current_image"] == 2


def test_a_bad_image_fails_health_while_old_pods_still_run_and_a_rollback_restores_it(cluster, namespace, service):
    cluster.set_image(namespace, "pynomaly-api:1.3.0-crashloop")
    status, _, body = poll(lambda: (r := get(service + "/health"))[0] == 503 and r, what="/health failing")
    health = json.loads(body)
    assert "1.3.0-crashloop" in health["reason"]
    assert health["checks"]["available_replicas"] >= 1  # the previous ReplicaSet still serves

    cluster.set_image(namespace, "pynomaly-api:1.2.0")
    poll(lambda: get(service + "/health")[0] == 200, what="/health back after the rollback")


def test_an_image_that_cannot_be_pulled_fails_health(cluster, namespace, service):
    cluster.set_image(namespace, "pynomaly-api:9.9.9-missing")
    _, _, body = poll(lambda: (r := get(service + "/health"))[0] == 503 and r, what="/health failing")
    assert "ImagePull" in json.loads(body)["reason"] or "ErrImagePull" in body
    cluster.set_image(namespace, "pynomaly-api:1.2.0")
    poll(lambda: get(service + "/health")[0] == 200, what="/health back")


def test_no_available_pods_fail_health(cluster, namespace, service):
    cluster.scale(namespace, 0)
    _, _, body = poll(lambda: (r := get(service + "/health"))[0] == 503 and r, what="/health failing")
    assert "no available replicas" in json.loads(body)["reason"]
    cluster.scale(namespace, 2)
    poll(lambda: get(service + "/health")[0] == 200, what="/health back")


def test_metrics_count_the_profiles_traffic_and_status_mix(cluster, namespace, service, default_profile):
    cluster.profile(namespace, {"rps": 20, "error_rate": 0.5, "status_mix": {"503": 1}})
    poll(lambda: json.loads(get(service + "/_lab/v1/state")[2])["profile"]["rps"] == 20, what="the new profile")
    before = requests_by_status(scrape(service))
    started = time.monotonic()
    delta = poll(lambda: (d := {s: v - before.get(s, 0) for s, v in requests_by_status(scrape(service)).items()})
                 and sum(d.values()) >= 100 and d, what="100 more requests")
    elapsed = time.monotonic() - started
    total = sum(delta.values())
    assert 0.4 < delta.get(503, 0) / total < 0.6, delta
    assert not any(s in delta and delta[s] for s in (500, 502, 504)), delta
    # 20 rps on each of 2 ready pods: about 40 requests a second
    assert total / (elapsed + 2.5) < 45 and total >= 100


def test_latency_follows_the_profile_in_requests_and_histogram(cluster, namespace, service, default_profile):
    cluster.profile(namespace, {"latency_ms": 1200, "error_rate": 0})
    poll(lambda: json.loads(get(service + "/_lab/v1/state")[2])["profile"]["latency_ms"] == 1200,
         what="the new profile")
    status, seconds, _ = get(service + "/health")
    assert status == 200 and 0.3 < seconds < 5.0
    before = scrape(service)
    poll(lambda: scrape(service)[("http_request_duration_seconds_count", ())]
         - before[("http_request_duration_seconds_count", ())] >= 20, what="20 more requests")
    after = scrape(service)

    def delta(le):
        key = ("http_request_duration_seconds_bucket", (("le", le),))
        return after[key] - before[key]

    assert delta("0.5") / delta("+Inf") < 0.05
    assert delta("1.0") / delta("+Inf") < 0.5 < delta("2.0") / delta("+Inf")


def test_failed_logins_answer_401_and_403(cluster, namespace, service, default_profile):
    cluster.profile(namespace, {"auth_failure_rate": 1.0})
    poll(lambda: json.loads(get(service + "/_lab/v1/state")[2])["profile"]["auth_failure_rate"] == 1.0,
         what="the new profile")
    statuses = {get(service + "/api/v1/detect")[0] for _ in range(10)}
    assert statuses <= {401, 403} and 401 in statuses
    assert get(service + "/health")[0] == 200  # health checks do not log in


def test_an_unreadable_cluster_is_unhealthy_with_the_reason(lab, namespace, tmp_path):
    config = yaml.safe_load(open(lab["KUBECONFIG"]))
    config["users"][0]["user"]["token"] = "not-the-lab-token"
    bad = tmp_path / "kubeconfig"
    bad.write_text(yaml.safe_dump(config))
    proc, log, url = start_service(tmp_path, bad, namespace)
    try:
        status, _, body = get(url + "/health")
        assert status == 503
        assert "cannot read the cluster" in json.loads(body)["reason"] and "401" in json.loads(body)["reason"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_the_labs_own_instance_is_wired_for_playbooks(lab, lab_environ):
    assert lab["PYNOMALY_API_URL"].startswith("http://127.0.0.1:")
    status, _, body = get(lab["PYNOMALY_API_URL"] + "/_lab/v1/state")
    assert status == 200 and json.loads(body)["service"] == "pynomaly-api"
    res = subprocess.run([str(REPO / "lab" / "labctl"), "status"], capture_output=True, text=True, env=lab_environ,
                         check=False)
    assert any(line.startswith("apiservice") and "healthy" in line for line in res.stdout.splitlines()), res.stdout
    # inventory/lab hands the URL to playbooks (no exported variable needed: it reads <state>/env.json)
    env = {k: v for k, v in lab_environ.items() if k != "PYNOMALY_API_URL"}
    res = subprocess.run([str(REPO / ".venv" / "bin" / "ansible"), "localhost", "-m", "ansible.builtin.debug",
                          "-a", "var=incident_api_url"], capture_output=True, text=True, env=env, cwd=REPO,
                         check=False)
    assert lab["PYNOMALY_API_URL"] in res.stdout, res.stdout + res.stderr
