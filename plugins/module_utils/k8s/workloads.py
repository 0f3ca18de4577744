# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, list and patch Deployments, StatefulSets and DaemonSets, and the objects that make their history."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import ObjectNotFound
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.history import (
    controller_revision_history,
    deployment_history,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.selectors import selector_string

KINDS = ('Deployment', 'StatefulSet', 'DaemonSet')
_METHOD_SUFFIX = {'Deployment': 'deployment', 'StatefulSet': 'stateful_set', 'DaemonSet': 'daemon_set'}


class Workloads(object):
    """Typed calls for one workload kind in one namespace."""

    def __init__(self, client, kind, namespace):
        self.client = client
        self.kind = kind
        self.namespace = namespace
        self._suffix = _METHOD_SUFFIX[kind]

    def _method(self, verb):
        return getattr(self.client.apps, '%s_namespaced_%s' % (verb, self._suffix))

    def label(self, name):
        return '%s %s/%s' % (self.kind, self.namespace, name)

    def get(self, name):
        try:
            return self.client.call(self._method('read'), name, self.namespace, what='read %s' % self.label(name))
        except ObjectNotFound:
            raise ObjectNotFound('%s not found' % self.label(name), status=404, reason='NotFound') from None

    def list(self, label_selector):
        body = self.client.call(self._method('list'), self.namespace, label_selector=label_selector,
                                what='list %ss in namespace %s matching %s' % (self.kind, self.namespace,
                                                                               label_selector))
        return body.get('items') or []

    def patch(self, name, body):
        return self.client.call(self._method('patch'), name, self.namespace, body,
                                what='patch %s' % self.label(name))

    def history(self, obj):
        selector = selector_string((obj.get('spec') or {}).get('selector'))
        if self.kind == 'Deployment':
            items = self.client.call(self.client.apps.list_namespaced_replica_set, self.namespace,
                                     label_selector=selector,
                                     what='list the ReplicaSets of %s' % self.label(obj['metadata']['name']))
            return deployment_history(obj, items.get('items') or [])
        items = self.client.call(self.client.apps.list_namespaced_controller_revision, self.namespace,
                                 label_selector=selector,
                                 what='list the ControllerRevisions of %s' % self.label(obj['metadata']['name']))
        return controller_revision_history(obj, items.get('items') or [])

    def pods(self, obj):
        selector = selector_string((obj.get('spec') or {}).get('selector'))
        body = self.client.call(self.client.core.list_namespaced_pod, self.namespace, label_selector=selector,
                                what='list the pods of %s' % self.label(obj['metadata']['name']))
        return body.get('items') or []
