"""Where the lab keeps its state and which loopback ports it uses.

Every value can be overridden from the environment so two labs (or CI and a developer)
can run side by side.
"""
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

DEFAULT_PORTS = {
    "postgres": 55432,
    "redis": 56379,
    "k8s": 56443,
    "apiservice": 58080,
    "saas": 58090,
    "prometheus": 59090,
    "alertmanager": 59093,
}


@dataclass
class LabConfig:
    state_dir: Path

    @classmethod
    def from_env(cls):
        state = Path(os.environ.get("LAB_STATE_DIR", REPO_ROOT / ".lab")).resolve()
        return cls(state_dir=state)

    def port(self, service):
        explicit = os.environ.get(f"LAB_{service.upper()}_PORT")
        if explicit:
            return int(explicit)
        return DEFAULT_PORTS[service] + int(os.environ.get("LAB_PORT_OFFSET", "0"))

    def service_dir(self, service):
        path = self.state_dir / service
        path.mkdir(parents=True, exist_ok=True)
        return path

    def secret(self, name):
        """A per-lab random secret (passwords, tokens), created once and kept in the state folder."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / "secrets.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        if name not in data:
            data[name] = secrets.token_hex(16)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2))
            tmp.chmod(0o600)
            tmp.replace(path)
        return data[name]
