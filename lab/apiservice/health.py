"""Is the service up? Judged from the Deployment and its pods as the cluster reports them.

Healthy means: the Deployment exists, has available replicas, and the image its current template
runs is healthy — no pod on it is crash-looping, failing to pull, killed, or running without ever
becoming ready. A bad release therefore fails /health even while pods of the previous ReplicaSet
are still up (the rollout is stuck on it), and a rollback to a good image restores it at once.
"""
from dataclasses import dataclass, field

BAD_WAITING = {"CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError",
               "CreateContainerError", "InvalidImageName", "RunContainerError"}
BAD_TERMINATED = {"Error", "OOMKilled", "ContainerCannotRun"}
UNREADY_GRACE_SECONDS = 5.0  # running this long without becoming ready counts as a failing readiness probe


@dataclass
class Verdict:
    healthy: bool
    reason: str
    checks: dict = field(default_factory=dict)

    def body(self, service):
        return {"status": "healthy" if self.healthy else "unhealthy", "service": service,
                "reason": self.reason, "checks": self.checks}


def template_images(deployment):
    containers = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return [c.get("image") for c in containers]


def pod_images(pod):
    return [c.get("image") for c in (pod.get("spec") or {}).get("containers") or []]


def pod_ready(pod):
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def container_failure(status, now, started_at):
    """Why a container status shows a broken image, or None."""
    state = status.get("state") or {}
    waiting = state.get("waiting") or {}
    if waiting.get("reason") in BAD_WAITING:
        return waiting["reason"]
    for terminated in (state.get("terminated") or {}, (status.get("lastState") or {}).get("terminated") or {}):
        if terminated.get("reason") in BAD_TERMINATED:
            return f"{terminated['reason']} (exit code {terminated.get('exitCode')})"
    running = state.get("running")
    if running and not status.get("ready"):
        since = started_at(running.get("startedAt"))
        if since is not None and now - since > UNREADY_GRACE_SECONDS:
            return "running but never ready (readiness probe failing)"
    return None


def judge(deployment, pods, now, started_at):
    """Verdict for a Deployment (dict or None) and its pods (the Deployment's selector's pods).

    `started_at` turns a Kubernetes timestamp into epoch seconds (or None); `now` is epoch seconds.
    """
    if deployment is None:
        return Verdict(False, "the Deployment does not exist")
    status = deployment.get("status") or {}
    spec = deployment.get("spec") or {}
    images = template_images(deployment)
    current = [p for p in pods if pod_images(p) == images and not (p.get("metadata") or {}).get("deletionTimestamp")]
    checks = {
        "image": ", ".join(i for i in images if i),
        "replicas": spec.get("replicas", 1),
        "available_replicas": status.get("availableReplicas") or 0,
        "ready_pods": sum(1 for p in pods if pod_ready(p)),
        "pods_on_current_image": len(current),
        "ready_pods_on_current_image": sum(1 for p in current if pod_ready(p)),
    }
    failures = []
    for pod in current:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            why = container_failure(cs, now, started_at)
            if why:
                failures.append(f"{pod['metadata']['name']}: {why}")
    if failures:
        checks["failing_pods"] = failures
        return Verdict(False, f"image {checks['image']} is failing: {failures[0]}", checks)
    if checks["available_replicas"] <= 0:
        return Verdict(False, "the Deployment has no available replicas", checks)
    return Verdict(True, "ok", checks)
