"""Fixtures for the Kubernetes and HTTP modules: a controllable HTTP server, lab cluster access."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


class _Handler(BaseHTTPRequestHandler):
    """GET /?status=503&delay=0.2&fail_every=5&fail_status=500 — every answer is chosen by the query."""

    protocol_version = "HTTP/1.1"
    counter = 0
    lock = threading.Lock()

    def do_GET(self):
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        with _Handler.lock:
            _Handler.counter += 1
            n = _Handler.counter
        status = int(query.get("status", 200))
        every = int(query.get("fail_every", 0))
        if every and n % every == 0:
            status = int(query.get("fail_status", 500))
        delay = float(query.get("delay", 0))
        if delay:
            time.sleep(delay)
        body = b'{"status": "ok"}' if status < 400 else b'{"status": "error"}'
        if status in (204, 304):
            body = b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that time out or go away mid-request are part of the tests


@pytest.fixture(scope="session")
def http_server():
    """A loopback HTTP server whose status and latency each request's query string sets; yields its base URL."""
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def reset_counter():
    with _Handler.lock:
        _Handler.counter = 0


# -- the lab cluster --------------------------------------------------------------------

class Kube:
    """Test-side access to the lab cluster with the official client (JSON in, dicts out)."""

    def __init__(self, kubeconfig):
        import kubernetes.client
        import kubernetes.config

        cfg = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        api = kubernetes.client.ApiClient(cfg)
        self.apps = kubernetes.client.AppsV1Api(api)
        self.core = kubernetes.client.CoreV1Api(api)
        self.autoscaling = kubernetes.client.AutoscalingV2Api(api)
        self.kubeconfig = kubeconfig

    @staticmethod
    def raw(method, *args, **kwargs):
        import json

        data = method(*args, _preload_content=False, **kwargs).data
        return json.loads(data) if data else {}

    _READ = {"Deployment": "deployment", "StatefulSet": "stateful_set", "DaemonSet": "daemon_set"}

    def get(self, kind, namespace, name):
        return self.raw(getattr(self.apps, f"read_namespaced_{self._READ[kind]}"), name, namespace)

    def patch(self, kind, namespace, name, body):
        return self.raw(getattr(self.apps, f"patch_namespaced_{self._READ[kind]}"), name, namespace, body)

    def replicasets(self, namespace):
        return self.raw(self.apps.list_namespaced_replica_set, namespace)["items"]

    def controller_revisions(self, namespace):
        return self.raw(self.apps.list_namespaced_controller_revision, namespace)["items"]

    def pods(self, namespace, selector=None):
        return self.raw(self.core.list_namespaced_pod, namespace, label_selector=selector or "")["items"]

    def history(self, namespace, name):
        """[(revision, change-cause, image)] of a Deployment, as `kubectl rollout history` lists them."""
        uid = self.get("Deployment", namespace, name)["metadata"]["uid"]
        rows = []
        for rs in self.replicasets(namespace):
            if any(ref["uid"] == uid for ref in rs["metadata"].get("ownerReferences") or []):
                ann = rs["metadata"].get("annotations") or {}
                rows.append((int(ann["deployment.kubernetes.io/revision"]), ann.get("kubernetes.io/change-cause"),
                             rs["spec"]["template"]["spec"]["containers"][0]["image"]))
        return sorted(rows)

    def create_namespace(self, name):
        self.raw(self.core.create_namespace, {"metadata": {"name": name}})

    def delete_namespace(self, name):
        import kubernetes.client

        try:
            self.raw(self.core.delete_namespace, name)
        except kubernetes.client.ApiException:
            pass

    def wait(self, predicate, timeout=60, what="condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.2)

    def observed(self, kind, namespace, name):
        obj = self.get(kind, namespace, name)
        return obj["metadata"].get("generation", 0) <= (obj.get("status") or {}).get("observedGeneration", 0)

    def rollout_done(self, kind, namespace, name):
        obj = self.get(kind, namespace, name)
        st, spec, meta = obj.get("status") or {}, obj["spec"], obj["metadata"]
        if meta.get("generation", 0) > st.get("observedGeneration", 0):
            return False
        replicas = spec.get("replicas", 1)
        if kind == "Deployment":
            return (st.get("updatedReplicas", 0) == replicas == st.get("replicas", 0)
                    and st.get("availableReplicas", 0) == replicas)
        if kind == "StatefulSet":
            return st.get("readyReplicas", 0) == replicas and st.get("currentRevision") == st.get("updateRevision")
        return (st.get("updatedNumberScheduled", 0) == st.get("desiredNumberScheduled", -1)
                == st.get("numberAvailable", 0))

    def wait_rollout(self, kind, namespace, name, timeout=60):
        self.wait(lambda: self.rollout_done(kind, namespace, name), timeout, f"{kind} {namespace}/{name} rollout")

    def workload(self, kind, namespace, name, images, causes=None, replicas=1, labels=None, progress_deadline=None,
                 wait=True, min_ready=None):
        """Create a workload, then one revision per further image (each with its change-cause)."""
        labels = labels or {}
        pod_labels = {"app": name}
        spec = {"selector": {"matchLabels": dict(pod_labels)},
                "template": {"metadata": {"labels": dict(pod_labels)},
                             "spec": {"containers": [{"name": "main", "image": images[0]}]}}}
        if kind != "DaemonSet":
            spec["replicas"] = replicas
        else:
            # One node keeps the test's rollouts to one pod at a time.
            spec["template"]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "lab-node-1"}
        if kind == "StatefulSet":
            spec["serviceName"] = name
        if progress_deadline and kind == "Deployment":
            spec["progressDeadlineSeconds"] = progress_deadline
        if min_ready:
            spec["minReadySeconds"] = min_ready
        meta = {"name": name, "labels": dict(labels, app=name)}
        if causes:
            meta["annotations"] = {"kubernetes.io/change-cause": causes[0]}
        create = {"Deployment": self.apps.create_namespaced_deployment,
                  "StatefulSet": self.apps.create_namespaced_stateful_set,
                  "DaemonSet": self.apps.create_namespaced_daemon_set}[kind]
        self.raw(create, namespace, {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec})
        for i, image in enumerate(images[1:], start=1):
            if kind == "Deployment":
                # The controller makes one ReplicaSet per template it observes: let it see each one.
                self.wait(lambda: self.observed(kind, namespace, name), 30, "the deployment controller")
            else:
                # StatefulSet/DaemonSet controllers record one ControllerRevision per template they roll out.
                self.wait_rollout(kind, namespace, name)
            body = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": image}]}}}}
            if causes:
                body["metadata"] = {"annotations": {"kubernetes.io/change-cause": causes[i]}}
            self.patch(kind, namespace, name, body)
        if wait:
            self.wait_rollout(kind, namespace, name)
        else:
            self.wait(lambda: self.observed(kind, namespace, name), 30, f"the {kind} controller")
        return self.get(kind, namespace, name)


@pytest.fixture(scope="session")
def kube(lab):
    assert "KUBECONFIG" in lab, "the lab exports no KUBECONFIG: is the k8s service up?"
    return Kube(lab["KUBECONFIG"])


@pytest.fixture
def namespace(kube, request):
    """A fresh namespace per test, deleted afterwards."""
    import re
    import secrets

    short = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_"))[:30].strip("-")
    name = f"t-{short}-{secrets.token_hex(2)}"
    kube.create_namespace(name)
    yield name
    kube.delete_namespace(name)


@pytest.fixture(scope="session")
def run_tasks(lab_environ, tmp_path_factory):
    """Run module tasks in one playbook (one Ansible start for many cases); returns each task's result.

    Every task runs with ignore_errors, so a failure case does not stop the ones after it.
    """
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    folder = tmp_path_factory.mktemp("plays")

    def _run(tasks):
        play = [{"hosts": "localhost", "gather_facts": False,
                 "tasks": [dict(task, name=f"case {i}", ignore_errors=True) for i, task in enumerate(tasks)]}]
        path = folder / f"play-{len(list(folder.iterdir()))}.yml"
        path.write_text(json.dumps(play))
        env = dict(lab_environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
        res = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i",
                              str(repo / "inventory" / "lab"), str(path)],
                             capture_output=True, text=True, env=env, cwd=repo, check=False)
        data = json.loads(res.stdout)
        return [task["hosts"]["localhost"] for task in data["plays"][0]["tasks"]]

    return _run
