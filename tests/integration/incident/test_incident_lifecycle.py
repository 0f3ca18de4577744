"""One incident, wherever it runs: the scenario playbooks against the lab with the record in the cluster.

Every test here drives the lab's pynomaly-api (a real bad release, real pressure), like the scenario
tests. Each runner gets a HOME of its own, as an AWX job or another
engineer's laptop would.
"""
import json
import subprocess
import urllib.error
import urllib.request
from datetime import datetime

import pytest

from tests.conftest import LABCTL, REPO, VENV_BIN
from tests.integration.lab_incidents import close_open_incidents, k8s_client, records

NS = "pynomaly-production"
NAME = "pynomaly-api"
REVISION = "deployment.kubernetes.io/revision"
FAST = {"assess_log_since_seconds": 30, "assess_events_since_seconds": 30, "post_incident_triage_since_seconds": 20,
        "incident_lease_wait_timeout": 240}


@pytest.fixture
def api(lab):
    return k8s_client(lab)


def labctl(lab_environ, *args):
    res = subprocess.run([str(LABCTL), *args], capture_output=True, text=True, env=lab_environ, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def health_status(lab):
    try:
        with urllib.request.urlopen(lab["PYNOMALY_API_URL"] + "/health", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def deployment(api):
    return api.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (NS, NAME), "read the API Deployment")


@pytest.fixture
def clean_lab(lab_environ, api, saas_admin, run_module):
    saas_admin.rate_limit(enabled=False)
    labctl(lab_environ, "heal")
    close_open_incidents(api, run_module)
    yield
    saas_admin.clear_calls()
    for service in ("statuspage", "slack", "pagerduty"):
        saas_admin.fail_next(service, 0)
    labctl(lab_environ, "heal")
    close_open_incidents(api, run_module)


class Runner:
    """One runner: its own HOME (nothing shared through ~/.ansible) and its own timeline folder."""

    def __init__(self, lab_environ, root, name):
        self.home = root / name / "home"
        self.timeline_dir = root / name / "timeline"
        self.home.mkdir(parents=True)
        self.env = dict(lab_environ, HOME=str(self.home), INCIDENT_TIMELINE_DIR=str(self.timeline_dir))

    def argv(self, playbook, extra):
        return [str(VENV_BIN / "ansible-playbook"), str(REPO / playbook), "-e", json.dumps(dict(FAST, **extra))]

    def run(self, playbook, **extra):
        return subprocess.run(self.argv(playbook, extra), capture_output=True, text=True, cwd=REPO, env=self.env,
                              check=False)

    def start(self, playbook, **extra):
        return subprocess.Popen(self.argv(playbook, extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, cwd=REPO, env=self.env)

    def state_folders(self):
        """What the run left under ~/.ansible other than Ansible's own temporary folder."""
        folder = self.home / ".ansible"
        return sorted(p.name for p in folder.iterdir() if p.name != "tmp") if folder.exists() else []

    def timeline(self, incident_id):
        return json.loads((self.timeline_dir / incident_id / "timeline.json").read_text())


def sent(saas_admin, service, incident_id=None):
    """The stand-in's record of what reached it for one incident (PagerDuty by dedup_key, the others by text)."""
    calls = [c for c in saas_admin.calls(service) if c["method"] != "GET"]
    if incident_id is None:
        return calls
    if service == "pagerduty":
        return [c for c in calls if c["body"].get("dedup_key") == incident_id]
    return [c for c in calls if incident_id in json.dumps(c["body"])]


def statuspage_creates(saas_admin):
    return [c for c in saas_admin.calls("statuspage") if c["method"] == "POST" and c["path"].endswith("/incidents")]


def output(res):
    return res.stdout + res.stderr


def test_one_incident_declared_contained_and_resolved_from_three_runners(
        lab, lab_environ, api, clean_lab, saas_admin, tmp_path):
    labctl(lab_environ, "inject", "api_down")
    saas_admin.clear_calls()
    first, second, third = (Runner(lab_environ, tmp_path, n) for n in ("first", "second", "third"))

    declared = first.run("playbooks/incident_declare.yml", incident_scenario="api_down",
                         incident_summary="Checkout API down", incident_signals={"outage": True},
                         incident_commander="alice")
    assert declared.returncode == 0, output(declared)
    [record] = records(api, status="open")
    incident_id = record["id"]
    assert record["scenario"] == "api_down" and record["severity"] == "P0"

    contained = second.run("playbooks/incident_api_down.yml")  # defaults: joins the open api_down incident
    assert contained.returncode == 0, output(contained)
    assert health_status(lab) == 200
    assert [r["id"] for r in records(api, status="open")] == [incident_id]

    resolved = third.run("playbooks/incident_resolve.yml", incident_id=incident_id)
    assert resolved.returncode == 0, output(resolved)
    assert records(api, status="open") == []

    pages = [c["body"]["event_action"] for c in sent(saas_admin, "pagerduty", incident_id)]
    assert pages == ["trigger", "resolve"]
    assert len(statuspage_creates(saas_admin)) == 1
    assert len(sent(saas_admin, "pagerduty")) == 2  # nothing under another dedup_key either
    postmortem = third.timeline(incident_id)
    playbooks = [run["playbook"] for run in postmortem["runs"]]
    assert playbooks == ["incident_declare.yml", "incident_api_down.yml", "incident_resolve.yml"], playbooks
    for runner in (first, second, third):
        assert runner.state_folders() == []


def test_two_runs_started_together_act_once(lab, lab_environ, api, clean_lab, saas_admin, tmp_path):
    labctl(lab_environ, "inject", "api_down")
    bad_revision = int(deployment(api)["metadata"]["annotations"][REVISION])
    saas_admin.clear_calls()
    known = {r["id"] for r in records(api)}
    runners = [Runner(lab_environ, tmp_path, n) for n in ("one", "two")]
    procs = [r.start("playbooks/incident_api_down.yml") for r in runners]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    codes = [p.returncode for p in procs]
    assert health_status(lab) == 200
    [record] = [r for r in records(api) if r["id"] not in known]  # one incident for both runs
    assert len(record["runs"]) == 2
    assert int(deployment(api)["metadata"]["annotations"][REVISION]) == bad_revision + 1  # one rollback
    assert [c["body"]["event_action"] for c in sent(saas_admin, "pagerduty", record["id"])] == ["trigger"]
    assert len(sent(saas_admin, "slack")) == 1
    assert len(statuspage_creates(saas_admin)) == 1
    for code, out in zip(codes, outs, strict=True):
        assert code == 0 or "is being worked on by another run" in out, out
    restarts = [o for o in outs if "app_restart : Restart the pods" in o and "changed: [localhost]" in
                o.split("app_restart : Restart the pods", 1)[1].split("TASK", 1)[0]]
    assert restarts == []  # the run that waited probed again and found nothing left to do


def test_a_refusing_status_page_never_stops_the_rollback(lab, lab_environ, api, clean_lab, saas_admin, tmp_path):
    labctl(lab_environ, "inject", "api_down")
    saas_admin.clear_calls()
    saas_admin.fail_next("statuspage", 10000, 500)
    runner = Runner(lab_environ, tmp_path, "runner")

    failed = runner.run("playbooks/incident_api_down.yml")
    assert failed.returncode != 0
    assert health_status(lab) == 200  # rolled back although Statuspage refused every call
    [record] = records(api, status="open")
    assert [c["body"]["event_action"] for c in sent(saas_admin, "pagerduty", record["id"])] == ["trigger"]
    assert "statuspage" in failed.stdout.lower().split("fatal:")[-1]
    refused = saas_admin.calls("statuspage")
    assert refused and all(c["status"] >= 500 for c in refused)

    saas_admin.fail_next("statuspage", 0)
    saas_admin.clear_calls()
    again = runner.run("playbooks/incident_api_down.yml", incident_id=record["id"])
    assert again.returncode == 0, output(again)
    assert [c["status"] for c in statuspage_creates(saas_admin)] == [201]
    assert sent(saas_admin, "pagerduty") == [] and sent(saas_admin, "slack") == []
    saas_admin.clear_calls()
    third = runner.run("playbooks/incident_api_down.yml", incident_id=record["id"])
    assert third.returncode == 0, output(third)
    assert statuspage_creates(saas_admin) == []


def test_a_second_outage_the_same_day_is_a_new_incident(lab, lab_environ, api, clean_lab, saas_admin, tmp_path):
    runner = Runner(lab_environ, tmp_path, "runner")
    labctl(lab_environ, "inject", "api_down")
    saas_admin.clear_calls()
    first = runner.run("playbooks/incident_api_down.yml", incident_resolve=True)
    assert first.returncode == 0, output(first)
    [first_record] = records(api)[-1:]
    assert first_record["status"] == "resolved"

    labctl(lab_environ, "inject", "api_down")
    second = runner.run("playbooks/incident_api_down.yml")
    assert second.returncode == 0, output(second)
    [second_record] = records(api, status="open")
    assert second_record["id"] != first_record["id"]
    triggers = [c["body"]["dedup_key"] for c in sent(saas_admin, "pagerduty") if c["body"]["event_action"] == "trigger"]
    assert triggers == [first_record["id"], second_record["id"]]
    assert len(statuspage_creates(saas_admin)) == 2


def closed_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_with_the_kubernetes_api_unreachable_the_page_goes_out_first(lab, lab_environ, clean_lab, saas_admin,
                                                                      tmp_path):
    import yaml

    config = yaml.safe_load(open(lab["K8S_AUTH_KUBECONFIG"], encoding="utf-8"))
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.0.1:%d" % closed_port()
    kubeconfig = tmp_path / "unreachable.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    runner = Runner(dict(lab_environ, K8S_AUTH_KUBECONFIG=str(kubeconfig), KUBECONFIG=str(kubeconfig)),
                    tmp_path, "runner")
    saas_admin.clear_calls()

    res = runner.run("playbooks/incident_api_down.yml")
    assert res.returncode != 0
    assert "triage" in res.stdout.lower() and "was declared" in res.stdout
    [page] = sent(saas_admin, "pagerduty")
    assert page["body"]["event_action"] == "trigger"
    incident_id = page["body"]["dedup_key"]
    spooled = list((runner.home / ".ansible" / "incident_spool").glob("*"))
    assert spooled, "the record was not kept aside for the next run"
    started = runner.timeline(incident_id)["runs"][0]["started"]
    started_at = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
    assert page["timestamp"] - started_at <= 3.0, (page["timestamp"] - started_at, started)


def test_resolve_removes_the_scale_out_it_finds_in_the_record(lab, lab_environ, api, clean_lab, tmp_path):
    original = deployment(api)["spec"]["replicas"]
    labctl(lab_environ, "inject", "memory")
    runner = Runner(lab_environ, tmp_path, "runner")
    scaled = runner.run("playbooks/incident_high_memory.yml")
    assert scaled.returncode == 0, output(scaled)
    assert deployment(api)["spec"]["replicas"] == 6
    [record] = records(api, status="open")
    assert [f["original"] for f in record["fixes"]] and record["fixes"][0]["state"] == "active"
    assert not any("scale-override" in k for k in deployment(api)["metadata"].get("annotations") or {})

    labctl(lab_environ, "heal")
    other = Runner(lab_environ, tmp_path, "other")
    resolved = other.run("playbooks/incident_resolve.yml", incident_id=record["id"])
    assert resolved.returncode == 0, output(resolved)
    assert deployment(api)["spec"]["replicas"] == original
    [closed] = [r for r in records(api) if r["id"] == record["id"]]
    assert closed["status"] == "resolved" and closed["fixes"][0]["state"] == "removed"
    again = other.run("playbooks/incident_resolve.yml", incident_id=record["id"])
    assert again.returncode == 0, output(again)
    assert "changed=0" in again.stdout


def test_api_down_resolving_removes_its_own_scale_out(lab, lab_environ, api, clean_lab, tmp_path):
    original = deployment(api)["spec"]["replicas"]
    labctl(lab_environ, "inject", "memory")
    runner = Runner(lab_environ, tmp_path, "runner")
    contained = runner.run("playbooks/incident_api_down.yml")
    assert contained.returncode == 0, output(contained)
    assert deployment(api)["spec"]["replicas"] == original + 2  # api_downtime_scale_increase_by
    [record] = records(api, status="open")

    labctl(lab_environ, "heal")
    resolved = Runner(lab_environ, tmp_path, "later").run("playbooks/incident_api_down.yml", incident_resolve=True)
    assert resolved.returncode == 0, output(resolved)
    assert deployment(api)["spec"]["replicas"] == original
    [closed] = [r for r in records(api) if r["id"] == record["id"]]
    assert closed["status"] == "resolved"
    assert [(f["kind"], f["state"]) for f in closed["fixes"]] == [("scale_override", "removed")]
