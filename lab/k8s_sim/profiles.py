"""Traffic profiles: the load each workload's pods serve, which drives their logs, metrics and HPAs.

A profile belongs to a workload (Deployment, StatefulSet or DaemonSet) by namespace and name.
Every change is kept with its start time, so logs generated for the past show the traffic of the
past (a burst injected five minutes ago is five minutes old in `kubectl logs --since=1h`).
"""
import bisect

from k8s_sim.util import now

MI = 1024 * 1024
DEFAULT = {
    "rps": 2.0,  # requests per second served by each pod (access log lines)
    "error_rate": 0.002,  # fraction of requests answered 5xx
    "status_mix": None,  # optional {"503": 3, "500": 1}: which statuses the errors are (weights)
    "latency_ms": 40.0,  # median response time
    "auth_failure_rate": 0.0,  # fraction of requests that are failed logins (401/403)
    "cpu_millicores": 100.0,  # usage per pod
    "memory_bytes": 200 * MI,  # usage per pod
}
_RANGES = {"rps": (0, 10000), "error_rate": (0, 1), "latency_ms": (0, 600000), "auth_failure_rate": (0, 1),
           "cpu_millicores": (0, 1e6), "memory_bytes": (0, 1e13)}


class ProfileError(ValueError):
    pass


def validate(values):
    if not isinstance(values, dict):
        raise ProfileError("a profile is a JSON object")
    unknown = set(values) - set(DEFAULT)
    if unknown:
        raise ProfileError(f"unknown profile fields: {', '.join(sorted(unknown))}; known: {', '.join(DEFAULT)}")
    profile = dict(DEFAULT)
    for key, value in values.items():
        if key == "status_mix":
            if value is None:
                continue
            if not isinstance(value, dict) or not value:
                raise ProfileError("status_mix is an object of HTTP status → weight")
            mix = {}
            for status, weight in value.items():
                try:
                    code = int(status)
                    weight = float(weight)
                except (TypeError, ValueError):
                    raise ProfileError(f"status_mix entry {status!r}: {weight!r} is not status → number") from None
                if not 100 <= code <= 599 or weight < 0:
                    raise ProfileError(f"status_mix entry {status!r}: {weight!r} is out of range")
                mix[str(code)] = weight
            if sum(mix.values()) <= 0:
                raise ProfileError("status_mix weights must not all be 0")
            profile[key] = mix
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProfileError(f"{key} must be a number")
        lo, hi = _RANGES[key]
        if not lo <= value <= hi:
            raise ProfileError(f"{key} must be between {lo} and {hi:g}")
        profile[key] = float(value)
    return profile


class Profiles:
    def __init__(self):
        self._history = {}  # (namespace, workload) -> ([start times], [profiles or None])

    def set(self, namespace, workload, values, at=None):
        profile = validate(values)
        self._append(namespace, workload, profile, at)
        return profile

    def reset(self, namespace, workload, at=None):
        self._append(namespace, workload, None, at)

    def _append(self, namespace, workload, profile, at):
        times, items = self._history.setdefault((namespace, workload), ([], []))
        t = at if at is not None else now()
        if times and t < times[-1]:
            t = times[-1]
        times.append(t)
        items.append(profile)

    def custom(self, namespace, workload, at=None):
        """The profile set for the workload at time `at` (now by default), or None for the default."""
        entry = self._history.get((namespace, workload))
        if not entry:
            return None
        times, items = entry
        i = bisect.bisect_right(times, at if at is not None else now()) - 1
        return items[i] if i >= 0 else None

    def effective(self, namespace, workload, serves_http, at=None):
        profile = self.custom(namespace, workload, at)
        if profile is not None:
            return profile
        return DEFAULT if serves_http else dict(DEFAULT, rps=0.0, error_rate=0.0)

    def all_custom(self):
        return {key: items[-1] for key, (times, items) in self._history.items() if items[-1] is not None}
