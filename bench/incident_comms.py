#!/usr/bin/env python3
"""Benchmark: what declaring an incident costs next to the raw calls it replaces, and what the
incident_timeline callback adds to a playbook run.

1. The seed's way: three `curl` calls (PagerDuty trigger, Slack post, Statuspage incident) against
   the lab's stand-ins, versus `incident_declare.yml` (classification, the same three sends, state
   file, milestones, timeline) and its rerun (which sends nothing).
2. A playbook of N tasks with and without the callback enabled.

Prints the figures (median of --repeat runs); asserts nothing. Needs the lab up (lab/labctl up).

    .venv/bin/python bench/incident_comms.py [--repeat 3] [--tasks 40]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def lab_env():
    out = subprocess.run([str(REPO / "lab" / "labctl"), "env", "--json"], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def timed(argv, env):
    start = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    elapsed = time.perf_counter() - start
    if res.returncode != 0:
        raise SystemExit(f"{argv[0]} failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return elapsed


def curl_declare(lab, incident_id, env):
    """The seed's three curl calls, one process each, as an on-call engineer would type them."""
    calls = [
        (lab["PAGERDUTY_EVENTS_URL"], [], {
            "routing_key": lab["PAGERDUTY_ROUTING_KEY"], "event_action": "trigger", "dedup_key": incident_id,
            "payload": {"summary": "API down", "source": "pynomaly-api", "severity": "critical"}}),
        (lab["SLACK_WEBHOOK_URL"], [], {"text": f"[P0] {incident_id} API down"}),
        (f"{lab['STATUSPAGE_API_URL']}/pages/{lab['STATUSPAGE_PAGE_ID']}/incidents",
         ["-H", f"Authorization: OAuth {lab['STATUSPAGE_API_KEY']}"],
         {"incident": {"name": f"API down {incident_id}", "status": "investigating", "impact_override": "critical"}}),
    ]
    start = time.perf_counter()
    for url, headers, body in calls:
        subprocess.run(["curl", "-sf", "-o", "/dev/null", "-X", "POST", "-H", "Content-Type: application/json",
                        *headers, "-d", json.dumps(body), url], check=True, env=env)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=40)
    args = parser.parse_args()
    lab = lab_env()
    scratch = Path(tempfile.mkdtemp(prefix="bench-comms-"))
    env = dict(os.environ, **lab, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), INCIDENT_TIMELINE_DIR=str(scratch / "tl"))

    raw, first, rerun = [], [], []
    for _ in range(args.repeat):
        incident_id = "INC-BENCH-" + uuid.uuid4().hex[:8]
        raw.append(curl_declare(lab, incident_id + "-curl", env))
        extra = json.dumps({"incident_id": incident_id, "incident_summary": f"API down {incident_id}",
                            "incident_signals": {"outage": True}})
        argv = [str(BIN / "ansible-playbook"), "playbooks/incident_declare.yml", "-e", extra]
        first.append(timed(argv, env))
        rerun.append(timed(argv, env))
    print(f"declare, {args.repeat} runs (median seconds)")
    print(f"  3 x curl (the seed)            {statistics.median(raw):7.3f}")
    print(f"  incident_declare.yml           {statistics.median(first):7.3f}  "
          f"({statistics.median(first) / statistics.median(raw):.1f}x curl)")
    print(f"  incident_declare.yml rerun     {statistics.median(rerun):7.3f}  "
          f"({statistics.median(rerun) / statistics.median(raw):.1f}x curl, sends nothing)")

    playbook = scratch / "tasks.yml"
    tasks = "".join(f"    - name: Task {i}\n      ansible.builtin.set_fact:\n        bench_{i}: {i}\n"
                    for i in range(args.tasks))
    playbook.write_text(f"- name: Bench\n  hosts: localhost\n  gather_facts: false\n  tasks:\n{tasks}")
    argv = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)]
    # The same configuration both ways, but for the callback.
    config = scratch / "ansible.cfg"
    config.write_text(f"[defaults]\ncollections_path = {REPO / '.collections'}\n")
    plain = dict(env, ANSIBLE_CONFIG=str(config))
    without = [timed(argv, plain) for _ in range(args.repeat)]
    with_cb = [timed(argv, dict(plain, ANSIBLE_CALLBACKS_ENABLED="pynomaly.incident_response.incident_timeline"))
               for _ in range(args.repeat)]
    print(f"playbook of {args.tasks} tasks (median seconds)")
    print(f"  without the timeline callback  {statistics.median(without):7.3f}")
    print(f"  with it                        {statistics.median(with_cb):7.3f}  "
          f"({statistics.median(with_cb) / statistics.median(without):.2f}x)")


if __name__ == "__main__":
    main()
