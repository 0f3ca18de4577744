"""Rollout status says what `kubectl rollout status` says, and failing pods are named."""
from k8s_factories import deployment, pod

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s import rollout


def test_complete_deployment_is_done():
    st = rollout.deployment_status(deployment("api:1", 2))
    assert st.done and not st.failed
    assert st.message == 'deployment "pynomaly-api" successfully rolled out'


def test_unobserved_generation_waits():
    d = deployment("api:1", 2)
    d["metadata"]["generation"] = 3
    assert rollout.deployment_status(d).message == "Waiting for deployment spec update to be observed..."


def test_progress_deadline_exceeded_fails():
    d = deployment("api:1", 2)
    d["status"]["conditions"][1].update(status="False", reason="ProgressDeadlineExceeded")
    st = rollout.deployment_status(d)
    assert st.failed and not st.done
    assert "exceeded its progress deadline" in st.message


def test_waiting_messages_follow_kubectl_order():
    d = deployment("api:1", 2)
    d["status"].update(updatedReplicas=1)
    assert "1 out of 3 new replicas have been updated" in rollout.deployment_status(d).message
    d["status"].update(updatedReplicas=3, replicas=4)
    assert "1 old replicas are pending termination" in rollout.deployment_status(d).message
    d["status"].update(replicas=3, availableReplicas=2)
    assert "2 of 3 updated replicas are available" in rollout.deployment_status(d).message


def test_statefulset_and_daemonset_status():
    sts = {"metadata": {"generation": 2}, "spec": {"replicas": 2, "updateStrategy": {"type": "RollingUpdate"}},
           "status": {"observedGeneration": 2, "readyReplicas": 2, "currentRevision": "db-a",
                      "updateRevision": "db-b", "updatedReplicas": 1}}
    assert not rollout.statefulset_status(sts).done
    sts["status"].update(currentRevision="db-b", currentReplicas=2)
    assert rollout.statefulset_status(sts).message == "statefulset rolling update complete 2 pods at revision db-b..."
    ds = {"metadata": {"name": "agent", "generation": 1},
          "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3,
                     "numberAvailable": 2}}
    assert "2 of 3 updated pods are available" in rollout.daemonset_status(ds).message
    ds["status"]["numberAvailable"] = 3
    assert rollout.daemonset_status(ds).done


def test_fatal_pod_reasons_name_crash_loops_with_last_exit():
    pods = [pod("api-1", waiting="CrashLoopBackOff", restarts=4, last_reason="Error", exit_code=1, ready=False),
            pod("api-2"),
            pod("api-3", waiting="ContainerCreating", ready=False)]
    reasons = rollout.fatal_pod_reasons(pods)
    assert reasons == ["api-1/api: CrashLoopBackOff (last exit: Error, code 1, 4 restarts)"]


def test_healthy_requires_complete_rollout_and_no_failing_pods():
    d = deployment("api:1", 2)
    assert rollout.is_healthy("Deployment", d, [pod("a")])[0]
    assert not rollout.is_healthy("Deployment", d, [pod("a", waiting="ImagePullBackOff", ready=False)])[0]
    d["status"]["availableReplicas"] = 1
    assert not rollout.is_healthy("Deployment", d)[0]
