"""security: a credential-stuffing burst — 30 % of pynomaly-api's requests are failed logins.

The pods' logs carry `WARNING auth: failed login for user=... from <ip>` lines and 401/403 access lines
(what the seed greps for); the API service answers /api/v1 requests 401/403 at the same rate."""
from labkit.faults.cluster import ProfileFault

SCENARIO = ProfileFault(
    "security",
    "bursts of failed logins: 30 % of pynomaly-api requests are 401/403 with auth warnings in the logs",
    {"auth_failure_rate": 0.3, "rps": 4.0},
)
