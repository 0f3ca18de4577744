"""Scale override decisions: the original comes from the record's fix (else the legacy annotation, else the
live objects), reruns converge, absent restores exactly and never overwrites a hand change unless forced."""
import copy
import json

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.errors import RecordError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import LocalStore
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    InvalidTarget,
    ResourceConflict,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.scale_override import (
    FIX_KIND,
    LEGACY_ANNOTATION,
    ScaleOverride,
    fix_target,
    held_elsewhere,
    owning_hpa,
    plan_absent,
    plan_present,
)

TARGET = fix_target("Deployment", "prod", "api")


def workload(replicas, legacy=None):
    ann = {LEGACY_ANNOTATION: json.dumps(legacy) if isinstance(legacy, dict) else legacy} if legacy else {}
    return {"metadata": {"name": "api", "namespace": "prod", "resourceVersion": "7", "annotations": ann},
            "spec": {"replicas": replicas}}


def hpa(min_replicas, max_replicas, target="api"):
    return {"metadata": {"name": "api-hpa", "resourceVersion": "9"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target}, "minReplicas": min_replicas,
                     "maxReplicas": max_replicas}}


def fix_of(change):
    """The record's fix after the change is recorded."""
    return rec.active_fix(rec.put_fix({"fixes": []}, FIX_KIND, TARGET, change.original, change.applied),
                          FIX_KIND, TARGET)


def after(obj, change):
    """The workload as it is once the patch is in."""
    out = copy.deepcopy(obj)
    if change.workload_patch:
        out["spec"].update(change.workload_patch.get("spec", {}))
        for key, value in (change.workload_patch.get("metadata", {}).get("annotations") or {}).items():
            if value is None:
                out["metadata"]["annotations"].pop(key, None)
    return out


def test_present_takes_the_live_original_and_writes_no_annotation():
    first = plan_present(TARGET, workload(3), None, replicas=6)
    assert first.changed and first.record_op == "fix"
    assert first.original == {"replicas": 3} and first.applied == {"replicas": 6}
    assert first.workload_patch == {"metadata": {"resourceVersion": "7"}, "spec": {"replicas": 6}}
    again = plan_present(TARGET, after(workload(3), first), None, fix=fix_of(first), replicas=6)
    assert not again.changed and again.record_op is None
    assert again.msg == "override already in place: Deployment/prod/api replicas = 6"


def test_increase_by_counts_from_the_recorded_original_not_the_current():
    first = plan_present(TARGET, workload(2), None, increase_by=3)
    assert first.desired == 5
    rerun = plan_present(TARGET, after(workload(2), first), None, fix=fix_of(first), increase_by=3)
    assert rerun.desired == 5 and not rerun.changed


def test_a_new_target_keeps_the_first_original():
    first = plan_present(TARGET, workload(2), None, replicas=4)
    second = plan_present(TARGET, after(workload(2), first), None, fix=fix_of(first), replicas=8)
    assert second.changed and second.desired == 8 and second.record_op == "fix"
    assert second.original == {"replicas": 2} and second.applied == {"replicas": 8}


def test_hpa_floor_is_raised_instead_of_the_replicas():
    change = plan_present(TARGET, workload(2), hpa(2, 5), replicas=7)
    assert change.hpa_patch == {"metadata": {"resourceVersion": "9"}, "spec": {"minReplicas": 7, "maxReplicas": 7}}
    assert change.workload_patch is None  # the HPA scales the Deployment, not us
    assert change.original == {"replicas": 2, "hpa": {"name": "api-hpa", "min_replicas": 2, "max_replicas": 5}}
    assert change.applied == {"replicas": 7, "hpa": {"name": "api-hpa", "min_replicas": 7, "max_replicas": 7}}
    assert change.via_hpa == "api-hpa"


def test_hpa_max_above_the_target_is_left_alone_and_a_lower_rerun_gives_it_back():
    first = plan_present(TARGET, workload(2), hpa(2, 10), replicas=4)
    assert first.hpa_patch["spec"] == {"minReplicas": 4}
    raised = plan_present(TARGET, workload(2), hpa(2, 5), replicas=8)
    lower = plan_present(TARGET, workload(8), hpa(8, 8), fix=fix_of(raised), replicas=4)
    assert lower.hpa_patch["spec"] == {"minReplicas": 4, "maxReplicas": 5}


def test_absent_restores_exactly_then_has_nothing_to_do():
    fix = fix_of(plan_present(TARGET, workload(3), None, replicas=6))
    back = plan_absent(TARGET, workload(6), None, fix, "INC-1")
    assert back.workload_patch["spec"] == {"replicas": 3} and back.record_op == "fix_removed"
    assert back.desired == 3 and back.msg == "Deployment/prod/api replicas 6 -> 3 (restored)"
    none = plan_absent(TARGET, workload(3), None, None, "INC-1")
    assert not none.changed
    assert none.msg == "no scale override recorded for Deployment/prod/api in INC-1"


def test_absent_refuses_a_hand_change_unless_forced():
    fix = fix_of(plan_present(TARGET, workload(2), None, replicas=4))
    with pytest.raises(InvalidTarget) as caught:
        plan_absent(TARGET, workload(5), None, fix, "INC-1")
    assert "replicas is 5, but the scale override of INC-1 set 4" in caught.value.message
    assert "Nothing was changed" in caught.value.message
    forced = plan_absent(TARGET, workload(5), None, fix, "INC-1", force=True)
    assert forced.workload_patch["spec"] == {"replicas": 2}


def test_absent_when_already_back_at_the_original_only_closes_the_fix():
    fix = fix_of(plan_present(TARGET, workload(2), None, replicas=4))
    change = plan_absent(TARGET, workload(2), None, fix, "INC-1")
    assert change.workload_patch is None and change.record_op == "fix_removed" and change.changed


def test_absent_with_hpa_restores_min_and_max_and_checks_them_for_hand_changes():
    fix = fix_of(plan_present(TARGET, workload(2), hpa(2, 5), replicas=7))
    back = plan_absent(TARGET, workload(7), hpa(7, 7), fix, "INC-1")
    assert back.hpa_patch["spec"] == {"minReplicas": 2, "maxReplicas": 5} and back.desired == 2
    with pytest.raises(InvalidTarget, match="minReplicas=7 maxReplicas=9, but the scale override of INC-1 set "
                                            "minReplicas=7 maxReplicas=7"):
        plan_absent(TARGET, workload(7), hpa(7, 9), fix, "INC-1")
    with pytest.raises(InvalidTarget, match="no longer targets it"):
        plan_absent(TARGET, workload(7), None, fix, "INC-1")
    forced = plan_absent(TARGET, workload(7), None, fix, "INC-1", force=True)
    assert forced.workload_patch["spec"] == {"replicas": 2} and forced.hpa_patch is None


def test_present_refuses_when_the_hpa_situation_changed_since_the_fix():
    with_hpa = fix_of(plan_present(TARGET, workload(2), hpa(2, 5), replicas=7))
    with pytest.raises(InvalidTarget, match="no longer targets it"):
        plan_present(TARGET, workload(7), None, fix=with_hpa, replicas=7)
    without = fix_of(plan_present(TARGET, workload(2), None, replicas=4))
    with pytest.raises(InvalidTarget, match="now targets Deployment/prod/api"):
        plan_present(TARGET, workload(4), hpa(2, 5), fix=without, replicas=4)


def test_a_legacy_annotation_in_effect_gives_the_original_and_is_removed():
    legacy = {"original_replicas": 2, "replicas": 4, "incident_id": "INC-old", "at": "2026-11-27T06:15:00Z"}
    change = plan_present(TARGET, workload(4, legacy), None, replicas=4)
    assert change.original == {"replicas": 2} and change.record_op == "fix"
    assert change.workload_patch == {"metadata": {"resourceVersion": "7", "annotations": {LEGACY_ANNOTATION: None}}}
    assert "taken from the legacy" in change.msg


def test_a_legacy_annotation_with_hpa_gives_the_hpa_originals():
    legacy = {"original_replicas": 2, "replicas": 6,
              "hpa": {"name": "api-hpa", "original_min_replicas": 2, "original_max_replicas": 5}}
    change = plan_present(TARGET, workload(6, legacy), hpa(6, 6), replicas=6)
    assert change.original == {"replicas": 2, "hpa": {"name": "api-hpa", "min_replicas": 2, "max_replicas": 5}}
    assert change.hpa_patch is None and change.workload_patch["metadata"]["annotations"] == {LEGACY_ANNOTATION: None}


def test_a_stale_legacy_annotation_is_not_taken_for_the_original():
    # Brought back by a rollback after its override was restored: it says 4 was applied, the live count is 2.
    legacy = {"original_replicas": 7, "replicas": 4}
    change = plan_present(TARGET, workload(2, legacy), None, replicas=3)
    assert change.original == {"replicas": 2}
    assert change.workload_patch["metadata"]["annotations"] == {LEGACY_ANNOTATION: None}
    assert "not in effect" in change.msg
    with pytest.raises(InvalidTarget, match="not valid JSON"):
        plan_present(TARGET, workload(2, "{not json"), None, replicas=3)


def test_an_active_fix_wins_over_a_resurrected_legacy_annotation():
    fix = fix_of(plan_present(TARGET, workload(2), None, replicas=4))
    change = plan_present(TARGET, workload(4, {"original_replicas": 9, "replicas": 4}), None, fix=fix, replicas=4)
    assert change.original == {"replicas": 2} and change.record_op is None
    assert change.workload_patch["metadata"]["annotations"] == {LEGACY_ANNOTATION: None}


def test_cap_and_floor_are_enforced():
    with pytest.raises(InvalidTarget, match="above max_replicas=10"):
        plan_present(TARGET, workload(3), None, replicas=11, max_replicas=10)
    with pytest.raises(InvalidTarget, match="at least 1"):
        plan_present(TARGET, workload(3), None, replicas=0)


def test_owning_hpa_matches_kind_and_name():
    assert owning_hpa([hpa(1, 2, target="other"), hpa(1, 2)], "Deployment", "api")["metadata"]["name"] == "api-hpa"
    assert owning_hpa([hpa(1, 2)], "StatefulSet", "api") is None


def test_held_elsewhere_names_only_another_open_incident_with_an_active_fix():
    mine = rec.put_fix(rec.new_record("INC-1", "svc", "s"), FIX_KIND, TARGET, {"replicas": 2}, {"replicas": 4})
    other = rec.put_fix(rec.new_record("INC-2", "svc", "s"), FIX_KIND, TARGET, {"replicas": 2}, {"replicas": 4})
    assert held_elsewhere([mine], "INC-1", TARGET) is None
    assert held_elsewhere([mine, other], "INC-1", TARGET)[0] == "INC-2"
    assert held_elsewhere([rec.resolve(other)], "INC-1", TARGET) is None
    assert held_elsewhere([rec.remove_fix(other, FIX_KIND, TARGET)], "INC-1", TARGET) is None


# --- ScaleOverride over a fake API and a local store: what is written, in which order ----------------

class FakeApi:
    """Just the calls ScaleOverride makes; `log` keeps the writes in order, `conflicts` fails the next patches."""

    def __init__(self, obj, hpa_obj=None, log=None):
        self.obj = obj
        self.hpa = hpa_obj
        self.log = log if log is not None else []
        self.conflicts = 0

    def get(self, path, what, query=None):
        return copy.deepcopy(self.obj)

    def items(self, path, what, query=None):
        return [copy.deepcopy(self.hpa)] if self.hpa else []

    def patch(self, path, body, what):
        if self.conflicts:
            self.conflicts -= 1
            raise ResourceConflict("conflict on %s" % what)
        target = self.hpa if "horizontalpodautoscalers" in path else self.obj
        target["spec"].update(body.get("spec") or {})
        self.log.append(("patch", "hpa" if target is self.hpa else "workload", body.get("spec")))
        return target


class LoggingStore(LocalStore):
    def __init__(self, folder, log):
        super().__init__(folder)
        self.log = log

    def update(self, incident_id, mutate):
        before, after = super().update(incident_id, mutate)
        self.log.append(("record", [f["state"] for f in after.record["fixes"]]))
        return before, after


def params(**kw):
    base = dict(kind="Deployment", namespace="prod", name="api", incident_id="INC-1", state="present", replicas=4,
                increase_by=None, max_replicas=20, force=False)
    base.update(kw)
    return base


@pytest.fixture
def world(tmp_path):
    log = []
    store = LoggingStore(str(tmp_path), log)
    store.create(rec.new_record("INC-1", "svc", "pressure"))
    return store, FakeApi(workload(2), log=log), log


def test_present_writes_the_record_before_the_workload_and_absent_after(world):
    store, api, log = world
    override = ScaleOverride(api, store, params(), by="tester")
    override.prepare()
    override.apply()
    assert log == [("record", ["active"]), ("patch", "workload", {"replicas": 4})]
    result = override.result()
    assert result["fix"]["original"] == {"replicas": 2} and result["fix"]["applied"] == {"replicas": 4}
    assert result["fix"]["by"] == "tester" and result["changed"] is True
    del log[:]
    back = ScaleOverride(api, store, params(state="absent"))
    back.prepare()
    back.apply()
    assert log == [("patch", "workload", {"replicas": 2}), ("record", ["removed"])]
    assert back.result()["fix"]["state"] == "removed"


def test_check_mode_reports_the_fix_and_writes_nothing(world):
    store, api, log = world
    override = ScaleOverride(api, store, params())
    override.prepare()
    result = override.result(check_mode=True, diff=True)
    assert log == [] and store.read("INC-1").record["fixes"] == []
    assert result["msg"].startswith("Would: ") and result["fix"]["applied"] == {"replicas": 4}
    before, after_view = json.loads(result["diff"]["before"]), json.loads(result["diff"]["after"])
    assert (before["replicas"], before["fix"]) == (2, None)
    assert after_view["replicas"] == 4 and after_view["fix"]["original"] == {"replicas": 2}


def test_a_conflict_on_the_patch_replans_from_the_record_already_written(world):
    store, api, log = world
    api.conflicts = 1
    override = ScaleOverride(api, store, params())
    override.prepare()
    override.apply()
    assert log == [("record", ["active"]), ("patch", "workload", {"replicas": 4})]
    assert api.obj["spec"]["replicas"] == 4


def test_no_open_record_and_another_incidents_override_are_refused(world):
    store, api, log = world
    with pytest.raises(RecordError, match="There is no open incident record for INC-9 .*declare/open it first"):
        ScaleOverride(api, store, params(incident_id="INC-9")).prepare()
    store.create(rec.new_record("INC-2", "svc", "pressure"))
    first = ScaleOverride(api, store, params(incident_id="INC-2"))
    first.prepare()
    first.apply()
    with pytest.raises(RecordError, match="Incident INC-2 already holds a scale override on Deployment/prod/api"):
        ScaleOverride(api, store, params()).prepare()
    store.update("INC-1", lambda r, t: (rec.resolve(r), t))
    with pytest.raises(RecordError, match=r"INC-1 \(.* is resolved\): declare/open it first"):
        ScaleOverride(api, store, params()).prepare()
