# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One JSON POST to a webhook-style API (PagerDuty Events, Slack), with bounded retries.

A 429 waits what its Retry-After asks; a 5xx and a refused connection are retried with a short
jittered backoff; any other 4xx fails at once. A request that may have arrived (a timeout or a
connection lost after sending) is repeated only when the API deduplicates it (`resend_if_lost`).
Every wait counts against RETRY_BUDGET, which stays below the claim's 60 s (deliveries.CLAIM_SECONDS),
so another run never takes over a send that is still retrying. Messages never hold the URL, which
for Slack is the secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import random
import socket
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import Request

from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.errors import ChannelFailed
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.client import (
    retry_after_seconds,
)

RETRY_BUDGET = 30.0
# Refused or unresolvable: the request certainly never left.
NEVER_SENT = (ConnectionRefusedError, socket.gaierror)
EXCERPT = 300


def backoff(attempt):
    return random.uniform(0.25, min(4.0, 0.5 * 2 ** attempt))  # noqa: S311 - jitter, not a secret


def _reason_text(exc):
    reason = getattr(exc, 'reason', exc)
    return getattr(reason, 'strerror', None) or str(reason) or type(reason).__name__


class JsonPoster(object):
    """POSTs for one channel; `waits` lists the seconds slept before each retry."""

    def __init__(self, what, timeout, attempts, resend_if_lost=False, sleep=time.sleep, clock=time.time):
        self.what = what
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.resend_if_lost = resend_if_lost
        self._sleep = sleep
        self._clock = clock
        self.waits = []

    def post(self, url, body):
        """(status, text) of the first answer that is a success; raises ChannelFailed otherwise."""
        started = self._clock()
        last = None
        for attempt in range(1, self.attempts + 1):
            try:
                resp = Request().open('POST', url, data=json.dumps(body), timeout=self.timeout,
                                      headers={'Content-Type': 'application/json', 'Accept': 'application/json'},
                                      follow_redirects='none')
                return resp.getcode(), resp.read().decode('utf-8', 'replace')
            except HTTPError as exc:
                text = (exc.read() if exc.fp else b'').decode('utf-8', 'replace').strip()[:EXCERPT]
                last = '%s answered HTTP %s%s' % (self.what, exc.code, ': ' + text if text else '')
                if exc.code == 429:
                    wait = retry_after_seconds(exc.headers.get('Retry-After') if exc.headers else None)
                    wait = 1.0 if wait is None else wait
                elif exc.code >= 500:
                    wait = backoff(attempt)
                else:
                    raise ChannelFailed(last, status=exc.code) from None
            except (URLError, OSError) as exc:
                reason = getattr(exc, 'reason', exc)
                last = 'could not reach %s: %s' % (self.what, _reason_text(exc))
                if not (isinstance(reason, NEVER_SENT) or self.resend_if_lost):
                    raise ChannelFailed(last + ' (not sent again: it may have arrived)') from None
                wait = backoff(attempt)
            if attempt == self.attempts:
                break
            if self._clock() - started + wait > RETRY_BUDGET:
                last += ' (waiting %.0fs more would pass the %.0fs retry budget)' % (wait, RETRY_BUDGET)
                break
            self.waits.append(round(wait, 3))
            self._sleep(wait)
        raise ChannelFailed('%s, after %d attempt(s)' % (last, attempt), attempts=attempt)
