"""k8s_scale_override against the lab cluster: check → run → rerun, both ways, with and without an HPA."""
import json

RECORD = "incident-response.pynomaly.io/scale-override"


def annotations(kube, ns, name, kind="Deployment"):
    return kube.get(kind, ns, name)["metadata"].get("annotations") or {}


def hpa(kube, ns, name):
    return kube.raw(kube.autoscaling.read_namespaced_horizontal_pod_autoscaler, name, ns)


def create_hpa(kube, ns, target, min_replicas, max_replicas):
    kube.raw(kube.autoscaling.create_namespaced_horizontal_pod_autoscaler, ns, {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": target},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                 "minReplicas": min_replicas, "maxReplicas": max_replicas,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}}]}})


def test_scale_up_and_restore_without_hpa(run_module, kube, namespace):
    kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=2)
    present = {"name": "api", "namespace": namespace, "replicas": 4, "incident_id": "INC-9"}

    check = run_module("k8s_scale_override", present, check=True, diff=True)
    assert check["changed"] is True, check
    assert check["workload_patch"]["spec"] == {"replicas": 4}
    assert "replicas" in check["diff"]["after"]
    assert kube.get("Deployment", namespace, "api")["spec"]["replicas"] == 2
    assert RECORD not in annotations(kube, namespace, "api")

    real = run_module("k8s_scale_override", present)
    assert real["changed"] is True, real
    assert real["available"] == 4
    dep = kube.get("Deployment", namespace, "api")
    assert dep["spec"]["replicas"] == 4 and dep["status"]["availableReplicas"] == 4
    record = json.loads(dep["metadata"]["annotations"][RECORD])
    assert record["original_replicas"] == 2 and record["replicas"] == 4 and record["incident_id"] == "INC-9"

    assert run_module("k8s_scale_override", present)["changed"] is False

    absent = {"name": "api", "namespace": namespace, "state": "absent"}
    check = run_module("k8s_scale_override", absent, check=True)
    assert check["changed"] is True and check["replicas"] == 2
    assert kube.get("Deployment", namespace, "api")["spec"]["replicas"] == 4
    real = run_module("k8s_scale_override", absent)
    assert real["changed"] is True, real
    assert kube.get("Deployment", namespace, "api")["spec"]["replicas"] == 2
    assert RECORD not in annotations(kube, namespace, "api")
    again = run_module("k8s_scale_override", absent)
    assert again["changed"] is False
    assert "no scale override recorded" in again["msg"]


def test_increase_by_counts_from_the_recorded_original(run_module, kube, namespace):
    kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=1, wait=False)
    args = {"name": "api", "namespace": namespace, "increase_by": 2, "wait": False}
    assert run_module("k8s_scale_override", args)["replicas"] == 3
    rerun = run_module("k8s_scale_override", args)
    assert rerun["changed"] is False and rerun["replicas"] == 3
    assert kube.get("Deployment", namespace, "api")["spec"]["replicas"] == 3


def test_hpa_minreplicas_is_raised_and_restored(run_module, kube, namespace):
    kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=1)
    create_hpa(kube, namespace, "api", 1, 3)
    args = {"name": "api", "namespace": namespace, "replicas": 4, "wait_timeout": 60}

    check = run_module("k8s_scale_override", args, check=True)
    assert check["changed"] is True and check["via_hpa"] == "api"
    assert (hpa(kube, namespace, "api")["spec"]["minReplicas"], hpa(kube, namespace, "api")["spec"]["maxReplicas"]) \
        == (1, 3)

    real = run_module("k8s_scale_override", args)
    assert real["changed"] is True, real
    assert real["hpa_patch"]["spec"] == {"minReplicas": 4, "maxReplicas": 4}
    assert "spec" not in real["workload_patch"]  # the HPA scales the Deployment, we do not
    assert real["available"] == 4
    h = hpa(kube, namespace, "api")
    assert (h["spec"]["minReplicas"], h["spec"]["maxReplicas"]) == (4, 4)
    record = json.loads(annotations(kube, namespace, "api")[RECORD])
    assert record["hpa"] == {"name": "api", "original_min_replicas": 1, "original_max_replicas": 3}
    assert run_module("k8s_scale_override", args)["changed"] is False

    absent = {"name": "api", "namespace": namespace, "state": "absent"}
    real = run_module("k8s_scale_override", absent)
    assert real["changed"] is True, real
    h = hpa(kube, namespace, "api")
    assert (h["spec"]["minReplicas"], h["spec"]["maxReplicas"]) == (1, 3)
    assert RECORD not in annotations(kube, namespace, "api")
    assert run_module("k8s_scale_override", absent)["changed"] is False


def test_max_replicas_refuses_and_changes_nothing(run_module, kube, namespace):
    before = kube.workload("Deployment", namespace, "api", ["nginx:1.27"], replicas=1, wait=False)
    res = run_module("k8s_scale_override", {"name": "api", "namespace": namespace, "replicas": 30,
                                            "max_replicas": 10})
    assert res["failed"] is True
    assert "Refusing to scale api to 30 replicas: above max_replicas=10" in res["msg"]
    after = kube.get("Deployment", namespace, "api")
    assert after["spec"]["replicas"] == 1
    assert after["metadata"].get("annotations") == before["metadata"].get("annotations")


def test_bad_input_and_missing_workload(run_tasks, namespace):
    scale = "pynomaly.incident_response.k8s_scale_override"
    cases = [
        ({"name": "api"}, "state is present but any of the following are missing: replicas, increase_by"),
        ({"name": "api", "replicas": 2, "increase_by": 1}, "parameters are mutually exclusive: replicas|increase_by"),
        ({"name": "api", "increase_by": -1}, "increase_by must be zero or more"),
        ({"name": "ghost", "replicas": 2}, f"Deployment {namespace}/ghost not found"),
        ({"name": "ghost", "state": "absent"}, f"Deployment {namespace}/ghost not found"),
    ]
    results = run_tasks([{scale: dict({"namespace": namespace}, **args)} for args, _ in cases])
    for (args, message), res in zip(cases, results, strict=True):
        assert res.get("failed") is True, (args, res)
        assert message in res["msg"], (args, res["msg"])
