# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PagerDuty Events API v2: the event an update sends, and sending it.

The incident id is the dedup_key, so PagerDuty itself folds a repeated trigger into the open alert:
a send whose answer was lost is sent again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.http import JsonPoster
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.text import clip

CLIENT = 'pynomaly.incident_response'
SUMMARY_LIMIT = 1000


def summary(item):
    """The page's one line; the update's text travels in custom_details.message."""
    return clip('[%s] %s (%s)' % (item['severity'], item['title'], item['status']), SUMMARY_LIMIT)


def event_body(routing_key, incident_id, event, item, service_name, policy):
    """The Events v2 body: a trigger carries the payload; acknowledge and resolve only name the alert."""
    body = {'routing_key': routing_key, 'event_action': event['action'], 'dedup_key': incident_id,
            'client': CLIENT}
    if event['action'] == 'trigger':
        body['payload'] = {
            'summary': summary(item),
            'source': service_name,
            'severity': event.get('severity') or 'info',
            'custom_details': {
                'incident_id': incident_id,
                'severity': '%s (%s)' % (item['severity'], policy['name']),
                'status': item['status'],
                'message': item['message'],
                'incident_commander': item.get('commander') or 'unassigned',
                'response_target': policy['response_target'],
                'escalation': policy['escalation'],
            },
        }
    return body


class PagerDutyChannel(object):
    name = 'pagerduty'

    def __init__(self, options, incident_id, service_name, policy, timeout, attempts, poster=None):
        self._events_url = options['events_url']
        self._routing_key = options['routing_key']
        self.incident_id = incident_id
        self.service_name = service_name
        self.policy = policy
        self.poster = poster or JsonPoster('PagerDuty', timeout, attempts, resend_if_lost=True)

    @property
    def waits(self):
        return self.poster.waits

    def outcome(self, decision):
        event = decision['event']
        state = {'dedup_key': self.incident_id, 'last_action': event['action']}
        if event.get('severity'):
            state['severity'] = event['severity']
        return {'action': event['action'], 'state': state, 'detail': 'dedup_key %s' % self.incident_id}

    def send(self, item, decision, channels):
        body = event_body(self._routing_key, self.incident_id, decision['event'], item, self.service_name,
                          self.policy(item['severity']))
        self.poster.post(self._events_url, body)
        return self.outcome(decision)

    def predict(self, item, decision, channels):
        return self.outcome(decision)
