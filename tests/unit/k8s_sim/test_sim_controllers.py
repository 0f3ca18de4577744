"""The deployment controller's bookkeeping, driven in-process with instant pod start-up."""
import copy

from k8s_sim import defaults
from k8s_sim import resources as R

REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"


def deployment(image, replicas=3, **spec):
    d = {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "web", "namespace": "demo"},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "app", "image": image}]}}}}
    d["spec"].update(spec)
    return defaults.apply_defaults(R.DEPLOYMENTS, d)


def settle(cluster, rounds=30):
    for _ in range(rounds):
        before = cluster.store.rv
        cluster.sync()
        if cluster.store.rv == before:
            return


def set_image(cluster, image):
    d = copy.deepcopy(cluster.store.get(R.DEPLOYMENTS, "demo", "web"))
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    cluster.store.update(R.DEPLOYMENTS, defaults.apply_defaults(R.DEPLOYMENTS, d))


def replicasets(cluster):
    return {int(rs["metadata"]["annotations"][REVISION]): rs for rs in cluster.store.list(R.REPLICASETS, "demo")}


def test_rollout_creates_hashed_replicaset_and_owned_pods(cluster):
    cluster.store.create(R.DEPLOYMENTS, deployment("nginx:1.25"))
    settle(cluster)
    rs = replicasets(cluster)[1]
    h = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{h}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": h}
    pods = cluster.store.list(R.PODS, "demo")
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["name"].startswith(f"web-{h}-") and len(pod["metadata"]["name"]) == len(h) + 10
        assert pod["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    d = cluster.store.get(R.DEPLOYMENTS, "demo", "web")
    assert d["status"]["availableReplicas"] == 3 and d["metadata"]["annotations"][REVISION] == "1"
    assert [c["type"] for c in d["status"]["conditions"]] == ["Available", "Progressing"]


def test_rollback_reuses_replicaset_and_renumbers(cluster):
    cluster.store.create(R.DEPLOYMENTS, deployment("nginx:1.25"))
    settle(cluster)
    for tag in ("1.26", "1.27"):
        set_image(cluster, f"nginx:{tag}")
        settle(cluster)
    first = replicasets(cluster)[1]["metadata"]["name"]
    set_image(cluster, "nginx:1.25")
    settle(cluster)
    rss = replicasets(cluster)
    assert sorted(rss) == [2, 3, 4]
    assert rss[4]["metadata"]["name"] == first and rss[4]["metadata"]["annotations"][HISTORY] == "1"
    set_image(cluster, "nginx:1.26")
    settle(cluster)
    rss = replicasets(cluster)
    assert sorted(rss) == [3, 4, 5] and rss[5]["metadata"]["annotations"][HISTORY] == "2"
    assert cluster.store.get(R.DEPLOYMENTS, "demo", "web")["metadata"]["annotations"][REVISION] == "5"


def test_rolling_update_respects_max_surge_and_unavailable(cluster):
    cluster.store.create(R.DEPLOYMENTS, deployment("nginx:1.25", replicas=4))
    settle(cluster)
    set_image(cluster, "nginx:1.26")
    cluster.sync(passes=1)
    pods = [p for p in cluster.store.list(R.PODS, "demo")]
    # 4 replicas: maxSurge 25% -> 1 extra pod, maxUnavailable 25% -> 1 old pod may go.
    assert len(pods) <= 5
    settle(cluster)
    rss = replicasets(cluster)
    assert rss[2]["spec"]["replicas"] == 4 and rss[1]["spec"]["replicas"] == 0


def test_recreate_strategy_and_history_limit(cluster):
    cluster.store.create(R.DEPLOYMENTS, deployment("nginx:1.25", replicas=2, strategy={"type": "Recreate"},
                                                   revisionHistoryLimit=1))
    settle(cluster)
    for tag in ("1.26", "1.27"):
        set_image(cluster, f"nginx:{tag}")
        settle(cluster)
    assert sorted(replicasets(cluster)) == [2, 3]


def test_paused_deployment_does_not_roll(cluster):
    cluster.store.create(R.DEPLOYMENTS, deployment("nginx:1.25", replicas=1, paused=True))
    settle(cluster)
    assert replicasets(cluster) == {}
    d = cluster.store.get(R.DEPLOYMENTS, "demo", "web")
    cond = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (cond["status"], cond["reason"]) == ("Unknown", "DeploymentPaused")


def test_cascading_delete_removes_replicasets_and_pods(cluster):
    cluster.store.create(R.DEPLOYMENTS, deployment("nginx:1.25", replicas=2))
    settle(cluster)
    cluster.delete_cascade(R.DEPLOYMENTS, "demo", "web")
    assert cluster.store.list(R.REPLICASETS, "demo") == [] and cluster.store.list(R.PODS, "demo") == []


def test_generation_bumps_only_on_spec_change(cluster):
    created = cluster.store.create(R.DEPLOYMENTS, deployment("nginx:1.25", replicas=1))
    assert created["metadata"]["generation"] == 1
    labelled = copy.deepcopy(created)
    labelled["metadata"]["labels"] = {"x": "y"}
    assert cluster.store.update(R.DEPLOYMENTS, labelled)["metadata"]["generation"] == 1
    set_image(cluster, "nginx:1.26")
    assert cluster.store.get(R.DEPLOYMENTS, "demo", "web")["metadata"]["generation"] == 2


def test_deleted_pods_terminate_gracefully_and_are_replaced(cluster):
    import time

    cluster.knobs.pod_termination_seconds = 0.2
    cluster.store.create(R.DEPLOYMENTS, deployment("nginx:1.25", replicas=1))
    settle(cluster)
    victim = cluster.store.list(R.PODS, "demo")[0]["metadata"]["name"]
    terminating = cluster.delete_cascade(R.PODS, "demo", victim)
    assert terminating["metadata"]["deletionTimestamp"] and terminating["metadata"]["deletionGracePeriodSeconds"] == 30
    cluster.sync()
    names = {p["metadata"]["name"]: p for p in cluster.store.list(R.PODS, "demo")}
    assert victim in names and len(names) == 2  # the replacement starts while the old pod terminates
    ready = next(c for c in names[victim]["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    deadline = time.monotonic() + 5
    while victim in {p["metadata"]["name"] for p in cluster.store.list(R.PODS, "demo")}:
        assert time.monotonic() < deadline, "the terminating pod never went away"
        time.sleep(0.05)
        cluster.sync()
    assert len(cluster.store.list(R.PODS, "demo")) == 1


def test_scaling_during_a_stuck_rollout_is_proportional(cluster):
    cluster.store.create(R.DEPLOYMENTS, deployment("nginx:1.25", replicas=3))
    settle(cluster)
    set_image(cluster, "nginx:9.9.9")  # not in the registry: the new ReplicaSet never becomes available
    settle(cluster)
    rss = replicasets(cluster)
    assert (rss[1]["spec"]["replicas"], rss[2]["spec"]["replicas"]) == (3, 1)
    d = copy.deepcopy(cluster.store.get(R.DEPLOYMENTS, "demo", "web"))
    d["spec"]["replicas"] = 6
    cluster.store.update(R.DEPLOYMENTS, d)
    cluster.sync(passes=1)
    rss = replicasets(cluster)
    # allowed 6 + 2 surge = 8; 4 more spread 3:1 -> the healthy old ReplicaSet carries the new capacity.
    assert (rss[1]["spec"]["replicas"], rss[2]["spec"]["replicas"]) == (6, 2)
    assert rss[1]["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "6"
    settle(cluster)
    # Then the rolling update resumes as kube-controller-manager's would: old pods not yet available count as
    # unhealthy (maxUnavailable 1 of 6), so one is cleaned up and the new ReplicaSet takes the freed surge.
    rss = replicasets(cluster)
    assert (rss[1]["spec"]["replicas"], rss[2]["spec"]["replicas"]) == (5, 3)
    assert cluster.store.get(R.DEPLOYMENTS, "demo", "web")["status"]["availableReplicas"] == 5


def test_changing_a_pod_image_restarts_its_container(cluster):
    cluster.store.create(R.DEPLOYMENTS, deployment("nginx:1.25", replicas=1))
    settle(cluster)
    pod = copy.deepcopy(cluster.store.list(R.PODS, "demo")[0])
    pod["spec"]["containers"][0]["image"] = "nginx:1.26"
    cluster.store.update(R.PODS, pod)
    settle(cluster)
    status = cluster.store.get(R.PODS, "demo", pod["metadata"]["name"])["status"]["containerStatuses"][0]
    assert status["image"] == "nginx:1.26" and status["restartCount"] == 1 and status["ready"] is True


def test_crashloop_restart_count_and_back_off_follow_the_kubelet(cluster):
    import time

    cluster.knobs.crash_after_seconds = 0.0
    cluster.knobs.crash_backoff_seconds = 30.0
    cluster.store.create(R.DEPLOYMENTS, deployment("pynomaly-api:1.3.0-crashloop", replicas=1))
    deadline = time.monotonic() + 5
    while True:
        settle(cluster)
        status = cluster.store.list(R.PODS, "demo")[0]["status"]["containerStatuses"][0]
        if "waiting" in status["state"] and status["state"]["waiting"]["reason"] == "CrashLoopBackOff":
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    # Two containers ran (the first crash restarts at once); the second one waits out the back-off.
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert "back-off 30s restarting failed container=app" in status["state"]["waiting"]["message"]
    assert status["ready"] is False
