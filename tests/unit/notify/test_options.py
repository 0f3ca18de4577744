"""incident_notify's options: the documentation says exactly what the action plugin accepts, and bad input is
refused before anything is read or sent, naming the option (never quoting a secret)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.errors import NotifyOptionsError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.options import (
    ARGUMENT_SPEC,
    check_params,
    enabled_channels,
    update_key,
)

REPO = Path(__file__).resolve().parents[3]
WEBHOOK = "https://hooks.slack.com/services/T0/B0/secret-token"
ENV_FALLBACKS = ("PAGERDUTY_EVENTS_URL", "PAGERDUTY_ROUTING_KEY", "SLACK_WEBHOOK_URL", "STATUSPAGE_API_URL",
                 "STATUSPAGE_PAGE_ID", "STATUSPAGE_API_KEY")


@pytest.fixture(autouse=True)
def no_lab_environment(monkeypatch):
    for name in ENV_FALLBACKS:
        monkeypatch.delenv(name, raising=False)


def validated(**args):
    base = {"incident_id": "INC-1", "severity": "P0", "message": "Down.",
            "pagerduty": {"routing_key": "k" * 32}, "slack": {"webhook_url": WEBHOOK},
            "statuspage": {"page_id": "page", "api_key": "key"}}
    for key, value in args.items():
        base[key] = dict(base[key], **value) if isinstance(value, dict) and key in base else value
    result = ArgumentSpecValidator(ARGUMENT_SPEC).validate(base)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def refusal(**args):
    with pytest.raises(NotifyOptionsError) as caught:
        check_params(validated(**args))
    return caught.value.message


def test_defaults_enable_every_channel_and_key_the_update_by_its_status():
    params = validated()
    check_params(params)
    assert enabled_channels(params) == ["pagerduty", "slack", "statuspage"]
    assert params["pagerduty"]["events_url"] == "https://events.pagerduty.com/v2/enqueue"
    assert params["statuspage"]["api_url"] == "https://api.statuspage.io/v1"
    assert (params["status"], update_key(params)) == ("investigating", "investigating")
    assert update_key(validated(update="declared")) == "declared"


def test_an_enabled_channel_without_its_connection_values_is_refused_naming_the_option():
    assert "pagerduty.routing_key is required" in refusal(pagerduty={"routing_key": ""})
    assert "statuspage.api_key is required" in refusal(statuspage={"api_key": None})
    assert "pagerduty.events_url must be an http(s) URL" in refusal(pagerduty={"events_url": "ftp://x"})
    message = refusal(slack={"webhook_url": "hooks.slack.com/services/T0/B0/secret-token"})
    assert "slack.webhook_url is required" in message and "secret-token" not in message


def test_a_disabled_channel_needs_nothing():
    check_params(validated(pagerduty={"enabled": False, "routing_key": None}, slack={"enabled": False,
                                                                                     "webhook_url": None},
                           statuspage={"enabled": False, "api_key": None, "page_id": None}))


def test_the_other_rules_are_each_named():
    assert "message is required" in refusal(message="  ")
    check_params(validated(message=None, pending_only=True))
    assert "timeout must be between 1 and 120" in refusal(timeout=0)
    assert "retries must be between 1 and 10" in refusal(retries=11)
    assert "update must be 1 to 64" in refusal(update="two words")
    assert "incident_id:" in refusal(incident_id="../etc")
    assert "statuspage.components['API'] is 'down'" in refusal(statuspage={"components": {"API": "down"}})


def test_every_problem_is_listed_at_once():
    message = refusal(timeout=0, pagerduty={"routing_key": ""})
    assert "timeout" in message and "routing_key" in message and message.startswith("Invalid options, nothing")


def _compare(spec, docs, where=""):
    problems = []
    for name in sorted(set(spec) | set(docs)):
        option, doc = spec.get(name), docs.get(name)
        path = where + name
        if option is None or doc is None:
            problems.append("%s: %s" % (path, "documented, not accepted" if option is None else "undocumented"))
            continue
        for key, default in (("type", "str"), ("default", None), ("choices", None), ("required", False),
                             ("aliases", None), ("elements", None)):
            wanted, documented = option.get(key, default), doc.get(key, default)
            if wanted != documented:
                problems.append("%s.%s: spec %r, docs %r" % (path, key, wanted, documented))
        if option.get("options") or doc.get("suboptions"):
            problems += _compare(option.get("options") or {}, doc.get("suboptions") or {}, path + ".")
    return problems


def test_the_documentation_matches_the_argument_spec_exactly():
    # validate-modules cannot compare a docs-only module file (the action plugin does the work), so this does.
    res = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json", "-t", "module",
                          "pynomaly.incident_response.incident_notify"], capture_output=True, text=True, check=False,
                         env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections")))
    assert res.returncode == 0, res.stderr
    docs = json.loads(res.stdout)["pynomaly.incident_response.incident_notify"]["doc"]["options"]
    assert _compare(ARGUMENT_SPEC, docs) == []


def test_secrets_are_no_log():
    assert ARGUMENT_SPEC["pagerduty"]["options"]["routing_key"]["no_log"] is True
    assert ARGUMENT_SPEC["slack"]["options"]["webhook_url"]["no_log"] is True
    assert ARGUMENT_SPEC["statuspage"]["options"]["api_key"]["no_log"] is True
    assert ARGUMENT_SPEC["api_key"]["no_log"] is True
