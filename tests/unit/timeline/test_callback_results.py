"""What the incident_timeline callback keeps of a task result: never a no_log value, never the
module's arguments, and a bounded size."""
import json
from types import SimpleNamespace

from ansible_collections.pynomaly.incident_response.plugins.callback.incident_timeline import (
    CENSORED,
    _milestones,
    key_results,
)

SECRET = "sentinel-secret-value"


def task(no_log=False):
    return SimpleNamespace(no_log=no_log)


def test_a_no_log_task_keeps_nothing():
    assert key_results(task(no_log=True), {"msg": SECRET, "changed": True}, 2000) == {"censored": CENSORED}
    assert key_results(task(), {"msg": SECRET, "_ansible_no_log": True}, 2000) == {"censored": CENSORED}
    assert key_results(task(), {"censored": "hidden by ansible", "changed": True}, 2000) == {"censored": CENSORED}


def test_arguments_and_status_keys_are_dropped():
    kept = key_results(task(), {"invocation": {"module_args": {"api_key": SECRET}}, "changed": True, "rc": 0,
                                "stdout_lines": ["x"], "_ansible_verbose_always": True, "status": 202}, 2000)
    assert kept == {"rc": 0, "status": 202}


def test_loop_items_are_summarised_and_no_log_items_hidden():
    kept = key_results(task(), {"results": [
        {"item": "a", "changed": True},
        {"item": SECRET, "_ansible_no_log": True, "failed": True},
        {"_ansible_item_label": "c", "skipped": True},
    ]}, 2000)
    assert kept["results"] == [
        {"item": "a", "changed": True, "failed": False, "skipped": False},
        {"item": CENSORED, "changed": False, "failed": True, "skipped": False},
        {"item": "c", "changed": False, "failed": False, "skipped": True},
    ]
    assert SECRET not in json.dumps(kept)


def test_results_are_bounded():
    kept = key_results(task(), {"a_big": "x" * 10000, "b_small": 1}, 500)
    assert len(json.dumps(kept)) < 700
    assert kept["a_big"].endswith("... (cut)")


def test_milestones_are_found_in_loops_but_not_in_no_log_items():
    mark = {"incident_id": "INC-1", "milestone": "declared"}
    assert _milestones({"incident_milestone": mark}) == [mark]
    hidden = {"incident_milestone": dict(mark, milestone="resolved"), "_ansible_no_log": True}
    assert _milestones({"results": [{"incident_milestone": mark}, hidden]}) == [mark]
