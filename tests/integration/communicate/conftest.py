"""Fixtures for the communication roles: playbook runs against the lab's SaaS stand-ins, each test
with its own incident (its record in the lab cluster) and timeline folder, and the stand-ins' call log."""
import json
import uuid

import pytest
import requests


class IncidentRuns:
    def __init__(self, run_playbook, saas_admin, lab, tmp_path):
        self._run = run_playbook
        self.admin = saas_admin
        self.lab = lab
        self.home = tmp_path / "home"  # each runner its own HOME: nothing may be shared through ~/.ansible
        self.home.mkdir()
        self.timeline_dir = tmp_path / "timeline"
        self.tag = uuid.uuid4().hex[:8]  # in the incident id and every title: finds this test's calls
        self.incident_id = "INC-TEST-" + self.tag

    def run(self, playbook, extra_vars=None, check=False, diff=False, args=()):
        variables = {"incident_id": self.incident_id}
        variables.update(extra_vars or {})
        return self._run(playbook, extra_vars=variables, check=check, diff=diff, args=args,
                         env={"INCIDENT_TIMELINE_DIR": str(self.timeline_dir), "HOME": str(self.home)})

    def declare(self, check=False, diff=False, args=(), **extra):
        variables = {"incident_summary": "Checkout API failing " + self.tag,
                     "incident_signals": {"outage": True}, "incident_commander": "alice"}
        variables.update(extra)
        return self.run("playbooks/incident_declare.yml", variables, check=check, diff=diff, args=args)

    def resolve(self, check=False, args=(), **extra):
        variables = {"post_incident_health_url": "", "post_incident_triage_workloads": []}
        variables.update(extra)
        return self.run("playbooks/incident_resolve.yml", variables, check=check, args=args)

    def calls(self, service=None):
        """This incident's calls (the stand-ins are shared: other tests and runs call them too). Its
        Statuspage reads are kept, since they carry no incident id."""
        mine = self.tag
        return [c for c in self.admin.calls(service)
                if mine in json.dumps(c.get("body")) or mine in c.get("path", "")
                or (c["service"] == "statuspage" and c["method"] == "GET")]

    def writes(self):
        """This incident's calls that could change something outside (everything but Statuspage reads)."""
        return [c for c in self.calls() if c["method"] != "GET"]

    def statuspage_incidents(self):
        """The incidents on the stand-in's page, read through its API."""
        url = f"{self.lab['STATUSPAGE_API_URL']}/pages/{self.lab['STATUSPAGE_PAGE_ID']}/incidents"
        resp = requests.get(url, headers={"Authorization": f"OAuth {self.lab['STATUSPAGE_API_KEY']}"}, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def record(self):
        """The incident's record in the lab cluster (None before it was opened)."""
        from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import object_name
        from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import K8sClient
        from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import ObjectNotFound

        api = K8sClient.from_params({"kubeconfig": self.lab["K8S_AUTH_KUBECONFIG"]})
        try:
            obj = api.get("/api/v1/namespaces/incident-response/configmaps/%s" % object_name(self.incident_id),
                          "read the incident record")
        except ObjectNotFound:
            return None
        return json.loads(obj["data"]["incident.json"])

    def channels(self):
        return (self.record() or {}).get("channels") or {}

    @staticmethod
    def recap(res):
        """{'ok': n, 'changed': n, 'failed': n, ...} from the PLAY RECAP line of localhost."""
        for line in res.stdout.splitlines():
            if line.startswith("localhost") and "ok=" in line:
                return {k: int(v) for k, v in (part.split("=") for part in line.split(":", 1)[1].split())}
        raise AssertionError("no PLAY RECAP in the output:\n" + res.stdout + res.stderr)

    def timeline(self):
        return json.loads((self.timeline_dir / self.incident_id / "timeline.json").read_text())


@pytest.fixture
def incident(run_playbook, saas_admin, lab, tmp_path):
    saas_admin.rate_limit(enabled=False)
    return IncidentRuns(run_playbook, saas_admin, lab, tmp_path)
