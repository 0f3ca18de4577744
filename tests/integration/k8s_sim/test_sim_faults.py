"""Each fault image tag of the lab registry, read back the way an engineer on call would."""
import subprocess

from labkit.config import REPO_ROOT

LABCTL = str(REPO_ROOT / "lab" / "labctl")


def pod_row(kubectl, ns, app):
    lines = kubectl("get", "pods", "-l", f"app={app}", "--no-headers", ns=ns).splitlines()
    return lines[0].split() if len(lines) == 1 else None


def only_pod(kubectl, ns, app):
    return kubectl.json("get", "pods", "-l", f"app={app}", ns=ns)["items"][0]


def rollout_fails(kubectl, ns, name):
    res = kubectl.run("rollout", "status", f"deployment/{name}", "--timeout=60s", ns=ns, check=False)
    assert res.returncode == 1, res.stdout
    assert f'error: deployment "{name}" exceeded its progress deadline' in res.stderr


def test_crashloop_tag(kubectl, namespace, manifest, until):
    kubectl.apply_json(manifest("api", "pynomaly-api:1.3.0-crashloop", replicas=1, progress_deadline=3),
                       ns=namespace, verb="create")
    row = until(lambda: (r := pod_row(kubectl, namespace, "api")) and r[2] == "CrashLoopBackOff"
                and int(r[3]) >= 1 and r, timeout=40, what="CrashLoopBackOff after a restart")
    assert row[1] == "0/1"
    first = only_pod(kubectl, namespace, "api")["status"]["containerStatuses"][0]["restartCount"]
    until(lambda: only_pod(kubectl, namespace, "api")["status"]["containerStatuses"][0]["restartCount"] > first,
          timeout=40, what="restartCount rising")
    status = only_pod(kubectl, namespace, "api")["status"]["containerStatuses"][0]
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Error"
    previous = kubectl("logs", "deployment/api", "--previous", ns=namespace)
    assert "CRITICAL Application startup failed, exiting with status 1" in previous.splitlines()[-1]
    events = kubectl("get", "events", "--field-selector", "reason=BackOff", ns=namespace)
    assert "Back-off restarting failed container app" in events
    rollout_fails(kubectl, namespace, "api")


def test_unknown_tag_fails_to_pull(kubectl, namespace, manifest, until):
    kubectl.apply_json(manifest("api", "pynomaly-api:1.2.1", replicas=1, progress_deadline=3), ns=namespace,
                       verb="create")
    until(lambda: (r := pod_row(kubectl, namespace, "api")) and r[2] in ("ErrImagePull", "ImagePullBackOff"),
          timeout=20, what="ErrImagePull")
    until(lambda: pod_row(kubectl, namespace, "api")[2] == "ImagePullBackOff", timeout=20, what="ImagePullBackOff")
    waiting = only_pod(kubectl, namespace, "api")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert "docker.io/library/pynomaly-api:1.2.1: not found" in waiting["message"]
    res = kubectl.run("logs", "deployment/api", ns=namespace, check=False)
    assert res.returncode == 1 and "is waiting to start: trying and failing to pull image" in res.stderr
    rollout_fails(kubectl, namespace, "api")
    described = kubectl("describe", "pods", "-l", "app=api", ns=namespace)
    assert 'Failed to pull image "pynomaly-api:1.2.1"' in described


def test_unknown_repository_and_pullerror_tag(kubectl, namespace, manifest, until):
    kubectl.apply_json(manifest("typo", "pynomaly-apii:1.2.0", replicas=1), ns=namespace, verb="create")
    kubectl.apply_json(manifest("broken", "pynomaly-api:1.3.0-pullerror", replicas=1), ns=namespace, verb="create")
    for app in ("typo", "broken"):
        until(lambda app=app: (r := pod_row(kubectl, namespace, app)) and r[2] == "ImagePullBackOff",
              timeout=20, what=f"{app} ImagePullBackOff")
    typo = only_pod(kubectl, namespace, "typo")["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    assert "pull access denied, repository does not exist" in typo


def test_oomkilled_tag(kubectl, namespace, manifest, until):
    kubectl.apply_json(manifest("api", "pynomaly-api:1.3.0-oom", replicas=1), ns=namespace, verb="create")

    def oom_killed():
        pod = only_pod(kubectl, namespace, "api")
        term = ((pod["status"].get("containerStatuses") or [{}])[0].get("lastState") or {}).get("terminated")
        return term if term and term["reason"] == "OOMKilled" else None

    term = until(oom_killed, timeout=20, what="lastState OOMKilled")
    assert term["exitCode"] == 137
    until(lambda: pod_row(kubectl, namespace, "api")[2] in ("OOMKilled", "CrashLoopBackOff"), timeout=20,
          what="STATUS OOMKilled/CrashLoopBackOff")
    previous = kubectl("logs", "deployment/api", "--previous", ns=namespace)
    assert "ERROR memory: allocation of" in previous


def test_unready_tag(kubectl, namespace, manifest, until):
    kubectl.apply_json(manifest("api", "pynomaly-api:1.3.0-unready", replicas=1, progress_deadline=3),
                       ns=namespace, verb="create")
    until(lambda: (r := pod_row(kubectl, namespace, "api")) and r[2] == "Running", timeout=20, what="Running")
    rollout_fails(kubectl, namespace, "api")
    row = pod_row(kubectl, namespace, "api")
    assert row[1:4] == ["0/1", "Running", "0"]
    ready = next(c for c in only_pod(kubectl, namespace, "api")["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    assert "Readiness probe failed: HTTP probe failed with statuscode: 503" in kubectl(
        "get", "events", "--field-selector", "reason=Unhealthy", ns=namespace)
    until(lambda: "GET /health HTTP/1.1 503" in kubectl("logs", "deployment/api", "--tail=20", ns=namespace),
          timeout=10, what="failing readiness checks in the log")


def test_registry_add_makes_a_missing_tag_pullable(kubectl, namespace, manifest, until, k8s_service):
    labctl = [LABCTL]
    env = dict(kubectl.env, LAB_STATE_DIR=str(k8s_service.config.state_dir))
    image = "pynomaly-api:9.9.9-test"
    kubectl.apply_json(manifest("api", image, replicas=1), ns=namespace, verb="create")
    until(lambda: (r := pod_row(kubectl, namespace, "api")) and r[2] == "ImagePullBackOff", timeout=20,
          what="ImagePullBackOff before the tag exists")
    out = subprocess.run([*labctl, "registry", "add", image], capture_output=True, text=True, env=env, check=True)
    assert "added pynomaly-api:9.9.9-test" in out.stdout
    try:
        listed = subprocess.run([*labctl, "registry", "list"], capture_output=True, text=True, env=env,
                                check=True).stdout
        assert image in listed
        until(lambda: pod_row(kubectl, namespace, "api")[1:3] == ["1/1", "Running"], timeout=40,
              what="pod running once the tag was pushed")
    finally:
        subprocess.run([*labctl, "registry", "remove", image], capture_output=True, text=True, env=env, check=True)
    assert image not in subprocess.run([*labctl, "registry", "list"], capture_output=True, text=True, env=env,
                                       check=True).stdout
    bad = subprocess.run([*labctl, "registry", "add", "x:1", "--fault", "nope"], capture_output=True, text=True,
                         env=env, check=False)
    assert bad.returncode != 0
