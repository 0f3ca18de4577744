"""latency: pynomaly-api answers slowly — a 3 s median, far over the seed's 2 s threshold.

Requests to the API service take that long, the pods' access logs and the /metrics histogram show it."""
from labkit.faults.cluster import ProfileFault

SCENARIO = ProfileFault(
    "latency",
    "pynomaly-api responses take ~3 s (median; the seed's threshold is 2 s)",
    {"latency_ms": 3000.0},
)
