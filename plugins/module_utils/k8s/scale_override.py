# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A temporary capacity change that remembers what it replaced.

The original replicas (and, when an HPA owns the target, the HPA's original minReplicas and
maxReplicas) are recorded in an annotation on the workload; `absent` restores exactly those and
removes the record. With an HPA, raising its minReplicas is the change: scaling the workload
directly would be undone at the HPA's next sync.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import InvalidTarget

SCALE_RECORD = 'incident-response.pynomaly.io/scale-override'


def read_record(obj):
    raw = (obj.get('metadata', {}).get('annotations') or {}).get(SCALE_RECORD)
    if not raw:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        raise InvalidTarget('The %s annotation on %s is not valid JSON; fix or remove it by hand: %r'
                            % (SCALE_RECORD, obj['metadata']['name'], raw)) from None
    return record if isinstance(record, dict) else None


def owning_hpa(hpas, kind, name):
    """The HPA whose scaleTargetRef is the workload (first by name if several, which Kubernetes rejects)."""
    matches = [h for h in hpas
               if ((h.get('spec') or {}).get('scaleTargetRef') or {}).get('kind') == kind
               and h['spec']['scaleTargetRef'].get('name') == name]
    return sorted(matches, key=lambda h: h['metadata']['name'])[0] if matches else None


class ScaleChange(object):
    """What to write: a patch for the workload and one for the HPA (either may be None)."""

    def __init__(self, workload_patch=None, hpa_patch=None, desired=None, record=None, msg=''):
        self.workload_patch = workload_patch
        self.hpa_patch = hpa_patch
        self.desired = desired
        self.record = record
        self.msg = msg

    @property
    def changed(self):
        return bool(self.workload_patch or self.hpa_patch)


def _rv_guard(obj):
    return {'resourceVersion': obj['metadata']['resourceVersion']}


def plan_present(obj, hpa, replicas=None, increase_by=None, max_replicas=None, incident_id=None, now=time.time):
    """The change that puts the override in place (nothing when it already is)."""
    name = obj['metadata']['name']
    record = read_record(obj)
    current = (obj.get('spec') or {}).get('replicas', 1)
    if record is None:
        record = dict(original_replicas=current)
        if hpa is not None:
            record['hpa'] = dict(name=hpa['metadata']['name'], original_min_replicas=hpa['spec'].get('minReplicas', 1),
                                 original_max_replicas=hpa['spec']['maxReplicas'])
    # increase_by counts from the replicas the first run found, so reruns converge.
    base = record.get('original_replicas', current)
    desired = replicas if replicas is not None else base + increase_by
    if desired < 1:
        raise InvalidTarget('%s would be scaled to %d replicas; an override needs at least 1' % (name, desired))
    if max_replicas is not None and desired > max_replicas:
        raise InvalidTarget('Refusing to scale %s to %d replicas: above max_replicas=%d'
                            % (name, desired, max_replicas), desired=desired, max_replicas=max_replicas)
    record = dict(record, replicas=desired, incident_id=incident_id)
    record.setdefault('at', time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now())))
    recorded = read_record(obj)
    same_record = recorded is not None and recorded.get('replicas') == desired and \
        recorded.get('incident_id') == incident_id
    if same_record:
        record = recorded
    change = ScaleChange(desired=desired, record=record)
    metadata = dict(_rv_guard(obj), annotations={SCALE_RECORD: json.dumps(record, sort_keys=True)})
    if hpa is not None:
        spec = hpa['spec']
        hpa_spec = {}
        if spec.get('minReplicas', 1) != desired:
            hpa_spec['minReplicas'] = desired
        if spec['maxReplicas'] < desired:
            hpa_spec['maxReplicas'] = desired
        if hpa_spec:
            change.hpa_patch = dict(metadata=_rv_guard(hpa), spec=hpa_spec)
        if not same_record:
            change.workload_patch = dict(metadata=metadata)
        change.msg = 'HPA %s minReplicas %s -> %d' % (hpa['metadata']['name'], spec.get('minReplicas', 1), desired)
    else:
        if current != desired or not same_record:
            change.workload_patch = dict(metadata=metadata, spec=dict(replicas=desired))
        change.msg = '%s replicas %d -> %d' % (name, current, desired)
    if not change.changed:
        change.msg = 'override already in place: %s' % change.msg.split(' -> ')[0] + ' = %d' % desired
    return change


def plan_absent(obj, hpa):
    """The change that restores the recorded originals and removes the record (nothing without one)."""
    name = obj['metadata']['name']
    record = read_record(obj)
    if record is None:
        return ScaleChange(msg='no scale override recorded on %s' % name)
    change = ScaleChange(record=record)
    change.workload_patch = dict(metadata=dict(_rv_guard(obj), annotations={SCALE_RECORD: None}))
    recorded_hpa = record.get('hpa')
    if recorded_hpa:
        if hpa is None or hpa['metadata']['name'] != recorded_hpa['name']:
            raise InvalidTarget('The override on %s raised HPA %s, which no longer targets it; restore its '
                                'minReplicas=%s by hand, then remove the %s annotation'
                                % (name, recorded_hpa['name'], recorded_hpa['original_min_replicas'], SCALE_RECORD))
        spec = {}
        if hpa['spec'].get('minReplicas', 1) != recorded_hpa['original_min_replicas']:
            spec['minReplicas'] = recorded_hpa['original_min_replicas']
        if hpa['spec']['maxReplicas'] != recorded_hpa['original_max_replicas']:
            spec['maxReplicas'] = recorded_hpa['original_max_replicas']
        if spec:
            change.hpa_patch = dict(metadata=_rv_guard(hpa), spec=spec)
        change.desired = recorded_hpa['original_min_replicas']
        change.msg = 'HPA %s minReplicas restored to %s' % (recorded_hpa['name'], recorded_hpa['original_min_replicas'])
    else:
        change.desired = record['original_replicas']
        change.workload_patch['spec'] = dict(replicas=record['original_replicas'])
        change.msg = '%s replicas restored to %d' % (name, record['original_replicas'])
    return change
