"""ReplicaSet controller: keeps `spec.replicas` pods named `<rs>-<5 chars>` owned by the ReplicaSet."""
import copy

from k8s_sim import resources as R
from k8s_sim.controllers.common import delete_rank, new_pod, pod_is_available, pod_is_ready
from k8s_sim.selectors import selector_matches


class ReplicaSetController:
    def __init__(self, cluster):
        self.cluster = cluster

    def sync(self, t):
        for rs in list(self.cluster.store.list(R.REPLICASETS)):
            self.sync_one(rs, t)

    def sync_one(self, rs, t):
        store = self.cluster.store
        pods = [p for p in self.cluster.owned(R.PODS, rs) if not p["metadata"].get("deletionTimestamp")]
        want = rs["spec"].get("replicas", 1)
        if len(pods) < want:
            for _ in range(want - len(pods)):
                pod = store.create(R.PODS, new_pod(rs, rs["spec"]["template"]))
                pods.append(pod)
                self.cluster.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}",
                                   "replicaset-controller")
        elif len(pods) > want:
            pods.sort(key=delete_rank)
            for pod in pods[: len(pods) - want]:
                self.cluster.delete_cascade(R.PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
                self.cluster.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}",
                                   "replicaset-controller")
            pods = pods[len(pods) - want:]
        min_ready = rs["spec"].get("minReadySeconds") or 0
        labeled = sum(1 for p in pods if selector_matches({"matchLabels": rs["metadata"].get("labels") or {}},
                                                          p["metadata"].get("labels")))
        status = {"replicas": len(pods)}
        for key, value in (("fullyLabeledReplicas", labeled),
                           ("readyReplicas", sum(1 for p in pods if pod_is_ready(p))),
                           ("availableReplicas", sum(1 for p in pods if pod_is_available(p, min_ready, t)))):
            if value:
                status[key] = value
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        if status != rs.get("status"):
            rs = copy.copy(rs)
            rs["status"] = status
            store.update(R.REPLICASETS, rs)
