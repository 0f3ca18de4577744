"""playbooks/incident_api_down.yml against a real bad release in the lab: a dry run changes nothing,
the real run rolls back and recovers, the rerun changes nothing and sends nothing twice."""
import json
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
from kubernetes import client, config

from tests.conftest import LABCTL

NS = "pynomaly-production"
NAME = "pynomaly-api"
REVISION = "deployment.kubernetes.io/revision"


@pytest.fixture(scope="module")
def apps(lab):
    api = config.new_client_from_config(config_file=lab["KUBECONFIG"])
    yield client.AppsV1Api(api)
    api.close()


def health_status(lab):
    try:
        with urllib.request.urlopen(lab["PYNOMALY_API_URL"] + "/health", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def labctl(lab_environ, *args):
    res = subprocess.run([str(LABCTL), *args], capture_output=True, text=True, env=lab_environ, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


@pytest.fixture
def bad_release(lab_environ, apps):
    labctl(lab_environ, "heal")
    labctl(lab_environ, "inject", "api_down")
    yield apps.read_namespaced_deployment(NAME, NS)
    labctl(lab_environ, "heal")


def recap(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("localhost "))
    return dict(part.split("=") for part in line.split(":", 1)[1].split())


def test_api_down_is_assessed_rolled_back_verified_and_resolved_once(
        run_playbook, lab, lab_environ, apps, bad_release, tmp_path, saas_admin):
    incident = f"INC-test-{uuid.uuid4().hex[:8]}"
    bad_image = bad_release.spec.template.spec.containers[0].image
    bad_revision = bad_release.metadata.annotations[REVISION]
    assert "crashloop" in bad_image
    assert health_status(lab) == 503
    env = {"INCIDENT_TIMELINE_DIR": str(tmp_path / "timeline")}
    # Logs are read over short windows, so faults other tests injected and healed a minute ago do not count.
    extra = {"incident_id": incident, "incident_resolve": True,
             "assess_log_since_seconds": 30, "post_incident_triage_since_seconds": 20}
    saas_admin.clear_calls()

    dry = run_playbook("playbooks/incident_api_down.yml", extra, check=True, env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    after_dry = apps.read_namespaced_deployment(NAME, NS)
    assert after_dry.spec.template.spec.containers[0].image == bad_image
    assert after_dry.metadata.annotations[REVISION] == bad_revision
    assert [c for c in saas_admin.calls() if c["method"] != "GET"] == []
    assert health_status(lab) == 503

    real = run_playbook("playbooks/incident_api_down.yml", extra, env=env)
    assert real.returncode == 0, real.stdout + real.stderr
    assert "Suggested scenario: api_down" in real.stdout
    rolled = apps.read_namespaced_deployment(NAME, NS)
    assert rolled.spec.template.spec.containers[0].image == "pynomaly-api:1.2.0"
    assert int(rolled.metadata.annotations[REVISION]) > int(bad_revision)
    assert rolled.status.available_replicas == rolled.spec.replicas
    assert health_status(lab) == 200
    sent = [c for c in saas_admin.calls() if c["method"] != "GET"]
    pages = [c["body"] for c in sent if c["service"] == "pagerduty"]
    assert [p["event_action"] for p in pages] == ["trigger", "resolve"]
    assert {p["dedup_key"] for p in pages} == {incident}
    timeline = json.loads((tmp_path / "timeline" / incident / "timeline.json").read_text())
    milestones = [m["milestone"] for m in timeline["milestones"]]
    for expected in ("detected", "declared", "contained", "recovered", "resolved"):
        assert expected in milestones
    assert milestones.index("contained") < milestones.index("recovered") < milestones.index("resolved")

    saas_admin.clear_calls()
    again = run_playbook("playbooks/incident_api_down.yml", extra, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again.stdout)["changed"] == "0"
    assert apps.read_namespaced_deployment(NAME, NS).metadata.annotations[REVISION] == \
        rolled.metadata.annotations[REVISION]
    assert [c for c in saas_admin.calls() if c["method"] != "GET"] == []


def test_api_down_on_a_healthy_service_changes_nothing(run_playbook, lab, lab_environ, apps, tmp_path):
    labctl(lab_environ, "heal")
    before = apps.read_namespaced_deployment(NAME, NS)
    # Only the last half minute counts, so faults other tests injected and healed earlier do not show.
    res = run_playbook("playbooks/incident_api_down.yml",
                       {"incident_id": f"INC-test-{uuid.uuid4().hex[:8]}",

                        "assess_log_since_seconds": 30, "assess_events_since_seconds": 30},
                       env={"INCIDENT_TIMELINE_DIR": str(tmp_path / "timeline")})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Suggested scenario: none (healthy)" in res.stdout
    assert recap(res.stdout)["changed"] == "0"
    after = apps.read_namespaced_deployment(NAME, NS)
    assert after.metadata.resource_version == before.metadata.resource_version
