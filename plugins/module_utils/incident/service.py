# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incident module's states over a store: open (join or create), info, update, resolved.

Shared by the `incident` action plugin (on the controller, where it can also keep the Lease for the
run) and the module of the same name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.errors import RecordError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import (
    SCENARIO_PATTERN,
    check_incident_id,
    new_incident_id,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import Stored, open_or_join
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import k8s_auth_argument_spec

# Where the record is kept: every module that reads or writes an incident's record takes these.
RECORD_OPTIONS = dict(
    store=dict(type='str', default='cluster', choices=['cluster', 'local']),
    record_namespace=dict(type='str', default='incident-response'),
    local_dir=dict(type='path', default='~/.ansible/incident_records'),
)
SPOOL_OPTIONS = dict(spool_dir=dict(type='path', default='~/.ansible/incident_spool'))

ARGUMENT_SPEC = dict(
    k8s_auth_argument_spec(),
    **RECORD_OPTIONS,
    **SPOOL_OPTIONS,
    state=dict(type='str', default='open', choices=['open', 'update', 'resolved']),
    incident_id=dict(type='str'),
    service=dict(type='str'),
    scenario=dict(type='str'),
    open_new=dict(type='bool', default=True),
    reopen=dict(type='bool', default=False),
    severity=dict(type='str', choices=list(rec.SEVERITIES)),
    title=dict(type='str'),
    commander=dict(type='str'),
    component=dict(type='str', choices=['api', 'database', 'ml_models', 'file_storage']),
    event=dict(type='str'),
    event_kind=dict(type='str', default='note'),
    signals=dict(type='dict'),
    lease=dict(type='bool', default=True),
    lease_duration=dict(type='int', default=30),
    lease_wait_timeout=dict(type='int', default=120),
)
INFO_ARGUMENT_SPEC = dict(
    k8s_auth_argument_spec(),
    incident_id=dict(type='str'),
    service=dict(type='str'),
    scenario=dict(type='str'),
    status=dict(type='str', choices=['open', 'resolved']),
    **RECORD_OPTIONS,
)
BOUNDS = dict(lease_duration=(5, 3600), lease_wait_timeout=(0, 3600))


def check_params(params):
    """The rules argument_spec cannot say; raises RecordError with the reason, before anything is read."""
    for option, (low, high) in BOUNDS.items():
        value = params.get(option)
        if value is not None and not low <= value <= high:
            raise RecordError('%s must be between %d and %d, got %r' % (option, low, high, value))
    if params.get('incident_id'):
        reason = check_incident_id(params['incident_id'])
        if reason:
            raise RecordError('incident_id: %s' % reason)
    state = params['state']
    if state == 'open':
        if not params.get('incident_id') and not (params.get('service') and params.get('scenario')):
            raise RecordError('state=open needs incident_id, or service and scenario to find or open the incident')
        if params.get('scenario') and not SCENARIO_PATTERN.match(params['scenario']):
            raise RecordError('scenario must be lowercase letters, digits, \'_\' or \'-\' (at most 40), got %r'
                              % params['scenario'])
    elif not params.get('incident_id'):
        raise RecordError('state=%s needs incident_id' % state)
    if state == 'update' and not any(params.get(k) for k in ('severity', 'title', 'commander', 'component', 'event')):
        raise RecordError('state=update needs something to record: severity, title, commander, component or event')


def _fields(params):
    return dict((k, params.get(k)) for k in ('severity', 'title', 'commander', 'component'))


class IncidentService(object):
    """One call's work on the record. `check_mode`: read only, report what would be written."""

    def __init__(self, store, params, run_id, holder, playbook=None, check_mode=False, clock=time.time):
        self.store = store
        self.params = params
        self.run_id = run_id
        self.holder = holder
        self.playbook = playbook
        self.check_mode = check_mode
        self.clock = clock

    def _result(self, stored, changed, msg, **extra):
        record = stored.record if stored is not None else None
        out = dict(changed=changed, msg=msg, incident_id=record['id'] if record else None,
                   active=bool(record) and record.get('status') == 'open',
                   incident=rec.summary(record) if record else None,
                   store=self.store.kind, where=self.store.where(record['id']) if record else None)
        out.update(extra)
        return out

    def _write(self, incident_id, *ops):
        def mutate(record, timeline):
            for op in ops:
                record, timeline = rec.apply_op(record, timeline, op, by=self.holder)
            return record, timeline
        if self.check_mode:
            # Under --check a record this run would have opened earlier does not exist: start from that one.
            before = self.store.read(incident_id) or Stored(self._new_record(incident_id), {'runs': []}, None)
            after = mutate(before.record, before.timeline)
            return before, type(before)(after[0], after[1], before.version)
        return self.store.update(incident_id, mutate)

    def _new_record(self, incident_id=None, taken=0):
        params = self.params
        return rec.new_record(incident_id or new_incident_id(params['scenario'], self.clock(), taken),
                              params.get('service'), params.get('scenario'), opened_by=self.holder,
                              now=self.clock(), **_fields(params))

    def _join_op(self):
        return dict(op='open', run_id=self.run_id, holder=self.holder, playbook=self.playbook,
                    reopen=self.params['reopen'])

    def open(self):
        params = self.params
        if params.get('incident_id'):
            return self._open_given(params['incident_id'])
        service, scenario = params['service'], params['scenario']
        held, _version = self.store.slot(service, scenario)
        found = self.store.read(held) if held else None
        if found is not None and found.record.get('status') == 'open':
            return self._joined(found)
        if not params['open_new']:
            return self._result(None, False, 'No incident is open for %s/%s, and none was opened (open_new=false)'
                                % (service, scenario), created=False, joined=False)
        if self.check_mode:
            record = self._new_record()
            return self._result(_Fake(record), True, 'Would open incident %s for %s/%s'
                                % (record['id'], service, scenario), created=True, joined=False)
        stored, created = open_or_join(self.store, service, scenario, lambda taken: self._new_record(taken=taken))
        if not created:
            return self._joined(stored)
        _before, after = self._write(stored.record['id'], self._join_op())
        return self._result(after, True, 'Opened incident %s for %s/%s' % (after.record['id'], service, scenario),
                            created=True, joined=False)

    def _open_given(self, incident_id):
        found = self.store.read(incident_id)
        if found is None and not self.params['open_new']:
            return self._result(None, False, 'There is no incident record for %s (%s): was it declared, with the '
                                'same store and record_namespace? Nothing was opened (open_new=false)'
                                % (incident_id, self.store.where(incident_id)), created=False, joined=False,
                                exists=False)
        if found is None:
            record = self._new_record(incident_id)
            if self.check_mode:
                return self._result(_Fake(record), True, 'Would open incident %s' % incident_id,
                                    created=True, joined=False)
            created = self.store.create(record)
            if created is not None:
                if record.get('service') and record.get('scenario'):
                    self.store.claim_slot(record['service'], record['scenario'], incident_id)
                _before, after = self._write(incident_id, self._join_op())
                return self._result(after, True, 'Opened incident %s' % incident_id, created=True, joined=False)
            found = self.store.read(incident_id)
        if found.record.get('status') == 'merged':
            raise RecordError('Incident %s was merged into %s; use that id'
                              % (incident_id, found.record.get('merged_into')))
        if found.record.get('status') == 'resolved' and not self.params['reopen']:
            return self._result(found, False, 'Incident %s was resolved at %s; it is not reopened (reopen=true '
                                'reopens it; without incident_id a new incident is opened)'
                                % (incident_id, found.record.get('resolved_at')), created=False, joined=False,
                                resolved=True)
        return self._joined(found)

    def _joined(self, found):
        incident_id = found.record['id']
        was_resolved = found.record.get('status') == 'resolved'
        fields = dict((k, v) for k, v in _fields(self.params).items() if v)
        ops = [self._join_op()] + ([dict(op='merge', fields=fields)] if fields else [])
        before, after = self._write(incident_id, *ops)
        if was_resolved and not self.check_mode and after.record.get('service') and after.record.get('scenario'):
            self.store.claim_slot(after.record['service'], after.record['scenario'], incident_id)
        raised = before.record.get('severity') != after.record.get('severity')
        verb = 'Reopened' if was_resolved else 'Joined'
        if self.check_mode:
            verb = 'Would reopen' if was_resolved else 'Joined'
        msg = '%s incident %s' % (verb, incident_id)
        if raised:
            msg += '; severity %s %s to %s' % (before.record.get('severity') or 'unset',
                                               'would be raised' if self.check_mode else 'raised',
                                               after.record.get('severity'))
        return self._result(after, was_resolved or raised, msg, created=False, joined=True,
                            diff=dict(before=rec.summary(before.record), after=rec.summary(after.record)))

    def update(self):
        ops = []
        fields = dict((k, v) for k, v in _fields(self.params).items() if v)
        if fields:
            ops.append(dict(op='fields', fields=fields))
        if self.params.get('event'):
            ops.append(dict(op='event', kind=self.params['event_kind'], text=self.params['event']))
        before, after = self._write(self.params['incident_id'], *ops)
        changed = before.record != after.record
        return self._result(after, changed, '%s incident %s' % (('Would update' if self.check_mode else 'Updated')
                                                                if changed else 'Nothing to change in',
                                                                self.params['incident_id']),
                            diff=dict(before=rec.summary(before.record), after=rec.summary(after.record)))

    def resolved(self):
        incident_id = self.params['incident_id']
        before, after = self._write(incident_id, dict(op='resolve'))
        changed = before.record.get('status') != after.record.get('status')
        record = after.record
        if changed and not self.check_mode and record.get('service') and record.get('scenario'):
            self.store.release_slot(record['service'], record['scenario'], incident_id)
        return self._result(after, changed, '%s incident %s' % (('Would resolve' if self.check_mode else 'Resolved')
                                                                if changed else 'Already resolved:', incident_id))

    def run(self):
        return getattr(self, self.params['state'])()


def read_incidents(store, params):
    """incident_info: one incident by id (its record and timeline), or the incidents matching the filters."""
    if params.get('incident_id'):
        reason = check_incident_id(params['incident_id'])
        if reason:
            raise RecordError('incident_id: %s' % reason)
        found = store.read(params['incident_id'])
        if found is None:
            raise RecordError('There is no incident record for %s (%s): was it declared, and with the same store '
                              'and record_namespace?' % (params['incident_id'], store.where(params['incident_id'])))
        return dict(changed=False, incident_id=found.record['id'], incident=rec.summary(found.record),
                    active=found.record.get('status') == 'open', timeline=found.timeline.get('runs') or [],
                    events=found.record.get('events') or [], where=store.where(found.record['id']),
                    incidents=[rec.summary(found.record)])
    found = store.list(status=params.get('status'), service=params.get('service'), scenario=params.get('scenario'))
    found.sort(key=lambda r: r.get('opened_at') or '')
    return dict(changed=False, incidents=[rec.summary(r) for r in found])


class _Fake(object):
    """A record that would be created (check mode): looks like a Stored for _result."""

    def __init__(self, record):
        self.record = record
        self.timeline = {'runs': []}
        self.version = None


def unreachable_result(exc, params, spool, run_id, holder, playbook, check_mode, clock=time.time):
    """The cluster did not answer: keep the opening aside (paging goes on), say so."""
    incident_id = params.get('incident_id') or new_incident_id(params.get('scenario') or 'incident', clock())
    record = rec.new_record(incident_id, params.get('service'), params.get('scenario'), opened_by=holder,
                            now=clock(), **_fields(params))
    path = None
    if not check_mode and params['state'] in ('open', 'update', 'resolved'):
        ops = [dict(op='open', record=record, run_id=run_id, holder=holder, playbook=playbook)]
        if params['state'] == 'update':
            ops += [dict(op='fields', fields=dict((k, v) for k, v in _fields(params).items() if v))]
            if params.get('event'):
                ops.append(dict(op='event', kind=params['event_kind'], text=params['event'], now=clock()))
        if params['state'] == 'resolved':
            ops.append(dict(op='resolve'))
        path = spool.add(incident_id, *ops)
    return dict(changed=False, incident_id=incident_id, active=True, incident=rec.summary(record),
                store='deferred', deferred=path, where='kept aside in %s' % path if path else 'not written',
                created=params['state'] == 'open' and not params.get('incident_id'),
                joined=False, store_error=exc.message,
                msg='The incident record could not be reached (%s); %s. The record will be written by the next run '
                    'that reaches the cluster.' % (exc.message, 'kept aside in %s' % path if path else 'nothing kept'))
