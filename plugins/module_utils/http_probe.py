# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send N HTTP requests from one process (a few kept-alive connections) and summarise them.

The summary is what an on-call engineer reads from a run of `curl -w` in a loop: status
distribution, error rate, p50/p95/max latency, and pass/fail against thresholds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

try:
    from http.client import HTTPConnection, HTTPException, HTTPSConnection
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported
    raise


class ProbeError(Exception):
    """The probe cannot run at all (bad URL or options)."""


class Outcome(object):
    """One request: the status (None when no response) or why it failed, and how long it took."""

    def __init__(self, status, seconds, error=None):
        self.status = status
        self.seconds = seconds
        self.error = error


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(outcomes, expected_status, max_error_rate, max_p95_seconds):
    """The probe's result from its outcomes: distribution, error rate, latency, healthy, reasons."""
    statuses = {}
    errors = {}
    failed = 0
    for outcome in outcomes:
        if outcome.status is None:
            errors[outcome.error] = errors.get(outcome.error, 0) + 1
            failed += 1
        else:
            key = str(outcome.status)
            statuses[key] = statuses.get(key, 0) + 1
            if outcome.status not in expected_status:
                failed += 1
    latencies = sorted(o.seconds for o in outcomes)
    total = len(outcomes)
    error_rate = float(failed) / total if total else 1.0
    latency = dict(
        p50=round(percentile(latencies, 0.50), 4),
        p95=round(percentile(latencies, 0.95), 4),
        max=round(latencies[-1], 4) if latencies else 0.0,
        min=round(latencies[0], 4) if latencies else 0.0,
        mean=round(sum(latencies) / total, 4) if total else 0.0,
    )
    problems = []
    if error_rate > max_error_rate:
        problems.append('error rate %.1f%% is above %.1f%%' % (error_rate * 100, max_error_rate * 100))
    if latency['p95'] > max_p95_seconds:
        problems.append('p95 latency %.3fs is above %.3fs' % (latency['p95'], max_p95_seconds))
    return dict(requests=total, failed_requests=failed, status_codes=statuses, errors=errors,
                error_rate=round(error_rate, 4), latency=latency, healthy=not problems, problems=problems)


def _error_name(exc):
    if isinstance(exc, socket.timeout):
        return 'timeout'
    if isinstance(exc, ssl.SSLError):
        return 'TLS error: %s' % (getattr(exc, 'reason', None) or exc)
    if isinstance(exc, socket.gaierror):
        return 'name resolution failed: %s' % exc.strerror
    if isinstance(exc, ConnectionRefusedError):
        return 'connection refused'
    if isinstance(exc, ConnectionResetError) or isinstance(exc, BrokenPipeError):
        return 'connection reset'
    if isinstance(exc, HTTPException):
        return 'bad HTTP response: %s' % exc.__class__.__name__
    return '%s: %s' % (exc.__class__.__name__, exc)


class HttpProbe(object):
    """Probe one URL: `run()` returns the list of Outcome."""

    def __init__(self, url, method='GET', headers=None, timeout=5.0, validate_certs=True, ca_path=None):
        parts = urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ProbeError('url must be an http:// or https:// URL with a host, got %r' % url)
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.path = (parts.path or '/') + ('?' + parts.query if parts.query else '')
        self.method = method
        self.headers = dict(headers or {})
        self.headers.setdefault('User-Agent', 'pynomaly.incident_response.http_probe')
        self.timeout = timeout
        self.context = None
        if self.scheme == 'https':
            self.context = ssl.create_default_context(cafile=ca_path)
            if not validate_certs:
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE
        self._local = threading.local()
        self._opened = []

    def _connection(self):
        conn = getattr(self._local, 'conn', None)
        if conn is None:
            if self.scheme == 'https':
                conn = HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.context)
            else:
                conn = HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
            self._opened.append(conn)
        return conn

    def _drop_connection(self):
        conn = getattr(self._local, 'conn', None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def one(self, _index=None):
        start = time.monotonic()
        try:
            conn = self._connection()
            conn.request(self.method, self.path, headers=self.headers)
            response = conn.getresponse()
            response.read()
            if response.will_close:
                self._drop_connection()
            return Outcome(response.status, time.monotonic() - start)
        except (OSError, HTTPException) as exc:
            self._drop_connection()
            return Outcome(None, time.monotonic() - start, _error_name(exc))

    def run(self, count, concurrency):
        workers = max(1, min(concurrency, count))
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                return list(pool.map(self.one, range(count)))
        finally:
            for conn in self._opened:
                conn.close()
