# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollout status with `kubectl rollout status` semantics, and how pods show a rollout is failing.

Pure functions over the API's JSON.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Waiting reasons that mean a pod will not become ready on its own.
FATAL_WAITING_REASONS = frozenset([
    'CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull',
    'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError',
])


class RolloutStatus(object):
    """done: `kubectl rollout status` would exit 0; failed: it would exit non-zero (deadline exceeded)."""

    def __init__(self, done, message, failed=False):
        self.done = done
        self.failed = failed
        self.message = message

    def as_dict(self):
        return dict(done=self.done, failed=self.failed, message=self.message)


def _condition(status, kind):
    for cond in status.get('conditions') or []:
        if cond.get('type') == kind:
            return cond
    return None


def deployment_status(deployment):
    meta, spec, status = deployment.get('metadata', {}), deployment.get('spec') or {}, deployment.get('status') or {}
    name = meta.get('name')
    if meta.get('generation', 0) > status.get('observedGeneration', 0):
        return RolloutStatus(False, 'Waiting for deployment spec update to be observed...')
    progressing = _condition(status, 'Progressing')
    if progressing and progressing.get('reason') == 'ProgressDeadlineExceeded':
        return RolloutStatus(False, 'deployment "%s" exceeded its progress deadline' % name, failed=True)
    replicas = spec.get('replicas', 1)
    updated = status.get('updatedReplicas', 0)
    if updated < replicas:
        return RolloutStatus(False, 'Waiting for deployment "%s" rollout to finish: %d out of %d new replicas have '
                             'been updated...' % (name, updated, replicas))
    if status.get('replicas', 0) > updated:
        return RolloutStatus(False, 'Waiting for deployment "%s" rollout to finish: %d old replicas are pending '
                             'termination...' % (name, status.get('replicas', 0) - updated))
    available = status.get('availableReplicas', 0)
    if available < updated:
        return RolloutStatus(False, 'Waiting for deployment "%s" rollout to finish: %d of %d updated replicas are '
                             'available...' % (name, available, updated))
    return RolloutStatus(True, 'deployment "%s" successfully rolled out' % name)


def statefulset_status(sts):
    meta, spec, status = sts.get('metadata', {}), sts.get('spec') or {}, sts.get('status') or {}
    strategy = spec.get('updateStrategy') or {}
    if strategy.get('type', 'RollingUpdate') != 'RollingUpdate':
        return RolloutStatus(True, 'rollout status is only available for RollingUpdate strategy type')
    if not status.get('observedGeneration') or meta.get('generation', 0) > status.get('observedGeneration', 0):
        return RolloutStatus(False, 'Waiting for statefulset spec update to be observed...')
    replicas = spec.get('replicas', 1)
    ready = status.get('readyReplicas', 0)
    if ready < replicas:
        return RolloutStatus(False, 'Waiting for %d pods to be ready...' % (replicas - ready))
    partition = (strategy.get('rollingUpdate') or {}).get('partition')
    if partition is not None:
        updated = status.get('updatedReplicas', 0)
        if updated < replicas - partition:
            return RolloutStatus(False, 'Waiting for partitioned roll out to finish: %d out of %d new pods have been '
                                 'updated...' % (updated, replicas - partition))
        return RolloutStatus(True, 'partitioned roll out complete: %d new pods have been updated...' % updated)
    if status.get('updateRevision') != status.get('currentRevision'):
        return RolloutStatus(False, 'waiting for statefulset rolling update to complete %d pods at revision %s...'
                             % (status.get('updatedReplicas', 0), status.get('updateRevision')))
    return RolloutStatus(True, 'statefulset rolling update complete %d pods at revision %s...'
                         % (status.get('currentReplicas', 0), status.get('currentRevision')))


def daemonset_status(ds):
    meta, spec, status = ds.get('metadata', {}), ds.get('spec') or {}, ds.get('status') or {}
    name = meta.get('name')
    if (spec.get('updateStrategy') or {}).get('type', 'RollingUpdate') != 'RollingUpdate':
        return RolloutStatus(True, 'rollout status is only available for RollingUpdate strategy type')
    if meta.get('generation', 0) > status.get('observedGeneration', 0):
        return RolloutStatus(False, 'Waiting for daemon set spec update to be observed...')
    desired = status.get('desiredNumberScheduled', 0)
    updated = status.get('updatedNumberScheduled', 0)
    if updated < desired:
        return RolloutStatus(False, 'Waiting for daemon set "%s" rollout to finish: %d out of %d new pods have been '
                             'updated...' % (name, updated, desired))
    available = status.get('numberAvailable', 0)
    if available < desired:
        return RolloutStatus(False, 'Waiting for daemon set "%s" rollout to finish: %d of %d updated pods are '
                             'available...' % (name, available, desired))
    return RolloutStatus(True, 'daemon set "%s" successfully rolled out' % name)


STATUS_BY_KIND = {
    'Deployment': deployment_status,
    'StatefulSet': statefulset_status,
    'DaemonSet': daemonset_status,
}


def rollout_status(kind, obj):
    return STATUS_BY_KIND[kind](obj)


def container_problems(pod):
    """Per container, why it is not running well: waiting reasons, OOMKilled/Error last terminations."""
    problems = []
    status = pod.get('status') or {}
    for cs in (status.get('initContainerStatuses') or []) + (status.get('containerStatuses') or []):
        state = cs.get('state') or {}
        last = (cs.get('lastState') or {}).get('terminated') or {}
        waiting = state.get('waiting') or {}
        terminated = state.get('terminated') or {}
        reason = waiting.get('reason') or (terminated.get('reason') if terminated.get('exitCode') else None)
        if reason:
            problems.append(dict(container=cs.get('name'), reason=reason,
                                 message=waiting.get('message') or terminated.get('message') or '',
                                 last_termination=last.get('reason'), exit_code=last.get('exitCode'),
                                 restarts=cs.get('restartCount', 0)))
    return problems


def fatal_pod_reasons(pods):
    """Sentences naming pods that will not get ready on their own (crash loop, image pull, config)."""
    reasons = []
    for pod in pods:
        for problem in container_problems(pod):
            if problem['reason'] in FATAL_WAITING_REASONS:
                text = '%s/%s: %s' % (pod['metadata']['name'], problem['container'], problem['reason'])
                if problem['last_termination']:
                    text += ' (last exit: %s, code %s, %d restarts)' % (
                        problem['last_termination'], problem['exit_code'], problem['restarts'])
                elif problem['message']:
                    text += ' (%s)' % problem['message']
                reasons.append(text)
    return reasons


def crashed_pod_reasons(pods):
    """fatal_pod_reasons, plus containers that already exited with an error or were restarted after one.

    For the pods a rollout just created: any such crash means the revision crash-loops.
    """
    reasons = fatal_pod_reasons(pods)
    named = set(r.split(':', 1)[0] for r in reasons)
    for pod in pods:
        status = pod.get('status') or {}
        for cs in status.get('containerStatuses') or []:
            key = '%s/%s' % (pod['metadata']['name'], cs.get('name'))
            if key in named:
                continue
            now = (cs.get('state') or {}).get('terminated') or {}
            last = (cs.get('lastState') or {}).get('terminated') or {}
            crash = None
            if now.get('exitCode'):
                crash = now
            elif cs.get('restartCount', 0) and last.get('exitCode'):
                crash = last
            if crash:
                reasons.append('%s: exited with %s (code %s, %d restarts)' % (
                    key, crash.get('reason') or 'Error', crash.get('exitCode'), cs.get('restartCount', 0)))
    return reasons


def is_healthy(kind, obj, pods=()):
    """The rollout is complete, every replica available, and no pod of it is failing."""
    status = rollout_status(kind, obj)
    if not status.done:
        return False, status.message
    if kind == 'Deployment':
        st = obj.get('status') or {}
        if st.get('availableReplicas', 0) < (obj.get('spec') or {}).get('replicas', 1):
            return False, 'only %d of %d replicas are available' % (
                st.get('availableReplicas', 0), (obj.get('spec') or {}).get('replicas', 1))
    failing = fatal_pod_reasons(pods)
    if failing:
        return False, 'pods are failing: ' + '; '.join(failing)
    return True, status.message
