# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, list and patch Deployments, StatefulSets and DaemonSets, and the objects that make their history."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import resource_path
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import ObjectNotFound
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.history import (
    controller_revision_history,
    deployment_history,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.selectors import selector_string

KINDS = ('Deployment', 'StatefulSet', 'DaemonSet')
RESOURCES = {'Deployment': 'deployments', 'StatefulSet': 'statefulsets', 'DaemonSet': 'daemonsets'}


class Workloads(object):
    """Calls for one workload kind in one namespace."""

    def __init__(self, client, kind, namespace):
        self.client = client
        self.kind = kind
        self.namespace = namespace
        self._resource = RESOURCES[kind]

    def _path(self, name=None):
        return resource_path('apps/v1', self._resource, self.namespace, name)

    def label(self, name):
        return '%s %s/%s' % (self.kind, self.namespace, name)

    def get(self, name):
        try:
            return self.client.get(self._path(name), what='read %s' % self.label(name))
        except ObjectNotFound:
            raise ObjectNotFound('%s not found' % self.label(name), status=404, reason='NotFound') from None

    def list(self, label_selector):
        return self.client.items(self._path(), query={'labelSelector': label_selector},
                                 what='list %ss in namespace %s matching %s' % (self.kind, self.namespace,
                                                                                label_selector))

    def patch(self, name, body):
        return self.client.patch(self._path(name), body, what='patch %s' % self.label(name))

    def history(self, obj):
        selector = selector_string((obj.get('spec') or {}).get('selector'))
        if self.kind == 'Deployment':
            items = self.client.items(resource_path('apps/v1', 'replicasets', self.namespace),
                                      query={'labelSelector': selector},
                                      what='list the ReplicaSets of %s' % self.label(obj['metadata']['name']))
            return deployment_history(obj, items)
        items = self.client.items(resource_path('apps/v1', 'controllerrevisions', self.namespace),
                                  query={'labelSelector': selector},
                                  what='list the ControllerRevisions of %s' % self.label(obj['metadata']['name']))
        return controller_revision_history(obj, items)

    def pods(self, obj):
        selector = selector_string((obj.get('spec') or {}).get('selector'))
        return self.client.items(resource_path('v1', 'pods', self.namespace), query={'labelSelector': selector},
                                 what='list the pods of %s' % self.label(obj['metadata']['name']))
