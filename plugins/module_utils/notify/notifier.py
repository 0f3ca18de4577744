# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One incident update to every channel, exactly once, against the incident record.

For each channel in turn (PagerDuty, Slack, Statuspage) and each update it owes (what is pending, then
this call's): claim it in the record with a guarded write, send it, record the outcome with another.
A claim another call holds means that call is sending it. With the cluster unreachable the updates are
still sent and the channels' outcomes are kept aside in the spool; in check mode nothing is sent or
written and the result says what would be.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import time
import uuid

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.errors import (
    RecordError,
    StoreUnreachable,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.spool import Spool
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import build_store
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.deliveries import (
    claim,
    delivered,
    due,
    failed,
    for_spool,
    new_item,
    owed,
    plan,
    settle,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.errors import ChannelFailed
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.options import (
    CHANNEL_TITLES,
    CHANNELS,
    check_params,
    enabled_channels,
    update_key,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.pagerduty import PagerDutyChannel
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.slack import SlackChannel
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.statuspage import StatuspageChannel


class StoreAccess(object):
    """The record in its store: every change is one resourceVersion-guarded read-modify-write."""

    def __init__(self, store, incident_id):
        self.store = store
        self.incident_id = incident_id
        self.kind = store.kind
        self.record = None

    def load(self, missing_ok=False):
        found = self.store.read(self.incident_id)
        if found is None and missing_ok:  # check mode: the incident this run would have opened
            self.record = {'id': self.incident_id, 'channels': {}}
            return self.record
        if found is None:
            raise RecordError('There is no incident record for %s (%s): open the incident with '
                              'pynomaly.incident_response.incident first, with the same store and record_namespace. '
                              'Nothing was sent.' % (self.incident_id, self.store.where(self.incident_id)))
        self.record = found.record
        return self.record

    def change(self, mutate):
        _before, after = self.store.update(self.incident_id, lambda record, timeline: (mutate(record), timeline))
        self.record = after.record
        return self.record

    def finish(self):
        return None


class MemoryAccess(object):
    """A copy of the record changed in memory only. Check mode writes nothing; with the cluster unreachable
    (`spool` given) the channels whose state changed are kept aside for the next run that reaches it."""

    def __init__(self, record, kind, spool=None, incident_id=None):
        self.record = record
        self.kind = kind
        self.spool = spool
        self.incident_id = incident_id
        self._start = copy.deepcopy(record.get('channels') or {})

    def change(self, mutate):
        self.record = mutate(self.record)
        return self.record

    def finish(self):
        if self.spool is None:
            return None
        ops = [dict(op='channel', name=name, state=for_spool(state))
               for name, state in sorted((self.record.get('channels') or {}).items())
               if state != self._start.get(name)]
        return self.spool.add(self.incident_id, *ops) if ops else None


def spooled_record(spool, incident_id):
    """The record as this machine kept it aside while the cluster was unreachable (channels included), so
    two calls that cannot reach it still do not send one update twice."""
    record, timeline = None, {'runs': []}
    for op in spool.pending().get(incident_id) or []:
        if record is None and op.get('op') != 'open':
            record = {'id': incident_id, 'channels': {}}
        record, timeline = rec.apply_op(record, timeline, op)
    return record or {'id': incident_id, 'channels': {}}


class Notifier(object):
    """One call's deliveries. `channels` are the enabled channel adapters in sending order; `decide` is the
    incident policy's pagerduty_action."""

    def __init__(self, params, channels, access, spool, decide, run_id, holder=None, check_mode=False,
                 clock=time.time, call_id=None):
        self.params = params
        self.channels = channels
        self.access = access
        self.spool = spool
        self.decide = decide
        self.run_id = run_id
        self.holder = holder
        self.check_mode = check_mode
        self.clock = clock
        self.call_id = call_id or uuid.uuid4().hex
        self.incident_id = params['incident_id']
        self.item = None
        self.sent, self.would_send, self.skipped, self.failed, self.said = {}, {}, {}, {}, {}
        self.pagerduty = None
        self.store_error = None
        self.notes = []

    # --- the record -------------------------------------------------------------------------------
    def _load(self):
        """The record as it is now (in check mode, a copy that is changed in memory only)."""
        try:
            if not self.check_mode and self.access.kind == 'cluster':
                self._flush_spool()
            record = self.access.load(missing_ok=self.check_mode)
        except StoreUnreachable as exc:
            self._defer(exc, spooled_record(self.spool, self.incident_id))
            return self.access.record
        if self.check_mode:
            self.access = MemoryAccess(record, self.access.kind)
        return record

    def _flush_spool(self):
        """Write what earlier calls kept aside first, so this call knows what they sent."""
        try:
            flushed = self.spool.flush(self.access.store, by=self.holder)
        except StoreUnreachable:
            raise
        except (RecordError, ValueError) as exc:  # a spool that cannot be written must not hold up the page
            self.notes.append('what was kept aside in %s could not be written (%s)'
                              % (self.spool.folder, getattr(exc, 'message', exc)))
            return
        if flushed:
            self.notes.append('wrote what earlier runs kept aside while the cluster was unreachable (%s)'
                              % ', '.join(flushed))

    def _defer(self, exc, record):
        self.store_error = exc.message
        self.access = MemoryAccess(record, 'deferred', spool=None if self.check_mode else self.spool,
                                   incident_id=self.incident_id)

    def _change(self, mutate):
        try:
            return self.access.change(mutate)
        except StoreUnreachable as exc:
            self._defer(exc, self.access.record)
            return self.access.change(mutate)

    def _channel_states(self):
        return dict((c.name, rec.channel(self.access.record, c.name)) for c in self.channels)

    # --- one channel --------------------------------------------------------------------------------
    def _claim(self, name, item):
        """The plan for `item` as the record says now, with this call's claim written when it is to be sent."""
        seen = {}

        def mutate(record):
            state = rec.channel(record, name)
            decision = plan(name, state, item, self.decide)
            if decision['send']:
                claimed, reason = claim(state, decision['key'], self.run_id, self.call_id, self.clock())
                if reason:
                    decision = dict(decision, send=False, reason=reason)
                state = claimed
            else:
                state = settle(state, item)
            seen['decision'] = decision
            return record if state == rec.channel(record, name) else rec.set_channel(record, name, state)

        self._change(mutate)
        return seen['decision']

    def _outcome(self, name, change):
        self._change(lambda record: rec.set_channel(record, name, change(rec.channel(record, name))))

    def _deliver(self, channel):
        name = channel.name
        items = due(rec.channel(self.access.record, name), self.item)
        if not items:
            self.skipped[name] = 'nothing pending'
        for item in items:
            decision = self._claim(name, item)
            if name == 'pagerduty' and (item['new'] or self.item is None):
                event = decision['event'] or {}
                self.pagerduty = dict(action=event.get('action') if decision['send'] else None,
                                      severity=event.get('severity'), reason=decision['reason'])
            label = '' if item['new'] else ' the pending update %s' % item['update']
            if not decision['send']:
                if item['new']:
                    self.skipped[name] = decision['reason']
                self.said.setdefault(name, []).append('sent nothing%s (%s)' % (label, decision['reason']))
                continue
            channels = copy.deepcopy(self.access.record.get('channels') or {})
            try:
                if self.check_mode:
                    outcome = channel.predict(item, decision, channels)
                else:
                    outcome = channel.send(item, decision, channels)
            except ChannelFailed as exc:
                self._failed(name, item, decision['key'], exc.message)
                self.said.setdefault(name, []).append('FAILED%s: %s' % (label, exc.message))
                continue
            self._delivered(name, item, decision['key'], outcome)
            if outcome['action']:
                (self.would_send if self.check_mode else self.sent).setdefault(name, []).append(item['update'])
                detail = ', '.join(x for x in (outcome['action'], outcome.get('detail')) if x)
                self.said.setdefault(name, []).append('%s%s (%s)' % ('would send' if self.check_mode else 'sent',
                                                                     label, detail))
            else:
                if item['new']:
                    self.skipped[name] = 'nothing differs'
                self.said.setdefault(name, []).append('sent nothing%s (nothing differs)' % label)

    def _failed(self, name, item, key, message):
        now = self.clock()
        self.failed[name] = message
        self._outcome(name, lambda state: failed(state, item, key, self.call_id, message, now))

    def _delivered(self, name, item, key, outcome):
        now = self.clock()
        self._outcome(name, lambda state: delivered(state, item, key, self.call_id, outcome, self.run_id, now))

    # --- the call -----------------------------------------------------------------------------------
    def _new_item(self, record):
        params = self.params
        return new_item(update_key(params), params['severity'], params['status'],
                        title=params.get('title') or record.get('title') or self.incident_id,
                        message=params.get('message'),
                        commander=params.get('commander') or record.get('commander'),
                        components=params['statuspage'].get('components'),
                        requested=params['pagerduty']['action'])

    def run(self):
        record = self._load()
        if not self.params['pending_only']:
            self.item = self._new_item(record)
        before = self._channel_states()
        for channel in self.channels:
            self._deliver(channel)
        spooled = self.access.finish()
        return self._result(before, self._channel_states(), spooled)

    def _result(self, before, after, spooled):
        names = [c.name for c in self.channels]
        for name in CHANNELS:
            if name not in names:
                self.skipped[name] = 'disabled'
        statuspage = rec.channel(self.access.record, 'statuspage')
        out = dict(
            changed=bool(self.would_send if self.check_mode else self.sent),
            incident_id=self.incident_id,
            sent=self.sent,
            skipped_channels=self.skipped,
            failed_channels=self.failed,
            pending=dict((n, owed(after[n])) for n in names if owed(after[n])),
            pagerduty=self.pagerduty or dict(action=None, severity=None, reason=self.skipped.get('pagerduty')),
            statuspage=dict((k, statuspage.get(k)) for k in ('incident_id', 'shortlink', 'status')),
            store=self.access.kind,
            retry_waits=dict((c.name, list(c.waits)) for c in self.channels if c.waits),
            diff=dict(before=before, after=after),
        )
        if self.check_mode:
            out['would_send'] = self.would_send
        if self.store_error:
            out['store_error'] = self.store_error
            out['deferred'] = spooled
        out['msg'] = self._message(out)
        return out

    def _message(self, out):
        head = '%s %s' % (self.incident_id, '(pending updates only)' if self.item is None else '%s [%s, %s]' % (
            self.item['update'], self.item['severity'], self.item['status']))
        parts = ['%s %s' % (CHANNEL_TITLES[c.name], '; '.join(self.said.get(c.name) or [self.skipped[c.name]]))
                 for c in self.channels]
        text = '%s: %s.' % (head, '; '.join(parts) if parts else 'every channel is disabled')
        if self.failed:
            text += (' %s did not take the update; it is kept in the record as pending, and the next call sends it '
                     'first (pending_only=true sends only what is owed).'
                     % ' and '.join(CHANNEL_TITLES[n] for n in self.failed))
        if self.store_error:
            text += (' The incident record could not be reached (%s); %s, written by the next run that reaches the '
                     'cluster.' % (self.store_error, 'what was sent is kept aside in %s' % out['deferred']
                                   if out['deferred'] else 'nothing was kept aside'))
        for note in self.notes:
            text += ' Also %s.' % note
        return text


def build_channels(params, policy):
    """The enabled channels' adapters, in sending order. `policy` is the incident policy's policy(level)."""
    incident_id, timeout, attempts = params['incident_id'], params['timeout'], params['retries']
    adapters = dict(
        pagerduty=lambda options: PagerDutyChannel(options, incident_id, params['service_name'], policy, timeout,
                                                   attempts),
        slack=lambda options: SlackChannel(options, incident_id, policy, timeout, attempts),
        statuspage=lambda options: StatuspageChannel(options, policy, timeout, attempts),
    )
    return [adapters[name](params[name]) for name in enabled_channels(params)]


def notify(params, run_id, holder, policy, decide, check_mode=False, store_timeout=None):
    """incident_notify's whole call: options checked before anything is read or sent, then the deliveries."""
    check_params(params)
    access = StoreAccess(build_store(params, timeout=store_timeout), params['incident_id'])
    return Notifier(params, build_channels(params, policy), access, Spool(params['spool_dir']), decide, run_id,
                    holder=holder, check_mode=check_mode).run()
