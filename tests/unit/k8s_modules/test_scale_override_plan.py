"""Scale override decisions: record originals once, converge on reruns, restore exactly, refuse above the cap."""
import json

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import InvalidTarget
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.scale_override import (
    SCALE_RECORD,
    owning_hpa,
    plan_absent,
    plan_present,
)


def workload(replicas, record=None):
    ann = {SCALE_RECORD: json.dumps(record)} if record else {}
    return {"metadata": {"name": "api", "resourceVersion": "7", "annotations": ann}, "spec": {"replicas": replicas}}


def hpa(min_replicas, max_replicas, target="api"):
    return {"metadata": {"name": "api-hpa", "resourceVersion": "9"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target}, "minReplicas": min_replicas,
                     "maxReplicas": max_replicas}}


def applied(obj, change):
    """The workload as it is after the change (annotations and replicas of the patch)."""
    out = json.loads(json.dumps(obj))
    if change.workload_patch:
        for key, value in change.workload_patch["metadata"]["annotations"].items():
            if value is None:
                out["metadata"]["annotations"].pop(key, None)
            else:
                out["metadata"]["annotations"][key] = value
        out["spec"].update(change.workload_patch.get("spec", {}))
    return out


def test_present_records_the_original_and_reruns_converge():
    first = plan_present(workload(3), None, replicas=6, now=lambda: 0)
    assert first.changed and first.workload_patch["spec"] == {"replicas": 6}
    assert first.workload_patch["metadata"]["resourceVersion"] == "7"
    record = json.loads(first.workload_patch["metadata"]["annotations"][SCALE_RECORD])
    assert record["original_replicas"] == 3 and record["replicas"] == 6
    again = plan_present(applied(workload(3), first), None, replicas=6)
    assert not again.changed


def test_increase_by_counts_from_the_original_not_the_current():
    first = plan_present(workload(2), None, increase_by=3)
    assert first.desired == 5
    assert plan_present(applied(workload(2), first), None, increase_by=3).desired == 5


def test_a_new_target_keeps_the_first_original():
    first = plan_present(workload(2), None, replicas=4)
    second = plan_present(applied(workload(2), first), None, replicas=8)
    assert second.changed and second.desired == 8
    assert json.loads(second.workload_patch["metadata"]["annotations"][SCALE_RECORD])["original_replicas"] == 2


def test_hpa_floor_is_raised_instead_of_the_replicas():
    change = plan_present(workload(2), hpa(2, 5), replicas=7)
    assert change.hpa_patch["spec"] == {"minReplicas": 7, "maxReplicas": 7}
    assert "spec" not in change.workload_patch
    record = json.loads(change.workload_patch["metadata"]["annotations"][SCALE_RECORD])
    assert record["hpa"] == {"name": "api-hpa", "original_min_replicas": 2, "original_max_replicas": 5}


def test_absent_restores_exactly_and_then_does_nothing():
    obj = applied(workload(3), plan_present(workload(3), None, replicas=6))
    obj["spec"]["replicas"] = 6
    back = plan_absent(obj, None)
    assert back.workload_patch["spec"] == {"replicas": 3}
    assert back.workload_patch["metadata"]["annotations"] == {SCALE_RECORD: None}
    assert not plan_absent(applied(obj, back), None).changed


def test_absent_with_hpa_restores_min_and_max():
    first = plan_present(workload(2), hpa(2, 5), replicas=7)
    obj = applied(workload(2), first)
    back = plan_absent(obj, hpa(7, 7))
    assert back.hpa_patch["spec"] == {"minReplicas": 2, "maxReplicas": 5}
    with pytest.raises(InvalidTarget, match="no longer targets it"):
        plan_absent(obj, None)


def test_cap_and_floor_are_enforced():
    with pytest.raises(InvalidTarget, match="above max_replicas=10"):
        plan_present(workload(3), None, replicas=11, max_replicas=10)
    with pytest.raises(InvalidTarget, match="at least 1"):
        plan_present(workload(3), None, replicas=0)


def test_owning_hpa_matches_kind_and_name():
    assert owning_hpa([hpa(1, 2, target="other"), hpa(1, 2)], "Deployment", "api")["metadata"]["name"] == "api-hpa"
    assert owning_hpa([hpa(1, 2)], "StatefulSet", "api") is None
