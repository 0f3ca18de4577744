# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the Kubernetes API is and how to authenticate: kubeconfig, in-cluster service account, or explicit.

Reads kubeconfig files the way client-go does (a E(KUBECONFIG) list merged first-wins, paths relative
to the file that names them, tokenFile, *-data fields, insecure-skip-tls-verify, tls-server-name,
proxy-url) without importing the kubernetes client, which costs more than half a second per task.
Credentials that need a plugin (exec, auth-provider) are resolved by the kubernetes client's loader,
and its result feeds the same transport.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import ConfigurationError

try:
    import yaml

    _YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'
PARAM_NAMES = ('kubeconfig', 'context', 'host', 'api_key', 'validate_certs', 'ca_cert')


class ConnectionSettings(object):
    """Everything the transport needs; `source` says where it came from, for error messages."""

    def __init__(self, server=None, token=None, username=None, password=None, ca_file=None, ca_data=None,
                 insecure=False, tls_server_name=None, cert_file=None, key_file=None, cert_data=None,
                 key_data=None, proxy_url=None, source=''):
        self.server = server
        self.token = token
        self.username = username
        self.password = password
        self.ca_file = ca_file
        self.ca_data = ca_data
        self.insecure = insecure
        self.tls_server_name = tls_server_name
        self.cert_file = cert_file
        self.key_file = key_file
        self.cert_data = cert_data
        self.key_data = key_data
        self.proxy_url = proxy_url
        self.source = source

    def override(self, host=None, api_key=None, validate_certs=None, ca_cert=None):
        """Explicit module options win over what the kubeconfig says."""
        if host:
            self.server = host
        if api_key:
            self.token = api_key[len('Bearer '):] if api_key.startswith('Bearer ') else api_key
            self.username = self.password = None
        if validate_certs is not None:
            self.insecure = not validate_certs
        if ca_cert:
            self.ca_file, self.ca_data = ca_cert, None
        if self.server and '://' not in self.server:
            self.server = 'https://' + self.server
        self.server = (self.server or '').rstrip('/')
        return self


def _b64(value, what):
    try:
        return base64.b64decode(''.join(str(value).split()), validate=True)
    except (TypeError, ValueError):
        raise ConfigurationError('%s is not valid base64' % what) from None


def kubeconfig_files(kubeconfig=None):
    """The files to merge: the option, else every existing file of $KUBECONFIG, else ~/.kube/config."""
    if kubeconfig:
        return [kubeconfig]
    listed = [p for p in (os.environ.get('KUBECONFIG') or '').split(os.pathsep) if p]
    if listed:
        return [p for p in listed if os.path.exists(os.path.expanduser(p))] or listed[:1]
    return [os.path.expanduser('~/.kube/config')]


class KubeConfig(object):
    """One or more kubeconfig files merged as client-go merges them: the first to set a name wins."""

    def __init__(self, files):
        self.files = files
        self.current_context = None
        self.named = dict(clusters={}, users={}, contexts={})
        for path in files:
            self._merge(path)

    def _merge(self, path):
        path = os.path.expanduser(path)
        try:
            with open(path, 'rb') as handle:
                doc = yaml.load(handle, Loader=_YAML_LOADER) or {}  # nosec B506 - a safe loader
        except OSError as exc:
            raise ConfigurationError('cannot read the kubeconfig %s: %s' % (path, exc.strerror or exc)) from None
        except yaml.YAMLError as exc:
            raise ConfigurationError('the kubeconfig %s is not valid YAML: %s' % (path, exc)) from None
        if not isinstance(doc, dict):
            raise ConfigurationError('the kubeconfig %s is not a kubeconfig (a mapping is expected)' % path)
        base = os.path.dirname(os.path.abspath(path))
        self.current_context = self.current_context or doc.get('current-context')
        for section, inner in (('clusters', 'cluster'), ('users', 'user'), ('contexts', 'context')):
            for entry in doc.get(section) or []:
                if isinstance(entry, dict) and entry.get('name') and entry['name'] not in self.named[section]:
                    self.named[section][entry['name']] = (dict(entry.get(inner) or {}), base)

    def _where(self):
        return ', '.join(self.files)

    def settings(self, context=None):
        name = context or self.current_context
        if not name:
            raise ConfigurationError('the kubeconfig %s sets no current-context; name one with the context option'
                                     % self._where())
        if name not in self.named['contexts']:
            known = ', '.join(sorted(self.named['contexts'])) or 'none'
            raise ConfigurationError('context %r is not in the kubeconfig %s (contexts: %s)'
                                     % (name, self._where(), known))
        ctx = self.named['contexts'][name][0]
        cluster, cluster_base = self.named['clusters'].get(ctx.get('cluster'), (None, None))
        if cluster is None or not cluster.get('server'):
            raise ConfigurationError('context %r names cluster %r, which the kubeconfig %s does not define with '
                                     'a server' % (name, ctx.get('cluster'), self._where()))
        user, user_base = self.named['users'].get(ctx.get('user'), ({}, cluster_base))
        if user.get('exec') or user.get('auth-provider'):
            return None  # a credential plugin: the kubernetes client resolves it
        out = ConnectionSettings(server=cluster['server'], source='kubeconfig %s, context %s' % (self._where(), name))
        out.insecure = bool(cluster.get('insecure-skip-tls-verify'))
        out.tls_server_name = cluster.get('tls-server-name')
        out.proxy_url = cluster.get('proxy-url')
        if cluster.get('certificate-authority-data'):
            out.ca_data = _b64(cluster['certificate-authority-data'], 'certificate-authority-data of %r'
                               % ctx.get('cluster'))
        elif cluster.get('certificate-authority'):
            out.ca_file = os.path.join(cluster_base, os.path.expanduser(cluster['certificate-authority']))
        out.token = user.get('token')
        if not out.token and user.get('tokenFile'):
            out.token = _read(os.path.join(user_base, user['tokenFile']), 'tokenFile').strip()
        out.username, out.password = user.get('username'), user.get('password')
        for field, attr, file_attr in (('client-certificate', 'cert_data', 'cert_file'),
                                       ('client-key', 'key_data', 'key_file')):
            if user.get(field + '-data'):
                setattr(out, attr, _b64(user[field + '-data'], '%s-data of user %r' % (field, ctx.get('user'))))
            elif user.get(field):
                setattr(out, file_attr, os.path.join(user_base, os.path.expanduser(user[field])))
        return out


def _read(path, what):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigurationError('cannot read the %s %s: %s' % (what, path, exc.strerror or exc)) from None


def in_cluster_settings():
    host, port = os.environ['KUBERNETES_SERVICE_HOST'], os.environ.get('KUBERNETES_SERVICE_PORT', '443')
    if ':' in host and not host.startswith('['):
        host = '[%s]' % host
    return ConnectionSettings(server='https://%s:%s' % (host, port),
                              token=_read(os.path.join(SERVICE_ACCOUNT_DIR, 'token'), 'service account token').strip(),
                              ca_file=os.path.join(SERVICE_ACCOUNT_DIR, 'ca.crt'),
                              source='the pod service account')


def plugin_settings(kubeconfig, context):
    """Settings from the kubernetes client's loader, which runs exec and auth-provider credential plugins."""
    try:
        import kubernetes.client
        import kubernetes.config
    except ImportError:
        raise ConfigurationError('the kubeconfig user authenticates through an exec or auth-provider plugin; '
                                 'that needs the kubernetes Python client, which is not installed') from None
    cfg = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=cfg,
                                           persist_config=False)
    except (kubernetes.config.ConfigException, OSError, ValueError, TypeError, KeyError) as exc:
        raise ConfigurationError('the kubeconfig credential plugin failed: %s' % exc) from None
    auth = (cfg.api_key or {}).get('authorization') or ''
    if not auth and not cfg.cert_file:
        # The client logs a failing plugin and carries on without credentials; say so instead of a 401.
        raise ConfigurationError('the kubeconfig credential plugin gave no token and no client certificate '
                                 '(context %s)' % (context or 'current'))
    return ConnectionSettings(server=cfg.host, token=auth[len('Bearer '):] if auth.startswith('Bearer ') else None,
                              ca_file=cfg.ssl_ca_cert, insecure=not cfg.verify_ssl, cert_file=cfg.cert_file,
                              key_file=cfg.key_file, tls_server_name=getattr(cfg, 'tls_server_name', None),
                              proxy_url=cfg.proxy, source='kubeconfig credential plugin, context %s'
                              % (context or 'current'))


def resolve(kubeconfig=None, context=None, host=None, api_key=None, validate_certs=None, ca_cert=None):
    """The settings, in kubernetes.core's order.

    host+api_key alone are enough; else the kubeconfig (`kubeconfig`, else $KUBECONFIG, else
    ~/.kube/config) with `context`; with neither given inside a pod, its service account.
    Explicit values override what the file says.
    """
    try:
        if host and api_key:
            settings = ConnectionSettings(source='the host and api_key options')
        elif not kubeconfig and not context and os.environ.get('KUBERNETES_SERVICE_HOST'):
            settings = in_cluster_settings()
        else:
            if yaml is None:  # pragma: no cover
                raise ConfigurationError('reading a kubeconfig needs PyYAML')
            settings = KubeConfig(kubeconfig_files(kubeconfig)).settings(context)
            if settings is None:
                settings = plugin_settings(kubeconfig, context)
        settings.override(host=host, api_key=api_key, validate_certs=validate_certs, ca_cert=ca_cert)
        if not settings.server.startswith(('https://', 'http://')):
            raise ConfigurationError('the API server URL %r must start with https:// or http://' % settings.server)
    except ConfigurationError as exc:
        raise ConfigurationError('Cannot load the Kubernetes connection settings: %s' % exc.message) from None
    return settings
