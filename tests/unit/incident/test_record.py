"""The incident record's rules: identity, milestones, temporary fixes, the timeline's size, the spool."""
import json
import re
import threading

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.errors import RecordError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import (
    check_incident_id,
    new_incident_id,
    object_name,
    slot_name,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.lease import lease_expired
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.spool import Spool
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import (
    LocalStore,
    open_or_join,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
TARGET = {"kind": "Deployment", "namespace": "prod", "name": "api"}


def test_object_names_are_dns_labels_and_never_shared_by_two_ids():
    ids = ["INC-20261204-163005-api_down", "inc-20261204-163005-api-down", "X" * 128, "a.b_c-D"]
    names = [object_name(i) for i in ids]
    assert all(DNS_LABEL.match(n) and len(n) <= 63 for n in names), names
    assert len(set(names)) == len(ids)
    assert DNS_LABEL.match(slot_name("pynomaly-api", "api_down"))


def test_new_ids_carry_the_utc_second_and_the_scenario():
    assert new_incident_id("api_down", now=0) == "INC-19700101-000000-api_down"
    assert check_incident_id(new_incident_id("memory")) is None
    assert "letters, digits" in check_incident_id("../x")
    assert check_incident_id("") is not None


def test_the_first_time_a_milestone_is_reached_wins():
    record = rec.new_record("INC-1", "api", "api_down", now=0)
    record = rec.add_milestones(record, [{"milestone": "declared", "at": "2026-01-01T00:00:05.000000Z"}])
    record = rec.add_milestones(record, [{"milestone": "declared", "at": "2026-01-01T00:09:00.000000Z"},
                                         {"milestone": "contained", "at": "2026-01-01T00:10:00.000000Z"}])
    assert record["milestones"] == {"declared": "2026-01-01T00:00:05.000000Z",
                                    "contained": "2026-01-01T00:10:00.000000Z"}


def test_a_joining_run_raises_the_severity_but_never_lowers_it():
    record = rec.new_record("INC-1", "api", "api_down", severity="P1", title="API slow")
    raised = rec.apply_op(record, None, {"op": "merge", "fields": {"severity": "P0", "title": "API down"}})[0]
    assert (raised["severity"], raised["title"]) == ("P0", "API slow")  # a title is only filled, never replaced
    quieter = rec.apply_op(raised, None, {"op": "merge", "fields": {"severity": "P2", "commander": "alice"}})[0]
    assert (quieter["severity"], quieter["commander"]) == ("P0", "alice")
    unset = rec.new_record("INC-2", "api", "api_down")
    assert rec.merge_fields(unset, severity="P3")["severity"] == "P3"
    assert rec.severity_rank("P0") > rec.severity_rank("P3") > rec.severity_rank(None)


def test_a_fix_keeps_what_it_replaced_however_often_it_is_applied():
    record = rec.new_record("INC-1", "api", "memory")
    record = rec.put_fix(record, "scale_override", TARGET, {"replicas": 3}, {"replicas": 6})
    record = rec.put_fix(record, "scale_override", TARGET, {"replicas": 6}, {"replicas": 8})
    fix = rec.active_fix(record, "scale_override", TARGET)
    assert fix["original"] == {"replicas": 3} and fix["applied"] == {"replicas": 8}
    assert rec.summary(record)["active_fixes"] == 1
    record = rec.remove_fix(record, "scale_override", TARGET)
    assert rec.active_fix(record, "scale_override", TARGET) is None
    assert rec.fixes_by_kind(record) == {}
    assert rec.fixes_by_kind(record, state="removed")["scale_override"][0]["original"] == {"replicas": 3}
    # A new fix after the first was removed starts from the state it finds.
    record = rec.put_fix(record, "scale_override", TARGET, {"replicas": 4}, {"replicas": 6})
    assert rec.active_fix(record, "scale_override", TARGET)["original"] == {"replicas": 4}


def test_the_timeline_stays_within_a_configmap_and_keeps_every_milestone():
    task = {"task": "t", "results": {"blob": "x" * 2000}}
    timeline = {"runs": []}
    for n in range(40):
        run = {"run_id": str(n), "started": "2026-01-01T00:%02d:00.000000Z" % n, "tasks": [task] * 20,
               "milestones": [{"milestone": "detected", "at": "x"}]}
        timeline = rec.upsert_run(timeline, run)
    assert len(json.dumps(timeline)) <= rec.TIMELINE_BUDGET
    assert len(timeline["runs"]) == 40 and all(r["milestones"] for r in timeline["runs"])
    # A run sent again replaces its earlier copy.
    timeline = rec.upsert_run(timeline, {"run_id": "3", "started": "2026-01-01T00:03:00.000000Z", "tasks": []})
    assert [r["run_id"] for r in timeline["runs"]].count("3") == 1


def test_unknown_operations_are_refused():
    with pytest.raises(ValueError, match="unknown record operation"):
        rec.apply_op(rec.new_record("INC-1", "a", "b"), {}, {"op": "drop_table"})


@pytest.mark.parametrize(("spec", "now", "expired"), [
    ({}, 100, True),
    ({"holderIdentity": "a", "renewTime": "1970-01-01T00:01:30.000000Z", "leaseDurationSeconds": 15}, 100, False),
    ({"holderIdentity": "a", "renewTime": "1970-01-01T00:01:00.000000Z", "leaseDurationSeconds": 15}, 100, True),
    ({"holderIdentity": "a", "renewTime": "garbage", "leaseDurationSeconds": 15}, 100, True),
])
def test_a_lease_expires_after_its_duration_without_renewal(spec, now, expired):
    assert lease_expired(spec, now) is expired


def _make(store, n):
    return lambda taken: rec.new_record("INC-%d" % n, "api", "api_down")


def test_runs_that_start_together_agree_on_one_incident(tmp_path):
    winners = []

    def run(n):
        winners.append(open_or_join(LocalStore(tmp_path), "api", "api_down", _make(None, n)))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = {stored.record["id"] for stored, _created in winners}
    assert len(ids) == 1, ids
    assert sum(1 for _s, created in winners if created) == 1
    open_ones = LocalStore(tmp_path).list(status="open")
    assert [r["id"] for r in open_ones] == list(ids)


def test_a_resolved_incident_is_not_joined(tmp_path):
    store = LocalStore(tmp_path)
    first, created = open_or_join(store, "api", "api_down", _make(store, 1))
    assert created
    store.update("INC-1", lambda r, t: (rec.resolve(r), t))
    second, created = open_or_join(store, "api", "api_down", _make(store, 2))
    assert created and second.record["id"] == "INC-2"


def test_another_services_incident_of_the_same_second_is_never_joined(tmp_path):
    store = LocalStore(tmp_path)
    moment = 1764830000.0
    other, created = open_or_join(store, "billing", "api_down",
                                  lambda taken: rec.new_record(new_incident_id("api_down", moment, taken), "billing",
                                                               "api_down"))
    assert created
    mine, created = open_or_join(store, "api", "api_down",
                                 lambda taken: rec.new_record(new_incident_id("api_down", moment, taken), "api",
                                                              "api_down"))
    assert created and mine.record["service"] == "api"
    assert mine.record["id"] == other.record["id"] + "-2"


def test_what_was_kept_aside_is_written_once_the_store_answers(tmp_path):
    spool = Spool(tmp_path / "spool")
    record = rec.new_record("INC-9", "api", "api_down", severity="P0")
    spool.add("INC-9", {"op": "open", "record": record, "run_id": "r1", "holder": "h"},
              {"op": "run", "run": {"run_id": "r1", "started": "a", "milestones": [
                  {"milestone": "declared", "at": "2026-01-01T00:00:00.000000Z"}]}})
    store = LocalStore(tmp_path / "records")
    assert spool.flush(store) == ["INC-9"]
    stored = store.read("INC-9")
    assert stored.record["severity"] == "P0" and stored.record["milestones"]["declared"]
    assert [r["run_id"] for r in stored.timeline["runs"]] == ["r1"]
    assert spool.pending() == {} and spool.flush(store) == []


def test_a_record_that_is_not_json_is_named_not_overwritten(tmp_path):
    store = LocalStore(tmp_path)
    store.create(rec.new_record("INC-1", "a", "b"))
    path = store.where("INC-1")
    with open(path, "w") as handle:
        handle.write("{not json")
    with pytest.raises(RecordError, match="not valid JSON"):
        store.update("INC-1", lambda r, t: (r, t))
    assert open(path).read() == "{not json"


def test_a_channel_state_kept_aside_never_forgets_what_was_sent_since():
    record = rec.set_channel(rec.new_record("INC-1", "api", "api_down"), "slack",
                             {"sent": ["declared|P0|investigating"], "log": [{"at": "1", "update": "declared"}],
                              "claims": {"resolved|P0|resolved": {"run_id": "r2"}}})
    # A state kept aside by a run that never saw that post, with its own (owed) update:
    spooled = {"sent": [], "log": [{"at": "2", "update": "contained"}],
               "pending": [{"fingerprint": "declared|P0|investigating"}, {"fingerprint": "contained|P0|identified"}]}
    merged = rec.apply_op(record, None, {"op": "channel", "name": "slack", "state": spooled})[0]["channels"]["slack"]
    assert merged["sent"] == ["declared|P0|investigating"]
    assert [e["update"] for e in merged["log"]] == ["declared", "contained"]
    assert merged["pending"] == [{"fingerprint": "contained|P0|identified"}]
    assert "claims" not in merged  # the newer state says which sends are still in flight
