"""Deployment controller, following kube-controller-manager's deployment controller:
pod-template-hash, ReplicaSet reuse with revision / revision-history bookkeeping, rolling update
(maxSurge / maxUnavailable), Recreate, paused, revisionHistoryLimit, status and conditions."""
import copy

from k8s_sim import resources as R
from k8s_sim.cluster import owner_ref
from k8s_sim.controllers.common import normalized_template, set_condition
from k8s_sim.util import int_or_percent, parse_time, rfc3339, template_hash

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SKIP_COPY = {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS}
HASH_LABEL = "pod-template-hash"
MAX_REV_HISTORY_CHARS = 2000


def revision_of(rs):
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def fenceposts(d):
    replicas = d["spec"].get("replicas", 1)
    ru = (d["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    surge = int_or_percent(ru.get("maxSurge", "25%"), replicas, True)
    unavailable = int_or_percent(ru.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_unavailable(d):
    replicas = d["spec"].get("replicas", 1)
    if (d["spec"].get("strategy") or {}).get("type") != "RollingUpdate" or replicas == 0:
        return 0
    _, unavailable = fenceposts(d)
    return min(unavailable, replicas)


def max_surge(d):
    if (d["spec"].get("strategy") or {}).get("type") != "RollingUpdate":
        return 0
    return fenceposts(d)[0]


def _spec_replicas(rs):
    return rs["spec"].get("replicas", 1)


def _status(rs, key):
    return (rs.get("status") or {}).get(key, 0)


def condition(ctype, status, reason, message, t):
    ts = rfc3339(t)
    return {"type": ctype, "status": status, "lastUpdateTime": ts, "lastTransitionTime": ts, "reason": reason,
            "message": message}


class DeploymentController:
    def __init__(self, cluster):
        self.cluster = cluster

    @property
    def store(self):
        return self.cluster.store

    def sync(self, t):
        for d in list(self.store.list(R.DEPLOYMENTS)):
            if not d["metadata"].get("deletionTimestamp"):
                self.sync_one(d, t)

    # -- ReplicaSets -------------------------------------------------------------------
    def _scale(self, d, rs, replicas, t):
        old = _spec_replicas(rs)
        rs = copy.deepcopy(rs)
        rs["spec"]["replicas"] = replicas
        ann = rs["metadata"].setdefault("annotations", {})
        ann[DESIRED] = str(d["spec"].get("replicas", 1))
        ann[MAX_REPLICAS] = str(d["spec"].get("replicas", 1) + max_surge(d))
        rs = self.store.update(R.REPLICASETS, rs)
        if old != replicas:
            direction = "up" if replicas > old else "down"
            self.cluster.event(d, "Normal", "ScalingReplicaSet",
                               f"Scaled {direction} replica set {rs['metadata']['name']} from {old} to {replicas}",
                               "deployment-controller")
        return rs

    def _copy_annotations(self, d, rs):
        changed = False
        ann = rs["metadata"].setdefault("annotations", {})
        for k, v in (d["metadata"].get("annotations") or {}).items():
            if k in SKIP_COPY:
                continue
            if ann.get(k) != v:
                ann[k] = v
                changed = True
        return changed

    def _new_rs_annotations(self, d, rs, new_revision, exists):
        changed = self._copy_annotations(d, rs)
        ann = rs["metadata"]["annotations"]
        old_revision = ann.get(REVISION)
        old_int = int(old_revision) if old_revision and old_revision.isdigit() else 0
        if old_int < new_revision:
            ann[REVISION] = str(new_revision)
            changed = True
        if old_revision is not None and old_int < new_revision:
            history = ann.get(REVISION_HISTORY, "")
            olds = history.split(",") if history else []
            total = len(history) + len(old_revision) + 1
            start = 0
            while total > MAX_REV_HISTORY_CHARS and start < len(olds):
                total -= len(olds[start]) + 1
                start += 1
            if total <= MAX_REV_HISTORY_CHARS:
                ann[REVISION_HISTORY] = ",".join(olds[start:] + [old_revision])
        if not exists:
            replicas = d["spec"].get("replicas", 1)
            ann[DESIRED] = str(replicas)
            ann[MAX_REPLICAS] = str(replicas + max_surge(d))
        return changed

    def _find_new_rs(self, d, rss):
        want = normalized_template(d["spec"]["template"])
        matches = [rs for rs in rss if normalized_template(rs["spec"]["template"], (HASH_LABEL,)) == want]
        if not matches:
            return None
        # Several can match after a hash collision; Kubernetes picks the oldest.
        return sorted(matches, key=lambda rs: rs["metadata"]["creationTimestamp"])[0]

    def _get_new_rs(self, d, rss, old_rss, create, t):
        """getAllReplicaSetsAndSyncRevision: returns (new rs or None, deployment status conditions changed)."""
        new_rs = self._find_new_rs(d, rss)
        new_revision = max([revision_of(rs) for rs in old_rss] or [0]) + 1
        conditions = list((d.get("status") or {}).get("conditions") or [])
        has_deadline = d["spec"].get("progressDeadlineSeconds") is not None
        if new_rs is not None:
            rs = copy.deepcopy(new_rs)
            if self._new_rs_annotations(d, rs, new_revision, True) or \
                    (rs["spec"].get("minReadySeconds") or 0) != (d["spec"].get("minReadySeconds") or 0):
                if d["spec"].get("minReadySeconds"):
                    rs["spec"]["minReadySeconds"] = d["spec"]["minReadySeconds"]
                else:
                    rs["spec"].pop("minReadySeconds", None)
                new_rs = self.store.update(R.REPLICASETS, rs)
            if has_deadline and not any(c["type"] == "Progressing" for c in conditions):
                conditions = set_condition(conditions, condition(
                    "Progressing", "True", "FoundNewReplicaSet",
                    f'Found new replica set "{new_rs["metadata"]["name"]}"', t))
            return new_rs, conditions
        if not create:
            return None, conditions
        template = copy.deepcopy(d["spec"]["template"])
        template.setdefault("metadata", {}).pop("creationTimestamp", None)
        pth = template_hash(normalized_template(template), (d.get("status") or {}).get("collisionCount", 0))
        template["metadata"]["labels"] = dict(template["metadata"].get("labels") or {}, **{HASH_LABEL: pth})
        selector = copy.deepcopy(d["spec"]["selector"])
        selector["matchLabels"] = dict(selector.get("matchLabels") or {}, **{HASH_LABEL: pth})
        name = f"{d['metadata']['name']}-{pth}"
        rs = {
            "kind": "ReplicaSet", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": d["metadata"]["namespace"],
                         "labels": dict(template["metadata"]["labels"]), "annotations": {},
                         "ownerReferences": [owner_ref(d)]},
            "spec": {"replicas": 0, "selector": selector, "template": template},
            "status": {"replicas": 0},
        }
        if d["spec"].get("minReadySeconds"):
            rs["spec"]["minReadySeconds"] = d["spec"]["minReadySeconds"]
        self._new_rs_annotations(d, rs, new_revision, False)
        rs["spec"]["replicas"] = self._new_rs_replicas(d, rss, rs)
        if self.store.get(R.REPLICASETS, d["metadata"]["namespace"], name) is not None:
            # Hash collision with a ReplicaSet of another template: bump collisionCount and retry next tick.
            status = dict(d.get("status") or {})
            status["collisionCount"] = status.get("collisionCount", 0) + 1
            self.store.update(R.DEPLOYMENTS, dict(d, status=status))
            return None, conditions
        created = self.store.create(R.REPLICASETS, rs)
        replicas = created["spec"]["replicas"]
        if replicas > 0:
            self.cluster.event(d, "Normal", "ScalingReplicaSet",
                               f"Scaled up replica set {name} from 0 to {replicas}", "deployment-controller")
        if has_deadline:
            conditions = set_condition(conditions, condition(
                "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{name}"', t))
        return created, conditions

    def _new_rs_replicas(self, d, all_rss, new_rs):
        replicas = d["spec"].get("replicas", 1)
        strategy = (d["spec"].get("strategy") or {}).get("type", "RollingUpdate")
        if strategy == "Recreate":
            return replicas
        current = sum(_spec_replicas(rs) for rs in all_rss if rs["metadata"]["name"] != new_rs["metadata"]["name"])
        current += _spec_replicas(new_rs)
        max_total = replicas + max_surge(d)
        if current >= max_total:
            return _spec_replicas(new_rs)
        up = min(max_total - current, replicas - _spec_replicas(new_rs))
        return _spec_replicas(new_rs) + max(up, 0)

    # -- the sync ------------------------------------------------------------------------
    def sync_one(self, d, t):
        rss = self.cluster.owned(R.REPLICASETS, d)
        paused = bool(d["spec"].get("paused"))
        d = self._paused_condition(d, paused, t)
        existing = self._find_new_rs(d, rss)
        old_rss = [rs for rs in rss if existing is None or rs["metadata"]["uid"] != existing["metadata"]["uid"]]
        # A changed spec.replicas is a scaling event: sizes change (proportionally), no rollout step.
        scaling = not paused and self._is_scaling_event(d, [existing, *old_rss])
        new_rs, conditions = self._get_new_rs(d, rss, old_rss, create=not (paused or scaling), t=t)
        if conditions != ((d.get("status") or {}).get("conditions") or []):
            d = self._write_status(d, dict(d.get("status") or {}, conditions=conditions))
        if new_rs is not None:
            rss = [new_rs, *old_rss]
        if new_rs is not None and (d["metadata"].get("annotations") or {}).get(REVISION) != \
                new_rs["metadata"]["annotations"].get(REVISION):
            d = copy.deepcopy(d)
            d["metadata"].setdefault("annotations", {})[REVISION] = new_rs["metadata"]["annotations"][REVISION]
            d = self.store.update(R.DEPLOYMENTS, d)
        if paused or scaling:
            self._proportional_scale(d, new_rs, old_rss, t)
            if paused:
                self._cleanup(d, old_rss)
            self._sync_status(d, new_rs, self.cluster.owned(R.REPLICASETS, d), t, estimate_progress=False)
            return
        strategy = (d["spec"].get("strategy") or {}).get("type", "RollingUpdate")
        if strategy == "Recreate":
            self._recreate(d, new_rs, old_rss, t)
        else:
            self._rolling(d, new_rs, old_rss, t)
        rss = self.cluster.owned(R.REPLICASETS, d)
        new_rs = next((rs for rs in rss if new_rs and rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), None)
        old_rss = [rs for rs in rss if new_rs is None or rs["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        self._sync_status(d, new_rs, rss, t, estimate_progress=True, old_rss=old_rss)

    def _paused_condition(self, d, paused, t):
        conditions = list((d.get("status") or {}).get("conditions") or [])
        cond = next((c for c in conditions if c["type"] == "Progressing"), None)
        if d["spec"].get("progressDeadlineSeconds") is None:
            return d
        if paused and (cond is None or cond.get("reason") != "DeploymentPaused"):
            new = condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", t)
        elif not paused and cond is not None and cond.get("reason") == "DeploymentPaused":
            new = condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", t)
        else:
            return d
        return self._write_status(d, dict(d.get("status") or {}, conditions=set_condition(conditions, new)))

    def _write_status(self, d, status):
        d = dict(d, status=status)
        return self.store.update(R.DEPLOYMENTS, d)

    @staticmethod
    def _is_scaling_event(d, rss):
        replicas = d["spec"].get("replicas", 1)
        for rs in rss:
            if rs is None or _spec_replicas(rs) == 0:
                continue
            desired = (rs["metadata"].get("annotations") or {}).get(DESIRED)
            if desired is not None and desired.isdigit() and int(desired) != replicas:
                return True
        return False

    def _proportional_scale(self, d, new_rs, old_rss, t):
        """The deployment controller's scale(): one active ReplicaSet takes the whole count; otherwise the
        change is spread over the active ReplicaSets in proportion to their sizes (within maxSurge)."""
        replicas = d["spec"].get("replicas", 1)
        if new_rs is None and not old_rss:
            return
        by_age = sorted(old_rss, key=lambda rs: (rs["metadata"]["creationTimestamp"], rs["metadata"]["name"]),
                        reverse=True)
        active = [rs for rs in ([new_rs] if new_rs else []) + by_age if _spec_replicas(rs) > 0]
        target = None
        if not active:
            target = new_rs or by_age[0]
        elif len(active) == 1:
            target = active[0]
        if target is not None:
            if _spec_replicas(target) != replicas:
                self._scale(d, target, replicas, t)
            return
        if new_rs is not None and _spec_replicas(new_rs) == replicas and _status(new_rs, "availableReplicas") == \
                replicas and (new_rs["metadata"].get("annotations") or {}).get(DESIRED) == str(replicas):
            for rs in active:
                if rs is not new_rs:
                    self._scale(d, rs, 0, t)
            return
        if (d["spec"].get("strategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
            return
        allowed = replicas + max_surge(d) if replicas > 0 else 0
        to_add = allowed - sum(_spec_replicas(rs) for rs in active)

        def age(rs):
            return (rs["metadata"]["creationTimestamp"], rs["metadata"]["name"])

        if to_add > 0:  # larger first; newer first among equals
            active.sort(key=age, reverse=True)
            active.sort(key=_spec_replicas, reverse=True)
        elif to_add < 0:  # larger first; older first among equals
            active.sort(key=age)
            active.sort(key=_spec_replicas, reverse=True)
        sizes, added = {}, 0
        for rs in active:
            share = self._proportion(rs, d, to_add, added) if to_add else 0
            sizes[rs["metadata"]["name"]] = _spec_replicas(rs) + share
            added += share
        for i, rs in enumerate(active):
            name = rs["metadata"]["name"]
            if i == 0 and to_add:
                sizes[name] = max(sizes[name] + to_add - added, 0)
            self._scale(d, rs, sizes[name], t)

    @staticmethod
    def _proportion(rs, d, to_add, added):
        size = _spec_replicas(rs)
        if size == 0 or to_add == added:
            return 0
        replicas = d["spec"].get("replicas", 1)
        if replicas == 0:
            fraction = -size
        else:
            before = (rs["metadata"].get("annotations") or {}).get(MAX_REPLICAS, "")
            before = int(before) if before.isdigit() and int(before) else (d.get("status") or {}).get("replicas", 0)
            target = size * (replicas + max_surge(d)) / before if before else size
            fraction = int(target + 0.5) - size
        allowed = to_add - added
        return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

    def _recreate(self, d, new_rs, old_rss, t):
        active_old = [rs for rs in old_rss if _spec_replicas(rs) > 0]
        for rs in active_old:
            self._scale(d, rs, 0, t)
        if any(_status(rs, "replicas") > 0 for rs in old_rss) or active_old:
            return
        if new_rs is not None and _spec_replicas(new_rs) != d["spec"].get("replicas", 1):
            self._scale(d, new_rs, d["spec"].get("replicas", 1), t)
        self._maybe_cleanup(d, new_rs, old_rss)

    def _rolling(self, d, new_rs, old_rss, t):
        replicas = d["spec"].get("replicas", 1)
        all_rss = ([new_rs] if new_rs else []) + old_rss
        # reconcileNewReplicaSet
        if new_rs is not None and _spec_replicas(new_rs) != replicas:
            if _spec_replicas(new_rs) > replicas:
                self._scale(d, new_rs, replicas, t)
                return
            count = self._new_rs_replicas(d, all_rss, new_rs)
            if count != _spec_replicas(new_rs):
                self._scale(d, new_rs, count, t)
                return
        # reconcileOldReplicaSets
        old_count = sum(_spec_replicas(rs) for rs in old_rss)
        if old_count == 0:
            self._maybe_cleanup(d, new_rs, old_rss)
            return
        all_count = sum(_spec_replicas(rs) for rs in all_rss)
        min_available = replicas - max_unavailable(d)
        new_unavailable = (_spec_replicas(new_rs) - _status(new_rs, "availableReplicas")) if new_rs else 0
        max_scaled_down = all_count - min_available - new_unavailable
        if max_scaled_down <= 0:
            return
        old_sorted = sorted(old_rss, key=lambda rs: rs["metadata"]["creationTimestamp"])
        cleaned = 0
        refreshed = []
        for rs in old_sorted:
            if cleaned >= max_scaled_down or _spec_replicas(rs) == 0 or \
                    _status(rs, "availableReplicas") == _spec_replicas(rs):
                refreshed.append(rs)
                continue
            down = min(max_scaled_down - cleaned, _spec_replicas(rs) - _status(rs, "availableReplicas"))
            rs = self._scale(d, rs, _spec_replicas(rs) - down, t)
            cleaned += down
            refreshed.append(rs)
        all_rss = ([new_rs] if new_rs else []) + refreshed
        available = sum(_status(rs, "availableReplicas") for rs in all_rss)
        if available <= min_available:
            return
        budget = available - min_available
        done = 0
        for rs in refreshed:
            if done >= budget:
                break
            if _spec_replicas(rs) == 0:
                continue
            down = min(_spec_replicas(rs), budget - done)
            self._scale(d, rs, _spec_replicas(rs) - down, t)
            done += down

    def _maybe_cleanup(self, d, new_rs, old_rss):
        replicas = d["spec"].get("replicas", 1)
        if new_rs is not None and _status(new_rs, "availableReplicas") >= replicas and \
                _status(new_rs, "replicas") == replicas:
            self._cleanup(d, old_rss)

    def _cleanup(self, d, old_rss):
        limit = d["spec"].get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
        diff = len(alive) - limit
        if diff <= 0:
            return
        for rs in sorted(alive, key=revision_of)[:diff]:
            if _status(rs, "replicas") != 0 or _spec_replicas(rs) != 0 or \
                    rs["metadata"].get("generation", 1) > _status(rs, "observedGeneration"):
                continue
            self.cluster.delete_cascade(R.REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"])

    # -- status --------------------------------------------------------------------------
    def _sync_status(self, d, new_rs, all_rss, t, estimate_progress, old_rss=None):
        d = self.store.get(R.DEPLOYMENTS, d["metadata"]["namespace"], d["metadata"]["name"]) or d
        replicas = d["spec"].get("replicas", 1)
        old_status = d.get("status") or {}
        available = sum(_status(rs, "availableReplicas") for rs in all_rss)
        total_spec = sum(_spec_replicas(rs) for rs in all_rss)
        status = {
            "observedGeneration": d["metadata"].get("generation", 1),
            "replicas": sum(_status(rs, "replicas") for rs in all_rss),
            "updatedReplicas": _status(new_rs, "replicas") if new_rs else 0,
            "readyReplicas": sum(_status(rs, "readyReplicas") for rs in all_rss),
            "availableReplicas": available,
            "unavailableReplicas": max(total_spec - available, 0),
        }
        conditions = list(old_status.get("conditions") or [])
        if available >= replicas - max_unavailable(d):
            conditions = set_condition(conditions, condition("Available", "True", "MinimumReplicasAvailable",
                                                             "Deployment has minimum availability.", t))
        else:
            conditions = set_condition(conditions, condition("Available", "False", "MinimumReplicasUnavailable",
                                                             "Deployment does not have minimum availability.", t))
        deadline = d["spec"].get("progressDeadlineSeconds")
        if deadline is None:
            conditions = [c for c in conditions if c["type"] != "Progressing"]
        current = next((c for c in old_status.get("conditions") or [] if c["type"] == "Progressing"), None)
        complete_already = status["replicas"] == status["updatedReplicas"] and current is not None and \
            current.get("reason") == "NewReplicaSetAvailable"
        rs_name = new_rs["metadata"]["name"] if new_rs else None
        if estimate_progress and deadline is not None and not complete_already:
            if (status["updatedReplicas"] == replicas and status["replicas"] == replicas
                    and status["availableReplicas"] == replicas
                    and status["observedGeneration"] >= d["metadata"].get("generation", 1)):
                msg = f'ReplicaSet "{rs_name}" has successfully progressed.' if rs_name else \
                    f'Deployment "{d["metadata"]["name"]}" has successfully progressed.'
                conditions = set_condition(conditions, condition("Progressing", "True", "NewReplicaSetAvailable",
                                                                 msg, t))
            elif self._progressing(old_status, status):
                msg = f'ReplicaSet "{rs_name}" is progressing.' if rs_name else \
                    f'Deployment "{d["metadata"]["name"]}" is progressing.'
                new = condition("Progressing", "True", "ReplicaSetUpdated", msg, t)
                cur = next((c for c in conditions if c["type"] == "Progressing"), None)
                if cur is not None and cur["status"] == "True":
                    new["lastTransitionTime"] = cur["lastTransitionTime"]
                conditions = [c for c in conditions if c["type"] != "Progressing"] + [new]
            elif self._timed_out(d, conditions, t):
                msg = f'ReplicaSet "{rs_name}" has timed out progressing.' if rs_name else \
                    f'Deployment "{d["metadata"]["name"]}" has timed out progressing.'
                conditions = set_condition(conditions, condition("Progressing", "False", "ProgressDeadlineExceeded",
                                                                 msg, t))
        status = {k: v for k, v in status.items() if v or k == "observedGeneration"}
        if conditions:
            status["conditions"] = conditions
        if old_status.get("collisionCount"):
            status["collisionCount"] = old_status["collisionCount"]
        if status != old_status:
            self._write_status(d, status)

    @staticmethod
    def _progressing(old, new):
        old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
        new_old = new["replicas"] - new["updatedReplicas"]
        return (new["updatedReplicas"] > old.get("updatedReplicas", 0) or new_old < old_old
                or new["readyReplicas"] > old.get("readyReplicas", 0)
                or new["availableReplicas"] > old.get("availableReplicas", 0))

    @staticmethod
    def _timed_out(d, conditions, t):
        cond = next((c for c in conditions if c["type"] == "Progressing"), None)
        if cond is None or cond.get("reason") == "NewReplicaSetAvailable":
            return False
        if cond.get("reason") == "ProgressDeadlineExceeded":
            return True
        return parse_time(cond["lastUpdateTime"]) + d["spec"]["progressDeadlineSeconds"] < t
