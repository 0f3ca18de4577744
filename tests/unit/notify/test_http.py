"""Sending to PagerDuty and Slack: 429 waits its Retry-After, 5xx and refused connections are retried a bounded
number of times, other 4xx fail at once, a post that may have arrived is not posted twice, no URL in a message."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify import http
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.errors import ChannelFailed

SECRET_PATH = "/services/T0/B0/secret-token"


class Script:
    """Answers in order; each answer is (status, body, headers) or ("sleep", seconds)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []


@pytest.fixture
def server():
    scripts = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            script = scripts["current"]
            length = int(self.headers.get("Content-Length") or 0)
            script.requests.append(json.loads(self.rfile.read(length) or b"null"))
            answer = script.answers.pop(0) if script.answers else (200, "ok", {})
            if answer[0] == "sleep":
                time.sleep(answer[1])
                answer = (200, "ok", {})
            status, body, headers = answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def use(*answers):
        scripts["current"] = Script(answers)
        return scripts["current"], "http://127.0.0.1:%d%s" % (httpd.server_port, SECRET_PATH)

    yield use
    httpd.shutdown()
    httpd.server_close()


def poster(what="Slack", attempts=3, resend_if_lost=False, timeout=5):
    slept = []
    return http.JsonPoster(what, timeout, attempts, resend_if_lost=resend_if_lost, sleep=slept.append), slept


def test_a_429_waits_what_retry_after_asks_then_sends(server):
    script, url = server((429, "rate limited", {"Retry-After": "7"}), (200, "ok", {}))
    sender, slept = poster()
    assert sender.post(url, {"text": "hi"}) == (200, "ok")
    assert slept == [7.0] and sender.waits == [7.0] and len(script.requests) == 2


def test_a_5xx_is_retried_with_short_backoff_up_to_the_attempts(server):
    script, url = server((503, "down", {}), (502, "down", {}), (202, '{"status": "success"}', {}))
    sender, slept = poster("PagerDuty", attempts=3)
    assert sender.post(url, {"event_action": "trigger"})[0] == 202
    assert len(slept) == 2 and all(0 < s <= 4 for s in slept) and len(script.requests) == 3

    script, url = server(*[(500, "boom", {})] * 5)
    sender, slept = poster("PagerDuty", attempts=3)
    with pytest.raises(ChannelFailed) as caught:
        sender.post(url, {})
    assert caught.value.message == "PagerDuty answered HTTP 500: boom, after 3 attempt(s)"
    assert len(script.requests) == 3 and len(slept) == 2


def test_another_4xx_fails_at_once_and_quotes_the_answer_not_the_url(server):
    script, url = server((403, "invalid_token", {}))
    sender, slept = poster()
    with pytest.raises(ChannelFailed) as caught:
        sender.post(url, {"text": "hi"})
    assert caught.value.message == "Slack answered HTTP 403: invalid_token"
    assert "secret-token" not in caught.value.message
    assert slept == [] and len(script.requests) == 1


def test_a_wait_past_the_budget_is_not_started(server):
    script, url = server((429, "", {"Retry-After": "3600"}))
    sender, slept = poster()
    with pytest.raises(ChannelFailed) as caught:
        sender.post(url, {})
    assert "retry budget" in caught.value.message and slept == [] and len(script.requests) == 1


def test_a_refused_connection_is_retried_and_then_named():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    sender, slept = poster(attempts=2)
    with pytest.raises(ChannelFailed) as caught:
        sender.post("http://127.0.0.1:%d%s" % (port, SECRET_PATH), {})
    assert caught.value.message.startswith("could not reach Slack: ") and "after 2 attempt(s)" in caught.value.message
    assert "secret-token" not in caught.value.message and len(slept) == 1


def test_a_slack_post_that_may_have_arrived_is_not_posted_again(server):
    script, url = server(("sleep", 1))
    sender, slept = poster(timeout=0.3)
    with pytest.raises(ChannelFailed) as caught:
        sender.post(url, {"text": "hi"})
    assert "not sent again" in caught.value.message and slept == []
    time.sleep(0.8)
    assert len(script.requests) == 1


def test_a_pagerduty_event_that_may_have_arrived_is_sent_again_as_its_dedup_key_folds_it(server):
    script, url = server(("sleep", 1), (202, "{}", {}))
    sender, slept = poster("PagerDuty", timeout=0.3, resend_if_lost=True)
    assert sender.post(url, {"dedup_key": "INC-1"})[0] == 202
    assert len(slept) == 1 and len(script.requests) == 2
