"""The app_restart role (`kubectl rollout restart`, once per incident): a dry run writes nothing, the
real run rolls new pods and records the incident on the template, a rerun for the same incident changes
nothing, a new incident restarts again, and bad input or a missing Deployment fail with nothing changed."""
import json

import pytest

RESTARTED_FOR = "incident-response.pynomaly.io/restarted-for"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def recap(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("localhost "))
    return {k: int(v) for k, v in (part.split("=") for part in line.split(":", 1)[1].split())}


@pytest.fixture
def restart(run_playbook, lab, tmp_path):
    def _run(namespace, incident_id, name="web", check=False, **extra):
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
            "name": "Restart", "ansible.builtin.include_role": {"name": "pynomaly.incident_response.app_restart"},
            "vars": dict({"app_restart_incident_id": incident_id, "app_restart_namespace": namespace,
                          "app_restart_app_name": name, "app_restart_kubeconfig": lab["KUBECONFIG"],
                          "app_restart_timeout": 60}, **extra)}]}]
        path = tmp_path / "restart.yml"
        path.write_text(json.dumps(play))
        return run_playbook(str(path), check=check, diff=check,
                            env={"INCIDENT_TIMELINE_DIR": str(tmp_path / "timeline")})

    return _run


def template_annotations(kube, namespace):
    return kube.get("Deployment", namespace, "web")["spec"]["template"]["metadata"].get("annotations") or {}


def test_restart_once_per_incident(kube, namespace, restart):
    kube.workload("Deployment", namespace, "web", ["nginx:1.26"], replicas=2)
    before = kube.get("Deployment", namespace, "web")
    pods_before = {p["metadata"]["name"] for p in kube.pods(namespace, "app=web")}

    dry = restart(namespace, "INC-restart-1", check=True)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert recap(dry.stdout)["changed"] == 1  # it would restart
    after_dry = kube.get("Deployment", namespace, "web")
    assert after_dry["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert RESTARTED_FOR not in template_annotations(kube, namespace)

    real = restart(namespace, "INC-restart-1")
    assert real.returncode == 0, real.stdout + real.stderr
    annotations = template_annotations(kube, namespace)
    assert annotations[RESTARTED_FOR] == "INC-restart-1"
    assert annotations[RESTARTED_AT].endswith("Z")
    kube.wait_rollout("Deployment", namespace, "web")
    pods_after = {p["metadata"]["name"] for p in kube.pods(namespace, "app=web")
                  if not p["metadata"].get("deletionTimestamp")}
    assert pods_after and not pods_after & pods_before  # every pod replaced
    assert len(kube.history(namespace, "web")) == 2  # the restart is a new revision, as with kubectl

    again = restart(namespace, "INC-restart-1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again.stdout)["changed"] == 0
    assert template_annotations(kube, namespace)[RESTARTED_AT] == annotations[RESTARTED_AT]

    other = restart(namespace, "INC-restart-2")
    assert other.returncode == 0, other.stdout + other.stderr
    assert template_annotations(kube, namespace)[RESTARTED_FOR] == "INC-restart-2"


def test_bad_input_and_a_missing_deployment_change_nothing(kube, namespace, restart):
    kube.workload("Deployment", namespace, "web", ["nginx:1.26"])
    version = kube.get("Deployment", namespace, "web")["metadata"]["resourceVersion"]

    no_incident = restart(namespace, "")
    assert no_incident.returncode != 0
    assert "Nothing was restarted" in no_incident.stdout
    bad_timeout = restart(namespace, "INC-x", app_restart_timeout=0)
    assert bad_timeout.returncode != 0
    assert "positive app_restart_timeout" in bad_timeout.stdout
    missing = restart(namespace, "INC-x", name="does-not-exist")
    assert missing.returncode != 0
    assert "does-not-exist" in missing.stdout
    assert kube.get("Deployment", namespace, "web")["metadata"]["resourceVersion"] == version
