#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: statuspage_update
short_description: Open, update, resolve or delete a Statuspage incident
version_added: 0.1.0
author:
  - Pynomaly Platform Engineering (@pynomaly)
description:
  - Finds an incident on an Atlassian Statuspage page by O(incident_id), or by O(name) among the
    page's unresolved incidents (every page of them), and makes it match the task - its status,
    impact, latest update and component statuses.
  - Sends a write only when something differs. A O(body) that is already the incident's latest
    update is not posted again, so a rerun sends only reads.
  - Retries a rate-limited call after the C(Retry-After) the API asks for, and 5xx answers and
    connection errors with backoff, within O(max_attempts) and O(max_retry_time).
extends_documentation_fragment:
  - pynomaly.incident_response.statuspage
options:
  incident_id:
    description:
      - Id of the incident to manage. With it, O(name) renames the incident.
      - Without it the incident is looked up by O(name).
    type: str
  name:
    description:
      - Name of the incident. Without O(incident_id), the one unresolved incident with exactly this
        name is managed (an error if there are several); if there is none, O(state=present) opens one.
      - When resolving by name and no unresolved incident has it, the newest incident of that name
        is the one compared (so a rerun after resolving changes nothing).
    type: str
  status:
    description:
      - The incident's status. A new incident starts as C(investigating) unless set.
      - O(state=resolved) implies C(resolved).
    type: str
    choices: [investigating, identified, monitoring, resolved]
  impact:
    description:
      - The impact shown for the incident (sent as C(impact_override)).
      - Without it Statuspage derives the impact from the affected components.
    type: str
    choices: [none, minor, major, critical]
  body:
    description:
      - Text of the incident update to post. Posted only when it differs from the latest update.
    type: str
  components:
    description:
      - Component statuses to set, as a mapping of component name (or id) to status. Names are
        resolved through the page's component list; an unknown name fails before anything is written.
      - The components become affected components of the incident.
      - Statuses are C(operational), C(under_maintenance), C(degraded_performance), C(partial_outage)
        and C(major_outage).
    type: dict
  deliver_notifications:
    description:
      - Whether Statuspage notifies the page's subscribers of the write.
    type: bool
    default: true
  state:
    description:
      - C(present) opens the incident or brings it to the given status, impact, body and components.
      - C(resolved) resolves it (with the given body and components, typically C(operational)).
        Nothing to resolve is not an error.
      - C(absent) deletes the incident. An incident that does not exist is not an error.
    type: str
    choices: [present, resolved, absent]
    default: present
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the incident and reports the write it would send (RV(write), C(sent=false)); sends no write.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Shows the name, status, impact, latest update and component statuses before and after.
notes:
  - Component statuses are not reset automatically when an incident is resolved; pass them in O(components).
seealso:
  - name: Statuspage REST API
    description: The API this module calls.
    link: https://developer.statuspage.io/
"""

EXAMPLES = r"""
- name: Open the incident (or update it if it is already open)
  pynomaly.incident_response.statuspage_update:
    page_id: "{{ incident_statuspage_page_id }}"
    api_key: "{{ incident_statuspage_api_key }}"
    name: API unavailable
    status: investigating
    impact: critical
    body: We are investigating failing requests to the API.
    components:
      API: major_outage
  register: opened

- name: Post progress on the same incident
  pynomaly.incident_response.statuspage_update:
    page_id: "{{ incident_statuspage_page_id }}"
    api_key: "{{ incident_statuspage_api_key }}"
    incident_id: "{{ opened.incident.id }}"
    status: monitoring
    body: A fix has been deployed; we are monitoring.
    components:
      API: degraded_performance

- name: Resolve it and bring the component back
  pynomaly.incident_response.statuspage_update:
    page_id: "{{ incident_statuspage_page_id }}"
    api_key: "{{ incident_statuspage_api_key }}"
    name: API unavailable
    state: resolved
    body: The API is operating normally.
    components:
      API: operational

- name: Rehearse against the lab's stand-in, connection set once for the whole play
  hosts: localhost
  module_defaults:
    group/pynomaly.incident_response.statuspage:
      api_url: "{{ incident_statuspage_api_url }}"
      page_id: "{{ incident_statuspage_page_id }}"
      api_key: "{{ incident_statuspage_api_key }}"
  tasks:
    - name: Open the incident
      pynomaly.incident_response.statuspage_update:
        name: Database degraded
        impact: major
        components:
          Database: partial_outage
"""

RETURN = r"""
incident:
  description:
    - The incident as Statuspage returned it after the write, or as it was read when nothing was
      written (and in check mode). Keys are the API's own.
    - Null when there is no incident (nothing to resolve or delete; or one would be created in check mode).
  returned: always
  type: dict
  sample:
    id: p31zjtct2jer
    name: API unavailable
    status: investigating
    impact: critical
    impact_override: critical
    created_at: "2026-01-02T03:04:05.000Z"
    resolved_at: null
    shortlink: https://stspg.io/abcde
    incident_updates:
      - id: 7rnvb1zwxj4y
        status: investigating
        body: We are investigating failing requests to the API.
        created_at: "2026-01-02T03:04:05.000Z"
    components:
      - id: 8kbf7d35c070
        name: API
        status: major_outage
operation:
  description: What was done (or would be done in check mode).
  returned: always
  type: str
  choices: [created, updated, resolved, deleted, none]
  sample: created
write:
  description:
    - The one write request sent (or, in check mode, that would be sent); null when nothing differs.
    - C(path) is relative to the page (C(/pages/<page_id>)).
  returned: always
  type: dict
  contains:
    method:
      description: HTTP method.
      type: str
      sample: PATCH
    path:
      description: Path below the page.
      type: str
      sample: /incidents/p31zjtct2jer
    body:
      description: The JSON body.
      type: dict
    sent:
      description: Whether it was sent (false in check mode).
      type: bool
requests:
  description: How many HTTP requests the module sent, retries included.
  returned: always
  type: int
  sample: 2
retry_waits:
  description: Seconds waited before each retry (a 429's C(Retry-After), or backoff after a 5xx or connection error).
  returned: always
  type: list
  elements: float
  sample: [1.0]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.client import (
    HAS_TENACITY,
    STATUSPAGE_COMMON_ARGS,
    TENACITY_IMPORT_ERROR,
    StatuspageClient,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.errors import StatuspageError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.incident import (
    COMPONENT_STATUSES,
    IMPACTS,
    INCIDENT_STATUSES,
    StatuspageIncident,
)


def argument_spec():
    spec = dict(STATUSPAGE_COMMON_ARGS)
    spec.update(
        incident_id=dict(type="str"),
        name=dict(type="str"),
        status=dict(type="str", choices=list(INCIDENT_STATUSES)),
        impact=dict(type="str", choices=list(IMPACTS)),
        body=dict(type="str"),
        components=dict(type="dict"),
        deliver_notifications=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "resolved", "absent"], default="present"),
    )
    return spec


def check_options(module):
    params = module.params
    problems = []
    if params["state"] == "resolved" and params["status"] not in (None, "resolved"):
        problems.append("state=resolved cannot take status=%s" % params["status"])
    for key, status in (params["components"] or {}).items():
        if status not in COMPONENT_STATUSES:
            problems.append("components[%r] is %r; valid statuses are %s"
                            % (key, status, ", ".join(COMPONENT_STATUSES)))
    for key in ("incident_id", "name", "page_id", "api_key"):
        if params[key] is not None and not params[key].strip():
            problems.append("%s must not be empty" % key)
    if problems:
        module.fail_json(msg="Invalid options: %s. Nothing was sent." % "; ".join(problems))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_one_of=[("incident_id", "name")],
        supports_check_mode=True,
    )
    if not HAS_TENACITY:
        module.fail_json(msg=missing_required_lib("tenacity"), exception=TENACITY_IMPORT_ERROR)
    check_options(module)
    params = module.params
    client = StatuspageClient(params["api_url"], params["api_key"], params["page_id"],
                              validate_certs=params["validate_certs"], timeout=params["timeout"],
                              max_attempts=params["max_attempts"], max_retry_time=params["max_retry_time"])
    desired = dict(name=params["name"], rename=bool(params["incident_id"]), status=params["status"],
                   impact=params["impact"], body=params["body"], components=params["components"])
    try:
        changed, operation, incident, write, diff = StatuspageIncident(
            client, incident_id=params["incident_id"], name=params["name"],
        ).ensure(params["state"], desired, params["deliver_notifications"], module.check_mode)
    except StatuspageError as exc:
        module.fail_json(msg=exc.message, requests=client.requests_sent, retry_waits=client.waits, **exc.details)
    result = dict(changed=changed, operation=operation, incident=incident, write=write,
                  requests=client.requests_sent, retry_waits=client.waits)
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
