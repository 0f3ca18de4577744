"""Helpers shared by the workload controllers."""
import copy

from k8s_sim import defaults
from k8s_sim import resources as R
from k8s_sim.cluster import owner_ref
from k8s_sim.util import parse_time, random_suffix, strip_none

_NORMALIZED = {}


def normalized_template(template, drop_labels=()):
    """The template with defaults applied and noise removed, for equality checks. Stored objects
    are never mutated, so results are cached by the template object's identity."""
    key = (id(template), tuple(drop_labels))
    hit = _NORMALIZED.get(key)
    if hit is not None and hit[0] is template:
        return hit[1]
    result = _normalize(template, drop_labels)
    if len(_NORMALIZED) > 5000:
        _NORMALIZED.clear()
    _NORMALIZED[key] = (template, result)
    return result


def _normalize(template, drop_labels):
    tpl = copy.deepcopy(template or {})
    meta = tpl.setdefault("metadata", {})
    meta.pop("creationTimestamp", None)
    labels = dict(meta.get("labels") or {})
    for key in drop_labels:
        labels.pop(key, None)
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    defaults.default_template(tpl)
    return strip_none(tpl)


def pod_is_ready(pod):
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond["type"] == "Ready":
            return cond["status"] == "True"
    return False


def pod_is_available(pod, min_ready_seconds, t):
    if not pod_is_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    for cond in pod["status"]["conditions"]:
        if cond["type"] == "Ready":
            return parse_time(cond["lastTransitionTime"]) + min_ready_seconds <= t
    return False


def new_pod(owner, template, name=None, extra_labels=None, node_name=None):
    tpl = copy.deepcopy(template)
    meta = tpl.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    labels.update(extra_labels or {})
    owner_name = owner["metadata"]["name"]
    pod = {
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name or f"{owner_name}-{random_suffix()}",
                     "namespace": owner["metadata"]["namespace"], "labels": labels,
                     "ownerReferences": [owner_ref(owner)]},
        "spec": tpl.get("spec") or {},
    }
    if not name:
        pod["metadata"]["generateName"] = f"{owner_name}-"
        pod["metadata"] = {k: pod["metadata"][k] for k in ("name", "generateName", "namespace", "labels",
                                                            "ownerReferences")}
    if meta.get("annotations"):
        pod["metadata"]["annotations"] = dict(meta["annotations"])
    if node_name:
        pod["spec"]["nodeName"] = node_name
    defaults.apply_defaults(R.PODS, pod)
    pod["status"] = {"phase": "Pending", "qosClass": defaults.qos_class(pod["spec"])}
    return pod


def delete_rank(pod):
    """Pods a controller removes first: unscheduled, pending, not ready, most restarts, newest."""
    status = pod.get("status") or {}
    restarts = sum(c.get("restartCount", 0) for c in status.get("containerStatuses") or [])
    return (
        1 if pod["spec"].get("nodeName") else 0,
        {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase"), 0),
        1 if pod_is_ready(pod) else 0,
        -restarts,
        tuple(-ord(ch) for ch in pod["metadata"]["creationTimestamp"]),
    )


def set_condition(conditions, new, keep_same_reason=True):
    """SetDeploymentCondition: no-op for the same status+reason; keep lastTransitionTime for the same status."""
    for cond in conditions:
        if cond["type"] != new["type"]:
            continue
        if keep_same_reason and cond["status"] == new["status"] and cond.get("reason") == new.get("reason"):
            return conditions
        if cond["status"] == new["status"] and "lastTransitionTime" in cond:
            new = dict(new, lastTransitionTime=cond["lastTransitionTime"])
    # Kubernetes filters the old condition out and appends the new one at the end.
    return [c for c in conditions if c["type"] != new["type"]] + [new]
