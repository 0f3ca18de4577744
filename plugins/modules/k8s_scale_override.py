#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: k8s_scale_override
short_description: Temporarily scale a Deployment or StatefulSet (or raise its HPA's floor), and restore it exactly
version_added: 0.1.0
description:
  - O(state=present) scales the workload to O(replicas) (or the original count plus O(increase_by)),
    recording the original replicas in the annotation C(incident-response.pynomaly.io/scale-override).
  - When a HorizontalPodAutoscaler targets the workload, its C(minReplicas) is raised instead (and
    C(maxReplicas) when it is lower), recording their originals, because scaling the workload directly would be
    undone at the HPA's next sync.
  - O(state=absent) restores exactly the recorded originals and removes the record.
  - O(max_replicas) caps the blast radius; a larger target is refused and nothing changes.
  - Idempotent both ways; O(increase_by) counts from the originally recorded replicas, so a rerun does
    not add again. Writes are guarded by the objects' resourceVersion.
author:
  - Pynomaly Platform Engineering (@pynomaly)
extends_documentation_fragment:
  - pynomaly.incident_response.k8s_auth
options:
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
  incident_id:
    description: Incident the override belongs to, kept in the record.
    type: str
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
    description: Nothing is written; RV(workload_patch) and RV(hpa_patch) show what would be sent.
  diff_mode:
    support: full
    description: The workload's replicas, the HPA's minReplicas/maxReplicas and the record, before and after.
'''

EXAMPLES = r'''
- name: Double the API's capacity during the incident (seed - kubectl scale --replicas=6)
  pynomaly.incident_response.k8s_scale_override:
    name: pynomaly-api
    namespace: pynomaly-production
    replicas: 6
    max_replicas: 10
    incident_id: INC-2041

- name: After the incident, put it back exactly as it was
  pynomaly.incident_response.k8s_scale_override:
    name: pynomaly-api
    namespace: pynomaly-production
    state: absent
'''

RETURN = r'''
replicas:
  description: The replicas the override asks for (present) or restores (absent).
  returned: when an override exists or is created
  type: int
  sample: 6
via_hpa:
  description: Name of the HPA whose minReplicas carries the override, if any.
  returned: always
  type: str
  sample: pynomaly-api
record:
  description: The recorded originals (original_replicas, hpa.original_min_replicas, ...).
  returned: when an override exists or is created
  type: dict
  sample: {"original_replicas": 3, "replicas": 6, "incident_id": "INC-2041", "at": "2026-11-27T06:15:00Z"}
workload_patch:
  description: The strategic merge patch sent to the workload (or that would be, in check mode).
  returned: when changed
  type: dict
hpa_patch:
  description: The strategic merge patch sent to the HPA.
  returned: when changed and an HPA owns the workload
  type: dict
available:
  description: Available replicas once the wait ended.
  returned: when O(wait=true), O(state=present) and not in check mode
  type: int
msg:
  description: What was done.
  returned: always
  type: str
'''

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import (
    K8sClient,
    k8s_auth_argument_spec,
    resource_path,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    K8sModuleError,
    ResourceConflict,
    WaitTimeout,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.scale_override import (
    SCALE_RECORD,
    owning_hpa,
    plan_absent,
    plan_present,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.waiter import CapacityWaiter
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.workloads import Workloads


class ScaleOverride(object):
    """The override on one workload: read state, plan, apply."""

    def __init__(self, client, params):
        self.client = client
        self.params = params
        self.workloads = Workloads(client, params['kind'], params['namespace'])

    def read(self):
        obj = self.workloads.get(self.params['name'])
        hpas = self.client.items(resource_path('autoscaling/v2', 'horizontalpodautoscalers', self.params['namespace']),
                                 what='list the HorizontalPodAutoscalers in %s' % self.params['namespace'])
        return obj, owning_hpa(hpas, self.params['kind'], self.params['name'])

    def plan(self):
        obj, hpa = self.read()
        if self.params['state'] == 'absent':
            return obj, hpa, plan_absent(obj, hpa)
        return obj, hpa, plan_present(obj, hpa, replicas=self.params['replicas'],
                                      increase_by=self.params['increase_by'],
                                      max_replicas=self.params['max_replicas'],
                                      incident_id=self.params['incident_id'])

    def apply(self, hpa, change):
        # HPA first: once the floor is raised the record on the workload says what to restore.
        if change.hpa_patch:
            self.client.patch(resource_path('autoscaling/v2', 'horizontalpodautoscalers', self.params['namespace'],
                                            hpa['metadata']['name']),
                              change.hpa_patch, what='patch HorizontalPodAutoscaler %s' % hpa['metadata']['name'])
        if change.workload_patch:
            self.workloads.patch(self.params['name'], change.workload_patch)


def view(obj, hpa):
    annotations = obj['metadata'].get('annotations') or {}
    out = dict(replicas=(obj.get('spec') or {}).get('replicas', 1), record=annotations.get(SCALE_RECORD))
    if hpa is not None:
        out['hpa'] = dict(name=hpa['metadata']['name'], minReplicas=hpa['spec'].get('minReplicas', 1),
                          maxReplicas=hpa['spec']['maxReplicas'])
    return out


def after_view(obj, hpa, change):
    after = view(obj, hpa)
    if change.workload_patch:
        after['record'] = change.workload_patch['metadata']['annotations'][SCALE_RECORD]
        if 'spec' in change.workload_patch:
            after['replicas'] = change.workload_patch['spec']['replicas']
    if change.hpa_patch:
        after['hpa'].update(change.hpa_patch['spec'])
    return after


def run(module):
    params = module.params
    for option in ('replicas', 'increase_by', 'max_replicas'):
        if params[option] is not None and params[option] < (0 if option == 'increase_by' else 1):
            module.fail_json(msg='%s must be %s, got %d' % (
                option, 'zero or more' if option == 'increase_by' else 'at least 1', params[option]))
    override = ScaleOverride(K8sClient.from_params(params), params)
    obj, hpa, change = override.plan()
    if change.changed and not module.check_mode:
        try:
            override.apply(hpa, change)
        except ResourceConflict:
            obj, hpa, change = override.plan()
            if change.changed:
                override.apply(hpa, change)
    result = dict(changed=change.changed, msg=('Would: ' if module.check_mode and change.changed else '') + change.msg,
                  via_hpa=hpa['metadata']['name'] if hpa is not None and (
                      params['state'] == 'present' or (change.record or {}).get('hpa')) else None)
    if change.desired is not None:
        result['replicas'] = change.desired
    if change.record is not None:
        result['record'] = change.record
    if change.changed:
        result['workload_patch'] = change.workload_patch
        if change.hpa_patch:
            result['hpa_patch'] = change.hpa_patch
    if module._diff and change.changed:
        before = view(obj, hpa)
        after = after_view(obj, hpa, change)
        result['diff'] = dict(before=json.dumps(before, indent=2, sort_keys=True) + '\n',
                              after=json.dumps(after, indent=2, sort_keys=True) + '\n',
                              before_header=override.workloads.label(params['name']),
                              after_header=override.workloads.label(params['name']))
    if params['state'] == 'present' and params['wait'] and not module.check_mode:
        try:
            reached = CapacityWaiter(override.workloads, params['name'], change.desired, params['wait_timeout']).wait()
        except WaitTimeout as exc:
            module.fail_json(msg=exc.message, **dict(result, **exc.details))
        result['available'] = reached['available']
    return result


def main():
    spec = k8s_auth_argument_spec()
    spec.update(
        kind=dict(type='str', default='Deployment', choices=['Deployment', 'StatefulSet']),
        name=dict(type='str', required=True),
        namespace=dict(type='str', default='default'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        replicas=dict(type='int'),
        increase_by=dict(type='int'),
        max_replicas=dict(type='int', default=20),
        incident_id=dict(type='str'),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=300),
    )
    module = AnsibleModule(
        argument_spec=spec,
        mutually_exclusive=[('replicas', 'increase_by')],
        required_if=[('state', 'present', ('replicas', 'increase_by'), True)],
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except K8sModuleError as exc:
        module.fail_json(msg=exc.message, changed=False, **exc.details)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
