"""HorizontalPodAutoscaler controller (autoscaling/v2, Resource metrics cpu/memory): the
Kubernetes formula desired = ceil(current * usage / target) with a 10 % tolerance, within
minReplicas..maxReplicas, applied to the target's spec.replicas."""
import copy
import math

from k8s_sim import resources as R
from k8s_sim.controllers.common import pod_is_ready
from k8s_sim.metrics import pod_usage
from k8s_sim.selectors import selector_matches
from k8s_sim.util import parse_quantity, rfc3339

TOLERANCE = 0.1
TARGET_TYPES = {("apps/v1", "Deployment"): R.DEPLOYMENTS, ("apps/v1", "StatefulSet"): R.STATEFULSETS,
                ("apps/v1", "ReplicaSet"): R.REPLICASETS}


def _cond(ctype, status, reason, message, t, old):
    prev = next((c for c in old if c["type"] == ctype), None)
    since = prev["lastTransitionTime"] if prev and prev["status"] == status else rfc3339(t)
    return {"type": ctype, "status": status, "lastTransitionTime": since, "reason": reason, "message": message}


class HPAController:
    def __init__(self, cluster):
        self.cluster = cluster
        self._last = {}

    def sync(self, t):
        for hpa in list(self.cluster.store.list(R.HPAS)):
            uid = hpa["metadata"]["uid"]
            observed = (hpa.get("status") or {}).get("observedGeneration")
            if observed == hpa["metadata"].get("generation") and \
                    t - self._last.get(uid, 0) < self.cluster.knobs.hpa_sync_seconds:
                continue
            self._last[uid] = t
            self.sync_one(hpa, t)

    def sync_one(self, hpa, t):
        store = self.cluster.store
        ns = hpa["metadata"]["namespace"]
        spec = hpa["spec"]
        ref = spec.get("scaleTargetRef") or {}
        old = (hpa.get("status") or {}).get("conditions") or []
        rtype = TARGET_TYPES.get((ref.get("apiVersion", "apps/v1"), ref.get("kind")))
        target = store.get(rtype, ns, ref.get("name")) if rtype else None
        status = {"observedGeneration": hpa["metadata"].get("generation", 1)}
        if target is None:
            status.update(currentReplicas=0, desiredReplicas=0, conditions=[_cond(
                "AbleToScale", "False", "FailedGetScale",
                f'the HPA controller was unable to get the target\'s current scale: '
                f'{(rtype.plural + "." + rtype.group) if rtype else ref.get("kind", "").lower()} '
                f'"{ref.get("name")}" not found', t, old)])
            self._write(hpa, status)
            return
        current = target["spec"].get("replicas", 1)
        pods = [p for p in store.list(R.PODS, ns) if selector_matches(target["spec"].get("selector"),
                                                                      p["metadata"].get("labels"))]
        ratios, current_metrics = [], []
        for metric in spec.get("metrics") or []:
            if metric.get("type") != "Resource":
                continue
            res = metric["resource"]
            index = 0 if res["name"] == "cpu" else 1
            used, requested, counted = 0.0, 0.0, 0
            for pod in pods:
                usage = pod_usage(self.cluster, pod, t)
                if usage is None or not pod_is_ready(pod):
                    continue
                counted += 1
                used += sum(u[index] for u in usage.values())
                requested += sum(parse_quantity(((c.get("resources") or {}).get("requests") or {}).get(res["name"]))
                                 for c in pod["spec"]["containers"])
            if not counted:
                continue
            tgt = res.get("target") or {}
            avg = used / counted
            shown = f"{int(avg * 1000)}m" if index == 0 else f"{int(avg)}"
            if tgt.get("type", "Utilization") == "Utilization" and requested:
                util = round(100 * used / requested)
                ratios.append(util / tgt.get("averageUtilization", 80))
                current_metrics.append({"type": "Resource", "resource": {"name": res["name"], "current": {
                    "averageValue": shown, "averageUtilization": util}}})
            elif tgt.get("averageValue"):
                ratios.append(avg / parse_quantity(tgt["averageValue"]))
                current_metrics.append({"type": "Resource", "resource": {"name": res["name"], "current": {
                    "averageValue": shown}}})
        lo, hi = spec.get("minReplicas", 1), spec["maxReplicas"]
        desired = current
        conditions = [_cond("AbleToScale", "True", "ReadyForNewScale",
                            "recommended size matches current size", t, old)]
        if ratios:
            ratio = max(ratios)
            if abs(ratio - 1.0) > TOLERANCE:
                desired = math.ceil(current * ratio)
            conditions.append(_cond("ScalingActive", "True", "ValidMetricFound",
                                    "the HPA was able to successfully calculate a replica count from cpu resource "
                                    "utilization (percentage of request)", t, old))
        else:
            conditions.append(_cond("ScalingActive", "False", "FailedGetResourceMetric",
                                    "the HPA was unable to compute the replica count: failed to get cpu utilization: "
                                    "unable to get metrics for resource cpu: no metrics returned from resource "
                                    "metrics API", t, old))
        if desired > hi:
            desired = hi
            conditions.append(_cond("ScalingLimited", "True", "TooManyReplicas",
                                    "the desired replica count is more than the maximum replica count", t, old))
        elif desired < lo:
            desired = lo
            conditions.append(_cond("ScalingLimited", "True", "TooFewReplicas",
                                    "the desired replica count is less than the minimum replica count", t, old))
        else:
            conditions.append(_cond("ScalingLimited", "False", "DesiredWithinRange",
                                    "the desired count is within the acceptable range", t, old))
        last_scale = (hpa.get("status") or {}).get("lastScaleTime")
        if desired != current:
            scaled = copy.deepcopy(target)
            scaled["spec"]["replicas"] = desired
            store.update(rtype, scaled)
            last_scale = rfc3339(t)
            conditions[0] = _cond("AbleToScale", "True", "SucceededRescale",
                                  f"the HPA controller was able to update the target scale to {desired}", t, old)
            why = "above" if desired > current else "All metrics below"
            reason = (f"cpu resource utilization (percentage of request) {why} target" if desired > current
                      else "All metrics below target")
            self.cluster.event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}",
                               "horizontal-pod-autoscaler")
        if last_scale:
            status["lastScaleTime"] = last_scale
        status["currentReplicas"] = current
        status["desiredReplicas"] = desired
        if current_metrics:
            status["currentMetrics"] = current_metrics
        status["conditions"] = conditions
        self._write(hpa, status)

    def _write(self, hpa, status):
        if status != hpa.get("status"):
            self.cluster.store.update(R.HPAS, dict(hpa, status=status))
