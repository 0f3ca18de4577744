"""k8s_scale_override against the lab cluster: the originals live in the incident's record, never on the workload.

Each test opens its own incident record (a unique id, in the records' namespace) and works in a fresh
namespace: check mode → nothing changed (Deployment, HPA and record read back) → real run → rerun.
"""
import json
import secrets

import pytest

LEGACY = "incident-response.pynomaly.io/scale-override"
RECORD_NS = "incident-response"


@pytest.fixture(scope="module")
def store(lab):
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import ClusterStore
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import K8sClient

    return ClusterStore(K8sClient.from_params({"kubeconfig": lab["K8S_AUTH_KUBECONFIG"]}), RECORD_NS)


@pytest.fixture
def open_incident(store):
    """open_incident() -> the id of a new open incident record; each is resolved after the test."""
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import (
        check_incident_id,
    )

    opened = []

    def _open():
        incident_id = "INC-20261204-000000-t%s" % secrets.token_hex(4)
        assert check_incident_id(incident_id) is None
        assert store.create(rec.new_record(incident_id, "scale-test", "resource_pressure")) is not None
        opened.append(incident_id)
        return incident_id

    yield _open
    for incident_id in opened:
        store.update(incident_id, lambda r, t: (rec.resolve(r), t))


@pytest.fixture
def incident(open_incident):
    return open_incident()


def fixes(store, incident_id):
    return store.read(incident_id).record["fixes"]


def active_fix(store, incident_id, namespace, name="api"):
    key = "scale_override:Deployment/%s/%s" % (namespace, name)
    found = [f for f in fixes(store, incident_id) if f["key"] == key and f["state"] == "active"]
    return found[0] if found else None


def annotations(kube, ns, name="api"):
    return kube.get("Deployment", ns, name)["metadata"].get("annotations") or {}


def replicas(kube, ns, name="api"):
    return kube.get("Deployment", ns, name)["spec"]["replicas"]


def hpa_bounds(kube, ns, name="api"):
    spec = kube.raw(kube.autoscaling.read_namespaced_horizontal_pod_autoscaler, name, ns)["spec"]
    return spec["minReplicas"], spec["maxReplicas"]


def create_hpa(kube, ns, target, min_replicas, max_replicas):
    kube.raw(kube.autoscaling.create_namespaced_horizontal_pod_autoscaler, ns, {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": target},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                 "minReplicas": min_replicas, "maxReplicas": max_replicas,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}}]}})


def unchanged(kube, store, ns, incident_id, before, fixes_before):
    """Check mode wrote nothing: same generation and annotations on the Deployment, same fixes in the record."""
    now = kube.get("Deployment", ns, "api")
    return (now["metadata"]["generation"] == before["metadata"]["generation"]
            and now["metadata"].get("annotations") == before["metadata"].get("annotations")
            and fixes(store, incident_id) == fixes_before)


def test_scale_up_and_restore_without_hpa(run_module, kube, store, namespace, incident):
    before = kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=2)
    present = {"name": "api", "namespace": namespace, "replicas": 4, "incident_id": incident}

    check = run_module("k8s_scale_override", present, check=True, diff=True)
    assert check["changed"] is True, check
    assert check["workload_patch"]["spec"] == {"replicas": 4}
    assert check["fix"]["original"] == {"replicas": 2} and check["fix"]["applied"] == {"replicas": 4}
    diff_before, diff_after = json.loads(check["diff"]["before"]), json.loads(check["diff"]["after"])
    assert (diff_before["replicas"], diff_before["fix"]) == (2, None)
    assert diff_after["replicas"] == 4 and diff_after["fix"]["applied"] == {"replicas": 4}
    assert unchanged(kube, store, namespace, incident, before, [])

    real = run_module("k8s_scale_override", present)
    assert real["changed"] is True, real
    assert real["available"] == 4 and real["incident_id"] == incident and real["via_hpa"] is None
    dep = kube.get("Deployment", namespace, "api")
    assert dep["spec"]["replicas"] == 4 and dep["status"]["availableReplicas"] == 4
    assert LEGACY not in (dep["metadata"].get("annotations") or {})
    fix = active_fix(store, incident, namespace)
    assert fix["original"] == {"replicas": 2} and fix["applied"] == {"replicas": 4}
    assert fix["target"] == {"kind": "Deployment", "namespace": namespace, "name": "api"}
    assert real["fix"] == fix

    rerun = run_module("k8s_scale_override", present)
    assert rerun["changed"] is False, rerun
    assert rerun["msg"] == "override already in place: Deployment/%s/api replicas = 4" % namespace

    absent = dict(present, state="absent")
    absent.pop("replicas")
    before = kube.get("Deployment", namespace, "api")
    fixes_before = fixes(store, incident)
    check = run_module("k8s_scale_override", absent, check=True, diff=True)
    assert check["changed"] is True and check["replicas"] == 2
    assert json.loads(check["diff"]["after"])["fix"] is None
    assert unchanged(kube, store, namespace, incident, before, fixes_before)
    assert replicas(kube, namespace) == 4

    real = run_module("k8s_scale_override", absent)
    assert real["changed"] is True, real
    assert replicas(kube, namespace) == 2
    assert active_fix(store, incident, namespace) is None
    assert real["fix"]["state"] == "removed" and real["fix"]["original"] == {"replicas": 2}
    again = run_module("k8s_scale_override", absent)
    assert again["changed"] is False
    assert again["msg"] == "no scale override recorded for Deployment/%s/api in %s" % (namespace, incident)


def test_increase_by_counts_from_the_recorded_original(run_module, kube, store, namespace, incident):
    kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=1, wait=False)
    args = {"name": "api", "namespace": namespace, "increase_by": 2, "wait": False, "incident_id": incident}
    assert run_module("k8s_scale_override", args)["replicas"] == 3
    rerun = run_module("k8s_scale_override", args)
    assert rerun["changed"] is False and rerun["replicas"] == 3
    assert replicas(kube, namespace) == 3
    assert active_fix(store, incident, namespace)["original"] == {"replicas": 1}


def test_hpa_min_and_max_are_raised_and_restored_exactly(run_module, kube, store, namespace, incident):
    before = kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=1)
    create_hpa(kube, namespace, "api", 1, 3)
    args = {"name": "api", "namespace": namespace, "replicas": 4, "wait_timeout": 60, "incident_id": incident}

    check = run_module("k8s_scale_override", args, check=True, diff=True)
    assert check["changed"] is True and check["via_hpa"] == "api"
    assert json.loads(check["diff"]["after"])["hpa"] == {"name": "api", "minReplicas": 4, "maxReplicas": 4}
    assert hpa_bounds(kube, namespace) == (1, 3)
    assert unchanged(kube, store, namespace, incident, before, [])

    real = run_module("k8s_scale_override", args)
    assert real["changed"] is True, real
    assert real["hpa_patch"]["spec"] == {"minReplicas": 4, "maxReplicas": 4}
    assert "workload_patch" not in real  # the HPA scales the Deployment, we do not
    assert real["available"] == 4
    assert hpa_bounds(kube, namespace) == (4, 4)
    fix = active_fix(store, incident, namespace)
    assert fix["original"] == {"replicas": 1, "hpa": {"name": "api", "min_replicas": 1, "max_replicas": 3}}
    assert fix["applied"] == {"replicas": 4, "hpa": {"name": "api", "min_replicas": 4, "max_replicas": 4}}
    assert LEGACY not in annotations(kube, namespace)
    assert run_module("k8s_scale_override", args)["changed"] is False

    absent = {"name": "api", "namespace": namespace, "state": "absent", "incident_id": incident}
    real = run_module("k8s_scale_override", absent)
    assert real["changed"] is True, real
    assert real["hpa_patch"]["spec"] == {"minReplicas": 1, "maxReplicas": 3} and real["via_hpa"] == "api"
    assert hpa_bounds(kube, namespace) == (1, 3)
    assert active_fix(store, incident, namespace) is None
    assert run_module("k8s_scale_override", absent)["changed"] is False


def test_a_rollback_brings_no_override_back(run_module, kube, store, namespace, incident):
    kube.workload("Deployment", namespace, "api", ["nginx:1.26"], replicas=1)
    args = {"name": "api", "namespace": namespace, "replicas": 3, "incident_id": incident}
    assert run_module("k8s_scale_override", args)["changed"] is True
    # A new revision copies the Deployment's annotations onto its ReplicaSet; rolling back copies the
    # old ReplicaSet's back: neither may carry anything about the override.
    kube.patch("Deployment", namespace, "api",
               {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}}})
    kube.wait_rollout("Deployment", namespace, "api")
    undo = run_module("k8s_rollback", {"name": "api", "namespace": namespace})
    assert undo["changed"] is True, undo
    assert len(kube.replicasets(namespace)) == 2
    for rs in kube.replicasets(namespace):
        assert LEGACY not in (rs["metadata"].get("annotations") or {}), rs["metadata"]
    assert LEGACY not in annotations(kube, namespace)
    assert replicas(kube, namespace) == 3

    real = run_module("k8s_scale_override", {"name": "api", "namespace": namespace, "state": "absent",
                                             "incident_id": incident})
    assert real["changed"] is True, real
    assert replicas(kube, namespace) == 1


def test_a_hand_change_is_not_overwritten_without_force(run_module, kube, store, namespace, incident):
    kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=2, wait=False)
    present = {"name": "api", "namespace": namespace, "replicas": 4, "wait": False, "incident_id": incident}
    assert run_module("k8s_scale_override", present)["changed"] is True
    kube.patch("Deployment", namespace, "api", {"spec": {"replicas": 5}})

    absent = {"name": "api", "namespace": namespace, "state": "absent", "incident_id": incident}
    refused = run_module("k8s_scale_override", absent)
    assert refused["failed"] is True and refused["changed"] is False
    assert "replicas is 5, but the scale override of %s set 4" % incident in refused["msg"]
    assert "Nothing was changed" in refused["msg"] and "force=true" in refused["msg"]
    assert replicas(kube, namespace) == 5
    assert active_fix(store, incident, namespace)["applied"] == {"replicas": 4}

    forced = run_module("k8s_scale_override", dict(absent, force=True))
    assert forced["changed"] is True, forced
    assert replicas(kube, namespace) == 2
    assert active_fix(store, incident, namespace) is None


def test_without_an_open_record_nothing_changes(run_module, kube, store, namespace, open_incident):
    before = kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=2, wait=False)
    ghost = "INC-20261204-000000-t%s" % secrets.token_hex(4)
    res = run_module("k8s_scale_override", {"name": "api", "namespace": namespace, "replicas": 4,
                                            "incident_id": ghost})
    assert res["failed"] is True and res["changed"] is False
    assert "There is no open incident record for %s (ConfigMap %s/" % (ghost, RECORD_NS) in res["msg"]
    assert "declare/open it first" in res["msg"]
    assert store.read(ghost) is None

    resolved = open_incident()
    store.update(resolved, lambda r, t: (dict(r, status="resolved"), t))
    res = run_module("k8s_scale_override", {"name": "api", "namespace": namespace, "replicas": 4,
                                            "incident_id": resolved})
    assert res["failed"] is True and "is resolved): declare/open it first" in res["msg"]
    assert fixes(store, resolved) == []
    now = kube.get("Deployment", namespace, "api")
    assert now["spec"]["replicas"] == 2 and now["metadata"]["generation"] == before["metadata"]["generation"]


def test_a_second_incident_on_the_same_target_is_refused(run_module, kube, store, namespace, open_incident):
    kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=2, wait=False)
    first, second = open_incident(), open_incident()
    args = {"name": "api", "namespace": namespace, "replicas": 3, "wait": False}
    assert run_module("k8s_scale_override", dict(args, incident_id=first))["changed"] is True

    refused = run_module("k8s_scale_override", dict(args, replicas=5, incident_id=second))
    assert refused["failed"] is True and refused["changed"] is False
    assert "Incident %s already holds a scale override on Deployment/%s/api" % (first, namespace) in refused["msg"]
    assert replicas(kube, namespace) == 3
    assert fixes(store, second) == []


def test_a_legacy_annotation_is_migrated_into_the_record(run_module, kube, store, namespace, incident):
    kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=2, wait=False)
    # What an earlier version left: scaled from 2 to 4, the originals in an annotation.
    legacy = {"original_replicas": 2, "replicas": 4, "incident_id": incident, "at": "2026-12-04T00:00:00Z"}
    kube.patch("Deployment", namespace, "api",
               {"metadata": {"annotations": {LEGACY: json.dumps(legacy)}}, "spec": {"replicas": 4}})
    args = {"name": "api", "namespace": namespace, "replicas": 4, "wait": False, "incident_id": incident}

    check = run_module("k8s_scale_override", args, check=True)
    assert check["changed"] is True and check["fix"]["original"] == {"replicas": 2}
    assert LEGACY in annotations(kube, namespace) and fixes(store, incident) == []

    real = run_module("k8s_scale_override", args)
    assert real["changed"] is True, real
    assert "taken from the legacy" in real["msg"]
    assert real["workload_patch"]["metadata"]["annotations"] == {LEGACY: None}
    assert LEGACY not in annotations(kube, namespace)
    assert active_fix(store, incident, namespace)["original"] == {"replicas": 2}
    assert replicas(kube, namespace) == 4
    assert run_module("k8s_scale_override", args)["changed"] is False

    back = run_module("k8s_scale_override", {"name": "api", "namespace": namespace, "state": "absent",
                                             "incident_id": incident})
    assert back["changed"] is True, back
    assert replicas(kube, namespace) == 2


def test_max_replicas_refuses_and_changes_nothing(run_module, kube, store, namespace, incident):
    before = kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=1, wait=False)
    res = run_module("k8s_scale_override", {"name": "api", "namespace": namespace, "replicas": 30,
                                            "max_replicas": 10, "incident_id": incident})
    assert res["failed"] is True
    assert "Refusing to scale api to 30 replicas: above max_replicas=10" in res["msg"]
    assert unchanged(kube, store, namespace, incident, before, [])
    assert replicas(kube, namespace) == 1


def test_bad_input_and_missing_workload(run_tasks, namespace, incident):
    scale = "pynomaly.incident_response.k8s_scale_override"
    cases = [
        ({"name": "api", "replicas": 2}, "missing required arguments: incident_id"),
        ({"name": "api", "incident_id": incident},
         "state is present but any of the following are missing: replicas, increase_by"),
        ({"name": "api", "replicas": 2, "increase_by": 1, "incident_id": incident},
         "parameters are mutually exclusive: replicas|increase_by"),
        ({"name": "api", "increase_by": -1, "incident_id": incident}, "increase_by must be zero or more"),
        ({"name": "api", "replicas": 2, "incident_id": "INC 1"}, "incident_id: an incident id may hold only"),
        ({"name": "ghost", "replicas": 2, "incident_id": incident}, f"Deployment {namespace}/ghost not found"),
        ({"name": "ghost", "state": "absent", "incident_id": incident}, f"Deployment {namespace}/ghost not found"),
    ]
    results = run_tasks([{scale: dict({"namespace": namespace}, **args)} for args, _ in cases])
    for (args, message), res in zip(cases, results, strict=True):
        assert res.get("failed") is True, (args, res)
        assert message in res["msg"], (args, res["msg"])
