"""Lab incidents: `labctl inject <scenario>` creates a real incident, `labctl heal` removes them all.

A scenario is a module of this package that defines NAME, DESCRIPTION and three functions of the lab
config: inject(config) (idempotent), heal(config) (succeeds whatever a playbook already repaired) and
status(config) -> (active, one-line detail). Register it in SCENARIOS.
"""
from labkit.faults import api_down, cpu, db_connections, db_locks, error_rate, latency, memory, security

SCENARIOS = {module.NAME: module for module in (db_locks, db_connections, api_down, error_rate, latency, memory,
                                                cpu, security)}


def heal_all(config):
    """Heal every scenario; returns (name, detail) lines."""
    return [(name, scenario.heal(config)) for name, scenario in SCENARIOS.items()]
