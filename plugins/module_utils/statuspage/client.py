# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP client for the Statuspage API v1: authentication, retries, and one error handler.

Retries (tenacity): a 429 (or the older 420) waits exactly what Retry-After asks; 5xx and
connection errors back off exponentially with jitter. Both are bounded by `max_attempts` and by
`max_retry_time` (a wait that would cross it is not started), after which GaveUp is raised.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import json
import random
import socket
import ssl
import time
import traceback
from email.utils import parsedate_to_datetime

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote, urlencode
from ansible.module_utils.urls import Request, make_context

from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    GaveUp,
    HttpError,
    NotFound,
    RequestRejected,
    StatuspageError,
    WriteOutcomeUnknown,
)

try:
    import tenacity

    HAS_TENACITY = True
    TENACITY_IMPORT_ERROR = None
except ImportError:
    HAS_TENACITY = False
    TENACITY_IMPORT_ERROR = traceback.format_exc()

DEFAULT_API_URL = "https://api.statuspage.io/v1"
# Connection failures that prove the request never reached the server.
NEVER_SENT = (ConnectionRefusedError, socket.gaierror)

# The connection options every Statuspage module takes (documented in the statuspage doc fragment).
STATUSPAGE_COMMON_ARGS = dict(
    api_url=dict(type="str", default=DEFAULT_API_URL, fallback=(env_fallback, ["STATUSPAGE_API_URL"])),
    api_key=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["STATUSPAGE_API_KEY"])),
    page_id=dict(type="str", required=True, fallback=(env_fallback, ["STATUSPAGE_PAGE_ID"])),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="float", default=10.0),
    max_attempts=dict(type="int", default=5),
    max_retry_time=dict(type="float", default=60.0),
)


def retry_after_seconds(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent/unreadable."""
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - (now if now is not None else time.time()))


def _error_text(raw):
    """Statuspage errors are {"error": "..."} or {"error": [...]}; fall back to the raw text."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.strip()[:300] or "no details"
    if isinstance(data, dict) and "error" in data:
        err = data["error"]
        return "; ".join(str(e) for e in err) if isinstance(err, list) else str(err)
    return json.dumps(data)[:300]


class StatuspageErrorHandler(object):
    """Turns the client's HTTP failures into the module's exceptions, named after the action that failed."""

    @classmethod
    def common_error_handler(cls, description):
        def wrapper(func):
            @functools.wraps(func)
            def handler(*args, **kwargs):
                try:
                    return func(*args, **kwargs)
                except HttpError as exc:
                    raise cls.translate(exc, description) from exc

            return handler

        return wrapper

    @classmethod
    def list_error_handler(cls, description, default_value=None):
        """Like common_error_handler, but a 404 means "not there" and returns default_value."""

        def wrapper(func):
            @functools.wraps(func)
            @cls.common_error_handler(description)
            def handler(*args, **kwargs):
                try:
                    return func(*args, **kwargs)
                except HttpError as exc:
                    if exc.status == 404:
                        return default_value
                    raise

            return handler

        return wrapper

    @staticmethod
    def translate(exc, description):
        where = "Failed to %s" % description
        details = dict(status=exc.status, error=exc.error, method=exc.method, path=exc.path)
        if exc.status in (401, 403):
            return AuthenticationFailed(
                "%s: Statuspage rejected the API key (%s %s). Check api_key (or STATUSPAGE_API_KEY) and that "
                "the key may manage this page." % (where, exc.status, exc.error), **details)
        if exc.status == 404:
            return NotFound("%s: not found (404 %s on %s)." % (where, exc.error, exc.path), **details)
        return RequestRejected("%s: Statuspage answered %s: %s" % (where, exc.status, exc.error), **details)


class StatuspageClient(object):
    """Sends JSON requests to one page of the Statuspage API and counts every request it sends."""

    def __init__(self, api_url, api_key, page_id, validate_certs=True, timeout=10.0, max_attempts=5,
                 max_retry_time=60.0, sleep=time.sleep):
        self.api_url = api_url.rstrip("/")
        self.page_id = page_id
        self._api_key = api_key
        self.validate_certs = validate_certs
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.max_retry_time = max(0.0, max_retry_time)
        self._sleep = sleep
        self.requests_sent = 0
        self._tls = None
        self._started = time.time()
        self.waits = []

    @property
    def page_path(self):
        return "/pages/%s" % quote(self.page_id, safe="")

    def get(self, path, query=None):
        return self.request("GET", path, query=query)

    def post(self, path, body):
        return self.request("POST", path, body=body)

    def patch(self, path, body):
        return self.request("PATCH", path, body=body)

    def delete(self, path):
        return self.request("DELETE", path)

    def request(self, method, path, query=None, body=None):
        """One API call with retries; returns the decoded JSON.

        Reads and deletes are repeated on 5xx and connection errors. A create or update is repeated
        only when it certainly did not take effect (rate limited, connection refused); after a 5xx or
        a lost connection it raises WriteOutcomeUnknown instead, so the caller re-reads and re-plans.
        Raises HttpError (4xx), GaveUp (retries exhausted), ConnectionFailed or WriteOutcomeUnknown.
        """
        repeatable = method in ("GET", "DELETE")

        def worth_retrying(exc):
            if isinstance(exc, HttpError):
                return exc.rate_limited or (repeatable and exc.status >= 500)
            if isinstance(exc, ConnectionFailed):
                return repeatable or exc.before_sending
            return False

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(worth_retrying),
            wait=self._wait,
            stop=tenacity.stop_any(tenacity.stop_after_attempt(self.max_attempts), self._out_of_time),
            sleep=self._record_sleep,
            reraise=True,
        )
        try:
            return retrying(self._send_once, method, path, query, body)
        except (HttpError, ConnectionFailed) as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            if worth_retrying(exc):
                raise GaveUp(
                    "Gave up on %s %s after %d attempt(s) in %.1fs (max_attempts=%d, max_retry_time=%ss); the "
                    "last answer was: %s" % (method, path, attempts, self.elapsed(), self.max_attempts,
                                             self.max_retry_time, exc.message),
                    attempts=attempts, last_error=exc.message) from exc
            if not repeatable and (isinstance(exc, ConnectionFailed) or exc.status >= 500):
                raise WriteOutcomeUnknown("%s %s may or may not have taken effect: %s" % (method, path, exc.message),
                                          last_error=exc.message) from exc
            raise

    def elapsed(self):
        return time.time() - self._started

    def _out_of_time(self, retry_state):
        """Stop when the next wait would cross max_retry_time (counted from the client's first request)."""
        return self.elapsed() + (retry_state.upcoming_sleep or 0) > self.max_retry_time

    def backoff(self, attempt):
        """Sleep before attempt `attempt + 1` of a whole read-plan-write pass; False when out of time."""
        seconds = random.uniform(0, min(8.0, 0.5 * 2 ** attempt))  # noqa: S311 - jitter, not a secret
        if self.elapsed() + seconds > self.max_retry_time:
            return False
        self._record_sleep(seconds)
        return True

    def _wait(self, retry_state):
        exc = retry_state.outcome.exception()
        asked = getattr(exc, "retry_after", None)
        if asked is not None:
            return asked
        return tenacity.wait_random_exponential(multiplier=0.5, max=8)(retry_state)

    def _record_sleep(self, seconds):
        self.waits.append(round(seconds, 3))
        self._sleep(seconds)

    def _send_once(self, method, path, query, body):
        url = self.api_url + self.page_path + path
        if query:
            url += "?" + urlencode(query)
        headers = {"Authorization": "OAuth %s" % self._api_key, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.requests_sent += 1
        if self._tls is None:
            # Built once: loading the CA store takes tens of milliseconds that every request would pay.
            # A plain-http URL (a stand-in) never uses it, so it gets an empty context instead.
            if self.api_url.startswith("https:"):
                self._tls = make_context(validate_certs=self.validate_certs)
            else:
                self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            resp = Request().open(method, url, data=data, headers=headers, timeout=self.timeout,
                                  validate_certs=self.validate_certs, follow_redirects="none", context=self._tls)
            raw = resp.read()
        except HTTPError as exc:
            raw_error = exc.read().decode("utf-8", errors="replace") if exc.fp else ""
            retry_after = None
            if exc.code in (420, 429):
                retry_after = retry_after_seconds(exc.headers.get("Retry-After")) if exc.headers else None
                if retry_after is None:
                    retry_after = 1.0
            raise HttpError(exc.code, _error_text(raw_error), method, self.page_path + path, retry_after) from None
        except (URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            # Refused or unresolvable: the request never left, so even a write may be sent again.
            before_sending = isinstance(reason, NEVER_SENT)
            raise ConnectionFailed("Could not reach Statuspage at %s: %s" % (self.api_url, reason),
                                   before_sending=before_sending, api_url=self.api_url) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise StatuspageError("Statuspage answered %s %s with something that is not JSON: %r"
                                  % (method, path, raw[:200])) from None
