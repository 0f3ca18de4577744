# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What can go wrong talking to Statuspage, as exceptions a module's main() turns into one fail_json.

Messages say what failed and what to check; none ever contains the API key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class StatuspageError(Exception):
    """Base class. `details` is returned next to the message."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class HttpError(StatuspageError):
    """Statuspage answered with an error status. Raised by the client; the error handler words it."""

    def __init__(self, status, error, method, path, retry_after=None):
        super().__init__("%s %s answered %s: %s" % (method, path, status, error), status=status, error=error)
        self.status = status
        self.error = error
        self.method = method
        self.path = path
        self.retry_after = retry_after

    @property
    def rate_limited(self):
        # 420 is what Statuspage answered for the rate limit before it adopted 429.
        return self.status in (420, 429)


class ConnectionFailed(StatuspageError):
    """No answer at all: connection refused, DNS, TLS, timeout.

    `before_sending` is true when the request certainly never reached Statuspage (refused, DNS).
    """

    def __init__(self, message, before_sending=False, **details):
        super().__init__(message, **details)
        self.before_sending = before_sending


class AuthenticationFailed(StatuspageError):
    """401/403: the API key is wrong, revoked or not allowed on this page."""


class NotFound(StatuspageError):
    """404: the page, incident or component does not exist."""


class RequestRejected(StatuspageError):
    """A 4xx other than auth/not-found: Statuspage refused what we sent."""


class WriteOutcomeUnknown(StatuspageError):
    """A write got a 5xx or lost its connection: it may or may not have taken effect, so it is not
    repeated blindly; the caller reads the state again and plans the write anew."""


class GaveUp(StatuspageError):
    """Retries were exhausted (attempts or total time) on 429, 5xx or connection errors."""


class InvalidRequest(StatuspageError):
    """The task's options cannot be applied (unknown component, ambiguous incident name, ...)."""
