"""A simulated scheduler + kubelet: places pods on nodes and runs their containers as the image
registry says (pull, start, become ready, or fail in the way the image's fault tag asks)."""
import copy
import hashlib
from dataclasses import dataclass, field

from k8s_sim import resources as R
from k8s_sim.registry import full_reference, normalize
from k8s_sim.selectors import labels_match
from k8s_sim.util import now, parse_time, rfc3339

ERROR_SHOWN_SECONDS = 0.3  # how long a crashed container shows as terminated before CrashLoopBackOff
HTTP_PORT_NAMES = {"http", "https", "web", "metrics-http"}
HTTP_PORTS = {80, 443, 8000, 8080, 8443, 3000, 5000}


@dataclass
class Instance:
    start: float
    end: float = None
    reason: str = None  # Error, OOMKilled, Completed
    exit_code: int = None
    number: int = 0


@dataclass
class ContainerSim:
    name: str
    image: str
    created: float
    stage: str = "creating"  # creating, pullfail, running, crashed
    fault: str = None
    pull_attempts: int = 0
    pull_message: str = ""
    last_pull_failure: float = 0.0
    next_attempt: float = 0.0
    next_start: float = 0.0
    error_until: float = 0.0
    instances: list = field(default_factory=list)
    announced_unready: bool = False

    @property
    def current(self):
        return self.instances[-1] if self.instances else None

    @property
    def restarts(self):
        # The kubelet's restartCount is the index of the newest container: a dead container awaiting its
        # restart still counts as the one it was.
        return max(len(self.instances) - 1, 0)


def serves_http(container):
    for port in container.get("ports") or []:
        if port.get("name") in HTTP_PORT_NAMES or port.get("containerPort") in HTTP_PORTS:
            return True
    return False


def container_id(pod_uid, name, number):
    return "containerd://" + hashlib.sha256(f"{pod_uid}/{name}/{number}".encode()).hexdigest()


def image_id(image):
    repo, tag, digest = normalize(image)
    ref = full_reference(image).split("@")[0].rsplit(":", 1)[0] if tag else full_reference(image).split("@")[0]
    return f"{ref}@{digest or 'sha256:' + hashlib.sha256(image.encode()).hexdigest()}"


class Kubelet:
    def __init__(self, cluster):
        self.cluster = cluster
        self.pods = {}  # pod uid -> {container name: ContainerSim}
        self._ip_counter = {}
        self._settled = {}  # pod uid -> resourceVersion at which nothing more can happen to it
        self._terminating = {}  # pod uid -> time the terminating pod disappears

    @property
    def knobs(self):
        return self.cluster.knobs

    def terminate(self, namespace, name, grace=None):
        """Begin graceful deletion: deletionTimestamp is when the kubelet would kill the containers."""
        pod = self.cluster.store.must_get(R.PODS, namespace, name)
        if pod["metadata"].get("deletionTimestamp"):
            return pod
        t = now()
        period = pod["spec"].get("terminationGracePeriodSeconds", 30) if grace is None else grace
        pod = copy.deepcopy(pod)
        pod["metadata"]["deletionTimestamp"] = rfc3339(t + period)
        pod["metadata"]["deletionGracePeriodSeconds"] = period
        self._terminating[pod["metadata"]["uid"]] = t + min(self.knobs.pod_termination_seconds, period)
        pod = self.cluster.store.update(R.PODS, pod)
        if pod["spec"].get("nodeName"):
            for c in pod["spec"]["containers"]:
                self.cluster.event(pod, "Normal", "Killing", f"Stopping container {c['name']}", "kubelet",
                                   pod["spec"]["nodeName"])
        return pod

    def forget(self, uid):
        self.pods.pop(uid, None)
        self._settled.pop(uid, None)
        self._terminating.pop(uid, None)

    def containers(self, pod):
        return self.pods.get(pod["metadata"]["uid"], {})

    # -- scheduling --------------------------------------------------------------------
    def _schedule(self, pod, t):
        store = self.cluster.store
        nodes = [n for n in store.list(R.NODES) if not (n.get("spec") or {}).get("unschedulable")]
        selector = pod["spec"].get("nodeSelector") or {}
        reqs = [(k, "=", [v]) for k, v in selector.items()]
        fitting = [n for n in nodes if labels_match(reqs, n["metadata"].get("labels"))]
        pod = copy.deepcopy(pod)
        if not fitting:
            cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                    "lastTransitionTime": rfc3339(t), "reason": "Unschedulable",
                    "message": f"0/{len(nodes)} nodes are available: {len(nodes)} node(s) didn't match Pod's node "
                               f"affinity/selector. preemption: 0/{len(nodes)} nodes are available: {len(nodes)} "
                               f"Preemption is not helpful for scheduling."}
            if (pod.get("status") or {}).get("conditions") != [cond]:
                pod["status"] = {"phase": "Pending", "conditions": [cond], "qosClass": pod["status"].get("qosClass")}
                self.cluster.store.update(R.PODS, pod)
            return None
        counts = {n["metadata"]["name"]: 0 for n in fitting}
        for p in store.list(R.PODS):
            node = p["spec"].get("nodeName")
            if node in counts:
                counts[node] += 1
        node = min(fitting, key=lambda n: (counts[n["metadata"]["name"]], n["metadata"]["name"]))
        pod["spec"]["nodeName"] = node["metadata"]["name"]
        pod = self.cluster.store.update(R.PODS, pod)
        self.cluster.event(pod, "Normal", "Scheduled",
                           f"Successfully assigned {pod['metadata']['namespace']}/{pod['metadata']['name']} "
                           f"to {node['metadata']['name']}", "default-scheduler")
        return pod

    # -- the sync loop -----------------------------------------------------------------
    def sync(self, t):
        for pod in list(self.cluster.store.list(R.PODS)):
            if pod["metadata"].get("deletionTimestamp"):
                self._sync_terminating(pod, t)
                continue
            if not pod["spec"].get("nodeName"):
                pod = self._schedule(pod, t)
                if pod is None:
                    continue
            uid = pod["metadata"]["uid"]
            if self._settled.get(uid) == pod["metadata"]["resourceVersion"]:
                continue
            sims = self.pods.get(uid)
            if sims is None:
                sims = {c["name"]: ContainerSim(c["name"], c["image"], t) for c in pod["spec"]["containers"]}
                self.pods[uid] = sims
                for c in pod["spec"]["containers"]:
                    self.cluster.event(pod, "Normal", "Pulling", f'Pulling image "{c["image"]}"', "kubelet",
                                       pod["spec"]["nodeName"])
            for spec_c in pod["spec"]["containers"]:
                c = sims.get(spec_c["name"])
                if c is not None and c.image != spec_c["image"]:
                    self._replace_image(pod, c, spec_c["image"], t)
            for c in sims.values():
                self._advance(pod, c, t)
            status = self._render(pod, sims, t)
            if status != pod.get("status"):
                new = copy.copy(pod)
                new["status"] = status
                pod = self.cluster.store.update(R.PODS, new)
            if all(self._settled_container(c, t) for c in sims.values()):
                self._settled[uid] = pod["metadata"]["resourceVersion"]
        live = {p["metadata"]["uid"] for p in self.cluster.store.list(R.PODS)}
        for uid in list(self.pods):
            if uid not in live:
                del self.pods[uid]
                self._settled.pop(uid, None)

    def _settled_container(self, c, t):
        """Nothing will change for this container until someone writes the pod: running and ready
        (or running, unready by fault, with its probe failure reported)."""
        if c.stage != "running" or c.fault in ("crashloop", "oomkilled"):
            return False
        if c.fault == "unready":
            return c.announced_unready
        return self._ready(c, t)

    def _sync_terminating(self, pod, t):
        uid = pod["metadata"]["uid"]
        gone_at = self._terminating.setdefault(uid, t + self.knobs.pod_termination_seconds)
        if t >= gone_at:
            self._terminating.pop(uid, None)
            self.cluster.store.delete(R.PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            self.forget(uid)
            return
        status = pod.get("status") or {}
        # A terminating pod is taken out of service at once: not Ready, containers still running.
        statuses = [dict(cs, ready=False) for cs in status.get("containerStatuses") or []]
        conditions = [dict(c, status="False", reason="ContainersNotReady", lastTransitionTime=rfc3339(t),
                           message="containers with unready status: [" +
                                   " ".join(cs["name"] for cs in statuses) + "]")
                      if c["type"] in ("Ready", "ContainersReady") and c["status"] == "True" else c
                      for c in status.get("conditions") or []]
        if statuses != status.get("containerStatuses") or conditions != status.get("conditions"):
            new = copy.copy(pod)
            new["status"] = dict(status, containerStatuses=statuses, conditions=conditions)
            self.cluster.store.update(R.PODS, new)

    def _advance(self, pod, c, t):
        k = self.knobs
        node = pod["spec"]["nodeName"]
        half = k.pod_startup_seconds / 2
        if c.stage == "creating" and t >= c.created + half:
            self._pull(pod, c, t)
        elif c.stage == "pullfail" and t >= c.next_attempt:
            self.cluster.event(pod, "Normal", "Pulling", f'Pulling image "{c.image}"', "kubelet", node)
            self._pull(pod, c, t)
        elif c.stage == "running" and c.fault in ("crashloop", "oomkilled"):
            inst = c.current
            if t >= inst.start + k.crash_after_seconds:
                inst.end = t
                inst.reason = "OOMKilled" if c.fault == "oomkilled" else "Error"
                inst.exit_code = 137 if c.fault == "oomkilled" else 1
                c.stage = "crashed"
                crashes = sum(1 for i in c.instances if i.reason in ("Error", "OOMKilled"))
                # Like the kubelet: the first crash restarts at once, later ones wait a doubling back-off.
                # Between the exit and the back-off the status shows the terminated container briefly.
                c.error_until = t + ERROR_SHOWN_SECONDS
                if crashes == 1:
                    c.next_start = c.error_until
                else:
                    c.next_start = t + min(k.crash_backoff_seconds * 2 ** (crashes - 2), k.crash_backoff_max_seconds)
                if crashes > 1:
                    self.cluster.event(pod, "Warning", "BackOff",
                                       f"Back-off restarting failed container {c.name} in pod "
                                       f"{pod['metadata']['name']}_{pod['metadata']['namespace']}"
                                       f"({pod['metadata']['uid']})", "kubelet", node)
        elif c.stage == "crashed" and t >= c.next_start:
            self._start(pod, c, t, pulled_again=False)
        if c.stage == "running" and c.fault == "unready" and not c.announced_unready \
                and t >= c.current.start + half:
            c.announced_unready = True
            self.cluster.event(pod, "Warning", "Unhealthy",
                               "Readiness probe failed: HTTP probe failed with statuscode: 503", "kubelet", node)

    def _replace_image(self, pod, c, image, t):
        """`kubectl set image pod/...`: the kubelet kills the container and starts one from the new image."""
        if c.current is not None and c.current.end is None:
            c.current.end, c.current.reason, c.current.exit_code = t, "Error", 137
            self.cluster.event(pod, "Normal", "Killing", f"Container {c.name} definition changed, will be restarted",
                               "kubelet", pod["spec"].get("nodeName"))
        c.image, c.fault, c.stage, c.created, c.pull_attempts = image, None, "creating", t, 0
        c.announced_unready = False
        self._settled.pop(pod["metadata"]["uid"], None)

    def _pull(self, pod, c, t):
        node = pod["spec"]["nodeName"]
        ok, fault, message = self.cluster.registry.resolve(c.image)
        if not ok:
            c.stage = "pullfail"
            c.pull_attempts += 1
            c.pull_message = message
            c.last_pull_failure = t
            k = self.knobs
            c.next_attempt = t + min(k.pull_backoff_seconds * 2 ** (c.pull_attempts - 1), k.pull_backoff_max_seconds)
            self.cluster.event(pod, "Warning", "Failed", f'Failed to pull image "{c.image}": {message}', "kubelet",
                               node)
            self.cluster.event(pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet", node)
            return
        c.fault = fault
        ms = int(self.knobs.pod_startup_seconds * 400) + 12
        self.cluster.event(pod, "Normal", "Pulled",
                           f'Successfully pulled image "{c.image}" in {ms}ms ({ms}ms including waiting). '
                           f"Image size: {50000000 + hash(c.image) % 90000000} bytes.", "kubelet", node)
        self._start(pod, c, t, pulled_again=True)

    def _start(self, pod, c, t, pulled_again):
        c.instances.append(Instance(start=t, number=len(c.instances)))
        c.stage = "running"
        node = pod["spec"]["nodeName"]
        if not pulled_again:
            self.cluster.event(pod, "Normal", "Pulled",
                               f'Container image "{c.image}" already present on machine', "kubelet", node)
        self.cluster.event(pod, "Normal", "Created", f"Created container: {c.name}", "kubelet", node)
        self.cluster.event(pod, "Normal", "Started", f"Started container {c.name}", "kubelet", node)

    # -- status --------------------------------------------------------------------------
    def _ready(self, c, t):
        # A crashing container dies before its first readiness probe passes.
        return (c.stage == "running" and c.fault not in ("unready", "crashloop", "oomkilled")
                and t >= c.current.start + self.knobs.pod_startup_seconds / 2)

    def _container_status(self, pod, spec_c, c, t):
        k = self.knobs
        status = {"name": c.name, "state": {}, "lastState": {}, "ready": False, "restartCount": c.restarts,
                  "image": c.image, "imageID": "", "started": False}
        ended = [i for i in c.instances if i.end is not None]
        if ended:
            last = ended[-1]
            status["lastState"] = {"terminated": {
                "exitCode": last.exit_code, "reason": last.reason, "startedAt": rfc3339(last.start),
                "finishedAt": rfc3339(last.end), "containerID": container_id(pod["metadata"]["uid"], c.name,
                                                                            last.number)}}
        if c.stage == "creating":
            status["state"] = {"waiting": {"reason": "ContainerCreating"}}
        elif c.stage == "pullfail":
            if (t - c.last_pull_failure < min(k.pull_backoff_seconds, 1.0) and c.pull_attempts <= 1) or \
                    t - c.last_pull_failure < min(k.pull_backoff_seconds, 1.0) / 2:
                status["state"] = {"waiting": {"reason": "ErrImagePull", "message": c.pull_message}}
            else:
                status["state"] = {"waiting": {"reason": "ImagePullBackOff",
                                               "message": f'Back-off pulling image "{c.image}": ErrImagePull: '
                                                          f"{c.pull_message}"}}
        elif c.stage == "running":
            inst = c.current
            status["state"] = {"running": {"startedAt": rfc3339(inst.start)}}
            status["ready"] = self._ready(c, t)
            status["started"] = True
            status["containerID"] = container_id(pod["metadata"]["uid"], c.name, inst.number)
        elif c.stage == "crashed":
            last = c.current
            delay = c.next_start - last.end
            if t < c.error_until:
                status["state"] = {"terminated": status.pop("lastState")["terminated"]}
                status["lastState"] = {}
                if len(ended) > 1:
                    prev = ended[-2]
                    status["lastState"] = {"terminated": {
                        "exitCode": prev.exit_code, "reason": prev.reason, "startedAt": rfc3339(prev.start),
                        "finishedAt": rfc3339(prev.end),
                        "containerID": container_id(pod["metadata"]["uid"], c.name, prev.number)}}
                status["containerID"] = container_id(pod["metadata"]["uid"], c.name, last.number)
            else:
                status["state"] = {"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {round(delay)}s restarting failed container={c.name} "
                               f"pod={pod['metadata']['name']}_{pod['metadata']['namespace']}"
                               f"({pod['metadata']['uid']})"}}
                status["containerID"] = container_id(pod["metadata"]["uid"], c.name, last.number)
        if c.instances:
            status["imageID"] = image_id(c.image)
        if "containerID" in status:
            # keep the apiserver's field order: containerID after imageID
            status["containerID"] = status.pop("containerID")
        status["started"] = status.pop("started")
        if spec_c.get("volumeMounts"):
            status["volumeMounts"] = [{"name": m["name"], "mountPath": m["mountPath"]}
                                      for m in spec_c["volumeMounts"] if "name" in m and "mountPath" in m]
        return status

    def _render(self, pod, sims, t):
        old = pod.get("status") or {}
        old_conditions = {c["type"]: c for c in old.get("conditions") or []}
        statuses = [self._container_status(pod, sc, sims[sc["name"]], t) for sc in pod["spec"]["containers"]
                    if sc["name"] in sims]
        any_started = any(c.instances for c in sims.values())
        all_ready = all(s["ready"] for s in statuses)
        node = pod["spec"]["nodeName"]
        not_ready = [s["name"] for s in statuses if not s["ready"]]

        def cond(ctype, ok, reason=None, message=None):
            status = "True" if ok else "False"
            prev = old_conditions.get(ctype)
            since = prev["lastTransitionTime"] if prev and prev["status"] == status else rfc3339(t)
            c = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": since}
            if not ok and reason:
                c["reason"] = reason
                c["message"] = message
            return c

        unready_msg = f"containers with unready status: [{' '.join(not_ready)}]"
        conditions = [
            cond("PodReadyToStartContainers", True),
            cond("Initialized", True),
            cond("Ready", all_ready, "ContainersNotReady", unready_msg),
            cond("ContainersReady", all_ready, "ContainersNotReady", unready_msg),
            cond("PodScheduled", True),
        ]
        ip = old.get("podIP") or self._allocate_ip(node)
        host_ip = self._node_ip(node)
        created = parse_time(pod["metadata"]["creationTimestamp"])
        status = {
            "phase": "Running" if any_started else "Pending",
            "conditions": conditions,
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": old.get("startTime") or rfc3339(max(created, t - 0.5)),
            "containerStatuses": statuses,
            "qosClass": old.get("qosClass") or "BestEffort",
        }
        return status

    def _node_ip(self, node_name):
        node = self.cluster.store.get(R.NODES, "", node_name)
        for addr in ((node or {}).get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP":
                return addr["address"]
        return "10.0.0.1"

    def _allocate_ip(self, node_name):
        index = 0
        digits = "".join(ch for ch in node_name if ch.isdigit())
        if digits:
            index = int(digits) % 250
        n = self._ip_counter.get(node_name, 1) + 1
        if n > 254:
            n = 2
        self._ip_counter[node_name] = n
        return f"10.244.{index}.{n}"
