# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Talk to the Kubernetes API with kubernetes.core's option names, straight to the REST paths we know.

No dynamic discovery and no generated client: every call names its path (`resource_path`), and
answers come back as the server's JSON, plain dicts, which keeps every field a model class would
drop and is what template comparisons need. One error handler turns HTTP statuses into the
collection's exceptions, with messages that name what was being done.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.connection import PARAM_NAMES, resolve
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    ApiRequestFailed,
    ApiUnreachable,
    ObjectNotFound,
    ResourceConflict,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.transport import Transport, TransportError

# Seconds for one API request (connect, read). Waits poll with many short requests.
REQUEST_TIMEOUT = 15


def k8s_auth_argument_spec():
    """The connection options, with kubernetes.core's names and K8S_AUTH_* fallbacks."""
    return dict(
        kubeconfig=dict(type='path', fallback=(env_fallback, ['K8S_AUTH_KUBECONFIG'])),
        context=dict(type='str', fallback=(env_fallback, ['K8S_AUTH_CONTEXT'])),
        host=dict(type='str', fallback=(env_fallback, ['K8S_AUTH_HOST'])),
        api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['K8S_AUTH_API_KEY'])),
        validate_certs=dict(type='bool', aliases=['verify_ssl'],
                            fallback=(env_fallback, ['K8S_AUTH_VERIFY_SSL', 'K8S_AUTH_VALIDATE_CERTS'])),
        ca_cert=dict(type='path', aliases=['ssl_ca_cert'],
                     fallback=(env_fallback, ['K8S_AUTH_SSL_CA_CERT', 'K8S_AUTH_CA_CERT'])),
    )


def resource_path(api_version, resource, namespace=None, name=None, subresource=None):
    """/api/v1/... for the core group, /apis/<group>/<version>/... for the others."""
    parts = ['/api/v1' if api_version == 'v1' else '/apis/' + api_version]
    if namespace:
        parts += ['namespaces', quote(namespace, safe='')]
    parts.append(resource)
    if name:
        parts.append(quote(name, safe=''))
    if subresource:
        parts.append(subresource)
    return '/'.join(parts)


def _status_message(data, reason):
    try:
        body = json.loads(data or b'{}')
        return body.get('message') or reason, body.get('reason') or reason
    except (ValueError, TypeError, AttributeError):
        return reason, reason


class K8sClient(object):
    """Verbs on API paths (get, create, replace, patch, text), one error handler for all."""

    def __init__(self, settings, timeout=REQUEST_TIMEOUT):
        self.host = settings.server
        self.transport = Transport(settings, timeout)

    @classmethod
    def from_params(cls, params, ca_cert_option='ca_cert', timeout=REQUEST_TIMEOUT):
        """From a module's connection options (`ca_cert_option` names the CA option where ca_cert is taken)."""
        values = dict((n, params.get(n)) for n in PARAM_NAMES)
        values['ca_cert'] = params.get(ca_cert_option)
        return cls(resolve(**values), timeout=timeout)

    def _send(self, method, path, what, query=None, body=None, content_type=None, accept=None):
        data = None if body is None else json.dumps(body).encode('utf-8')
        try:
            status, reason, payload = self.transport.request(method, path, query=query, body=data,
                                                             content_type=content_type, accept=accept)
        except TransportError as exc:
            raise ApiUnreachable('The Kubernetes API at %s is unreachable while trying to %s: %s'
                                 % (self.host, what, exc)) from None
        if status >= 400:
            raise self._translate(status, reason, payload, what)
        return payload

    def _json(self, method, path, what, **kwargs):
        payload = self._send(method, path, what, **kwargs)
        try:
            return json.loads(payload) if payload else {}
        except ValueError:
            raise ApiRequestFailed('The Kubernetes API at %s answered %s with something that is not JSON'
                                   % (self.host, what)) from None

    def get(self, path, what, query=None):
        return self._json('GET', path, what, query=query)

    def items(self, path, what, query=None):
        """The items of a list call."""
        return self.get(path, what, query=query).get('items') or []

    def create(self, path, body, what):
        return self._json('POST', path, what, body=body)

    def replace(self, path, body, what):
        return self._json('PUT', path, what, body=body)

    def patch(self, path, body, what):
        """A JSON patch (a list of operations) or a strategic merge patch (a dict), like kubectl patch."""
        kind = 'application/json-patch+json' if isinstance(body, list) else 'application/strategic-merge-patch+json'
        return self._json('PATCH', path, what, body=body, content_type=kind)

    def delete(self, path, body, what):
        """DELETE with DeleteOptions (preconditions, propagation)."""
        return self._json('DELETE', path, what, body=body)

    def text(self, path, what, query=None):
        """For endpoints that answer plain text (pod logs)."""
        payload = self._send('GET', path, what, query=query, accept='*/*')
        return payload.decode('utf-8', 'replace') if payload else ''

    def close(self):
        self.transport.close()

    def _translate(self, status, http_reason, payload, what):
        message, reason = _status_message(payload, http_reason)
        text = 'Kubernetes API refused to %s: %s' % (what, message)
        if status == 404:
            return ObjectNotFound('Cannot %s: %s' % (what, message), status=404, reason=reason)
        if status == 409 or (status == 422 and 'test' in (message or '') and 'failed' in (message or '')):
            return ResourceConflict('Cannot %s: %s' % (what, message), status=status, reason=reason)
        if status in (401, 403):
            return ApiRequestFailed('%s (check the credentials: api_key, kubeconfig, context)' % text,
                                    status=status, reason=reason)
        return ApiRequestFailed(text, status=status, reason=reason)
