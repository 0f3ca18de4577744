"""group/pynomaly.incident_response.k8s lets a play set the connection once with module_defaults."""
import json
import secrets

import pytest


@pytest.fixture
def incident(lab):
    """An open incident record (the scale override belongs to one); resolved afterwards."""
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import ClusterStore
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import K8sClient

    store = ClusterStore(K8sClient.from_params({"kubeconfig": lab["K8S_AUTH_KUBECONFIG"]}), "incident-response")
    incident_id = "INC-20261204-000000-t%s" % secrets.token_hex(4)
    store.create(rec.new_record(incident_id, "action-group-test", "resource_pressure"))
    yield incident_id
    store.update(incident_id, lambda r, t: (rec.resolve(r), t))


def test_module_defaults_on_the_k8s_group_reach_every_k8s_module(run_playbook, lab, tmp_path, incident):
    play = [{
        "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"group/pynomaly.incident_response.k8s": {
            "kubeconfig": lab["KUBECONFIG"], "context": lab["K8S_AUTH_CONTEXT"], "namespace": "pynomaly-production"}},
        "tasks": [
            {"name": "triage", "pynomaly.incident_response.k8s_triage": {"name": "pynomaly-api", "log_pods": 1}},
            {"name": "rollback check", "pynomaly.incident_response.k8s_rollback": {"name": "pynomaly-api"},
             "check_mode": True},
            {"name": "scale check", "pynomaly.incident_response.k8s_scale_override": {
                "name": "pynomaly-api", "replicas": 4, "incident_id": incident}, "check_mode": True},
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
