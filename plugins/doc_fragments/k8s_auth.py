# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Kubernetes connection options, named as kubernetes.core names them.
    DOCUMENTATION = r'''
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file.
      - Falls back to E(K8S_AUTH_KUBECONFIG), then the client's default (E(KUBECONFIG), then C(~/.kube/config)).
      - With none of O(kubeconfig), O(context), O(host)+O(api_key) given and running inside a pod,
        the pod's service account is used.
    type: path
  context:
    description:
      - Name of a context in the kubeconfig file. Falls back to E(K8S_AUTH_CONTEXT), then the current context.
    type: str
  host:
    description:
      - URL of the API server, overriding the kubeconfig's. Falls back to E(K8S_AUTH_HOST).
      - With O(api_key), no kubeconfig is read at all.
    type: str
  api_key:
    description:
      - Bearer token used to authenticate. Falls back to E(K8S_AUTH_API_KEY). Never logged.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - Falls back to E(K8S_AUTH_VERIFY_SSL), then the kubeconfig's setting.
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to the CA certificate (full chain) that signed the API server's certificate.
      - Falls back to E(K8S_AUTH_SSL_CA_CERT), then the kubeconfig's setting.
    type: path
    aliases: [ssl_ca_cert]
requirements:
  - kubernetes (the Python client) >= 24.2.0, only for kubeconfig users that authenticate through an
    C(exec) or C(auth-provider) credential plugin.
notes:
  - Talks to the REST paths it needs with the Python standard library; there is no API discovery round trip
    and no import of the kubernetes client, which keeps a task's start-up short.
  - Reads kubeconfig files as client-go does, including a E(KUBECONFIG) list of files, C(token), C(tokenFile),
    client certificates and keys (files or C(-data)), C(certificate-authority(-data)),
    C(insecure-skip-tls-verify), C(tls-server-name) and an C(http://) C(proxy-url).
'''
