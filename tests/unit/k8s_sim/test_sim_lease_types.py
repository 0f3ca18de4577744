"""coordination.k8s.io/v1 Leases: decoding into the Go type (MicroTime, int32, unknown fields),
validation, the table printer and the protobuf body, as kube-apiserver has them."""
import pytest

from k8s_sim import defaults, errors, protobuf, tables, typed
from k8s_sim import resources as R
from k8s_sim.errors import ApiError

LAYOUT = '"2006-01-02T15:04:05.000000Z07:00"'


@pytest.mark.parametrize(("value", "stored"), [
    ("2026-12-04T16:00:00.123456Z", "2026-12-04T16:00:00.123456Z"),
    ("2026-12-04T18:00:00.123456+02:00", "2026-12-04T16:00:00.123456Z"),
    ("2026-12-04T00:30:00.000001-01:00", "2026-12-04T01:30:00.000001Z"),
    ("2024-02-29T23:59:59.999999-01:00", "2024-03-01T00:59:59.999999Z"),
    ("2026-12-04T16:00:00,123456Z", "2026-12-04T16:00:00.123456Z"),  # Go accepts a comma
    ("2026-12-04T6:00:00.000000Z", "2026-12-04T06:00:00.000000Z"),  # and a one-digit hour
])
def test_micro_time_is_stored_in_utc_with_six_digits(value, stored):
    assert typed.normalize_micro_time(value) == stored


@pytest.mark.parametrize(("value", "error"), [
    ("2026-12-04T16:00:00Z", f'parsing time "2026-12-04T16:00:00Z" as {LAYOUT}: cannot parse "Z" as ".000000"'),
    ("2026-12-04T16:00:00.123Z",
     f'parsing time "2026-12-04T16:00:00.123Z" as {LAYOUT}: cannot parse ".123Z" as ".000000"'),
    ("2026-12-04T16:00:00.123456789Z",
     f'parsing time "2026-12-04T16:00:00.123456789Z" as {LAYOUT}: cannot parse "789Z" as "Z07:00"'),
    ("2026-12-04T16:00:00.123456+00:00:00",
     'parsing time "2026-12-04T16:00:00.123456+00:00:00": extra text: ":00"'),
    ("2026-12-04T16:00:00.123456", f'parsing time "2026-12-04T16:00:00.123456" as {LAYOUT}: cannot parse "" as '
                                   '"Z07:00"'),
    ("2026-12-04 16:00:00.123456Z",
     f'parsing time "2026-12-04 16:00:00.123456Z" as {LAYOUT}: cannot parse " 16:00:00.123456Z" as "T"'),
    ("garbage", f'parsing time "garbage" as {LAYOUT}: cannot parse "garbage" as "2006"'),
    ("", f'parsing time "" as {LAYOUT}: cannot parse "" as "2006"'),
    ("2026-13-04T16:00:00.123456Z", 'parsing time "2026-13-04T16:00:00.123456Z": month out of range'),
    ("2026-02-29T16:00:00.123456Z", 'parsing time "2026-02-29T16:00:00.123456Z": day out of range'),
    ("2026-12-04T24:00:00.123456Z", 'parsing time "2026-12-04T24:00:00.123456Z": hour out of range'),
    ("2026-12-04T16:00:00.123456+25:00",
     'parsing time "2026-12-04T16:00:00.123456+25:00": time zone offset hour out of range'),
    ("2026-12-04T16:00:00.123456Z\u00e9",
     'parsing time "2026-12-04T16:00:00.123456Z\\xc3\\xa9": extra text: "\\xc3\\xa9"'),
])
def test_micro_time_errors_are_go_time_parse_errors(value, error):
    with pytest.raises(typed.DecodeError) as exc:
        typed.normalize_micro_time(value)
    assert str(exc.value) == error


def test_decoding_drops_unknown_fields_and_orders_the_spec():
    lease = typed.decode_lease({
        "kind": "Lease", "apiVersion": "coordination.k8s.io/v1", "status": {"x": 1},
        "metadata": {"name": "a", "bogus": 1, "labels": {"k": "v"}},
        "spec": {"renewTime": "2026-12-04T16:00:00.000000+01:00", "holderIdentity": "", "leaseTransitions": None,
                 "unknown": True, "leaseDurationSeconds": 15}})
    assert lease == {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
                     "metadata": {"name": "a", "labels": {"k": "v"}},
                     "spec": {"holderIdentity": "", "leaseDurationSeconds": 15,
                              "renewTime": "2026-12-04T15:00:00.000000Z"}}
    assert typed.decode_lease({"metadata": {"name": "a"}, "spec": None})["spec"] == {}
    assert typed.decode_lease({"metadata": {"name": "a"}})["spec"] == {}


@pytest.mark.parametrize(("spec", "as_json", "as_unstructured"), [
    ({"leaseDurationSeconds": "15"},
     "json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32",
     "cannot convert string to int32"),
    ({"leaseTransitions": 1.5},
     "json: cannot unmarshal number 1.5 into Go struct field LeaseSpec.spec.leaseTransitions of type int32", None),
    ({"leaseDurationSeconds": 2**31},
     "json: cannot unmarshal number 2147483648 into Go struct field LeaseSpec.spec.leaseDurationSeconds of type "
     "int32", None),
    ({"holderIdentity": 7},
     "json: cannot unmarshal number into Go struct field LeaseSpec.spec.holderIdentity of type string",
     "cannot convert int64 to string"),
    ({"holderIdentity": True, "renewTime": 5},  # an Unmarshaler's error ends the decoding at once
     "json: cannot unmarshal number into Go value of type string",
     "cannot convert bool to string"),
])
def test_type_errors_read_as_the_apiservers(spec, as_json, as_unstructured):
    with pytest.raises(typed.DecodeError, match="^" + as_json.replace(".", r"\.") + "$"):
        typed.decode_lease({"metadata": {"name": "a"}, "spec": spec})
    if as_unstructured:
        with pytest.raises(typed.DecodeError, match="^" + as_unstructured + "$"):
            typed.decode_lease({"metadata": {"name": "a"}, "spec": spec}, unstructured=True)
    with pytest.raises(typed.DecodeError, match=r"Go struct field Lease\.spec of type v1\.LeaseSpec"):
        typed.decode_lease({"metadata": {"name": "a"}, "spec": "x"})


def test_strategic_patches_convert_numbers_like_the_unstructured_converter():
    lease = typed.decode_lease({"metadata": {"name": "a"}, "spec": {"leaseDurationSeconds": 2.9}}, unstructured=True)
    assert lease["spec"] == {"leaseDurationSeconds": 2}


def test_go_renderings_of_a_rejected_patch():
    assert typed.go_value({"spec": {"renewTime": "x", "leaseDurationSeconds": 2.0, "a": [1, None, True, 1e6]}}) == \
        "map[spec:map[a:[1 <nil> true 1e+06] leaseDurationSeconds:2 renewTime:x]]"
    assert typed.go_quote('{"a":"<b>\n"}') == '"{\\"a\\":\\"<b>\\n\\"}"'
    assert typed.go_json({"b": "<&>", "a": 1}) == '{"a":1,"b":"\\u003c\\u0026\\u003e"}'


@pytest.mark.parametrize(("spec", "causes"), [
    ({"leaseDurationSeconds": 0}, [("spec.leaseDurationSeconds", "Invalid value: 0: must be greater than 0")]),
    ({"leaseDurationSeconds": -5, "leaseTransitions": -1},
     [("spec.leaseDurationSeconds", "Invalid value: -5: must be greater than 0"),
      ("spec.leaseTransitions", "Invalid value: -1: must be greater than or equal to 0")]),
    ({"holderIdentity": "any string at all: Ünïcode, spaces/slashes", "leaseDurationSeconds": 1,
      "leaseTransitions": 0}, []),
    ({}, []),
])
def test_validation_is_validate_lease_spec(spec, causes):
    lease = defaults.apply_defaults(R.LEASES, {"metadata": {"name": "lock"}, "spec": dict(spec)})
    if not causes:
        defaults.validate(R.LEASES, lease)
        return
    with pytest.raises(ApiError) as exc:
        defaults.validate(R.LEASES, lease)
    status = exc.value.status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["message"].startswith('Lease.coordination.k8s.io "lock" is invalid: ')
    assert status["details"]["group"] == "coordination.k8s.io" and status["details"]["kind"] == "Lease"
    assert [(c["field"], c["message"]) for c in status["details"]["causes"]] == causes


def test_lease_names_are_dns_subdomains():
    with pytest.raises(ApiError, match="a lowercase RFC 1123 subdomain"):
        defaults.validate(R.LEASES, {"metadata": {"name": "Not_A_Name"}, "spec": {}})
    defaults.validate(R.LEASES, {"metadata": {"name": "kube-controller-manager.example"}, "spec": {}})


def test_feature_gated_fields_are_dropped_and_status_is_an_unknown_field():
    lease = defaults.apply_defaults(R.LEASES, {"metadata": {"name": "a"}, "spec": {
        "holderIdentity": "h", "strategy": "OldestEmulationVersion", "preferredHolder": "p"}})
    assert lease["spec"] == {"holderIdentity": "h"}
    assert defaults.unknown_fields(R.LEASES, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                              "metadata": {"name": "a"}, "status": {},
                                              "spec": {"holderIdentity": "h", "renew": "x"}}) == \
        ["status", "spec.renew"]


def test_resource_version_required_for_an_update():
    status = errors.resource_version_required(R.LEASES, "lock").status()
    assert status["code"] == 422
    assert status["message"] == ('leases.coordination.k8s.io "lock" is invalid: metadata.resourceVersion: '
                                 "Invalid value: 0x0: must be specified for an update")
    assert status["details"] == {"name": "lock", "group": "coordination.k8s.io", "kind": "leases", "causes": [
        {"reason": "FieldValueInvalid", "message": "Invalid value: 0x0: must be specified for an update",
         "field": "metadata.resourceVersion"}]}


def test_discovery_entry_and_table():
    doc = R.api_resource_list("coordination.k8s.io", "v1")
    assert doc["resources"] == [{"name": "leases", "singularName": "lease", "namespaced": True, "kind": "Lease",
                                 "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                                           "watch"]}]
    group = R.api_group("coordination.k8s.io")
    assert group["preferredVersion"] == {"groupVersion": "coordination.k8s.io/v1", "version": "v1"}
    lease = {"metadata": {"name": "lock", "creationTimestamp": "2026-12-04T16:00:00Z"},
             "spec": {"holderIdentity": "runner-a"}}
    t = tables.table(R.LEASES, [lease, {"metadata": {"name": "free", "creationTimestamp": "2026-12-04T15:00:00Z"},
                                        "spec": {}}], "7", t=1796400060.0)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Holder", "Age"]
    assert [r["cells"] for r in t["rows"]] == [["lock", "runner-a", "60s"], ["free", "", "61m"]]


def _varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def _field(number, value):
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    value = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def test_protobuf_lease_body():
    renew = _field(1, 1796400000) + _field(2, 123456000)
    spec = (_field(1, "") + _field(2, 30) + _field(4, renew) + _field(5, 0) + _field(6, "OldestEmulationVersion"))
    raw = _field(1, _field(1, "lock") + _field(3, "ns")) + _field(2, spec)
    envelope = _field(1, _field(1, "coordination.k8s.io/v1") + _field(2, "Lease")) + _field(2, raw)
    assert protobuf.decode(protobuf.MAGIC + envelope) == {
        "kind": "Lease", "apiVersion": "coordination.k8s.io/v1", "metadata": {"name": "lock", "namespace": "ns"},
        "spec": {"holderIdentity": "", "leaseDurationSeconds": 30, "renewTime": "2026-12-04T16:00:00.123456Z",
                 "leaseTransitions": 0, "strategy": "OldestEmulationVersion"}}
