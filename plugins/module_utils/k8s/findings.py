# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn triage facts into plain sentences, most severe first, and the scenario they point to.

Thresholds default to the incident playbook's: error rate 5 %, response time 2 s, CPU 80 %,
memory 90 %. Pure functions over the facts dict k8s_triage returns.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SCENARIOS = ('api_down', 'error_rate', 'memory', 'cpu', 'latency', 'security', 'app_errors', 'none')

DEFAULT_THRESHOLDS = dict(max_error_rate=0.05, max_p95_seconds=2.0, cpu_percent=80.0, memory_percent=90.0,
                          max_auth_failure_rate=0.10, max_error_line_rate=0.01, min_error_lines=5)

_REASON_WORDS = {
    'CrashLoopBackOff': 'crash-loop',
    'Error': 'crash-loop',
    'ImagePullBackOff': 'cannot pull their image',
    'ErrImagePull': 'cannot pull their image',
    'InvalidImageName': 'have an invalid image name',
    'OOMKilled': 'are OOMKilled',
    'CreateContainerConfigError': 'cannot start (configuration error)',
    'CreateContainerError': 'cannot start',
    'RunContainerError': 'cannot start',
}


class Finding(object):
    def __init__(self, severity, scenario, text):
        self.severity = severity
        self.scenario = scenario
        self.text = text


def _pct(value):
    return ('%.1f' % value).rstrip('0').rstrip('.')


def _images(revision):
    return ', '.join(revision.get('images') or []) or '?'


def _failing_pods(facts):
    failing = {}
    for pod in facts.get('pods') or []:
        for reason in pod.get('reasons') or []:
            if reason in _REASON_WORDS:
                failing.setdefault(_REASON_WORDS[reason], []).append(pod)
                break
    return failing


def _revision(facts, number):
    for revision in facts.get('history') or []:
        if revision.get('revision') == number:
            return revision
    return None


def workload_findings(facts):
    found = []
    workload = facts.get('workload') or {}
    name = workload.get('name')
    pods = facts.get('pods') or []
    total = facts.get('pods_total', len(pods))
    for words, bad in sorted(_failing_pods(facts).items(), key=lambda item: -len(item[1])):
        revisions = sorted(set(p.get('revision') for p in bad if p.get('revision') is not None))
        text = '%d/%d pods of %s %s' % (len(bad), total, name, words)
        if revisions:
            revision = _revision(facts, revisions[-1])
            text += ' since revision %d' % revisions[-1]
            if revision:
                text += ' (image %s' % _images(revision)
                if revision.get('change_cause'):
                    text += ', change-cause "%s"' % revision['change_cause']
                text += ')'
                earlier = [r for r in facts.get('history') or [] if r.get('revision', 0) < revisions[-1]]
                if earlier:
                    text += '; revision %d ran %s' % (earlier[-1]['revision'], _images(earlier[-1]))
        found.append(Finding(100, 'api_down', text))
    desired = workload.get('replicas')
    available = workload.get('available', 0)
    if desired and not available:
        found.append(Finding(95, 'api_down', 'No replica of %s is available (0/%d)' % (name, desired)))
    status = workload.get('rollout_status') or {}
    if status.get('failed'):
        found.append(Finding(85, 'api_down', 'The rollout of %s is stuck: %s' % (name, status.get('message'))))
    elif desired and available < desired:
        found.append(Finding(45, None, 'Only %d/%d replicas of %s are available' % (available, desired, name)))
    restarted = [p for p in pods if p.get('restarts')]
    if restarted and not found:
        worst = max(restarted, key=lambda p: p['restarts'])
        found.append(Finding(30, None, '%d/%d pods of %s restarted (most: %s, %d times%s)' % (
            len(restarted), total, name, worst['name'], worst['restarts'],
            ', last: %s' % worst['last_termination'] if worst.get('last_termination') else '')))
    return found


def log_findings(facts, th):
    found = []
    logs = facts.get('logs') or {}
    name = (facts.get('workload') or {}).get('name')
    requests = logs.get('http_requests') or 0
    if requests:
        rate = logs.get('error_rate') or 0
        if rate > th['max_error_rate']:
            codes = ', '.join('%s: %d' % (c, n) for c, n in sorted(
                logs['status_codes'].items(), key=lambda item: -item[1]) if c.startswith('5'))
            found.append(Finding(80, 'error_rate', '%s%% of %d requests in the recent logs of %s answered 5xx (%s), '
                                 'above %s%%' % (_pct(rate * 100), requests, name, codes,
                                                 _pct(th['max_error_rate'] * 100))))
        p95 = (logs.get('latency') or {}).get('p95')
        if p95 is not None and p95 > th['max_p95_seconds']:
            found.append(Finding(55, 'latency', 'p95 response time in the recent logs of %s is %.2fs, above %ss'
                                 % (name, p95, th['max_p95_seconds'])))
        auth = logs.get('auth_failure_rate') or 0
        if auth > th['max_auth_failure_rate']:
            found.append(Finding(50, 'security', '%s%% of %d requests to %s are failed authentications (401/403: %d, '
                                 '%d failed-login lines)' % (_pct(auth * 100), requests, name,
                                                             logs.get('auth_failures', 0),
                                                             logs.get('failed_login_lines', 0))))
    lines = logs.get('lines') or 0
    errors = logs.get('error_lines') or 0
    if errors >= th['min_error_lines'] and lines and float(errors) / lines > th['max_error_line_rate']:
        top = (logs.get('top_errors') or [{}])[0].get('message', '')
        found.append(Finding(40, 'app_errors', '%d ERROR/CRITICAL lines in the last %d log lines of %s, most often: %s'
                             % (errors, lines, name, top)))
    return found


def usage_findings(facts, th):
    found = []
    metrics = facts.get('metrics') or {}
    name = (facts.get('workload') or {}).get('name')
    pods = metrics.get('pods') or []
    for resource, limit, scenario, severity in (('memory', th['memory_percent'], 'memory', 70),
                                                ('cpu', th['cpu_percent'], 'cpu', 60)):
        hot = [p for p in pods if (p.get('%s_percent_of_limit' % resource) or 0) >= limit]
        if hot:
            worst = max(p['%s_percent_of_limit' % resource] for p in hot)
            found.append(Finding(severity, scenario, '%d/%d pods of %s use over %s%% of their %s limit (max %s%%)'
                                 % (len(hot), len(pods), name, _pct(limit), resource, _pct(worst))))
        nodes = [n for n in facts.get('nodes') or [] if (n.get('%s_percent' % resource) or 0) >= limit]
        if nodes:
            found.append(Finding(severity - 5, scenario, '%d/%d nodes use over %s%% of their allocatable %s (%s)' % (
                len(nodes), len(facts.get('nodes') or []), _pct(limit), resource,
                ', '.join('%s %s%%' % (n['name'], _pct(n['%s_percent' % resource])) for n in nodes))))
    return found


def node_findings(facts):
    found = []
    for node in facts.get('nodes') or []:
        if not node.get('ready'):
            found.append(Finding(90, None, 'Node %s is not Ready' % node['name']))
        for pressure, scenario in (('memory_pressure', 'memory'), ('disk_pressure', None), ('pid_pressure', None)):
            if node.get(pressure):
                found.append(Finding(75, scenario, 'Node %s reports %s' % (
                    node['name'], pressure.replace('_', ' ').title().replace(' ', ''))))
    return found


def event_findings(facts):
    events = facts.get('events') or []
    if not events:
        return []
    reasons = {}
    for event in events:
        reasons[event.get('reason')] = reasons.get(event.get('reason'), 0) + (event.get('count') or 1)
    text = ', '.join('%s x%d' % (r, n) for r, n in sorted(reasons.items(), key=lambda item: -item[1]))
    return [Finding(20, None, '%d recent Warning events in %s: %s' % (
        len(events), (facts.get('workload') or {}).get('namespace'), text))]


def analyse(facts, thresholds=None):
    """(findings as sentences, most severe first; suggested scenario)."""
    th = dict(DEFAULT_THRESHOLDS, **(thresholds or {}))
    found = (workload_findings(facts) + log_findings(facts, th) + usage_findings(facts, th)
             + node_findings(facts) + event_findings(facts))
    found.sort(key=lambda f: -f.severity)
    scenario = next((f.scenario for f in found if f.scenario), 'none')
    return [f.text for f in found], scenario
