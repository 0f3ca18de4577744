"""metrics.k8s.io: pod and node usage that follows the traffic profiles (as metrics-server reports it)."""
from k8s_sim import resources as R
from k8s_sim.cluster import workload_of
from k8s_sim.kubelet import serves_http
from k8s_sim.util import parse_quantity, rfc3339, stable_int

NODE_BASE_CPU = 0.18  # cores used by the system on every node
NODE_BASE_MEMORY = 1.1 * 1024**3
WINDOW = 15  # seconds; usage is steady within a window, with a small jitter between windows


def _jitter(key, t, spread=0.06):
    bucket = int(t // WINDOW)
    return 1.0 + ((stable_int(key, bucket) % 1000) / 1000.0 - 0.5) * 2 * spread


def pod_usage(cluster, pod, t):
    """{container name: (cpu cores, memory bytes)} for a running pod, or None when it has no metrics."""
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return None
    running = {cs["name"] for cs in status.get("containerStatuses") or [] if "running" in (cs.get("state") or {})}
    if not running:
        return None
    ns = pod["metadata"]["namespace"]
    _, workload = workload_of(cluster.store, pod)
    containers = pod["spec"]["containers"]
    http = any(serves_http(c) for c in containers)
    profile = cluster.profiles.effective(ns, workload, http, t)
    usage = {}
    for i, c in enumerate(containers):
        if c["name"] not in running:
            continue
        share = 1.0 if i == 0 else 0.05
        j = _jitter(pod["metadata"]["uid"] + c["name"], t)
        cpu = profile["cpu_millicores"] / 1000.0 * share * j
        mem = profile["memory_bytes"] * share * (1 + (j - 1) / 3)
        limits = (c.get("resources") or {}).get("limits") or {}
        if limits.get("memory"):
            mem = min(mem, parse_quantity(limits["memory"]) * 0.98)
        if limits.get("cpu"):
            cpu = min(cpu, parse_quantity(limits["cpu"]))  # CFS throttling holds a container at its limit
        usage[c["name"]] = (cpu, mem)
    return usage


def cpu_quantity(cores):
    return f"{int(cores * 1e9)}n"


def memory_quantity(value):
    return f"{int(value // 1024)}Ki"


def pod_metrics(cluster, pod, t):
    usage = pod_usage(cluster, pod, t)
    if usage is None:
        return None
    meta = pod["metadata"]
    return {
        "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "creationTimestamp": rfc3339(t),
                     "labels": dict(meta.get("labels") or {})},
        "timestamp": rfc3339(t - (t % WINDOW)), "window": f"{WINDOW}s",
        "containers": [{"name": name, "usage": {"cpu": cpu_quantity(cpu), "memory": memory_quantity(mem)}}
                       for name, (cpu, mem) in usage.items()],
    }


def node_metrics(cluster, node, t):
    name = node["metadata"]["name"]
    extra = cluster.node_usage.get(name) or {}
    cpu = NODE_BASE_CPU * _jitter(name, t) + extra.get("cpu_millicores", 0) / 1000.0
    mem = NODE_BASE_MEMORY * _jitter(name + "m", t, 0.01) + extra.get("memory_bytes", 0)
    for pod in cluster.store.list(R.PODS):
        if pod["spec"].get("nodeName") != name:
            continue
        for c_cpu, c_mem in (pod_usage(cluster, pod, t) or {}).values():
            cpu += c_cpu
            mem += c_mem
    return {
        "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": name, "creationTimestamp": rfc3339(t),
                     "labels": dict(node["metadata"].get("labels") or {})},
        "timestamp": rfc3339(t - (t % WINDOW)), "window": f"{WINDOW}s",
        "usage": {"cpu": cpu_quantity(cpu), "memory": memory_quantity(mem)},
    }
