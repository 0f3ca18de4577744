#!/usr/bin/env python3
"""Benchmark: one rollback task of pynomaly.incident_response.k8s_rollback versus
kubernetes.core.k8s_rollback versus `kubectl rollout undo`, on the running lab cluster, in one run.

Each tool rolls the same kind of Deployment (its own, in a scratch namespace) back and forth N times;
between two measured rollbacks the rollout is let finish (not measured). Task times come from the
ansible.posix.json callback (task start to end), so both modules pay the same Ansible overhead;
kubectl is timed as a process. Then the same with waiting: our k8s_rollback (wait: true) versus
`kubectl rollout undo && kubectl rollout status`. Prints medians and ratios; asserts nothing.

    eval "$(lab/labctl env)"; .venv/bin/python bench/k8s_rollback.py [--runs 5]
"""
import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "tests" / "integration" / "k8s_modules"))

from conftest import Kube

IMAGES = ["nginx:1.25", "nginx:1.26"]


def env():
    out = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")
    out["PATH"] = f"{VENV_BIN}:{out.get('PATH', '')}"
    return out


def playbook(tasks):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def run_playbook(plays, measured_prefix, tmpdir=None):
    """Run a playbook; return the durations (s) of the tasks whose name starts with measured_prefix."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=REPO) as handle:
        json.dump(plays, handle)
    try:
        extra = {"TMPDIR": tmpdir} if tmpdir else {}
        res = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(REPO / "inventory" / "lab"), handle.name],
                             capture_output=True, text=True, env=dict(env(), **extra), cwd=REPO, check=False)
    finally:
        os.unlink(handle.name)
    data = json.loads(res.stdout)
    times = []
    for task in data["plays"][0]["tasks"]:
        result = task["hosts"]["localhost"]
        if result.get("failed"):
            raise SystemExit(f"task {task['task']['name']} failed: {result.get('msg')}")
        if task["task"]["name"].startswith(measured_prefix):
            d = task["task"]["duration"]
            times.append(parse(d["end"]) - parse(d["start"]))
    return times


def parse(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def settle(ns):
    return {"name": "settle", "ansible.builtin.command": f"kubectl rollout status deployment/web -n {ns} --timeout=60s",
            "changed_when": False}


def module_tasks(module, args, runs, ns, wait_between=True):
    tasks = []
    for i in range(runs):
        tasks.append({"name": f"measured {i}", module: args})
        if wait_between:
            tasks.append(settle(ns))
    return tasks


def cold_core_tasks(core_args, runs, ns):
    tasks = []
    for i in range(runs):
        tasks.append({"name": "drop the discovery cache", "ansible.builtin.shell": 'rm -f "$TMPDIR"/k8srcp-*.json',
                      "changed_when": False})
        tasks.append({"name": f"measured {i}", "kubernetes.core.k8s_rollback": core_args})
        tasks.append(settle(ns))
    return tasks


def kubectl(*args):
    subprocess.run(["kubectl", *args], check=True, capture_output=True, env=env())


def time_kubectl(ns, runs, with_status):
    times = []
    for _ in range(runs):
        started = time.monotonic()
        kubectl("rollout", "undo", "deployment/web", "-n", ns)
        if with_status:
            kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
        times.append(time.monotonic() - started)
        if not with_status:
            kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    return times


def import_time():
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import kubernetes.client, kubernetes.config"], check=True)
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--verbose", action="store_true", help="print every measurement")
    args = parser.parse_args()
    if "KUBECONFIG" not in os.environ:
        raise SystemExit('run with the lab environment: eval "$(lab/labctl env)"')
    kube = Kube(os.environ["KUBECONFIG"])
    suffix = secrets.token_hex(2)
    # kubernetes.core keeps its discovery cache in the temp folder: a private one for this run.
    scratch = tempfile.mkdtemp(prefix="bench-k8s-rollback-")
    names = {key: f"bench-{key}-{suffix}" for key in ("ours", "core", "core-cold", "kubectl", "ours-wait",
                                                               "kubectl-wait")}
    try:
        for ns in names.values():
            kube.create_namespace(ns)
            kube.workload("Deployment", ns, "web", IMAGES, ["one", "two"])
        ours_args = lambda ns, wait: {"name": "web", "namespace": ns, "wait": wait}  # noqa: E731
        core_args = {"api_version": "apps/v1", "kind": "Deployment", "name": "web", "namespace": names["core"]}
        figures = {
            "ours": run_playbook(playbook(module_tasks("pynomaly.incident_response.k8s_rollback",
                                                       ours_args(names["ours"], False), args.runs, names["ours"])),
                                 "measured"),
            "core": run_playbook(playbook(module_tasks("kubernetes.core.k8s_rollback", core_args, args.runs,
                                                       names["core"])), "measured", tmpdir=scratch),
            # As on a fresh execution environment (AWX/EE container per job): no discovery cache on disk.
            "core_cold": run_playbook(playbook(cold_core_tasks(dict(core_args, namespace=names["core-cold"]), args.runs,
                                                               names["core-cold"])), "measured",
                                      tmpdir=scratch),
            "kubectl": time_kubectl(names["kubectl"], args.runs, with_status=False),
            # What any module task costs here (Python start, AnsiballZ, Ansible's module_utils): the floor.
            "ping": run_playbook(playbook([{"name": f"measured {i}", "ansible.builtin.ping": {}}
                                           for i in range(args.runs)]), "measured"),
            "import": [import_time() for _ in range(args.runs)],
            "ours_wait": run_playbook(playbook(module_tasks("pynomaly.incident_response.k8s_rollback",
                                                            ours_args(names["ours-wait"], True), args.runs,
                                                            names["ours-wait"], wait_between=False)), "measured"),
            "kubectl_wait": time_kubectl(names["kubectl-wait"], args.runs, with_status=True),
        }
    finally:
        for ns in names.values():
            kube.delete_namespace(ns)
        shutil.rmtree(scratch, ignore_errors=True)
    med = {key: statistics.median(values) for key, values in figures.items()}
    if args.verbose:
        for key, values in figures.items():
            print(f"  {key:<13} " + " ".join(f"{v:.3f}" for v in values))
    print(f"k8s_rollback benchmark on the lab cluster, {args.runs} rollbacks each (median, seconds)")
    print(f"  pynomaly.incident_response.k8s_rollback (wait: false) task  {med['ours']:.3f}")
    print(f"  kubernetes.core.k8s_rollback task                          {med['core']:.3f}")
    print(f"  kubernetes.core.k8s_rollback task, no discovery cache      {med['core_cold']:.3f}")
    print(f"  kubectl rollout undo                                       {med['kubectl']:.3f}")
    print(f"  ratio ours / kubernetes.core                               {med['ours'] / med['core']:.2f}"
          "  (target <= 0.50)")
    print(f"  ratio ours / kubernetes.core without its discovery cache   {med['ours'] / med['core_cold']:.2f}")
    print(f"  ratio ours / kubectl rollout undo                          {med['ours'] / med['kubectl']:.2f}")
    print(f"  floor: ansible.builtin.ping task                           {med['ping']:.3f}")
    print(f"  floor: python -c 'import kubernetes.client' (both modules) {med['import']:.3f}")
    print(f"  pynomaly.incident_response.k8s_rollback (wait: true) task   {med['ours_wait']:.3f}")
    print(f"  kubectl rollout undo && kubectl rollout status             {med['kubectl_wait']:.3f}")
    print(f"  ratio ours (wait) / kubectl undo+status                    {med['ours_wait'] / med['kubectl_wait']:.2f}")


if __name__ == "__main__":
    main()
