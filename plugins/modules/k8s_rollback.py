#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: k8s_rollback
short_description: Roll back Deployments, StatefulSets and DaemonSets like kubectl rollout undo, converging
version_added: 0.1.0
description:
  - Restores an earlier revision's pod template the way C(kubectl rollout undo) does at the API level.
    The history is the ReplicaSets (Deployment) or ControllerRevisions (StatefulSet, DaemonSet)
    controlled by the workload and matching its whole selector.
  - "Unlike C(kubectl rollout undo) and M(kubernetes.core.k8s_rollback), it converges: a target
    O(revision) is also found under the number the controller renumbered it to
    (C(deployment.kubernetes.io/revision-history)), an O(image) target picks the newest revision running
    that image, and with O(incident_id) the rollback is recorded on the workload so rolling back to
    the previous revision is not repeated for the same incident."
  - Skips when the current template already equals the target's (ignoring C(pod-template-hash)).
    Refuses a paused Deployment.
  - Writes one JSON patch of C(/spec/template) (and C(/metadata/annotations)) guarded by a test of
    C(metadata.resourceVersion); on a conflict it re-reads, re-decides and retries once.
  - With O(wait), returns when C(kubectl rollout status) would report success, and fails fast with the
    failing pods' reasons on C(ProgressDeadlineExceeded) or when the target revision's pods crash-loop
    or cannot pull their image.
  - All workloads are checked before any is patched, so a bad target (unknown revision, no history,
    paused, missing object) changes nothing.
author:
  - Pynomaly Platform Engineering (@pynomaly)
extends_documentation_fragment:
  - pynomaly.incident_response.k8s_auth
options:
  kind:
    description: Kind of the workload(s).
    type: str
    choices: [Deployment, StatefulSet, DaemonSet]
    default: Deployment
  name:
    description: Name of the workload. Exactly one of O(name) and O(label_selectors) is required.
    type: str
  namespace:
    description: Namespace of the workload(s).
    type: str
    default: default
  label_selectors:
    description:
      - Label selectors (C(app=api), C(tier in (web,edge))); every workload of O(kind) in O(namespace)
        matching all of them is rolled back, each by its own name. Failing when none matches.
    type: list
    elements: str
  revision:
    description:
      - Roll back to this revision number, as shown by C(kubectl rollout history). For Deployments it is
        also found after a rollback renumbered it, so a rerun with the same number converges.
      - Mutually exclusive with O(image). Without both, rolls back to the previous revision.
    type: int
  image:
    description:
      - Roll back to the newest revision whose containers use this image (C(repo:tag); a registry host on
        the running image may be left out).
    type: str
  incident_id:
    description:
      - Records the rollback on the workload (annotation C(incident-response.pynomaly.io/rollback)) so a rerun
        for the same incident, while that revision is still current, changes nothing (not even with the
        default target, the previous revision).
    type: str
  only_if_unhealthy:
    description:
      - Roll back only when the rollout is not healthy (not complete, replicas unavailable, or pods
        crash-looping / failing to pull).
    type: bool
    default: false
  wait:
    description: Wait until the rollout is complete (C(kubectl rollout status) semantics).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for all rollouts to complete.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: Sends no write; reports what would be patched (RV(workloads[].patch)).
  diff_mode:
    support: full
    description: The workload's annotations and pod template before and after.
notes:
  - "Deployments: like C(kubectl rollout undo), bookkeeping annotations stay the Deployment's and the
    ReplicaSet's others (including its C(kubernetes.io/change-cause)) are taken; unlike it, the
    Deployment's other annotations are kept."
  - "StatefulSets and DaemonSets: only the pod template changes (as C(kubectl rollout undo)), plus the rollback record
    annotation, always written for them: ControllerRevisions keep no revision-history, so the record is how a rerun
    with the same O(revision) finds it after the controller renumbered it."
'''

EXAMPLES = r'''
- name: Roll the API back to the previous revision, once per incident, and wait for it
  pynomaly.incident_response.k8s_rollback:
    name: pynomaly-api
    namespace: pynomaly-production
    incident_id: INC-2041
  register: rollback

- name: Back to the last revision that ran 1.2.0, only if the rollout is broken
  pynomaly.incident_response.k8s_rollback:
    name: pynomaly-api
    namespace: pynomaly-production
    image: pynomaly-api:1.2.0
    only_if_unhealthy: true

- name: Roll back every worker deployment to revision 3, without waiting
  pynomaly.incident_response.k8s_rollback:
    namespace: pynomaly-production
    label_selectors: ["app.kubernetes.io/part-of=pynomaly", "tier=worker"]
    revision: 3
    wait: false

- name: A StatefulSet, through its ControllerRevisions
  pynomaly.incident_response.k8s_rollback:
    kind: StatefulSet
    name: pynomaly-cache
    namespace: pynomaly-production
'''

RETURN = r'''
workloads:
  description: One entry per workload considered.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: Workload kind.
      type: str
      returned: always
    name:
      description: Workload name.
      type: str
      returned: always
    namespace:
      description: Workload namespace.
      type: str
      returned: always
    changed:
      description: Whether this workload was (or in check mode would be) patched.
      type: bool
      returned: always
    msg:
      description: What happened, or why nothing was done.
      type: str
      returned: always
      sample: current template already matches revision 4
    from_revision:
      description: The revision running before the rollback.
      type: int
      returned: always
      sample: 5
    to_revision:
      description: The revision rolled back to, under the number it had before the rollback.
      type: int
      returned: when a target was selected
      sample: 4
    revision:
      description: The workload's revision after the rollback (Deployments renumber the restored one).
      type: int
      returned: when O(wait=true) and the workload was patched
      sample: 6
    from_images:
      description: Container images before.
      type: list
      elements: str
      returned: always
      sample: [pynomaly-api:1.3.0]
    to_images:
      description: Container images of the target revision.
      type: list
      elements: str
      returned: when a target was selected
      sample: [pynomaly-api:1.2.0]
    change_cause:
      description: The target revision's C(kubernetes.io/change-cause).
      type: str
      returned: when a target was selected
    history:
      description: The rollout history read (revision, revision_history, name, images, change_cause).
      type: list
      elements: dict
      returned: always
    patch:
      description: The JSON patch sent (or that would be sent in check mode).
      type: list
      elements: dict
      returned: when changed
    rollout_status:
      description: The rollout status after waiting (done, failed, message as C(kubectl rollout status)).
      type: dict
      returned: when O(wait=true) and not in check mode
      sample: {"done": true, "failed": false, "message": "deployment \"pynomaly-api\" successfully rolled out"}
    diff:
      description: Before and after (annotations and pod template).
      type: dict
      returned: when changed and in diff mode
diff:
  description: The per-workload diffs, as Ansible shows them with C(--diff).
  returned: when changed and in diff mode
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import (
    K8sClient,
    k8s_auth_argument_spec,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    K8sModuleError,
    ObjectNotFound,
    RolloutFailed,
    WaitTimeout,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.history import REVISION
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.rollback import (
    RollbackTarget,
    WorkloadRollback,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.rollout import rollout_status
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.waiter import RolloutWaiter
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.workloads import Workloads


def argument_spec():
    spec = k8s_auth_argument_spec()
    spec.update(
        kind=dict(type='str', default='Deployment', choices=['Deployment', 'StatefulSet', 'DaemonSet']),
        name=dict(type='str'),
        namespace=dict(type='str', default='default'),
        label_selectors=dict(type='list', elements='str'),
        revision=dict(type='int'),
        image=dict(type='str'),
        incident_id=dict(type='str'),
        only_if_unhealthy=dict(type='bool', default=False),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=300),
    )
    return spec


def find_names(workloads, params):
    if params['name']:
        return [params['name']]
    selector = ','.join(params['label_selectors'])
    names = sorted(item['metadata']['name'] for item in workloads.list(selector))
    if not names:
        raise ObjectNotFound('No %s in namespace %s matches %s' % (workloads.kind, workloads.namespace, selector))
    return names


def run(module):
    params = module.params
    if params['revision'] is not None and params['revision'] < 1:
        module.fail_json(msg='revision must be a positive revision number, got %d' % params['revision'])
    if params['wait_timeout'] < 1:
        module.fail_json(msg='wait_timeout must be at least 1 second, got %d' % params['wait_timeout'])
    client = K8sClient.from_params(params)
    workloads = Workloads(client, params['kind'], params['namespace'])
    target = RollbackTarget(revision=params['revision'], image=params['image'],
                            incident_id=params['incident_id'], only_if_unhealthy=params['only_if_unhealthy'])
    rollbacks = [WorkloadRollback(workloads, name, target) for name in find_names(workloads, params)]
    # Decide for every workload before writing anything: a bad target anywhere changes nothing.
    for rollback in rollbacks:
        rollback.prepare()
    if not module.check_mode:
        for rollback in rollbacks:
            rollback.apply()
    changed_rollbacks = [rb for rb in rollbacks if rb.decision.changes]
    results = dict((rb.name, rb.result(diff=module._diff, check_mode=module.check_mode)) for rb in rollbacks)
    out = dict(changed=bool(changed_rollbacks), workloads=[results[rb.name] for rb in rollbacks])
    if module._diff and changed_rollbacks:
        out['diff'] = [results[rb.name]['diff'] for rb in changed_rollbacks]
    if params['wait'] and not module.check_mode:
        waiter = RolloutWaiter([(workloads, rb.name, rb.decision.target) for rb in changed_rollbacks],
                               params['wait_timeout'])
        try:
            statuses = waiter.wait()
        except (RolloutFailed, WaitTimeout) as exc:
            # The patch is in; say so, and why the rollout does not finish.
            module.fail_json(msg=exc.message, **dict(out, **exc.details))
        for rb in rollbacks:
            res = results[rb.name]
            if rb.decision.changes:
                res['rollout_status'] = statuses[(workloads.namespace, rb.name)].as_dict()
                revision = (workloads.get(rb.name)['metadata'].get('annotations') or {}).get(REVISION)
                res['revision'] = int(revision) if revision and revision.isdigit() else None
            else:
                res['rollout_status'] = rollout_status(workloads.kind, rb.decision.obj).as_dict()
    done = ', '.join('%s: %s' % (rb.name, results[rb.name]['msg']) for rb in rollbacks)
    out['msg'] = done
    return out


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('name', 'label_selectors'), ('revision', 'image')],
        required_one_of=[('name', 'label_selectors')],
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except K8sModuleError as exc:
        module.fail_json(msg=exc.message, changed=False, **exc.details)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
