"""Rollout history and revision selection follow `kubectl rollout undo`, and converge on reruns."""
import pytest
from k8s_factories import DEPLOY_UID, SELECTOR, controller_revision, deployment, replicaset, template

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s import history as h
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import InvalidTarget


def three_revisions():
    return [
        replicaset("api:1.1.0", 1, "aaa", cause="deploy 1.1.0"),
        replicaset("api:1.2.0", 2, "bbb", cause="deploy 1.2.0"),
        replicaset("api:1.3.0", 3, "ccc", cause="deploy 1.3.0"),
    ]


def test_history_is_sorted_by_revision_with_images_and_change_causes():
    rs = three_revisions()
    revs = h.deployment_history(deployment("api:1.3.0", 3), list(reversed(rs)))
    assert [r.number for r in revs] == [1, 2, 3]
    assert revs[1].images == ["api:1.2.0"]
    assert revs[1].change_cause == "deploy 1.2.0"
    assert revs[2].pod_template_hash == "ccc"


def test_history_ignores_replicasets_controlled_by_another_owner():
    rs = [*three_revisions(), replicaset("evil:9", 9, "zzz", owner_uid="someone-else")]
    revs = h.deployment_history(deployment("api:1.3.0", 3), rs)
    assert [r.number for r in revs] == [1, 2, 3]


def test_history_ignores_non_controller_owner_reference():
    rs = [*three_revisions(), replicaset("evil:9", 9, "zzz", controller=False)]
    assert [r.number for r in h.deployment_history(deployment("api:1.3.0", 3), rs)] == [1, 2, 3]


def test_history_requires_every_selector_label_not_just_the_keys():
    # kubernetes.core joins only label keys; a ReplicaSet with another value must not count.
    other = replicaset("other:1", 7, "yyy", labels={"app.kubernetes.io/name": "other", "pod-template-hash": "yyy"})
    revs = h.deployment_history(deployment("api:1.3.0", 3), [*three_revisions(), other])
    assert 7 not in [r.number for r in revs]


def test_history_skips_replicasets_without_a_revision():
    broken = replicaset("api:0", 1, "qqq")
    broken["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "not-a-number"
    assert [r.number for r in h.deployment_history(deployment("api:1.3.0", 3), [broken])] == []


def test_previous_is_the_second_newest_revision():
    revs = h.deployment_history(deployment("api:1.3.0", 3), three_revisions())
    assert h.select_revision(revs, "pynomaly-api").number == 2


def test_revision_found_after_the_controller_renumbered_it():
    # After undo to 2, the ReplicaSet of revision 2 becomes 4 with revision-history "2".
    rs = [replicaset("api:1.1.0", 1, "aaa"), replicaset("api:1.3.0", 3, "ccc"),
          replicaset("api:1.2.0", 4, "bbb", history="2")]
    revs = h.deployment_history(deployment("api:1.2.0", 4), rs)
    target = h.select_revision(revs, "pynomaly-api", revision=2)
    assert target.number == 4
    assert target.aliases == (2,)


def test_exact_revision_number_wins_over_an_alias():
    rs = [replicaset("api:1.1.0", 5, "aaa", history="2"), replicaset("api:1.2.0", 2, "bbb")]
    revs = h.deployment_history(deployment("api:1.1.0", 5), rs)
    assert h.select_revision(revs, "x", revision=2).name == "pynomaly-api-bbb"


def test_unknown_revision_lists_the_ones_that_exist():
    revs = h.deployment_history(deployment("api:1.3.0", 3), three_revisions())
    with pytest.raises(InvalidTarget) as err:
        h.select_revision(revs, "deployment/pynomaly-api", revision=9)
    assert "no revision 9" in err.value.message
    assert "1, 2, 3" in err.value.message
    assert err.value.details["revisions"] == [1, 2, 3]


def test_image_selects_the_newest_revision_running_it():
    rs = [*three_revisions(), replicaset("api:1.1.0", 4, "ddd", history="1")]
    revs = h.deployment_history(deployment("api:1.1.0", 4), rs)
    assert h.select_revision(revs, "x", image="api:1.2.0").number == 2
    assert h.select_revision(revs, "x", image="api:1.1.0").number == 4


def test_image_matches_without_the_registry_host():
    assert h.image_matches("pynomaly/api:1.2.0", "registry.example.com/pynomaly/api:1.2.0")
    assert not h.image_matches("api:1.2.0", "registry.example.com/pynomaly/api:1.2.0")
    assert not h.image_matches("api:1.2", "api:1.2.0")


def test_unknown_image_lists_images_per_revision():
    revs = h.deployment_history(deployment("api:1.3.0", 3), three_revisions())
    with pytest.raises(InvalidTarget, match=r"1: api:1\.1\.0; 2: api:1\.2\.0"):
        h.select_revision(revs, "x", image="api:9")


def test_no_history_and_single_revision_are_clear_errors():
    with pytest.raises(InvalidTarget, match="no rollout history"):
        h.select_revision([], "deployment/x")
    revs = h.deployment_history(deployment("api:1.1.0", 1), [replicaset("api:1.1.0", 1, "aaa")])
    with pytest.raises(InvalidTarget, match="no previous revision"):
        h.select_revision(revs, "deployment/x")


def test_template_equality_ignores_pod_template_hash_and_empty_fields():
    with_hash = template("api:1.2.0", hash_label="bbb")
    plain = template("api:1.2.0")
    plain["spec"]["volumes"] = []
    assert h.equal_ignore_hash(with_hash, plain)
    assert not h.equal_ignore_hash(with_hash, template("api:1.3.0"))
    assert not h.equal_ignore_hash(plain, template("api:1.2.0", extra_env=[{"name": "A", "value": "1"}]))


def test_current_revision_is_the_one_matching_the_template():
    revs = h.deployment_history(deployment("api:1.3.0", 3), three_revisions())
    assert h.current_revision(revs, template("api:1.2.0")).number == 2
    assert h.current_revision(revs, template("api:7")) is None


def test_annotations_take_the_replicaset_change_cause_and_keep_bookkeeping():
    deploy_ann = {"deployment.kubernetes.io/revision": "3", "kubernetes.io/change-cause": "deploy 1.3.0",
                  "team": "api", h.ROLLBACK_RECORD: "{}",
                  "kubectl.kubernetes.io/last-applied-configuration": "{...}"}
    rs_ann = {"deployment.kubernetes.io/revision": "2", "deployment.kubernetes.io/desired-replicas": "3",
              "kubernetes.io/change-cause": "deploy 1.2.0", "owner": "platform"}
    out = h.rollback_annotations(deploy_ann, rs_ann)
    assert out == {"deployment.kubernetes.io/revision": "3", "kubernetes.io/change-cause": "deploy 1.2.0",
                   "team": "api", h.ROLLBACK_RECORD: "{}", "owner": "platform",
                   "kubectl.kubernetes.io/last-applied-configuration": "{...}"}


def test_annotations_drop_change_cause_when_the_replicaset_has_none():
    out = h.rollback_annotations({"kubernetes.io/change-cause": "deploy 1.3.0"}, {})
    assert "kubernetes.io/change-cause" not in out


def test_restore_patch_is_guarded_by_resource_version_and_strips_the_hash():
    deploy = deployment("api:1.3.0", 3)
    ops = h.restore_patch(deploy, template("api:1.2.0", hash_label="bbb"), {"a": "b"})
    assert ops[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "1234"}
    assert ops[1]["path"] == "/spec/template"
    assert "pod-template-hash" not in ops[1]["value"]["metadata"]["labels"]
    assert ops[2] == {"op": "replace", "path": "/metadata/annotations", "value": {"a": "b"}}
    del deploy["metadata"]["annotations"]
    assert h.restore_patch(deploy, template("x"), {})[2]["op"] == "add"


def test_controller_revision_history_strips_the_replace_directive():
    owner = {"metadata": {"uid": "sts-uid"}, "spec": {"selector": {"matchLabels": {"app": "db"}}}}
    crs = [controller_revision("db:2", 2, "db-b", "sts-uid", {"app": "db", "controller-revision-hash": "b"}),
           controller_revision("db:1", 1, "db-a", "sts-uid", {"app": "db", "controller-revision-hash": "a"}),
           controller_revision("db:9", 9, "other", "other-uid", {"app": "db"})]
    revs = h.controller_revision_history(owner, crs)
    assert [r.number for r in revs] == [1, 2]
    assert "$patch" not in revs[0].template
    assert revs[0].images == ["db:1"]
    assert h.select_revision(revs, "statefulset/db").name == "db-a"


def test_selector_with_expressions():
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.selectors import (
        selector_matches,
        selector_string,
    )
    sel = {"matchLabels": {"app": "api"},
           "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "edge"]},
                                {"key": "legacy", "operator": "DoesNotExist"}]}
    assert selector_matches(sel, {"app": "api", "tier": "web"})
    assert not selector_matches(sel, {"app": "api", "tier": "db"})
    assert not selector_matches(sel, {"app": "api", "tier": "web", "legacy": "1"})
    assert not selector_matches({}, {"app": "api"})
    assert selector_string(sel) == "app=api,tier in (web,edge),!legacy"
    assert selector_string(SELECTOR) == "app.kubernetes.io/name=pynomaly-api"
    assert DEPLOY_UID
