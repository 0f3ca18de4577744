"""Endpoints and EndpointSlices, computed on read from Services and their pods (what the endpoints
controllers would have written): ready pods as addresses, the others as not-ready."""
import uuid

from k8s_sim import resources as R
from k8s_sim.cluster import owner_ref
from k8s_sim.controllers.common import pod_is_ready
from k8s_sim.selectors import labels_match
from k8s_sim.util import stable_int

_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


def _uid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _target_port(svc_port, pod):
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, str):
        for c in pod["spec"]["containers"]:
            for p in c.get("ports") or []:
                if p.get("name") == target:
                    return p["containerPort"]
        return None
    return target


def _backends(store, svc):
    selector = (svc.get("spec") or {}).get("selector")
    if not selector:
        return None
    reqs = [(k, "=", [v]) for k, v in selector.items()]
    return [p for p in store.list(R.PODS, svc["metadata"]["namespace"])
            if labels_match(reqs, p["metadata"].get("labels")) and (p.get("status") or {}).get("podIP")]


def _target_ref(pod):
    return {"kind": "Pod", "namespace": pod["metadata"]["namespace"], "name": pod["metadata"]["name"],
            "uid": pod["metadata"]["uid"]}


def endpoints(store, svc):
    pods = _backends(store, svc)
    if pods is None:
        return None
    meta = svc["metadata"]
    obj = {"kind": "Endpoints", "apiVersion": "v1",
           "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": _uid("ep", meta["uid"]),
                        "resourceVersion": str(store.rv), "creationTimestamp": meta["creationTimestamp"]}}
    if meta.get("labels"):
        obj["metadata"]["labels"] = dict(meta["labels"])
    ready = [p for p in pods if pod_is_ready(p) and not p["metadata"].get("deletionTimestamp")]
    not_ready = [p for p in pods if p not in ready]
    if pods:
        subset = {}
        if ready:
            subset["addresses"] = [{"ip": p["status"]["podIP"], "nodeName": p["spec"].get("nodeName"),
                                    "targetRef": _target_ref(p)} for p in ready]
        if not_ready:
            subset["notReadyAddresses"] = [{"ip": p["status"]["podIP"], "nodeName": p["spec"].get("nodeName"),
                                            "targetRef": _target_ref(p)} for p in not_ready]
        subset["ports"] = []
        for sp in svc["spec"].get("ports") or []:
            port = _target_port(sp, pods[0])
            if port is None:
                continue
            entry = {"port": port, "protocol": sp.get("protocol", "TCP")}
            if sp.get("name"):
                entry = {"name": sp["name"], **entry}
            subset["ports"].append(entry)
        obj["subsets"] = [subset]
    return obj


def endpoint_slice(store, svc):
    pods = _backends(store, svc)
    if pods is None:
        return None
    meta = svc["metadata"]
    n = stable_int(meta["uid"])
    suffix = "".join(_SUFFIX[(n >> (5 * i)) % len(_SUFFIX)] for i in range(5))
    labels = dict(meta.get("labels") or {})
    labels.update({"kubernetes.io/service-name": meta["name"],
                   "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"})
    nodes = {n["metadata"]["name"]: n for n in store.list(R.NODES)}
    items = []
    for p in pods:
        terminating = bool(p["metadata"].get("deletionTimestamp"))
        ready = pod_is_ready(p) and not terminating
        ep = {"addresses": [p["status"]["podIP"]],
              "conditions": {"ready": ready, "serving": pod_is_ready(p), "terminating": terminating},
              "targetRef": _target_ref(p)}
        node = p["spec"].get("nodeName")
        if node:
            ep["nodeName"] = node
            zone = ((nodes.get(node) or {}).get("metadata", {}).get("labels") or {}).get("topology.kubernetes.io/zone")
            if zone:
                ep["zone"] = zone
        items.append(ep)
    ports = []
    for sp in svc["spec"].get("ports") or []:
        port = _target_port(sp, pods[0]) if pods else None
        ports.append({"name": sp.get("name", ""), "port": port, "protocol": sp.get("protocol", "TCP")})
    return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": f"{meta['name']}-{suffix}", "generateName": f"{meta['name']}-",
                         "namespace": meta["namespace"], "uid": _uid("eps", meta["uid"]),
                         "resourceVersion": str(store.rv), "creationTimestamp": meta["creationTimestamp"],
                         "labels": labels, "ownerReferences": [dict(owner_ref(svc), controller=True)]},
            "addressType": "IPv4", "endpoints": items, "ports": ports}


def computed(store, rtype, namespace):
    out = []
    for svc in store.list(R.SERVICES, namespace):
        obj = endpoints(store, svc) if rtype is R.ENDPOINTS else endpoint_slice(store, svc)
        if obj is not None:
            out.append(obj)
    return out
