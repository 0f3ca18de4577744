"""Fixtures for the simulator's conformance suite: the lab cluster (only the k8s service is
needed; it is started here when `labctl up` has not started it), kubectl, a scratch namespace
per test, and the lab admin API."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "lab"))

from labkit.config import LabConfig
from labkit.services.k8s import K8sService

KUBECTL = shutil.which("kubectl")


@pytest.fixture(scope="session")
def k8s_service():
    service = K8sService(LabConfig.from_env())
    started = False
    if not service.is_running():
        # A simulator of our own may start pods faster than the lab default (1 s) to keep the suite quick.
        os.environ.setdefault("LAB_K8S_POD_STARTUP_SECONDS", "0.5")
        service.start()
        started = True
    yield service
    if started:
        service.stop()


class Kubectl:
    def __init__(self, service, cache_dir):
        self.env = dict(os.environ, KUBECONFIG=str(service.kubeconfig), KUBECACHEDIR=str(cache_dir))

    def run(self, *args, ns=None, stdin=None, check=True, timeout=60):
        argv = [KUBECTL, *(["-n", ns] if ns else []), *args]
        res = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=self.env, timeout=timeout,
                             check=False)
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
        return res

    def __call__(self, *args, ns=None, stdin=None):
        return self.run(*args, ns=ns, stdin=stdin).stdout

    def json(self, *args, ns=None):
        return json.loads(self(*args, "-o", "json", ns=ns))

    def apply_json(self, obj, ns=None, verb="apply"):
        return self(verb, "-f", "-", ns=ns, stdin=json.dumps(obj))


@pytest.fixture(scope="session")
def kubectl(k8s_service, tmp_path_factory):
    if KUBECTL is None:
        pytest.skip("kubectl is not on PATH")
    return Kubectl(k8s_service, tmp_path_factory.mktemp("kubecache"))


class Admin:
    """The lab-only admin API of the simulator (/_lab/v1)."""

    def __init__(self, service):
        self.url = service.url
        self.token = service.token
        self.ctx = ssl.create_default_context(cafile=str(service.dir / "ca.crt"))

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
            raw = resp.read()
            return json.loads(raw) if resp.headers.get_content_type() == "application/json" else raw.decode()


@pytest.fixture(scope="session")
def admin(k8s_service):
    return Admin(k8s_service)


@pytest.fixture
def namespace(k8s_service, admin):
    """A fresh namespace for one test, deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    admin.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": name}})
    yield name
    try:
        admin.request("DELETE", f"/api/v1/namespaces/{name}")
    except OSError:
        pass


def wait_until(predicate, timeout=30, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} did not hold within {timeout}s (last: {last!r})")


def deployment_manifest(name, image="nginx:1.27", replicas=2, progress_deadline=None, labels=None, **spec):
    labels = labels or {"app": name}
    body = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{
                     "name": "app", "image": image, "ports": [{"name": "http", "containerPort": 8000}],
                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                   "limits": {"memory": "256Mi"}}}]}}},
    }
    if progress_deadline is not None:
        body["spec"]["progressDeadlineSeconds"] = progress_deadline
    body["spec"].update(spec)
    return body


@pytest.fixture(scope="session")
def until():
    return wait_until


@pytest.fixture(scope="session")
def manifest():
    return deployment_manifest


@pytest.fixture
def rolled_out(kubectl):
    """Wait for a deployment's rollout with `kubectl rollout status` and return its output."""

    def wait(name, ns, timeout="60s"):
        return kubectl("rollout", "status", f"deployment/{name}", f"--timeout={timeout}", ns=ns)

    return wait
