"""error_rate: a quarter of pynomaly-api's requests fail with 5xx (the seed's threshold is 5 %).

The pods' access logs, /metrics and every request to the API service (/health included) carry it."""
from labkit.faults import cluster

NAME = "error_rate"
DESCRIPTION = "25 % of pynomaly-api requests answer 5xx (logs, /metrics, /health and /api/v1)"
FIELDS = {"error_rate": 0.25}


def inject(config):
    changed = cluster.inject_profile(config, NAME, FIELDS)
    return ("" if changed else "already injected: ") + status(config)[1]


def status(config):
    return cluster.profile_status(config, NAME, FIELDS)


def heal(config):
    return cluster.heal_profile(config, NAME)
