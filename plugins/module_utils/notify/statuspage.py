# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Statuspage as an incident_notify channel, over the statuspage_update module's own code.

The first update opens the Statuspage incident (found by its name, the title, if an earlier send's answer
was lost); its id and shortlink go into the record, so every later update and the resolve target that
incident. StatuspageIncident writes only what differs, so a resend after a lost answer posts nothing twice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.errors import ChannelFailed
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.http import RETRY_BUDGET
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.client import StatuspageClient
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.errors import StatuspageError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.incident import (
    StatuspageIncident,
)


def desired(item, impact):
    """What StatuspageIncident.ensure makes the incident match for one update."""
    resolved = item['status'] == 'resolved'
    return dict(name=item['title'], rename=False, status=None if resolved else item['status'], impact=impact,
                body=item['message'], components=item.get('components') or None)


class StatuspageChannel(object):
    name = 'statuspage'

    def __init__(self, options, policy, timeout, attempts, client_factory=StatuspageClient):
        self._options = options
        self.policy = policy
        self.timeout = timeout
        self.attempts = attempts
        self._client_factory = client_factory
        self.waits = []

    def _impact(self, item):
        return self._options.get('impact') or self.policy(item['severity'])['statuspage_impact']

    def send(self, item, decision, channels):
        known = (channels.get('statuspage') or {}).get('incident_id')
        client = self._client_factory(self._options['api_url'], self._options['api_key'], self._options['page_id'],
                                      timeout=float(self.timeout), max_attempts=self.attempts,
                                      max_retry_time=RETRY_BUDGET)
        target = StatuspageIncident(client, incident_id=known, name=None if known else item['title'])
        try:
            changed, operation, incident, _write, _diff = target.ensure(
                'resolved' if item['status'] == 'resolved' else 'present', desired(item, self._impact(item)),
                self._options['deliver_notifications'], False)
        except StatuspageError as exc:
            raise ChannelFailed(exc.message) from None
        finally:
            self.waits.extend(client.waits)
        state = {}
        if incident:
            state = {'incident_id': incident['id'], 'shortlink': incident.get('shortlink'),
                     'status': incident.get('status')}
        return {'action': operation if changed else None, 'state': state,
                'detail': 'incident %s' % incident['id'] if incident else None}

    def predict(self, item, decision, channels):
        known = (channels.get('statuspage') or {}).get('incident_id')
        action = 'resolved' if item['status'] == 'resolved' else ('updated' if known else 'created')
        return {'action': action, 'state': {'status': item['status']},
                'detail': 'incident %s' % known if known else None}
