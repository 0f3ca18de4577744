"""The lab admin API (/_lab/v1): traffic profiles drive logs, metrics.k8s.io and HPAs."""
import re
import urllib.error

import pytest

ACCESS = re.compile(r"HTTP/[0-9.]+ [0-9]{3} ")
ERRORS = re.compile(r"HTTP/[0-9.]+ [45][0-9][0-9]")


def profile_path(ns, name):
    return f"/_lab/v1/namespaces/{ns}/profiles/{name}"


def pod_name(kubectl, ns, app):
    return kubectl("get", "pods", "-l", f"app={app}", "-o", "name", ns=ns).split()[0]


def test_profile_shapes_the_access_log(kubectl, admin, namespace, manifest, rolled_out, until):
    kubectl.apply_json(manifest("api", "pynomaly-api:1.2.0", replicas=1), ns=namespace, verb="create")
    rolled_out("api", namespace)
    set_to = admin.request("PUT", profile_path(namespace, "api"),
                           {"rps": 50, "error_rate": 0.3, "status_mix": {"500": 1, "503": 1},
                            "auth_failure_rate": 0.1, "latency_ms": 120})
    assert set_to["custom"] is True and set_to["error_rate"] == 0.3
    pod = pod_name(kubectl, namespace, "api")
    lines = until(lambda: (out := kubectl("logs", pod, "--since=8s", ns=namespace).splitlines()) and
                  sum(1 for x in out if ACCESS.search(x)) >= 350 and out, timeout=30, what="350 access lines")
    access = [x for x in lines if ACCESS.search(x)]
    statuses = [x.split()[5] for x in access]  # awk '{print $6}'
    assert all(re.fullmatch(r"[0-9]{3}", s) for s in statuses)
    auth = [s for s in statuses if s in ("401", "403")]
    server_errors = [s for s in statuses if s.startswith("5")]
    assert set(server_errors) <= {"500", "503"}
    assert 0.05 <= len(auth) / len(statuses) <= 0.15
    # error_rate applies to the requests that are not failed logins
    assert 0.20 <= len(server_errors) / (len(statuses) - len(auth)) <= 0.40
    assert sum(1 for x in lines if ERRORS.search(x)) == len(auth) + len(server_errors)
    app_errors = [x for x in lines if x.split()[1] in ("ERROR", "CRITICAL")]
    assert len(app_errors) == len(server_errors)
    assert sum(1 for x in lines if "WARNING auth: failed login for user=" in x) == len(auth)
    restored = admin.request("DELETE", profile_path(namespace, "api"))
    assert restored["custom"] is False and restored["error_rate"] < 0.01


def test_profile_drives_metrics_and_the_hpa(kubectl, admin, namespace, manifest, rolled_out, until):
    kubectl.apply_json(manifest("api", "pynomaly-api:1.2.0", replicas=1), ns=namespace, verb="create")
    rolled_out("api", namespace)
    admin.request("PUT", profile_path(namespace, "api"), {"cpu_millicores": 400, "memory_bytes": 200 * 2**20})
    top = kubectl("top", "pod", pod_name(kubectl, namespace, "api").split("/")[1], "--no-headers",
                  ns=namespace).split()
    assert 370 <= int(top[1].rstrip("m")) <= 430
    assert 185 <= int(top[2].rstrip("Mi")) <= 215
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "api"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                    "minReplicas": 1, "maxReplicas": 3,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 50}}}]}}
    kubectl.apply_json(hpa, ns=namespace, verb="create")

    def scaled():
        h = kubectl.json("get", "hpa", "api", ns=namespace)
        return h if h.get("status", {}).get("desiredReplicas") == 3 else None

    h = until(scaled, timeout=30, what="HPA scaled to its max")
    limited = next(c for c in h["status"]["conditions"] if c["type"] == "ScalingLimited")
    assert (limited["status"], limited["reason"]) == ("True", "TooManyReplicas")
    assert kubectl.json("get", "deployment", "api", ns=namespace)["spec"]["replicas"] == 3
    assert "cpu: " in kubectl("get", "hpa", "api", ns=namespace)


def test_profile_validation_and_config(admin):
    with pytest.raises(urllib.error.HTTPError) as err:
        admin.request("PUT", profile_path("pynomaly-production", "pynomaly-api"), {"error_rate": 2})
    assert err.value.code == 422
    with pytest.raises(urllib.error.HTTPError) as unknown:
        admin.request("PUT", profile_path("pynomaly-production", "pynomaly-api"), {"rsp": 3})
    assert unknown.value.code == 422
    knobs = admin.request("GET", "/_lab/v1/config")
    assert knobs["pod_startup_seconds"] > 0 and "crash_backoff_seconds" in knobs
    default = admin.request("GET", profile_path("pynomaly-production", "no-such-workload"))
    assert default["custom"] is False


def test_node_usage_outside_pods_and_cpu_throttling(kubectl, admin, namespace, manifest, rolled_out):
    before = int(kubectl("top", "node", "lab-node-3", "--no-headers").split()[4].rstrip("%"))
    admin.request("PUT", "/_lab/v1/nodes/lab-node-3/usage", {"memory_bytes": 12 * 2**30, "cpu_millicores": 2000})
    try:
        row = kubectl("top", "node", "lab-node-3", "--no-headers").split()
        assert int(row[4].rstrip("%")) >= before + 75
        assert int(row[2].rstrip("%")) >= 50
    finally:
        cleared = admin.request("DELETE", "/_lab/v1/nodes/lab-node-3/usage")
    assert cleared["memory_bytes"] == 0
    body = manifest("api", "pynomaly-api:1.2.0", replicas=1)
    body["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "500m"
    kubectl.apply_json(body, ns=namespace, verb="create")
    rolled_out("api", namespace)
    admin.request("PUT", profile_path(namespace, "api"), {"cpu_millicores": 3000})
    pod = pod_name(kubectl, namespace, "api").split("/")[1]
    assert int(kubectl("top", "pod", pod, "--no-headers", ns=namespace).split()[1].rstrip("m")) <= 500
