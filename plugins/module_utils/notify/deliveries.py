# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each channel was sent, owes and is sending: pure rules over a channel's state in the incident record.

A channel's state, ``record['channels'][name]``::

    {"sent": [fingerprint, ...],                       # updates delivered, oldest first
     "pending": [item + {"error", "attempts", "first_failed_at", "failed_at"}, ...],  # owed, oldest first
     "claims": {key: {"run_id", "call", "at"}},        # sends in flight (only while there are any)
     "log": [{"at", "action", "update", "severity", "status", "run_id"}, ...],
     # pagerduty: "dedup_key", "last_action", "severity" (of the last trigger)
     # statuspage: "incident_id", "shortlink", "status"}

An item is one update as a channel needs it to send it again (never a secret)::

    {"fingerprint", "update", "severity", "status", "title", "message", "commander", "components", "requested"}

A fingerprint is ``update|severity|status``: the same update reworded by a rerun is the same update.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import copy
import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.record import utc_iso

# A claim younger than this is another run's send in flight; an older one was left by a run that died.
CLAIM_SECONDS = 60
LOG_KEPT = 200
ITEM_FIELDS = ('update', 'severity', 'status', 'title', 'message', 'commander', 'components', 'requested')


def fingerprint(update, severity, status):
    return '%s|%s|%s' % (update, severity, status)


def new_item(update, severity, status, title=None, message=None, commander=None, components=None,
             requested='auto'):
    return dict(fingerprint=fingerprint(update, severity, status), update=update, severity=severity, status=status,
                title=title, message=message, commander=commander, components=components or None,
                requested=requested)


def due(state, item=None):
    """The items one call sends on a channel, in order: what `pending` owes (oldest first), then `item`.

    Each is marked ``new`` (it is this call's update) or not. An update that is already pending is sent once,
    where it waits, in this call's words."""
    out = []
    for waiting in state.get('pending') or []:
        if item is not None and waiting.get('fingerprint') == item['fingerprint']:
            out.append(dict(item, new=True))
            item = None
        else:
            out.append(dict(dict((k, waiting.get(k)) for k in ITEM_FIELDS), fingerprint=waiting['fingerprint'],
                            new=False))
    if item is not None:
        out.append(dict(item, new=True))
    return out


def pagerduty_key(event):
    """The claim of a PagerDuty event: two updates that decide the same event send it once."""
    return event['action'] + (':' + event['severity'] if event.get('severity') else '')


def plan(name, state, item, decide=None):
    """Whether `item` is still owed on channel `name`, and the key to claim before sending it.

    Returns {"send": bool, "key", "reason", "event"}; `event` is PagerDuty's decision (from `decide`, the
    incident policy's pagerduty_action, given what the channel was last sent)."""
    if item['fingerprint'] in (state.get('sent') or []):
        return dict(send=False, key=None, reason='already sent', event=None)
    if name != 'pagerduty':
        return dict(send=True, key=item['fingerprint'], reason=None, event=None)
    event = decide(item['severity'], item['status'], last_action=state.get('last_action') or None,
                   last_severity=state.get('severity') or None, requested=item.get('requested') or 'auto')
    if not event['action']:
        return dict(send=False, key=None, reason=event['reason'], event=event)
    return dict(send=True, key=pagerduty_key(event), reason=event['reason'], event=event)


def seconds_since(at, now):
    """Seconds from a record timestamp (utc_iso) to `now`; None when it cannot be read."""
    try:
        whole = calendar.timegm(time.strptime(at[:19], '%Y-%m-%dT%H:%M:%S'))
    except (TypeError, ValueError):
        return None
    fraction = at[20:-1] if len(at) > 20 and at[19] == '.' else ''
    return now - whole - (float('0.' + fraction) if fraction.isdigit() else 0.0)


def claim(state, key, run_id, call, now, ttl=CLAIM_SECONDS):
    """(state with this call's claim on `key`, None), or (state, reason) while another call's claim is live.

    A claim older than `ttl` seconds was left by a run that died before it recorded its outcome: taken over."""
    held = (state.get('claims') or {}).get(key)
    if held and held.get('call') != call:
        age = seconds_since(held.get('at'), now)
        if age is None or age < ttl:
            return state, 'sent by another run: run %s claimed it %ss ago' % (
                held.get('run_id'), '?' if age is None else int(max(age, 0)))
    out = copy.deepcopy(state)
    out.setdefault('claims', {})[key] = {'run_id': run_id, 'call': call, 'at': utc_iso(now)}
    return out, None


def _release(state, key, call):
    """Drop this call's claim (one another call took over is left alone)."""
    claims = state.get('claims') or {}
    if key in claims and claims[key].get('call') == call:
        del claims[key]
    if 'claims' in state and not claims:
        del state['claims']


def settle(state, item):
    """A pending item no longer owed (already sent, or PagerDuty has nothing to send for it) leaves `pending`."""
    pending = state.get('pending') or []
    if not any(p.get('fingerprint') == item['fingerprint'] for p in pending):
        return state
    out = copy.deepcopy(state)
    out['pending'] = [p for p in pending if p.get('fingerprint') != item['fingerprint']]
    return out


def delivered(state, item, key, call, outcome, run_id, now):
    """The state after `item` reached the channel: sent, no longer pending, logged, the channel's own facts kept.

    `outcome` is {"action": what was done or None when nothing differed, "state": {facts to keep}}."""
    out = copy.deepcopy(state)
    _release(out, key, call)
    sent = out.setdefault('sent', [])
    if item['fingerprint'] not in sent:
        sent.append(item['fingerprint'])
    out['pending'] = [p for p in out.get('pending') or [] if p.get('fingerprint') != item['fingerprint']]
    if outcome.get('action'):
        log = out.setdefault('log', [])
        log.append({'at': utc_iso(now), 'action': outcome['action'], 'update': item['update'],
                    'severity': item['severity'], 'status': item['status'], 'run_id': run_id})
        del log[:-LOG_KEPT]
    out.update(outcome.get('state') or {})
    return out


def failed(state, item, key, call, error, now):
    """The state after `item` could not be sent: the claim released, the update owed in `pending`."""
    out = copy.deepcopy(state)
    if key is not None:
        _release(out, key, call)
    pending = out.setdefault('pending', [])
    fields = dict((k, item.get(k)) for k in ITEM_FIELDS)
    for waiting in pending:
        if waiting.get('fingerprint') == item['fingerprint']:
            waiting.update(fields, error=error, failed_at=utc_iso(now),
                           attempts=int(waiting.get('attempts') or 0) + 1)
            return out
    pending.append(dict(fields, fingerprint=item['fingerprint'], error=error, attempts=1,
                        first_failed_at=utc_iso(now), failed_at=utc_iso(now)))
    return out


def for_spool(state):
    """A channel's state as kept aside while the cluster is unreachable: claims mean nothing later."""
    out = copy.deepcopy(state)
    out.pop('claims', None)
    return out


def owed(state):
    """The update keys a channel still owes, oldest first."""
    return [p.get('update') for p in state.get('pending') or []]
