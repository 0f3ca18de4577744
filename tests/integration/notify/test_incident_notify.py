"""incident_notify on the lab: PagerDuty, Slack and Statuspage each get each update of an incident once,
whoever runs it and however often, deduplicated against the incident's record in the cluster."""
import time

import yaml


def test_check_mode_sends_nothing_then_one_send_per_channel_and_a_rerun_sends_nothing(notify_lab):
    dry = notify_lab.notify("--check", "--diff")
    assert not dry.get("failed"), dry["_output"]
    assert dry["would_send"] == {"pagerduty": ["declared"], "slack": ["declared"], "statuspage": ["declared"]}
    assert dry["changed"] is True and dry["sent"] == {}
    assert '"last_action": "trigger"' in dry["diff"]["after"]
    assert notify_lab.writes() == {"pagerduty": 0, "slack": 0, "statuspage": 0}
    assert notify_lab.channels() == {}, "check mode wrote to the record"

    real = notify_lab.notify()
    assert not real.get("failed"), real["_output"]
    assert real["changed"] is True
    assert real["sent"] == {"pagerduty": ["declared"], "slack": ["declared"], "statuspage": ["declared"]}
    [page] = notify_lab.calls("pagerduty")
    assert (page["status"], page["body"]["event_action"]) == (202, "trigger")
    assert page["body"]["payload"]["summary"] == "[P0] %s (investigating)" % notify_lab.title
    assert page["body"]["payload"]["custom_details"]["incident_commander"] == "alice"
    [post] = notify_lab.calls("slack")
    assert post["status"] == 200
    fields = [f["text"] for f in post["body"]["blocks"][1]["fields"]]
    assert "*Response target*\nImmediate (&lt; 15 minutes)" in fields
    [opened] = notify_lab.calls("statuspage")
    assert (opened["method"], opened["status"]) == ("POST", 201)
    [live] = notify_lab.statuspage_incidents()
    assert (live["status"], live["impact"]) == ("investigating", "critical")
    assert real["statuspage"] == {"incident_id": live["id"], "shortlink": live["shortlink"],
                                  "status": "investigating"}
    channels = notify_lab.channels()
    assert channels["pagerduty"]["last_action"] == "trigger"
    assert channels["statuspage"]["incident_id"] == live["id"]
    assert all(channels[name]["sent"] == ["declared|P0|investigating"] for name in channels)

    again = notify_lab.notify(message="Declared P0, worded differently by the rerun.")
    assert again["changed"] is False and again["sent"] == {}, again["msg"]
    assert notify_lab.writes() == {"pagerduty": 1, "slack": 1, "statuspage": 1}
    assert notify_lab.channels() == channels


def test_identified_acknowledges_once_and_resolved_resolves_everywhere(notify_lab):
    assert notify_lab.notify()["changed"] is True
    contained = dict(update="contained", status="identified", message="A bad deploy is being rolled back.")
    ack = notify_lab.notify(**contained)
    assert ack["pagerduty"]["action"] == "acknowledge"
    assert notify_lab.notify(**contained)["changed"] is False
    assert [c["body"]["event_action"] for c in notify_lab.calls("pagerduty")] == ["trigger", "acknowledge"]
    assert "payload" not in notify_lab.calls("pagerduty")[-1]["body"]

    resolved = notify_lab.notify(update="resolved", status="resolved", message="The API is healthy again.",
                                 statuspage={"components": {"API": "operational"}})
    assert resolved["sent"] == {"pagerduty": ["resolved"], "slack": ["resolved"], "statuspage": ["resolved"]}
    assert notify_lab.calls("pagerduty")[-1]["body"]["event_action"] == "resolve"
    [live] = notify_lab.statuspage_incidents()
    assert live["status"] == "resolved"
    posts = notify_lab.calls("slack")
    assert len(posts) == 3
    header = posts[-1]["body"]["blocks"][0]["text"]["text"]
    assert header.startswith(":white_check_mark: [P0]")
    # Once Statuspage has the incident, Slack links to it.
    assert posts[-1]["body"]["blocks"][3]["elements"][0]["text"].startswith("Status page: %s |" % live["shortlink"])
    assert notify_lab.notify(update="resolved", status="resolved", message="Healthy.")["changed"] is False


def test_a_failing_statuspage_does_not_hold_up_the_page_and_a_pending_only_call_sends_it_once(notify_lab):
    notify_lab.admin.fail_next("statuspage", 100, 500)
    try:
        res = notify_lab.notify(retries=2)
    finally:
        notify_lab.admin.fail_next("statuspage", 0)
    assert not res.get("failed"), res["msg"]
    assert res["sent"] == {"pagerduty": ["declared"], "slack": ["declared"]}
    assert list(res["failed_channels"]) == ["statuspage"] and "Statuspage" in res["msg"]
    assert res["pending"] == {"statuspage": ["declared"]}
    [owed] = notify_lab.channels()["statuspage"]["pending"]
    assert (owed["update"], owed["attempts"], owed["title"]) == ("declared", 1, notify_lab.title)
    assert notify_lab.statuspage_incidents() == []

    owed_now = notify_lab.notify(pending_only=True, message=None)
    assert owed_now["sent"] == {"statuspage": ["declared"]} and owed_now["pending"] == {}
    assert [c["method"] for c in notify_lab.calls("statuspage")] == ["POST"]
    assert len(notify_lab.statuspage_incidents()) == 1
    assert notify_lab.notify(pending_only=True, message=None)["changed"] is False
    assert notify_lab.notify()["changed"] is False
    assert notify_lab.writes() == {"pagerduty": 1, "slack": 1, "statuspage": 1}


def test_fail_on_error_fails_the_task_naming_the_channel(notify_lab):
    res = notify_lab.notify(fail_on_error=True, slack={"webhook_url": notify_lab.lab["SLACK_WEBHOOK_URL"] + "x"},
                            statuspage={"enabled": False})
    assert res.get("failed") is True
    assert res["failed_channels"] == {"slack": "Slack answered HTTP 403: invalid_token"}
    assert res["sent"] == {"pagerduty": ["declared"]}


def test_two_runs_started_together_send_the_update_once(notify_lab):
    args = notify_lab.args()
    runs = [notify_lab.start(args, name="run%d.yml" % n) for n in range(2)]
    results = [notify_lab.result(run) for run in runs]
    assert not any(r.get("failed") for r in results), [r["_output"] for r in results]
    assert notify_lab.writes() == {"pagerduty": 1, "slack": 1, "statuspage": 1}
    for channel in ("pagerduty", "slack", "statuspage"):
        senders = [r for r in results if r["sent"].get(channel)]
        assert len(senders) == 1, (channel, [r["msg"] for r in results])
        [other] = [r for r in results if r is not senders[0]]
        assert other["skipped_channels"][channel] == "already sent" or \
            other["skipped_channels"][channel].startswith("sent by another run")


def test_a_429_waits_what_retry_after_asks(notify_lab):
    before = notify_lab.admin._call("GET", "/statuspage/rate-limit")
    notify_lab.admin.rate_limit(enabled=True, requests=1, window=2)
    try:
        res = notify_lab.notify(pagerduty={"enabled": False}, slack={"enabled": False})
    finally:
        notify_lab.admin.rate_limit(**before)
    assert res["sent"] == {"statuspage": ["declared"]}, res["msg"]
    assert res["retry_waits"]["statuspage"] and all(w >= 1 for w in res["retry_waits"]["statuspage"])
    assert len(notify_lab.statuspage_incidents()) == 1


def test_bad_input_fails_clearly_and_sends_nothing(notify_lab):
    res = notify_lab.notify(pagerduty={"routing_key": ""})
    assert res.get("failed") and "pagerduty.routing_key is required" in res["msg"]
    assert "nothing was sent" in res["msg"]
    res = notify_lab.notify(severity="P9")
    assert res.get("failed") and "severity" in res["msg"] and "P9" in res["msg"]
    res = notify_lab.notify(incident_id="INC-20261204-000000-never-declared")
    assert res.get("failed") and "There is no incident record" in res["msg"]
    assert notify_lab.writes() == {"pagerduty": 0, "slack": 0, "statuspage": 0}
    assert notify_lab.channels() == {}


def test_no_secret_reaches_the_output_even_at_vvv(notify_lab):
    outputs = []
    for overrides in ({}, {"severity": "P9"}, {"update": "broken", "slack": {
            "webhook_url": notify_lab.lab["SLACK_WEBHOOK_URL"][:-4] + "nope"}}):
        _rc, output = notify_lab.notify_raw("-vvv", "--diff", **overrides)
        outputs.append(output)
    assert "changed: [localhost]" in outputs[0]
    assert "Slack answered HTTP 403" in outputs[2]
    token = notify_lab.lab["SLACK_WEBHOOK_URL"].rsplit("/", 1)[1]
    for output in outputs:
        for secret in [*notify_lab.secrets, token[:-4]]:
            assert secret not in output
    record = yaml.safe_dump(notify_lab.store.read(notify_lab.incident_id).record)
    for secret in notify_lab.secrets:
        assert secret not in record


def test_with_the_cluster_unreachable_the_page_goes_out_and_the_outcome_waits_in_the_spool(notify_lab, tmp_path):
    config = yaml.safe_load(open(notify_lab.lab["K8S_AUTH_KUBECONFIG"], encoding="utf-8"))
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.0.1:9"  # nothing listens on the discard port
    down = tmp_path / "kubeconfig-down"
    down.write_text(yaml.safe_dump(config))

    started = time.monotonic()
    res = notify_lab.notify(kubeconfig=str(down))
    assert not res.get("failed"), res["_output"]
    assert time.monotonic() - started < 30
    assert res["store"] == "deferred" and res["store_error"] and "unreachable" not in res
    assert res["sent"]["pagerduty"] == ["declared"]
    assert [c["body"]["event_action"] for c in notify_lab.calls("pagerduty")] == ["trigger"]
    spooled = list((tmp_path / "spool").iterdir())
    assert [p.name for p in spooled] == [res["deferred"].rsplit("/", 1)[1]]
    assert notify_lab.channels() == {}

    # The cluster is back: the next call writes what was kept aside, and sends nothing again.
    back = notify_lab.notify()
    assert not back.get("failed"), back["_output"]
    assert back["store"] == "cluster" and back["changed"] is False, back["msg"]
    assert notify_lab.channels()["pagerduty"]["last_action"] == "trigger"
    assert notify_lab.writes() == {"pagerduty": 1, "slack": 1, "statuspage": 1}
    assert not [p for p in (tmp_path / "spool").iterdir() if p.suffix == ".json"]
