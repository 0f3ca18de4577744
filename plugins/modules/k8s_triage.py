#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: k8s_triage
short_description: Read-only first assessment of a workload - pods, rollout, nodes, usage, events, logs - with findings
version_added: 0.1.0
description:
  - In one call, reads what the incident playbook's assessment commands show (C(kubectl get pods),
    C(rollout status/history), C(get nodes), C(top pods/nodes), warning events, C(logs --tail) piped through
    grep and awk) and returns them as structured facts.
  - Adds RV(findings), plain sentences most severe first, and RV(suggested_scenario), the incident
    scenario the evidence points to.
  - Work is bounded by O(max_pods), O(log_pods), O(log_tail_lines) and O(max_events); RV(capped) says
    what was cut.
  - Never writes anything; runs the same in check mode.
author:
  - Pynomaly Platform Engineering (@pynomaly)
extends_documentation_fragment:
  - pynomaly.incident_response.k8s_auth
options:
  kind:
    description: Kind of the workload.
    type: str
    choices: [Deployment, StatefulSet, DaemonSet]
    default: Deployment
  name:
    description: Name of the workload.
    type: str
    required: true
  namespace:
    description: Namespace of the workload.
    type: str
    default: default
  container:
    description: Container whose logs are read (default the pod's first).
    type: str
  max_pods:
    description: Examine at most this many of the workload's pods (by name).
    type: int
    default: 50
  log_pods:
    description: Read the logs of at most this many pods.
    type: int
    default: 10
  log_tail_lines:
    description: Read at most this many of the last log lines per pod.
    type: int
    default: 300
  log_since_seconds:
    description: Read only log lines from the last this many seconds.
    type: int
    default: 600
  events_since_seconds:
    description: Report Warning events seen in the last this many seconds.
    type: int
    default: 3600
  max_events:
    description: Report at most this many Warning events (newest first).
    type: int
    default: 20
  thresholds:
    description: Limits the findings judge against (defaults are the incident playbook's).
    type: dict
    default: {}
    suboptions:
      max_error_rate:
        description: Share of 5xx responses in the logs above which error_rate is suggested.
        type: float
        default: 0.05
      max_p95_seconds:
        description: p95 response time (from access log lines) above which latency is suggested.
        type: float
        default: 2.0
      cpu_percent:
        description: Percent of a pod's CPU limit (or a node's allocatable) counted as CPU pressure.
        type: float
        default: 80.0
      memory_percent:
        description: Percent of a pod's memory limit (or a node's allocatable) counted as memory pressure.
        type: float
        default: 90.0
      max_auth_failure_rate:
        description: Share of 401/403 responses above which security is suggested.
        type: float
        default: 0.10
attributes:
  check_mode:
    support: full
    description: Triage only reads; check mode returns the same facts.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
'''

EXAMPLES = r'''
- name: What is wrong with the API?
  pynomaly.incident_response.k8s_triage:
    name: pynomaly-api
    namespace: pynomaly-production
  register: triage

- name: Say it
  ansible.builtin.debug:
    msg: "{{ triage.findings | first | default('nothing found') }} -> {{ triage.suggested_scenario }}"
'''

RETURN = r'''
findings:
  description: Plain sentences, most severe first.
  returned: always
  type: list
  elements: str
  sample: ['1/4 pods of pynomaly-api crash-loop since revision 4 (image pynomaly-api:1.3.0-crashloop)']
suggested_scenario:
  description: The scenario the most severe finding points to.
  returned: always
  type: str
  choices: [api_down, error_rate, memory, cpu, latency, security, app_errors, none]
  sample: api_down
workload:
  description: >-
    Replicas (desired, available, ready, updated), revision, images, change-cause, rollout status and conditions.
  returned: always
  type: dict
history:
  description: Rollout history (revision, revision_history, name, images, change_cause), oldest first.
  returned: always
  type: list
  elements: dict
pods:
  description: >-
    Per pod - name, phase, ready, is_ready, restarts, reasons (CrashLoopBackOff, ImagePullBackOff,
    OOMKilled...), messages, last_termination, node, revision, images, age_seconds.
  returned: always
  type: list
  elements: dict
pods_total:
  description: Number of pods the workload has (RV(pods) may be capped).
  returned: always
  type: int
nodes:
  description: >-
    Per node - ready, memory/disk/PID pressure and, with metrics, CPU and memory use as percent of allocatable.
  returned: always
  type: list
  elements: dict
metrics:
  description: Whether metrics.k8s.io is served, and per pod the CPU/memory usage and percent of requests and limits.
  returned: always
  type: dict
events:
  description: Recent Warning events of the namespace, newest first (reason, message, count, object, last_seen).
  returned: always
  type: list
  elements: dict
logs:
  description: >-
    From the tail of the pods' logs - lines, error_lines (ERROR/CRITICAL/FATAL), top_errors, http_requests,
    status_codes, error_rate (5xx share), auth_failures, auth_failure_rate, latency (p50/p95/max seconds).
  returned: always
  type: dict
capped:
  description: What was cut to keep the work bounded (empty when everything was read).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import (
    K8sClient,
    k8s_auth_argument_spec,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import K8sModuleError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.findings import analyse
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.triage import Triage
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.workloads import Workloads

BOUNDS = ('max_pods', 'log_pods', 'log_tail_lines', 'log_since_seconds', 'events_since_seconds', 'max_events')


def main():
    spec = k8s_auth_argument_spec()
    spec.update(
        kind=dict(type='str', default='Deployment', choices=['Deployment', 'StatefulSet', 'DaemonSet']),
        name=dict(type='str', required=True),
        namespace=dict(type='str', default='default'),
        container=dict(type='str'),
        max_pods=dict(type='int', default=50),
        log_pods=dict(type='int', default=10),
        log_tail_lines=dict(type='int', default=300),
        log_since_seconds=dict(type='int', default=600),
        events_since_seconds=dict(type='int', default=3600),
        max_events=dict(type='int', default=20),
        thresholds=dict(type='dict', default={}, options=dict(
            max_error_rate=dict(type='float', default=0.05),
            max_p95_seconds=dict(type='float', default=2.0),
            cpu_percent=dict(type='float', default=80.0),
            memory_percent=dict(type='float', default=90.0),
            max_auth_failure_rate=dict(type='float', default=0.10),
        )),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = module.params
    for bound in BOUNDS:
        if params[bound] < 1:
            module.fail_json(msg='%s must be at least 1, got %d' % (bound, params[bound]))
    try:
        workloads = Workloads(K8sClient.from_params(params), params['kind'], params['namespace'])
        facts = Triage(workloads, params['name'], container=params['container'],
                       **dict((b, params[b]) for b in BOUNDS)).collect()
    except K8sModuleError as exc:
        module.fail_json(msg=exc.message, changed=False, **exc.details)
    findings, scenario = analyse(facts, params['thresholds'])
    msg = findings[0] if findings else 'nothing wrong found in %s %s/%s' % (
        params['kind'], params['namespace'], params['name'])
    module.exit_json(changed=False, findings=findings, suggested_scenario=scenario, msg=msg, **facts)


if __name__ == '__main__':
    main()
