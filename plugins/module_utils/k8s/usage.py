# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource usage from metrics.k8s.io as a share of requests, limits and node allocatable (`kubectl top`)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_SUFFIXES = [('Ki', 1024), ('Mi', 1024 ** 2), ('Gi', 1024 ** 3), ('Ti', 1024 ** 4), ('Pi', 1024 ** 5),
             ('Ei', 1024 ** 6), ('n', 1e-9), ('u', 1e-6), ('m', 1e-3), ('k', 1e3), ('M', 1e6), ('G', 1e9),
             ('T', 1e12), ('P', 1e15), ('E', 1e18)]


def parse_quantity(value):
    """A Kubernetes quantity ('250m', '512Mi', '1.5', '123456n') in base units (cores, bytes)."""
    if value is None:
        return None
    text = str(value).strip()
    for suffix, factor in _SUFFIXES:
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * factor
    return float(text)


def _percent(used, of):
    return round(100.0 * used / of, 1) if of else None


def _pod_resources(pod):
    """Sum of the containers' requests and limits: {cpu: {requests, limits}, memory: {...}}."""
    totals = dict(cpu=dict(requests=0.0, limits=0.0), memory=dict(requests=0.0, limits=0.0))
    missing = dict(cpu=dict(requests=False, limits=False), memory=dict(requests=False, limits=False))
    for container in (pod.get('spec') or {}).get('containers') or []:
        resources = container.get('resources') or {}
        for kind in ('requests', 'limits'):
            for resource in ('cpu', 'memory'):
                quantity = (resources.get(kind) or {}).get(resource)
                if quantity is None:
                    missing[resource][kind] = True
                else:
                    totals[resource][kind] += parse_quantity(quantity)
    for resource in totals:
        for kind in totals[resource]:
            if missing[resource][kind]:
                totals[resource][kind] = None  # a container without it means the pod has no overall bound
    return totals


def pod_usage(pod, metrics):
    """One pod's usage: cpu (cores), memory (bytes) and the percentages of its requests and limits."""
    cpu = sum(parse_quantity(c['usage']['cpu']) for c in metrics.get('containers') or [])
    memory = sum(parse_quantity(c['usage']['memory']) for c in metrics.get('containers') or [])
    bounds = _pod_resources(pod)
    return dict(
        name=pod['metadata']['name'],
        cpu_cores=round(cpu, 4),
        memory_bytes=int(memory),
        cpu_percent_of_request=_percent(cpu, bounds['cpu']['requests']),
        cpu_percent_of_limit=_percent(cpu, bounds['cpu']['limits']),
        memory_percent_of_request=_percent(memory, bounds['memory']['requests']),
        memory_percent_of_limit=_percent(memory, bounds['memory']['limits']),
    )


def node_usage(node, metrics):
    allocatable = (node.get('status') or {}).get('allocatable') or {}
    cpu = parse_quantity(metrics['usage']['cpu'])
    memory = parse_quantity(metrics['usage']['memory'])
    return dict(
        cpu_cores=round(cpu, 4),
        memory_bytes=int(memory),
        cpu_percent=_percent(cpu, parse_quantity(allocatable.get('cpu'))),
        memory_percent=_percent(memory, parse_quantity(allocatable.get('memory'))),
    )
