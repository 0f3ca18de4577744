"""error_rate: a quarter of pynomaly-api's requests fail with 5xx (the seed's threshold is 5 %).

The pods' access logs, /metrics and every request to the API service (/health included) carry it."""
from labkit.faults.cluster import ProfileFault

SCENARIO = ProfileFault(
    "error_rate",
    "25 % of pynomaly-api requests answer 5xx (logs, /metrics, /health and /api/v1)",
    {"error_rate": 0.25},
)
