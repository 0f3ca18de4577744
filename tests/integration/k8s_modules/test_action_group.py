"""group/pynomaly.incident_response.k8s lets a play set the connection once with module_defaults."""
import json


def test_module_defaults_on_the_k8s_group_reach_every_k8s_module(run_playbook, lab, tmp_path):
    play = [{
        "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"group/pynomaly.incident_response.k8s": {
            "kubeconfig": lab["KUBECONFIG"], "context": lab["K8S_AUTH_CONTEXT"], "namespace": "pynomaly-production"}},
        "tasks": [
            {"name": "triage", "pynomaly.incident_response.k8s_triage": {"name": "pynomaly-api", "log_pods": 1}},
            {"name": "rollback check", "pynomaly.incident_response.k8s_rollback": {"name": "pynomaly-api"},
             "check_mode": True},
            {"name": "scale check", "pynomaly.incident_response.k8s_scale_override": {
                "name": "pynomaly-api", "replicas": 4}, "check_mode": True},
        ],
    }]
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(play))
    # The environment points nowhere: only module_defaults can connect these tasks.
    broken = {"KUBECONFIG": str(tmp_path / "missing"), "K8S_AUTH_KUBECONFIG": "", "K8S_AUTH_CONTEXT": ""}
    res = run_playbook(str(path), env=broken)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "failed=0" in res.stdout
    without = [dict(play[0], module_defaults={})]
    path.write_text(json.dumps(without))
    res = run_playbook(str(path), env=broken)
    assert res.returncode != 0
    assert "Cannot load the Kubernetes connection settings" in res.stdout
