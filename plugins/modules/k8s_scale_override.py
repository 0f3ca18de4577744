#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: k8s_scale_override
short_description: Scale a workload (or raise its HPA's floor) for an incident, and restore it exactly
version_added: 0.1.0
description:
  - O(state=present) scales the workload to O(replicas) (or the original count plus O(increase_by)), and
    records the change as a temporary fix in the record of incident O(incident_id) - the original replicas and
    what was applied. The record must exist and be open (M(pynomaly.incident_response.incident) opens it).
  - When a HorizontalPodAutoscaler targets the workload, its C(minReplicas) is raised instead (and
    C(maxReplicas) when it is lower), and the record keeps the HPA's originals, because scaling the workload
    directly would be undone at the HPA's next sync.
  - The record is written before the workload or HPA is patched, so it always knows what to restore. Nothing
    is written on the workload; earlier versions kept the originals in the annotation
    C(incident-response.pynomaly.io/scale-override), which the deployment controller copies onto ReplicaSets
    and a rollback brought back. When that annotation is found and its override is still in effect, its
    originals are taken into the record (once), and the annotation is removed in the same patch.
  - One target, one override - O(state=present) is refused while another open incident's record holds an
    active scale override on the same workload.
  - O(state=absent) restores exactly the originals of the fix in the record, then marks the fix removed.
    When the replicas (or the HPA's minReplicas/maxReplicas) are no longer what the fix applied, they were
    changed by hand since; nothing is changed then unless O(force=true).
  - O(max_replicas) caps the blast radius; a larger target is refused and nothing changes.
  - Idempotent both ways; O(increase_by) counts from the original in the record, so a rerun does
    not add again. Patches are guarded by the objects' resourceVersion, record writes by the record's.
author:
  - Pynomaly Platform Engineering (@pynomaly)
extends_documentation_fragment:
  - pynomaly.incident_response.k8s_auth
  - pynomaly.incident_response.incident_record
options:
  incident_id:
    description:
      - The incident the override belongs to; its record keeps the fix. Required for both states.
    type: str
    required: true
  kind:
    description: Kind of the workload.
    type: str
    choices: [Deployment, StatefulSet]
    default: Deployment
  name:
    description: Name of the workload.
    type: str
    required: true
  namespace:
    description: Namespace of the workload.
    type: str
    default: default
  state:
    description: V(present) puts the override in place; V(absent) restores the originals.
    type: str
    choices: [present, absent]
    default: present
  replicas:
    description: Replicas wanted while the override is in place. Mutually exclusive with O(increase_by).
    type: int
  increase_by:
    description: Replicas to add to the original count.
    type: int
  max_replicas:
    description: Refuse to go above this many replicas.
    type: int
    default: 20
  force:
    description:
      - With O(state=absent), restore the originals even when the replicas (or the HPA's bounds) were changed
        by hand since the override, or the HPA it raised no longer targets the workload (then only the
        replicas are put back).
    type: bool
    default: false
  wait:
    description: With O(state=present), wait until the new replicas are available.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the capacity.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description:
      - Writes nothing, neither the record nor the cluster; RV(fix), RV(workload_patch) and RV(hpa_patch) show
        what would be written.
  diff_mode:
    support: full
    description: The workload's replicas, the HPA's minReplicas/maxReplicas and the record's active fix, before and
      after.
'''

EXAMPLES = r'''
- name: Open (or join) the incident the override belongs to
  pynomaly.incident_response.incident:
    service: pynomaly-api
    scenario: resource_pressure
  register: incident

- name: Double the API's capacity during the incident (seed - kubectl scale --replicas=6)
  pynomaly.incident_response.k8s_scale_override:
    name: pynomaly-api
    namespace: pynomaly-production
    replicas: 6
    max_replicas: 10
    incident_id: "{{ incident.incident_id }}"

- name: After the incident, put it back exactly as it was
  pynomaly.incident_response.k8s_scale_override:
    name: pynomaly-api
    namespace: pynomaly-production
    incident_id: "{{ incident.incident_id }}"
    state: absent
'''

RETURN = r'''
incident_id:
  description: The incident whose record holds the fix.
  returned: always
  type: str
  sample: INC-20261204-163005-resource_pressure
fix:
  description:
    - The record's fix entry for the workload, as written (or as it would be, in check mode). C(original) is
      what O(state=absent) restores, C(applied) what the override set; C(hpa) appears in both when an HPA owns
      the workload. With O(state=absent), the entry as closed (C(state=removed)).
  returned: when the record holds a scale override on the workload, or one is created
  type: dict
  sample: {"key": "scale_override:Deployment/pynomaly-production/pynomaly-api", "kind": "scale_override",
           "target": {"kind": "Deployment", "namespace": "pynomaly-production", "name": "pynomaly-api"},
           "original": {"replicas": 3}, "applied": {"replicas": 6}, "state": "active",
           "at": "2026-12-04T16:30:05.123456Z", "by": "oncall@runner pid=4242 run=1a2b3c4d", "removed_at": null}
replicas:
  description: The replicas the override asks for (present), or restores (absent; with an HPA, its minReplicas).
  returned: when the record holds a scale override on the workload, or one is created
  type: int
  sample: 6
via_hpa:
  description: Name of the HPA whose minReplicas carries the override, or null.
  returned: always
  type: str
  sample: pynomaly-api
workload_patch:
  description:
    - The strategic merge patch sent to the workload (or that would be, in check mode) - its replicas without
      an HPA, the removal of the legacy annotation when there was one.
  returned: when the workload is (or would be) patched
  type: dict
  sample: {"metadata": {"resourceVersion": "4711"}, "spec": {"replicas": 6}}
hpa_patch:
  description: The strategic merge patch sent to the HPA (or that would be, in check mode).
  returned: when an HPA owns the workload and its minReplicas or maxReplicas is (or would be) patched
  type: dict
  sample: {"metadata": {"resourceVersion": "4712"}, "spec": {"minReplicas": 6}}
available:
  description: Available replicas once the wait ended.
  returned: when O(wait=true), O(state=present) and not in check mode
  type: int
  sample: 6
msg:
  description: What was done (prefixed C(Would) in check mode when something would change).
  returned: always
  type: str
  sample: Deployment/pynomaly-production/pynomaly-api replicas 3 -> 6
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pynomaly.incident_response.plugins.module_utils.errors import IncidentResponseError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import (
    HOLDER_ENV,
    check_incident_id,
    run_holder,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.service import RECORD_OPTIONS
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import build_store
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import (
    K8sClient,
    k8s_auth_argument_spec,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import WaitTimeout
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.scale_override import ScaleOverride
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.waiter import CapacityWaiter


def run(module):
    params = module.params
    for option in ('replicas', 'increase_by', 'max_replicas'):
        if params[option] is not None and params[option] < (0 if option == 'increase_by' else 1):
            module.fail_json(msg='%s must be %s, got %d' % (
                option, 'zero or more' if option == 'increase_by' else 'at least 1', params[option]))
    reason = check_incident_id(params['incident_id'])
    if reason:
        module.fail_json(msg='incident_id: %s' % reason)
    client = K8sClient.from_params(params)
    override = ScaleOverride(client, build_store(params), params, by=os.environ.get(HOLDER_ENV) or run_holder())
    override.prepare(check_mode=module.check_mode)
    if not module.check_mode:
        try:
            override.apply()
        except IncidentResponseError as exc:
            # The record may already hold the fix (it is written first): a rerun finishes the override.
            module.fail_json(msg=exc.message, changed=override.wrote, **exc.details)
    result = override.result(check_mode=module.check_mode, diff=module._diff)
    if params['state'] == 'present' and params['wait'] and not module.check_mode:
        try:
            reached = CapacityWaiter(override.workloads, params['name'], override.change.desired,
                                     params['wait_timeout']).wait()
        except WaitTimeout as exc:
            # The override is in place and recorded; say so, and what is not available yet.
            module.fail_json(msg=exc.message, **dict(result, **exc.details))
        result['available'] = reached['available']
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            k8s_auth_argument_spec(),
            **RECORD_OPTIONS,
            incident_id=dict(type='str', required=True),
            kind=dict(type='str', default='Deployment', choices=['Deployment', 'StatefulSet']),
            name=dict(type='str', required=True),
            namespace=dict(type='str', default='default'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            replicas=dict(type='int'),
            increase_by=dict(type='int'),
            max_replicas=dict(type='int', default=20),
            force=dict(type='bool', default=False),
            wait=dict(type='bool', default=True),
            wait_timeout=dict(type='int', default=300),
        ),
        mutually_exclusive=[('replicas', 'increase_by')],
        required_if=[('state', 'present', ('replicas', 'increase_by'), True)],
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except IncidentResponseError as exc:
        module.fail_json(msg=exc.message, changed=False, **exc.details)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
