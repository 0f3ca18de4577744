"""Start, track and stop the lab's processes by pid, and check loopback ports."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from labkit.config import HOST
from labkit.errors import LabError


def port_open(port, host=HOST, timeout=0.2):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_port_free(port, what):
    if port_open(port):
        raise LabError(
            f"port {port} on {HOST} is already taken, so {what} cannot start; "
            f"free it or choose another with LAB_{what.upper()}_PORT"
        )


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise LabError(f"{what} did not come up within {timeout:.0f}s")


def read_pid(pidfile: Path):
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def spawn(argv, pidfile: Path, logfile: Path, env=None, cwd=None):
    """Start a long-running process in its own session and record its pid."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=cwd,
        )
    pidfile.write_text(f"{proc.pid}\n")
    return proc


def start_and_wait(argv, pidfile: Path, logfile: Path, ready, what, timeout=15, env=None, cwd=None):
    """Spawn a service and return once `ready()` holds; if it exits or never gets ready, stop it and raise."""
    proc = spawn(argv, pidfile, logfile, env=env, cwd=cwd)

    def started():
        if proc.poll() is not None:
            raise LabError(f"{what} exited: {logfile.read_text()[-800:]}")
        return ready()

    try:
        wait_for(started, timeout, what)
    except LabError:
        stop_pid(pidfile)
        raise
    return proc


def stop_pid(pidfile: Path, timeout=10.0):
    """Stop the process recorded in pidfile (SIGTERM, then SIGKILL) and remove the file."""
    pid = read_pid(pidfile)
    if pid and pid_alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _reap(pid)
    pidfile.unlink(missing_ok=True)


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
