"""/health's verdict from the Deployment and its pods as the cluster reports them."""
from datetime import UTC, datetime

from apiservice.cluster import parse_timestamp
from apiservice.health import judge

NOW = 1_800_000_000.0
GOOD, BAD = "pynomaly-api:1.2.0", "pynomaly-api:1.3.0-crashloop"


def ts(seconds_ago):
    return datetime.fromtimestamp(NOW - seconds_ago, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(image=GOOD, available=3, replicas=3):
    return {"spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "api", "image": image}]}}},
            "status": {"availableReplicas": available}}


def pod(name, image=GOOD, ready=True, state=None, last=None, restarts=0):
    status = {"name": "api", "ready": ready, "restartCount": restarts,
              "state": state or {"running": {"startedAt": ts(120)}}, "lastState": last or {}}
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "api", "image": image}]},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [status]}}


def verdict(dep, pods):
    return judge(dep, pods, NOW, parse_timestamp)


def test_all_pods_ready_on_a_good_image_is_healthy():
    v = verdict(deployment(), [pod("a"), pod("b"), pod("c")])
    assert v.healthy, v.reason
    assert v.checks["ready_pods_on_current_image"] == 3


def test_missing_deployment_is_unhealthy():
    v = verdict(None, [])
    assert not v.healthy and "does not exist" in v.reason


def test_no_available_replicas_is_unhealthy():
    v = verdict(deployment(available=0), [])
    assert not v.healthy and "no available replicas" in v.reason


def test_bad_release_fails_even_while_old_pods_still_serve():
    crashing = pod("new", image=BAD, ready=False, restarts=3,
                   state={"waiting": {"reason": "CrashLoopBackOff"}},
                   last={"terminated": {"reason": "Error", "exitCode": 1}})
    v = verdict(deployment(image=BAD, available=3), [pod("a"), pod("b"), pod("c"), crashing])
    assert not v.healthy
    assert "CrashLoopBackOff" in v.reason and BAD in v.reason


def test_crashlooping_pod_in_its_brief_ready_moment_still_fails():
    flapping = pod("new", image=BAD, ready=True, restarts=2, last={"terminated": {"reason": "Error", "exitCode": 1}})
    v = verdict(deployment(image=BAD, available=3), [pod("a"), flapping])
    assert not v.healthy


def test_image_pull_failure_fails():
    pulling = pod("new", image="pynomaly-api:9.9.9", ready=False,
                  state={"waiting": {"reason": "ImagePullBackOff"}})
    assert not verdict(deployment(image="pynomaly-api:9.9.9"), [pod("a"), pulling]).healthy


def test_oomkilled_fails():
    oom = pod("new", image=BAD, ready=False, state={"terminated": {"reason": "OOMKilled", "exitCode": 137}})
    v = verdict(deployment(image=BAD), [pod("a"), oom])
    assert not v.healthy and "OOMKilled" in v.reason


def test_never_ready_after_the_grace_period_fails():
    unready = pod("new", image=BAD, ready=False, state={"running": {"startedAt": ts(30)}})
    assert not verdict(deployment(image=BAD), [pod("a"), unready]).healthy


def test_a_rollout_in_progress_to_a_good_image_stays_healthy():
    starting = pod("new", image="pynomaly-api:1.3.0", ready=False, state={"waiting": {"reason": "ContainerCreating"}})
    just_started = pod("new2", image="pynomaly-api:1.3.0", ready=False, state={"running": {"startedAt": ts(1)}})
    v = verdict(deployment(image="pynomaly-api:1.3.0"), [pod("a"), pod("b"), starting, just_started])
    assert v.healthy, v.reason


def test_crashes_of_the_previous_image_do_not_count_after_a_rollback():
    old_crashing = pod("old", image=BAD, ready=False, state={"waiting": {"reason": "CrashLoopBackOff"}})
    v = verdict(deployment(image=GOOD), [pod("a"), pod("b"), old_crashing])
    assert v.healthy, v.reason
