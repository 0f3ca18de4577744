"""cpu: pynomaly-api's pods use ~95 % of their CPU limit and every node is above 80 % (the seed's
threshold), as `kubectl top pods` / `kubectl top nodes` show.

The node pressure comes from a lab DaemonSet (kube-system/lab-pressure-cpu, labelled
lab.pynomaly.io/fault=cpu) sized from what the nodes have left; heal deletes it."""
from labkit.faults import cluster

NAME = "cpu"
DESCRIPTION = "pynomaly-api pods at ~95 % of their CPU limit, every node above 80 % CPU"
POD_FIELDS = {"cpu_millicores": 950.0}
THRESHOLD = 0.80


def inject(config):
    changed = cluster.inject_pressure(config, NAME, "cpu", POD_FIELDS, target=0.88, threshold=THRESHOLD,
                                      idle_fields={"memory_bytes": 20 * 1024 * 1024})
    return ("" if changed else "already injected: ") + status(config)[1]


def status(config):
    return cluster.pressure_status(config, NAME, "cpu", THRESHOLD)


def heal(config):
    return cluster.heal_pressure(config, NAME, "cpu")
