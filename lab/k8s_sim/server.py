"""HTTP layer: routing of Kubernetes REST paths, content negotiation (JSON, Table, text logs),
list/watch semantics, and the lab-only admin API under /_lab/v1."""
import asyncio
import base64
import copy
import json
import random
import time

import yaml
from aiohttp import web

from k8s_sim import defaults, endpoints, errors, logs, metrics, openapi, protobuf, tables, typed
from k8s_sim import resources as R
from k8s_sim.errors import ApiError
from k8s_sim.patch import PATCH_TYPES, apply_patch
from k8s_sim.profiles import ProfileError
from k8s_sim.selectors import (
    check_field_selector,
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
    selector_string,
)
from k8s_sim.store import Watcher
from k8s_sim.util import now, random_suffix, truthy

VERSION = {
    "major": "1", "minor": "32", "emulationMajor": "1", "emulationMinor": "32", "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "31", "gitVersion": "v1.32.2", "gitCommit": "67a30c0adcf52bd3f56ff0893ce19966be12991f",
    "gitTreeState": "clean", "buildDate": "2025-02-12T21:19:47Z", "goVersion": "go1.23.6", "compiler": "gc",
    "platform": "linux/amd64",
}
PUBLIC_PATHS = {"/healthz", "/livez", "/readyz"}
STATUS_SUBRESOURCE_TYPES = {r.key for r in R.ALL if "status" in r.subresources}


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


def json_response(obj, status=200, headers=None):
    return web.Response(body=dumps(obj).encode(), status=status, content_type="application/json", headers=headers)


def status_success(rtype, obj):
    details = {"name": obj["metadata"]["name"], "kind": rtype.plural, "uid": obj["metadata"]["uid"]}
    if rtype.group:
        details = {"name": details["name"], "group": rtype.group, "kind": rtype.plural, "uid": details["uid"]}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def parse_path(path):
    """Split a REST path into (rtype, namespace, name, subresource) or None."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    if not rest:
        return None
    rtype = R.lookup(group, version, rest[0])
    if rtype is None:
        return "unknown", group, version, rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if len(rest) > 3:
        return None
    return rtype, namespace, name, sub


def _item(obj):
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def client_cert_user(request):
    """The CN of a verified client certificate (x509 client-cert authentication), else None."""
    transport = request.transport
    cert = transport.get_extra_info("peercert") if transport is not None else None
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class ApiServer:
    def __init__(self, cluster, token):
        self.cluster = cluster
        self.store = cluster.store
        self.token = token
        self.started = now()

    def app(self):
        app = web.Application(middlewares=[self.middleware], client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    @web.middleware
    async def middleware(self, request, handler):
        if request.path not in PUBLIC_PATHS:
            auth = request.headers.get("Authorization", "")
            # A union of authenticators as in kube-apiserver: a verified client certificate or the token.
            if auth != f"Bearer {self.token}" and not client_cert_user(request):
                return json_response(errors.unauthorized().status(), 401)
        try:
            return await handler(request)
        except ApiError as exc:
            return json_response(exc.status(), exc.code)

    # -- dispatch ------------------------------------------------------------------------
    async def dispatch(self, request):
        path = request.path.rstrip("/") or "/"
        method = request.method
        if path in PUBLIC_PATHS or path == "/healthz/ready":
            return web.Response(text="ok", content_type="text/plain")
        if path.startswith("/_lab/v1"):
            return await self.admin(request, path[len("/_lab/v1"):])
        if method == "GET":
            doc = self.discovery(path, request)
            if doc is not None:
                return doc
        parsed = parse_path(path)
        if parsed is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if parsed[0] == "unknown":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        rtype, namespace, name, sub = parsed
        if rtype.namespaced is False and namespace:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rtype.stored:
            return self.metrics(request, rtype, namespace, name)
        if sub and sub not in rtype.subresources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub == "log":
            return await self.pod_log(request, namespace, name)
        if sub == "scale":
            return await self.scale(request, rtype, namespace, name)
        if method == "GET":
            if name:
                obj = self.store.must_get(rtype, namespace, name)
                return self.render_one(request, rtype, obj)
            if truthy(request.query.get("watch")):
                return await self.watch(request, rtype, namespace)
            return self.list(request, rtype, namespace)
        if method == "POST" and not name:
            return await self.create(request, rtype, namespace)
        if method == "PUT" and name:
            return await self.replace(request, rtype, namespace, name, sub)
        if method == "PATCH" and name:
            return await self.patch(request, rtype, namespace, name, sub)
        if method == "DELETE":
            if name:
                return await self.delete(request, rtype, namespace, name)
            return await self.delete_collection(request, rtype, namespace)
        raise errors.method_not_allowed()

    def discovery(self, path, request):
        if path == "/version":
            return json_response(VERSION)
        if path == "/api":
            host = request.host
            return json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": host}]})
        if path == "/api/v1":
            return json_response(R.api_resource_list("", "v1"))
        if path == "/apis":
            return json_response(R.api_group_list())
        parts = path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2:
            group = R.api_group(parts[1])
            if group is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return json_response(group)
        if parts[0] == "apis" and len(parts) == 3:
            doc = R.api_resource_list(parts[1], parts[2])
            if doc is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return json_response(doc)
        if path == "/openapi/v3":
            return json_response(openapi.v3_root())
        if path.startswith("/openapi/v3/"):
            doc = openapi.v3_document(path[len("/openapi/v3/"):])
            if doc is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return json_response(doc)
        if path == "/openapi/v2":
            return json_response(openapi.v2_document())
        return None

    # -- reads ---------------------------------------------------------------------------
    def render_one(self, request, rtype, obj):
        if tables.wants_table(request.headers.get("Accept")):
            return json_response(tables.table(rtype, [obj], obj["metadata"]["resourceVersion"],
                                              request.query.get("includeObject", "Metadata")))
        return json_response(obj)

    def _selected(self, request, rtype, namespace):
        label_reqs = parse_label_selector(request.query.get("labelSelector", ""))
        field_reqs = parse_field_selector(request.query.get("fieldSelector", ""))
        check_field_selector(rtype.key, field_reqs)
        items = self.store.list(rtype, namespace)
        out = [o for o in items if labels_match(label_reqs, o["metadata"].get("labels"))
               and fields_match(field_reqs, o)]
        out.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return out

    def _page(self, request, items):
        limit = int(request.query.get("limit") or 0)
        token = request.query.get("continue")
        start = 0
        if token:
            try:
                start = json.loads(base64.b64decode(token))["start"]
            except (ValueError, KeyError):
                raise ApiError(400, "BadRequest", "continue key is not valid: incorrect encoded start "
                                                  "resourceVersion (version meta.k8s.io/v1)") from None
        page = items[start:start + limit] if limit else items[start:]
        cont, remaining = None, None
        if limit and start + limit < len(items):
            cont = base64.b64encode(json.dumps({"start": start + limit, "rv": self.store.rv}).encode()).decode()
            remaining = len(items) - start - limit
        return page, cont, remaining

    def list(self, request, rtype, namespace):
        items, cont, remaining = self._page(request, self._selected(request, rtype, namespace))
        rv = str(self.store.rv)
        if tables.wants_table(request.headers.get("Accept")):
            return json_response(tables.table(rtype, items, rv, request.query.get("includeObject", "Metadata"),
                                              continue_token=cont))
        meta = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
            meta["remainingItemCount"] = remaining
        body = {"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": meta,
                "items": [_item(o) for o in items]}
        return json_response(body)

    async def watch(self, request, rtype, namespace):
        q = request.query
        label_reqs = parse_label_selector(q.get("labelSelector", ""))
        field_reqs = parse_field_selector(q.get("fieldSelector", ""))
        check_field_selector(rtype.key, field_reqs)

        def predicate(obj):
            return labels_match(label_reqs, obj["metadata"].get("labels")) and fields_match(field_reqs, obj)

        as_table = tables.wants_table(request.headers.get("Accept"))
        include = q.get("includeObject", "Metadata")
        rv = q.get("resourceVersion", "")
        send_initial = truthy(q.get("sendInitialEvents"))
        initial = []
        if send_initial or rv in ("", "0"):
            initial = [("ADDED", o) for o in self._selected(request, rtype, namespace)]
        else:
            try:
                since = int(rv)
            except ValueError:
                raise errors.bad_request(f'invalid resource version "{rv}"') from None
            if since < self.store.oldest_rv() - 1 and since < self.store.rv:
                gone = errors.gone(f"too old resource version: {since} ({self.store.oldest_rv()})")
                resp = web.StreamResponse(headers={"Content-Type": "application/json"})
                await resp.prepare(request)
                await resp.write((dumps({"type": "ERROR", "object": gone.status()}) + "\n").encode())
                return resp
            initial = [(t, o) for t, o in self.store.events_since(rtype, since)
                       if (not namespace or o["metadata"].get("namespace") == namespace) and predicate(o)]
        watcher = Watcher(rtype, namespace, predicate)
        self.store.add_watcher(watcher)
        resp = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
        resp.enable_chunked_encoding()
        try:
            await resp.prepare(request)

            def encode(event_type, obj):
                if as_table and event_type != "BOOKMARK":
                    obj = tables.table(rtype, [obj], obj["metadata"]["resourceVersion"], include)
                return (dumps({"type": event_type, "object": obj}) + "\n").encode()

            chunk = b"".join(encode(t, o) for t, o in initial)
            if send_initial:
                chunk += encode("BOOKMARK", {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": {
                    "resourceVersion": str(self.store.rv), "annotations": {"k8s.io/initial-events-end": "true"}}})
            if chunk:
                await resp.write(chunk)
            timeout = float(q.get("timeoutSeconds") or random.uniform(1800, 3600))
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    event_type, obj = await asyncio.wait_for(watcher.queue.get(), timeout=remaining)
                except TimeoutError:
                    break
                await resp.write(encode(event_type, obj))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.remove_watcher(watcher)
        return resp

    # -- writes --------------------------------------------------------------------------
    async def _body(self, request):
        raw = await request.read()
        ctype = request.content_type or "application/json"
        if "protobuf" in ctype:
            return protobuf.decode(raw)
        if "cbor" in ctype:
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                                        "accepted media types include: application/json, "
                                                        "application/yaml, application/vnd.kubernetes.protobuf")
        try:
            if "yaml" in ctype:
                return yaml.safe_load(raw.decode() or "{}")
            return json.loads(raw.decode() or "null")
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"error decoding request body: {exc}") from None

    def _check_type(self, rtype, body, request):
        if not isinstance(body, dict):
            raise errors.bad_request("the object provided is unrecognized (must be of type "
                                     f"{rtype.kind}): couldn't get version/kind; json parse error")
        if body.get("apiVersion", rtype.api_version) != rtype.api_version or body.get("kind", rtype.kind) != rtype.kind:
            raise errors.bad_request(f"the API version in the data ({body.get('apiVersion')}) does not match the "
                                     f"expected API version ({rtype.api_version})"
                                     if body.get("apiVersion") != rtype.api_version else
                                     f"the kind in the data ({body.get('kind')}) does not match the expected kind "
                                     f"({rtype.kind})")
        body["kind"], body["apiVersion"] = rtype.kind, rtype.api_version

    @staticmethod
    def _typed(rtype, body):
        """The body as the kind's Go type holds it, for the kinds the simulator decodes (typed.py): 400 when
        a value cannot be decoded, unknown fields dropped."""
        decoder = typed.DECODERS.get(rtype.key)
        if decoder is None:
            return body
        try:
            return decoder(body)
        except typed.DecodeError as exc:
            raise errors.cannot_decode(rtype, exc) from None

    @staticmethod
    def _check_identity(rtype, body, namespace, name):
        """The update handler's checks of the body against the URL, before the object is read."""
        meta = body.get("metadata") or {}
        if rtype.namespaced and meta.get("namespace") and namespace and meta["namespace"] != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on "
                                     "the request")
        if not meta.get("name"):
            raise errors.bad_request(f"the name of the object ({name} based on URL) was undeterminable: name must "
                                     "be provided")
        if meta["name"] != name:
            raise errors.bad_request(f'the name of the object ({meta["name"]}) does not match the name on the URL '
                                     f"({name})")

    def _field_validation(self, request, rtype, obj):
        mode = request.query.get("fieldValidation", "")
        unknown = defaults.unknown_fields(rtype, obj) if mode in ("Strict", "Warn") else []
        if not unknown:
            return {}
        if mode == "Strict":
            text = ", ".join(f'unknown field "{f}"' for f in unknown)
            raise errors.bad_request(f"strict decoding error: {text}")
        return {"Warning": ", ".join(f'299 - "unknown field \\"{f}\\""' for f in unknown)}

    def _namespace_ok(self, rtype, namespace):
        if rtype.namespaced and self.store.get(R.NAMESPACES, "", namespace) is None:
            raise errors.not_found(R.NAMESPACES, namespace)

    def _prepare(self, rtype, obj, old=None):
        """Defaults, server-owned fields and validation, shared by create/update/patch."""
        defaults.apply_defaults(rtype, obj)
        if rtype is R.SERVICES:
            spec = obj["spec"]
            if old is not None:
                spec.setdefault("clusterIP", old["spec"].get("clusterIP"))
                spec.setdefault("clusterIPs", old["spec"].get("clusterIPs"))
            elif not spec.get("clusterIP"):
                ip = f"10.96.{random.randint(1, 254)}.{random.randint(1, 254)}"
                spec["clusterIP"] = ip
            if spec.get("clusterIP") and not spec.get("clusterIPs"):
                spec["clusterIPs"] = [spec["clusterIP"]]
            if spec.get("type") in ("NodePort", "LoadBalancer"):
                old_spec = (old or {}).get("spec") or {}
                old_ports = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
                used = {p.get("nodePort") for svc in self.store.list(R.SERVICES)
                        for p in svc["spec"].get("ports") or []}
                for port in spec.get("ports") or []:
                    if not port.get("nodePort"):
                        port["nodePort"] = old_ports.get(port.get("port")) or next(
                            n for n in range(30000 + random.randint(0, 2000), 32768) if n not in used)
                        used.add(port["nodePort"])
                if spec["type"] == "LoadBalancer":
                    spec.setdefault("allocateLoadBalancerNodePorts", True)
                spec.setdefault("externalTrafficPolicy", "Cluster")
        defaults.validate(rtype, obj)
        return obj

    def _dry_run(self, request):
        return "All" in request.query.getall("dryRun", [])

    async def create(self, request, rtype, namespace):
        body = await self._body(request)
        self._check_type(rtype, body, request)
        decoded = self._typed(rtype, body)
        headers = self._field_validation(request, rtype, body)
        body = decoded
        meta = body.setdefault("metadata", {})
        if rtype.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                         "on the request")
            meta["namespace"] = namespace or meta.get("namespace") or "default"
            self._namespace_ok(rtype, meta["namespace"])
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + random_suffix()
        return self._store_new(request, rtype, body, headers)

    def _store_new(self, request, rtype, body, headers):
        """The create path from the server-owned fields on (POST, and PUT of a kind that creates on update)."""
        meta = body["metadata"]
        for server_owned in ("uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp",
                             "managedFields", "selfLink"):
            meta.pop(server_owned, None)
        if rtype.key in STATUS_SUBRESOURCE_TYPES or rtype is R.PODS:
            body.pop("status", None)
        self._prepare(rtype, body)
        if rtype.key == R.NAMESPACES.key:
            body["status"] = {"phase": "Active"}
        if self._dry_run(request):
            existing = self.store.get(rtype, meta.get("namespace"), meta["name"])
            if existing is not None:
                raise errors.already_exists(rtype, meta["name"])
            return json_response(body, 201, headers)
        created = self.store.create(rtype, body)
        return json_response(created, 201, headers)

    def _finish_update(self, rtype, old, new, sub, expect_rv=None):
        meta = new.setdefault("metadata", {})
        if meta.get("name", old["metadata"]["name"]) != old["metadata"]["name"]:
            raise errors.bad_request(f'the name of the object ({meta.get("name")}) does not match the name on the URL '
                                     f'({old["metadata"]["name"]})')
        meta["name"] = old["metadata"]["name"]
        if rtype.namespaced:
            meta["namespace"] = old["metadata"]["namespace"]
        new["kind"], new["apiVersion"] = rtype.kind, rtype.api_version
        if sub == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif rtype.key in STATUS_SUBRESOURCE_TYPES or rtype is R.PODS:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        for fixed in ("uid", "creationTimestamp", "generation"):
            if fixed in old["metadata"]:
                meta[fixed] = old["metadata"][fixed]
        meta.pop("managedFields", None)
        if rtype is R.PODS:
            self._check_pod_update(old, new)
        self._prepare(rtype, new, old)
        return new

    @staticmethod
    def _check_pod_update(old, new):
        def strip_images(spec):
            spec = copy.deepcopy(spec)
            for c in spec.get("containers") or []:
                c.pop("image", None)
            spec.pop("activeDeadlineSeconds", None)
            spec.pop("tolerations", None)
            return spec

        if strip_images(old["spec"]) != strip_images(new.get("spec") or {}):
            raise errors.invalid(R.PODS, old["metadata"]["name"], [(
                "spec", "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
                        "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "
                        "to 1 if it was previously negative)")])

    async def replace(self, request, rtype, namespace, name, sub):
        body = await self._body(request)
        self._check_type(rtype, body, request)
        decoded = self._typed(rtype, body)
        headers = self._field_validation(request, rtype, body)
        body = decoded
        self._check_identity(rtype, body, namespace, name)
        old = self.store.get(rtype, namespace, name)
        if old is None:
            if not rtype.create_on_update or sub:
                raise errors.not_found(rtype, name)
            if rtype.namespaced:
                body["metadata"]["namespace"] = namespace
                self._namespace_ok(rtype, namespace)
            return self._store_new(request, rtype, body, headers)
        expect = (body.get("metadata") or {}).get("resourceVersion")
        if not expect and not rtype.unconditional_update:
            raise errors.resource_version_required(rtype, name)
        if expect and expect != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype, name)
        new = self._finish_update(rtype, old, body, sub)
        if self._dry_run(request):
            return json_response(new, 200, headers)
        return json_response(self.store.update(rtype, new, expect_rv=expect), 200, headers)

    async def patch(self, request, rtype, namespace, name, sub):
        kind = PATCH_TYPES.get(request.content_type)
        if kind is None:
            raise errors.unsupported_media(request.content_type)
        body = await self._body(request)
        old = self.store.get(rtype, namespace, name)
        if old is None:
            if kind == "apply":
                if not isinstance(body, dict):
                    raise errors.bad_request("invalid apply patch")
                body.setdefault("metadata", {}).setdefault("name", name)
                if rtype.namespaced:
                    body["metadata"]["namespace"] = namespace
                    self._namespace_ok(rtype, namespace)
                self._check_type(rtype, body, request)
                body = self._typed(rtype, body)
                self._prepare(rtype, body)
                if self._dry_run(request):
                    return json_response(body, 201)
                return json_response(self.store.create(rtype, body), 201)
            raise errors.not_found(rtype, name)
        patched = apply_patch(kind, copy.deepcopy(old), body)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch did not produce an object")
        decoded = self._typed_patch(rtype, kind, body, patched)
        headers = self._field_validation(request, rtype, patched)
        patched = decoded
        expect = None
        if kind in ("strategic", "merge", "apply") and isinstance(body, dict):
            expect = (body.get("metadata") or {}).get("resourceVersion")
        elif kind == "json":
            new_rv = (patched.get("metadata") or {}).get("resourceVersion")
            if new_rv != old["metadata"]["resourceVersion"]:
                expect = new_rv
        if expect and expect != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype, name)
        new = self._finish_update(rtype, old, patched, sub)
        if self._dry_run(request):
            return json_response(new, 200, headers)
        return json_response(self.store.update(rtype, new), 200, headers)

    @staticmethod
    def _typed_patch(rtype, kind, body, patched):
        """The patched object as the kind's Go type holds it. A strategic merge goes through the unstructured
        converter and shows the patch (Go's %v of the map), the JSON patches decode the patched JSON and show
        it; either way a failure is 422 Invalid on the field `patch`."""
        decoder = typed.DECODERS.get(rtype.key)
        if decoder is None:
            return patched
        unstructured = kind in ("strategic", "apply")
        try:
            return decoder(patched, unstructured=unstructured)
        except typed.DecodeError as exc:
            shown = typed.go_value(body) if unstructured else typed.go_json(patched)
            raise errors.invalid_patch(typed.go_quote(shown), exc) from None

    async def delete(self, request, rtype, namespace, name):
        options = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                try:
                    options = json.loads(raw)
                except ValueError:
                    raise errors.bad_request("error decoding DeleteOptions") from None
        obj = self.store.must_get(rtype, namespace, name)
        pre = (options or {}).get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise errors.conflict(rtype, name, f"Precondition failed: UID in precondition: {pre['uid']}, UID in "
                                               f"object meta: {obj['metadata']['uid']}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype, name)
        propagation = (options or {}).get("propagationPolicy") or request.query.get("propagationPolicy") or \
            ("Orphan" if (options or {}).get("orphanDependents") else "Background")
        grace = (options or {}).get("gracePeriodSeconds", request.query.get("gracePeriodSeconds"))
        grace = int(grace) if grace not in (None, "") else None
        if self._dry_run(request):
            return json_response(status_success(rtype, obj))
        if rtype is R.NAMESPACES:
            self._delete_namespace(name)
            return json_response(status_success(rtype, obj))
        result = self.cluster.delete_cascade(rtype, namespace, name, propagation, grace)
        if rtype is R.PODS and self.store.get(R.PODS, namespace, name) is not None:
            return json_response(result)  # a pod being terminated gracefully is returned, as the apiserver does
        return json_response(status_success(rtype, obj))

    def _delete_namespace(self, name):
        for rtype in R.ALL:
            if rtype.namespaced and rtype.stored:
                for obj in list(self.store.list(rtype, name)):
                    if self.store.get(rtype, name, obj["metadata"]["name"]) is not None:
                        self.cluster.delete_cascade(rtype, name, obj["metadata"]["name"], grace=0)
        self.store.delete(R.NAMESPACES, "", name)

    async def delete_collection(self, request, rtype, namespace):
        items = self._selected(request, rtype, namespace)
        if not self._dry_run(request):
            for obj in items:
                if self.store.get(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"]) is not None:
                    self.cluster.delete_cascade(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        return json_response({"kind": rtype.list_kind, "apiVersion": rtype.api_version,
                              "metadata": {"resourceVersion": str(self.store.rv)}, "items": [_item(o) for o in items]})

    # -- subresources --------------------------------------------------------------------
    def _scale_of(self, rtype, obj):
        selector = selector_string(obj["spec"].get("selector"))
        status = {"replicas": (obj.get("status") or {}).get("replicas", 0)}
        if selector:
            status["selector"] = selector
        meta = obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                             "resourceVersion": meta["resourceVersion"],
                             "creationTimestamp": meta["creationTimestamp"]},
                "spec": {"replicas": obj["spec"].get("replicas", 1)}, "status": status}

    async def scale(self, request, rtype, namespace, name):
        if request.method not in ("GET", "PUT", "PATCH"):
            raise errors.method_not_allowed()
        kind = PATCH_TYPES.get(request.content_type) if request.method == "PATCH" else None
        if request.method == "PATCH" and kind is None:
            raise errors.unsupported_media(request.content_type)
        # The body first: nothing may await between reading the object and writing it back, or a controller's
        # write in between would turn a patch without a resourceVersion into a 409 (the apiserver retries).
        body = await self._body(request) if request.method != "GET" else None
        obj = self.store.must_get(rtype, namespace, name)
        current = self._scale_of(rtype, obj)
        if request.method == "GET":
            return json_response(current)
        if request.method == "PUT":
            if not isinstance(body, dict):
                raise errors.bad_request("invalid Scale")
            new_scale = body
        else:
            new_scale = apply_patch(kind, copy.deepcopy(current), body)
        expect = (new_scale.get("metadata") or {}).get("resourceVersion")
        if expect and expect != obj["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype, name)
        replicas = (new_scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(422, "Invalid", f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: '
                                           f"{replicas}: must be greater than or equal to 0",
                           {"name": name, "group": "autoscaling", "kind": "Scale"},
                           [{"reason": "FieldValueInvalid", "message": f"Invalid value: {replicas}: must be greater "
                             "than or equal to 0", "field": "spec.replicas"}])
        if self._dry_run(request):
            return json_response(dict(current, spec={"replicas": replicas}))
        new = copy.deepcopy(obj)
        new["spec"]["replicas"] = replicas
        updated = self.store.update(rtype, new)
        return json_response(self._scale_of(rtype, updated))

    async def pod_log(self, request, namespace, name):
        if request.method != "GET":
            raise errors.method_not_allowed()
        pod = self.store.must_get(R.PODS, namespace, name)
        t = now()
        text, source = logs.read(self.cluster, pod, request.query, t)
        if not truthy(request.query.get("follow")):
            return web.Response(text=text, content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            await resp.write(text.encode())
            last = t
            while source.inst.end is None or source.inst.end > last:
                await asyncio.sleep(1.0)
                if self.store.get(R.PODS, namespace, name) is None:
                    break
                t = now()
                chunk = logs.follow_chunk(source, last, t)
                last = t
                if chunk:
                    await resp.write(chunk.encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    # -- metrics.k8s.io ------------------------------------------------------------------
    def metrics(self, request, rtype, namespace, name):
        """Kinds computed on read: metrics.k8s.io usage, Endpoints and EndpointSlices."""
        if request.method != "GET":
            raise errors.method_not_allowed()
        t = now()
        if rtype is R.POD_METRICS:
            items = [m for m in (metrics.pod_metrics(self.cluster, p, t) for p in self.store.list(R.PODS, namespace))
                     if m]
        elif rtype is R.NODE_METRICS:
            items = [metrics.node_metrics(self.cluster, n, t) for n in self.store.list(R.NODES)]
        else:
            items = endpoints.computed(self.store, rtype, namespace)
        if name:
            found = next((i for i in items if i["metadata"]["name"] == name), None)
            if found is None:
                raise errors.not_found(rtype, name)
            return self.render_one(request, rtype, found)
        label_reqs = parse_label_selector(request.query.get("labelSelector", ""))
        field_reqs = parse_field_selector(request.query.get("fieldSelector", ""))
        check_field_selector(rtype.key, field_reqs)
        items = sorted((i for i in items if labels_match(label_reqs, i["metadata"].get("labels"))
                        and fields_match(field_reqs, i)),
                       key=lambda i: (i["metadata"].get("namespace", ""), i["metadata"]["name"]))
        if tables.wants_table(request.headers.get("Accept")):
            return json_response(tables.table(rtype, items, str(self.store.rv)))
        return json_response({"kind": rtype.list_kind, "apiVersion": rtype.api_version,
                              "metadata": {"resourceVersion": str(self.store.rv)},
                              "items": [_item(i) for i in items]})

    # -- lab admin API -------------------------------------------------------------------
    def _serves_http(self, namespace, workload):
        """Whether the workload's pods serve HTTP (the default profile has traffic only then)."""
        from k8s_sim.kubelet import serves_http

        for rtype in (R.DEPLOYMENTS, R.STATEFULSETS, R.DAEMONSETS):
            obj = self.store.get(rtype, namespace, workload)
            if obj is not None:
                containers = ((obj["spec"].get("template") or {}).get("spec") or {}).get("containers") or []
                return any(serves_http(c) for c in containers)
        return True

    async def admin(self, request, path):
        parts = [p for p in path.split("/") if p]
        method = request.method
        if parts == ["config"]:
            if method == "PUT":
                body = await self._body(request)
                try:
                    self.cluster.knobs.update(body or {})
                except (KeyError, TypeError, ValueError) as exc:
                    raise errors.bad_request(f"unknown or invalid knob: {exc}") from None
            return json_response(self.cluster.knobs.as_dict())
        if parts == ["registry"]:
            self.cluster.registry._refresh()
            return json_response({"repositories": self.cluster.registry.repositories})
        if len(parts) == 3 and parts[0] == "nodes" and parts[2] == "usage":
            node = self.store.must_get(R.NODES, "", parts[1])["metadata"]["name"]
            if method == "PUT":
                body = await self._body(request)
                if not isinstance(body, dict) or set(body) - {"cpu_millicores", "memory_bytes"} or any(
                        isinstance(v, bool) or not isinstance(v, int | float) or v < 0 for v in body.values()):
                    raise ApiError(422, "Invalid", "node usage is {\"cpu_millicores\": n, \"memory_bytes\": n} "
                                                   "with non-negative numbers")
                self.cluster.node_usage[node] = {k: float(v) for k, v in body.items()}
            elif method == "DELETE":
                self.cluster.node_usage.pop(node, None)
            elif method != "GET":
                raise errors.method_not_allowed()
            usage = self.cluster.node_usage.get(node) or {}
            return json_response({"node": node, "cpu_millicores": usage.get("cpu_millicores", 0.0),
                                  "memory_bytes": usage.get("memory_bytes", 0.0)})
        if parts == ["sync"] and method == "POST":
            self.cluster.sync()
            return json_response({"resourceVersion": str(self.store.rv)})
        if len(parts) == 3 and parts[0] == "namespaces" and parts[2] == "profiles":
            ns = parts[1]
            return json_response({"profiles": [
                {"namespace": n, "workload": w, **p} for (n, w), p in self.cluster.profiles.all_custom().items()
                if n == ns]})
        if len(parts) == 4 and parts[0] == "namespaces" and parts[2] == "profiles":
            ns, workload = parts[1], parts[3]
            profiles = self.cluster.profiles
            if method == "PUT":
                try:
                    profile = profiles.set(ns, workload, await self._body(request))
                except ProfileError as exc:
                    raise ApiError(422, "Invalid", str(exc)) from None
                self.cluster.wake and self.cluster.wake.set()
                return json_response({"namespace": ns, "workload": workload, "custom": True, **profile})
            if method == "DELETE":
                profiles.reset(ns, workload)
                self.cluster.wake and self.cluster.wake.set()
            if method in ("GET", "DELETE"):
                custom = profiles.custom(ns, workload)
                effective = custom if custom is not None else profiles.effective(ns, workload,
                                                                                  self._serves_http(ns, workload))
                return json_response({"namespace": ns, "workload": workload, "custom": custom is not None,
                                      **effective})
            raise errors.method_not_allowed()
        raise ApiError(404, "NotFound", f"no lab admin endpoint {path}")
