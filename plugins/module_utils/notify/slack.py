# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slack incoming webhook: the message an update posts, and posting it.

A post whose answer was lost is not posted again (Slack would show it twice); it waits in `pending`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.http import JsonPoster
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.text import clip

EMOJI = {'P0': ':rotating_light:', 'P1': ':warning:', 'P2': ':large_yellow_circle:'}
OTHER_EMOJI = ':information_source:'
RESOLVED_EMOJI = ':white_check_mark:'
HEADER_LIMIT = 150  # Slack's limit for a header block's text


def mrkdwn(text):
    """Slack's mrkdwn needs &, < and > escaped (the rest is shown as written)."""
    return (text or '').replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def message(incident_id, item, policy, shortlink=None):
    """The webhook payload: a text fallback, a header, the facts, the update, and where to look next."""
    severity, status = item['severity'], item['status']
    emoji = RESOLVED_EMOJI if status == 'resolved' else EMOJI.get(severity, OTHER_EMOJI)
    context = '%sPagerDuty dedup key `%s` | pynomaly.incident_response' % (
        'Status page: %s | ' % shortlink if shortlink else '', incident_id)
    return {
        'text': mrkdwn('[%s] %s (%s): %s' % (severity, item['title'], status, item['message'])),
        'blocks': [
            {'type': 'header',
             'text': {'type': 'plain_text', 'emoji': True,
                      'text': clip('%s [%s] %s' % (emoji, severity, item['title']), HEADER_LIMIT)}},
            {'type': 'section', 'fields': [
                {'type': 'mrkdwn', 'text': '*Severity*\n%s (%s)' % (severity, policy['name'])},
                {'type': 'mrkdwn', 'text': '*Status*\n%s' % status.capitalize()},
                {'type': 'mrkdwn', 'text': '*Incident commander*\n%s' % mrkdwn(item.get('commander') or 'unassigned')},
                {'type': 'mrkdwn', 'text': '*Response target*\n%s' % mrkdwn(policy['response_target'])},
                {'type': 'mrkdwn', 'text': '*Escalation*\n%s' % mrkdwn(policy['escalation'])},
                {'type': 'mrkdwn', 'text': '*Incident*\n`%s`' % incident_id},
            ]},
            {'type': 'section', 'text': {'type': 'mrkdwn', 'text': mrkdwn(item['message'])}},
            {'type': 'context', 'elements': [{'type': 'mrkdwn', 'text': context}]},
        ],
    }


class SlackChannel(object):
    name = 'slack'

    def __init__(self, options, incident_id, policy, timeout, attempts, poster=None):
        self._webhook_url = options['webhook_url']
        self.incident_id = incident_id
        self.policy = policy
        self.poster = poster or JsonPoster('Slack', timeout, attempts, resend_if_lost=False)

    @property
    def waits(self):
        return self.poster.waits

    def send(self, item, decision, channels):
        shortlink = (channels.get('statuspage') or {}).get('shortlink')
        self.poster.post(self._webhook_url, message(self.incident_id, item, self.policy(item['severity']),
                                                    shortlink))
        return self.predict(item, decision, channels)

    def predict(self, item, decision, channels):
        return {'action': 'posted', 'state': {}, 'detail': None}
