"""playbooks/incident_high_memory.yml and incident_high_cpu.yml against real pressure (labctl inject memory /
cpu): a dry run scales nothing, the real run scales out to the seed's 6 (memory) or 8 (CPU) replicas and
records the original in the incident record, a rerun changes nothing, resolving is refused while the
pressure lasts, and once it is gone resolving restores exactly the original capacity."""
import subprocess

import pytest
from kubernetes import client, config

from tests.conftest import LABCTL
from tests.integration.lab_incidents import close_open_incidents, k8s_client, records

NS = "pynomaly-production"
NAME = "pynomaly-api"
RECORD = "incident-response.pynomaly.io/scale-override"


def labctl(lab_environ, *args):
    res = subprocess.run([str(LABCTL), *args], capture_output=True, text=True, env=lab_environ, check=False)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.fixture(params=[("memory", 6), ("cpu", 8)], ids=["memory", "cpu"])
def pressure(request):
    return request.param


@pytest.fixture
def apps(lab, lab_environ, run_module, pressure):
    api = config.new_client_from_config(config_file=lab["KUBECONFIG"])
    # An override left by an earlier, interrupted run is put back first.
    close_open_incidents(k8s_client(lab), run_module)
    labctl(lab_environ, "heal")
    labctl(lab_environ, "inject", pressure[0])
    yield client.AppsV1Api(api)
    labctl(lab_environ, "heal")
    api.close()


def recap(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("localhost "))
    return dict(part.split("=") for part in line.split(":", 1)[1].split())


def test_pressure_scales_out_once_and_resolving_restores_capacity(run_playbook, apps, pressure, lab, lab_environ,
                                                                   tmp_path):
    resource, replicas = pressure
    playbook = f"playbooks/incident_high_{resource}.yml"
    before = apps.read_namespaced_deployment(NAME, NS)
    original = before.spec.replicas
    assert RECORD not in (before.metadata.annotations or {})
    # Logs are read over short windows, so faults other tests injected and healed a minute ago do not count.
    extra = {"assess_log_since_seconds": 30, "post_incident_triage_since_seconds": 20}
    env = {"INCIDENT_TIMELINE_DIR": str(tmp_path / "timeline")}

    dry = run_playbook(playbook, extra, check=True, env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert apps.read_namespaced_deployment(NAME, NS).metadata.resource_version == before.metadata.resource_version

    real = run_playbook(playbook, extra, env=env)
    assert real.returncode == 0, real.stdout + real.stderr
    assert f"Suggested scenario: {resource}" in real.stdout
    scaled = apps.read_namespaced_deployment(NAME, NS)
    assert scaled.spec.replicas == replicas
    assert scaled.status.available_replicas == replicas
    assert RECORD not in (scaled.metadata.annotations or {})  # the original is in the incident record
    [record] = records(k8s_client(lab), status="open")
    [fix] = record["fixes"]
    assert (fix["original"]["replicas"], fix["applied"]["replicas"], fix["state"]) == (original, replicas, "active")

    again = run_playbook(playbook, extra, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again.stdout)["changed"] == "0"
    assert apps.read_namespaced_deployment(NAME, NS).metadata.resource_version == scaled.metadata.resource_version

    # Resolving is refused while the pressure lasts; once it is fixed it restores the capacity.
    refused = run_playbook(playbook, dict(extra, incident_resolve=True), env=env)
    assert refused.returncode != 0
    assert "Not resolving" in refused.stdout
    assert apps.read_namespaced_deployment(NAME, NS).spec.replicas == replicas
    labctl(lab_environ, "heal")
    resolved = run_playbook(playbook, dict(extra, incident_resolve=True), env=env)
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    restored = apps.read_namespaced_deployment(NAME, NS)
    assert restored.spec.replicas == original
    [closed] = [r for r in records(k8s_client(lab)) if r["id"] == record["id"]]
    assert closed["status"] == "resolved" and closed["fixes"][0]["state"] == "removed"
