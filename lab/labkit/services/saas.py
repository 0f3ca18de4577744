"""Stand-ins for Statuspage, Slack and PagerDuty (lab/saas), one aiohttp process on loopback."""
import json
import os
import sys
import urllib.request

from labkit.config import HOST, REPO_ROOT
from labkit.process import ensure_port_free, port_open, start_and_wait, stop_pid
from labkit.services.base import Service

SLACK_TEAM = "T00LAB000"
SLACK_BOT = "B00LAB000"


class SaasService(Service):
    name = "saas"

    @property
    def port(self):
        return self.config.port(self.name)

    @property
    def base_url(self):
        return f"http://{HOST}:{self.port}"

    def settings(self):
        return {
            "page_id": self.config.secret("statuspage_page_id")[:12],
            "statuspage_api_key": self.config.secret("statuspage_api_key"),
            "slack_team": SLACK_TEAM,
            "slack_bot": SLACK_BOT,
            "slack_token": self.config.secret("slack_webhook_token")[:24],
            "pagerduty_routing_key": self.config.secret("pagerduty_routing_key"),
        }

    def start(self):
        if self.is_running():
            return
        ensure_port_free(self.port, self.name)
        settings_file = self.dir / "settings.json"
        settings_file.write_text(json.dumps(self.settings(), indent=2))
        settings_file.chmod(0o600)
        start_and_wait([sys.executable, "-m", "saas", "--port", str(self.port), "--settings", str(settings_file)],
                       self.pidfile, self.logfile, lambda: self._admin_health() is not None, "the SaaS stand-ins",
                       env=_env_with_lab_path(), cwd=REPO_ROOT / "lab")

    def _admin_health(self):
        try:
            with urllib.request.urlopen(f"{self.base_url}/_lab/v1/health", timeout=1) as resp:  # noqa: S310 - loopback
                return json.loads(resp.read())
        except (OSError, ValueError):
            return None

    def stop(self):
        stop_pid(self.pidfile)

    def health(self):
        if not port_open(self.port):
            return False, f"nothing listens on {HOST}:{self.port}"
        data = self._admin_health()
        if data is None:
            return False, f"{self.base_url}/_lab/v1/health does not answer"
        calls = sum(data["calls"].values())
        return True, f"Statuspage, Slack, PagerDuty stand-ins on {HOST}:{self.port} ({calls} calls recorded)"

    def env(self):
        s = self.settings()
        return {
            "SAAS_ADMIN_URL": f"{self.base_url}/_lab/v1",
            "STATUSPAGE_API_URL": f"{self.base_url}/v1",
            "STATUSPAGE_PAGE_ID": s["page_id"],
            "STATUSPAGE_API_KEY": s["statuspage_api_key"],
            "SLACK_WEBHOOK_URL": f"{self.base_url}/slack/services/{SLACK_TEAM}/{SLACK_BOT}/{s['slack_token']}",
            "PAGERDUTY_EVENTS_URL": f"{self.base_url}/v2/enqueue",
            "PAGERDUTY_ROUTING_KEY": s["pagerduty_routing_key"],
        }


def _env_with_lab_path():
    env = dict(os.environ)
    lab = str(REPO_ROOT / "lab")
    env["PYTHONPATH"] = lab + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
