#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: incident
short_description: Open, join, read, update and resolve the incident record every runner shares
version_added: 0.2.0
description:
  - One record per incident, kept where every runner reaches it - a laptop, an AWX job in a fresh
    container, an alert-driven run. It is a ConfigMap in O(record_namespace) of the cluster, labelled by service,
    scenario, status and severity, with the severity, title, commander, milestones, what each channel was sent,
    every temporary fix applied (and what it replaced), the escalation level, the runs and their timeline.
    Every write is guarded by the object's resourceVersion and retried on a conflict.
  - O(state=open) joins the open incident of O(service) and O(scenario), or opens a new one
    (C(INC-<UTC yyyymmdd-HHMMSS>-<scenario>)); with O(incident_id) it opens or joins that one. Two runs that
    start together agree on one incident. A resolved incident is never reopened unless O(reopen=true).
  - O(state=open) also takes the incident's C(coordination.k8s.io/v1) Lease for the rest of the run (see
    O(lease)); a second run for the same incident waits up to O(lease_wait_timeout) seconds, then fails naming
    the holder. The Lease is renewed while the run lives, released when it ends, and expires
    O(lease_duration) seconds after a run that was killed.
  - When the cluster does not answer (it may be the incident), the call does not fail; the opening is kept
    aside in O(spool_dir) and written by the next run that reaches the cluster, and RV(store) is V(deferred),
    so paging goes on.
  - Runs on the controller (an action plugin); the connection options are those of the other Kubernetes
    modules, and it is in the C(k8s) action group.
author:
  - Pynomaly Platform Engineering (@pynomaly)
extends_documentation_fragment:
  - pynomaly.incident_response.k8s_auth
options:
  state:
    description:
      - V(open) joins or opens the incident and takes its Lease; V(update) records fields or an
        event; V(resolved) marks it resolved (a new outage then opens a new incident). Read it with
        M(pynomaly.incident_response.incident_info).
    type: str
    choices: [open, update, resolved]
    default: open
  incident_id:
    description:
      - The incident. Letters, digits, C(.), C(_) and C(-), at most 128. Required unless O(state=open) with
        O(service) and O(scenario).
    type: str
  service:
    description: The service the incident is about (a label of the record); with O(scenario), finds the open one.
    type: str
  scenario:
    description: The scenario (C(api_down), C(memory), ...), lowercase; part of a new incident's id.
    type: str
  open_new:
    description:
      - With O(state=open) and no open incident for O(service)/O(scenario), open a new one. V(false) only joins
        (for a run that found the service healthy).
      - With O(incident_id) and V(false), an id with no record is not opened; the result says so with
        RV(active=false) and RV(exists=false).
    type: bool
    default: true
  reopen:
    description: With O(state=open) and O(incident_id), reopen that incident if it was resolved.
    type: bool
    default: false
  severity:
    description:
      - The severity to record. A run that joins an open incident only raises it, never lowers it.
    type: str
    choices: [P0, P1, P2, P3]
  signals:
    description:
      - Without O(severity), classify the incident from what was observed by the seed's severity rules
        (the P(pynomaly.incident_response.severity#filter) filter's signals, for example C(outage),
        C(partial_outage), C(unassessed), C(error_ratio), C(p95_latency)).
      - The result's RV(classification) gives the severity and the reasons.
    type: dict
  title:
    description: A one-line title.
    type: str
  commander:
    description: The incident commander.
    type: str
  component:
    description: The component affected (for the RTO).
    type: str
    choices: [api, database, ml_models, file_storage]
  event:
    description: With O(state=update), a line for the incident's event log (e.g. why triage failed).
    type: str
  event_kind:
    description: The kind of O(event).
    type: str
    default: note
  store:
    description:
      - V(cluster) keeps the record in the cluster. V(local) keeps it in O(local_dir) on this machine, for runs
        with no cluster at all; other runners do not see it.
    type: str
    choices: [cluster, local]
    default: cluster
  record_namespace:
    description: The namespace of the records and Leases (created if missing and allowed).
    type: str
    default: incident-response
  local_dir:
    description: The folder of O(store=local).
    type: path
    default: ~/.ansible/incident_records
  spool_dir:
    description: Where changes wait while the cluster does not answer. Nothing is written here otherwise.
    type: path
    default: ~/.ansible/incident_spool
  lease:
    description: With O(state=open), hold the incident's Lease for the rest of the run.
    type: bool
    default: true
  lease_duration:
    description: Seconds a Lease lasts without renewal (renewed every third of it). 5 to 3600.
    type: int
    default: 30
  lease_wait_timeout:
    description: Seconds to wait for another run's Lease before failing. 0 to 3600.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
    description: Reads only; no Lease is taken. RV(incident_id) is the incident a real run would open or join.
  diff_mode:
    support: full
    description: The record's summary before and after.
'''

EXAMPLES = r'''
- name: Join the open API incident, or open one
  pynomaly.incident_response.incident:
    service: pynomaly-api
    scenario: api_down
    severity: P0
    title: pynomaly-api is down
  register: incident

- name: Record why triage failed
  pynomaly.incident_response.incident:
    state: update
    incident_id: "{{ incident.incident_id }}"
    event: "triage failed: the Kubernetes API is unreachable"
    event_kind: triage_failed

- name: Resolve it (the next outage then opens a new incident)
  pynomaly.incident_response.incident:
    state: resolved
    incident_id: "{{ incident.incident_id }}"
'''

RETURN = r'''
incident_id:
  description: The incident's id (the one opened, joined or read; in check mode, the one a real run would use).
  returned: always
  type: str
  sample: INC-20261204-163005-api_down
active:
  description: True when the incident is open (false when resolved, or none was found or opened).
  returned: always
  type: bool
created:
  description: True when this call opened a new incident (would, in check mode).
  returned: with O(state=open)
  type: bool
joined:
  description: True when this call joined an incident that was already open.
  returned: with O(state=open)
  type: bool
incident:
  description: The record's summary; C(fixes) lists the active temporary fixes by kind, C(channels) what each
    channel was sent.
  returned: when there is an incident
  type: dict
  sample: {"id": "INC-20261204-163005-api_down", "status": "open", "severity": "P0", "milestones": {},
           "channels": {}, "fixes": {"scale_override": []}, "active_fixes": 0}
store:
  description: V(cluster), V(local), or V(deferred) when the cluster did not answer and the change was kept aside.
  returned: always
  type: str
where:
  description: The object or file that holds the record.
  returned: when there is an incident
  type: str
lease:
  description: The Lease this run holds (holder, waited seconds, previous holder).
  returned: with O(state=open) when the Lease was taken
  type: dict
deferred:
  description: The spool file the change was kept in.
  returned: when RV(store) is V(deferred)
  type: str
store_error:
  description: Why the cluster could not be reached.
  returned: when RV(store) is V(deferred)
  type: str
run_id:
  description: This run's id, as the timeline records it.
  returned: always
  type: str
exists:
  description: False when O(open_new=false) found no record for O(incident_id).
  returned: when O(open_new=false) found nothing
  type: bool
  sample: false
classification:
  description: The severity this call brought and why (given, or classified from O(signals)).
  returned: when O(severity) or O(signals) is given
  type: dict
  sample: {"severity": "P0", "reasons": ["complete system outage"]}
policy:
  description: The response target, escalation and channel rules of the incident's severity.
  returned: when the incident has a severity
  type: dict
  sample: {"level": "P0", "name": "Critical", "response_target": "Immediate (< 15 minutes)"}
msg:
  description: What was done.
  returned: always
  type: str
'''

import time
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pynomaly.incident_response.plugins.module_utils.errors import IncidentResponseError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import run_holder
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.service import (
    ARGUMENT_SPEC,
    IncidentService,
    check_params,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import build_store


def main():
    """Without the action plugin (a module run elsewhere): the record only, no Lease is kept."""
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    try:
        check_params(params)
        store = build_store(params)
        result = IncidentService(store, params, uuid.uuid4().hex, run_holder(), check_mode=module.check_mode,
                                 clock=time.time).run()
    except IncidentResponseError as exc:
        module.fail_json(msg=exc.message, changed=False, **exc.details)
    result.pop('diff', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
