"""Fixtures for the communication roles: playbook runs against the lab's SaaS stand-ins, each test
with its own incident state and timeline folders, and the stand-ins' call log."""
import json
import uuid

import pytest
import requests


class IncidentRuns:
    def __init__(self, run_playbook, saas_admin, lab, tmp_path):
        self._run = run_playbook
        self.admin = saas_admin
        self.lab = lab
        self.state_dir = tmp_path / "state"
        self.timeline_dir = tmp_path / "timeline"
        self.incident_id = "INC-TEST-" + uuid.uuid4().hex[:8]

    def run(self, playbook, extra_vars=None, check=False, diff=False, args=()):
        variables = {"incident_id": self.incident_id, "incident_state_dir": str(self.state_dir)}
        variables.update(extra_vars or {})
        return self._run(playbook, extra_vars=variables, check=check, diff=diff, args=args,
                         env={"INCIDENT_TIMELINE_DIR": str(self.timeline_dir)})

    def declare(self, check=False, diff=False, args=(), **extra):
        variables = {"incident_summary": "Checkout API failing " + self.incident_id[-8:],
                     "incident_signals": {"outage": True}, "incident_commander": "alice"}
        variables.update(extra)
        return self.run("playbooks/incident_declare.yml", variables, check=check, diff=diff, args=args)

    def resolve(self, check=False, args=(), **extra):
        variables = {"post_incident_health_url": "", "post_incident_triage_workloads": []}
        variables.update(extra)
        return self.run("playbooks/incident_resolve.yml", variables, check=check, args=args)

    def calls(self, service=None):
        return self.admin.calls(service)

    def writes(self):
        """Calls that could change something outside (everything but Statuspage reads)."""
        return [c for c in self.calls() if c["method"] != "GET"]

    def statuspage_incidents(self):
        """The incidents on the stand-in's page, read through its API."""
        url = f"{self.lab['STATUSPAGE_API_URL']}/pages/{self.lab['STATUSPAGE_PAGE_ID']}/incidents"
        resp = requests.get(url, headers={"Authorization": f"OAuth {self.lab['STATUSPAGE_API_KEY']}"}, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def state(self):
        path = self.state_dir / f"{self.incident_id}.json"
        return json.loads(path.read_text()) if path.exists() else None

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
