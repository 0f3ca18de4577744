"""Server-side printing: meta.k8s.io/v1 Table for `kubectl get`, with the columns the apiserver's
printers define for each kind (priority 1 columns appear with `-o wide`)."""
from k8s_sim import resources as R
from k8s_sim.selectors import selector_string
from k8s_sim.util import human_duration, now, parse_time


def col(name, type_="string", priority=0, fmt="", description=""):
    return {"name": name, "type": type_, "format": fmt, "description": description or name, "priority": priority}


NAME = col("Name", fmt="name", description="Name must be unique within a namespace.")
AGE = col("Age", description="CreationTimestamp is a timestamp representing the server time when this object was "
                             "created.")


def age(obj, t):
    ts = obj["metadata"].get("creationTimestamp")
    return human_duration(t - parse_time(ts)) if ts else "<unknown>"


def _containers(obj):
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    cs = spec.get("containers") or []
    return ",".join(c["name"] for c in cs), ",".join(c.get("image", "") for c in cs)


def _pod_row(pod, t):
    status = pod.get("status") or {}
    cstats = status.get("containerStatuses") or []
    total = len(pod["spec"].get("containers") or [])
    ready = sum(1 for c in cstats if c.get("ready"))
    reason = status.get("reason") or status.get("phase") or "Pending"
    restarts, last_restart = 0, None
    for c in cstats:
        restarts += c.get("restartCount", 0)
        term = (c.get("lastState") or {}).get("terminated")
        if term and term.get("finishedAt"):
            finished = parse_time(term["finishedAt"])
            last_restart = max(last_restart or 0, finished)
    has_running = False
    for c in reversed(cstats):
        state = c.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            term = state["terminated"]
            reason = term.get("reason") or (f"Signal:{term['signal']}" if term.get("signal")
                                            else f"ExitCode:{term.get('exitCode')}")
        elif state.get("running") and c.get("ready"):
            has_running = True
    if reason == "Completed" and has_running:
        reason = "Running"
    if status.get("phase") == "Running" and reason == "Running" and not has_running and ready < total:
        reason = "Running"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    restarts_cell = str(restarts)
    if last_restart:
        restarts_cell = f"{restarts} ({human_duration(t - last_restart)} ago)"
    readiness = pod["spec"].get("readinessGates")
    gates = "<none>" if not readiness else f"0/{len(readiness)}"
    return [pod["metadata"]["name"], f"{ready}/{total}", reason, restarts_cell, age(pod, t),
            status.get("podIP") or "<none>", pod["spec"].get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", gates]


POD_COLS = [NAME, col("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
            col("Status", description="The aggregate status of the containers in this pod."),
            col("Restarts", description="The number of times the containers in this pod have been restarted and "
                                        "when the last container in this pod has restarted."),
            AGE, col("IP", priority=1), col("Node", priority=1), col("Nominated Node", priority=1),
            col("Readiness Gates", priority=1)]


def _deployment_row(d, t):
    st = d.get("status") or {}
    names, images = _containers(d)
    return [d["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{d['spec'].get('replicas', 1)}",
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0), age(d, t), names, images,
            selector_string(d["spec"].get("selector")) or "<none>"]


def _rs_row(rs, t):
    st = rs.get("status") or {}
    names, images = _containers(rs)
    return [rs["metadata"]["name"], rs["spec"].get("replicas", 1), st.get("replicas", 0), st.get("readyReplicas", 0),
            age(rs, t), names, images, selector_string(rs["spec"].get("selector")) or "<none>"]


def _sts_row(s, t):
    st = s.get("status") or {}
    names, images = _containers(s)
    return [s["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{s['spec'].get('replicas', 1)}", age(s, t),
            names, images]


def _ds_row(ds, t):
    st = ds.get("status") or {}
    names, images = _containers(ds)
    node_sel = ((ds["spec"].get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    return [ds["metadata"]["name"], st.get("desiredNumberScheduled", 0), st.get("currentNumberScheduled", 0),
            st.get("numberReady", 0), st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in node_sel.items()) or "<none>", age(ds, t), names, images,
            selector_string(ds["spec"].get("selector")) or "<none>"]


def _svc_row(s, t):
    spec = s.get("spec") or {}
    ports = []
    for p in spec.get("ports") or []:
        text = f"{p['port']}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        ports.append(f"{text}/{p.get('protocol', 'TCP')}")
    ext = ",".join(spec.get("externalIPs") or []) or ("<pending>" if spec.get("type") == "LoadBalancer" else "<none>")
    sel = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [s["metadata"]["name"], spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", ext,
            ",".join(ports) or "<none>", age(s, t), sel]


def _node_row(n, t):
    st = n.get("status") or {}
    ready = next((c for c in st.get("conditions") or [] if c["type"] == "Ready"), None)
    status = "Ready" if ready and ready["status"] == "True" else "NotReady"
    if (n.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (n["metadata"].get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/"))
    info = st.get("nodeInfo") or {}
    addrs = {a["type"]: a["address"] for a in st.get("addresses") or []}
    return [n["metadata"]["name"], status, ",".join(roles) or "<none>", age(n, t), info.get("kubeletVersion", ""),
            addrs.get("InternalIP", "<none>"), addrs.get("ExternalIP", "<none>"), info.get("osImage", ""),
            info.get("kernelVersion", ""), info.get("containerRuntimeVersion", "")]


def _event_row(e, t):
    last = e.get("lastTimestamp") or e.get("eventTime") or e["metadata"].get("creationTimestamp")
    first = e.get("firstTimestamp") or last
    io = e.get("involvedObject") or {}
    obj = f"{(io.get('kind') or '').lower()}/{io.get('name')}"
    source = (e.get("source") or {}).get("component", "")
    if (e.get("source") or {}).get("host"):
        source += f", {e['source']['host']}"
    return [human_duration(t - parse_time(last)), e.get("type", ""), e.get("reason", ""), obj,
            io.get("fieldPath", ""), source, e.get("message", ""), human_duration(t - parse_time(first)),
            e.get("count", 1), e["metadata"]["name"]]


def _hpa_row(h, t):
    spec, st = h.get("spec") or {}, h.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    targets = []
    current = {(m.get("resource") or {}).get("name"): (m.get("resource") or {}).get("current") or {}
               for m in st.get("currentMetrics") or []}
    for m in spec.get("metrics") or []:
        if m.get("type") != "Resource":
            continue
        name = m["resource"]["name"]
        tgt = m["resource"].get("target") or {}
        cur = current.get(name) or {}
        if tgt.get("type", "Utilization") == "Utilization":
            now_val = f"{cur['averageUtilization']}%" if "averageUtilization" in cur else "<unknown>"
            targets.append(f"{name}: {now_val}/{tgt.get('averageUtilization')}%")
        else:
            targets.append(f"{name}: {cur.get('averageValue', '<unknown>')}/{tgt.get('averageValue')}")
    return [h["metadata"]["name"], f"{ref.get('kind')}/{ref.get('name')}", ", ".join(targets) or "<none>",
            spec.get("minReplicas", 1), spec.get("maxReplicas"), st.get("currentReplicas", 0), age(h, t)]


def _cm_row(c, t):
    return [c["metadata"]["name"], len(c.get("data") or {}) + len(c.get("binaryData") or {}), age(c, t)]


def _secret_row(s, t):
    return [s["metadata"]["name"], s.get("type", "Opaque"), len(s.get("data") or {}), age(s, t)]


def _ns_row(n, t):
    return [n["metadata"]["name"], (n.get("status") or {}).get("phase", "Active"), age(n, t)]


def _np_row(n, t):
    return [n["metadata"]["name"], selector_string((n.get("spec") or {}).get("podSelector")) or "<none>", age(n, t)]


def _cr_row(c, t):
    owner = next((r for r in c["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
    controller = f"{owner['kind'].lower()}.{owner['apiVersion'].split('/')[0]}/{owner['name']}" if owner else "<none>"
    return [c["metadata"]["name"], controller, c.get("revision", 0), age(c, t)]


def _endpoints_row(e, t):
    addrs = []
    for subset in e.get("subsets") or []:
        for a in subset.get("addresses") or []:
            for p in subset.get("ports") or [{}]:
                addrs.append(f"{a['ip']}:{p['port']}" if p.get("port") else a["ip"])
    shown = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [e["metadata"]["name"], shown or "<none>", age(e, t)]


def _slice_row(s, t):
    ports = ",".join(str(p["port"]) for p in s.get("ports") or [] if p.get("port")) or "<unset>"
    addrs = [a for ep in s.get("endpoints") or [] for a in ep.get("addresses") or []]
    shown = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [s["metadata"]["name"], s.get("addressType", "IPv4"), ports, shown or "<unset>", age(s, t)]


def _lease_row(lease, t):
    holder = (lease.get("spec") or {}).get("holderIdentity")
    return [lease["metadata"]["name"], holder if holder is not None else "", age(lease, t)]


def _metrics_row(m, t):
    return [m["metadata"]["name"], age(m, t)]


PRINTERS = {
    R.PODS.key: (POD_COLS, _pod_row),
    R.DEPLOYMENTS.key: ([NAME, col("Ready"), col("Up-to-date", "integer"), col("Available", "integer"), AGE,
                         col("Containers", priority=1), col("Images", priority=1), col("Selector", priority=1)],
                        _deployment_row),
    R.REPLICASETS.key: ([NAME, col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"), AGE,
                         col("Containers", priority=1), col("Images", priority=1), col("Selector", priority=1)],
                        _rs_row),
    R.STATEFULSETS.key: ([NAME, col("Ready"), AGE, col("Containers", priority=1), col("Images", priority=1)],
                         _sts_row),
    R.DAEMONSETS.key: ([NAME, col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"),
                        col("Up-to-date", "integer"), col("Available", "integer"), col("Node Selector"), AGE,
                        col("Containers", priority=1), col("Images", priority=1), col("Selector", priority=1)],
                       _ds_row),
    R.SERVICES.key: ([NAME, col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"), AGE,
                      col("Selector", priority=1)], _svc_row),
    R.NODES.key: ([NAME, col("Status"), col("Roles"), AGE, col("Version"), col("Internal-IP", priority=1),
                   col("External-IP", priority=1), col("OS-Image", priority=1), col("Kernel-Version", priority=1),
                   col("Container-Runtime", priority=1)], _node_row),
    R.EVENTS.key: ([col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Subobject", priority=1),
                    col("Source", priority=1), col("Message"), col("First Seen", priority=1),
                    col("Count", "integer", priority=1), col("Name", priority=1)], _event_row),
    R.HPAS.key: ([NAME, col("Reference"), col("Targets"), col("MinPods", "integer"), col("MaxPods", "integer"),
                  col("Replicas", "integer"), AGE], _hpa_row),
    R.CONFIGMAPS.key: ([NAME, col("Data", "integer"), AGE], _cm_row),
    R.SECRETS.key: ([NAME, col("Type"), col("Data", "integer"), AGE], _secret_row),
    R.NAMESPACES.key: ([NAME, col("Status"), AGE], _ns_row),
    R.NETWORKPOLICIES.key: ([NAME, col("Pod-Selector"), AGE], _np_row),
    R.CONTROLLERREVISIONS.key: ([NAME, col("Controller"), col("Revision", "integer"), AGE], _cr_row),
    R.LEASES.key: ([NAME, col("Holder", description="holderIdentity contains the identity of the holder of a "
                                                    "current lease. If Coordinated Leader Election is used, the "
                                                    "holder identity must be equal to the elected "
                                                    "LeaseCandidate.metadata.name field."), AGE], _lease_row),
    R.ENDPOINTS.key: ([NAME, col("Endpoints"), AGE], _endpoints_row),
    R.ENDPOINTSLICES.key: ([NAME, col("AddressType"), col("Ports"), col("Endpoints"), AGE], _slice_row),
}


def partial_metadata(obj):
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(rtype, objs, resource_version, include_object="Metadata", t=None, continue_token=None):
    t = t or now()
    cols, row_fn = PRINTERS.get(rtype.key, ([NAME, AGE], _metrics_row))
    rows = []
    for obj in objs:
        row = {"cells": row_fn(obj, t)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    meta = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": cols,
            "rows": rows}


def wants_table(accept):
    return bool(accept) and "as=Table" in accept
