#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: incident_milestone
short_description: Mark a milestone of an incident on its timeline
version_added: 0.1.0
author: Pynomaly Platform Engineering (@pynomaly)
description:
  - Records that an incident reached a milestone (impact started, detected, declared, contained,
    recovered, resolved) at a given time, with the incident's severity, affected component and summary.
  - The P(pynomaly.incident_response.incident_timeline#callback) callback picks the milestone up from
    the task result, files the run under the incident's folder and measures the time to detect, contain
    and recover against the response target and the RTO table.
  - Changes nothing on any host; it only validates and normalises the milestone, so it reports
    C(changed=false) and behaves the same under C(--check).
  - Runs on the controller through its action plugin (no module process is started).
options:
  incident_id:
    description:
      - The incident's stable id; every run that marks a milestone of the same id adds to the same timeline.
      - Letters, digits, C(.), C(_) and C(-) only.
    type: str
    required: true
  milestone:
    description:
      - C(started) - the impact began (for example an alert's C(startsAt)); C(detected) - someone or
        something noticed; C(declared) - the incident was declared with a severity; C(contained) - the
        impact stopped growing; C(recovered) - the service works again; C(resolved) - the incident is closed.
    type: str
    required: true
    choices: [started, detected, declared, contained, recovered, resolved]
  at:
    description:
      - When the milestone was reached, an ISO 8601 timestamp with a time zone (C(2026-01-02T03:04:05Z)).
      - Defaults to now.
    type: str
  severity:
    description: The incident's severity at this milestone.
    type: str
    choices: [P0, P1, P2, P3]
  component:
    description: The affected component, whose RTO the time to recover is measured against.
    type: str
    choices: [api, database, ml_models, file_storage]
  summary:
    description: One line describing the incident.
    type: str
  commander:
    description: The incident commander.
    type: str
  note:
    description: Free text shown next to the milestone on the timeline.
    type: str
attributes:
  action:
    description: Runs on the controller through the collection's action plugin; no module process is started.
    support: full
  check_mode:
    description: Behaves the same under C(--check); it changes nothing either way.
    support: full
  diff_mode:
    description: There is nothing to show a difference of.
    support: none
notes:
  - Enable the P(pynomaly.incident_response.incident_timeline#callback) callback to get the timeline
    files; without it the milestone only appears in the task result.
"""

EXAMPLES = r"""
- name: Mark the incident declared
  pynomaly.incident_response.incident_milestone:
    incident_id: INC-20260102-api-down
    milestone: declared
    severity: P0
    component: api
    summary: API health checks failing, 5xx on every request
    commander: alice

- name: The alert says when the impact began
  pynomaly.incident_response.incident_milestone:
    incident_id: INC-20260102-api-down
    milestone: started
    at: "{{ alert.startsAt }}"
"""

RETURN = r"""
incident_milestone:
  description: The milestone as the timeline records it (options not given are null).
  returned: success
  type: dict
  contains:
    incident_id:
      description: The incident id.
      type: str
      sample: INC-20260102-api-down
    milestone:
      description: The milestone reached.
      type: str
      sample: declared
    at:
      description: When, in UTC, ISO 8601 with a C(Z) suffix.
      type: str
      sample: "2026-01-02T03:04:05.000000Z"
    severity:
      description: The severity given.
      type: str
      sample: P0
    component:
      description: The component given.
      type: str
      sample: api
    summary:
      description: The summary given.
      type: str
    commander:
      description: The incident commander given.
      type: str
    note:
      description: The note given.
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident_milestone import (
    ARGUMENT_SPEC,
    MilestoneError,
    build_milestone,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        milestone = build_milestone(module.params)
    except MilestoneError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, incident_milestone=milestone)


if __name__ == "__main__":
    main()
