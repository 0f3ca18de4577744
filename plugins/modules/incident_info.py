#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: incident_info
short_description: Read an incident record, or list the incidents of a service, scenario or status
version_added: 0.2.0
description:
  - Reads the records M(pynomaly.incident_response.incident) writes. With O(incident_id), that incident's summary,
    event log and timeline (every run of every runner). Without it, the incidents matching O(service),
    O(scenario) and O(status).
  - Runs on the controller (an action plugin); it is in the C(k8s) action group.
author:
  - Pynomaly Platform Engineering (@pynomaly)
extends_documentation_fragment:
  - pynomaly.incident_response.k8s_auth
options:
  incident_id:
    description: The incident to read. Fails when it has no record.
    type: str
  service:
    description: Only incidents of this service.
    type: str
  scenario:
    description: Only incidents of this scenario.
    type: str
  status:
    description: Only incidents with this status.
    type: str
    choices: [open, resolved]
  store:
    description: Where the records are (see M(pynomaly.incident_response.incident)).
    type: str
    choices: [cluster, local]
    default: cluster
  record_namespace:
    description: The namespace of the records.
    type: str
    default: incident-response
  local_dir:
    description: The folder of O(store=local).
    type: path
    default: ~/.ansible/incident_records
attributes:
  check_mode:
    support: full
    description: Reads only, in any mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
'''

EXAMPLES = r'''
- name: What does the record say about this incident (fixes to remove, channels sent)
  pynomaly.incident_response.incident_info:
    incident_id: INC-20261204-163005-api_down
  register: record

- name: The open incidents of the API
  pynomaly.incident_response.incident_info:
    service: pynomaly-api
    status: open
  register: open_incidents
'''

RETURN = r'''
incident:
  description: The incident's summary (status, severity, milestones, channels, active fixes by kind).
  returned: with O(incident_id)
  type: dict
incident_id:
  description: The incident read.
  returned: with O(incident_id)
  type: str
active:
  description: True when the incident is open.
  returned: with O(incident_id)
  type: bool
events:
  description: The incident's event log (notes such as why triage failed).
  returned: with O(incident_id)
  type: list
  elements: dict
timeline:
  description: Every run's timeline, oldest first, as the incident_timeline callback records it.
  returned: with O(incident_id)
  type: list
  elements: dict
incidents:
  description: The summaries of the incidents found, oldest first.
  returned: always
  type: list
  elements: dict
where:
  description: The object or file that holds the record.
  returned: with O(incident_id)
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pynomaly.incident_response.plugins.module_utils.errors import IncidentResponseError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.service import (
    INFO_ARGUMENT_SPEC,
    read_incidents,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import build_store


def main():
    module = AnsibleModule(argument_spec=INFO_ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = read_incidents(build_store(module.params), module.params)
    except IncidentResponseError as exc:
        module.fail_json(msg=exc.message, changed=False, **exc.details)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
