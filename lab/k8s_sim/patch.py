"""PATCH bodies: strategic merge (with Kubernetes' merge keys and $-directives), JSON merge
(RFC 7386) and JSON patch (RFC 6902)."""
import copy

from k8s_sim.errors import ApiError, bad_request

# patchMergeKey of the list fields we serve (from the Go types' struct tags).
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "ownerReferences": "uid",
    "conditions": "type",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "taints": "key",
    "addresses": "type",
}
# Lists of scalars merged as sets (patchStrategy: merge).
_MERGED_PRIMITIVE_LISTS = {"finalizers"}


def _merge_key(path, field):
    if field == "ports":
        return "containerPort" if any(p in ("containers", "initContainers", "ephemeralContainers")
                                      for p in path) else "port"
    return _MERGE_KEYS.get(field)


def strategic_merge(original, patch, path=()):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(original, dict):
        original = {}
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = dict(original)
    retain = patch.get("$retainKeys")
    orders = {k.split("/", 1)[1]: v for k, v in patch.items() if k.startswith("$setElementOrder/")}
    deletions = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            deletions[key.split("/", 1)[1]] = value
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, dict):
            merged = strategic_merge(current if isinstance(current, dict) else {}, value, (*path, key))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(current if isinstance(current, list) else [], value, path, key,
                                      orders.get(key))
        else:
            result[key] = value
    for key, values in deletions.items():
        if isinstance(result.get(key), list):
            result[key] = [v for v in result[key] if v not in values]
    for key, order in orders.items():
        mk = _merge_key(path, key)
        if key not in patch and mk and isinstance(result.get(key), list):
            result[key] = _normalize_order(result[key], result[key], order, mk)
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain or k in patch}
    return result


def _merge_list(original, patch, path, field, order=None):
    mk = _merge_key(path, field)
    if field in _MERGED_PRIMITIVE_LISTS:
        out = list(original)
        for v in patch:
            if v not in out:
                out.append(v)
        return out
    if not mk or not all(isinstance(v, dict) for v in patch):
        return [x for x in copy.deepcopy(patch) if not (isinstance(x, dict) and x.get("$patch"))]
    if any(v.get("$patch") == "replace" for v in patch):
        return [copy.deepcopy(v) for v in patch if v.get("$patch") != "replace"]
    out = [copy.deepcopy(x) for x in original]
    for item in patch:
        key_value = item.get(mk)
        index = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(mk) == key_value), None)
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
            continue
        if index is None:
            out.append(strategic_merge({}, item, (*path, field)))
        else:
            out[index] = strategic_merge(out[index], item, (*path, field))
    return _normalize_order(out, original, patch if order is None else order, mk)


def _normalize_order(merged, original, patch_order, mk):
    """apimachinery's normalizeElementOrder: server-only items keep their order, patch items follow the
    patch (or $setElementOrder) order, and the two are interleaved by their position on the server."""

    def key(x):
        return x.get(mk) if isinstance(x, dict) else x

    wanted = [key(x) for x in patch_order if not (isinstance(x, dict) and x.get("$patch") == "delete")]
    rank = {k: i for i, k in enumerate(wanted)}
    server = {key(x): i for i, x in enumerate(original)}
    patch_items = sorted((x for x in merged if key(x) in rank), key=lambda x: rank[key(x)])
    server_only = [x for x in merged if key(x) not in rank]
    out, i, j = [], 0, 0
    while i < len(server_only) or j < len(patch_items):
        if i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        elif j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        else:
            li, ri = server.get(key(server_only[i])), server.get(key(patch_items[j]))
            if li is not None and ri is not None and ri < li:
                out.append(patch_items[j])
                j += 1
            else:
                out.append(server_only[i])
                i += 1
    return out


def merge_patch(original, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f'invalid JSON pointer "{path}"')
    return [_unescape(t) for t in path[1:].split("/")]


def _invalid(message):
    return ApiError(422, "Invalid", message)


def _resolve(doc, tokens, path):
    cur = doc
    for t in tokens:
        if isinstance(cur, dict):
            if t not in cur:
                raise _invalid(f"the server rejected our request due to an error in our request: "
                               f"doc is missing path: \"{path}\": missing value")
            cur = cur[t]
        elif isinstance(cur, list):
            try:
                cur = cur[int(t)]
            except (ValueError, IndexError):
                raise _invalid(f"the server rejected our request due to an error in our request: "
                               f"doc is missing path: \"{path}\"") from None
        else:
            raise _invalid(f"doc is missing path: \"{path}\"")
    return cur


def json_patch(original, operations):
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(original)
    for op in operations:
        kind = op.get("op")
        path = op.get("path", "")
        tokens = _pointer(path)
        if kind == "test":
            if _resolve(doc, tokens, path) != op.get("value"):
                raise _invalid(f"the server rejected our request due to an error in our request: "
                               f"testing value {path} failed: test failed")
            continue
        if kind in ("move", "copy"):
            from_tokens = _pointer(op.get("from", ""))
            value = copy.deepcopy(_resolve(doc, from_tokens, op.get("from")))
            if kind == "move":
                doc = _remove(doc, from_tokens, op.get("from"))
            doc = _add(doc, tokens, value, path)
        elif kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")), path)
        elif kind == "remove":
            doc = _remove(doc, tokens, path)
        elif kind == "replace":
            _resolve(doc, tokens, path)
            if not tokens:
                doc = copy.deepcopy(op.get("value"))
            else:
                parent = _resolve(doc, tokens[:-1], path)
                key = tokens[-1]
                if isinstance(parent, list):
                    parent[int(key)] = copy.deepcopy(op.get("value"))
                else:
                    parent[key] = copy.deepcopy(op.get("value"))
        else:
            raise bad_request(f"Unexpected kind: {kind}")
    return doc


def _add(doc, tokens, value, path):
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1], path)
    key = tokens[-1]
    if isinstance(parent, list):
        if key == "-":
            parent.append(value)
        else:
            idx = int(key)
            if idx > len(parent):
                raise _invalid(f"add operation does not apply: doc is missing path: \"{path}\"")
            parent.insert(idx, value)
    elif isinstance(parent, dict):
        parent[key] = value
    else:
        raise _invalid(f"add operation does not apply: doc is missing path: \"{path}\"")
    return doc


def _remove(doc, tokens, path):
    parent = _resolve(doc, tokens[:-1], path)
    key = tokens[-1]
    if isinstance(parent, list):
        try:
            parent.pop(int(key))
        except (ValueError, IndexError):
            raise _invalid(f"remove operation does not apply: doc is missing path: \"{path}\"") from None
    elif isinstance(parent, dict) and key in parent:
        del parent[key]
    else:
        raise _invalid(f"remove operation does not apply: doc is missing path: \"{path}\": missing value")
    return doc


PATCH_TYPES = {
    "application/strategic-merge-patch+json": "strategic",
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}


def apply_patch(kind, original, body):
    if kind == "strategic":
        if not isinstance(body, dict):
            raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
        return strategic_merge(original, body)
    if kind == "merge":
        return merge_patch(original, body)
    if kind == "json":
        return json_patch(original, body)
    if kind == "apply":
        return strategic_merge(original, body)
    raise bad_request(f"unknown patch type {kind}")
