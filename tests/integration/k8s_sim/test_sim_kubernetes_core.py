"""kubernetes.core's modules (k8s, k8s_info, k8s_scale, k8s_log, k8s_rollback) work against the lab
from a playbook as they do on a real cluster."""
import os
import subprocess
import sys
from pathlib import Path

PLAYBOOK = Path(__file__).parent / "playbooks" / "kubernetes_core.yml"


def test_kubernetes_core_playbook(k8s_service, namespace):
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, K8S_AUTH_KUBECONFIG=str(k8s_service.kubeconfig), ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="0", PATH=f"{bin_dir}:{os.environ.get('PATH', '')}",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    res = subprocess.run([str(bin_dir / "ansible-playbook"), "-i", "localhost,", str(PLAYBOOK),
                          "-e", f"sim_namespace={namespace}"], capture_output=True, text=True, env=env, timeout=300,
                         check=False)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert "failed=0" in res.stdout
