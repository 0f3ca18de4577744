# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP(S) to the API server over one kept-alive connection, with the standard library only.

TLS as the kubeconfig says: the cluster CA (file or data), client certificates (data written to a
private temporary file only for the moment the TLS context reads it), tls-server-name,
insecure-skip-tls-verify; an HTTP proxy through CONNECT. No retries beyond re-opening a kept-alive
connection the server closed while idle: waits do their own polling, and an unreachable API must
fail fast.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import http.client as http_client
import os
import shutil
import socket
import ssl
import tempfile
from urllib.parse import urlencode, urlsplit

USER_AGENT = 'pynomaly.incident_response'


class TransportError(Exception):
    """The request did not get an answer: connection, TLS or timeout."""


def _tls_context(settings):
    if settings.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=settings.ca_file,
                                             cadata=settings.ca_data.decode('ascii') if settings.ca_data else None)
    if settings.cert_file or settings.cert_data:
        _load_client_cert(context, settings)
    return context


def _load_client_cert(context, settings):
    folder = None
    try:
        cert, key = settings.cert_file, settings.key_file
        if settings.cert_data or settings.key_data:
            folder = tempfile.mkdtemp(prefix='k8s-client-cert-')  # 0700: only we can read the key
            if settings.cert_data:
                cert = os.path.join(folder, 'client.crt')
                with open(cert, 'wb') as handle:
                    handle.write(settings.cert_data)
            if settings.key_data:
                key = os.path.join(folder, 'client.key')
                with open(key, 'wb') as handle:
                    handle.write(settings.key_data)
        context.load_cert_chain(cert, key)
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


class _HTTPSConnection(http_client.HTTPSConnection):
    """HTTPSConnection that verifies the certificate against tls-server-name when the kubeconfig sets one."""

    def __init__(self, host, port, context, timeout, server_name=None):
        super().__init__(host, port, context=context, timeout=timeout)
        self._server_name = server_name

    def connect(self):
        http_client.HTTPConnection.connect(self)
        name = self._server_name or self._tunnel_host or self.host
        self.sock = self._context.wrap_socket(self.sock, server_hostname=name)


class Transport(object):
    """Requests to one API server; `request()` returns (status, reason, body bytes)."""

    def __init__(self, settings, timeout):
        self.settings = settings
        self.timeout = timeout
        url = urlsplit(settings.server)
        self.https = url.scheme == 'https'
        self.host = url.hostname
        self.port = url.port or (443 if self.https else 80)
        self.base_path = url.path.rstrip('/')
        self._context = None
        self._conn = None
        self.headers = {'User-Agent': USER_AGENT, 'Accept': 'application/json'}
        if settings.token:
            self.headers['Authorization'] = 'Bearer %s' % settings.token
        elif settings.username:
            pair = ('%s:%s' % (settings.username, settings.password or '')).encode('utf-8')
            self.headers['Authorization'] = 'Basic %s' % base64.b64encode(pair).decode('ascii')

    def _connect(self):
        proxy = urlsplit(self.settings.proxy_url) if self.settings.proxy_url else None
        if proxy and proxy.scheme not in ('http', ''):
            raise TransportError('proxy-url %s: only http:// proxies are supported' % proxy.scheme)
        host, port = (proxy.hostname, proxy.port or 80) if proxy else (self.host, self.port)
        if self.https:
            if self._context is None:
                try:
                    self._context = _tls_context(self.settings)
                except (ssl.SSLError, OSError, ValueError) as exc:
                    raise TransportError('cannot set up TLS (CA or client certificate): %s' % exc) from None
            conn = _HTTPSConnection(host, port, self._context, self.timeout, self.settings.tls_server_name)
        else:
            conn = http_client.HTTPConnection(host, port, timeout=self.timeout)
        if proxy:
            conn.set_tunnel(self.host, self.port)
        return conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method, path, query=None, body=None, content_type=None, accept=None):
        url = self.base_path + path
        if query:
            url += '?' + urlencode([(k, _query_value(v)) for k, v in sorted(query.items()) if v is not None])
        headers = dict(self.headers)
        if accept:
            headers['Accept'] = accept
        if body is not None:
            headers['Content-Type'] = content_type or 'application/json'
        for attempt in (1, 2):
            reused = self._conn is not None
            conn = self._conn or self._connect()
            try:
                conn.request(method, url, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http_client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                self._conn = None
                if reused and attempt == 1:
                    continue  # the server closed the idle connection: open a new one
                raise TransportError(_describe(exc)) from None
            except (TimeoutError, ssl.SSLError, http_client.HTTPException, OSError) as exc:
                conn.close()
                self._conn = None
                raise TransportError(_describe(exc)) from None
            if response.will_close:
                conn.close()
                self._conn = None
            else:
                self._conn = conn
            return response.status, response.reason, data
        raise TransportError('the connection was closed twice')  # pragma: no cover


def _query_value(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return value


def _describe(exc):
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ('TLS certificate verification failed: %s (check the CA: ca_cert, or the kubeconfig\'s '
                'certificate-authority)' % (exc.verify_message or exc))
    if isinstance(exc, socket.timeout):
        return 'timed out'
    text = str(exc).split('\n', 1)[0] or exc.__class__.__name__
    return '%s: %s' % (exc.__class__.__name__, text)
