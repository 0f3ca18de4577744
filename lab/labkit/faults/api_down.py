"""api_down: a bad release. pynomaly-api is set to an image that crash-loops, with a change-cause as a
release pipeline would write it (a new revision), so /health fails and the rollout is stuck.

heal rolls back only if the bad release is still the current one, to the template recorded before the
inject; after a playbook rolled it back (or forward to a good image), heal leaves the Deployment alone.
"""
from labkit.faults import cluster

NAME = "api_down"
DESCRIPTION = "bad release: pynomaly-api set to a crash-looping image with a change-cause; /health fails"
BAD_IMAGE = "pynomaly-api:1.3.0-crashloop"
CHANGE_CAUSE_KEY = "kubernetes.io/change-cause"
CHANGE_CAUSE = "Release 1.3.0: streaming detection endpoint"
FAULT_TAG = "crashloop"


def _images(deployment):
    return [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]


def _ensure_registry_tag(config):
    """The crash-looping tag must exist in the lab registry (a pull error would be a different incident)."""
    from k8s_sim import registry

    kube = cluster.Kube(config)
    path = kube.k8s.registry_file
    _, fault, _ = registry.Registry(path).resolve(BAD_IMAGE)
    if fault != FAULT_TAG:
        registry.add(path, BAD_IMAGE, fault=FAULT_TAG)


def _bad_release_current(deployment):
    return deployment is not None and BAD_IMAGE in _images(deployment)


def status(config):
    kube = cluster.Kube(config)
    record = cluster.load_record(config, NAME)
    if not record or not kube.running():
        return False, "not injected"
    deployment = kube.deployment()
    if not _bad_release_current(deployment):
        return False, f"injected, since rolled back (now {', '.join(_images(deployment)) if deployment else 'gone'})"
    health = cluster.api_state(config)
    revision = deployment["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "?")
    return True, f"{BAD_IMAGE} is revision {revision}; /health says {health.get('status', '?')}"


def inject(config):
    kube = cluster.Kube(config)
    cluster.require_deployment(kube)
    _ensure_registry_tag(config)

    def bad_release(deployment):
        if _bad_release_current(deployment):
            return None
        cluster.save_record(config, NAME, {
            "template": deployment["spec"]["template"],
            "change_cause": deployment["metadata"].get("annotations", {}).get(CHANGE_CAUSE_KEY),
            "images": _images(deployment),
        })
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = BAD_IMAGE
        deployment["metadata"].setdefault("annotations", {})[CHANGE_CAUSE_KEY] = CHANGE_CAUSE
        return deployment

    deployment, written = kube.update_deployment(bad_release)
    if not written:
        return "already injected: " + status(config)[1]
    cluster.wait_until(lambda: cluster.api_state(config).get("status") == "unhealthy", 30,
                       f"/health failing after pynomaly-api was set to {BAD_IMAGE}")
    container = deployment["spec"]["template"]["spec"]["containers"][0]["name"]
    return f"pynomaly-api set to {BAD_IMAGE} (container {container}); " + status(config)[1]


def heal(config):
    kube = cluster.Kube(config)
    record = cluster.load_record(config, NAME)
    if not record:
        return "nothing to heal"
    if not kube.running():
        cluster.drop_record(config, NAME)
        return "nothing to heal (the cluster is not running)"

    def roll_back(deployment):
        if not _bad_release_current(deployment):
            return None  # a responder already rolled back (or forward): theirs to keep
        deployment["spec"]["template"] = record["template"]
        annotations = deployment["metadata"].setdefault("annotations", {})
        if record.get("change_cause"):
            annotations[CHANGE_CAUSE_KEY] = record["change_cause"]
        else:
            annotations.pop(CHANGE_CAUSE_KEY, None)
        return deployment

    deployment, written = kube.update_deployment(roll_back)
    cluster.drop_record(config, NAME)
    if not written:
        now = ", ".join(_images(deployment)) if deployment else "gone"
        return f"the bad release is no longer current ({now}); left as it is"
    cluster.wait_until(lambda: cluster.api_state(config).get("status") == "healthy", 30,
                       "/health passing after the rollback")
    return f"rolled pynomaly-api back to {', '.join(record['images'])}"
