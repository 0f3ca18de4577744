# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollout history and revision selection, as `kubectl rollout history` / `rollout undo` see them.

Pure functions over the API's JSON (dicts): no I/O, so every rule here is unit-tested.

- Deployment history: the ReplicaSets whose controller ownerReference is the Deployment (by uid)
  and whose labels match its whole selector; each carries `deployment.kubernetes.io/revision`
  and, once renumbered by a rollback, `deployment.kubernetes.io/revision-history`.
- StatefulSet/DaemonSet history: their ControllerRevisions, selected the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import InvalidTarget
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.selectors import (
    controlled_by,
    selector_matches,
)

REVISION = 'deployment.kubernetes.io/revision'
REVISION_HISTORY = 'deployment.kubernetes.io/revision-history'
CHANGE_CAUSE = 'kubernetes.io/change-cause'
POD_TEMPLATE_HASH = 'pod-template-hash'
CONTROLLER_REVISION_HASH = 'controller-revision-hash'
# Where this collection records a rollback on the workload (JSON: incident, revisions, time).
ROLLBACK_RECORD = 'incident-response.pynomaly.io/rollback'

# Annotations `kubectl rollout undo` keeps from the Deployment instead of taking the ReplicaSet's.
DEPLOYMENT_OWN_ANNOTATIONS = frozenset([
    'kubectl.kubernetes.io/last-applied-configuration',
    REVISION,
    REVISION_HISTORY,
    'deployment.kubernetes.io/desired-replicas',
    'deployment.kubernetes.io/max-replicas',
    'deprecated.deployment.rollback.to',
    ROLLBACK_RECORD,
])


class Revision(object):
    """One entry of a workload's rollout history."""

    def __init__(self, number, source, template, aliases=(), annotations=None):
        self.number = number
        self.source = source  # the ReplicaSet or ControllerRevision it comes from
        self.name = source.get('metadata', {}).get('name')
        self.template = template
        self.aliases = tuple(aliases)  # earlier numbers of the same revision (revision-history)
        self.annotations = annotations if annotations is not None else (
            source.get('metadata', {}).get('annotations') or {})

    @property
    def images(self):
        return template_images(self.template)

    @property
    def change_cause(self):
        return self.annotations.get(CHANGE_CAUSE)

    @property
    def pod_template_hash(self):
        return (self.source.get('metadata', {}).get('labels') or {}).get(POD_TEMPLATE_HASH)

    @property
    def pod_labels(self):
        """Label values that mark this revision's pods (pod-template-hash or controller-revision-hash)."""
        labels = self.source.get('metadata', {}).get('labels') or {}
        values = set([self.name])
        for key in (POD_TEMPLATE_HASH, CONTROLLER_REVISION_HASH):
            if labels.get(key):
                values.add(labels[key])
        return values

    def owns_pod(self, pod):
        labels = pod.get('metadata', {}).get('labels') or {}
        key = POD_TEMPLATE_HASH if POD_TEMPLATE_HASH in labels else CONTROLLER_REVISION_HASH
        return labels.get(key) in self.pod_labels

    def known_as(self, number):
        return number == self.number or number in self.aliases

    def summary(self):
        return dict(revision=self.number, revision_history=list(self.aliases), name=self.name,
                    images=self.images, change_cause=self.change_cause)


def template_images(template):
    spec = (template or {}).get('spec') or {}
    return [c.get('image') for c in spec.get('containers') or []]


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _prune(value):
    """Drop None, empty maps and empty lists: JSON from the API omits them (omitempty) inconsistently."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = _prune(item)
            if item is None or item == {} or item == []:
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


def template_without_hash(template):
    """A copy of a pod template without the pod-template-hash label the controller adds."""
    template = copy.deepcopy(template or {})
    labels = (template.get('metadata') or {}).get('labels')
    if labels is not None:
        labels.pop(POD_TEMPLATE_HASH, None)
    return template


def equal_ignore_hash(template_a, template_b):
    """Semantic equality of two pod templates ignoring pod-template-hash (deploymentutil.EqualIgnoreHash)."""
    return _prune(template_without_hash(template_a)) == _prune(template_without_hash(template_b))


def owned(workload, candidates):
    """The candidates the workload controls and its whole selector matches (kubectl's history filter)."""
    selector = (workload.get('spec') or {}).get('selector')
    return [c for c in candidates
            if controlled_by(c, workload) and selector_matches(selector, c.get('metadata', {}).get('labels'))]


def deployment_history(deployment, replicasets):
    """The Deployment's revisions, oldest first; ReplicaSets without a valid revision are skipped."""
    revisions = []
    for rs in owned(deployment, replicasets):
        annotations = rs.get('metadata', {}).get('annotations') or {}
        number = _int_or_none(annotations.get(REVISION))
        if number is None:
            continue
        aliases = [n for n in (_int_or_none(v) for v in (annotations.get(REVISION_HISTORY) or '').split(','))
                   if n is not None]
        revisions.append(Revision(number, rs, (rs.get('spec') or {}).get('template') or {}, aliases))
    return sorted(revisions, key=lambda r: r.number)


def controller_revision_history(workload, controller_revisions):
    """A StatefulSet's or DaemonSet's revisions (ControllerRevisions), oldest first."""
    revisions = []
    for cr in owned(workload, controller_revisions):
        number = _int_or_none(cr.get('revision'))
        if number is None:
            continue
        template = dict(((cr.get('data') or {}).get('spec') or {}).get('template') or {})
        template.pop('$patch', None)
        revisions.append(Revision(number, cr, template))
    return sorted(revisions, key=lambda r: r.number)


def current_revision(history, template):
    """The revision whose template equals the workload's (the newest such, as the controller reuses it)."""
    matches = [r for r in history if equal_ignore_hash(r.template, template)]
    return matches[-1] if matches else None


def _describe(history):
    return ', '.join(
        '%d%s' % (r.number, ' (was %s)' % ', '.join(str(a) for a in r.aliases) if r.aliases else '')
        for r in history)


def select_revision(history, name, revision=None, image=None):
    """The revision to roll back to.

    revision: the one numbered so, or whose revision-history lists it (so a rerun after the
    controller renumbered it still finds it). image: the newest revision running that image in
    any container. Neither: the previous revision (second newest), as `kubectl rollout undo`.
    Raises InvalidTarget naming the revisions that exist.
    """
    if not history:
        raise InvalidTarget('%s has no rollout history (no revisions found)' % name, revisions=[])
    known = [r.number for r in history]
    if revision is not None:
        for candidate in reversed(history):
            if candidate.number == revision:
                return candidate
        for candidate in reversed(history):
            if candidate.known_as(revision):
                return candidate
        raise InvalidTarget('%s has no revision %d; existing revisions: %s' % (name, revision, _describe(history)),
                            revisions=known)
    if image is not None:
        for candidate in reversed(history):
            if any(image_matches(image, used) for used in candidate.images):
                return candidate
        raise InvalidTarget('No revision of %s runs image %s; revisions: %s' % (
            name, image, '; '.join('%d: %s' % (r.number, ', '.join(r.images)) for r in history)), revisions=known)
    if len(history) < 2:
        raise InvalidTarget('%s has no previous revision to roll back to (only revision %d)'
                            % (name, history[0].number), revisions=known)
    return history[-2]


def image_matches(wanted, used):
    """An image reference matches when equal, or equal once the registry host is dropped from `used`."""
    if wanted == used:
        return True
    host, _sep, rest = used.partition('/')
    return bool(rest) and ('.' in host or ':' in host or host == 'localhost') and rest == wanted


def rollback_annotations(workload_annotations, revision_annotations):
    """The Deployment's annotations after rolling back to a ReplicaSet.

    As `kubectl rollout undo`: bookkeeping annotations (revision, revision-history, replicas,
    last-applied, our rollback record) stay the Deployment's; the ReplicaSet's others are taken,
    including its change-cause (dropped when the ReplicaSet has none). Unlike kubectl, the
    Deployment's other annotations that the ReplicaSet does not carry are kept, not lost.
    """
    result = dict((k, v) for k, v in (workload_annotations or {}).items() if k != CHANGE_CAUSE)
    for key, value in (revision_annotations or {}).items():
        if key not in DEPLOYMENT_OWN_ANNOTATIONS:
            result[key] = value
    return result


def restore_patch(workload, template, annotations=None):
    """A JSON patch restoring `template` (and annotations), guarded by a resourceVersion test."""
    meta = workload.get('metadata', {})
    ops = [
        dict(op='test', path='/metadata/resourceVersion', value=meta.get('resourceVersion')),
        dict(op='replace', path='/spec/template', value=template_without_hash(template)),
    ]
    if annotations is not None:
        ops.append(dict(op='replace' if 'annotations' in meta else 'add', path='/metadata/annotations',
                        value=annotations))
    return ops
