"""Shared fixtures: the running lab and ways to run this collection's modules and playbooks.

The lab honours LAB_STATE_DIR and LAB_PORT_OFFSET, so several labs can run side by side.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LABCTL = REPO / "lab" / "labctl"
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "lab"))
# The collection by its FQCN (.collections links to the checkout), for tests that call module_utils directly.
if str(REPO / ".collections") not in sys.path:
    sys.path.insert(0, str(REPO / ".collections"))


def free_port_offset(start):
    """A LAB_PORT_OFFSET from `start` on whose every lab port is free right now, for a throwaway lab.

    Lab ports lie in Linux's ephemeral range, so any outgoing connection may hold one for a while:
    probing beats a fixed offset."""
    import socket

    from labkit.config import DEFAULT_PORTS

    for offset in range(start + os.getpid() % 50, start + 400):
        try:
            for port in DEFAULT_PORTS.values():
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return offset
    raise AssertionError(f"no free lab port offset in {start}..{start + 400}")


def ansible_env(extra=None):
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env.setdefault("ANSIBLE_DEPRECATION_WARNINGS", "0")
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def lab():
    """Bring the lab up (idempotent) and return its connection values."""
    res = subprocess.run([str(LABCTL), "up"], capture_output=True, text=True, check=False)
    assert res.returncode == 0, f"labctl up failed:\n{res.stdout}\n{res.stderr}"
    out = subprocess.run([str(LABCTL), "env", "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="session")
def lab_environ(lab):
    """os.environ plus the lab's connection values, for subprocesses."""
    return ansible_env(lab)


class ModuleRunner:
    """Runs one module through `ansible localhost -m` and returns its result dict."""

    def __init__(self, env):
        self.env = env

    def __call__(self, module, args, check=False, diff=False, verbosity=0, raw=False):
        fqcn = module if "." in module else f"pynomaly.incident_response.{module}"
        argv = [str(VENV_BIN / "ansible"), "localhost", "-i", str(REPO / "inventory" / "lab"), "-m", fqcn,
                "-a", json.dumps(args)]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        if verbosity:
            argv.append("-" + "v" * verbosity)
        env = dict(self.env, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
        if raw:
            env.pop("ANSIBLE_STDOUT_CALLBACK")
            return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False)
        res = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False)
        try:
            data = json.loads(res.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"no JSON from ansible:\n{res.stdout}\n{res.stderr}") from exc
        result = data["plays"][0]["tasks"][0]["hosts"]["localhost"]
        result["_stdout"] = res.stdout
        result["_stderr"] = res.stderr
        return result


@pytest.fixture(scope="session")
def run_module(lab_environ):
    return ModuleRunner(lab_environ)


@pytest.fixture(scope="session")
def run_playbook(lab_environ):
    """Run a playbook; returns the CompletedProcess (text output in stdout)."""

    def _run(playbook, extra_vars=None, check=False, diff=False, env=None, args=()):
        argv = [str(VENV_BIN / "ansible-playbook"), str(REPO / playbook)]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        argv += list(args)
        return subprocess.run(argv, capture_output=True, text=True, cwd=REPO,
                              env=dict(lab_environ, **(env or {})), check=False)

    return _run


@pytest.fixture
def scratch_dir():
    """A throwaway lab state folder inside the checkout (PostgreSQL's owner must be able to reach it)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=".lab-scratch-", dir=REPO))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


class SaasAdmin:
    """The SaaS stand-ins' lab-only admin API (lab/README.md, "SaaS stand-ins")."""

    def __init__(self, lab_values):
        import requests

        self.url = lab_values["SAAS_ADMIN_URL"]
        self.http = requests.Session()

    def _call(self, method, path, **kw):
        resp = self.http.request(method, self.url + path, timeout=10, **kw)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def reset(self):
        return self._call("POST", "/reset")

    def calls(self, service=None):
        return self._call("GET", "/calls", params={"service": service} if service else None)

    def clear_calls(self, service=None):
        return self._call("DELETE", "/calls", params={"service": service} if service else None)

    def fail_next(self, service, count, status=500, method=None, after_processing=False):
        return self._call("POST", f"/{service}/fail-next", json={"count": count, "status": status, "method": method,
                                                                 "after_processing": after_processing})

    def rate_limit(self, enabled=True, requests=None, window=None):
        body = {"enabled": enabled, "requests": requests, "window": window}
        return self._call("PUT", "/statuspage/rate-limit", json={k: v for k, v in body.items() if v is not None})

    def seed_incidents(self, count, name="Seeded incident {n}", status="resolved"):
        return self._call("POST", "/statuspage/seed", json={"count": count, "name": name, "status": status})["ids"]


@pytest.fixture
def saas_admin(lab):
    """The stand-ins reset to a clean page (no incidents, five operational components, empty call log)."""
    admin = SaasAdmin(lab)
    admin.reset()
    return admin
