#!/usr/bin/env python3
"""Benchmark: statuspage_update against the lab's Statuspage stand-in versus the same HTTP calls made
raw with `requests`, in the same script, on the same stand-in.

Three figures per scenario: raw HTTP calls, the module's code in-process (module_utils), and the
module through `ansible localhost -m` (what a playbook pays). The stand-in's page is reset and its
rate limit turned off first (the lab must be up: lab/labctl up). Prints the figures; asserts nothing.

    .venv/bin/python bench/statuspage_update.py [--runs 5] [--seeded 250]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
sys.path[:0] = [str(REPO / ".collections")]

import requests

from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.client import StatuspageClient
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.incident import (
    StatuspageIncident,
)

NAME = "Bench incident"


def lab_env():
    out = subprocess.run([str(REPO / "lab" / "labctl"), "env", "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def timed(func, runs):
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seeded", type=int, default=250, help="unresolved incidents on the page besides ours")
    args = parser.parse_args()
    lab = lab_env()
    admin = lab["SAAS_ADMIN_URL"]
    requests.post(f"{admin}/reset", timeout=10).raise_for_status()
    requests.put(f"{admin}/statuspage/rate-limit", json={"enabled": False}, timeout=10).raise_for_status()
    base = f"{lab['STATUSPAGE_API_URL']}/pages/{lab['STATUSPAGE_PAGE_ID']}"
    http = requests.Session()
    http.headers["Authorization"] = f"OAuth {lab['STATUSPAGE_API_KEY']}"
    components = {"API": "major_outage"}
    desired = {"name": NAME, "rename": False, "status": "identified", "impact": "critical",
               "body": "Benchmarking.", "components": components}
    first = http.post(base + "/incidents", json={"incident": {"name": NAME, "body": "Opened."}}, timeout=10).json()
    requests.post(f"{admin}/statuspage/seed", json={"count": args.seeded, "status": "investigating"},
                  timeout=60).raise_for_status()

    def raw_converged_run():
        # What the module does when nothing differs: the component list, then every page of unresolved incidents.
        http.get(base + "/components", params={"page": 1, "per_page": 100}, timeout=10).json()
        page = 1
        while True:
            batch = http.get(base + "/incidents/unresolved", params={"page": page, "per_page": 100}, timeout=10).json()
            if len(batch) < 100:
                break
            page += 1

    def library_run():
        client = StatuspageClient(lab["STATUSPAGE_API_URL"], lab["STATUSPAGE_API_KEY"], lab["STATUSPAGE_PAGE_ID"])
        StatuspageIncident(client, name=NAME).ensure("present", desired, True, check_mode=False)
        return client.requests_sent

    def module_run():
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
        module_args = {"api_url": lab["STATUSPAGE_API_URL"], "page_id": lab["STATUSPAGE_PAGE_ID"],
                       "api_key": lab["STATUSPAGE_API_KEY"], **{k: v for k, v in desired.items() if k != "rename"}}
        subprocess.run([str(VENV_BIN / "ansible"), "localhost", "-m", "pynomaly.incident_response.statuspage_update",
                        "-a", json.dumps(module_args)], capture_output=True, check=True, env=env, cwd=REPO)

    library_run()  # converge once, so every timed run is the idempotent rerun (reads only)
    requests_per_run = library_run()
    raw = timed(raw_converged_run, args.runs)
    library = timed(library_run, args.runs)
    module = timed(module_run, args.runs)
    pages = (args.seeded + 1) // 100 + 1
    print(f"statuspage_update rerun (nothing differs) on a page with {args.seeded + 1} unresolved incidents "
          f"({pages} pages), median of {args.runs}:")
    print(f"  requests per run:        {requests_per_run}")
    print(f"  raw HTTP (requests):     {raw * 1000:8.1f} ms")
    print(f"  module_utils in-process: {library * 1000:8.1f} ms   ({library / raw:.2f}x raw)")
    print(f"  ansible -m module:       {module * 1000:8.1f} ms   ({module / raw:.1f}x raw; ansible start-up included)")
    http.delete(f"{base}/incidents/{first['id']}", timeout=10)


if __name__ == "__main__":
    main()
