# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the incident playbook's grep/awk pipelines read from pod logs, computed in one pass:

    grep -E "(ERROR|CRITICAL|FATAL)"                    -> error_lines, top_errors
    grep -E "HTTP/[0-9.]+ [45][0-9][0-9]" | awk ...      -> status_codes, error_rate (5xx share)
    grep -E "failed.*login|unauthorized|403|401"         -> auth_failures
plus the request latency access lines carry (`... HTTP/1.1 200 0.043s ...`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

ACCESS = re.compile(r'HTTP/[0-9.]+"?\s+([1-5][0-9][0-9])\b(?:\s+([0-9]+(?:\.[0-9]+)?)s\b)?')
LEVEL = re.compile(r'\b(ERROR|CRITICAL|FATAL)\b')
FAILED_LOGIN = re.compile(r'failed.*login|unauthorized', re.IGNORECASE)
# Leading timestamps (RFC 3339 / ISO) are dropped so identical messages group together.
TIMESTAMP = re.compile(r'^\S*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?Z?\s+')
VARIABLE = re.compile(r'\b(?:0x[0-9a-f]+|\d+(?:\.\d+)?)\b')


def _percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    return sorted_values[max(1, math.ceil(fraction * len(sorted_values))) - 1]


class LogStats(object):
    """Accumulates lines from several pods; summary() gives the figures."""

    def __init__(self, top=5):
        self.top = top
        self.lines = 0
        self.error_lines = 0
        self.status_codes = {}
        self.latencies = []
        self.failed_logins = 0
        self.messages = {}

    def add(self, text):
        for line in text.splitlines():
            if not line.strip():
                continue
            self.lines += 1
            access = ACCESS.search(line)
            if access:
                code = access.group(1)
                self.status_codes[code] = self.status_codes.get(code, 0) + 1
                if access.group(2):
                    self.latencies.append(float(access.group(2)))
            elif FAILED_LOGIN.search(line):
                self.failed_logins += 1
            if LEVEL.search(line):
                self.error_lines += 1
                message = VARIABLE.sub('N', TIMESTAMP.sub('', line.strip()))[:200]
                self.messages[message] = self.messages.get(message, 0) + 1

    def summary(self):
        requests = sum(self.status_codes.values())
        server_errors = sum(n for code, n in self.status_codes.items() if code.startswith('5'))
        auth = sum(self.status_codes.get(code, 0) for code in ('401', '403'))
        latencies = sorted(self.latencies)
        top = sorted(self.messages.items(), key=lambda item: (-item[1], item[0]))[:self.top]
        return dict(
            lines=self.lines,
            error_lines=self.error_lines,
            http_requests=requests,
            status_codes=dict(sorted(self.status_codes.items())),
            server_errors=server_errors,
            error_rate=round(float(server_errors) / requests, 4) if requests else None,
            auth_failures=auth,
            auth_failure_rate=round(float(auth) / requests, 4) if requests else None,
            failed_login_lines=self.failed_logins,
            latency=dict(p50=_percentile(latencies, 0.5), p95=_percentile(latencies, 0.95),
                         max=latencies[-1] if latencies else None),
            top_errors=[dict(count=count, message=message) for message, count in top],
        )
