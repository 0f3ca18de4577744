# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A temporary capacity change whose originals live in the incident's record, not on the workload.

The record's fix (kind ``scale_override``, target {kind, namespace, name}) keeps the original replicas
and, when an HPA owns the workload, the HPA's original minReplicas and maxReplicas, plus what the
override applied. Nothing is written on the workload itself: the deployment controller copies a
Deployment's annotations onto its ReplicaSets, so an annotation came back with every rollback and a
later `absent` restored replicas that had been changed by hand since.

With an HPA, raising its minReplicas is the change: scaling the workload directly would be undone
at the HPA's next sync. plan_present/plan_absent decide from plain dicts; ScaleOverride reads the
record and the objects, writes the record first (present) or last (absent), and patches with
resourceVersion guards.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.errors import RecordError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import resource_path
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    InvalidTarget,
    ResourceConflict,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.workloads import Workloads

FIX_KIND = 'scale_override'
# Where versions before the incident record kept the originals; read once to migrate, then removed.
LEGACY_ANNOTATION = 'incident-response.pynomaly.io/scale-override'
# Tries of read-plan-write when an object or the record changes under us (each try re-reads all).
ATTEMPTS = 3


def fix_target(kind, namespace, name):
    return {'kind': kind, 'namespace': namespace, 'name': name}


def target_label(target):
    return '%s/%s/%s' % (target['kind'], target['namespace'], target['name'])


def owning_hpa(hpas, kind, name):
    """The HPA whose scaleTargetRef is the workload (first by name if several, which Kubernetes rejects)."""
    matches = [h for h in hpas
               if ((h.get('spec') or {}).get('scaleTargetRef') or {}).get('kind') == kind
               and h['spec']['scaleTargetRef'].get('name') == name]
    return sorted(matches, key=lambda h: h['metadata']['name'])[0] if matches else None


def _replicas(obj):
    return (obj.get('spec') or {}).get('replicas', 1)


def _hpa_bounds(hpa):
    return hpa['spec'].get('minReplicas', 1), hpa['spec']['maxReplicas']


def live_original(obj, hpa):
    """What the override would replace, read from the objects as they are now."""
    original = {'replicas': _replicas(obj)}
    if hpa is not None:
        low, high = _hpa_bounds(hpa)
        original['hpa'] = {'name': hpa['metadata']['name'], 'min_replicas': low, 'max_replicas': high}
    return original


def has_legacy_annotation(obj):
    return LEGACY_ANNOTATION in (obj.get('metadata', {}).get('annotations') or {})


def legacy_original(obj, hpa):
    """The originals an older version recorded in its annotation, when the override it describes is
    still in place (the live replicas, or the HPA's minReplicas, are what it applied); else None.

    A copy brought back by a rollback after that override was restored no longer matches the live
    state, so it is not taken for an original."""
    raw = (obj.get('metadata', {}).get('annotations') or {}).get(LEGACY_ANNOTATION)
    if not raw:
        return None
    try:
        old = json.loads(raw)
    except ValueError:
        raise InvalidTarget('The %s annotation on %s is not valid JSON; fix or remove it by hand: %r'
                            % (LEGACY_ANNOTATION, obj['metadata']['name'], raw)) from None
    if not isinstance(old, dict) or not isinstance(old.get('original_replicas'), int):
        return None
    original = {'replicas': old['original_replicas']}
    old_hpa = old.get('hpa')
    if old_hpa:
        if hpa is None or hpa['metadata']['name'] != old_hpa.get('name') or _hpa_bounds(hpa)[0] != old.get('replicas'):
            return None
        original['hpa'] = {'name': old_hpa['name'], 'min_replicas': old_hpa.get('original_min_replicas', 1),
                           'max_replicas': old_hpa.get('original_max_replicas')}
        return original
    if hpa is not None or _replicas(obj) != old.get('replicas'):
        return None
    return original


def held_elsewhere(records, incident_id, target):
    """(incident id, fix) of another open incident with an active scale override on `target`, or None."""
    for other in records:
        if other.get('id') == incident_id or other.get('status') != 'open':
            continue
        fix = rec.active_fix(other, FIX_KIND, target)
        if fix is not None:
            return other['id'], fix
    return None


class ScaleChange(object):
    """What to write: the record's fix (put or removed) and patches for the HPA and the workload."""

    def __init__(self, msg, desired=None, original=None, applied=None, record_op=None, via_hpa=None,
                 workload_patch=None, hpa_patch=None):
        self.msg = msg
        self.desired = desired
        self.original = original
        self.applied = applied
        self.record_op = record_op  # 'fix', 'fix_removed' or None: rec.apply_op's names
        self.via_hpa = via_hpa
        self.workload_patch = workload_patch
        self.hpa_patch = hpa_patch

    @property
    def patches(self):
        return bool(self.workload_patch or self.hpa_patch)

    @property
    def changed(self):
        return self.patches or self.record_op is not None


def _rv_guard(obj):
    return {'resourceVersion': obj['metadata']['resourceVersion']}


def _workload_patch(obj, replicas=None):
    """A patch setting replicas (when given) and dropping the legacy annotation (when there); or None."""
    patch = {}
    if replicas is not None:
        patch['spec'] = {'replicas': replicas}
    if has_legacy_annotation(obj):
        patch['metadata'] = {'annotations': {LEGACY_ANNOTATION: None}}
    if not patch:
        return None
    patch.setdefault('metadata', {}).update(_rv_guard(obj))
    return patch


def _hpa_patch(hpa, min_replicas, max_replicas):
    low, high = _hpa_bounds(hpa)
    spec = {}
    if low != min_replicas:
        spec['minReplicas'] = min_replicas
    if high != max_replicas:
        spec['maxReplicas'] = max_replicas
    return dict(metadata=_rv_guard(hpa), spec=spec) if spec else None


def _hpa_gone(original_hpa, hpa):
    return hpa is None or hpa['metadata']['name'] != original_hpa['name']


def plan_present(target, obj, hpa, fix=None, replicas=None, increase_by=None, max_replicas=None):
    """The change that puts the override in place; `fix` is the record's active fix for `target`, if any.

    The original is the fix's (a rerun and increase_by count from it), else the legacy annotation's
    (migration), else the live objects'."""
    label = target_label(target)
    migrated = False
    if fix is not None:
        original = fix['original']
    else:
        original = legacy_original(obj, hpa)
        migrated = original is not None
        if original is None:
            original = live_original(obj, hpa)
    if original.get('hpa') and _hpa_gone(original['hpa'], hpa):
        raise InvalidTarget('The scale override on %s raised HPA %s, which no longer targets it; restore it with '
                            'state=absent (force=true to put back only the replicas) before a new override'
                            % (label, original['hpa']['name']), original=original)
    if hpa is not None and not original.get('hpa'):
        raise InvalidTarget('HPA %s now targets %s, but the scale override recorded for it scaled the workload '
                            'directly; restore it with state=absent, then put the override in place again'
                            % (hpa['metadata']['name'], label), original=original)
    desired = replicas if replicas is not None else original['replicas'] + increase_by
    if desired < 1:
        raise InvalidTarget('%s would be scaled to %d replicas; an override needs at least 1' % (label, desired))
    if max_replicas is not None and desired > max_replicas:
        raise InvalidTarget('Refusing to scale %s to %d replicas: above max_replicas=%d'
                            % (target['name'], desired, max_replicas), desired=desired, max_replicas=max_replicas)
    applied = {'replicas': desired}
    change = ScaleChange('', desired=desired, original=original, applied=applied)
    if hpa is not None:
        high = max(original['hpa']['max_replicas'], desired)
        applied['hpa'] = {'name': hpa['metadata']['name'], 'min_replicas': desired, 'max_replicas': high}
        change.via_hpa = hpa['metadata']['name']
        change.hpa_patch = _hpa_patch(hpa, desired, high)
        change.workload_patch = _workload_patch(obj)
        low, was_high = _hpa_bounds(hpa)
        change.msg = 'HPA %s minReplicas %d -> %d' % (change.via_hpa, low, desired)
        if was_high != high:
            change.msg += ', maxReplicas %d -> %d' % (was_high, high)
        now = 'HPA %s minReplicas = %d' % (change.via_hpa, desired)
    else:
        current = _replicas(obj)
        change.workload_patch = _workload_patch(obj, desired if current != desired else None)
        change.msg = '%s replicas %d -> %d' % (label, current, desired)
        now = '%s replicas = %d' % (label, desired)
    if fix is None or fix.get('applied') != applied:
        change.record_op = 'fix'
    if not change.changed:
        change.msg = 'override already in place: %s' % now
    change.msg += _legacy_note(obj, migrated)
    return change


def _legacy_note(obj, migrated=False):
    if not has_legacy_annotation(obj):
        return ''
    if migrated:
        return '; the originals were taken from the legacy %s annotation, which is removed' % LEGACY_ANNOTATION
    return '; the legacy %s annotation (not in effect, not used) is removed' % LEGACY_ANNOTATION


def _changed_by_hand(label, what, live, applied, incident_id, original):
    return InvalidTarget('%s: %s is %s, but the scale override of %s set %s; it was changed by hand since. '
                         'Nothing was changed. Restore it by hand, or rerun with force=true to put back %s'
                         % (label, what, live, incident_id, applied, original),
                         live=live, applied=applied, original=original)


def plan_absent(target, obj, hpa, fix, incident_id=None, force=False):
    """The change that restores the fix's originals and closes the fix (nothing without a fix).

    What the objects show must still be what the fix applied (or already the original): anything
    else was changed by hand, and is only overwritten with `force`."""
    label = target_label(target)
    if fix is None:
        msg = 'no scale override recorded for %s in %s' % (label, incident_id)
        if has_legacy_annotation(obj):
            msg += ('; the workload still carries the legacy %s annotation of an older version, which is not used '
                    '(state=present takes its originals into the record if its override is still in effect)'
                    % LEGACY_ANNOTATION)
        return ScaleChange(msg)
    original, applied = fix['original'], fix['applied']
    change = ScaleChange('', original=original, applied=applied, record_op='fix_removed')
    original_hpa = original.get('hpa')
    if original_hpa and _hpa_gone(original_hpa, hpa) and not force:
        raise InvalidTarget('The scale override on %s raised HPA %s, which no longer targets it. Nothing was '
                            'changed. Restore its minReplicas=%s maxReplicas=%s by hand, or rerun with force=true '
                            'to put back only the replicas (%d) and close the fix'
                            % (label, original_hpa['name'], original_hpa['min_replicas'],
                               original_hpa['max_replicas'], original['replicas']), original=original)
    if original_hpa and not _hpa_gone(original_hpa, hpa):
        live = 'minReplicas=%d maxReplicas=%d' % _hpa_bounds(hpa)
        did = 'minReplicas=%d maxReplicas=%d' % (applied['hpa']['min_replicas'], applied['hpa']['max_replicas'])
        was = 'minReplicas=%d maxReplicas=%d' % (original_hpa['min_replicas'], original_hpa['max_replicas'])
        if live not in (did, was) and not force:
            raise _changed_by_hand(label, 'HPA %s' % hpa['metadata']['name'], live, did, incident_id, was)
        change.via_hpa = original_hpa['name']
        change.desired = original_hpa['min_replicas']
        change.hpa_patch = _hpa_patch(hpa, original_hpa['min_replicas'], original_hpa['max_replicas'])
        change.workload_patch = _workload_patch(obj)
        change.msg = 'HPA %s restored to %s' % (original_hpa['name'], was) + _legacy_note(obj)
        return change
    live, did, was = _replicas(obj), applied['replicas'], original['replicas']
    if live not in (did, was) and not force:
        raise _changed_by_hand(label, 'replicas', live, did, incident_id, was)
    change.desired = was
    change.workload_patch = _workload_patch(obj, was if live != was else None)
    change.msg = '%s replicas %d -> %d (restored)' % (label, live, was) + _legacy_note(obj)
    return change


def view(obj, hpa, fix):
    """What --diff shows: replicas, the HPA's bounds, the record's active fix (and a legacy annotation)."""
    out = {'replicas': _replicas(obj), 'fix': fix}
    if hpa is not None:
        low, high = _hpa_bounds(hpa)
        out['hpa'] = {'name': hpa['metadata']['name'], 'minReplicas': low, 'maxReplicas': high}
    if has_legacy_annotation(obj):
        out['legacy_annotation'] = obj['metadata']['annotations'][LEGACY_ANNOTATION]
    return out


class ScaleOverride(object):
    """The override of one workload within one incident: read the record and the objects, plan, write."""

    def __init__(self, client, store, params, by=None):
        self.client = client
        self.store = store
        self.params = params
        self.by = by
        self.incident_id = params['incident_id']
        self.workloads = Workloads(client, params['kind'], params['namespace'])
        self.target = fix_target(params['kind'], params['namespace'], params['name'])
        self.obj = self.hpa = self.fix = self.change = self.written = None
        self.wrote = False  # anything written yet (the record or an object), for a truthful `changed` on failure

    def _hpa_path(self, name=None):
        return resource_path('autoscaling/v2', 'horizontalpodautoscalers', self.params['namespace'], name)

    def _record(self, check_mode=False):
        stored = self.store.read(self.incident_id)
        where = self.store.where(self.incident_id)
        if stored is None and check_mode and self.params['state'] == 'present':
            # A dry run of a whole incident: its declaration earlier in the run wrote no record either.
            return {'id': self.incident_id, 'status': 'open', 'fixes': []}
        if stored is None:
            raise RecordError('There is no %sincident record for %s (%s): declare/open it first'
                              % ('open ' if self.params['state'] == 'present' else '', self.incident_id, where))
        status = stored.record.get('status')
        # Restoring stays possible once the incident is resolved: its fixes still have to be undone.
        if self.params['state'] == 'present' and status != 'open':
            raise RecordError('There is no open incident record for %s (%s is %s): declare/open it first'
                              % (self.incident_id, where, status))
        return stored.record

    def prepare(self, check_mode=False):
        """Read everything and decide; raises (nothing written) when the override cannot be done."""
        record = self._record(check_mode)
        self.fix = rec.active_fix(record, FIX_KIND, self.target)
        self.obj = self.workloads.get(self.params['name'])
        hpas = self.client.items(self._hpa_path(), what='list the HorizontalPodAutoscalers in %s'
                                 % self.params['namespace'])
        self.hpa = owning_hpa(hpas, self.params['kind'], self.params['name'])
        if self.params['state'] == 'absent':
            self.change = plan_absent(self.target, self.obj, self.hpa, self.fix, self.incident_id,
                                      force=self.params['force'])
            return self.change
        if self.fix is None:
            other = held_elsewhere(self.store.list(status='open'), self.incident_id, self.target)
            if other is not None:
                raise RecordError('Incident %s already holds a scale override on %s (original %s); one target, '
                                  'one override: restore it there (state=absent, incident_id=%s) first. Nothing '
                                  'was changed' % (other[0], target_label(self.target),
                                                   json.dumps(other[1]['original'], sort_keys=True), other[0]),
                                  holder=other[0])
        self.change = plan_present(self.target, self.obj, self.hpa, self.fix, replicas=self.params['replicas'],
                                   increase_by=self.params['increase_by'],
                                   max_replicas=self.params['max_replicas'])
        return self.change

    def _op(self):
        change = self.change
        op = dict(op=change.record_op, kind=FIX_KIND, target=self.target)
        if change.record_op == 'fix':
            op.update(original=change.original, applied=change.applied)
        return op

    def _write_record(self):
        expected = self.change.original

        def mutate(record, timeline):
            current = rec.active_fix(record, FIX_KIND, self.target)
            if self.change.record_op == 'fix' and (
                    record.get('status') != 'open' or (current is not None and current['original'] != expected)):
                raise ResourceConflict('The record of %s changed while the override was planned' % self.incident_id)
            return rec.apply_op(record, timeline, self._op(), by=self.by)
        self.written = self.store.update(self.incident_id, mutate)[1].record
        self.wrote = True

    def _patch(self):
        change = self.change
        if change.hpa_patch:
            name = self.hpa['metadata']['name']
            self.client.patch(self._hpa_path(name), change.hpa_patch, what='patch HorizontalPodAutoscaler %s' % name)
            self.wrote = True
        if change.workload_patch:
            self.workloads.patch(self.params['name'], change.workload_patch)
            self.wrote = True

    def apply(self):
        """Present: the record first (it then always knows what to restore), then the objects.
        Absent: the objects first, then the fix is closed. A conflict re-reads, re-plans and retries."""
        for attempt in range(ATTEMPTS):
            try:
                if not self.change.changed:
                    return
                if self.change.record_op == 'fix':
                    self._write_record()
                self._patch()
                if self.change.record_op == 'fix_removed':
                    self._write_record()
                return
            except ResourceConflict:
                if attempt == ATTEMPTS - 1:
                    raise
                self.prepare()

    def fix_after(self):
        """The record's fix once the change is written (as it would be, in check mode)."""
        if self.change.record_op is None:
            return self.fix
        record = self.written
        if record is None:
            record = rec.apply_op({'fixes': [self.fix] if self.fix else []}, None, self._op(), by=self.by)[0]
        key = rec.fix_key(FIX_KIND, self.target)
        return [fix for fix in record['fixes'] if fix.get('key') == key][-1]

    def result(self, check_mode=False, diff=False):
        change = self.change
        fix = self.fix_after()
        res = dict(changed=change.changed, incident_id=self.incident_id, via_hpa=change.via_hpa,
                   msg=('Would: ' if check_mode and change.changed else '') + change.msg)
        if fix is not None:
            res['fix'] = fix
        if change.desired is not None:
            res['replicas'] = change.desired
        if change.workload_patch:
            res['workload_patch'] = change.workload_patch
        if change.hpa_patch:
            res['hpa_patch'] = change.hpa_patch
        if diff and change.changed:
            res['diff'] = self.diff(fix)
        return res

    def diff(self, fix):
        obj, hpa = copy.deepcopy(self.obj), copy.deepcopy(self.hpa)
        before = view(obj, hpa, self.fix)
        if self.change.workload_patch:
            obj.setdefault('spec', {}).update(self.change.workload_patch.get('spec') or {})
            (obj['metadata'].get('annotations') or {}).pop(LEGACY_ANNOTATION, None)
        if self.change.hpa_patch:
            hpa['spec'].update(self.change.hpa_patch['spec'])
        after = view(obj, hpa, fix if fix is not None and fix.get('state') == 'active' else None)
        label = self.workloads.label(self.params['name'])
        return dict(before=json.dumps(before, indent=2, sort_keys=True) + '\n',
                    after=json.dumps(after, indent=2, sort_keys=True) + '\n',
                    before_header='%s, incident %s' % (label, self.incident_id),
                    after_header='%s, incident %s' % (label, self.incident_id))
