# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incident record as data: what every run of every runner knows about one incident.

Pure functions over plain dicts (the stores in store.py read and write them), so the rules are
tested without a cluster. The record::

    {"id", "service", "scenario", "status": "open"|"resolved", "severity", "title", "commander",
     "component", "opened_at", "resolved_at", "milestones": {name: at}, "channels": {name: {...}},
     "fixes": [fix, ...], "escalation": {"level": 0, "history": []}, "runs": [run summary, ...],
     "events": [{"at", "by", "kind", "text"}, ...]}

and beside it the timeline: the runs as the incident_timeline callback records them.
A temporary fix::

    {"key": "scale_override:Deployment/ns/name", "kind": "scale_override",
     "target": {"kind", "namespace", "name"}, "original": {...}, "applied": {...},
     "state": "active"|"removed", "at", "removed_at", "by"}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import time

STATUSES = ('open', 'resolved')
SEVERITIES = ('P0', 'P1', 'P2', 'P3')
MILESTONES = ('started', 'detected', 'declared', 'contained', 'recovered', 'resolved')
# A ConfigMap holds at most 1 MiB; the timeline is trimmed to stay well below it.
TIMELINE_BUDGET = 600 * 1024
EVENTS_KEPT = 500


def utc_iso(now=None):
    """The record's timestamps: UTC, microseconds, Z."""
    moment = time.time() if now is None else now
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(moment)) + '.%06dZ' % int((moment % 1) * 1e6)


def new_record(incident_id, service, scenario, severity=None, title=None, commander=None, component=None,
               opened_by=None, now=None):
    return {
        'id': incident_id, 'service': service, 'scenario': scenario, 'status': 'open',
        'severity': severity, 'title': title, 'commander': commander, 'component': component,
        'opened_at': utc_iso(now), 'opened_by': opened_by, 'resolved_at': None,
        'milestones': {}, 'channels': {}, 'fixes': [], 'escalation': {'level': 0, 'history': []},
        'runs': [], 'events': [],
    }


def set_fields(record, **fields):
    """Severity, title, commander, component: a given value replaces; None keeps what is there."""
    out = copy.deepcopy(record)
    for key, value in fields.items():
        if value is not None and value != '':
            out[key] = value
    return out


def severity_rank(severity):
    """P0 ranks highest; no severity ranks below P3."""
    return len(SEVERITIES) - SEVERITIES.index(severity) if severity in SEVERITIES else 0


def merge_fields(record, **fields):
    """What a run that joins an open incident brings: a higher severity raises it (never lowers it, as
    a rerun's quieter evidence must not downgrade what was declared), and a title, commander or
    component fills only what is still empty."""
    out = copy.deepcopy(record)
    severity = fields.pop('severity', None)
    if severity and severity_rank(severity) > severity_rank(out.get('severity')):
        out['severity'] = severity
    for key, value in fields.items():
        if value and not out.get(key):
            out[key] = value
    return out


def add_event(record, kind, text, by=None, now=None):
    out = copy.deepcopy(record)
    events = out.setdefault('events', [])
    events.append({'at': utc_iso(now), 'kind': kind, 'text': text, 'by': by})
    del events[:-EVENTS_KEPT]
    return out


def add_milestones(record, milestones):
    """The first time each milestone was reached wins: a rerun never moves it."""
    out = copy.deepcopy(record)
    known = out.setdefault('milestones', {})
    for mark in milestones:
        name, at = mark.get('milestone'), mark.get('at')
        if name in MILESTONES and at and (name not in known or at < known[name]):
            known[name] = at
        for key in ('severity', 'summary', 'commander', 'component'):
            if mark.get(key) and key != 'summary':
                out[key] = mark[key]
        if mark.get('summary') and not out.get('title'):
            out['title'] = mark['summary']
    return out


def resolve(record, by=None, now=None):
    out = copy.deepcopy(record)
    if out.get('status') != 'resolved':
        out['status'] = 'resolved'
        out['resolved_at'] = utc_iso(now)
        out['resolved_by'] = by
    return out


def reopen(record, by=None, now=None):
    out = add_event(record, 'reopened', 'reopened on request', by=by, now=now)
    out['status'] = 'open'
    out['resolved_at'] = None
    return out


# --- runs ---------------------------------------------------------------------------------------

def note_run(record, run_id, holder, playbook, check_mode=False, now=None):
    """A run that joined the incident (the post-mortem lists every runner)."""
    out = copy.deepcopy(record)
    runs = out.setdefault('runs', [])
    if not any(r.get('id') == run_id for r in runs):
        runs.append({'id': run_id, 'holder': holder, 'playbook': playbook, 'joined': utc_iso(now),
                     'check_mode': bool(check_mode)})
    return out


# --- temporary fixes ----------------------------------------------------------------------------

def fix_key(kind, target):
    return '%s:%s/%s/%s' % (kind, target.get('kind', ''), target.get('namespace', ''), target.get('name', ''))


def active_fix(record, kind, target):
    key = fix_key(kind, target)
    for fix in record.get('fixes') or []:
        if fix.get('key') == key and fix.get('state') == 'active':
            return fix
    return None


def put_fix(record, kind, target, original, applied, by=None, now=None):
    """Record a fix (or update what an active one applies; its original is never replaced)."""
    out = copy.deepcopy(record)
    fixes = out.setdefault('fixes', [])
    key = fix_key(kind, target)
    for fix in fixes:
        if fix.get('key') == key and fix.get('state') == 'active':
            fix['applied'] = applied
            return out
    fixes.append({'key': key, 'kind': kind, 'target': dict(target), 'original': original, 'applied': applied,
                  'state': 'active', 'at': utc_iso(now), 'by': by, 'removed_at': None})
    return out


def remove_fix(record, kind, target, by=None, now=None):
    out = copy.deepcopy(record)
    key = fix_key(kind, target)
    for fix in out.get('fixes') or []:
        if fix.get('key') == key and fix.get('state') == 'active':
            fix.update(state='removed', removed_at=utc_iso(now), removed_by=by)
    return out


def fixes_by_kind(record, state='active'):
    """{kind: [fix, ...]}: what resolve has to undo, one list per kind of fix."""
    found = {}
    for fix in record.get('fixes') or []:
        if fix.get('state') == state:
            found.setdefault(fix['kind'], []).append(fix)
    return found


# --- channels -----------------------------------------------------------------------------------

def channel(record, name):
    return copy.deepcopy((record.get('channels') or {}).get(name) or {})


def set_channel(record, name, state):
    """Put what a call learnt of a channel into the record, merged with what other runs recorded since
    it read the record (a state kept aside while the cluster was unreachable may be older): every update
    either sent stays sent, every log entry stays, an owed update that was sent since is no longer owed;
    for the other keys the newer state wins."""
    out = copy.deepcopy(record)
    channels = out.setdefault('channels', {})
    known = channels.get(name) or {}
    merged = dict(known, **state)
    if 'claims' not in state:  # sends in flight: the newer state says which remain
        merged.pop('claims', None)
    sent = list(known.get('sent') or [])
    sent += [f for f in state.get('sent') or [] if f not in sent]
    if sent:
        merged['sent'] = sent
    log = list(known.get('log') or [])
    log += [entry for entry in state.get('log') or [] if entry not in log]
    if log:
        merged['log'] = log[-200:]
    if 'pending' in merged:
        merged['pending'] = [p for p in merged.get('pending') or [] if p.get('fingerprint') not in sent]
    channels[name] = merged
    return out


# --- timeline -----------------------------------------------------------------------------------

def upsert_run(timeline, run):
    """Put one run (as the callback records it) into the timeline, replacing its earlier copy."""
    runs = [r for r in (timeline or {}).get('runs') or [] if r.get('run_id') != run.get('run_id')]
    runs.append(run)
    runs.sort(key=lambda r: r.get('started') or '')
    return trim_timeline({'runs': runs})


def trim_timeline(timeline, budget=TIMELINE_BUDGET):
    """Keep the timeline under `budget` bytes: first drop the results of the oldest runs' tasks, then
    their task lists (milestones and stats always stay)."""
    out = copy.deepcopy(timeline)
    if len(json.dumps(out, default=str)) <= budget:
        return out
    for run in out['runs']:  # oldest first
        for task in run.get('tasks') or []:
            if task.get('results'):
                task['results'] = {'trimmed': 'kept within the record\'s size'}
        if len(json.dumps(out, default=str)) <= budget:
            return out
    for run in out['runs']:
        if run.get('tasks'):
            run['tasks_trimmed'] = len(run['tasks'])
            run['tasks'] = []
        if len(json.dumps(out, default=str)) <= budget:
            return out
    return out


def summary(record):
    """What a role branches on, flat: no Jinja needed to find a fix or a channel's state."""
    fixes = fixes_by_kind(record)
    return {
        'id': record.get('id'), 'status': record.get('status'), 'service': record.get('service'),
        'scenario': record.get('scenario'), 'severity': record.get('severity'), 'title': record.get('title'),
        'commander': record.get('commander'), 'component': record.get('component'),
        'opened_at': record.get('opened_at'), 'resolved_at': record.get('resolved_at'),
        'milestones': dict(record.get('milestones') or {}),
        'channels': copy.deepcopy(record.get('channels') or {}),
        'fixes': fixes, 'active_fixes': sum(len(v) for v in fixes.values()),
        'escalation': copy.deepcopy(record.get('escalation') or {}),
        'runs': len(record.get('runs') or []),
    }


# --- operations: every change to a record is one of these, so a change can wait in the spool ------

def apply_op(record, timeline, op, by=None):
    """(record, timeline) after one operation. `record` may be None only for an `open` operation."""
    kind = op['op']
    if kind == 'open':
        if record is None:
            record = op['record']
        elif op.get('reopen') and record.get('status') == 'resolved':
            record = reopen(record, by=by)
        return note_run(record, op['run_id'], op.get('holder'), op.get('playbook')), timeline
    if record is None:
        raise ValueError('no record to apply %r to' % kind)
    if kind == 'fields':
        return set_fields(record, **op['fields']), timeline
    if kind == 'merge':
        return merge_fields(record, **op['fields']), timeline
    if kind == 'event':
        return add_event(record, op['kind'], op['text'], by=op.get('by') or by, now=op.get('now')), timeline
    if kind == 'milestones':
        return add_milestones(record, op['milestones']), timeline
    if kind == 'run':
        return add_milestones(record, op['run'].get('milestones') or []), upsert_run(timeline, op['run'])
    if kind == 'channel':
        return set_channel(record, op['name'], op['state']), timeline
    if kind == 'fix':
        return put_fix(record, op['kind'], op['target'], op['original'], op['applied'], by=by), timeline
    if kind == 'fix_removed':
        return remove_fix(record, op['kind'], op['target'], by=by), timeline
    if kind == 'resolve':
        return resolve(record, by=by), timeline
    if kind == 'escalation':
        out = copy.deepcopy(record)
        out['escalation'] = op['escalation']
        return out, timeline
    raise ValueError('unknown record operation %r' % kind)
