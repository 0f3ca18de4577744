"""WorkloadRollback decides before writing and retries once on a resourceVersion conflict.

The Workloads double below serves recorded-shape objects from memory: it stands in for the API
only to reach the decision and retry paths deterministically (a conflict between read and write
cannot be timed from outside); the real API behaviour is covered by the integration tests.
"""
import copy
import json

import pytest
from k8s_factories import deployment, pod, replicaset

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    InvalidTarget,
    ResourceConflict,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.history import (
    ROLLBACK_RECORD,
    deployment_history,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.rollback import (
    RollbackTarget,
    WorkloadRollback,
)


class Workloads:
    kind = "Deployment"
    namespace = "prod"

    def __init__(self, obj, replicasets, pods=(), conflicts=0):
        self.obj = obj
        self.replicasets = replicasets
        self._pods = list(pods)
        self.conflicts = conflicts
        self.patches = []
        self.reads = 0

    def label(self, name):
        return f"Deployment prod/{name}"

    def get(self, name):
        self.reads += 1
        return copy.deepcopy(self.obj)

    def history(self, obj):
        return deployment_history(obj, self.replicasets)

    def pods(self, obj):
        return self._pods

    def patch(self, name, body):
        self.patches.append(body)
        if self.conflicts:
            self.conflicts -= 1
            self.obj["metadata"]["resourceVersion"] = str(int(self.obj["metadata"]["resourceVersion"]) + 1)
            raise ResourceConflict("conflict")
        return self.obj


def three():
    return [replicaset("api:1", 1, "aaa", cause="one"), replicaset("api:2", 2, "bbb", cause="two"),
            replicaset("api:3", 3, "ccc", cause="three")]


def test_conflict_rereads_replans_and_retries_once():
    w = Workloads(deployment("api:3", 3), three(), conflicts=1)
    rb = WorkloadRollback(w, "pynomaly-api", RollbackTarget())
    rb.prepare()
    assert rb.apply() is True
    assert len(w.patches) == 2
    assert w.patches[0][0]["value"] == "1234" and w.patches[1][0]["value"] == "1235"


def test_second_conflict_is_raised():
    w = Workloads(deployment("api:3", 3), three(), conflicts=2)
    rb = WorkloadRollback(w, "pynomaly-api", RollbackTarget())
    rb.prepare()
    with pytest.raises(ResourceConflict):
        rb.apply()


def test_incident_record_is_written_and_stops_a_second_previous():
    w = Workloads(deployment("api:3", 3), three())
    rb = WorkloadRollback(w, "pynomaly-api", RollbackTarget(incident_id="INC-1"), now=lambda: 0)
    plan = rb.prepare()
    record = json.loads(plan.annotations[ROLLBACK_RECORD])
    assert record == {"at": "1970-01-01T00:00:00Z", "from_revision": 3, "incident": "INC-1",
                      "requested": "the previous revision", "target": "pynomaly-api-bbb", "to_revision": 2}
    # The state the controller leaves: revision 2's ReplicaSet renumbered 4, the record on the Deployment.
    after = deployment("api:2", 4, annotations={ROLLBACK_RECORD: plan.annotations[ROLLBACK_RECORD]})
    rs = [replicaset("api:1", 1, "aaa"), replicaset("api:3", 3, "ccc"), replicaset("api:2", 4, "bbb", history="2")]
    again = WorkloadRollback(Workloads(after, rs), "pynomaly-api", RollbackTarget(incident_id="INC-1")).prepare()
    assert again.skip.startswith("already rolled back for incident INC-1")
    other = WorkloadRollback(Workloads(after, rs), "pynomaly-api", RollbackTarget(incident_id="INC-2")).prepare()
    assert other.changes and other.target.number == 3


def test_only_if_unhealthy_reads_the_pods():
    healthy = Workloads(deployment("api:3", 3), three(), pods=[pod("a")])
    plan = WorkloadRollback(healthy, "pynomaly-api", RollbackTarget(only_if_unhealthy=True)).prepare()
    assert not plan.changes and "rollout is healthy" in plan.skip
    sick = Workloads(deployment("api:3", 3), three(), pods=[pod("a", waiting="CrashLoopBackOff", ready=False)])
    assert WorkloadRollback(sick, "pynomaly-api", RollbackTarget(only_if_unhealthy=True)).prepare().changes


def test_paused_is_refused_before_anything_else():
    w = Workloads(deployment("api:3", 3, paused=True), three())
    with pytest.raises(InvalidTarget, match="paused"):
        WorkloadRollback(w, "pynomaly-api", RollbackTarget()).prepare()
    assert w.patches == []


def test_result_in_check_mode_says_would():
    w = Workloads(deployment("api:3", 3), three())
    rb = WorkloadRollback(w, "pynomaly-api", RollbackTarget(revision=1))
    rb.prepare()
    res = rb.result(diff=True, check_mode=True)
    assert res["msg"] == "would roll back to revision 1"
    assert res["from_images"] == ["api:3"] and res["to_images"] == ["api:1"]
    assert res["diff"]["after"]["metadata"]["annotations"]["kubernetes.io/change-cause"] == "one"
    assert w.patches == []
