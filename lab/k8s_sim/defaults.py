"""Defaulting and validation, as the apiserver applies them before storing an object."""
import base64
import ipaddress
import re

from k8s_sim import errors
from k8s_sim import resources as R
from k8s_sim.selectors import selector_matches

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def default_container(c):
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    image = c.get("image", "")
    if "imagePullPolicy" not in c:
        tag = image.rsplit("/", 1)[-1]
        latest = "@" not in tag and (":" not in tag or tag.endswith(":latest"))
        c["imagePullPolicy"] = "Always" if latest else "IfNotPresent"
    c.setdefault("resources", {})
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        p = c.get(probe)
        if isinstance(p, dict):
            p.setdefault("timeoutSeconds", 1)
            p.setdefault("periodSeconds", 10)
            p.setdefault("successThreshold", 1)
            p.setdefault("failureThreshold", 3)
            if isinstance(p.get("httpGet"), dict):
                p["httpGet"].setdefault("path", "/")
                p["httpGet"].setdefault("scheme", "HTTP")
    for env in c.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("fieldRef")
        if ref:
            ref.setdefault("apiVersion", "v1")


def default_pod_spec(spec):
    for c in spec.get("containers") or []:
        default_container(c)
    for c in spec.get("initContainers") or []:
        default_container(c)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for v in spec.get("volumes") or []:
        for src in ("configMap", "secret"):
            if isinstance(v.get(src), dict):
                v[src].setdefault("defaultMode", 420)
        if not any(k for k in v if k != "name"):
            v["emptyDir"] = {}


def default_template(template):
    template.setdefault("metadata", {})
    meta = template["metadata"]
    if meta.get("creationTimestamp", 0) is None:
        del meta["creationTimestamp"]
    default_pod_spec(template.setdefault("spec", {}))


def apply_defaults(rtype, obj):
    spec = obj.get("spec")
    if rtype is R.DEPLOYMENTS:
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        default_template(spec.setdefault("template", {}))
    elif rtype is R.REPLICASETS:
        spec.setdefault("replicas", 1)
        default_template(spec.setdefault("template", {}))
    elif rtype is R.STATEFULSETS:
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type") == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {"partition": 0})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        default_template(spec.setdefault("template", {}))
    elif rtype is R.DAEMONSETS:
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type") == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})
        spec.setdefault("revisionHistoryLimit", 10)
        default_template(spec.setdefault("template", {}))
    elif rtype is R.PODS:
        default_pod_spec(obj.setdefault("spec", {}))
        obj.setdefault("status", {"phase": "Pending", "qosClass": qos_class(obj["spec"])})
    elif rtype is R.SERVICES:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        obj.setdefault("status", {"loadBalancer": {}})
    elif rtype is R.SECRETS:
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if string_data:
            data = obj.setdefault("data", {})
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
    elif rtype is R.NAMESPACES:
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif rtype is R.HPAS:
        spec.setdefault("minReplicas", 1)
        spec.setdefault("metrics", [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
    elif rtype is R.NETWORKPOLICIES:
        spec.setdefault("policyTypes", ["Ingress"] + (["Egress"] if spec.get("egress") else []))
    elif rtype is R.LEASES:
        # The lease strategy's PrepareForCreate/Update: strategy and preferredHolder belong to the
        # CoordinatedLeaderElection feature gate, off by default in 1.32, so they are dropped.
        spec = obj.setdefault("spec", {})
        spec.pop("strategy", None)
        spec.pop("preferredHolder", None)
    return obj


def qos_class(spec):
    containers = spec.get("containers") or []
    requests = [((c.get("resources") or {}).get("requests") or {}) for c in containers]
    limits = [((c.get("resources") or {}).get("limits") or {}) for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        lim.get("cpu") and lim.get("memory") and req.get("cpu", lim["cpu"]) == lim["cpu"]
        and req.get("memory", lim["memory"]) == lim["memory"]
        for req, lim in zip(requests, limits, strict=False)
    )
    return "Guaranteed" if guaranteed else "Burstable"


def validate(rtype, obj):
    name = (obj.get("metadata") or {}).get("name") or ""
    causes = []
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif rtype is R.NAMESPACES or rtype is R.SERVICES:
        if not _DNS1123_LABEL.match(name) or len(name) > 63:
            causes.append(("metadata.name", f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of '
                           "lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
                           "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                           "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"))
    elif not _DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
        causes.append(("metadata.name", f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of '
                       "lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                       "character (e.g. 'example.com', regex used for validation is "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"))
    spec = obj.get("spec") or {}
    if rtype in (R.DEPLOYMENTS, R.REPLICASETS, R.STATEFULSETS, R.DAEMONSETS):
        selector = spec.get("selector")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            causes.append(("spec.selector", "Required value"))
        elif not selector_matches(selector, labels):
            shown = "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
            causes.append(("spec.template.metadata.labels",
                           f"Invalid value: {shown}: `selector` does not match template `labels`"))
        replicas = spec.get("replicas")
        if isinstance(replicas, int) and replicas < 0:
            causes.append(("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0"))
        causes += _validate_pod_spec((spec.get("template") or {}).get("spec") or {}, "spec.template.spec")
        if rtype is R.DEPLOYMENTS:
            pds = spec.get("progressDeadlineSeconds")
            if isinstance(pds, int) and pds <= (spec.get("minReadySeconds") or 0):
                causes.append(("spec.progressDeadlineSeconds",
                               f"Invalid value: {pds}: must be greater than minReadySeconds"))
    elif rtype is R.PODS:
        causes += _validate_pod_spec(spec, "spec")
    elif rtype is R.SERVICES:
        for i, port in enumerate(spec.get("ports") or []):
            p = port.get("port")
            if not isinstance(p, int) or not 0 < p < 65536:
                causes.append((f"spec.ports[{i}].port",
                               f"Invalid value: {p}: must be between 1 and 65535, inclusive"))
        cluster_ip = spec.get("clusterIP")
        if cluster_ip and cluster_ip != "None":
            try:
                ipaddress.ip_address(cluster_ip)
            except ValueError:
                causes.append(("spec.clusterIPs[0]", f'Invalid value: "{cluster_ip}": must be a valid IP address'))
    elif rtype is R.HPAS:
        mn, mx = spec.get("minReplicas", 1), spec.get("maxReplicas")
        if mx is None:
            causes.append(("spec.maxReplicas", "Required value"))
        elif isinstance(mn, int) and mx < mn:
            causes.append(("spec.maxReplicas", f"Invalid value: {mx}: must be greater than or equal to `minReplicas`"))
        if not spec.get("scaleTargetRef"):
            causes.append(("spec.scaleTargetRef.kind", "Required value"))
    elif rtype is R.LEASES:
        causes += _validate_lease_spec(spec)
    if causes:
        raise errors.invalid(rtype, name, causes)


def _validate_lease_spec(spec):
    """pkg/apis/coordination/validation ValidateLeaseSpec (holderIdentity is free text; acquireTime and
    renewTime were already checked when the body was decoded, see typed.py)."""
    causes = []
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and duration <= 0:
        causes.append(("spec.leaseDurationSeconds", f"Invalid value: {duration}: must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if transitions is not None and transitions < 0:
        causes.append(("spec.leaseTransitions", f"Invalid value: {transitions}: must be greater than or equal to 0"))
    return causes


def _validate_pod_spec(spec, where):
    causes = []
    containers = spec.get("containers")
    if not containers:
        causes.append((f"{where}.containers", "Required value"))
        return causes
    seen = set()
    for i, c in enumerate(containers):
        cname = c.get("name")
        if not cname:
            causes.append((f"{where}.containers[{i}].name", "Required value"))
        elif cname in seen:
            causes.append((f"{where}.containers[{i}].name", f'Duplicate value: "{cname}"'))
        seen.add(cname)
        if not c.get("image"):
            causes.append((f"{where}.containers[{i}].image", "Required value"))
        policy = c.get("imagePullPolicy")
        if policy not in (None, "Always", "IfNotPresent", "Never"):
            causes.append((f"{where}.containers[{i}].imagePullPolicy",
                           f'Unsupported value: "{policy}": supported values: "Always", "IfNotPresent", "Never"'))
    restart = spec.get("restartPolicy")
    if restart not in (None, "Always", "OnFailure", "Never"):
        causes.append((f"{where}.restartPolicy",
                       f'Unsupported value: "{restart}": supported values: "Always", "OnFailure", "Never"'))
    return causes


# Top-level fields each kind accepts, for fieldValidation=Strict.
_COMMON = {"apiVersion", "kind", "metadata"}
KNOWN_FIELDS = {
    R.CONFIGMAPS.key: _COMMON | {"data", "binaryData", "immutable"},
    R.SECRETS.key: _COMMON | {"data", "stringData", "type", "immutable"},
    R.EVENTS.key: _COMMON | {"involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp",
                             "count", "type", "eventTime", "series", "action", "related", "reportingComponent",
                             "reportingInstance"},
    R.CONTROLLERREVISIONS.key: _COMMON | {"data", "revision"},
    R.LEASES.key: _COMMON | {"spec"},
}
_SPEC_FIELDS = {
    R.DEPLOYMENTS.key: {"replicas", "selector", "template", "strategy", "minReadySeconds", "revisionHistoryLimit",
                        "paused", "progressDeadlineSeconds"},
    R.REPLICASETS.key: {"replicas", "selector", "template", "minReadySeconds"},
    R.STATEFULSETS.key: {"replicas", "selector", "template", "volumeClaimTemplates", "serviceName",
                         "podManagementPolicy", "updateStrategy", "revisionHistoryLimit", "minReadySeconds",
                         "persistentVolumeClaimRetentionPolicy", "ordinals"},
    R.DAEMONSETS.key: {"selector", "template", "updateStrategy", "minReadySeconds", "revisionHistoryLimit"},
    R.LEASES.key: {"holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions",
                   "strategy", "preferredHolder"},
}
_POD_SPEC_FIELDS = {
    "volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds",
    "activeDeadlineSeconds", "dnsPolicy", "nodeSelector", "serviceAccountName", "serviceAccount",
    "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace",
    "securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity", "schedulerName", "tolerations",
    "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates", "runtimeClassName",
    "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os",
    "hostUsers", "schedulingGates", "resourceClaims", "resources",
}
_CONTAINER_FIELDS = {
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy",
    "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
    "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce",
    "tty",
}
METADATA_FIELDS = {
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
    "managedFields",
}


def unknown_fields(rtype, obj):
    """Field paths Kubernetes' strict decoding would reject (checked for the fields we know)."""
    found = []
    allowed = KNOWN_FIELDS.get(rtype.key, _COMMON | {"spec", "status"})
    found += [k for k in obj if k not in allowed]
    found += [f"metadata.{k}" for k in (obj.get("metadata") or {}) if k not in METADATA_FIELDS]
    spec = obj.get("spec")
    if isinstance(spec, dict) and rtype.key in _SPEC_FIELDS:
        found += [f"spec.{k}" for k in spec if k not in _SPEC_FIELDS[rtype.key]]
        pod_spec = (spec.get("template") or {}).get("spec")
        prefix = "spec.template.spec"
    elif rtype is R.PODS:
        pod_spec, prefix = spec, "spec"
    else:
        pod_spec, prefix = None, ""
    if isinstance(pod_spec, dict):
        found += [f"{prefix}.{k}" for k in pod_spec if k not in _POD_SPEC_FIELDS]
        for i, c in enumerate(pod_spec.get("containers") or []):
            found += [f"{prefix}.containers[{i}].{k}" for k in c if k not in _CONTAINER_FIELDS]
    return found
