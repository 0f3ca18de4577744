"""k8s_rollback against the lab cluster: check mode → real run → rerun, every target, every error.

Each test builds its own workloads in a fresh namespace and reads the real state back.
"""
import json
import socket
import subprocess
import time

import pytest

API = "pynomaly-api"
GOOD = ["nginx:1.25", "nginx:1.26", "nginx:1.27"]
CAUSES = ["deploy 1.25", "deploy 1.26", "deploy 1.27"]
RECORD = "incident-response.pynomaly.io/rollback"


def unchanged(kube, ns, name, before, kind="Deployment"):
    """Nothing we write changed: same generation (spec), template and annotations (the controller's status may move)."""
    now = kube.get(kind, ns, name)
    return (now["metadata"]["generation"] == before["metadata"]["generation"]
            and now["spec"]["template"] == before["spec"]["template"]
            and now["metadata"].get("annotations") == before["metadata"].get("annotations"))


def image_of(kube, kind, ns, name):
    return kube.get(kind, ns, name)["spec"]["template"]["spec"]["containers"][0]["image"]


def test_previous_with_incident_check_run_rerun(run_module, kube, namespace):
    kube.workload("Deployment", namespace, "web", GOOD, CAUSES)
    before = kube.get("Deployment", namespace, "web")
    before_rv = before["metadata"]["resourceVersion"]
    args = {"name": "web", "namespace": namespace, "incident_id": "INC-1"}

    check = run_module("k8s_rollback", args, check=True, diff=True)
    assert check["changed"] is True, check
    w = check["workloads"][0]
    assert (w["from_revision"], w["to_revision"]) == (3, 2)
    assert w["from_images"] == ["nginx:1.27"] and w["to_images"] == ["nginx:1.26"]
    assert w["change_cause"] == "deploy 1.26"
    assert "would roll back to revision 2" in w["msg"]
    assert w["patch"][0] == {"op": "test", "path": "/metadata/resourceVersion", "value": before_rv}
    assert check["diff"][0]["after"]["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    # Check mode wrote nothing.
    assert unchanged(kube, namespace, "web", before)
    assert kube.history(namespace, "web") == [(1, "deploy 1.25", "nginx:1.25"), (2, "deploy 1.26", "nginx:1.26"),
                                              (3, "deploy 1.27", "nginx:1.27")]

    real = run_module("k8s_rollback", args)
    assert real["changed"] is True, real
    w = real["workloads"][0]
    assert w["rollout_status"]["done"] is True
    assert w["revision"] == 4
    assert image_of(kube, "Deployment", namespace, "web") == "nginx:1.26"
    assert kube.rollout_done("Deployment", namespace, "web")
    assert kube.history(namespace, "web") == [(1, "deploy 1.25", "nginx:1.25"), (3, "deploy 1.27", "nginx:1.27"),
                                              (4, "deploy 1.26", "nginx:1.26")]
    record = json.loads(kube.get("Deployment", namespace, "web")["metadata"]["annotations"][RECORD])
    assert record["incident"] == "INC-1" and record["to_revision"] == 2 and record["from_revision"] == 3

    rerun = run_module("k8s_rollback", args)
    assert rerun["changed"] is False, rerun
    assert "already rolled back for incident INC-1" in rerun["workloads"][0]["msg"]
    assert image_of(kube, "Deployment", namespace, "web") == "nginx:1.26"


def test_revision_converges_after_the_controller_renumbers_it(run_module, kube, namespace):
    kube.workload("Deployment", namespace, "web", GOOD, CAUSES)
    args = {"name": "web", "namespace": namespace, "revision": 1}
    assert run_module("k8s_rollback", args, check=True)["changed"] is True
    assert image_of(kube, "Deployment", namespace, "web") == "nginx:1.27"
    first = run_module("k8s_rollback", args)
    assert first["changed"] is True
    assert image_of(kube, "Deployment", namespace, "web") == "nginx:1.25"
    # Revision 1 is now revision 4 (revision-history "1"); asking for 1 again finds it and stops.
    rs = next(r for r in kube.replicasets(namespace)
              if r["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25")
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    rerun = run_module("k8s_rollback", args)
    assert rerun["changed"] is False, rerun
    assert rerun["workloads"][0]["msg"] == "current template already matches revision 4"


def test_image_target_picks_the_newest_revision_running_it(run_module, kube, namespace):
    kube.workload("Deployment", namespace, "web", GOOD, CAUSES)
    args = {"name": "web", "namespace": namespace, "image": "nginx:1.25", "wait": False}
    res = run_module("k8s_rollback", args)
    assert res["changed"] is True and res["workloads"][0]["to_revision"] == 1
    assert "rollout_status" not in res["workloads"][0]  # not waited for
    assert image_of(kube, "Deployment", namespace, "web") == "nginx:1.25"
    kube.wait_rollout("Deployment", namespace, "web")
    assert run_module("k8s_rollback", args)["changed"] is False


def test_only_if_unhealthy_leaves_a_healthy_rollout_alone_and_rolls_back_a_crash_loop(run_module, kube, namespace):
    kube.workload("Deployment", namespace, API, ["pynomaly-api:1.1.0", "pynomaly-api:1.2.0"], ["1.1.0", "1.2.0"],
                  min_ready=3)
    args = {"name": API, "namespace": namespace, "only_if_unhealthy": True}
    res = run_module("k8s_rollback", args)
    assert res["changed"] is False
    assert "rollout is healthy" in res["workloads"][0]["msg"]
    assert image_of(kube, "Deployment", namespace, API) == "pynomaly-api:1.2.0"

    kube.patch("Deployment", namespace, API, {
        "metadata": {"annotations": {"kubernetes.io/change-cause": "1.3.0"}},
        "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "pynomaly-api:1.3.0-crashloop"}]}}}})
    kube.wait(lambda: any(cs.get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
                          for p in kube.pods(namespace) for cs in p["status"].get("containerStatuses") or []),
              30, "a crash-looping pod")
    res = run_module("k8s_rollback", args)
    assert res["changed"] is True, res
    assert res["workloads"][0]["to_images"] == ["pynomaly-api:1.2.0"]
    assert res["workloads"][0]["rollout_status"]["done"] is True
    assert kube.rollout_done("Deployment", namespace, API)
    assert run_module("k8s_rollback", args)["changed"] is False


def test_label_selectors_roll_back_every_matched_deployment(run_module, kube, namespace):
    for name in ("api", "worker", "scheduler"):
        kube.workload("Deployment", namespace, name, GOOD[:2], CAUSES[:2], labels={"tier": "app"},
                      wait=False)
    kube.workload("Deployment", namespace, "bystander", GOOD[:2], CAUSES[:2], labels={"tier": "db"})
    args = {"namespace": namespace, "label_selectors": ["tier=app"], "incident_id": "INC-7"}
    check = run_module("k8s_rollback", args, check=True)
    assert sorted(w["name"] for w in check["workloads"]) == ["api", "scheduler", "worker"]
    assert all(image_of(kube, "Deployment", namespace, n) == "nginx:1.26" for n in ("api", "worker", "scheduler"))
    res = run_module("k8s_rollback", args)
    assert res["changed"] is True
    assert all(w["changed"] and w["rollout_status"]["done"] for w in res["workloads"])
    for name in ("api", "worker", "scheduler"):
        assert image_of(kube, "Deployment", namespace, name) == "nginx:1.25"
    assert image_of(kube, "Deployment", namespace, "bystander") == "nginx:1.26"
    assert run_module("k8s_rollback", args)["changed"] is False


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
def test_statefulset_and_daemonset_through_controller_revisions(run_module, kube, namespace, kind):
    kube.workload(kind, namespace, "store", ["redis:7.2", "redis:7.4"], replicas=1)
    # No incident: a rerun with the same revision converges even after the controller renumbers it.
    args = {"kind": kind, "name": "store", "namespace": namespace, "revision": 1}
    check = run_module("k8s_rollback", args, check=True)
    assert check["changed"] is True, check
    assert check["workloads"][0]["to_images"] == ["redis:7.2"]
    assert image_of(kube, kind, namespace, "store") == "redis:7.4"
    res = run_module("k8s_rollback", args)
    assert res["changed"] is True, res
    assert res["workloads"][0]["rollout_status"]["done"] is True
    assert image_of(kube, kind, namespace, "store") == "redis:7.2"
    assert kube.rollout_done(kind, namespace, "store")
    assert run_module("k8s_rollback", args)["changed"] is False


def test_bad_targets_fail_clearly_and_change_nothing(run_tasks, kube, namespace):
    """Paused, unknown revision, no history, one bad target among several, missing object, wrong kind,
    selector matching nothing, unreachable API: each a clear message, and nothing written."""
    kube.workload("Deployment", namespace, "paused", GOOD[:2], CAUSES[:2], wait=False)
    kube.patch("Deployment", namespace, "paused", {"spec": {"paused": True}})
    kube.workload("Deployment", namespace, "three", GOOD, CAUSES, wait=False)
    kube.workload("Deployment", namespace, "single", GOOD[:1], wait=False)
    kube.workload("Deployment", namespace, "a", GOOD[:2], labels={"tier": "x"}, wait=False)
    kube.workload("Deployment", namespace, "b", GOOD[:1], labels={"tier": "x"}, wait=False)
    kube.workload("StatefulSet", namespace, "db", ["redis:7.2"], wait=False)
    before = {name: kube.get("Deployment", namespace, name) for name in ("paused", "three", "single", "a")}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rollback = "pynomaly.incident_response.k8s_rollback"
    cases = [
        ({"name": "paused"}, "is paused; you cannot roll back a paused deployment. Resume it first "
                             "(kubectl rollout resume)"),
        ({"name": "three", "revision": 9}, "has no revision 9; existing revisions: 1, 2, 3"),
        ({"name": "single"}, "no previous revision to roll back to (only revision 1)"),
        ({"label_selectors": ["tier=x"]}, f"Deployment {namespace}/b has no previous revision"),
        ({"name": "ghost"}, f"Deployment {namespace}/ghost not found"),
        ({"name": "db"}, f"Deployment {namespace}/db not found"),
        ({"name": "db", "kind": "ReplicaSet"}, "value of kind must be one of"),
        ({"label_selectors": ["tier=none"]}, f"No Deployment in namespace {namespace} matches tier=none"),
        ({"name": "three", "revision": 0}, "revision must be a positive revision number"),
        ({"name": "three", "host": f"https://127.0.0.1:{port}", "api_key": "x", "validate_certs": False},
         f"The Kubernetes API at https://127.0.0.1:{port} is unreachable"),
    ]
    results = run_tasks([{rollback: dict({"namespace": namespace}, **args)} for args, _ in cases])
    for (args, message), res in zip(cases, results, strict=True):
        assert res.get("failed") is True, (args, res)
        assert message in res["msg"], (args, res["msg"])
        assert res.get("changed") is False, args
        assert "Traceback" not in res.get("module_stderr", ""), args
    assert results[1]["revisions"] == [1, 2, 3]
    for name, obj in before.items():
        assert unchanged(kube, namespace, name, obj), f"{name} was changed by a failed rollback"


def test_host_and_api_key_work_and_the_key_is_never_printed(run_module, lab, kube, namespace):
    kube.workload("Deployment", namespace, "web", GOOD[:2], wait=False)
    args = {"name": "web", "namespace": namespace, "host": lab["LAB_K8S_URL"], "api_key": lab["LAB_K8S_TOKEN"],
            "ca_cert": lab["LAB_K8S_CA"], "kubeconfig": "/nonexistent"}
    proc = run_module("k8s_rollback", args, check=True, verbosity=3, raw=True)
    assert proc.returncode == 0, proc.stdout
    assert "would roll back to revision 1" in proc.stdout
    assert lab["LAB_K8S_TOKEN"] not in proc.stdout + proc.stderr
    bad = run_module("k8s_rollback", dict(args, api_key="wrong"))
    assert bad["failed"] is True and "Unauthorized" in bad["msg"]


def test_progress_deadline_exceeded_fails_fast(run_module, kube, namespace):
    kube.workload("Deployment", namespace, API, ["pynomaly-api:1.3.0-unready", "pynomaly-api:1.2.0"],
                  progress_deadline=3)
    started = time.monotonic()
    res = run_module("k8s_rollback", {"name": API, "namespace": namespace, "wait_timeout": 120})
    elapsed = time.monotonic() - started
    assert res["failed"] is True
    assert "exceeded its progress deadline" in res["msg"]
    assert res["changed"] is True  # the patch is in: the failure says the rollout cannot finish
    assert elapsed < 30, f"took {elapsed:.1f}s against a 3 s progress deadline and a 120 s wait_timeout"


def test_crash_looping_target_revision_fails_fast_with_pod_reasons(run_module, kube, namespace):
    # minReadySeconds keeps a pod that crashes a second after starting from counting as available.
    kube.workload("Deployment", namespace, API, ["pynomaly-api:1.3.0-crashloop", "pynomaly-api:1.2.0"], wait=False,
                  min_ready=3)
    kube.wait_rollout("Deployment", namespace, API)
    started = time.monotonic()
    res = run_module("k8s_rollback", {"name": API, "namespace": namespace, "wait_timeout": 120})
    assert res["failed"] is True
    assert "the target revision does not start" in res["msg"]
    assert "exited with Error (code 1" in res["msg"] or "CrashLoopBackOff" in res["msg"]
    assert res["failing_pods"]
    assert time.monotonic() - started < 30


def test_stale_resource_version_is_refused_by_the_guard(kube, namespace):
    """The patch we send carries a resourceVersion test: a write in between makes the API refuse it."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / ".collections"))
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import K8sClient
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import ResourceConflict
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.history import restore_patch
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.workloads import Workloads

    kube.workload("Deployment", namespace, "web", GOOD[:2], wait=False)
    workloads = Workloads(K8sClient.from_params({"kubeconfig": kube.kubeconfig}), "Deployment", namespace)
    stale = workloads.get("web")
    kube.patch("Deployment", namespace, "web", {"metadata": {"labels": {"touched": "yes"}}})
    with pytest.raises(ResourceConflict):
        workloads.patch("web", restore_patch(stale, stale["spec"]["template"], {}))
    assert image_of(kube, "Deployment", namespace, "web") == "nginx:1.26"


@pytest.mark.kubectl
def test_history_and_replicaset_annotations_match_kubectl_rollout_undo(run_module, kube, lab):
    import secrets

    suffix = secrets.token_hex(2)
    ours, theirs = f"t-ours-{suffix}", f"t-kubectl-{suffix}"
    env = dict(lab_env(lab))
    try:
        for ns in (ours, theirs):
            kube.create_namespace(ns)
            kube.workload("Deployment", ns, "web", GOOD, CAUSES, labels={"team": "api"})
        subprocess.run(["kubectl", "rollout", "undo", "deployment/web", "-n", theirs, "--to-revision=1"],
                       check=True, env=env, capture_output=True)
        res = run_module("k8s_rollback", {"name": "web", "namespace": ours, "revision": 1, "wait": False})
        assert res["changed"] is True
        for ns in (ours, theirs):
            kube.wait_rollout("Deployment", ns, "web")

        def history_text(ns):
            out = subprocess.run(["kubectl", "rollout", "history", "deployment/web", "-n", ns], check=True,
                                 env=env, capture_output=True, text=True).stdout
            return out

        def rs_annotations(ns):
            return {rs["metadata"]["name"]: rs["metadata"].get("annotations")
                    for rs in kube.replicasets(ns)}

        assert history_text(ours) == history_text(theirs)
        assert "4         deploy 1.25" in history_text(ours)
        assert rs_annotations(ours) == rs_annotations(theirs)
        dep = {ns: kube.get("Deployment", ns, "web")["metadata"]["annotations"] for ns in (ours, theirs)}
        assert dep[ours] == dep[theirs]
    finally:
        kube.delete_namespace(ours)
        kube.delete_namespace(theirs)


def lab_env(lab):
    import os

    return dict(os.environ, **{k: str(v) for k, v in lab.items()})
