"""The resource types the simulator serves, and the discovery documents derived from them."""
from dataclasses import dataclass, field

VERBS_ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
VERBS_RO = ["get", "list"]


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple = ()
    categories: tuple = ()
    verbs: tuple = tuple(VERBS_ALL)
    subresources: tuple = ()  # names like "status", "scale", "log"
    generation: bool = False  # metadata.generation tracks spec changes
    stored: bool = True  # False: computed on read (metrics)
    # The registry strategy's AllowCreateOnUpdate / AllowUnconditionalUpdate: a PUT to a missing object
    # creates it; a PUT without metadata.resourceVersion overwrites (else 422 "must be specified").
    create_on_update: bool = False
    unconditional_update: bool = True

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self):
        return f"{self.group}/{self.plural}"

    @property
    def singular(self):
        return self.kind.lower()

    @property
    def list_kind(self):
        return self.kind + "List"

    @property
    def base_path(self):
        return f"/apis/{self.group}/{self.version}" if self.group else "/api/v1"


R = ResourceType
NAMESPACES = R("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",),
               verbs=("create", "delete", "get", "list", "patch", "update", "watch"), subresources=("status",))
NODES = R("", "v1", "nodes", "Node", namespaced=False, short_names=("no",), subresources=("status",))
PODS = R("", "v1", "pods", "Pod", short_names=("po",), categories=("all",), subresources=("log", "status"))
EVENTS = R("", "v1", "events", "Event", short_names=("ev",))
SERVICES = R("", "v1", "services", "Service", short_names=("svc",), categories=("all",),
             verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
             subresources=("status",))
CONFIGMAPS = R("", "v1", "configmaps", "ConfigMap", short_names=("cm",))
SECRETS = R("", "v1", "secrets", "Secret")
DEPLOYMENTS = R("apps", "v1", "deployments", "Deployment", short_names=("deploy",), categories=("all",),
                subresources=("scale", "status"), generation=True)
REPLICASETS = R("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",), categories=("all",),
                subresources=("scale", "status"), generation=True)
STATEFULSETS = R("apps", "v1", "statefulsets", "StatefulSet", short_names=("sts",), categories=("all",),
                 subresources=("scale", "status"), generation=True)
DAEMONSETS = R("apps", "v1", "daemonsets", "DaemonSet", short_names=("ds",), categories=("all",),
               subresources=("status",), generation=True)
CONTROLLERREVISIONS = R("apps", "v1", "controllerrevisions", "ControllerRevision")
HPAS = R("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", short_names=("hpa",),
         categories=("all",), subresources=("status",), generation=True)
NETWORKPOLICIES = R("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short_names=("netpol",),
                    generation=True)
LEASES = R("coordination.k8s.io", "v1", "leases", "Lease", create_on_update=True, unconditional_update=False)
ENDPOINTS = R("", "v1", "endpoints", "Endpoints", short_names=("ep",), verbs=tuple(VERBS_RO), stored=False)
ENDPOINTSLICES = R("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", verbs=tuple(VERBS_RO), stored=False)
POD_METRICS = R("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", verbs=tuple(VERBS_RO), stored=False)
NODE_METRICS = R("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", namespaced=False, verbs=tuple(VERBS_RO),
                 stored=False)

ALL = [NAMESPACES, NODES, PODS, EVENTS, SERVICES, CONFIGMAPS, SECRETS, DEPLOYMENTS, REPLICASETS, STATEFULSETS,
       DAEMONSETS, CONTROLLERREVISIONS, HPAS, NETWORKPOLICIES, LEASES, ENDPOINTS, ENDPOINTSLICES, POD_METRICS,
       NODE_METRICS]

BY_PATH = {(r.group, r.version, r.plural): r for r in ALL}
BY_KIND = {(r.api_version, r.kind): r for r in ALL}


@dataclass
class GroupVersion:
    group: str
    version: str
    resources: list = field(default_factory=list)

    @property
    def group_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version


def group_versions():
    out = {}
    for r in ALL:
        out.setdefault((r.group, r.version), GroupVersion(r.group, r.version)).resources.append(r)
    return out


def lookup(group, version, plural):
    return BY_PATH.get((group, version, plural))


def api_resource_list(group, version):
    gv = group_versions().get((group, version))
    if gv is None:
        return None
    resources = []
    for r in gv.resources:
        entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                 "verbs": list(r.verbs)}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        resources.append(entry)
        for sub in r.subresources:
            sub_entry = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                         "kind": r.kind, "verbs": ["get", "patch", "update"]}
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1", kind="Scale")
            elif sub == "log":
                sub_entry["verbs"] = ["get"]
            resources.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv.group_version,
            "resources": resources}


def api_group_list():
    groups = {}
    for (group, version) in group_versions():
        if group:
            groups.setdefault(group, []).append(version)
    body = []
    for name, versions in groups.items():
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        body.append({"name": name, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": body}


def api_group(group):
    for g in api_group_list()["groups"]:
        if g["name"] == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **g}
    return None
