"""What the Kubernetes-side incidents share: a small client for the simulator, the traffic-profile overlays
each scenario adds, and the records heal needs to undo exactly what inject did (and nothing a playbook did).

Profiles: every scenario that changes a Deployment's traffic profile adds an overlay (a few fields). The
profile the simulator gets is the one found before the first overlay, plus every active overlay, so
error_rate and latency can be injected together and healed one at a time.
"""
import copy
import json
import ssl
import time
import urllib.error
import urllib.request
from urllib.parse import quote

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random

from labkit.errors import LabError
from labkit.services.apiservice import DEPLOYMENT, NAMESPACE, ApiService
from labkit.services.k8s import K8sService

LAB_LABEL = "lab.pynomaly.io/fault"
PROFILE_FIELDS = ("rps", "error_rate", "status_mix", "latency_ms", "auth_failure_rate", "cpu_millicores",
                  "memory_bytes")


class Conflict(LabError):
    """The object changed between our read and our write (409)."""


class Kube:
    """JSON over HTTPS to the simulator with the lab's CA and token."""

    def __init__(self, config):
        self.k8s = K8sService(config)
        self._ctx = None

    def running(self):
        return self.k8s.is_running()

    def request(self, method, path, body=None, content_type="application/json", missing_ok=False):
        if self._ctx is None:
            self._ctx = ssl.create_default_context(cafile=str(self.k8s.dir / "ca.crt"))
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.k8s.url + path, data=data, method=method)  # noqa: S310 - loopback https
        req.add_header("Authorization", f"Bearer {self.k8s.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=10) as resp:  # noqa: S310 - loopback https
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            detail = exc.read().decode(errors="replace")[:300]
            raise (Conflict if exc.code == 409 else LabError)(f"{method} {path} answered {exc.code}: {detail}") \
                from None
        except (urllib.error.URLError, OSError) as exc:
            raise LabError(f"the Kubernetes simulator does not answer at {self.k8s.url} ({exc}); is the lab up?") \
                from None

    def deployment(self, namespace=NAMESPACE, name=DEPLOYMENT):
        return self.request("GET", f"/apis/apps/v1/namespaces/{quote(namespace)}/deployments/{quote(name)}",
                            missing_ok=True)

    def update_deployment(self, change, namespace=NAMESPACE, name=DEPLOYMENT):
        """Read the Deployment, let change(copy) return the new object (or None: nothing to do) and write it
        back guarded by the resourceVersion read; a write that loses a race with a controller is redone.
        Returns (deployment, written)."""
        path = f"/apis/apps/v1/namespaces/{quote(namespace)}/deployments/{quote(name)}"
        for attempt in Retrying(retry=retry_if_exception_type(Conflict), stop=stop_after_attempt(5),
                                wait=wait_random(0.02, 0.2), reraise=True):
            with attempt:
                current = self.request("GET", path, missing_ok=True)
                new = change(copy.deepcopy(current)) if current is not None else None
                if new is None:
                    return current, False
                return self.request("PUT", path, new), True
        raise AssertionError("unreachable: Retrying re-raises the last Conflict")

    def profile(self, namespace, workload):
        """The workload's custom profile (only its fields), or None while the simulator's default applies."""
        body = self.request("GET", _profile_path(namespace, workload))
        if not body.get("custom"):
            return None
        return {key: body[key] for key in PROFILE_FIELDS if key in body}

    def effective_profile(self, namespace, workload):
        body = self.request("GET", _profile_path(namespace, workload))
        return {key: body[key] for key in PROFILE_FIELDS if key in body}

    def set_profile(self, namespace, workload, fields):
        if fields is None:
            self.request("DELETE", _profile_path(namespace, workload))
        else:
            self.request("PUT", _profile_path(namespace, workload), fields)


def _profile_path(namespace, workload):
    return f"/_lab/v1/namespaces/{quote(namespace)}/profiles/{quote(workload)}"


# -- records --------------------------------------------------------------------------------------
def _record_path(config, name):
    return config.service_dir("faults") / f"{name}.json"


def load_record(config, name):
    path = _record_path(config, name)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def save_record(config, name, data):
    path = _record_path(config, name)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)


def drop_record(config, name):
    _record_path(config, name).unlink(missing_ok=True)


# -- profile overlays -----------------------------------------------------------------------------
OVERLAYS = "profile-overlays"


def _key(namespace, workload):
    return f"{namespace}/{workload}"


def _desired(state, key):
    active = [layers[key] for layers in state["overlays"].values() if key in layers]
    if not active:
        return state["base"].get(key)
    profile = dict(state["base"].get(key) or {})
    for layer in active:
        profile.update(layer)
    return profile


def _same(current, desired):
    if current is None or desired is None:
        return current is desired
    return all(current.get(k) == v for k, v in desired.items())


def add_overlay(kube, config, scenario, namespace, workload, fields):
    """Make the workload's profile carry `fields` for `scenario`; returns True when the profile changed."""
    state = load_record(config, OVERLAYS) or {"base": {}, "overlays": {}}
    key = _key(namespace, workload)
    current = kube.profile(namespace, workload)
    if not any(key in layers for layers in state["overlays"].values()):
        state["base"][key] = current  # what was there before any injected fault
    state["overlays"].setdefault(scenario, {})[key] = fields
    desired = _desired(state, key)
    save_record(config, OVERLAYS, state)
    if _same(current, desired):
        return False
    kube.set_profile(namespace, workload, desired)
    return True


def overlay_active(kube, config, scenario):
    """True when every profile field this scenario injected is still in force."""
    state = load_record(config, OVERLAYS) or {"base": {}, "overlays": {}}
    layers = state["overlays"].get(scenario)
    if not layers:
        return False
    for key, fields in layers.items():
        namespace, workload = key.split("/", 1)
        current = kube.profile(namespace, workload) or {}
        if not _same(current, fields):
            return False
    return True


def remove_overlay(kube, config, scenario):
    """Take this scenario's fields out of the profiles; returns the workloads whose profile was reset."""
    state = load_record(config, OVERLAYS) or {"base": {}, "overlays": {}}
    layers = state["overlays"].pop(scenario, None)
    if not layers:
        return []
    reset = []
    for key in layers:
        namespace, workload = key.split("/", 1)
        desired = _desired(state, key)
        if not any(key in other for other in state["overlays"].values()):
            state["base"].pop(key, None)
        if kube.running():
            kube.set_profile(namespace, workload, desired)
        reset.append(workload)
    save_record(config, OVERLAYS, state)
    return reset


# -- waiting for the symptom ----------------------------------------------------------------------
def wait_until(predicate, timeout, what):
    """Poll until predicate() is truthy; return its value, or raise LabError naming the symptom."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise LabError(f"{what} did not show within {timeout:.0f}s")
        time.sleep(0.1)


def api_state(config):
    return ApiService(config).state() or {}


# -- scenarios that only change the traffic profile ------------------------------------------------
def require_deployment(kube):
    if not kube.running() or kube.deployment() is None:
        raise LabError(f"deployment {DEPLOYMENT} does not exist in {NAMESPACE}; is the lab up? (labctl up)")


def inject_profile(config, scenario, fields):
    """Add the scenario's profile fields to pynomaly-api and wait until the API service serves them."""
    kube = Kube(config)
    require_deployment(kube)
    changed = add_overlay(kube, config, scenario, NAMESPACE, DEPLOYMENT, fields)
    wait_until(lambda: _serving(config, fields), 10, f"the API service serving {fields}")
    return changed


def _serving(config, fields):
    profile = api_state(config).get("profile") or {}
    return all(profile.get(k) == v for k, v in fields.items())


def profile_status(config, scenario, fields):
    kube = Kube(config)
    if not kube.running() or not overlay_active(kube, config, scenario):
        return False, "not injected"
    return True, "pynomaly-api traffic profile: " + ", ".join(f"{k}={v}" for k, v in fields.items())


def heal_profile(config, scenario):
    kube = Kube(config)
    reset = remove_overlay(kube, config, scenario)
    if not reset:
        return "nothing to heal"
    if not kube.running():
        return "nothing to heal (the cluster is not running)"
    if DEPLOYMENT in reset:
        wait_for_api_profile(kube, config)
    return f"traffic profile of {', '.join(reset)} restored"


class ProfileFault:
    """A scenario that only overlays fields on pynomaly-api's traffic profile (the scenario interface of
    labkit.faults: NAME, DESCRIPTION, inject, status, heal)."""

    def __init__(self, name, description, fields):
        self.NAME = name
        self.DESCRIPTION = description
        self.FIELDS = fields

    def inject(self, config):
        changed = inject_profile(config, self.NAME, self.FIELDS)
        return ("" if changed else "already injected: ") + self.status(config)[1]

    def status(self, config):
        return profile_status(config, self.NAME, self.FIELDS)

    def heal(self, config):
        return heal_profile(config, self.NAME)


def wait_for_api_profile(kube, config):
    """Return once the API service answers with the simulator's current profile of pynomaly-api."""
    effective = kube.effective_profile(NAMESPACE, DEPLOYMENT)
    wait_until(lambda: _serving(config, effective), 10, "the API service serving the restored profile")


# -- node pressure: a DaemonSet whose pods use what the nodes have left -----------------------------
PRESSURE_NAMESPACE = "kube-system"


def pressure_daemonset(name, scenario):
    labels = {"app.kubernetes.io/name": name, LAB_LABEL: scenario}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": PRESSURE_NAMESPACE, "labels": dict(labels)},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{
                         "name": "pressure", "image": "busybox:1.36",
                         "command": ["sh", "-c", "while true; do :; done"]}]}}}}


def _quantity(value):
    """cores or bytes from a Kubernetes quantity (the forms metrics.k8s.io and node status use)."""
    units = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
             "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix in sorted(units, key=len, reverse=True):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * units[suffix]
    return float(value)


def node_usage(kube, resource):
    """{node: (used, allocatable)} for resource "cpu" (cores) or "memory" (bytes)."""
    nodes = kube.request("GET", "/api/v1/nodes")["items"]
    metrics = {m["metadata"]["name"]: m for m in kube.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes")["items"]}
    out = {}
    for node in nodes:
        name = node["metadata"]["name"]
        if name in metrics:
            out[name] = (_quantity(metrics[name]["usage"][resource]),
                         _quantity(node["status"]["allocatable"][resource]))
    return out


def inject_pressure(config, scenario, resource, pod_fields, target, threshold, idle_fields):
    """Push pynomaly-api's pods near their limits (pod_fields), then size a DaemonSet so that every node's
    `resource` usage sits at `target` of allocatable, and wait until every node is above `threshold`."""
    kube = Kube(config)
    require_deployment(kube)
    name = f"lab-pressure-{resource}"
    changed = add_overlay(kube, config, scenario, NAMESPACE, DEPLOYMENT, pod_fields)
    path = f"/apis/apps/v1/namespaces/{PRESSURE_NAMESPACE}/daemonsets/{name}"
    if kube.request("GET", path, missing_ok=True) is None:
        usage = node_usage(kube, resource)
        need = max(target * alloc - used for used, alloc in usage.values())
        ceiling = min(0.99 * alloc - used for used, alloc in usage.values())
        per_pod = max(min(need, ceiling), need if ceiling < need else 0.0)
        field = "cpu_millicores" if resource == "cpu" else "memory_bytes"
        value = round(per_pod * 1000) if resource == "cpu" else round(per_pod)
        add_overlay(kube, config, scenario, PRESSURE_NAMESPACE, name, {**idle_fields, field: value})
        kube.request("POST", f"/apis/apps/v1/namespaces/{PRESSURE_NAMESPACE}/daemonsets",
                     pressure_daemonset(name, scenario))
        changed = True

    def every_node_above():
        usage = node_usage(kube, resource)
        return usage and all(used / alloc > threshold for used, alloc in usage.values())

    wait_until(every_node_above, 20, f"every node's {resource} above {threshold:.0%}")
    return changed


def pressure_status(config, scenario, resource, threshold):
    kube = Kube(config)
    if not kube.running() or not overlay_active(kube, config, scenario):
        return False, "not injected"
    usage = node_usage(kube, resource)
    shown = ", ".join(f"{node} {used / alloc:.0%}" for node, (used, alloc) in sorted(usage.items()))
    hot = sum(1 for used, alloc in usage.values() if used / alloc > threshold)
    return True, f"{hot}/{len(usage)} nodes above {threshold:.0%} {resource} ({shown})"


def heal_pressure(config, scenario, resource):
    kube = Kube(config)
    name = f"lab-pressure-{resource}"
    deleted = False
    if kube.running():
        path = f"/apis/apps/v1/namespaces/{PRESSURE_NAMESPACE}/daemonsets/{name}"
        current = kube.request("GET", path, missing_ok=True)
        if current is not None and (current["metadata"].get("labels") or {}).get(LAB_LABEL) == scenario:
            kube.request("DELETE", path, missing_ok=True)
            deleted = True
    reset = remove_overlay(kube, config, scenario)
    if not reset and not deleted:
        return "nothing to heal"
    if not kube.running():
        return "nothing to heal (the cluster is not running)"
    wait_for_api_profile(kube, config)
    return f"DaemonSet {PRESSURE_NAMESPACE}/{name} deleted, traffic profiles restored"
