# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait for rollouts to finish: done the moment `kubectl rollout status` would say so, failing fast
when it provably cannot (ProgressDeadlineExceeded, or the target's pods crash-loop / cannot pull)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import RolloutFailed, WaitTimeout
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.rollout import (
    crashed_pod_reasons,
    fatal_pod_reasons,
    rollout_status,
)

# First poll interval and the ceiling it grows to; a poll is two small GETs on the API server.
POLL_START = 0.1
POLL_MAX = 0.5


class RolloutWaiter(object):
    """Wait for several rollouts at once; each entry: (Workloads, name, target Revision)."""

    def __init__(self, entries, timeout, clock=time.monotonic, sleep=time.sleep):
        self.entries = list(entries)
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep

    def wait(self):
        """Return {(namespace, name): RolloutStatus} once all are done; raise RolloutFailed / WaitTimeout."""
        deadline = self.clock() + self.timeout
        pending = dict(((w.namespace, name), (w, name, target)) for w, name, target in self.entries)
        done = {}
        interval = POLL_START
        while True:
            for key, (workloads, name, target) in list(pending.items()):
                obj = workloads.get(name)
                status = rollout_status(workloads.kind, obj)
                pods = [p for p in workloads.pods(obj) if target is None or target.owns_pod(p)]
                failing = crashed_pod_reasons(pods)
                if status.failed or failing:
                    why = status.message if status.failed else 'the target revision does not start'
                    raise RolloutFailed('%s: %s%s' % (workloads.label(name), why,
                                                      ('; failing pods: ' + '; '.join(failing)) if failing else ''),
                                        status=status.as_dict(), failing_pods=failing)
                if status.done:
                    done[key] = status
                    del pending[key]
                    continue
                if self.clock() >= deadline:
                    raise WaitTimeout('%s: rollout not finished after %ss: %s'
                                      % (workloads.label(name), self.timeout, status.message),
                                      status=status.as_dict())
            if not pending:
                return done
            self.sleep(min(interval, max(0.0, deadline - self.clock())))
            interval = min(POLL_MAX, interval * 1.5)


def available_replicas(kind, obj):
    status = obj.get('status') or {}
    return status.get('availableReplicas' if kind == 'Deployment' else 'readyReplicas', 0)


class CapacityWaiter(object):
    """Wait until a workload wants at least `replicas` and that many are available."""

    def __init__(self, workloads, name, replicas, timeout, clock=time.monotonic, sleep=time.sleep):
        self.workloads = workloads
        self.name = name
        self.replicas = replicas
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep

    def wait(self):
        deadline = self.clock() + self.timeout
        interval = POLL_START
        while True:
            obj = self.workloads.get(self.name)
            wanted = (obj.get('spec') or {}).get('replicas', 1)
            available = available_replicas(self.workloads.kind, obj)
            if wanted >= self.replicas and available >= self.replicas:
                return dict(replicas=wanted, available=available)
            if self.clock() >= deadline:
                failing = fatal_pod_reasons(self.workloads.pods(obj))
                raise WaitTimeout('%s: %d of %d replicas available after %ss (spec.replicas=%d)%s'
                                  % (self.workloads.label(self.name), available, self.replicas, self.timeout,
                                     wanted, ('; failing pods: ' + '; '.join(failing)) if failing else ''),
                                  available=available, failing_pods=failing)
            self.sleep(min(interval, max(0.0, deadline - self.clock())))
            interval = min(POLL_MAX, interval * 1.5)
