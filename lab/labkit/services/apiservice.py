"""The simulated Pynomaly API (lab/apiservice): the service behind the pynomaly-api Deployment, on loopback.

It reads the cluster's truth from the Kubernetes API simulator with the lab kubeconfig, so it starts
after the k8s service.
"""
import json
import os
import sys
import urllib.request

from labkit.config import HOST, REPO_ROOT
from labkit.process import ensure_port_free, port_open, start_and_wait, stop_pid
from labkit.services.base import Service
from labkit.services.k8s import K8sService

NAMESPACE = "pynomaly-production"
DEPLOYMENT = "pynomaly-api"


class ApiService(Service):
    name = "apiservice"

    @property
    def port(self):
        return self.config.port(self.name)

    @property
    def url(self):
        return f"http://{HOST}:{self.port}"

    def start(self):
        if self.is_running():
            return
        ensure_port_free(self.port, self.name)
        kubeconfig = K8sService(self.config).env()["KUBECONFIG"]
        argv = [sys.executable, "-m", "apiservice", "--port", str(self.port), "--kubeconfig", kubeconfig,
                "--namespace", NAMESPACE, "--deployment", DEPLOYMENT]
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "lab"))
        start_and_wait(argv, self.pidfile, self.logfile, lambda: self.state() is not None,
                       "the simulated API service", env=env, cwd=REPO_ROOT / "lab")

    def state(self):
        """The service's own view (verdict and traffic profile, without injected latency or errors), or None."""
        try:
            with urllib.request.urlopen(f"{self.url}/_lab/v1/state", timeout=2) as resp:  # noqa: S310 - loopback
                return json.loads(resp.read())
        except (OSError, ValueError):
            return None

    def stop(self):
        stop_pid(self.pidfile)

    def health(self):
        if not port_open(self.port):
            return False, f"nothing listens on {HOST}:{self.port}"
        state = self.state()
        if state is None:
            return False, f"{self.url}/_lab/v1/state does not answer"
        # The process is healthy when it answers; the service it simulates may be down (that is an incident).
        return True, f"simulated Pynomaly API on {self.url}: /health would say {state['status']} ({state['reason']})"

    def env(self):
        return {"PYNOMALY_API_URL": self.url, "PYNOMALY_API_HEALTH_URL": f"{self.url}/health"}
