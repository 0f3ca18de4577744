"""DaemonSet controller: one pod per schedulable node, ControllerRevisions, rolling update one
node at a time (maxUnavailable)."""
from k8s_sim import resources as R
from k8s_sim.controllers.common import new_pod, pod_is_available, pod_is_ready
from k8s_sim.controllers.statefulset import REVISION_LABEL, prune_revisions, sync_revisions
from k8s_sim.selectors import labels_match
from k8s_sim.util import int_or_percent


class DaemonSetController:
    def __init__(self, cluster):
        self.cluster = cluster

    def sync(self, t):
        for ds in list(self.cluster.store.list(R.DAEMONSETS)):
            self.sync_one(ds, t)

    def sync_one(self, ds, t):
        store = self.cluster.store
        ns = ds["metadata"]["namespace"]
        update_cr, revisions = sync_revisions(self.cluster, ds, (REVISION_LABEL, lambda h: h))
        update_hash = update_cr["metadata"]["labels"][REVISION_LABEL]
        selector = (ds["spec"]["template"].get("spec") or {}).get("nodeSelector") or {}
        reqs = [(k, "=", [v]) for k, v in selector.items()]
        nodes = [n["metadata"]["name"] for n in store.list(R.NODES)
                 if labels_match(reqs, n["metadata"].get("labels")) and not (n.get("spec") or {}).get("unschedulable")]
        pods = self.cluster.owned(R.PODS, ds)
        by_node = {}
        for p in pods:
            by_node.setdefault(p["spec"].get("nodeName"), []).append(p)
        generation = str(ds["metadata"].get("generation", 1))
        for node in nodes:
            if node not in by_node:
                pod = new_pod(ds, ds["spec"]["template"], extra_labels={
                    REVISION_LABEL: update_hash, "pod-template-generation": generation}, node_name=node)
                by_node[node] = [store.create(R.PODS, pod)]
                self.cluster.event(ds, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}",
                                   "daemonset-controller")
        for node, node_pods in list(by_node.items()):
            if node not in nodes:
                for p in node_pods:
                    self.cluster.delete_cascade(R.PODS, ns, p["metadata"]["name"])
                del by_node[node]
        live = [p for ps in by_node.values() for p in ps]
        max_unavailable = int_or_percent(
            ((ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", 1),
            len(nodes), True) or 1
        if (ds["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            unavailable = sum(1 for p in live if not pod_is_ready(p))
            stale = [p for p in live if p["metadata"]["labels"].get(REVISION_LABEL) != update_hash]
            for p in stale[: max(max_unavailable - unavailable, 0)]:
                self.cluster.delete_cascade(R.PODS, ns, p["metadata"]["name"])
                live.remove(p)
        min_ready = ds["spec"].get("minReadySeconds") or 0
        scheduled = {p["spec"].get("nodeName") for p in live}
        status = {
            "currentNumberScheduled": len(scheduled),
            "numberMisscheduled": 0,
            "desiredNumberScheduled": len(nodes),
            "numberReady": sum(1 for p in live if pod_is_ready(p)),
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        updated = sum(1 for p in live if p["metadata"]["labels"].get(REVISION_LABEL) == update_hash)
        available = sum(1 for p in live if pod_is_available(p, min_ready, t))
        if updated:
            status["updatedNumberScheduled"] = updated
        if available:
            status["numberAvailable"] = available
        if len(nodes) - available > 0:
            status["numberUnavailable"] = len(nodes) - available
        if status != ds.get("status"):
            store.update(R.DAEMONSETS, dict(ds, status=status))
        used = {update_cr["metadata"]["name"]} | {
            f"{ds['metadata']['name']}-{p['metadata']['labels'].get(REVISION_LABEL)}" for p in live}
        prune_revisions(self.cluster, ds, revisions, used)
