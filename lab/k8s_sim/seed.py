"""The cluster as `labctl up` leaves it: nodes, namespaces and the Pynomaly workloads with history.

History is replayed on a shifted clock before the server starts, so revision 1 of pynomaly-api
really is two days old, its pods' logs reach back, and `rollout history` shows three revisions.
"""
import base64
import os
import time

from k8s_sim import defaults
from k8s_sim import resources as R
from k8s_sim.util import now, set_time_shift

NS = "pynomaly-production"
GI = 1024**3
CHANGE_CAUSE = "kubernetes.io/change-cause"


def _labels(name, component):
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "pynomaly",
            "app.kubernetes.io/component": component}


def _create(cluster, rtype, obj):
    obj.setdefault("kind", rtype.kind)
    obj.setdefault("apiVersion", rtype.api_version)
    defaults.apply_defaults(rtype, obj)
    defaults.validate(rtype, obj)
    return cluster.store.create(rtype, obj)


def _node(i):
    name = f"lab-node-{i}"
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
              "topology.kubernetes.io/zone": f"lab-zone-{'abc'[i - 1]}", "node.kubernetes.io/instance-type": "lab.4x16"}
    if i == 1:
        labels["node-role.kubernetes.io/control-plane"] = ""
    capacity = {"cpu": "4", "memory": "16374584Ki", "pods": "110", "ephemeral-storage": "102626232Ki",
                "hugepages-2Mi": "0"}
    allocatable = {"cpu": "3800m", "memory": "15223608Ki", "pods": "110", "ephemeral-storage": "94580335255",
                   "hugepages-2Mi": "0"}
    ts = "2026-11-20T08:00:00Z"
    conds = [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]
    return {"metadata": {"name": name, "labels": labels, "annotations": {
        "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": {"podCIDR": f"10.244.{i}.0/24", "podCIDRs": [f"10.244.{i}.0/24"]},
        "status": {"capacity": capacity, "allocatable": allocatable,
                   "conditions": [{"type": t, "status": s, "lastHeartbeatTime": ts, "lastTransitionTime": ts,
                                   "reason": r, "message": m} for t, s, r, m in conds],
                   "addresses": [{"type": "InternalIP", "address": f"10.0.0.{10 + i}"},
                                 {"type": "Hostname", "address": name}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                   "nodeInfo": {"machineID": f"{i:032x}", "systemUUID": f"00000000-0000-0000-0000-00000000000{i}",
                                "bootID": f"b00710{i:02d}-0000-0000-0000-000000000000",
                                "kernelVersion": "6.1.0-28-cloud-amd64",
                                "osImage": "Debian GNU/Linux 12 (bookworm)", "containerRuntimeVersion":
                                "containerd://1.7.24", "kubeletVersion": "v1.32.2", "kubeProxyVersion": "v1.32.2",
                                "operatingSystem": "linux", "architecture": "amd64"}}}


def _api_deployment(image, cause, progress_deadline):
    labels = _labels("pynomaly-api", "api")
    return {"metadata": {"name": "pynomaly-api", "namespace": NS, "labels": dict(labels),
                         "annotations": {CHANGE_CAUSE: cause}},
            "spec": {"replicas": 3, "progressDeadlineSeconds": progress_deadline, "revisionHistoryLimit": 10,
                     "selector": {"matchLabels": {"app.kubernetes.io/name": "pynomaly-api"}},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                             "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{
                         "name": "pynomaly-api", "image": image,
                         "ports": [{"name": "http", "containerPort": 8000}],
                         "env": [{"name": "PYNOMALY_ENV", "value": "production"},
                                 {"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {
                                     "name": "pynomaly-secrets", "key": "database-password"}}}],
                         "envFrom": [{"configMapRef": {"name": "pynomaly-config"}}],
                         "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                                       "limits": {"cpu": "1", "memory": "512Mi"}},
                         "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 5},
                         "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10,
                                           "initialDelaySeconds": 10},
                     }]}}}}


def _simple_deployment(name, component, image, replicas, port, cpu, mem, cause=None):
    labels = _labels(name, component)
    d = {"metadata": {"name": name, "namespace": NS, "labels": dict(labels)},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                  "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{
                      "name": name, "image": image,
                      "resources": {"requests": {"cpu": cpu, "memory": mem}, "limits": {"memory": mem}}}]}}}}
    if port:
        d["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"name": component, "containerPort": port}]
    if cause:
        d["metadata"]["annotations"] = {CHANGE_CAUSE: cause}
    return d


def _set_image(cluster, name, image, cause):
    import copy

    d = copy.deepcopy(cluster.store.get(R.DEPLOYMENTS, NS, name))
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    d["metadata"]["annotations"][CHANGE_CAUSE] = cause
    defaults.apply_defaults(R.DEPLOYMENTS, d)
    cluster.store.update(R.DEPLOYMENTS, d)


def _settle(cluster, at, knobs_startup):
    """Run the controllers on the shifted clock until the cluster is quiet at time `at`."""
    real = time.time()
    set_time_shift(at - real)
    for step in range(8):
        set_time_shift(at - real + step * (knobs_startup + 0.1))
        cluster.sync(passes=6)


def seed(cluster, progress_deadline=None):
    progress_deadline = progress_deadline or int(os.environ.get("LAB_K8S_PROGRESS_DEADLINE", "30"))
    startup = cluster.knobs.pod_startup_seconds
    t0 = now()
    day = 86400
    try:
        set_time_shift(-3 * day)
        for i in (1, 2, 3):
            _create(cluster, R.NODES, _node(i))
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease", NS):
            _create(cluster, R.NAMESPACES, {"metadata": {"name": ns}})
        _create(cluster, R.CONFIGMAPS, {"metadata": {"name": "pynomaly-config", "namespace": NS,
                                                     "labels": _labels("pynomaly-api", "config")},
                                        "data": {"LOG_LEVEL": "INFO", "DATABASE_HOST": "postgres",
                                                 "DATABASE_NAME": "pynomaly", "REDIS_URL": "redis://redis:6379/0",
                                                 "WORKERS": "4", "MODEL_STORE": "/var/lib/pynomaly/models"}})
        _create(cluster, R.CONFIGMAPS, {"metadata": {"name": "kube-root-ca.crt", "namespace": NS},
                                        "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n(lab)\n-----END "
                                                           "CERTIFICATE-----\n"}})
        b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
        _create(cluster, R.SECRETS, {"metadata": {"name": "pynomaly-secrets", "namespace": NS,
                                                  "labels": _labels("pynomaly-api", "secrets")},
                                     "type": "Opaque",
                                     "data": {"database-password": b64("lab-database-password"),
                                              "api-secret-key": b64("lab-api-secret-key"),
                                              "redis-password": b64("lab-redis-password")}})
        for name, port, target in (("pynomaly-api", 80, 8000), ("postgres", 5432, 5432), ("redis", 6379, 6379)):
            component = {"pynomaly-api": "api", "postgres": "database", "redis": "cache"}[name]
            svc = {"metadata": {"name": name, "namespace": NS, "labels": _labels(name, component)},
                   "spec": {"selector": {"app.kubernetes.io/name": name},
                            "ports": [{"name": "http" if name == "pynomaly-api" else name, "port": port,
                                       "targetPort": target}]}}
            if name == "postgres":
                svc["spec"]["clusterIP"] = "None"
            else:
                svc["spec"]["clusterIP"] = {"pynomaly-api": "10.96.12.40", "redis": "10.96.30.7"}[name]
            _create(cluster, R.SERVICES, svc)
        _create(cluster, R.NETWORKPOLICIES, {"metadata": {"name": "pynomaly-api-ingress", "namespace": NS},
                                             "spec": {"podSelector": {"matchLabels": {
                                                 "app.kubernetes.io/name": "pynomaly-api"}},
                                                 "ingress": [{"ports": [{"port": 8000, "protocol": "TCP"}]}]}})
        sts_labels = _labels("postgres", "database")
        _create(cluster, R.STATEFULSETS, {"metadata": {"name": "postgres", "namespace": NS, "labels": sts_labels},
                                          "spec": {"replicas": 1, "serviceName": "postgres",
                                                   "selector": {"matchLabels": {"app.kubernetes.io/name": "postgres"}},
                                                   "template": {"metadata": {"labels": dict(sts_labels)}, "spec": {
                                                       "containers": [{"name": "postgres", "image": "postgres:16",
                                                                       "ports": [{"name": "postgres",
                                                                                  "containerPort": 5432}],
                                                                       "resources": {"requests": {
                                                                           "cpu": "500m", "memory": "1Gi"},
                                                                           "limits": {"memory": "2Gi"}}}]}}}})
        _create(cluster, R.DEPLOYMENTS, _simple_deployment("redis", "cache", "redis:7.2", 1, 6379, "100m", "256Mi"))
        _create(cluster, R.DEPLOYMENTS, _api_deployment("pynomaly-api:1.0.0", "Initial release 1.0.0",
                                                        progress_deadline))
        _create(cluster, R.DEPLOYMENTS, _simple_deployment("pynomaly-worker", "worker", "pynomaly-worker:1.2.0", 2,
                                                           None, "250m", "512Mi", "Worker release 1.2.0"))
        _create(cluster, R.HPAS, {"metadata": {"name": "pynomaly-worker", "namespace": NS,
                                               "labels": _labels("pynomaly-worker", "worker")},
                                  "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                              "name": "pynomaly-worker"},
                                           "minReplicas": 2, "maxReplicas": 10,
                                           "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                                               "type": "Utilization", "averageUtilization": 70}}}]}})
        _settle(cluster, t0 - 3 * day + 60, startup)
        _set_image(cluster, "pynomaly-api", "pynomaly-api:1.1.0", "Release 1.1.0: batch detection endpoint")
        _settle(cluster, t0 - 2 * day, startup)
        _set_image(cluster, "pynomaly-api", "pynomaly-api:1.2.0", "Release 1.2.0: model cache and faster scoring")
        _settle(cluster, t0 - 2 * 3600, startup)
    finally:
        set_time_shift(0)
    cluster.sync(passes=6)
