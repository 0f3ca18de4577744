# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Where an incident's record is kept (module_utils/incident/service.py RECORD_OPTIONS).
    DOCUMENTATION = r'''
options:
  store:
    description:
      - V(cluster) keeps the incident record in the cluster (the Kubernetes connection options reach it).
        V(local) keeps it in O(local_dir), for runs with no cluster at all; other runners do not see it.
      - Must name the same store the incident was opened in (M(pynomaly.incident_response.incident)).
    type: str
    choices: [cluster, local]
    default: cluster
  record_namespace:
    description: The namespace of the incident records, with O(store=cluster).
    type: str
    default: incident-response
  local_dir:
    description: The folder of the records with O(store=local), on the host the module runs on.
    type: path
    default: ~/.ansible/incident_records
'''
