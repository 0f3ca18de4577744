"""The record of every call made to a stand-in, with secrets redacted."""
import re
import time
from collections import deque
from datetime import UTC, datetime

SERVICES = ("statuspage", "slack", "pagerduty")
REDACTED = "***"
# Header values that authenticate; recorded only with the credential replaced.
SECRET_HEADERS = {"authorization", "x-api-key", "cookie"}
# The last segment of a Slack webhook path is its secret token.
_SLACK_TOKEN = re.compile(r"^(/slack/services/[^/]+/[^/]+/)[^/]+$")


def utc_iso(ts=None):
    moment = datetime.fromtimestamp(ts if ts is not None else time.time(), tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def service_for(path):
    if path.startswith("/v1/"):
        return "statuspage"
    if path.startswith("/slack/"):
        return "slack"
    if path.startswith("/v2/enqueue"):
        return "pagerduty"
    return None


def redact_header(name, value):
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, credential = value.partition(" ")
    return f"{scheme} {REDACTED}" if credential else REDACTED


def redact_path(path):
    return _SLACK_TOKEN.sub(r"\1" + REDACTED, path)


class CallLog:
    """Calls kept in memory, oldest first, bounded so a runaway client cannot eat the machine."""

    def __init__(self, limit=20000):
        self._calls = deque(maxlen=limit)
        self._seq = 0

    def record(self, service, request, body, status, started, retry_after=None):
        self._seq += 1
        query = {key: request.query.getall(key) for key in request.query}
        self._calls.append({
            "seq": self._seq,
            "service": service,
            "time": utc_iso(started),
            "timestamp": started,
            "duration_ms": round((time.time() - started) * 1000, 2),
            "method": request.method,
            "path": redact_path(request.path),
            "query": {key: values[0] if len(values) == 1 else values for key, values in query.items()},
            "headers": {name: redact_header(name, value) for name, value in request.headers.items()},
            "body": body,
            "status": status,
            "retry_after": retry_after,
        })

    def calls(self, service=None):
        return [call for call in self._calls if service is None or call["service"] == service]

    def clear(self, service=None):
        kept = [call for call in self._calls if service is not None and call["service"] != service]
        self._calls.clear()
        self._calls.extend(kept)
