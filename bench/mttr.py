#!/usr/bin/env python3
"""Benchmark: time to page and time to recovery for the `api_down` scenario on the lab, beside the raw
kubectl sequence an engineer types from the seed, in one run.

Each run starts from `labctl heal` + `labctl inject api_down` (a real bad release of deployment pynomaly-api
in pynomaly-production; /health answers 503 until it is rolled back). A thread polls
$PYNOMALY_API_URL/health every 0.1 s; recovery is the first 200 after the measured start.

1. `playbooks/incident_api_down.yml` (fresh HOME and timeline folder, 30 s log/event windows):
   play start -> first PagerDuty `trigger` recorded by the SaaS stand-in (its call log, cleared before
   each run), play start -> /health 200, and the playbook's own duration. The incident is then resolved
   with `incident_resolve.yml` (not measured) so the next run pages again; an api_down incident already
   open when the script starts is resolved first, since the playbook would join it instead of paging.
2. The seed's "Initial Assessment" + "API Downtime" by hand, one kubectl process after the other:
   get pods, get nodes, top nodes, rollout history, logs --tail=100, rollout undo, rollout status.
   Start -> /health 200.
3. The rollout alone: kubectl rollout undo + rollout status. Start -> /health 200.

The three parts run --runs times, interleaved. Prints medians and the targets (page <= 3 s; recovery <=
rollout + 8 s; recovery <= 2x the raw sequence) as met/missed; asserts nothing. A failing playbook run is
reported with its output's tail and the other parts go on. Leaves the lab healed.

    eval "$(lab/labctl env)"; .venv/bin/python bench/mttr.py [--runs 3]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LABCTL = REPO / "lab" / "labctl"
NAMESPACE = "pynomaly-production"
DEPLOYMENT = "deployment/pynomaly-api"
ASSESS_WINDOWS = {"assess_log_since_seconds": 30, "assess_events_since_seconds": 30}
POLL_INTERVAL = 0.1
# How long /health may stay failing after the measured commands ended before the run counts as not recovered.
RECOVERY_GRACE = 30.0
PAGE_TARGET = 3.0
ROLLOUT_ALLOWANCE = 8.0
RAW_FACTOR = 2.0

ROLLOUT = [
    ["kubectl", "rollout", "undo", DEPLOYMENT, "-n", NAMESPACE],
    ["kubectl", "rollout", "status", DEPLOYMENT, "-n", NAMESPACE, "--timeout=300s"],
]
RAW_SEQUENCE = [
    ["kubectl", "get", "pods", "-n", NAMESPACE],
    ["kubectl", "get", "nodes"],
    ["kubectl", "top", "nodes"],
    ["kubectl", "rollout", "history", DEPLOYMENT, "-n", NAMESPACE],
    ["kubectl", "logs", "-l", "app.kubernetes.io/name=pynomaly-api", "-n", NAMESPACE, "--tail=100"],
    *ROLLOUT,
]
# Without metrics served `kubectl top` fails; the engineer reads the error and goes on, so its time counts.
MAY_FAIL = {"top"}


def lab_env():
    out = subprocess.run([str(LABCTL), "env", "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def labctl(*args):
    res = subprocess.run([str(LABCTL), *args], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"labctl {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")


def tail(text, lines=25):
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


class HealthWatch:
    """Polls /health every POLL_INTERVAL in a thread; `healthy_at` is the first 200 answered after `since`."""

    def __init__(self, url):
        self.url = url
        self.http = requests.Session()
        self.healthy_at = None
        self._since = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def status(self):
        try:
            return self.http.get(self.url, timeout=2).status_code
        except requests.RequestException:
            return None

    def start(self, since):
        self._since = since
        self._thread.start()

    def _poll(self):
        while not self._stop.is_set():
            asked = time.time()
            if self.status() == 200 and time.time() >= self._since:
                self.healthy_at = time.time()
                return
            self._stop.wait(max(0.0, POLL_INTERVAL - (time.time() - asked)))

    def recovery(self, grace=RECOVERY_GRACE):
        """Seconds from `since` to the first 200, waiting up to `grace` more; None when it never came."""
        self._thread.join(grace)
        self._stop.set()
        self._thread.join()
        return None if self.healthy_at is None else self.healthy_at - self._since


def broken_api(lab):
    """Heal the lab, inject api_down and wait until /health says so; returns the watcher for the run."""
    labctl("heal")
    labctl("inject", "api_down")
    watch = HealthWatch(lab["PYNOMALY_API_URL"].rstrip("/") + "/health")
    deadline = time.monotonic() + 10
    while watch.status() == 200:
        if time.monotonic() > deadline:
            raise SystemExit("api_down injected, but /health still answers 200 after 10 s")
        time.sleep(POLL_INTERVAL)
    return watch


def run_commands(commands, env, watch):
    """Run the commands one after the other; returns the seconds each took and the recovery time."""
    watch.start(time.time())
    steps = []
    for argv in commands:
        started = time.perf_counter()
        res = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        steps.append(time.perf_counter() - started)
        if res.returncode != 0 and argv[1] not in MAY_FAIL:
            print(f"  ! {' '.join(argv)} exited {res.returncode}:\n{tail(res.stdout + res.stderr, 5)}")
    return steps, watch.recovery()


class Pagerduty:
    """The PagerDuty stand-in's call log, through the lab-only admin API."""

    def __init__(self, lab):
        self.url = lab["SAAS_ADMIN_URL"] + "/calls"
        self.http = requests.Session()

    def clear(self):
        self.http.delete(self.url, params={"service": "pagerduty"}, timeout=10).raise_for_status()

    def first_trigger(self, since, until):
        """The first api_down trigger sent between since and until. The lab is shared and other runs page too:
        the playbook's incident ids end in the scenario (INC-<UTC stamp>-api_down)."""
        resp = self.http.get(self.url, params={"service": "pagerduty"}, timeout=10)
        resp.raise_for_status()
        triggers = [call for call in resp.json() if isinstance(call.get("body"), dict)
                    and call["body"].get("event_action") == "trigger"
                    and "api_down" in str(call["body"].get("dedup_key"))
                    and since <= call["timestamp"] <= until]
        if len({call["body"]["dedup_key"] for call in triggers}) > 1:
            print("  ! several api_down incidents paged during the run (another run on the lab?); taking the first")
        return min(triggers, key=lambda call: call["timestamp"], default=None)


def run_playbook(name, extra, env):
    return subprocess.run([str(BIN / "ansible-playbook"), f"playbooks/{name}", "-e", json.dumps(extra)],
                          capture_output=True, text=True, cwd=REPO, env=env, check=False)


def fresh_home(env, scratch):
    home = Path(tempfile.mkdtemp(prefix="home-", dir=scratch))
    return dict(env, HOME=str(home), INCIDENT_TIMELINE_DIR=str(home / "timeline"))


def close_open_incident(env, scratch):
    """A pynomaly-api api_down incident left open (by an earlier run anywhere) would be joined, not paged."""
    labctl("heal")
    run_playbook("incident_resolve.yml", {"incident_scenario": "api_down"}, fresh_home(env, scratch))


def measure_playbook(lab, env, pagerduty, scratch):
    """One api_down playbook run: seconds to the page, to /health 200 and of the whole play (None when absent)."""
    env = fresh_home(env, scratch)
    watch = broken_api(lab)
    pagerduty.clear()
    t0 = time.time()
    watch.start(t0)
    proc = subprocess.Popen([str(BIN / "ansible-playbook"), "playbooks/incident_api_down.yml",
                             "-e", json.dumps(ASSESS_WINDOWS)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=REPO, env=env)
    output, _ = proc.communicate()
    ended = time.time()
    play = ended - t0
    recovery = watch.recovery()
    trigger = pagerduty.first_trigger(t0, ended)
    if proc.returncode != 0:
        print(f"  ! incident_api_down.yml exited {proc.returncode} after {play:.1f} s; its last lines:\n"
              f"{tail(output)}")
    if trigger is None:
        print("  ! no api_down PagerDuty trigger in the stand-in's call log for this run (joined an open incident,"
              " or another client cleared the log?)")
        resolve({"incident_scenario": "api_down"}, env, watch)
    else:
        resolve({"incident_id": trigger["body"]["dedup_key"]}, env, watch)
    page = None if trigger is None else trigger["timestamp"] - t0
    return {"page": page, "recovery": recovery, "play": play}


def resolve(extra, env, watch):
    """Close the incident so the next run pages again (not measured). Resolving needs a healthy API: when the
    playbook left it broken, heal first."""
    if watch.status() != 200:
        labctl("heal")
    res = run_playbook("incident_resolve.yml", extra, env)
    if res.returncode != 0:
        print(f"  ! incident_resolve.yml -e '{json.dumps(extra)}' exited {res.returncode}; its last lines:\n"
              f"{tail(res.stdout + res.stderr, 12)}")


def median(values):
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def seconds(value):
    return "   n/a" if value is None else f"{value:6.2f}"


def row(label, value, note=""):
    print(f"    {label:<52}{seconds(value)}{'  ' + note if note else ''}")


def target(label, measured, limit, note=""):
    verdict = "n/a" if None in (measured, limit) else "met" if measured <= limit else "missed"
    row(label, measured, f"vs {seconds(limit).strip()}  {verdict}{note}")


def context(runs, kubectl_path):
    commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                            text=True, check=False).stdout.strip() or "unknown"
    kubectl = "absent"
    if kubectl_path is not None:
        words = subprocess.run(["kubectl", "version", "--client"], capture_output=True, text=True,
                               check=False).stdout.split()
        kubectl = words[2] if len(words) > 2 else "unknown"
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"api_down time to page and to recovery on the lab: {runs} run(s) per part, interleaved; median seconds\n"
            f"  machine: {os.cpu_count()} cores, load average {load}; Python {sys.version.split()[0]}; "
            f"kubectl {kubectl}; checkout {commit}; /health polled every {POLL_INTERVAL} s")


def report(runs, kubectl_path, plays, raws, rollouts):
    page = median([p["page"] for p in plays])
    recovery = median([p["recovery"] for p in plays])
    raw = median([r for _, r in raws])
    rollout = median([r for _, r in rollouts])
    print(context(runs, kubectl_path))
    print("  incident_api_down.yml")
    row("play start -> page sent (first PagerDuty trigger)", page,
        f"({sum(p['page'] is not None for p in plays)} of {len(plays)} runs paged)")
    row("play start -> /health 200", recovery,
        f"({sum(p['recovery'] is not None for p in plays)} of {len(plays)} runs recovered)")
    row("playbook duration", median([p["play"] for p in plays]))
    if raws:
        print("  raw kubectl sequence (the seed's Initial Assessment + API Downtime, by hand)")
        for i, argv in enumerate(RAW_SEQUENCE):
            row("kubectl " + " ".join(word for word in argv[1:3] if not word.startswith("-")),
                median([steps[i] for steps, _ in raws]))
        row(f"all {len(RAW_SEQUENCE)} processes", median([sum(steps) for steps, _ in raws]))
        row("start -> /health 200", raw)
        print("  rollout alone (kubectl rollout undo + rollout status)")
        row("both processes", median([sum(steps) for steps, _ in rollouts]))
        row("start -> /health 200", rollout)
    print("  targets")
    target(f"page <= {PAGE_TARGET:g} s", page, PAGE_TARGET)
    target(f"recovery <= rollout alone + {ROLLOUT_ALLOWANCE:g} s", recovery,
           None if rollout is None else rollout + ROLLOUT_ALLOWANCE)
    ratio = "" if None in (recovery, raw) else f"  (recovery / raw sequence = {recovery / raw:.1f}x)"
    target(f"recovery <= {RAW_FACTOR:g}x raw kubectl sequence", recovery, None if raw is None else raw * RAW_FACTOR,
           ratio)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--verbose", action="store_true", help="print every measurement")
    args = parser.parse_args()
    lab = lab_env()
    env = dict(os.environ, **lab, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    kubectl_path = shutil.which("kubectl", path=env["PATH"])
    if kubectl_path is None:
        print("kubectl is not on PATH: the raw kubectl sequence and the rollout alone are skipped")
    pagerduty = Pagerduty(lab)
    scratch = tempfile.mkdtemp(prefix="bench-mttr-")
    plays, raws, rollouts = [], [], []
    try:
        close_open_incident(env, scratch)
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs}", flush=True)
            plays.append(measure_playbook(lab, env, pagerduty, scratch))
            if kubectl_path is not None:
                raws.append(run_commands(RAW_SEQUENCE, env, broken_api(lab)))
                rollouts.append(run_commands(ROLLOUT, env, broken_api(lab)))
    finally:
        labctl("heal")
        shutil.rmtree(scratch, ignore_errors=True)
    if args.verbose:
        for key in ("page", "recovery", "play"):
            print(f"  playbook {key:<9} " + " ".join(seconds(p[key]) for p in plays))
        print("  raw       recovery  " + " ".join(seconds(r) for _, r in raws))
        print("  rollout   recovery  " + " ".join(seconds(r) for _, r in rollouts))
    report(args.runs, kubectl_path, plays, raws, rollouts)


if __name__ == "__main__":
    main()
