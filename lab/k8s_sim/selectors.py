"""Label and field selectors, parsed as the apiserver parses them."""
import re

from k8s_sim.errors import bad_request

_SET_RE = re.compile(r"^\s*(!?)([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")


def _split_top(expr):
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def parse_label_selector(expr):
    """Return a list of requirements (key, op, values)."""
    reqs = []
    if not expr:
        return reqs
    for part in _split_top(expr):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)$", part)
        if m:
            key, op, value = m.groups()
            reqs.append((key, "!=" if op == "!=" else "=", [value]))
            continue
        m = _SET_RE.match(part)
        if not m:
            raise bad_request(f"unable to parse requirement: {part}")
        neg, key, op, values = m.groups()
        if op:
            reqs.append((key, op, [v.strip() for v in values.split(",") if v.strip()]))
        else:
            reqs.append((key, "!exists" if neg else "exists", []))
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, values in reqs:
        present = key in labels
        value = labels.get(key)
        if op == "=" and value != values[0]:
            return False
        if op == "!=" and present and value == values[0]:
            return False
        if op == "in" and value not in values:
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def parse_field_selector(expr):
    reqs = []
    if not expr:
        return reqs
    for part in expr.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([A-Za-z0-9.]+)\s*(==|!=|=)\s*(.*)$", part)
        if not m:
            raise bad_request(f"invalid selector: '{expr}'; can't understand '{part}'")
        field, op, value = m.groups()
        reqs.append((field, "!=" if op == "!=" else "=", value))
    return reqs


def field_value(obj, path):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


_FIELD_PATHS = {"source": "source.component"}


def fields_match(reqs, obj):
    for field, op, value in reqs:
        actual = field_value(obj, _FIELD_PATHS.get(field, field))
        if (op == "=") != (actual == value):
            return False
    return True


def selector_to_reqs(selector):
    """A metav1.LabelSelector (matchLabels + matchExpressions) as requirements."""
    if not selector:
        return []
    reqs = [(k, "=", [v]) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}[expr["operator"]]
        reqs.append((expr["key"], op, list(expr.get("values") or [])))
    return reqs


def selector_string(selector):
    parts = []
    for key, op, values in selector_to_reqs(selector):
        if op == "=":
            parts.append(f"{key}={values[0]}")
        elif op in ("in", "notin"):
            parts.append(f"{key} {op} ({','.join(values)})")
        elif op == "exists":
            parts.append(key)
        else:
            parts.append(f"!{key}")
    return ",".join(parts)


def selector_matches(selector, labels):
    if selector is None:
        return False
    return labels_match(selector_to_reqs(selector), labels)


# Field selectors each kind supports (the apiserver's field label conversion functions);
# any other field gets 400 "field label not supported".
SUPPORTED_FIELDS = {
    "/pods": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
              "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"},
    "/events": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                "reason", "reportingComponent", "source", "type"},
    "/secrets": {"type"},
    "/nodes": {"spec.unschedulable"},
    "/namespaces": {"status.phase"},
    "apps/replicasets": {"status.replicas"},
}


def check_field_selector(rtype_key, reqs):
    allowed = {"metadata.name", "metadata.namespace"} | SUPPORTED_FIELDS.get(rtype_key, set())
    for field, _, _ in reqs:
        if field not in allowed:
            raise bad_request(f"field label not supported: {field}")
