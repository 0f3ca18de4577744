"""memory: pynomaly-api's pods sit at ~98 % of their memory limit and every node above 90 % (the seed's
threshold), as `kubectl top pods` / `kubectl top nodes` show.

The node pressure comes from a lab DaemonSet (kube-system/lab-pressure-memory, labelled
lab.pynomaly.io/fault=memory) sized from what the nodes have left; heal deletes it."""
from labkit.faults import cluster

NAME = "memory"
DESCRIPTION = "pynomaly-api pods at ~98 % of their memory limit, every node above 90 % memory"
MI = 1024 * 1024
POD_FIELDS = {"memory_bytes": 505 * MI}  # the simulator caps usage at 98 % of the 512Mi limit
THRESHOLD = 0.90


def inject(config):
    changed = cluster.inject_pressure(config, NAME, "memory", POD_FIELDS, target=0.95, threshold=THRESHOLD,
                                      idle_fields={"cpu_millicores": 5.0})
    return ("" if changed else "already injected: ") + status(config)[1]


def status(config):
    return cluster.pressure_status(config, NAME, "memory", THRESHOLD)


def heal(config):
    return cluster.heal_pressure(config, NAME, "memory")
