"""The incident's life against the stand-ins and the lab cluster: declare, acknowledge, resolve
(health confirmed, scale override removed, Statuspage and PagerDuty resolved, resolution posted,
post-mortem written), with --check sending nothing and a rerun sending nothing new."""
import pytest

NAMESPACE = "pynomaly-production"
WORKLOAD = "redis"  # no HPA owns it, so its replicas are the override's to restore


@pytest.fixture
def apps(lab_environ):
    from kubernetes import client, config

    config.load_kube_config(config_file=lab_environ["KUBECONFIG"])
    return client.AppsV1Api()


def worker_replicas(apps):
    return apps.read_namespaced_deployment(WORKLOAD, NAMESPACE).spec.replicas


def test_declare_acknowledge_and_resolve(incident, run_module, apps):
    assert incident.declare(incident_severity="P1").returncode == 0

    update = {"communicate_incident_id": incident.incident_id, "communicate_severity": "P1",
              "communicate_status": "identified", "communicate_title": "Checkout API failing",
              "communicate_message": "A bad deploy is being rolled back."}
    res = incident.run("tests/integration/communicate/playbooks/update.yml", update)
    assert res.returncode == 0, res.stdout + res.stderr
    ack = incident.calls("pagerduty")[-1]["body"]
    assert (ack["event_action"], ack["dedup_key"]) == ("acknowledge", incident.incident_id)
    assert "payload" not in ack

    original = worker_replicas(apps)
    scaled = run_module("k8s_scale_override", {"name": WORKLOAD, "namespace": NAMESPACE, "replicas": original + 2,
                                               "incident_id": incident.incident_id, "wait": False})
    assert scaled.get("changed") is True, scaled
    assert worker_replicas(apps) == original + 2

    # Nothing names the override: resolving finds it in the incident record.
    overrides = {"post_incident_health_url": incident.lab["PYNOMALY_API_URL"] + "/health",
                 "post_incident_health_count": 5,
                 "post_incident_triage_workloads": [{"name": "pynomaly-api", "namespace": NAMESPACE}],
                 "post_incident_statuspage_components": {"API": "operational"}}
    writes = len(incident.writes())
    dry = incident.resolve(check=True, **overrides)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert len(incident.writes()) == writes
    assert worker_replicas(apps) == original + 2
    [live] = [i for i in incident.statuspage_incidents() if i["id"] == incident.channels()["statuspage"]["incident_id"]]
    assert live["status"] == "identified"

    res = incident.resolve(**overrides)
    assert res.returncode == 0, res.stdout + res.stderr
    resolve = incident.calls("pagerduty")[-1]["body"]
    assert (resolve["event_action"], resolve["dedup_key"]) == ("resolve", incident.incident_id)
    resolution = incident.calls("slack")[-1]["body"]
    assert resolution["blocks"][0]["text"]["text"].startswith(":white_check_mark: [P1]")
    assert "The service is operating normally (5 health checks, error rate 0.0 %); temporary fixes removed" \
        in resolution["text"]
    [live] = [i for i in incident.statuspage_incidents() if i["id"] == live["id"]]
    assert live["status"] == "resolved"
    assert worker_replicas(apps) == original
    record = incident.record()
    assert record["status"] == "resolved"
    assert [(f["target"]["name"], f["state"]) for f in record["fixes"]] == [(WORKLOAD, "removed")]

    doc = incident.timeline()
    assert [m["milestone"] for m in doc["milestones"]] == ["detected", "declared", "recovered", "resolved"]
    assert doc["status"] == "resolved"
    assert doc["measures"]["time_to_recover"]["verdict"] == "met"  # minutes, against the API's 15 min RTO
    assert len([run for run in doc["runs"] if not run["check_mode"]]) == 2  # declare and resolve, one incident
    folder = incident.timeline_dir / incident.incident_id
    assert "| Status | resolved |" in (folder / "postmortem.md").read_text()
    html = (folder / "postmortem.html").read_text()
    assert "Remove the temporary scale overrides" in html
    [triage] = [t for run in doc["runs"] if not run["check_mode"] for t in run["tasks"]
                if t["task"] == "post_incident : Triage the workloads"]
    assert triage["status"] == "ok"

    writes = len(incident.writes())
    again = incident.resolve(**overrides)
    assert again.returncode == 0, again.stdout + again.stderr
    assert incident.recap(again)["changed"] == 0
    assert len(incident.writes()) == writes


def test_resolve_refuses_an_unhealthy_service_and_changes_nothing(incident):
    assert incident.declare(incident_severity="P1").returncode == 0
    writes = len(incident.writes())
    res = incident.resolve(post_incident_health_url=incident.lab["SAAS_ADMIN_URL"] + "/no-such-page",
                           post_incident_health_count=3)
    assert res.returncode != 0
    assert f"Not resolving {incident.incident_id}" in res.stdout
    assert len(incident.writes()) == writes
    assert incident.record()["status"] == "open"


def test_resolve_of_an_unknown_incident_is_a_clear_error(incident):
    res = incident.resolve()
    assert res.returncode != 0
    assert "There is no incident record for " + incident.incident_id in res.stdout
    assert incident.writes() == []
    assert incident.record() is None
