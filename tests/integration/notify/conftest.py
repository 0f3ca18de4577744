"""incident_notify against the lab: its cluster holds the record, its SaaS stand-ins record every call.

Each test has its own incident (id, title and so the PagerDuty dedup_key and the Statuspage incident's
name), so tests read back only their own calls and share the lab with whatever else runs: the stand-ins
are never reset here, and the calls are read right after each run and kept (another test may clear the log).
"""
import json
import subprocess
import textwrap
import time
import uuid

import pytest
import requests

from tests.conftest import REPO, VENV_BIN, SaasAdmin

RECORD_NS = "incident-response"


class NotifyLab:
    def __init__(self, lab, lab_environ, tmp_path):
        from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
        from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import ClusterStore
        from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import K8sClient

        self.lab = lab
        self.admin = SaasAdmin(lab)
        self.tmp = tmp_path
        self.env = dict(lab_environ, INCIDENT_TIMELINE_DIR=str(tmp_path / "timeline"))
        tag = uuid.uuid4().hex[:8]
        self.incident_id = "INC-20261204-000000-n" + tag
        self.title = "Checkout API failing " + tag
        self.store = ClusterStore(K8sClient.from_params({"kubeconfig": lab["K8S_AUTH_KUBECONFIG"]}), RECORD_NS)
        self.store.create(rec.new_record(self.incident_id, "svc-notify-" + tag, "notify", severity="P0",
                                         title=self.title, commander="alice"))
        self.secrets = [lab["PAGERDUTY_ROUTING_KEY"], lab["STATUSPAGE_API_KEY"],
                        lab["SLACK_WEBHOOK_URL"].rsplit("/", 1)[1]]
        self._seen = {}

    # --- running the module ---------------------------------------------------------------------
    def args(self, **overrides):
        """The task's options: this incident, the lab's connection values given explicitly."""
        args = {"incident_id": self.incident_id, "update": "declared", "severity": "P0", "title": self.title,
                "message": "Declared P0: the API answers 503.", "commander": "alice",
                "pagerduty": {"events_url": self.lab["PAGERDUTY_EVENTS_URL"],
                              "routing_key": self.lab["PAGERDUTY_ROUTING_KEY"]},
                "slack": {"webhook_url": self.lab["SLACK_WEBHOOK_URL"]},
                "statuspage": {"api_url": self.lab["STATUSPAGE_API_URL"], "page_id": self.lab["STATUSPAGE_PAGE_ID"],
                               "api_key": self.lab["STATUSPAGE_API_KEY"]},
                "spool_dir": str(self.tmp / "spool")}
        for key, value in overrides.items():
            args[key] = dict(args[key], **value) if isinstance(args.get(key), dict) else value
        return args

    def playbook(self, args, name="notify.yml"):
        path = self.tmp / name
        path.write_text(textwrap.dedent("""\
            - name: incident_notify test
              hosts: localhost
              gather_facts: false
              tasks:
                - name: notify
                  pynomaly.incident_response.incident_notify: %s
            """) % json.dumps(args))
        return path

    def start(self, args, *flags, raw=False, name="notify.yml"):
        env = dict(self.env) if raw else dict(self.env, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                                               ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
        return subprocess.Popen([str(VENV_BIN / "ansible-playbook"), str(self.playbook(args, name)), *flags],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)

    def result(self, proc):
        out, err = proc.communicate(timeout=300)
        self._collect()
        try:
            result = json.loads(out)["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (ValueError, KeyError, IndexError) as exc:
            raise AssertionError("no task result:\n%s\n%s" % (out, err)) from exc
        result["_output"] = out + err
        return result

    def notify(self, *flags, **overrides):
        return self.result(self.start(self.args(**overrides), *flags))

    def notify_raw(self, *flags, **overrides):
        """The run as a person sees it (the default callback); returns the CompletedProcess-like output."""
        proc = self.start(self.args(**overrides), *flags, raw=True)
        out, err = proc.communicate(timeout=300)
        self._collect()
        return proc.returncode, out + err

    # --- what the stand-ins saw -------------------------------------------------------------------
    def _collect(self):
        """Keep every call the log holds now (by its sequence number, which a reset of the log does not reuse)."""
        for call in self.admin.calls():
            self._seen[call["seq"]] = call

    def calls(self, service):
        self._collect()
        found = [self._seen[seq] for seq in sorted(self._seen) if self._seen[seq]["service"] == service]
        if service == "pagerduty":
            return [c for c in found if isinstance(c["body"], dict) and c["body"].get("dedup_key") == self.incident_id]
        if service == "slack":
            return [c for c in found if self.incident_id in json.dumps(c["body"])]
        ours = {inc["id"] for inc in self.statuspage_incidents()}
        return [c for c in found if c["method"] != "GET" and (
            self.title in json.dumps(c["body"]) or any(i in c["path"] for i in ours))]

    def writes(self):
        return {service: len(self.calls(service)) for service in ("pagerduty", "slack", "statuspage")}

    def statuspage_incidents(self):
        """The stand-in's incidents named after this test's title."""
        url = "%s/pages/%s/incidents" % (self.lab["STATUSPAGE_API_URL"], self.lab["STATUSPAGE_PAGE_ID"])
        for _attempt in range(5):  # the stand-in rate-limits every caller of the lab's key
            resp = requests.get(url, params={"q": self.title}, timeout=10,
                                headers={"Authorization": "OAuth %s" % self.lab["STATUSPAGE_API_KEY"]})
            if resp.status_code != 429:
                break
            time.sleep(float(resp.headers.get("Retry-After") or 1))
        assert resp.status_code == 200, resp.text
        return [inc for inc in resp.json() if inc["name"] == self.title]

    # --- the record ---------------------------------------------------------------------------------
    def channels(self):
        return self.store.read(self.incident_id).record.get("channels") or {}


@pytest.fixture
def notify_lab(lab, lab_environ, tmp_path):
    """A fresh incident record for the test; resolved afterwards, so no listing of open incidents keeps it."""
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec

    notify = NotifyLab(lab, lab_environ, tmp_path)
    yield notify
    notify.store.update(notify.incident_id, lambda record, timeline: (rec.resolve(record), timeline))
