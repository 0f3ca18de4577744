"""The incident record in the cluster and the Lease that holds it: one incident wherever it runs.

Each test names its own service, so tests share the lab but never an incident.
"""
import json
import os
import signal
import subprocess
import textwrap
import time
import uuid

import pytest

from tests.conftest import REPO, VENV_BIN

RECORD_NS = "incident-response"


@pytest.fixture
def api(lab):
    """The lab cluster through the collection's own client (no kubectl needed)."""
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import K8sClient

    return K8sClient.from_params({"kubeconfig": lab["K8S_AUTH_KUBECONFIG"]})


def records(api, service):
    items = api.items("/api/v1/namespaces/%s/configmaps" % RECORD_NS, "list records",
                      query={"labelSelector": "incident-response.pynomaly.io/service=%s" % service})
    return [json.loads(i["data"]["incident.json"]) for i in items
            if i["metadata"]["labels"].get("incident-response.pynomaly.io/record") == "incident"]


def timeline(api, incident_id):
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import object_name

    obj = api.get("/api/v1/namespaces/%s/configmaps/%s" % (RECORD_NS, object_name(incident_id)), "read")
    return json.loads(obj["data"]["timeline.json"])


@pytest.fixture
def service():
    return "svc-" + uuid.uuid4().hex[:10]


def playbook(tmp_path, tasks, name="pb.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent("""\
        - name: incident record test
          hosts: localhost
          gather_facts: false
          tasks:
        """) + textwrap.indent(textwrap.dedent(tasks), "    "))
    return path


def run_pb(lab_environ, path, *args, env=None, wait=True):
    argv = [str(VENV_BIN / "ansible-playbook"), str(path), *args]
    environ = dict(lab_environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   **(env or {}))
    if not wait:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                                env=environ)
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=environ, check=False)


def task_results(proc_stdout):
    data = json.loads(proc_stdout)
    return [t["hosts"]["localhost"] for t in data["plays"][0]["tasks"]]


OPEN = """\
- name: open
  pynomaly.incident_response.incident:
    service: {service}
    scenario: api_down
    severity: P1
    title: test outage
    lease_duration: {duration}
    lease_wait_timeout: {wait}
  register: opened
"""


def test_check_mode_opens_nothing_then_a_run_opens_and_a_rerun_joins(lab, lab_environ, api, service, tmp_path):
    pb = playbook(tmp_path, OPEN.format(service=service, duration=30, wait=5))
    dry = run_pb(lab_environ, pb, "--check", "--diff")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    would = task_results(dry.stdout)[0]
    assert would["changed"] and would["created"] and would["incident_id"].endswith("-api_down")
    assert records(api, service) == [], "check mode wrote a record"

    real = run_pb(lab_environ, pb)
    assert real.returncode == 0, real.stdout + real.stderr
    opened = task_results(real.stdout)[0]
    assert opened["changed"] and opened["created"] and opened["store"] == "cluster"
    stored = records(api, service)
    assert [r["id"] for r in stored] == [opened["incident_id"]]
    assert stored[0]["severity"] == "P1" and stored[0]["status"] == "open"

    again = run_pb(lab_environ, pb)
    assert again.returncode == 0, again.stdout + again.stderr
    joined = task_results(again.stdout)[0]
    assert joined["changed"] is False and joined["joined"] and joined["incident_id"] == opened["incident_id"]
    assert len(records(api, service)) == 1
    # Both runs' timelines are in the record, each with the task that opened it.
    runs = timeline(api, opened["incident_id"])["runs"]
    assert len(runs) == 2 and all(r["tasks"] and r["tasks"][0]["task"] == "open" for r in runs)


def test_bad_input_fails_clearly_and_writes_nothing(lab, run_module, service, api):
    res = run_module("incident", {"incident_id": "../../etc", "service": service, "scenario": "api_down"})
    assert res.get("failed") and "incident_id" in res["msg"]
    res = run_module("incident", {"service": service, "scenario": "api_down", "lease_duration": 0})
    assert res.get("failed") and "lease_duration" in res["msg"]
    res = run_module("incident", {"state": "update", "incident_id": "INC-x"})
    assert res.get("failed") and "needs something to record" in res["msg"]
    assert records(api, service) == []


def test_a_second_run_waits_for_the_lease_then_fails_naming_the_holder(lab, lab_environ, api, service, tmp_path):
    holder_pb = playbook(tmp_path, OPEN.format(service=service, duration=30, wait=5) + """\
- name: hold the incident for a while
  ansible.builtin.pause:
    seconds: 12
""", name="holder.yml")
    first = run_pb(lab_environ, holder_pb, wait=False)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not records(api, service):
            time.sleep(0.2)
        assert records(api, service), "the first run did not open the incident"
        time.sleep(1)
        second = run_pb(lab_environ, playbook(tmp_path, OPEN.format(service=service, duration=30, wait=1),
                                              name="second.yml"))
        assert second.returncode != 0
        failed = task_results(second.stdout)[0]
        assert "being worked on by another run" in failed["msg"] and "pid=%d" % first.pid in failed["msg"]
    finally:
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err
    # Released at the end of the first run: the next one takes it at once.
    third = run_pb(lab_environ, playbook(tmp_path, OPEN.format(service=service, duration=30, wait=0),
                                         name="third.yml"))
    assert third.returncode == 0, third.stdout + third.stderr
    assert task_results(third.stdout)[0]["lease"]["waited"] < 1


def test_a_killed_runs_lease_expires_and_the_next_run_proceeds(lab, lab_environ, api, service, tmp_path):
    pb = playbook(tmp_path, OPEN.format(service=service, duration=6, wait=5) + """\
- name: hang
  ansible.builtin.pause:
    seconds: 120
""", name="killed.yml")
    victim = run_pb(lab_environ, pb, wait=False)
    deadline = time.time() + 30
    while time.time() < deadline and not records(api, service):
        time.sleep(0.2)
    time.sleep(1.5)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)
    killed_at = time.time()
    nxt = run_pb(lab_environ, playbook(tmp_path, OPEN.format(service=service, duration=30, wait=60),
                                       name="next.yml"))
    assert nxt.returncode == 0, nxt.stdout + nxt.stderr
    lease = task_results(nxt.stdout)[0]["lease"]
    assert "pid=%d" % victim.pid in lease["previous_holder"]
    assert lease["waited"] <= 6 + 3 and time.time() - killed_at >= 2


def test_with_the_cluster_unreachable_the_opening_waits_aside_and_the_next_run_writes_it(
        lab, lab_environ, api, service, tmp_path):
    spool = tmp_path / "spool"
    tasks = """\
- name: open
  pynomaly.incident_response.incident:
    service: {service}
    scenario: api_down
    severity: P0
    title: cluster down
    spool_dir: {spool}
    host: {host}
    api_key: not-a-real-token
  register: opened
"""
    down = run_pb(lab_environ, playbook(tmp_path, tasks.format(service=service, spool=spool,
                                                               host="https://127.0.0.1:9"), name="down.yml"))
    assert down.returncode == 0, down.stdout + down.stderr
    opened = task_results(down.stdout)[0]
    assert opened["store"] == "deferred" and "unreachable" in opened["msg"]
    assert "not-a-real-token" not in down.stdout + down.stderr
    assert list(spool.iterdir()) and records(api, service) == []
    up = run_pb(lab_environ, playbook(tmp_path, f"""\
- name: open
  pynomaly.incident_response.incident:
    service: {service}
    scenario: api_down
    spool_dir: {spool}
  register: opened
""", name="up.yml"))
    assert up.returncode == 0, up.stdout + up.stderr
    joined = task_results(up.stdout)[0]
    assert joined["incident_id"] == opened["incident_id"] and opened["incident_id"] in joined["flushed"]
    stored = records(api, service)
    assert [r["severity"] for r in stored] == ["P0"]
    assert not [p for p in spool.iterdir() if p.suffix == ".json"]


def test_three_homes_one_incident(lab, lab_environ, api, service, tmp_path):
    homes = [tmp_path / ("home%d" % n) for n in range(3)]
    for home in homes:
        home.mkdir()
    opened = run_pb(lab_environ, playbook(tmp_path, OPEN.format(service=service, duration=30, wait=5) + """\
- name: declared
  pynomaly.incident_response.incident_milestone:
    incident_id: "{{ opened.incident_id }}"
    milestone: declared
""", name="a.yml"), env={"HOME": str(homes[0])})
    assert opened.returncode == 0, opened.stdout + opened.stderr
    incident_id = task_results(opened.stdout)[0]["incident_id"]
    for home, milestone in ((homes[1], "contained"), (homes[2], "resolved")):
        res = run_pb(lab_environ, playbook(tmp_path, f"""\
- name: join
  pynomaly.incident_response.incident:
    incident_id: {incident_id}
- name: mark
  pynomaly.incident_response.incident_milestone:
    incident_id: {incident_id}
    milestone: {milestone}
""", name="%s.yml" % milestone), env={"HOME": str(home)})
        assert res.returncode == 0, res.stdout + res.stderr
    runs = timeline(api, incident_id)["runs"]
    assert len(runs) == 3
    stored = next(r for r in records(api, service) if r["id"] == incident_id)
    assert set(stored["milestones"]) == {"declared", "contained", "resolved"}
    for home in homes:
        state = home / ".ansible"
        ours = [p for p in state.rglob("*") if "incident" in p.name] if state.exists() else []
        assert ours == [], "incident state written under %s: %s" % (home, ours)
