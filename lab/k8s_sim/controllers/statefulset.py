"""StatefulSet controller: ordinal pods `<sts>-N` created in order, ControllerRevisions named
`<sts>-<hash>` with Kubernetes' revision numbering (an equivalent older revision is renumbered to
max+1 instead of duplicated), rolling update from the highest ordinal down, partition honoured."""
import copy

from k8s_sim import resources as R
from k8s_sim.cluster import owner_ref
from k8s_sim.controllers.common import new_pod, normalized_template, pod_is_available, pod_is_ready
from k8s_sim.util import template_hash

REVISION_LABEL = "controller-revision-hash"


def revision_template(cr):
    tpl = copy.deepcopy(((cr.get("data") or {}).get("spec") or {}).get("template") or {})
    tpl.pop("$patch", None)
    return tpl


def sync_revisions(cluster, owner, hash_label_value):
    """Find or create the ControllerRevision for owner's template; returns (update revision, all revisions)."""
    store = cluster.store
    revisions = sorted(cluster.owned(R.CONTROLLERREVISIONS, owner), key=lambda cr: cr["revision"])
    want = normalized_template(owner["spec"]["template"])
    equal = [cr for cr in revisions if normalized_template(revision_template(cr)) == want]
    next_revision = (revisions[-1]["revision"] + 1) if revisions else 1
    if equal:
        update = equal[-1]
        if update is not revisions[-1]:
            cr = copy.deepcopy(update)
            cr["revision"] = next_revision
            update = store.update(R.CONTROLLERREVISIONS, cr)
        return update, sorted(cluster.owned(R.CONTROLLERREVISIONS, owner), key=lambda cr: cr["revision"])
    template = copy.deepcopy(owner["spec"]["template"])
    template["$patch"] = "replace"
    h = template_hash(want)
    labels = dict((owner["spec"]["template"].get("metadata") or {}).get("labels") or {})
    labels[hash_label_value[0]] = hash_label_value[1](h)
    cr = {
        "kind": "ControllerRevision", "apiVersion": "apps/v1",
        "metadata": {"name": f"{owner['metadata']['name']}-{h}", "namespace": owner["metadata"]["namespace"],
                     "labels": labels, "ownerReferences": [owner_ref(owner)]},
        "data": {"spec": {"template": template}},
        "revision": next_revision,
    }
    if owner["metadata"].get("annotations"):
        cr["metadata"]["annotations"] = dict(owner["metadata"]["annotations"])
    if store.get(R.CONTROLLERREVISIONS, owner["metadata"]["namespace"], cr["metadata"]["name"]) is None:
        store.create(R.CONTROLLERREVISIONS, cr)
    return store.get(R.CONTROLLERREVISIONS, owner["metadata"]["namespace"], cr["metadata"]["name"]), \
        sorted(cluster.owned(R.CONTROLLERREVISIONS, owner), key=lambda c: c["revision"])


def prune_revisions(cluster, owner, revisions, keep_names):
    limit = owner["spec"].get("revisionHistoryLimit", 10)
    removable = [cr for cr in revisions if cr["metadata"]["name"] not in keep_names]
    for cr in removable[: max(len(removable) - limit, 0)]:
        cluster.store.delete(R.CONTROLLERREVISIONS, cr["metadata"]["namespace"], cr["metadata"]["name"])


class StatefulSetController:
    def __init__(self, cluster):
        self.cluster = cluster

    def sync(self, t):
        for sts in list(self.cluster.store.list(R.STATEFULSETS)):
            self.sync_one(sts, t)

    def sync_one(self, sts, t):
        store = self.cluster.store
        name = sts["metadata"]["name"]
        ns = sts["metadata"]["namespace"]
        update_cr, revisions = sync_revisions(self.cluster, sts, (REVISION_LABEL, lambda h: f"{name}-{h}"))
        update_rev = update_cr["metadata"]["name"]
        status = sts.get("status") or {}
        current_rev = status.get("currentRevision") or update_rev
        replicas = sts["spec"].get("replicas", 1)
        pods = {p["metadata"]["name"]: p for p in self.cluster.owned(R.PODS, sts)}
        ordered = sts["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        # Create missing ordinals (in order, each after the previous is Running and Ready).
        for i in range(replicas):
            pod_name = f"{name}-{i}"
            if pod_name in pods:
                if ordered and not pod_is_ready(pods[pod_name]):
                    break
                continue
            rev_name = current_rev if self._at_current(sts, i, current_rev, update_rev, revisions) else update_rev
            cr = next((c for c in revisions if c["metadata"]["name"] == rev_name), update_cr)
            template = revision_template(cr) or sts["spec"]["template"]
            pod = new_pod(sts, template, name=pod_name, extra_labels={
                REVISION_LABEL: rev_name, "statefulset.kubernetes.io/pod-name": pod_name,
                "apps.kubernetes.io/pod-index": str(i)})
            pod["spec"]["hostname"] = pod_name
            if sts["spec"].get("serviceName"):
                pod["spec"]["subdomain"] = sts["spec"]["serviceName"]
            pods[pod_name] = store.create(R.PODS, pod)
            self.cluster.event(sts, "Normal", "SuccessfulCreate",
                               f"create Pod {pod_name} in StatefulSet {name} successful", "statefulset-controller")
            if ordered:
                break
        all_ready = all(pod_is_ready(p) for p in pods.values())
        # Scale down from the highest ordinal, one at a time.
        extra = sorted((p for n, p in pods.items() if self._ordinal(n, name) >= replicas),
                       key=lambda p: -self._ordinal(p["metadata"]["name"], name))
        if extra and (all_ready or not ordered):
            victim = extra[0]
            self.cluster.delete_cascade(R.PODS, ns, victim["metadata"]["name"])
            pods.pop(victim["metadata"]["name"])
            self.cluster.event(sts, "Normal", "SuccessfulDelete",
                               f"delete Pod {victim['metadata']['name']} in StatefulSet {name} successful",
                               "statefulset-controller")
        elif not extra and all_ready and len(pods) == replicas:
            # Rolling update: replace the highest ordinal not yet at the update revision.
            partition = ((sts["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition", 0)
            if (sts["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
                stale = sorted((p for n, p in pods.items() if self._ordinal(n, name) >= partition
                                and p["metadata"]["labels"].get(REVISION_LABEL) != update_rev),
                               key=lambda p: -self._ordinal(p["metadata"]["name"], name))
                if stale:
                    self.cluster.delete_cascade(R.PODS, ns, stale[0]["metadata"]["name"])
                    pods.pop(stale[0]["metadata"]["name"])
        live = list(pods.values())
        updated = sum(1 for p in live if p["metadata"]["labels"].get(REVISION_LABEL) == update_rev)
        if updated == replicas == len(live):
            current_rev = update_rev
        current = sum(1 for p in live if p["metadata"]["labels"].get(REVISION_LABEL) == current_rev)
        min_ready = sts["spec"].get("minReadySeconds") or 0
        new_status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(live)}
        for key, value in (("readyReplicas", sum(1 for p in live if pod_is_ready(p))),
                           ("currentReplicas", current), ("updatedReplicas", updated)):
            if value:
                new_status[key] = value
        new_status.update(currentRevision=current_rev, updateRevision=update_rev, collisionCount=0)
        available = sum(1 for p in live if pod_is_available(p, min_ready, t))
        new_status["availableReplicas"] = available
        if new_status != status:
            store.update(R.STATEFULSETS, dict(sts, status=new_status))
        used = {current_rev, update_rev} | {p["metadata"]["labels"].get(REVISION_LABEL) for p in live}
        prune_revisions(self.cluster, sts, revisions, used)

    @staticmethod
    def _ordinal(pod_name, sts_name):
        try:
            return int(pod_name[len(sts_name) + 1:])
        except ValueError:
            return -1

    @staticmethod
    def _at_current(sts, ordinal, current_rev, update_rev, revisions):
        partition = ((sts["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition", 0)
        return ordinal < partition and any(c["metadata"]["name"] == current_rev for c in revisions)


