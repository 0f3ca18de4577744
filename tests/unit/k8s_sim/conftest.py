"""Unit tests of the simulator run in-process: no server, no kubectl."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lab"))


@pytest.fixture
def cluster():
    from k8s_sim import defaults
    from k8s_sim import resources as R
    from k8s_sim.cluster import Cluster, Knobs
    from k8s_sim.seed import _node

    c = Cluster(knobs=Knobs(pod_startup_seconds=0.0, pod_termination_seconds=0.0))
    for i in (1, 2, 3):
        node = _node(i)
        node.update(kind="Node", apiVersion="v1")
        c.store.create(R.NODES, node)
    ns = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "demo"}}
    c.store.create(R.NAMESPACES, defaults.apply_defaults(R.NAMESPACES, ns))
    return c
