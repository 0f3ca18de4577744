"""The background helper process that keeps a scenario's incident alive: started by inject, stopped by heal
(and so by `labctl down`). Its pid is recorded under <state>/faults/<scenario>.pid."""
import os
import sys
import time
from pathlib import Path

from labkit.errors import LabError
from labkit.process import pid_alive, read_pid, spawn, stop_pid

LAB_DIR = Path(__file__).resolve().parents[2]


def _dir(config):
    return config.service_dir("faults")


def pidfile(config, name):
    return _dir(config) / f"{name}.pid"


def logfile(config, name):
    return _dir(config) / f"{name}.log"


def readyfile(config, name):
    return _dir(config) / f"{name}.ready"


def running(config, name):
    return pid_alive(read_pid(pidfile(config, name)))


def start(config, name, timeout=30.0):
    """Start the helper and return once it holds its sessions; raise LabError (helper stopped) otherwise."""
    readyfile(config, name).unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=str(LAB_DIR), LAB_STATE_DIR=str(config.state_dir))
    spawn([sys.executable, "-m", "labkit.faults.holder", name], pidfile(config, name), logfile(config, name),
          env=env, cwd=str(LAB_DIR))
    deadline = time.monotonic() + timeout
    while not readyfile(config, name).exists():
        if not running(config, name) or time.monotonic() > deadline:
            stop(config, name)
            raise LabError(f"the {name} helper did not get its sessions in place: {log_tail(config, name)}")
        time.sleep(0.05)


def stop(config, name):
    stop_pid(pidfile(config, name))
    readyfile(config, name).unlink(missing_ok=True)


def log_tail(config, name, size=600):
    path = logfile(config, name)
    return path.read_text(errors="replace")[-size:].strip() if path.exists() else ""
