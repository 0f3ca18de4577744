"""A whole incident_notify call against a record in a local store, with the channels' HTTP replaced:
once per update, claims between concurrent calls, what a failing channel owes, the cluster unreachable."""
import json

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.errors import (
    RecordError,
    StoreUnreachable,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.spool import Spool
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import LocalStore
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.errors import ChannelFailed
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.notifier import (
    Notifier,
    StoreAccess,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.options import ARGUMENT_SPEC
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.pagerduty import PagerDutyChannel
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.slack import SlackChannel
from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import (
    pagerduty_action,
    policy,
)

INCIDENT = "INC-20261204-000000-unit"
T0 = 1_800_000_000.0


class Poster:
    """Stands in for JsonPoster: records each body; `fail` makes the next sends raise; `during` runs mid-send."""

    def __init__(self, what):
        self.what = what
        self.bodies = []
        self.fail = 0
        self.during = None
        self.waits = []

    def post(self, url, body):
        if self.during is not None:
            during, self.during = self.during, None
            during()
        if self.fail:
            self.fail -= 1
            raise ChannelFailed("%s answered HTTP 500: boom, after 3 attempt(s)" % self.what)
        self.bodies.append(body)
        return 202, "ok"


class FakeStatuspage:
    name = "statuspage"

    def __init__(self):
        self.sent = []
        self.fail = 0
        self.waits = []

    def send(self, item, decision, channels):
        if self.fail:
            self.fail -= 1
            raise ChannelFailed("Gave up on GET /incidents/unresolved after 3 attempt(s)")
        known = (channels.get("statuspage") or {}).get("incident_id")
        self.sent.append((item["update"], item["status"], known))
        action = "resolved" if item["status"] == "resolved" else ("updated" if known else "created")
        return {"action": action, "detail": None,
                "state": {"incident_id": known or "sp1", "shortlink": "https://stspg.io/sp1", "status": item["status"]}}

    def predict(self, item, decision, channels):
        return {"action": "created", "state": {"status": item["status"]}, "detail": None}


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


class Harness:
    def __init__(self, tmp_path):
        self.store = LocalStore(str(tmp_path / "records"))
        self.spool = Spool(str(tmp_path / "spool"))
        self.store.create(rec.new_record(INCIDENT, "api", "api_down", severity="P0", title="API down",
                                         commander="alice"))
        self.pd, self.slack, self.statuspage = Poster("PagerDuty"), Poster("Slack"), FakeStatuspage()
        self.clock = Clock()

    def params(self, **args):
        base = {"incident_id": INCIDENT, "severity": "P0", "update": "declared", "message": "It is down.",
                "pagerduty": {"routing_key": "k" * 32, "events_url": "http://pd"},
                "slack": {"webhook_url": "http://slack/secret"},
                "statuspage": {"page_id": "p", "api_key": "s", "api_url": "http://sp"},
                "spool_dir": self.spool.folder, "store": "local", "local_dir": self.store.folder}
        base.update(args)
        result = ArgumentSpecValidator(ARGUMENT_SPEC).validate(base)
        assert not result.error_messages, result.error_messages
        return result.validated_parameters

    def call(self, check_mode=False, store=None, run_id="run-1", call_id=None, **args):
        params = self.params(**args)
        channels = [PagerDutyChannel(params["pagerduty"], INCIDENT, "pynomaly-api", policy, 5, 3, poster=self.pd),
                    SlackChannel(params["slack"], INCIDENT, policy, 5, 3, poster=self.slack), self.statuspage]
        channels = [c for c in channels if params[c.name]["enabled"]]
        return Notifier(params, channels, StoreAccess(store or self.store, INCIDENT), self.spool, pagerduty_action,
                        run_id, check_mode=check_mode, clock=self.clock, call_id=call_id).run()

    def channels(self):
        return self.store.read(INCIDENT).record["channels"]

    def actions(self):
        return [b["event_action"] for b in self.pd.bodies]


@pytest.fixture
def lab(tmp_path):
    return Harness(tmp_path)


def test_check_mode_sends_nothing_writes_nothing_and_says_what_would_be_sent(lab):
    out = lab.call(check_mode=True)
    assert out["would_send"] == {"pagerduty": ["declared"], "slack": ["declared"], "statuspage": ["declared"]}
    assert out["changed"] is True and out["sent"] == {}
    assert lab.pd.bodies == lab.slack.bodies == lab.statuspage.sent == []
    assert lab.channels() == {}
    assert out["diff"]["before"]["pagerduty"] == {}
    assert out["diff"]["after"]["pagerduty"]["last_action"] == "trigger"
    assert "PagerDuty would send (trigger, dedup_key %s)" % INCIDENT in out["msg"]


def test_each_channel_gets_the_update_once_and_a_rerun_sends_nothing(lab):
    out = lab.call()
    assert out["changed"] is True
    assert out["sent"] == {"pagerduty": ["declared"], "slack": ["declared"], "statuspage": ["declared"]}
    assert out["pagerduty"] == {"action": "trigger", "severity": "critical",
                                "reason": "P0: Page on-call engineer immediately"}
    assert out["statuspage"] == {"incident_id": "sp1", "shortlink": "https://stspg.io/sp1", "status": "investigating"}
    # The title and commander come from the record when the call gives none.
    assert lab.pd.bodies[0]["payload"]["summary"] == "[P0] API down (investigating)"
    assert lab.pd.bodies[0]["payload"]["custom_details"]["incident_commander"] == "alice"
    state = lab.channels()
    assert state["slack"]["sent"] == ["declared|P0|investigating"]
    assert state["pagerduty"]["last_action"] == "trigger" and state["pagerduty"]["severity"] == "critical"
    assert [e["action"] for e in state["pagerduty"]["log"]] == ["trigger"]

    again = lab.call(message="Reworded by the rerun.")
    assert again["changed"] is False and again["sent"] == {}
    assert again["skipped_channels"] == dict.fromkeys(("pagerduty", "slack", "statuspage"), "already sent")
    assert len(lab.pd.bodies) == len(lab.slack.bodies) == len(lab.statuspage.sent) == 1


def test_identified_acknowledges_once_resolved_resolves_and_slack_links_the_status_page(lab):
    lab.call()
    lab.call(update="contained", status="identified", message="Rolled back.")
    lab.call(update="contained", status="identified", message="Rolled back.")
    lab.call(update="resolved", status="resolved", message="Healthy again.")
    assert lab.actions() == ["trigger", "acknowledge", "resolve"]
    assert "payload" not in lab.pd.bodies[1]
    assert [s[:2] for s in lab.statuspage.sent] == [("declared", "investigating"), ("contained", "identified"),
                                                   ("resolved", "resolved")]
    assert lab.statuspage.sent[2][2] == "sp1"  # the same Statuspage incident
    resolved = lab.slack.bodies[-1]
    assert resolved["blocks"][0]["text"]["text"].startswith(":white_check_mark: [P0]")
    assert resolved["blocks"][3]["elements"][0]["text"].startswith("Status page: https://stspg.io/sp1 |")


def test_a_failing_channel_does_not_stop_the_others_and_its_update_is_owed_until_sent(lab):
    lab.statuspage.fail = 1
    out = lab.call()
    assert out["sent"] == {"pagerduty": ["declared"], "slack": ["declared"]}
    assert out["failed_channels"] == {"statuspage": "Gave up on GET /incidents/unresolved after 3 attempt(s)"}
    assert out["pending"] == {"statuspage": ["declared"]}
    assert "Statuspage did not take the update" in out["msg"]
    [owed] = lab.channels()["statuspage"]["pending"]
    assert (owed["message"], owed["attempts"], owed["title"]) == ("It is down.", 1, "API down")
    assert "claims" not in lab.channels()["statuspage"]

    out = lab.call(pending_only=True, message=None)
    assert out["sent"] == {"statuspage": ["declared"]} and out["pending"] == {}
    assert out["skipped_channels"] == {"pagerduty": "nothing pending", "slack": "nothing pending"}
    assert lab.statuspage.sent == [("declared", "investigating", None)]
    assert lab.call(pending_only=True, message=None)["changed"] is False
    assert lab.call()["changed"] is False


def test_what_is_owed_goes_out_first_then_the_new_update(lab):
    lab.slack.fail = 1
    lab.call()
    out = lab.call(update="contained", status="identified", message="Rolled back.")
    assert out["sent"]["slack"] == ["declared", "contained"]
    texts = [b["text"] for b in lab.slack.bodies]
    assert texts[0].endswith("(investigating): It is down.") and texts[1].endswith("(identified): Rolled back.")


def test_a_call_while_another_is_sending_the_same_update_sends_nothing(lab):
    inner = {}
    lab.pd.during = lambda: inner.update(out=lab.call(run_id="run-2"))
    out = lab.call(run_id="run-1")
    assert lab.actions() == ["trigger"]
    assert inner["out"]["skipped_channels"]["pagerduty"].startswith("sent by another run: run run-1")
    assert inner["out"]["changed"] is True  # it went on to Slack and Statuspage, which run-1 had not claimed yet
    assert out["skipped_channels"]["slack"] == "already sent" and len(lab.slack.bodies) == 1


def test_a_claim_left_by_a_run_that_died_is_taken_over_after_60_seconds(lab):
    claim = {"trigger:critical": {"run_id": "dead-run", "call": "x", "at": rec.utc_iso(T0)}}
    lab.store.update(INCIDENT, lambda r, t: (rec.set_channel(r, "pagerduty", {"claims": claim}), t))
    lab.clock.now = T0 + 30
    assert lab.call(slack={"enabled": False}, statuspage={"enabled": False})["changed"] is False
    lab.clock.now = T0 + 61
    assert lab.call(slack={"enabled": False}, statuspage={"enabled": False})["sent"] == {"pagerduty": ["declared"]}
    assert "claims" not in lab.channels()["pagerduty"]


class Unreachable:
    """A store whose cluster stops answering after `answers` calls."""

    kind = "cluster"

    def __init__(self, store, answers=0):
        self.store = store
        self.answers = answers

    def _answer(self):
        if self.answers <= 0:
            raise StoreUnreachable("Cannot reach the Kubernetes API at https://127.0.0.1:9: connection refused")
        self.answers -= 1

    def read(self, incident_id):
        self._answer()
        return self.store.read(incident_id)

    def update(self, incident_id, mutate):
        self._answer()
        return self.store.update(incident_id, mutate)

    def where(self, incident_id):
        return self.store.where(incident_id)


def test_with_the_cluster_unreachable_the_page_goes_out_and_what_was_sent_waits_in_the_spool(lab):
    down = Unreachable(lab.store)
    out = lab.call(store=down)
    assert out["store"] == "deferred" and "connection refused" in out["store_error"]
    assert "unreachable" not in out
    assert out["sent"] == {"pagerduty": ["declared"], "slack": ["declared"], "statuspage": ["declared"]}
    ops = lab.spool.pending()[INCIDENT]
    assert sorted(op["name"] for op in ops) == ["pagerduty", "slack", "statuspage"]
    assert all(op["op"] == "channel" and "claims" not in op["state"] for op in ops)
    assert out["deferred"] == lab.spool.path(INCIDENT) and "kept aside in" in out["msg"]

    # Still down: what this machine kept aside is enough not to send the same update twice.
    again = lab.call(store=down)
    assert again["changed"] is False and len(lab.slack.bodies) == 1 and lab.actions() == ["trigger"]


def test_a_cluster_lost_mid_call_keeps_the_rest_aside(lab):
    flaky = Unreachable(lab.store, answers=4)  # read, PagerDuty's claim and outcome, Slack's claim
    out = lab.call(store=flaky)
    assert out["store"] == "deferred" and out["sent"] == {"pagerduty": ["declared"], "slack": ["declared"],
                                                          "statuspage": ["declared"]}
    assert lab.channels()["pagerduty"]["last_action"] == "trigger"
    assert "claims" in lab.channels()["slack"]  # expires after 60 s; the spooled outcome says it was sent
    assert sorted(op["name"] for op in lab.spool.pending()[INCIDENT]) == ["slack", "statuspage"]


def test_without_a_record_nothing_is_sent(lab, tmp_path):
    empty = LocalStore(str(tmp_path / "none"))
    with pytest.raises(RecordError, match="There is no incident record for %s" % INCIDENT):
        lab.call(store=empty)
    assert lab.pd.bodies == lab.slack.bodies == []


def test_p2_pages_no_one_but_is_posted(lab):
    out = lab.call(severity="P2")
    assert out["pagerduty"]["action"] is None and out["skipped_channels"]["pagerduty"].startswith("P2 does not page")
    assert out["sent"] == {"slack": ["declared"], "statuspage": ["declared"]}


def test_the_record_never_holds_a_secret(lab):
    lab.statuspage.fail = 1
    lab.call()
    text = json.dumps(lab.store.read(INCIDENT).record)
    assert "k" * 32 not in text and "http://slack/secret" not in text
