"""What the pynomaly-api pods serve under a traffic profile: status shares, latencies, Prometheus series.

The Kubernetes API simulator owns the traffic profile of each Deployment (rps per pod, error_rate,
status_mix, latency_ms, auth_failure_rate) and renders the pods' access logs from it. This module
derives, from the same profile and with the same distributions as those logs, the expected request
counts and latency histogram that a Prometheus scrape of the service would show, and picks the
status and latency of each real request so that any window of N requests carries the profile's
error rate to within one request.
"""
import math
from dataclasses import dataclass, field
from statistics import NormalDist

# The simulator's defaults and distributions (lab/k8s_sim/profiles.py and logs.py): keep them in step.
DEFAULT_PROFILE = {
    "rps": 2.0,
    "error_rate": 0.002,
    "status_mix": None,
    "latency_ms": 40.0,
    "auth_failure_rate": 0.0,
    "cpu_millicores": 100.0,
    "memory_bytes": 200 * 1024 * 1024,
}
DEFAULT_ERROR_MIX = {"500": 5, "502": 2, "503": 2, "504": 1}
LATENCY_SIGMA = 0.35  # latency = latency_ms * exp(N(0, sigma)): latency_ms is the median
ERROR_LATENCY_FACTOR = 1.5  # failed requests take longer
POST_SHARE = 0.20  # share of POST requests among the access-log paths
POST_CREATED_SHARE = 0.30  # share of successful POSTs answered 201
AUTH_FORBIDDEN_SHARE = 0.20  # failed logins answered 403 (the rest 401)
# Prometheus client's default histogram buckets, plus 2 s (the incident playbook's latency threshold).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 2.5, 5.0, 7.5, 10.0)


def effective_profile(custom):
    """The profile in force: the simulator's defaults overlaid with the fields it returned."""
    profile = dict(DEFAULT_PROFILE)
    for key, value in (custom or {}).items():
        if key in profile and value is not None:
            profile[key] = value
    return profile


def error_mix(profile):
    """{status: share} among failed requests, shares summing to 1."""
    mix = profile.get("status_mix") or DEFAULT_ERROR_MIX
    total = float(sum(mix.values()))
    return {int(status): weight / total for status, weight in mix.items() if weight > 0}


def status_shares(profile, with_auth=True):
    """{status: share of all requests}, summing to 1, as the simulator's access logs distribute them.

    Without `with_auth` (health checks): no failed logins and no 201s, only 200 and the errors.
    """
    auth = float(profile["auth_failure_rate"]) if with_auth else 0.0
    served = 1.0 - auth
    errors = served * float(profile["error_rate"])
    ok = served - errors
    shares = {}

    def add(status, share):
        if share > 0:
            shares[status] = shares.get(status, 0.0) + share

    created = POST_SHARE * POST_CREATED_SHARE if with_auth else 0.0
    add(200, ok * (1 - created))
    add(201, ok * created)
    for status, share in error_mix(profile).items():
        add(status, errors * share)
    add(401, auth * (1 - AUTH_FORBIDDEN_SHARE))
    add(403, auth * AUTH_FORBIDDEN_SHARE)
    return shares


def is_error(status):
    return status >= 500


def lognormal_cdf(x, median, sigma=LATENCY_SIGMA):
    if x <= 0:
        return 0.0
    if median <= 0:
        return 1.0
    return NormalDist(0.0, sigma).cdf(math.log(x / median))


def lognormal_quantile(q, median, sigma=LATENCY_SIGMA):
    q = min(max(q, 1e-9), 1 - 1e-9)
    return median * math.exp(NormalDist(0.0, sigma).inv_cdf(q))


def request_latency_median(profile, status):
    median = float(profile["latency_ms"]) / 1000.0
    return median * ERROR_LATENCY_FACTOR if is_error(status) else median


@dataclass
class TrafficMeter:
    """Prometheus counters of the requests the Deployment's ready pods served, accumulated over time.

    `advance` adds the expected requests of `seconds` at a profile (rps per ready pod), split by
    status and latency bucket exactly as the profile's distributions say; `observe` adds one real
    request answered by this process. Values are expectations, so two scrapes a minute apart
    differ by the profile's rate, not by noise.
    """

    requests: dict = field(default_factory=dict)  # status -> count
    buckets: list = field(default_factory=lambda: [0.0] * len(BUCKETS))
    duration_sum: float = 0.0
    duration_count: float = 0.0

    def advance(self, seconds, ready_pods, profile):
        if seconds <= 0 or ready_pods <= 0:
            return
        total = float(profile["rps"]) * ready_pods * seconds
        if total <= 0:
            return
        for status, share in status_shares(profile).items():
            n = total * share
            self.requests[status] = self.requests.get(status, 0.0) + n
            median = request_latency_median(profile, status)
            for i, le in enumerate(BUCKETS):
                self.buckets[i] += n * lognormal_cdf(le, median)
            self.duration_sum += n * median * math.exp(LATENCY_SIGMA**2 / 2)
            self.duration_count += n

    def observe(self, status, seconds):
        self.requests[status] = self.requests.get(status, 0.0) + 1
        for i, le in enumerate(BUCKETS):
            if seconds <= le:
                self.buckets[i] += 1
        self.duration_sum += seconds
        self.duration_count += 1

    def render(self):
        lines = [
            "# HELP http_requests_total Requests served by the pynomaly-api pods, by HTTP status.",
            "# TYPE http_requests_total counter",
        ]
        for status in sorted(self.requests):
            lines.append(f'http_requests_total{{status="{status}"}} {math.floor(self.requests[status])}')
        lines += [
            "# HELP http_request_duration_seconds Time to answer a request, from the first byte in to the last out.",
            "# TYPE http_request_duration_seconds histogram",
        ]
        count = math.floor(self.duration_count)
        for le, value in zip(BUCKETS, self.buckets, strict=False):
            lines.append(f'http_request_duration_seconds_bucket{{le="{float(le)}"}} {min(math.floor(value), count)}')
        lines.append(f'http_request_duration_seconds_bucket{{le="+Inf"}} {count}')
        lines.append(f"http_request_duration_seconds_sum {self.duration_sum:.6f}")
        lines.append(f"http_request_duration_seconds_count {count}")
        return "\n".join(lines) + "\n"


class StatusPicker:
    """Deals statuses to successive real requests in the profile's proportions (smooth weighted round robin).

    Over any N consecutive requests each status's count is within one of N times its share, so a
    probe of 20 requests sees the injected error rate, not a random draw of it.
    """

    def __init__(self):
        self._credit = {}
        self._shares = None

    def next(self, shares):
        if shares != self._shares:
            self._shares = dict(shares)
            self._credit = {status: 0.0 for status in shares}
        for status, share in shares.items():
            self._credit[status] += share
        chosen = max(self._credit, key=lambda s: (self._credit[s], -s))
        self._credit[chosen] -= sum(shares.values())
        return chosen


class LatencyPicker:
    """Latency of successive real requests: quantiles of the profile's distribution in van der Corput order,
    so a handful of requests already spans it evenly (their median is the profile's median)."""

    def __init__(self):
        self._n = 0

    @staticmethod
    def van_der_corput(n):
        q, denom = 0.0, 1.0
        while n:
            denom *= 2
            n, bit = divmod(n, 2)
            q += bit / denom
        return q

    def next(self, median):
        self._n += 1
        return lognormal_quantile(self.van_der_corput(self._n), median)
