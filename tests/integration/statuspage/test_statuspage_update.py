"""statuspage_update against the lab's Statuspage stand-in: writes only what differs, survives 429/5xx."""
import json

OPEN = {"name": "API unavailable", "status": "investigating", "impact": "critical",
        "body": "We are investigating failing API requests.", "components": {"API": "major_outage"}}
UPDATE = {"name": "API unavailable", "status": "identified", "body": "A bad deploy; rolling back.",
          "components": {"API": "partial_outage"}}
RESOLVE = {"name": "API unavailable", "state": "resolved", "body": "The API is operating normally.",
           "components": {"API": "operational"}}


def step(run_module, saas_admin, writes, page, conn, args, check_state):
    """check mode changes nothing -> real run -> rerun sends only GETs. Returns the real run's result."""
    before = page.incidents()
    saas_admin.clear_calls()
    dry = run_module("statuspage_update", {**conn, **args}, check=True)
    assert dry.get("changed") is True, dry
    assert dry["write"]["sent"] is False
    assert writes() == [], "check mode must send no write"
    assert page.incidents() == before, "check mode changed the page"

    real = run_module("statuspage_update", {**conn, **args})
    assert real.get("changed") is True, real
    assert real["write"]["sent"] is True
    assert real["write"]["method"] == dry["write"]["method"]
    assert real["write"]["body"] == dry["write"]["body"], "check mode must predict the exact write"
    check_state(real["incident"])

    saas_admin.clear_calls()
    again = run_module("statuspage_update", {**conn, **args})
    assert again.get("changed") is False, again
    assert again["write"] is None and again["operation"] == "none"
    assert writes() == [], "a rerun must send only reads"
    assert {c["method"] for c in saas_admin.calls("statuspage")} == {"GET"}
    assert again["requests"] == len(saas_admin.calls("statuspage"))
    return real


def test_open_update_resolve_each_step_converges(run_module, saas_admin, writes, page, conn):
    def opened(inc):
        real = page.incident(inc["id"])
        assert real["name"] == "API unavailable" and real["status"] == "investigating"
        assert real["impact"] == "critical"
        assert real["incident_updates"][0]["body"] == OPEN["body"]
        assert page.component_status("API") == "major_outage"

    first = step(run_module, saas_admin, writes, page, conn, OPEN, opened)
    assert first["operation"] == "created"
    incident_id = first["incident"]["id"]
    assert len(page.incidents()) == 1

    def updated(inc):
        real = page.incident(incident_id)
        assert inc["id"] == incident_id
        assert real["status"] == "identified"
        assert [u["body"] for u in real["incident_updates"]] == [UPDATE["body"], OPEN["body"]]
        assert page.component_status("API") == "partial_outage"

    assert step(run_module, saas_admin, writes, page, conn, UPDATE, updated)["operation"] == "updated"

    def resolved(inc):
        real = page.incident(incident_id)
        assert real["status"] == "resolved" and real["resolved_at"]
        assert real["incident_updates"][0]["body"] == RESOLVE["body"]
        assert page.component_status("API") == "operational"
        assert page.get("/incidents/unresolved") == []

    assert step(run_module, saas_admin, writes, page, conn, RESOLVE, resolved)["operation"] == "resolved"
    assert len(page.incidents()) == 1, "no step may open a second incident"


def test_same_body_is_not_posted_again_but_a_new_status_is(run_module, saas_admin, writes, page, conn):
    opened = run_module("statuspage_update", {**conn, **OPEN})
    saas_admin.clear_calls()
    res = run_module("statuspage_update", {**conn, **OPEN, "status": "monitoring"})
    assert res["changed"] is True
    assert "body" not in res["write"]["body"]["incident"], "the latest update's body must not be posted again"
    assert res["write"]["body"]["incident"]["status"] == "monitoring"
    assert writes() == [("PATCH", f"/v1/pages/{conn['page_id']}/incidents/{opened['incident']['id']}")]


def test_update_by_incident_id_renames_and_sets_impact(run_module, page, conn):
    inc = run_module("statuspage_update", {**conn, "name": "Database slow", "body": "Looking."})["incident"]
    res = run_module("statuspage_update", {**conn, "incident_id": inc["id"], "name": "Database lock pile-up",
                                           "impact": "major"})
    assert res["changed"] is True
    real = page.incident(inc["id"])
    assert real["name"] == "Database lock pile-up" and real["impact"] == "major"
    again = run_module("statuspage_update", {**conn, "incident_id": inc["id"], "name": "Database lock pile-up",
                                             "impact": "major"})
    assert again["changed"] is False


def test_components_by_name_and_by_id(run_module, page, conn):
    db_id = next(c["id"] for c in page.get("/components") if c["name"] == "Database")
    res = run_module("statuspage_update", {**conn, "name": "Storage", "components": {
        "Web App": "degraded_performance", db_id: "under_maintenance", "model training": "partial_outage"}})
    assert res["changed"] is True, res
    assert page.component_status("Web App") == "degraded_performance"
    assert page.component_status("Database") == "under_maintenance"
    assert page.component_status("Model Training") == "partial_outage"
    attached = {c["name"] for c in page.incident(res["incident"]["id"])["components"]}
    assert attached == {"Web App", "Database", "Model Training"}


def test_unknown_component_fails_clearly_and_writes_nothing(run_module, saas_admin, writes, page, conn):
    res = run_module("statuspage_update", {**conn, "name": "X", "components": {"Billing": "major_outage"}})
    assert res.get("failed") is True
    assert "'Billing' is neither a component name nor an id" in res["msg"]
    assert "API (" in res["msg"], "the error lists the page's components"
    assert writes() == [] and page.incidents() == []


def test_429_retry_after_is_honoured(run_module, saas_admin, page, conn):
    saas_admin.rate_limit(enabled=True, requests=1, window=2)
    res = run_module("statuspage_update", {**conn, **OPEN})
    assert res.get("changed") is True, res
    calls = saas_admin.calls("statuspage")
    limited = [i for i, c in enumerate(calls) if c["status"] == 429]
    assert limited, "the rate limit never answered 429; the test proves nothing"
    for i in limited:
        asked = int(calls[i]["retry_after"])
        waited = calls[i + 1]["timestamp"] - calls[i]["timestamp"]
        assert waited >= asked - 0.05, f"retried after {waited:.2f}s although Retry-After said {asked}s"
    assert res["retry_waits"] and all(w >= 1 for w in res["retry_waits"])
    assert res["requests"] == len(calls)
    assert [c["status"] for c in calls if c["status"] != 429] == [200, 200, 201]
    saas_admin.rate_limit(enabled=False)
    assert len(page.incidents()) == 1


def test_three_injected_500s_are_survived(run_module, saas_admin, writes, page, conn):
    saas_admin.fail_next("statuspage", 3)
    res = run_module("statuspage_update", {**conn, **OPEN})
    assert res.get("changed") is True, res
    statuses = [c["status"] for c in saas_admin.calls("statuspage")]
    assert statuses[:3] == [500, 500, 500]
    assert len(res["retry_waits"]) == 3
    assert res["requests"] == len(statuses) == 3 + 3  # components, unresolved, create
    assert len(writes()) == 1 and len(page.incidents()) == 1


def test_persistent_5xx_gives_up_within_bounds_with_a_clear_error(run_module, saas_admin, writes, page, conn):
    saas_admin.fail_next("statuspage", 50, status=503)
    res = run_module("statuspage_update", {**conn, **OPEN, "max_attempts": 3})
    assert res.get("failed") is True
    assert "Gave up" in res["msg"] and "after 3 attempt(s)" in res["msg"] and "503" in res["msg"]
    assert res["requests"] == 3
    saas_admin.fail_next("statuspage", 0)
    assert writes() == [] and page.incidents() == []


def test_retry_after_beyond_max_retry_time_fails_without_waiting(run_module, saas_admin, page, conn):
    saas_admin.rate_limit(enabled=True, requests=1, window=60)
    res = run_module("statuspage_update", {**conn, **OPEN, "max_retry_time": 5})
    assert res.get("failed") is True
    assert "Gave up" in res["msg"] and "429" in res["msg"]
    assert res["retry_waits"] == [], "a wait longer than max_retry_time must not be started"


def test_wrong_key_is_a_clear_error_that_never_shows_the_key(run_module, saas_admin, writes, page, conn):
    sentinel = "SENTINEL-wrong-key-4f9d2c"
    res = run_module("statuspage_update", {**conn, **OPEN, "api_key": sentinel})
    assert res.get("failed") is True
    assert "rejected the API key" in res["msg"] and "401" in res["msg"]
    assert sentinel not in res["_stdout"] + res["_stderr"]
    assert res["requests"] == 1, "a 401 is not retried"
    assert writes() == [] and page.incidents() == []


def test_api_key_never_appears_in_output_at_vvv(run_module, lab, page, conn):
    args = {**conn, **OPEN}
    out = run_module("statuspage_update", args, verbosity=3, diff=True, raw=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "CHANGED" in out.stdout or "changed" in out.stdout
    assert lab["STATUSPAGE_API_KEY"] not in out.stdout + out.stderr


def test_diff_shows_the_change(run_module, conn, page):
    run_module("statuspage_update", {**conn, **OPEN})
    res = run_module("statuspage_update", {**conn, **UPDATE}, check=True, diff=True)
    before, after = res["diff"]["before"], res["diff"]["after"]
    assert before["status"] == "investigating" and after["status"] == "identified"
    assert before["body"] == OPEN["body"] and after["body"] == UPDATE["body"]
    assert before["components"] == {"API": "major_outage"} and after["components"] == {"API": "partial_outage"}
    assert page.get("/incidents/unresolved")[0]["status"] == "investigating", "--check --diff changed the page"


def test_finds_the_incident_by_name_beyond_the_first_hundred(run_module, saas_admin, writes, page, conn):
    target = run_module("statuspage_update", {**conn, **OPEN})["incident"]
    saas_admin.seed_incidents(120, name="Other outage {n}", status="investigating")
    saas_admin.clear_calls()
    res = run_module("statuspage_update", {**conn, **UPDATE})
    assert res.get("changed") is True, res
    assert res["incident"]["id"] == target["id"], "it must update the existing incident, not open another"
    pages = [c["query"].get("page") for c in saas_admin.calls("statuspage") if c["path"].endswith("/unresolved")]
    assert pages == ["1", "2"]
    assert len(page.get("/incidents/unresolved", per_page=100, page=2)) == 21
    again = run_module("statuspage_update", {**conn, **UPDATE})
    assert again["changed"] is False


def test_ambiguous_name_fails_and_writes_nothing(run_module, saas_admin, writes, page, conn):
    ids = saas_admin.seed_incidents(2, name="Duplicate", status="identified")
    saas_admin.clear_calls()
    res = run_module("statuspage_update", {**conn, "name": "Duplicate", "body": "which one?"})
    assert res.get("failed") is True
    assert "2 unresolved incidents are named 'Duplicate'" in res["msg"]
    assert all(i in res["msg"] for i in ids)
    assert writes() == []


def test_state_absent_deletes_and_converges(run_module, saas_admin, writes, page, conn):
    inc = run_module("statuspage_update", {**conn, **OPEN})["incident"]
    dry = run_module("statuspage_update", {**conn, "incident_id": inc["id"], "state": "absent"}, check=True)
    assert dry["changed"] is True and len(page.incidents()) == 1
    res = run_module("statuspage_update", {**conn, "incident_id": inc["id"], "state": "absent"})
    assert res["changed"] is True and res["operation"] == "deleted"
    assert page.incidents() == []
    again = run_module("statuspage_update", {**conn, "incident_id": inc["id"], "state": "absent"})
    assert again["changed"] is False


def test_resolving_what_is_not_there_changes_nothing(run_module, writes, page, conn):
    res = run_module("statuspage_update", {**conn, "name": "Never opened", "state": "resolved"})
    assert res["changed"] is False and res["incident"] is None
    assert writes() == [] and page.incidents() == []


def test_unknown_incident_id_is_a_clear_error(run_module, writes, conn):
    res = run_module("statuspage_update", {**conn, "incident_id": "nosuchincident", "status": "identified"})
    assert res.get("failed") is True
    assert "There is no incident 'nosuchincident'" in res["msg"]
    assert writes() == []


BAD_INPUT = [
    ({"name": "X", "status": "on_fire"}, "status"),
    ({"name": "X", "impact": "huge"}, "impact"),
    ({"name": "X", "state": "resolved", "status": "investigating"}, "state=resolved cannot take status"),
    ({"name": "X", "components": {"API": "down"}}, "valid statuses are"),
    ({"status": "identified"}, "one of the following is required: incident_id, name"),
    ({"name": " "}, "name must not be empty"),
]


def test_bad_input_fails_clearly_and_sends_nothing(run_playbook, saas_admin, page, conn, tmp_path):
    # One play with a task per case: one ansible start-up instead of one per case.
    tasks = [{"name": f"case {i}", "pynomaly.incident_response.statuspage_update": {**conn, **args},
              "ignore_errors": True} for i, (args, _) in enumerate(BAD_INPUT)]
    playbook = tmp_path / "bad_input.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    saas_admin.clear_calls()
    out = run_playbook(str(playbook), env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                                           "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"})
    results = [task["hosts"]["localhost"] for task in json.loads(out.stdout)["plays"][0]["tasks"]]
    assert len(results) == len(BAD_INPUT)
    for result, (args, needle) in zip(results, BAD_INPUT, strict=True):
        assert result.get("failed") is True, (args, result)
        assert needle in result["msg"], (args, result["msg"])
    assert saas_admin.calls("statuspage") == [], "bad input must be refused before any request"


def test_connection_options_fall_back_to_the_environment(run_module, page):
    res = run_module("statuspage_update", {"name": "From env", "body": "Configured by STATUSPAGE_*."})
    assert res.get("changed") is True, res
    assert [inc["name"] for inc in page.incidents()] == ["From env"]


def test_a_create_whose_answer_was_lost_is_not_repeated(run_module, saas_admin, writes, page, conn):
    saas_admin.fail_next("statuspage", 1, method="POST", after_processing=True)
    res = run_module("statuspage_update", {**conn, **OPEN})
    assert res.get("changed") is True, res
    assert res["operation"] == "created"
    assert writes() == [("POST", f"/v1/pages/{conn['page_id']}/incidents")], "the create must not be sent twice"
    assert len(page.incidents()) == 1
    assert res["incident"]["id"] == page.incidents()[0]["id"]


def test_an_update_whose_answer_was_lost_is_not_posted_twice(run_module, saas_admin, writes, page, conn):
    inc = run_module("statuspage_update", {**conn, **OPEN})["incident"]
    saas_admin.fail_next("statuspage", 1, method="PATCH", after_processing=True)
    res = run_module("statuspage_update", {**conn, **UPDATE})
    assert res.get("changed") is True, res
    bodies = [u["body"] for u in page.incident(inc["id"])["incident_updates"]]
    assert bodies == [UPDATE["body"], OPEN["body"]], "the update must be posted exactly once"


def test_a_create_refused_with_500_is_sent_again_after_rereading(run_module, saas_admin, writes, page, conn):
    saas_admin.fail_next("statuspage", 2, method="POST")
    res = run_module("statuspage_update", {**conn, **OPEN})
    assert res.get("changed") is True, res
    assert [c["status"] for c in saas_admin.calls("statuspage") if c["method"] == "POST"] == [500, 500, 201]
    assert len(page.incidents()) == 1
    assert len(res["retry_waits"]) == 2


def test_an_unreachable_api_is_a_clear_error_after_bounded_retries(run_module, conn):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    res = run_module("statuspage_update", {**conn, **OPEN, "api_url": f"http://127.0.0.1:{port}/v1",
                                           "max_attempts": 3})
    assert res.get("failed") is True
    assert "Could not reach Statuspage" in res["msg"] and "after 3 attempt(s)" in res["msg"]
    assert res["requests"] == 3


def test_module_defaults_group_sets_the_connection_once(run_playbook, page, conn, tmp_path):
    play = {"hosts": "localhost", "gather_facts": False,
            "module_defaults": {"group/pynomaly.incident_response.statuspage": conn},
            "tasks": [{"name": "open", "pynomaly.incident_response.statuspage_update": {"name": "Via defaults"}}]}
    playbook = tmp_path / "defaults.yml"
    playbook.write_text(json.dumps([play]))
    # Wrong values in the environment prove the group's defaults are the ones used.
    out = run_playbook(str(playbook), env={"STATUSPAGE_API_KEY": "wrong", "STATUSPAGE_PAGE_ID": "wrong"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert [inc["name"] for inc in page.incidents()] == ["Via defaults"]


def test_a_write_failing_every_time_gives_up_within_max_attempts(run_module, saas_admin, page, conn):
    saas_admin.fail_next("statuspage", 10, method="POST", status=502)
    res = run_module("statuspage_update", {**conn, **OPEN, "max_attempts": 2})
    saas_admin.fail_next("statuspage", 0)
    assert res.get("failed") is True
    assert "Gave up after 2 attempt(s) to write the incident" in res["msg"] and "502" in res["msg"]
    assert [c["status"] for c in saas_admin.calls("statuspage") if c["method"] == "POST"] == [502, 502]
    assert page.incidents() == []
