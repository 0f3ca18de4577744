# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""incident_notify's options, and the rules about them that argument_spec cannot say.

Every rule is checked before anything is read or sent, so bad input changes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.basic import env_fallback

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import check_incident_id
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.service import (
    RECORD_OPTIONS,
    SPOOL_OPTIONS,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import k8s_auth_argument_spec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.errors import NotifyOptionsError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.client import DEFAULT_API_URL
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.incident import (
    COMPONENT_STATUSES,
    IMPACTS,
    INCIDENT_STATUSES,
)

PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue'
PAGERDUTY_ACTIONS = ('auto', 'none', 'trigger', 'acknowledge', 'resolve')
# The channels in the order they are sent: paging never waits for the status page.
CHANNELS = ('pagerduty', 'slack', 'statuspage')
CHANNEL_TITLES = {'pagerduty': 'PagerDuty', 'slack': 'Slack', 'statuspage': 'Statuspage'}
BOUNDS = dict(timeout=(1, 120), retries=(1, 10))
UPDATE_KEY = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$')
URL = re.compile(r'^https?://[^\s/]+')

ARGUMENT_SPEC = dict(
    k8s_auth_argument_spec(),
    **RECORD_OPTIONS,
    **SPOOL_OPTIONS,
    incident_id=dict(type='str', required=True),
    severity=dict(type='str', required=True, choices=list(rec.SEVERITIES)),
    status=dict(type='str', default='investigating', choices=list(INCIDENT_STATUSES)),
    update=dict(type='str'),
    title=dict(type='str'),
    message=dict(type='str'),
    commander=dict(type='str'),
    service_name=dict(type='str', default='pynomaly-api'),
    pagerduty=dict(type='dict', apply_defaults=True, options=dict(
        enabled=dict(type='bool', default=True),
        events_url=dict(type='str', default=PAGERDUTY_EVENTS_URL,
                        fallback=(env_fallback, ['PAGERDUTY_EVENTS_URL'])),
        routing_key=dict(type='str', no_log=True, fallback=(env_fallback, ['PAGERDUTY_ROUTING_KEY'])),
        action=dict(type='str', default='auto', choices=list(PAGERDUTY_ACTIONS)),
    )),
    slack=dict(type='dict', apply_defaults=True, options=dict(
        enabled=dict(type='bool', default=True),
        webhook_url=dict(type='str', no_log=True, fallback=(env_fallback, ['SLACK_WEBHOOK_URL'])),
    )),
    statuspage=dict(type='dict', apply_defaults=True, options=dict(
        enabled=dict(type='bool', default=True),
        api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['STATUSPAGE_API_URL'])),
        page_id=dict(type='str', fallback=(env_fallback, ['STATUSPAGE_PAGE_ID'])),
        api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['STATUSPAGE_API_KEY'])),
        components=dict(type='dict'),
        impact=dict(type='str', choices=list(IMPACTS)),
        deliver_notifications=dict(type='bool', default=True),
    )),
    pending_only=dict(type='bool', default=False),
    fail_on_error=dict(type='bool', default=False),
    timeout=dict(type='int', default=10),
    retries=dict(type='int', default=3),
)


def enabled_channels(params):
    return [name for name in CHANNELS if params[name]['enabled']]


def _missing(value):
    return value is None or not str(value).strip()


def check_params(params):
    """Raise NotifyOptionsError naming every option that is wrong; nothing has been sent yet."""
    problems = []
    reason = check_incident_id(params['incident_id'])
    if reason:
        problems.append('incident_id: %s' % reason)
    for option, (low, high) in BOUNDS.items():
        if not low <= params[option] <= high:
            problems.append('%s must be between %d and %d, got %r' % (option, low, high, params[option]))
    if params.get('update') is not None and not UPDATE_KEY.match(params['update']):
        problems.append('update must be 1 to 64 letters, digits, \'.\', \'_\', \':\' or \'-\' (a key such as '
                        'declared or contained), got %r' % params['update'])
    if not params['pending_only'] and _missing(params.get('message')):
        problems.append('message is required (unless pending_only=true)')
    pagerduty, slack, statuspage = params['pagerduty'], params['slack'], params['statuspage']
    if pagerduty['enabled']:
        if _missing(pagerduty['routing_key']):
            problems.append('pagerduty.routing_key is required while PagerDuty is enabled (pagerduty.enabled=false '
                            'turns it off)')
        if not URL.match(pagerduty['events_url'] or ''):
            problems.append('pagerduty.events_url must be an http(s) URL, got %r' % pagerduty['events_url'])
    if slack['enabled'] and not URL.match(slack['webhook_url'] or ''):
        # The URL is the secret: never quote it.
        problems.append('slack.webhook_url is required while Slack is enabled and must be an http(s) URL '
                        '(slack.enabled=false turns it off)')
    if statuspage['enabled']:
        for option in ('page_id', 'api_key'):
            if _missing(statuspage[option]):
                problems.append('statuspage.%s is required while Statuspage is enabled (statuspage.enabled=false '
                                'turns it off)' % option)
        if not URL.match(statuspage['api_url'] or ''):
            problems.append('statuspage.api_url must be an http(s) URL, got %r' % statuspage['api_url'])
        for name, status in (statuspage['components'] or {}).items():
            if status not in COMPONENT_STATUSES:
                problems.append('statuspage.components[%r] is %r; a component status is one of %s'
                                % (name, status, ', '.join(COMPONENT_STATUSES)))
    if problems:
        raise NotifyOptionsError('Invalid options, nothing was sent: %s.' % '; '.join(problems))


def update_key(params):
    """The update's key for deduplication: the given one, else the status."""
    return params.get('update') or params['status']
