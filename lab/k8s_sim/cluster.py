"""The simulated cluster: object store, knobs, event recorder and the controller loop."""
import asyncio
import copy
import logging
from dataclasses import asdict, dataclass, fields

from k8s_sim import resources as R
from k8s_sim.profiles import Profiles
from k8s_sim.registry import Registry
from k8s_sim.store import Store
from k8s_sim.util import now, rfc3339

log = logging.getLogger("k8s_sim")


@dataclass
class Knobs:
    """Timings of the simulated cluster. Kubernetes' own values are noted where they differ."""

    pod_startup_seconds: float = 1.0  # image pull + container start + first readiness probe
    crash_after_seconds: float = 0.5  # how long a crashing container runs before it exits
    crash_backoff_seconds: float = 5.0  # first CrashLoopBackOff delay, doubling (Kubernetes: 10 s)
    crash_backoff_max_seconds: float = 60.0  # (Kubernetes: 300 s)
    pull_backoff_seconds: float = 2.0  # first ImagePullBackOff delay, doubling (Kubernetes: 10 s)
    pull_backoff_max_seconds: float = 40.0  # (Kubernetes: 300 s)
    pod_termination_seconds: float = 1.0  # a deleted pod stays Terminating this long (at most its grace period)
    hpa_sync_seconds: float = 5.0  # (Kubernetes: 15 s)
    tick_seconds: float = 0.2  # controller loop period; writes also wake it at once
    log_retention_seconds: float = 3600.0  # generated container logs reach back at most this far
    log_max_lines_per_second: int = 50  # access lines per pod per second are capped (sampled)
    event_ttl_seconds: float = 3600.0

    def update(self, values):
        known = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise KeyError(key)
            setattr(self, key, int(value) if known[key] in ("int", int) else float(value))

    def as_dict(self):
        return asdict(self)


def owner_ref(obj, controller=True):
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": True}


def controller_uid(obj):
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


class Cluster:
    def __init__(self, registry_path=None, knobs=None):
        self.store = Store()
        self.knobs = knobs or Knobs()
        self.registry = Registry(registry_path)
        self.profiles = Profiles()
        self.node_usage = {}  # node name -> {"cpu_millicores", "memory_bytes"} used outside pods (admin API)
        self.wake = asyncio.Event() if _loop_running() else None
        self.store.listeners.append(self._on_change)
        self._last_event_gc = 0.0
        self._quiet_rv = -1
        self._last_full_sync = 0.0
        self._owner_index = (None, {})
        from k8s_sim.controllers import build_controllers
        from k8s_sim.kubelet import Kubelet

        self.kubelet = Kubelet(self)
        self.controllers = build_controllers(self)

    # -- controller loop ---------------------------------------------------------------
    def _on_change(self, rtype, event_type, obj):
        if self.wake is not None and rtype is not R.EVENTS:
            self.wake.set()

    def sync(self, passes=4):
        """Run the kubelet and every controller until nothing changes (bounded).

        When nothing was written since the last pass, the workload controllers run only once a
        second (for time-based transitions such as progress deadlines); the kubelet and the HPA
        controller keep their own clocks."""
        t = now()
        self.kubelet.sync(t)
        if self.store.rv == self._quiet_rv and t - self._last_full_sync < 1.0:
            self.controllers[-1].sync(t)  # the HPA controller
            self._quiet_rv = self.store.rv
            return
        self._last_full_sync = t
        settled = False
        for _ in range(passes):
            before = self.store.rv
            self.kubelet.sync(t)
            for controller in self.controllers:
                try:
                    controller.sync(t)
                except Exception:  # a controller bug must not stop the cluster
                    log.exception("controller %s failed", type(controller).__name__)
            if self.store.rv == before:
                settled = True
                break
        if t - self._last_event_gc > 30:
            self._gc_events(t)
            self._last_event_gc = t
        # Only a pass that changed nothing proves the controllers have nothing left to do.
        self._quiet_rv = self.store.rv if settled else -1

    async def run(self):
        if self.wake is None:
            self.wake = asyncio.Event()
        while True:
            self.wake.clear()
            self.sync()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=self.knobs.tick_seconds)
                # Let a burst of writes (kubectl apply, a patch plus an annotate) land together.
                await asyncio.sleep(0.01)
            except TimeoutError:
                pass

    # -- helpers used by controllers ---------------------------------------------------
    def owned(self, rtype, owner):
        """Objects of rtype whose controller is owner (an index rebuilt whenever the store changed)."""
        rv, index = self._owner_index
        if rv != self.store.rv:
            index = {}
            self._owner_index = (self.store.rv, index)
        key = (rtype.key, owner["metadata"].get("namespace"))
        by_uid = index.get(key)
        if by_uid is None:
            by_uid = {}
            for o in self.store.list(rtype, owner["metadata"].get("namespace")):
                by_uid.setdefault(controller_uid(o), []).append(o)
            index[key] = by_uid
        return list(by_uid.get(owner["metadata"]["uid"], ()))

    def event(self, obj, event_type, reason, message, component, host=None):
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        t = now()
        for ev in self.store.list(R.EVENTS, ns):
            io = ev["involvedObject"]
            if io.get("uid") == meta.get("uid") and ev["reason"] == reason and ev["message"] == message:
                ev = copy.deepcopy(ev)
                ev["count"] = ev.get("count", 1) + 1
                ev["lastTimestamp"] = rfc3339(t)
                self.store.update(R.EVENTS, ev)
                return
        involved = {"kind": obj["kind"], "namespace": meta.get("namespace"), "name": meta["name"],
                    "uid": meta["uid"], "apiVersion": obj["apiVersion"], "resourceVersion": meta["resourceVersion"]}
        if not meta.get("namespace"):
            involved.pop("namespace")
        if obj["kind"] == "Pod" and reason in ("Pulling", "Pulled", "Failed", "BackOff", "Created", "Started",
                                               "Unhealthy", "Killing"):
            container = (obj["spec"].get("containers") or [{}])[0].get("name")
            involved["fieldPath"] = f"spec.containers{{{container}}}"
        source = {"component": component}
        if host:
            source["host"] = host
        event = {
            "kind": "Event", "apiVersion": "v1",
            "metadata": {"name": f"{meta['name']}.{self._event_id(t)}", "namespace": ns},
            "involvedObject": involved, "reason": reason, "message": message, "source": source,
            "firstTimestamp": rfc3339(t), "lastTimestamp": rfc3339(t), "count": 1, "type": event_type,
            "eventTime": None, "reportingComponent": component, "reportingInstance": host or "",
        }
        self.store.create(R.EVENTS, event)

    def _event_id(self, t):
        # Like the event recorder: name.<hex of UnixNano>, so listing order is creation order.
        self._last_event_ns = max(int(t * 1e9), getattr(self, "_last_event_ns", 0) + 1)
        return f"{self._last_event_ns:x}"

    def _gc_events(self, t):
        cutoff = rfc3339(t - self.knobs.event_ttl_seconds)
        for ev in self.store.list(R.EVENTS):
            if ev.get("lastTimestamp", "") < cutoff:
                self.store.delete(R.EVENTS, ev["metadata"]["namespace"], ev["metadata"]["name"])

    def delete_cascade(self, rtype, namespace, name, propagation="Background", grace=None):
        """Delete an object; its dependents go too unless propagation is Orphan (garbage collector).
        Pods terminate gracefully (deletionTimestamp, Terminating, gone after pod_termination_seconds)
        unless grace is 0; the return value is then the terminating pod, not a deleted one."""
        if rtype is R.PODS and grace != 0 and self.knobs.pod_termination_seconds > 0:
            return self.kubelet.terminate(namespace, name, grace)
        gone = self.store.delete(rtype, namespace, name)
        uid = gone["metadata"]["uid"]
        for dep_type in (R.REPLICASETS, R.PODS, R.CONTROLLERREVISIONS):
            for dep in list(self.store.list(dep_type, namespace)):
                refs = dep["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == uid for r in refs):
                    continue
                if propagation == "Orphan":
                    dep = copy.deepcopy(dep)
                    dep["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid] or None
                    if dep["metadata"]["ownerReferences"] is None:
                        del dep["metadata"]["ownerReferences"]
                    self.store.update(dep_type, dep)
                else:
                    self.delete_cascade(dep_type, namespace, dep["metadata"]["name"])
        if rtype is R.PODS:
            self.kubelet.forget(uid)
        return gone


def _loop_running():
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False



def workload_of(store, pod):
    """(kind, name) of the workload a pod belongs to: its Deployment through the ReplicaSet, else its owner."""
    ns = pod["metadata"].get("namespace")
    for ref in pod["metadata"].get("ownerReferences") or []:
        if not ref.get("controller"):
            continue
        if ref.get("kind") == "ReplicaSet":
            rs = store.get(R.REPLICASETS, ns, ref["name"])
            for ref2 in ((rs or {}).get("metadata") or {}).get("ownerReferences") or []:
                if ref2.get("controller") and ref2.get("kind") == "Deployment":
                    return "Deployment", ref2["name"]
        return ref.get("kind"), ref["name"]
    return "Pod", pod["metadata"]["name"]
