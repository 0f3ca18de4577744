"""OpenAPI documents: enough for kubectl to know that every served kind accepts server-side field
validation (`fieldValidation` on PATCH), so `kubectl create -f` / `apply -f` validate on the server
exactly as against a real cluster. Schemas are not published (see lab/README: known differences)."""
import hashlib
import json

from k8s_sim import resources as R

VERSION_INFO = {"title": "Kubernetes", "version": "v1.32.2"}
_PARAMS = [
    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
]


def _gvk(r):
    return {"group": r.group, "version": r.version, "kind": r.kind}


def _op(r, action, op_id):
    return {"tags": [f"{r.group or 'core'}_{r.version}"], "operationId": op_id,
            "parameters": list(_PARAMS) if action in ("patch", "post", "put") else [],
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": action, "x-kubernetes-group-version-kind": _gvk(r)}


def gv_document(group, version):
    gv = R.group_versions().get((group, version))
    if gv is None:
        return None
    paths = {}
    for r in gv.resources:
        base = r.base_path + ("/namespaces/{namespace}" if r.namespaced else "")
        item = f"{base}/{r.plural}/{{name}}"
        if r.stored:
            paths[f"{base}/{r.plural}"] = {"get": _op(r, "list", f"list{r.kind}"),
                                           "post": _op(r, "post", f"create{r.kind}")}
            paths[item] = {"get": _op(r, "get", f"read{r.kind}"), "put": _op(r, "put", f"replace{r.kind}"),
                           "patch": _op(r, "patch", f"patch{r.kind}"), "delete": _op(r, "delete", f"delete{r.kind}")}
        else:
            paths[f"{base}/{r.plural}"] = {"get": _op(r, "list", f"list{r.kind}")}
            paths[item] = {"get": _op(r, "get", f"read{r.kind}")}
    return {"openapi": "3.0.0", "info": VERSION_INFO, "paths": paths, "components": {"schemas": {}}}


def _path_key(group, version):
    return f"apis/{group}/{version}" if group else f"api/{version}"


def v3_root():
    paths = {}
    for (group, version) in R.group_versions():
        doc = json.dumps(gv_document(group, version), sort_keys=True).encode()
        digest = hashlib.sha512(doc).hexdigest()[:128].upper()
        paths[_path_key(group, version)] = {"serverRelativeURL": f"/openapi/v3/{_path_key(group, version)}"
                                                                 f"?hash={digest}"}
    paths["version"] = {"serverRelativeURL": "/openapi/v3/version?hash=0"}
    return {"paths": paths}


def v3_document(path):
    """path like 'api/v1' or 'apis/apps/v1'."""
    parts = path.strip("/").split("/")
    if parts[:1] == ["api"] and len(parts) == 2:
        return gv_document("", parts[1])
    if parts[:1] == ["apis"] and len(parts) == 3:
        return gv_document(parts[1], parts[2])
    return None


def v2_document():
    paths = {}
    for (group, version) in R.group_versions():
        doc = gv_document(group, version)
        for path, ops in doc["paths"].items():
            paths[path] = {
                method: {k: v for k, v in op.items() if k != "parameters"} | {
                    "parameters": [{"name": p["name"], "in": "query", "type": "string", "uniqueItems": True}
                                   for p in op["parameters"]]}
                for method, op in ops.items()}
    return {"swagger": "2.0", "info": VERSION_INFO, "paths": paths, "definitions": {}}
