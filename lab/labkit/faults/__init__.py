"""Lab incidents: `labctl inject <scenario>` creates a real incident, `labctl heal` removes them all.

A scenario is a module of this package that defines NAME, DESCRIPTION and three functions of the lab
config: inject(config) (idempotent), heal(config) (succeeds whatever a playbook already repaired) and
status(config) -> (active, one-line detail); or a module whose SCENARIO object has them (a ProfileFault,
for the scenarios that only change pynomaly-api's traffic profile). Register it in SCENARIOS.
"""
from labkit.faults import api_down, cpu, db_connections, db_locks, error_rate, latency, memory, security

SCENARIOS = {scenario.NAME: scenario for scenario in (
    getattr(module, "SCENARIO", module)
    for module in (db_locks, db_connections, api_down, error_rate, latency, memory, cpu, security))}


def heal_all(config):
    """Heal every scenario; returns (name, detail) lines. One failing heal never stops the others (or `down`)."""
    lines = []
    for name, scenario in SCENARIOS.items():
        try:
            lines.append((name, scenario.heal(config)))
        except Exception as exc:  # noqa: BLE001 - `labctl down` must go on and stop the services anyway
            lines.append((name, f"heal failed: {exc}"))
    return lines
