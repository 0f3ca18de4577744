"""Strategic merge, JSON merge and JSON patch, as the apiserver applies them."""
import pytest

from k8s_sim.errors import ApiError
from k8s_sim.patch import json_patch, merge_patch, strategic_merge

POD_SPEC = {"containers": [
    {"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
     "ports": [{"containerPort": 80, "protocol": "TCP"}]},
    {"name": "sidecar", "image": "s:1"}],
    "volumes": [{"name": "data", "emptyDir": {}}]}


def test_containers_merge_by_name_and_env_by_name():
    out = strategic_merge(POD_SPEC, {"containers": [{"name": "app", "image": "a:2",
                                                     "env": [{"name": "B", "value": "3"}]}]})
    assert [c["name"] for c in out["containers"]] == ["app", "sidecar"]
    assert out["containers"][0]["image"] == "a:2"
    assert out["containers"][0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]
    assert out["containers"][1] == POD_SPEC["containers"][1]


def test_container_ports_merge_by_container_port_and_service_ports_by_port():
    out = strategic_merge(POD_SPEC, {"containers": [{"name": "app", "ports": [{"containerPort": 9090}]}]})
    assert [p["containerPort"] for p in out["containers"][0]["ports"]] == [80, 9090]
    svc = {"spec": {"ports": [{"port": 80, "targetPort": 8000}]}}
    out = strategic_merge(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9000}, {"port": 443}]}})
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9000}, {"port": 443}]


def test_directives_delete_replace_and_null():
    out = strategic_merge(POD_SPEC, {"containers": [{"name": "sidecar", "$patch": "delete"}],
                                     "volumes": [{"name": "data", "$patch": "delete"}]})
    assert [c["name"] for c in out["containers"]] == ["app"] and out["volumes"] == []
    out = strategic_merge({"spec": {"template": {"a": 1, "b": 2}}},
                          {"spec": {"template": {"$patch": "replace", "c": 3}}})
    assert out == {"spec": {"template": {"c": 3}}}
    out = strategic_merge({"metadata": {"labels": {"a": "1", "b": "2"}}}, {"metadata": {"labels": {"a": None}}})
    assert out == {"metadata": {"labels": {"b": "2"}}}


def test_set_element_order_and_primitive_list_deletion():
    out = strategic_merge(POD_SPEC, {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                                     "containers": [{"name": "app", "image": "a:3"}]})
    assert [c["name"] for c in out["containers"]] == ["sidecar", "app"]
    out = strategic_merge({"metadata": {"finalizers": ["a", "b"]}},
                          {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]}})
    assert out["metadata"]["finalizers"] == ["b", "c"]


def test_lists_without_merge_key_are_replaced():
    out = strategic_merge({"spec": {"tolerations": [{"key": "a"}]}}, {"spec": {"tolerations": [{"key": "b"}]}})
    assert out["spec"]["tolerations"] == [{"key": "b"}]


def test_json_merge_patch_replaces_lists():
    out = merge_patch(POD_SPEC, {"containers": [{"name": "app", "image": "a:9"}], "volumes": None})
    assert out == {"containers": [{"name": "app", "image": "a:9"}]}


def test_json_patch_operations():
    doc = {"metadata": {"annotations": {"a/b": "1"}}, "spec": {"replicas": 1, "list": [1, 2]}}
    out = json_patch(doc, [
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/spec/list/-", "value": 3},
        {"op": "remove", "path": "/metadata/annotations/a~1b"},
        {"op": "copy", "from": "/spec/replicas", "path": "/spec/copied"},
        {"op": "move", "from": "/spec/copied", "path": "/spec/moved"},
    ])
    assert out == {"metadata": {"annotations": {}}, "spec": {"replicas": 3, "list": [1, 2, 3], "moved": 3}}
    assert doc["spec"]["replicas"] == 1
    with pytest.raises(ApiError) as err:
        json_patch(doc, [{"op": "test", "path": "/spec/replicas", "value": 2}])
    assert err.value.code == 422
    with pytest.raises(ApiError):
        json_patch(doc, [{"op": "replace", "path": "/spec/missing", "value": 1}])
