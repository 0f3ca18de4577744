# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connect to the Kubernetes API with kubernetes.core's option names, through the typed clients.

No dynamic discovery: AppsV1Api, CoreV1Api, AutoscalingV2Api and CustomObjectsApi talk straight
to the paths they know. Calls return the server's JSON as plain dicts (`_preload_content=False`),
which keeps fields the Python models would drop and is what template comparisons need.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import traceback

from ansible.module_utils.basic import env_fallback

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    ApiRequestFailed,
    ApiUnreachable,
    ConfigurationError,
    ObjectNotFound,
    ResourceConflict,
)

try:
    import kubernetes
    import kubernetes.client
    import kubernetes.config
    import urllib3

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported through missing_required_lib
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

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


def build_configuration(kubeconfig=None, context=None, host=None, api_key=None, validate_certs=None,
                        ca_cert=None):
    """A kubernetes.client.Configuration from explicit values, else kubeconfig (or in-cluster).

    Order as in kubernetes.core: host+api_key alone are enough; else the kubeconfig file
    (`kubeconfig`, else $KUBECONFIG, else ~/.kube/config) with `context`; with neither given,
    the in-cluster service account first. Explicit values override what the file says.
    """
    configuration = kubernetes.client.Configuration()
    if not (host and api_key):
        try:
            if not kubeconfig and not context and os.environ.get('KUBERNETES_SERVICE_HOST'):
                kubernetes.config.load_incluster_config(client_configuration=configuration)
            else:
                kubernetes.config.load_kube_config(config_file=kubeconfig, context=context,
                                                   client_configuration=configuration, persist_config=False)
        except (kubernetes.config.ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
            where = kubeconfig or os.environ.get('KUBECONFIG') or '~/.kube/config'
            raise ConfigurationError('Cannot load the Kubernetes connection settings from %s%s: %s'
                                     % (where, ' (context %s)' % context if context else '', exc)) from None
    if host:
        configuration.host = host.rstrip('/')
    if api_key:
        configuration.api_key = {'authorization': 'Bearer %s' % api_key}
    if validate_certs is not None:
        configuration.verify_ssl = validate_certs
    if ca_cert:
        configuration.ssl_ca_cert = ca_cert
    # One attempt per request: an unreachable API must fail fast, waits do their own polling.
    configuration.retries = False
    return configuration


def _status_message(exc):
    try:
        body = json.loads(exc.body or '{}')
        return body.get('message') or exc.reason, body.get('reason') or exc.reason
    except (ValueError, TypeError, AttributeError):
        return exc.reason, exc.reason


class K8sClient(object):
    """The typed API groups a module needs, and one error handler for all their calls."""

    def __init__(self, configuration):
        api_client = kubernetes.client.ApiClient(configuration)
        self.host = configuration.host
        self.apps = kubernetes.client.AppsV1Api(api_client)
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.autoscaling = kubernetes.client.AutoscalingV2Api(api_client)
        self.custom = kubernetes.client.CustomObjectsApi(api_client)

    @classmethod
    def from_params(cls, params):
        names = ('kubeconfig', 'context', 'host', 'api_key', 'validate_certs', 'ca_cert')
        return cls(build_configuration(**dict((n, params.get(n)) for n in names)))

    def _send(self, method, args, kwargs, what):
        kwargs = dict(kwargs, _preload_content=False)
        kwargs.setdefault('_request_timeout', REQUEST_TIMEOUT)
        try:
            return method(*args, **kwargs).data
        except kubernetes.client.ApiException as exc:
            raise self._translate(exc, what) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            first_line = str(exc).split('\n', maxsplit=1)[0]
            raise ApiUnreachable('The Kubernetes API at %s is unreachable while trying to %s: %s: %s'
                                 % (self.host, what, exc.__class__.__name__, first_line)) from None

    def call(self, method, *args, **kwargs):
        """Run one typed-API method; return the JSON body as a dict. `what` names the action for errors."""
        what = kwargs.pop('what', method.__name__)
        data = self._send(method, args, kwargs, what)
        return json.loads(data) if data else {}

    def text(self, method, *args, **kwargs):
        """Like call() for endpoints that answer plain text (pod logs)."""
        what = kwargs.pop('what', method.__name__)
        data = self._send(method, args, kwargs, what)
        return data.decode('utf-8', 'replace') if isinstance(data, bytes) else (data or '')

    def _translate(self, exc, what):
        message, reason = _status_message(exc)
        text = 'Kubernetes API refused to %s: %s' % (what, message)
        if exc.status == 404:
            return ObjectNotFound('Cannot %s: %s' % (what, message), status=404, reason=reason)
        if exc.status == 409 or (exc.status == 422 and 'test' in (message or '') and 'failed' in (message or '')):
            return ResourceConflict('Cannot %s: %s' % (what, message), status=exc.status, reason=reason)
        if exc.status in (401, 403):
            return ApiRequestFailed('%s (check the credentials: api_key, kubeconfig, context)' % text,
                                    status=exc.status, reason=reason)
        if exc.status is None or exc.status == 0:
            return ApiUnreachable('The Kubernetes API at %s is unreachable while trying to %s: %s'
                                  % (self.host, what, message))
        return ApiRequestFailed(text, status=exc.status, reason=reason)
