"""Decoding of the Kubernetes protobuf envelope for the kinds kubectl's generator commands send
(`kubectl create namespace|deployment|configmap|secret|service`, `kubectl run`, `kubectl expose`), and
Leases (client-go's leader election writes them with a typed client, protobuf when so configured).

Kubernetes' typed clients encode bodies as `k8s\\x00` + runtime.Unknown{typeMeta, raw}; `raw` is the
object in the wire format of k8s.io/api's generated.proto. The schemas below carry the field numbers
of those .proto files for the fields these commands set (and their common neighbours); other fields
are skipped. Pointer fields (`?`) keep zero values; other zero values are dropped, as JSON's omitempty.
"""
from k8s_sim.errors import ApiError
from k8s_sim.typed import format_micro_time

MAGIC = b"k8s\x00"

STR, INT, BOOL, BYTES = "string", "int", "bool", "bytes"
OPT_INT, OPT_BOOL, OPT_STR = "int?", "bool?", "string?"


def _map(value_type=STR):
    return ("map", value_type)


def _rep(t):
    return ("repeated", t)


SCHEMAS = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", BYTES), 3: ("contentEncoding", STR), 4: ("contentType", STR)},
    "TypeMeta": {1: ("apiVersion", STR), 2: ("kind", STR)},
    "ObjectMeta": {1: ("name", STR), 2: ("generateName", STR), 3: ("namespace", STR), 5: ("uid", STR),
                   6: ("resourceVersion", STR), 11: ("labels", _map()), 12: ("annotations", _map()),
                   14: ("finalizers", _rep(STR))},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", _rep(STR))},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", _map()), 3: ("binaryData", _map(BYTES)),
                  4: ("immutable", OPT_BOOL)},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", _map(BYTES)), 3: ("type", STR), 4: ("stringData", _map()),
               5: ("immutable", OPT_BOOL)},
    "Deployment": {1: ("metadata", "ObjectMeta"), 2: ("spec", "DeploymentSpec")},
    "DeploymentSpec": {1: ("replicas", OPT_INT), 2: ("selector", "LabelSelector"), 3: ("template", "PodTemplateSpec"),
                       4: ("strategy", "DeploymentStrategy"), 5: ("minReadySeconds", INT),
                       6: ("revisionHistoryLimit", OPT_INT), 7: ("paused", BOOL),
                       9: ("progressDeadlineSeconds", OPT_INT)},
    "DeploymentStrategy": {1: ("type", STR), 2: ("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "IntOrString"), 2: ("maxSurge", "IntOrString")},
    "IntOrString": {1: ("type", INT), 2: ("intVal", INT), 3: ("strVal", STR)},
    "LabelSelector": {1: ("matchLabels", _map()), 2: ("matchExpressions", _rep("LabelSelectorRequirement"))},
    "LabelSelectorRequirement": {1: ("key", STR), 2: ("operator", STR), 3: ("values", _rep(STR))},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "Pod": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "PodSpec": {1: ("volumes", _rep("Volume")), 2: ("containers", _rep("Container")), 3: ("restartPolicy", STR),
                4: ("terminationGracePeriodSeconds", OPT_INT), 5: ("activeDeadlineSeconds", OPT_INT),
                6: ("dnsPolicy", STR), 7: ("nodeSelector", _map()), 8: ("serviceAccountName", STR),
                10: ("nodeName", STR), 11: ("hostNetwork", BOOL), 16: ("hostname", STR), 17: ("subdomain", STR),
                19: ("schedulerName", STR), 20: ("initContainers", _rep("Container")), 24: ("priorityClassName", STR)},
    "Container": {1: ("name", STR), 2: ("image", STR), 3: ("command", _rep(STR)), 4: ("args", _rep(STR)),
                  5: ("workingDir", STR), 6: ("ports", _rep("ContainerPort")), 7: ("env", _rep("EnvVar")),
                  8: ("resources", "ResourceRequirements"), 9: ("volumeMounts", _rep("VolumeMount")),
                  13: ("terminationMessagePath", STR), 14: ("imagePullPolicy", STR), 16: ("stdin", BOOL),
                  17: ("stdinOnce", BOOL), 18: ("tty", BOOL), 20: ("terminationMessagePolicy", STR)},
    "ContainerPort": {1: ("name", STR), 2: ("hostPort", INT), 3: ("containerPort", INT), 4: ("protocol", STR),
                      5: ("hostIP", STR)},
    "EnvVar": {1: ("name", STR), 2: ("value", STR)},
    "ResourceRequirements": {1: ("limits", _map("Quantity")), 2: ("requests", _map("Quantity"))},
    "Quantity": {1: ("string", STR)},
    "VolumeMount": {1: ("name", STR), 2: ("readOnly", BOOL), 3: ("mountPath", STR), 4: ("subPath", STR)},
    "Volume": {1: ("name", STR)},
    "Service": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ServiceSpec")},
    "ServiceSpec": {1: ("ports", _rep("ServicePort")), 2: ("selector", _map()), 3: ("clusterIP", STR),
                    4: ("type", STR), 5: ("externalIPs", _rep(STR)), 7: ("sessionAffinity", STR),
                    11: ("externalName", STR)},
    "ServicePort": {1: ("name", STR), 2: ("protocol", STR), 3: ("port", INT), 4: ("targetPort", "IntOrString"),
                    5: ("nodePort", INT)},
    "Lease": {1: ("metadata", "ObjectMeta"), 2: ("spec", "LeaseSpec")},
    "LeaseSpec": {1: ("holderIdentity", OPT_STR), 2: ("leaseDurationSeconds", OPT_INT), 3: ("acquireTime", "MicroTime"),
                  4: ("renewTime", "MicroTime"), 5: ("leaseTransitions", OPT_INT), 6: ("strategy", OPT_STR),
                  7: ("preferredHolder", OPT_STR)},
    "MicroTime": {1: ("seconds", INT), 2: ("nanos", INT)},
}
KINDS = {"Namespace", "ConfigMap", "Secret", "Deployment", "Pod", "Service", "Lease"}


def _varint(data, i):
    shift = result = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(data):
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _scalar(kind, value):
    if kind in (STR, OPT_STR):
        return value.decode()
    if kind == BYTES:
        import base64

        return base64.b64encode(value).decode()
    if kind in (INT, OPT_INT):
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind in (BOOL, OPT_BOOL):
        return bool(value)
    return decode_message(kind, value)


def decode_message(name, data):
    schema = SCHEMAS[name]
    out = {}
    for number, _, value in _fields(data):
        if number not in schema:
            continue
        field, kind = schema[number]
        if isinstance(kind, tuple) and kind[0] == "repeated":
            out.setdefault(field, []).append(_scalar(kind[1], value))
        elif isinstance(kind, tuple) and kind[0] == "map":
            entry = dict((n, v) for n, _, v in _fields(value))
            key = entry.get(1, b"").decode()
            out.setdefault(field, {})[key] = _scalar(kind[1], entry.get(2, b"" if kind[1] != INT else 0))
        else:
            out[field] = _scalar(kind, value)
    if name == "IntOrString":
        return out.get("strVal", "") if out.get("type") == 1 else out.get("intVal", 0)
    if name == "Quantity":
        return out.get("string", "")
    if name == "MicroTime":
        return format_micro_time(out.get("seconds", 0), out.get("nanos", 0) // 1000)
    return _omit_empty(name, out)


def _omit_empty(name, obj):
    schema = {field: kind for field, kind in SCHEMAS[name].values()}
    result = {}
    for key, value in obj.items():
        kind = schema.get(key)
        if kind in (OPT_INT, OPT_BOOL, OPT_STR):
            result[key] = value
        elif isinstance(value, dict | list):
            if value or key in ("resources", "strategy", "spec", "metadata"):
                result[key] = value
        elif value not in ("", 0, False, None):
            result[key] = value
    return result


def decode(body):
    """JSON-shaped object from a protobuf request body, or ApiError 415 for kinds we cannot read."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "BadRequest", "the body is not a Kubernetes protobuf message")
    try:
        envelope = decode_message("Unknown", body[len(MAGIC):])
        type_meta = envelope.get("typeMeta") or {}
        kind = type_meta.get("kind")
        if kind not in KINDS:
            raise ApiError(415, "UnsupportedMediaType", f"the lab simulator reads protobuf bodies only for "
                                                        f"{', '.join(sorted(KINDS))}; send {kind} as JSON")
        import base64

        obj = decode_message(kind, base64.b64decode(envelope.get("raw", "")))
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise ApiError(400, "BadRequest", f"error decoding protobuf body: {exc}") from None
    obj = {"kind": kind, "apiVersion": type_meta.get("apiVersion"), **obj}
    return obj
