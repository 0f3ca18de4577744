"""Median latency of the lab's Kubernetes API simulator over HTTPS with a keep-alive client.

Starts its own simulator (seeded, on a free loopback port, in a temporary folder), scales a
Deployment to 500 pods for the big list, and prints one line per operation:

    .venv/bin/python bench/k8s_sim.py [--rounds 200]
"""
import argparse
import http.client
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lab"))

from labkit.services.k8s import generate_certs

NS = "pynomaly-production"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port, ca, token):
        ctx = ssl.create_default_context(cafile=str(ca))
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def call(self, method, path, body=None, content_type="application/json"):
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        start = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        payload = resp.read()
        elapsed = time.perf_counter() - start
        if resp.status >= 400:
            raise RuntimeError(f"{method} {path}: {resp.status} {payload[:200]!r}")
        return elapsed, payload


def measure(client, rounds, method, path, body_fn=None, content_type="application/json"):
    times = []
    size = 0
    for i in range(rounds):
        elapsed, payload = client.call(method, path, body_fn(i) if body_fn else None, content_type)
        times.append(elapsed)
        size = len(payload)
    return statistics.median(times) * 1000, statistics.quantiles(times, n=20)[-1] * 1000, size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ca, crt, key = generate_certs(tmp)
        token = "bench-token"  # noqa: S105 - a throwaway token for a throwaway server
        (tmp / "token").write_text(token)
        port = free_port()
        env = dict(os.environ, PYTHONPATH=str(REPO / "lab"))
        proc = subprocess.Popen([sys.executable, "-m", "k8s_sim", "--port", str(port), "--cert", str(crt),
                                 "--key", str(key), "--token-file", str(tmp / "token"),
                                 "--registry", str(tmp / "registry.json")],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client = Client(port, ca, token)
                    client.call("GET", "/readyz")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            deploy = f"/apis/apps/v1/namespaces/{NS}/deployments/pynomaly-api"
            results = [
                ("GET deployment", *measure(client, args.rounds, "GET", deploy)),
                ("GET pod list (7 pods)", *measure(client, args.rounds, "GET", f"/api/v1/namespaces/{NS}/pods")),
                ("LIST deployments", *measure(client, args.rounds, "GET",
                                              f"/apis/apps/v1/namespaces/{NS}/deployments")),
                ("PATCH deployment (strategic merge)", *measure(
                    client, args.rounds, "PATCH", deploy,
                    lambda i: {"metadata": {"annotations": {"bench/round": str(i)}}},
                    "application/strategic-merge-patch+json")),
            ]
            client.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": "bench"}})
            labels = {"app": "bench"}
            client.call("POST", "/apis/apps/v1/namespaces/bench/deployments", {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench"},
                "spec": {"replicas": 500, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels},
                                      "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}})
            while True:
                _, payload = client.call("GET", "/apis/apps/v1/namespaces/bench/deployments/bench")
                if json.loads(payload).get("status", {}).get("readyReplicas") == 500:
                    break
                time.sleep(0.5)
            results.append(("LIST 500 pods", *measure(client, max(args.rounds // 5, 20), "GET",
                                                      "/api/v1/namespaces/bench/pods")))
            client.headers["Accept"] = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
            results.append(("LIST 500 pods as Table (kubectl get)", *measure(
                client, max(args.rounds // 5, 20), "GET", "/api/v1/namespaces/bench/pods")))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"{'operation':<40} {'median ms':>10} {'p95 ms':>8} {'bytes':>9}")
    for name, median, p95, size in results:
        print(f"{name:<40} {median:>10.2f} {p95:>8.2f} {size:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
