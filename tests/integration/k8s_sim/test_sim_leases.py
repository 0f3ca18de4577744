"""coordination.k8s.io/v1 Leases through kubectl, the official Python client and raw REST calls: every
call a leader-election client makes, answered as kube-apiserver answers it."""
import datetime
import json
import ssl
import urllib.error
import urllib.request

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

API = "coordination.k8s.io/v1"
LAYOUT = "2006-01-02T15:04:05.000000Z07:00"


def lease(name, holder="runner-a", duration=30, renew="2026-12-04T16:00:00.123456Z", **spec):
    return {"apiVersion": API, "kind": "Lease", "metadata": {"name": name},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration, "acquireTime": renew,
                     "renewTime": renew, "leaseTransitions": 0, **spec}}


class Rest:
    """Raw HTTPS calls with the lab token, for what the typed clients do not send as such."""

    def __init__(self, service):
        self.url = service.url
        self.token = service.token
        self.ctx = ssl.create_default_context(cafile=str(service.dir / "ca.crt"))

    def __call__(self, method, path, body=None, content_type="application/json"):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type,
                                              "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())


@pytest.fixture(scope="session")
def rest(k8s_service):
    return Rest(k8s_service)


@pytest.fixture(scope="session")
def coordination(k8s_service):
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(k8s_service.kubeconfig), client_configuration=cfg)
    return client.CoordinationV1Api(client.ApiClient(cfg))


def leases_path(ns, name=""):
    return f"/apis/{API}/namespaces/{ns}/leases" + (f"/{name}" if name else "")


# -- discovery ---------------------------------------------------------------------------------------

def test_discovery_serves_leases_without_short_names(rest, kubectl):
    status, groups = rest("GET", "/apis")
    assert status == 200
    group = next(g for g in groups["groups"] if g["name"] == "coordination.k8s.io")
    assert group["versions"] == [{"groupVersion": API, "version": "v1"}]
    assert group["preferredVersion"] == {"groupVersion": API, "version": "v1"}
    status, resources = rest("GET", f"/apis/{API}")
    assert status == 200 and resources["groupVersion"] == API
    assert resources["resources"] == [{"name": "leases", "singularName": "lease", "namespaced": True,
                                       "kind": "Lease", "verbs": ["create", "delete", "deletecollection", "get",
                                                                  "list", "patch", "update", "watch"]}]
    rows = [line.split() for line in kubectl("api-resources", "--api-group=coordination.k8s.io").splitlines()]
    assert rows == [["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
                    ["leases", API, "true", "Lease"]]


# -- kubectl -----------------------------------------------------------------------------------------

def test_kubectl_create_get_and_delete(kubectl, namespace):
    body = lease("incident-lock", renew="2026-12-04T18:00:00.654321+02:00")
    out = kubectl("create", "-f", "-", ns=namespace, stdin=yaml.safe_dump(body))
    assert out.strip() == "lease.coordination.k8s.io/incident-lock created"
    dup = kubectl.run("create", "-f", "-", ns=namespace, stdin=yaml.safe_dump(body), check=False)
    assert dup.returncode == 1
    assert 'Error from server (AlreadyExists): error when creating "STDIN": leases.coordination.k8s.io ' \
           '"incident-lock" already exists' in dup.stderr
    kubectl("create", "-f", "-", ns=namespace, stdin=json.dumps(lease("free-lock", holder=None, duration=None)))

    table = [line.split() for line in kubectl("get", "lease", ns=namespace).splitlines()]
    assert table[0] == ["NAME", "HOLDER", "AGE"]
    assert table[1][0] == "free-lock" and len(table[1]) == 2  # no holder: an empty HOLDER cell
    assert table[2][:2] == ["incident-lock", "runner-a"] and len(table) == 3
    assert kubectl("get", "leases", "-o", "wide", ns=namespace).splitlines()[0].split() == ["NAME", "HOLDER", "AGE"]

    got = kubectl.json("get", "lease", "incident-lock", ns=namespace)
    assert got["kind"] == "Lease" and got["apiVersion"] == API
    assert got["metadata"]["namespace"] == namespace and got["metadata"]["uid"]
    assert "generation" not in got["metadata"]
    # MicroTime comes back in UTC with six fractional digits, whatever offset it was written with.
    assert got["spec"] == {"holderIdentity": "runner-a", "leaseDurationSeconds": 30,
                           "acquireTime": "2026-12-04T16:00:00.654321Z", "renewTime": "2026-12-04T16:00:00.654321Z",
                           "leaseTransitions": 0}
    assert kubectl.json("get", "lease", "free-lock", ns=namespace)["spec"] == {
        "acquireTime": "2026-12-04T16:00:00.123456Z", "renewTime": "2026-12-04T16:00:00.123456Z",
        "leaseTransitions": 0}

    out = kubectl("delete", "lease", "incident-lock", ns=namespace)
    assert out.strip() == 'lease.coordination.k8s.io "incident-lock" deleted'
    missing = kubectl.run("get", "lease", "incident-lock", ns=namespace, check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): leases.coordination.k8s.io "incident-lock" not found' in missing.stderr


def test_kubectl_sees_the_apiservers_refusals(kubectl, namespace):
    def create(body):
        return kubectl.run("create", "-f", "-", ns=namespace, stdin=json.dumps(body), check=False)

    res = create(lease("no-micros", renew="2026-12-04T16:00:00Z"))
    assert res.returncode == 1
    assert ('Error from server (BadRequest): error when creating "STDIN": Lease in version "v1" cannot be handled '
            f'as a Lease: parsing time "2026-12-04T16:00:00Z" as "{LAYOUT}": cannot parse "Z" as ".000000"') \
        in res.stderr
    res = create(lease("bad-numbers", duration=0, leaseTransitions=-1))
    assert res.returncode == 1
    assert 'The Lease "bad-numbers" is invalid: ' in res.stderr
    assert "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0" in res.stderr
    assert "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0" in res.stderr
    res = create(dict(lease("with-status"), status={"renewed": True}))
    assert res.returncode == 1
    assert 'strict decoding error: unknown field "status"' in res.stderr
    res = create(lease("typo", leaseDurationSecond=5))
    assert 'unknown field "spec.leaseDurationSecond"' in res.stderr
    assert kubectl("get", "lease", "-o", "name", ns=namespace) == ""  # nothing was stored


def test_kubectl_label_apply_and_replace(kubectl, namespace):
    body = lease("lock")
    kubectl("apply", "-f", "-", ns=namespace, stdin=json.dumps(body))
    kubectl("label", "lease", "lock", "incident=INC-1", ns=namespace)
    assert kubectl("get", "lease", "-l", "incident=INC-1", "-o", "name", ns=namespace).strip() == \
        "lease.coordination.k8s.io/lock"
    body["spec"]["holderIdentity"] = "runner-b"
    assert kubectl("apply", "-f", "-", ns=namespace, stdin=json.dumps(body)).strip() == \
        "lease.coordination.k8s.io/lock configured"
    # kubectl replace reads the live resourceVersion first, as Leases allow no unconditional update.
    body["spec"]["leaseTransitions"] = 1
    assert kubectl("replace", "-f", "-", ns=namespace, stdin=json.dumps(body)).strip() == \
        "lease.coordination.k8s.io/lock replaced"
    live = kubectl.json("get", "lease", "lock", ns=namespace)
    assert live["spec"]["holderIdentity"] == "runner-b" and live["spec"]["leaseTransitions"] == 1
    assert "labels" not in live["metadata"]  # a replace is the whole object: the label went with it


# -- the official Python client ----------------------------------------------------------------------

def micro(*args):
    return datetime.datetime(*args, tzinfo=datetime.UTC)


def test_python_client_leader_election_cycle(coordination, namespace):
    t0 = micro(2026, 12, 4, 16, 0, 0, 123456)
    spec = client.V1LeaseSpec(holder_identity="runner-a", lease_duration_seconds=15, acquire_time=t0,
                              renew_time=t0, lease_transitions=0)
    created = coordination.create_namespaced_lease(namespace, client.V1Lease(
        metadata=client.V1ObjectMeta(name="inc-1"), spec=spec))
    assert created.spec.holder_identity == "runner-a" and created.spec.renew_time == t0
    with pytest.raises(ApiException) as exc:
        coordination.create_namespaced_lease(namespace, client.V1Lease(
            metadata=client.V1ObjectMeta(name="inc-1"), spec=spec))
    assert exc.value.status == 409 and json.loads(exc.value.body)["reason"] == "AlreadyExists"

    # Renew: read, change, replace with the resourceVersion read.
    current = coordination.read_namespaced_lease("inc-1", namespace)
    current.spec.renew_time = micro(2026, 12, 4, 16, 0, 10, 1)
    renewed = coordination.replace_namespaced_lease("inc-1", namespace, current)
    assert renewed.spec.renew_time == micro(2026, 12, 4, 16, 0, 10, 1)
    assert int(renewed.metadata.resource_version) > int(created.metadata.resource_version)

    # A second candidate working from the stale copy loses the race.
    current.spec.holder_identity = "runner-b"
    with pytest.raises(ApiException) as exc:
        coordination.replace_namespaced_lease("inc-1", namespace, current)
    assert exc.value.status == 409
    status = json.loads(exc.value.body)
    assert status["reason"] == "Conflict"
    assert status["message"] == ('Operation cannot be fulfilled on leases.coordination.k8s.io "inc-1": the object '
                                 "has been modified; please apply your changes to the latest version and try again")
    assert status["details"] == {"name": "inc-1", "group": "coordination.k8s.io", "kind": "leases"}

    # Leases allow no unconditional update: a replace without a resourceVersion is 422.
    renewed.metadata.resource_version = None
    with pytest.raises(ApiException) as exc:
        coordination.replace_namespaced_lease("inc-1", namespace, renewed)
    assert exc.value.status == 422
    assert json.loads(exc.value.body)["message"] == (
        'leases.coordination.k8s.io "inc-1" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be '
        "specified for an update")

    # Take over with a transition, then list and delete.
    taken = coordination.read_namespaced_lease("inc-1", namespace)
    taken.spec.holder_identity, taken.spec.lease_transitions = "runner-b", 1
    taken.spec.acquire_time = taken.spec.renew_time = micro(2026, 12, 4, 16, 1, 0, 500000)
    assert coordination.replace_namespaced_lease("inc-1", namespace, taken).spec.lease_transitions == 1
    listed = coordination.list_namespaced_lease(namespace)
    assert [i.metadata.name for i in listed.items] == ["inc-1"]
    assert listed.items[0].spec.holder_identity == "runner-b"
    assert coordination.delete_namespaced_lease("inc-1", namespace).status == "Success"
    with pytest.raises(ApiException) as exc:
        coordination.read_namespaced_lease("inc-1", namespace)
    assert exc.value.status == 404


def test_python_client_datetimes_without_microseconds_are_refused(coordination, namespace):
    # The client writes datetime.isoformat(): a whole second has no fraction, which MicroTime refuses.
    spec = client.V1LeaseSpec(holder_identity="a", renew_time=micro(2026, 12, 4, 16, 0, 0, 0))
    with pytest.raises(ApiException) as exc:
        coordination.create_namespaced_lease(namespace, client.V1Lease(metadata=client.V1ObjectMeta(name="x"),
                                                                       spec=spec))
    assert exc.value.status == 400
    assert json.loads(exc.value.body)["message"] == (
        'Lease in version "v1" cannot be handled as a Lease: parsing time "2026-12-04T16:00:00+00:00" as '
        f'"{LAYOUT}": cannot parse "+00:00" as ".000000"')


def test_watch_sees_every_change(coordination, namespace):
    first = coordination.create_namespaced_lease(namespace, client.V1Lease(
        metadata=client.V1ObjectMeta(name="w"), spec=client.V1LeaseSpec(holder_identity="a")))
    coordination.patch_namespaced_lease("w", namespace, {"spec": {"holderIdentity": "b"}})
    coordination.delete_namespaced_lease("w", namespace)
    seen = []
    w = watch.Watch()
    for event in w.stream(coordination.list_namespaced_lease, namespace, resource_version=first.metadata.
                          resource_version, timeout_seconds=5):
        seen.append((event["type"], event["object"].spec.holder_identity))
        if event["type"] == "DELETED":
            w.stop()
    assert seen == [("MODIFIED", "b"), ("DELETED", "b")]


# -- raw REST: create on update, patches, protobuf ---------------------------------------------------

def test_put_to_a_missing_lease_creates_it(rest, namespace):
    status, body = rest("PUT", leases_path(namespace, "made-by-put"), lease("made-by-put"))
    assert status == 201 and body["metadata"]["resourceVersion"]
    status, body = rest("PUT", leases_path(namespace, "made-by-put"), lease("other-name"))
    assert status == 400
    assert body["message"] == "the name of the object (other-name) does not match the name on the URL (made-by-put)"
    status, body = rest("PUT", leases_path("no-such-namespace-here", "x"), lease("x"))
    assert status == 404 and body["message"] == 'namespaces "no-such-namespace-here" not found'


def test_patches_are_decoded_and_validated(rest, namespace):
    assert rest("POST", leases_path(namespace), lease("p"))[0] == 201
    path = leases_path(namespace, "p")
    status, body = rest("PATCH", path, {"spec": {"holderIdentity": "runner-b"}}, "application/merge-patch+json")
    assert status == 200 and body["spec"]["holderIdentity"] == "runner-b"
    status, body = rest("PATCH", path, {"spec": {"renewTime": "2026-12-04T16:00:05.000001Z"}},
                        "application/strategic-merge-patch+json")
    assert status == 200 and body["spec"]["renewTime"] == "2026-12-04T16:00:05.000001Z"

    status, body = rest("PATCH", path, {"spec": {"renewTime": "soon"}}, "application/strategic-merge-patch+json")
    assert status == 422 and body["reason"] == "Invalid"
    why = f'parsing time "soon" as "{LAYOUT}": cannot parse "soon" as "2006"'
    assert body["message"] == f' "" is invalid: patch: Invalid value: "map[spec:map[renewTime:soon]]": {why}'
    assert body["details"] == {"causes": [{"reason": "FieldValueInvalid", "field": "patch",
                                           "message": f'Invalid value: "map[spec:map[renewTime:soon]]": {why}'}]}
    status, body = rest("PATCH", path, {"spec": {"renewTime": "soon"}}, "application/merge-patch+json")
    assert status == 422 and body["message"].startswith(' "" is invalid: patch: Invalid value: "{\\"apiVersion\\":')
    assert body["message"].endswith(why)
    status, body = rest("PATCH", path, [{"op": "replace", "path": "/spec/leaseDurationSeconds", "value": "30"}],
                        "application/json-patch+json")
    assert status == 422 and body["message"].endswith(
        "json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32")
    status, body = rest("PATCH", path, {"spec": {"leaseDurationSeconds": -1}}, "application/merge-patch+json")
    assert status == 422
    assert body["message"] == ('Lease.coordination.k8s.io "p" is invalid: spec.leaseDurationSeconds: Invalid value: '
                               "-1: must be greater than 0")
    status, body = rest("PATCH", path + "?fieldValidation=Strict", {"spec": {"holder": "x"}},
                        "application/merge-patch+json")
    assert status == 400 and body["message"] == 'strict decoding error: unknown field "spec.holder"'
    status, body = rest("PATCH", leases_path(namespace, "absent"), {"spec": {}}, "application/merge-patch+json")
    assert status == 404 and body["message"] == 'leases.coordination.k8s.io "absent" not found'
    status, body = rest("GET", path)
    assert body["spec"]["holderIdentity"] == "runner-b" and body["spec"]["leaseDurationSeconds"] == 30


def test_field_selectors_are_those_of_leases(rest, namespace):
    rest("POST", leases_path(namespace), lease("a"))
    rest("POST", leases_path(namespace), lease("b"))
    status, body = rest("GET", leases_path(namespace) + "?fieldSelector=metadata.name%3Db")
    assert status == 200 and [i["metadata"]["name"] for i in body["items"]] == ["b"]
    assert body["kind"] == "LeaseList" and "kind" not in body["items"][0]
    status, body = rest("GET", leases_path(namespace) + "?fieldSelector=spec.holderIdentity%3Drunner-a")
    assert status == 400 and body["message"] == "field label not supported: spec.holderIdentity"


def _pb(number, value):
    def varint(n):
        out = b""
        while True:
            b, n = n & 0x7F, n >> 7
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                return out

    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    value = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(value)) + value


def test_protobuf_create(rest, namespace):
    """client-go's typed clients may send a Lease as protobuf (leader election with protobuf content)."""
    renew = _pb(1, 1796400000) + _pb(2, 654321000)
    spec = _pb(1, "runner-pb") + _pb(2, 10) + _pb(3, renew) + _pb(4, renew) + _pb(5, 2)
    raw = _pb(1, _pb(1, "pb")) + _pb(2, spec)
    body = b"k8s\x00" + _pb(1, _pb(1, API) + _pb(2, "Lease")) + _pb(2, raw)
    status, created = rest("POST", leases_path(namespace), body, "application/vnd.kubernetes.protobuf")
    assert status == 201
    assert created["spec"] == {"holderIdentity": "runner-pb", "leaseDurationSeconds": 10,
                               "acquireTime": "2026-12-04T16:00:00.654321Z",
                               "renewTime": "2026-12-04T16:00:00.654321Z", "leaseTransitions": 2}
