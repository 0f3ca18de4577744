"""The lab_health playbook reports both dependencies and fails clearly when one is down."""
import json
import os
import subprocess

from tests.conftest import LABCTL, REPO, ansible_env, free_port_offset


def test_health_playbook_reports_both_dependencies_up(run_playbook):
    res = run_playbook("playbooks/lab_health.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "UP, server 15" in res.stdout
    assert "Redis 127.0.0.1" in res.stdout and "UP, version 7" in res.stdout
    assert "changed=0" in res.stdout


def test_health_playbook_is_read_only_under_check(run_playbook):
    res = run_playbook("playbooks/lab_health.yml", check=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "changed=0" in res.stdout


def _without_lab_exports(env):
    """Drop connection values a developer may have exported, so the inventory reads the scratch lab's."""
    return {k: v for k, v in env.items() if not k.startswith(("PG", "REDIS_"))}


def test_health_playbook_fails_clearly_when_postgres_is_stopped(scratch_dir, lab):
    env = dict(os.environ, LAB_STATE_DIR=str(scratch_dir), LAB_PORT_OFFSET=str(free_port_offset(800)))
    try:
        assert subprocess.run([str(LABCTL), "up"], env=env, check=False, capture_output=True).returncode == 0
        stop = subprocess.run(
            [str(LABCTL), "down"], env=env, check=False, capture_output=True, text=True)
        assert stop.returncode == 0
        # Only Redis back: start the lab, then stop PostgreSQL alone through its own tool.
        assert subprocess.run([str(LABCTL), "up"], env=env, check=False, capture_output=True).returncode == 0
        data = scratch_dir / "postgres" / "data"
        subprocess.run(["runuser", "-u", "postgres", "--", "pg_ctl", "stop", "-m", "fast", "-D", str(data)]
                       if os.geteuid() == 0 else ["pg_ctl", "stop", "-m", "fast", "-D", str(data)],
                       check=True, capture_output=True)
        res = subprocess.run(
            [str(REPO / ".venv" / "bin" / "ansible-playbook"), "playbooks/lab_health.yml"],
            cwd=REPO, capture_output=True, text=True, check=False,
            env=_without_lab_exports(ansible_env({"LAB_STATE_DIR": env["LAB_STATE_DIR"]})))
        out = res.stdout + res.stderr
        assert res.returncode != 0, out
        assert "Traceback" not in out
        assert "PostgreSQL 127.0.0.1" in out and "DOWN" in out, out
        assert "Redis 127.0.0.1" in out and "UP, version" in out, out
        assert "A dependency is down" in out, out
        # The lab's passwords never reach the output.
        for secret in json.loads((scratch_dir / "secrets.json").read_text()).values():
            assert secret not in res.stdout
    finally:
        subprocess.run([str(LABCTL), "down"], env=env, check=False, capture_output=True)


def test_no_secret_reaches_the_output_even_at_vvv(run_playbook, lab):
    res = run_playbook("playbooks/lab_health.yml", args=("-vvv",))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "UP, server 15" in res.stdout  # the checks ran, with their connection details
    out = res.stdout + res.stderr
    secrets = [lab[key] for key in ("PGPASSWORD", "REDIS_PASSWORD", "LAB_PG_APP_PASSWORD", "LAB_K8S_TOKEN")]
    assert all(len(secret) >= 16 for secret in secrets)
    for secret in secrets:
        assert secret not in out
