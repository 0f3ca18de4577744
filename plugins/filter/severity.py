# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Pynomaly Platform Engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: severity
short_description: Classify an incident as P0-P3 from observed signals
version_added: 0.1.0
author: Pynomaly Platform Engineering (@pynomaly)
description:
  - Maps observed signals to a severity level by the incident response playbook's rules.
  - P0 (Critical) - complete outage, data loss or corruption, security breach, revenue impact.
  - P1 (High) - significant feature degradation, error rate above 5 %, p95 latency above 2 s, partial outage.
  - P2 (Medium) - minor feature issues, non-critical service degradation, monitoring alerts.
  - P3 (Low) - cosmetic issues, and anything no other rule matches.
  - The most severe matching rule wins.
  - The thresholds are strict, as the playbook writes "> 5%" and "> 2s". An error rate of exactly 5 %
    or a p95 latency of exactly 2 s does not make an incident P1; it is classified by the other
    signals (for example the monitoring alert that reported it makes it P2).
  - Unknown signal names, wrong types and out-of-range numbers fail the task with a clear message.
  - Use the P(pynomaly.incident_response.severity_policy#lookup) lookup for the response target and
    escalation of the level.
options:
  _input:
    description:
      - The observed signals. Every key is optional; unknown keys are an error.
      - Flags (booleans) C(outage), C(data_loss), C(security_breach), C(revenue_impact),
        C(significant_degradation), C(partial_outage), C(unassessed), C(minor_issue), C(degraded), C(alert),
        C(cosmetic).
      - Numbers C(error_rate) (percent, 0-100, a trailing C(%) is accepted) or C(error_ratio) (0-1), and
        C(p95_latency) (seconds) or C(p95_latency_ms).
    type: dict
    required: true
  explain:
    description:
      - Return a dict with the level, the rules that matched (C(reasons)) and the normalised numbers
        instead of the level alone.
    type: bool
    default: false
  error_rate_threshold:
    description: Error rate in percent above which the incident is P1.
    type: float
    default: 5.0
  p95_threshold:
    description: p95 latency in seconds above which the incident is P1.
    type: float
    default: 2.0
"""

EXAMPLES = r"""
- name: Classify what the probe saw
  ansible.builtin.set_fact:
    incident_severity: >-
      {{ {'error_rate': probe.error_rate_percent, 'p95_latency': probe.p95_seconds}
         | pynomaly.incident_response.severity }}

- name: A complete outage is P0
  ansible.builtin.assert:
    that: "({'outage': true} | pynomaly.incident_response.severity) == 'P0'"

- name: Why is it P1?
  ansible.builtin.debug:
    msg: "{{ {'error_rate': 7.5, 'alert': true} | pynomaly.incident_response.severity(explain=true) }}"
    # {"severity": "P1", "reasons": ["error rate 7.5 % > 5 %"], "error_rate": 7.5, "p95_latency": null}
"""

RETURN = r"""
_value:
  description:
    - The level, one of C(P0), C(P1), C(P2), C(P3).
    - With O(explain=true), a dict with C(severity), C(reasons) (list of the matched rules, in plain words),
      C(error_rate) (percent) and C(p95_latency) (seconds).
  type: raw
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import (
    DEFAULT_ERROR_RATE_THRESHOLD,
    DEFAULT_P95_THRESHOLD,
    SeverityError,
    classify,
)


def severity(signals, explain=False, error_rate_threshold=DEFAULT_ERROR_RATE_THRESHOLD,
             p95_threshold=DEFAULT_P95_THRESHOLD):
    try:
        result = classify(signals, error_rate_threshold=error_rate_threshold, p95_threshold=p95_threshold)
    except SeverityError as exc:
        raise AnsibleFilterError("pynomaly.incident_response.severity: %s" % exc) from exc
    return result if explain else result["severity"]


class FilterModule(object):
    def filters(self):
        return {"severity": severity}
