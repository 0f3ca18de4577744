# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Pynomaly Platform Engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: severity_policy
short_description: Response target and escalation of a severity level
version_added: 0.1.0
author: Pynomaly Platform Engineering (@pynomaly)
description:
  - Returns the incident response playbook's response target and escalation for each level given,
    plus how the collection acts on it (PagerDuty action and severity, Statuspage impact).
  - P0 - immediate (< 15 minutes), page the on-call engineer immediately.
  - P1 - < 1 hour, notify the on-call engineer within 30 minutes.
  - P2 - < 4 hours, standard business hours response.
  - P3 - next business day, regular development workflow.
  - Levels are case-insensitive (C(p1) works); anything else fails with a clear message.
options:
  _terms:
    description: One or more levels, C(P0) to C(P3).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Show the response target of a P1
  ansible.builtin.debug:
    msg: "{{ lookup('pynomaly.incident_response.severity_policy', 'P1').response_target }}"

- name: Page only when the level says so
  ansible.builtin.set_fact:
    page_oncall: >-
      {{ lookup('pynomaly.incident_response.severity_policy', incident_severity).pagerduty_action == 'trigger' }}
"""

RETURN = r"""
_raw:
  description: One dict per level given.
  type: list
  elements: dict
  contains:
    level:
      description: The level, C(P0) to C(P3).
      type: str
    name:
      description: Critical, High, Medium or Low.
      type: str
    response_target:
      description: The response target in the playbook's words.
      type: str
    response_target_minutes:
      description: The response target in minutes; null for P3 (next business day).
      type: int
    escalation:
      description: The escalation in the playbook's words.
      type: str
    notify_within_minutes:
      description: How soon the on-call engineer must know (0 = page now); null for P2 and P3.
      type: int
    pagerduty_action:
      description: C(trigger) when the level pages or notifies on-call through PagerDuty, else null.
      type: str
    pagerduty_severity:
      description: The PagerDuty event severity (C(critical) pages, C(warning) notifies), or null.
      type: str
    statuspage_impact:
      description: The Statuspage impact that matches the level (critical, major, minor, none).
      type: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import (
    SeverityError,
    policy,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        try:
            return [policy(term) for term in terms]
        except SeverityError as exc:
            raise AnsibleLookupError("pynomaly.incident_response.severity_policy: %s" % exc) from exc
