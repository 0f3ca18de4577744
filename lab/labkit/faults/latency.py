"""latency: pynomaly-api answers slowly — a 3 s median, far over the seed's 2 s threshold.

Requests to the API service take that long, the pods' access logs and the /metrics histogram show it."""
from labkit.faults import cluster

NAME = "latency"
DESCRIPTION = "pynomaly-api responses take ~3 s (median; the seed's threshold is 2 s)"
FIELDS = {"latency_ms": 3000.0}


def inject(config):
    changed = cluster.inject_profile(config, NAME, FIELDS)
    return ("" if changed else "already injected: ") + status(config)[1]


def status(config):
    return cluster.profile_status(config, NAME, FIELDS)


def heal(config):
    return cluster.heal_profile(config, NAME)
