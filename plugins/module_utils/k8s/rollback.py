# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roll one workload back the way `kubectl rollout undo` does, but converging.

plan() reads the workload and its history and decides (nothing is written); apply() sends one
JSON patch guarded by a resourceVersion test, and on a conflict re-reads, re-plans and retries once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    InvalidTarget,
    ResourceConflict,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.history import (
    REVISION,
    ROLLBACK_RECORD,
    current_revision,
    equal_ignore_hash,
    restore_patch,
    rollback_annotations,
    select_revision,
    template_images,
    template_without_hash,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.rollout import is_healthy


def read_record(obj):
    """This collection's rollback record on the workload, or {}."""
    raw = (obj.get('metadata', {}).get('annotations') or {}).get(ROLLBACK_RECORD)
    try:
        record = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


class RollbackTarget(object):
    """What to roll back to: a revision number, an image, or the previous revision."""

    def __init__(self, revision=None, image=None, incident_id=None, only_if_unhealthy=False):
        self.revision = revision
        self.image = image
        self.incident_id = incident_id
        self.only_if_unhealthy = only_if_unhealthy

    def describe(self):
        if self.revision is not None:
            return 'revision %d' % self.revision
        if self.image:
            return 'image %s' % self.image
        return 'the previous revision'


class Plan(object):
    def __init__(self, obj, history, current, target=None, skip=None, patch=None, annotations=None):
        self.obj = obj
        self.history = history
        self.current = current
        self.target = target
        self.skip = skip
        self.patch = patch
        self.annotations = annotations

    @property
    def changes(self):
        return self.skip is None


class WorkloadRollback(object):
    """Rollback of one named workload (Deployment, StatefulSet or DaemonSet)."""

    def __init__(self, workloads, name, target, now=time.time):
        self.workloads = workloads
        self.kind = workloads.kind
        self.name = name
        self.target = target
        self.now = now
        self.decision = None
        self.patched = None

    @property
    def label(self):
        return self.workloads.label(self.name)

    def plan(self, obj=None):
        obj = obj if obj is not None else self.workloads.get(self.name)
        if self.kind == 'Deployment' and (obj.get('spec') or {}).get('paused'):
            raise InvalidTarget('%s is paused; you cannot roll back a paused deployment. Resume it first '
                                '(kubectl rollout resume) and try again' % self.label, paused=True)
        history = self.workloads.history(obj)
        template = (obj.get('spec') or {}).get('template') or {}
        current = current_revision(history, template)
        plan = Plan(obj, history, current)
        if self.target.only_if_unhealthy:
            healthy, why = is_healthy(self.kind, obj, self.workloads.pods(obj))
            if healthy:
                plan.skip = 'rollout is healthy (%s); only_if_unhealthy leaves it alone' % why
                return plan
        record = read_record(obj)
        if (self.target.incident_id and record.get('incident') == self.target.incident_id
                and current is not None and current.name == record.get('target')):
            plan.skip = ('already rolled back for incident %s (to %s, revision %s)'
                         % (self.target.incident_id, record.get('target'), current.number))
            plan.target = current
            return plan
        target = self.select(history, record)
        plan.target = target
        if equal_ignore_hash(target.template, template):
            plan.skip = 'current template already matches revision %d' % target.number
            return plan
        annotations = None
        own = obj.get('metadata', {}).get('annotations') or {}
        if self.kind == 'Deployment':
            annotations = rollback_annotations(own, target.annotations)
        else:
            annotations = dict(own)
        if self.target.incident_id or self.kind != 'Deployment':
            # ControllerRevisions keep no revision-history: the record is how a rerun finds a renumbered one.
            annotations[ROLLBACK_RECORD] = json.dumps(dict(
                incident=self.target.incident_id, target=target.name, to_revision=target.number,
                from_revision=current.number if current else None, requested=self.target.describe(),
                at=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(self.now()))), sort_keys=True)
        plan.annotations = annotations
        plan.patch = restore_patch(obj, target.template, annotations)
        return plan

    def select(self, history, record):
        try:
            return select_revision(history, self.label, revision=self.target.revision, image=self.target.image)
        except InvalidTarget:
            # A revision we rolled back to before, renumbered since (StatefulSet/DaemonSet): found by name.
            if self.target.revision is not None and record.get('requested') == self.target.describe():
                for candidate in history:
                    if candidate.name == record.get('target'):
                        return candidate
            raise

    def prepare(self):
        self.decision = self.plan()
        return self.decision

    def apply(self):
        """Send the patch; on a resourceVersion conflict, re-read, re-plan and retry once."""
        plan = self.decision
        if not plan.changes:
            return False
        try:
            self.patched = self.workloads.patch(self.name, plan.patch)
        except ResourceConflict:
            plan = self.decision = self.plan()
            if not plan.changes:
                return False
            self.patched = self.workloads.patch(self.name, plan.patch)
        return True

    def result(self, diff=False, check_mode=False):
        plan = self.decision
        obj = plan.obj
        current = plan.current
        target = plan.target
        res = dict(
            kind=self.kind, name=self.name, namespace=self.workloads.namespace,
            changed=plan.changes,
            msg=plan.skip or '%s back to revision %d' % ('would roll' if check_mode else 'rolled', target.number),
            from_revision=current.number if current else _int((obj['metadata'].get('annotations') or {}).get(REVISION)),
            to_revision=target.number if target else None,
            from_images=template_images((obj.get('spec') or {}).get('template')),
            to_images=target.images if target else None,
            change_cause=target.change_cause if target else None,
            history=[r.summary() for r in plan.history],
        )
        if plan.changes:
            res['patch'] = plan.patch
        if diff and plan.changes:
            res['diff'] = self.diff()
        return res

    def diff(self):
        plan = self.decision
        before_ann = plan.obj.get('metadata', {}).get('annotations') or {}
        after_ann = plan.annotations if plan.annotations is not None else before_ann
        before = dict(metadata=dict(annotations=before_ann), spec=dict(template=plan.obj['spec']['template']))
        after = dict(metadata=dict(annotations=after_ann),
                     spec=dict(template=template_without_hash(plan.target.template)))
        return dict(before_header='%s (revision %s)' % (self.label, plan.current.number if plan.current else '?'),
                    after_header='%s (revision %d restored)' % (self.label, plan.target.number),
                    before=copy.deepcopy(before), after=after)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
