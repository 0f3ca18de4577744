# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: pagerduty_action
short_description: The PagerDuty event an incident update should send
version_added: 0.1.0
author: Pynomaly Platform Engineering (@pynomaly)
description:
  - Decides, from the severity, the incident status and what was already sent for the incident,
    which PagerDuty Events API v2 action (if any) an update sends.
  - By severity - P0 pages (severity C(critical)), P1 notifies the on-call engineer (severity
    C(warning)), P2 and P3 never page.
  - By status - C(investigating) triggers, C(identified) and C(monitoring) acknowledge what was
    triggered, C(resolved) resolves what is open. A raised severity (P1 to P0) triggers again.
  - An action already sent is never sent again, so rerunning an update sends nothing.
options:
  _input:
    description: The severity, C(P0) to C(P3).
    type: str
    required: true
  status:
    description: The incident's status.
    type: str
    required: true
    choices: [investigating, identified, monitoring, resolved]
  last_action:
    description: The last action sent for this incident (from the incident state), or null.
    type: str
  last_severity:
    description: The PagerDuty severity of the last trigger sent, or null.
    type: str
  requested:
    description: C(auto) follows the rules above; C(none) sends nothing; an action forces it (still once).
    type: str
    default: auto
    choices: [auto, none, trigger, acknowledge, resolve]
"""

EXAMPLES = r"""
- name: Decide whether to page
  ansible.builtin.set_fact:
    pd_event: >-
      {{ 'P0' | pynomaly.incident_response.pagerduty_action(status='investigating',
                                                             last_action=state.pagerduty.last_action | default(None)) }}
    # {"action": "trigger", "severity": "critical", "reason": "P0: Page on-call engineer immediately"}
"""

RETURN = r"""
_value:
  description: C(action) (trigger, acknowledge, resolve or null), C(severity) (for a trigger) and C(reason).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import (
    SeverityError,
)
from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import (
    pagerduty_action as decide,
)


def pagerduty_action(level, status, last_action=None, last_severity=None, requested="auto"):
    try:
        return decide(level, status, last_action=last_action or None, last_severity=last_severity or None,
                      requested=requested)
    except SeverityError as exc:
        raise AnsibleFilterError("pynomaly.incident_response.pagerduty_action: %s" % exc) from exc


class FilterModule(object):
    def filters(self):
        return {"pagerduty_action": pagerduty_action}
