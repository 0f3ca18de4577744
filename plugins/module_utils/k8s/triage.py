# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read everything an on-call engineer looks at first, with typed calls and bounded work.

`kubectl get pods`, `rollout status/history`, `get nodes`, `top pods/nodes`, warning events and
`logs --tail` of the workload's pods, as one facts dict. Read-only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import resource_path
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    ApiRequestFailed,
    ObjectNotFound,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.history import (
    CHANGE_CAUSE,
    POD_TEMPLATE_HASH,
    REVISION,
    current_revision,
    template_images,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.logstats import LogStats
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.rollout import (
    container_problems,
    rollout_status,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.usage import node_usage, pod_usage


def _parse_time(value):
    if not value:
        return None
    try:
        return float(calendar.timegm(time.strptime(value[:19], '%Y-%m-%dT%H:%M:%S')))
    except ValueError:
        return None


def _condition(obj, kind):
    for cond in (obj.get('status') or {}).get('conditions') or []:
        if cond.get('type') == kind:
            return cond
    return None


# A container that crashed this recently and is not ready again counts as crash-looping, even while
# it runs between two back-offs (kubectl shows Running, READY 0/1, RESTARTS n (10s ago)).
RECENT_CRASH_SECONDS = 600


def recent_crashes(statuses, now):
    reasons = []
    for cs in statuses:
        last = (cs.get('lastState') or {}).get('terminated') or {}
        if cs.get('restartCount') and last.get('exitCode') and not cs.get('ready'):
            finished = _parse_time(last.get('finishedAt'))
            if finished is None or now - finished < RECENT_CRASH_SECONDS:
                reasons.append(last.get('reason') or 'Error')
    return reasons


def pod_facts(pod, revision_by_hash, now):
    statuses = (pod.get('status') or {}).get('containerStatuses') or []
    problems = container_problems(pod)
    last = [((cs.get('lastState') or {}).get('terminated') or {}).get('reason') for cs in statuses]
    started = _parse_time(pod['metadata'].get('creationTimestamp'))
    labels = pod['metadata'].get('labels') or {}
    containers = (pod.get('spec') or {}).get('containers') or []
    return dict(
        name=pod['metadata']['name'],
        phase=(pod.get('status') or {}).get('phase'),
        ready='%d/%d' % (sum(1 for cs in statuses if cs.get('ready')), len(containers)),
        is_ready=bool(statuses) and all(cs.get('ready') for cs in statuses),
        restarts=sum(cs.get('restartCount', 0) for cs in statuses),
        reasons=[p['reason'] for p in problems] + recent_crashes(statuses, now),
        messages=[p['message'] for p in problems if p['message']],
        last_termination=next((r for r in last if r), None),
        node=(pod.get('spec') or {}).get('nodeName'),
        revision=revision_by_hash.get(labels.get(POD_TEMPLATE_HASH)),
        images=[c.get('image') for c in (pod.get('spec') or {}).get('containers') or []],
        age_seconds=int(now - started) if started else None,
    )


class Triage(object):
    def __init__(self, workloads, name, max_pods=50, log_pods=10, log_tail_lines=300, log_since_seconds=600,
                 events_since_seconds=3600, max_events=20, container=None, now=time.time):
        self.workloads = workloads
        self.client = workloads.client
        self.namespace = workloads.namespace
        self.name = name
        self.max_pods = max_pods
        self.log_pods = log_pods
        self.log_tail_lines = log_tail_lines
        self.log_since_seconds = log_since_seconds
        self.events_since_seconds = events_since_seconds
        self.max_events = max_events
        self.container = container
        self.now = now
        self.capped = []

    def collect(self):
        now = self.now()
        obj = self.workloads.get(self.name)
        history = self.workloads.history(obj)
        template = (obj.get('spec') or {}).get('template') or {}
        current = current_revision(history, template)
        revision_by_hash = dict((r.pod_template_hash, r.number) for r in history if r.pod_template_hash)
        pods = sorted(self.workloads.pods(obj), key=lambda p: p['metadata']['name'])
        total = len(pods)
        if total > self.max_pods:
            self.capped.append('%d of %d pods examined (max_pods)' % (self.max_pods, total))
            pods = pods[:self.max_pods]
        facts = dict(
            workload=self.workload_facts(obj, current),
            history=[r.summary() for r in history],
            pods=[pod_facts(p, revision_by_hash, now) for p in pods],
            pods_total=total,
            nodes=self.node_facts(),
            events=self.events(now),
        )
        facts['metrics'] = self.metrics(pods, facts['nodes'])
        facts['logs'] = self.logs(pods)
        facts['capped'] = self.capped
        return facts

    def workload_facts(self, obj, current):
        status = obj.get('status') or {}
        spec = obj.get('spec') or {}
        annotations = obj['metadata'].get('annotations') or {}
        kind = self.workloads.kind
        replicas = spec.get('replicas') if kind != 'DaemonSet' else status.get('desiredNumberScheduled')
        available = status.get('availableReplicas' if kind == 'Deployment' else (
            'readyReplicas' if kind == 'StatefulSet' else 'numberAvailable'), 0)
        return dict(
            kind=kind, name=self.name, namespace=self.namespace,
            replicas=replicas, available=available,
            ready=status.get('readyReplicas', status.get('numberReady', 0)),
            updated=status.get('updatedReplicas', status.get('updatedNumberScheduled', 0)),
            paused=bool(spec.get('paused')),
            revision=current.number if current else _int(annotations.get(REVISION)),
            images=template_images(spec.get('template')),
            change_cause=annotations.get(CHANGE_CAUSE),
            rollout_status=rollout_status(kind, obj).as_dict(),
            conditions=[dict(type=c.get('type'), status=c.get('status'), reason=c.get('reason'),
                             message=c.get('message')) for c in status.get('conditions') or []],
        )

    def node_facts(self):
        nodes = self.client.items(resource_path('v1', 'nodes'), what='list nodes')
        out = []
        for node in nodes:
            def flag(kind, node=node):
                cond = _condition(node, kind)
                return cond is not None and cond.get('status') == 'True'

            out.append(dict(name=node['metadata']['name'], ready=flag('Ready'),
                            memory_pressure=flag('MemoryPressure'), disk_pressure=flag('DiskPressure'),
                            pid_pressure=flag('PIDPressure'), _obj=node))
        return out

    def metrics(self, pods, nodes):
        """Usage from metrics.k8s.io when the cluster serves it."""
        try:
            pod_metrics = self.client.get(resource_path('metrics.k8s.io/v1beta1', 'pods', self.namespace),
                                          what='read pod metrics (metrics.k8s.io)')
            node_metrics = self.client.get(resource_path('metrics.k8s.io/v1beta1', 'nodes'),
                                           what='read node metrics (metrics.k8s.io)')
        except (ObjectNotFound, ApiRequestFailed) as exc:
            for node in nodes:
                node.pop('_obj', None)
            return dict(available=False, reason=exc.message, pods=[])
        by_pod = dict((m['metadata']['name'], m) for m in pod_metrics.get('items') or [])
        by_node = dict((m['metadata']['name'], m) for m in node_metrics.get('items') or [])
        usage = [pod_usage(p, by_pod[p['metadata']['name']]) for p in pods if p['metadata']['name'] in by_pod]
        for node in nodes:
            obj = node.pop('_obj')
            if node['name'] in by_node:
                node.update(node_usage(obj, by_node[node['name']]))
        return dict(available=True, pods=usage)

    def events(self, now):
        events = self.client.items(resource_path('v1', 'events', self.namespace),
                                   query={'fieldSelector': 'type=Warning'},
                                   what='list Warning events in %s' % self.namespace)
        recent = []
        for event in events:
            seen = _parse_time(event.get('lastTimestamp') or event.get('eventTime')
                               or (event.get('metadata') or {}).get('creationTimestamp'))
            if seen is not None and now - seen > self.events_since_seconds:
                continue
            obj = event.get('involvedObject') or {}
            recent.append(dict(reason=event.get('reason'), message=event.get('message'), count=event.get('count', 1),
                               object='%s/%s' % ((obj.get('kind') or '').lower(), obj.get('name')),
                               last_seen=event.get('lastTimestamp') or event.get('eventTime'), _t=seen or 0))
        recent.sort(key=lambda e: -e['_t'])
        if len(recent) > self.max_events:
            self.capped.append('%d of %d recent Warning events listed (max_events)' % (self.max_events, len(recent)))
            recent = recent[:self.max_events]
        for event in recent:
            event.pop('_t')
        return recent

    def logs(self, pods):
        """The tail of each pod's log (the previous instance's for a crashed container)."""
        stats = LogStats()
        chosen = pods[:self.log_pods]
        if len(pods) > self.log_pods:
            self.capped.append('logs of %d of %d pods read (log_pods)' % (self.log_pods, len(pods)))
        read, full = 0, 0
        for pod in chosen:
            containers = (pod.get('spec') or {}).get('containers') or []
            container = self.container or (containers[0]['name'] if containers else None)
            status = next((cs for cs in (pod.get('status') or {}).get('containerStatuses') or []
                           if cs.get('name') == container), {})
            running = 'running' in (status.get('state') or {})
            previous = not running and bool((status.get('lastState') or {}).get('terminated'))
            if not running and not previous and 'terminated' not in (status.get('state') or {}):
                continue  # never started: nothing to read
            try:
                text = self.client.text(resource_path('v1', 'pods', self.namespace, pod['metadata']['name'], 'log'),
                                        query=dict(container=container, tailLines=self.log_tail_lines,
                                                   sinceSeconds=self.log_since_seconds, previous=previous),
                                        what='read the log of pod %s' % pod['metadata']['name'])
            except ApiRequestFailed:
                continue  # a pod that went away or is between restarts: the others tell the story
            count = len(text.splitlines())
            full += count >= self.log_tail_lines
            read += 1
            stats.add(text)
        if full:
            self.capped.append('%d pod log(s) cut at log_tail_lines=%d' % (full, self.log_tail_lines))
        summary = stats.summary()
        summary.update(pods_read=read, tail_lines=self.log_tail_lines, since_seconds=self.log_since_seconds)
        return summary


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
