# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What can go wrong talking to Kubernetes, as exceptions a module's main() turns into one fail_json.

Every message is written for an operator at 3 a.m.: what failed, on which object, and what exists
instead. No message ever contains a token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.errors import IncidentResponseError


class K8sModuleError(IncidentResponseError):
    """Base class of what goes wrong talking to Kubernetes."""


class ApiUnreachable(K8sModuleError):
    """The API server did not answer (connection refused, DNS, TLS, timeout)."""


class ApiRequestFailed(K8sModuleError):
    """The API server answered with an error status (forbidden, invalid, ...)."""

    def __init__(self, message, status=None, reason=None, **details):
        super().__init__(message, status=status, reason=reason, **details)
        self.status = status
        self.reason = reason


class ObjectNotFound(ApiRequestFailed):
    """The named object does not exist (HTTP 404)."""


class ResourceConflict(ApiRequestFailed):
    """The object changed under us (HTTP 409, or a failed resourceVersion test)."""


class InvalidTarget(K8sModuleError):
    """The request cannot apply to the object as it is: unknown revision, no history, paused, wrong kind."""


class RolloutFailed(K8sModuleError):
    """The rollout provably cannot complete (ProgressDeadlineExceeded, crash-looping target revision)."""


class WaitTimeout(K8sModuleError):
    """The condition did not hold within the allotted time."""


class ConfigurationError(K8sModuleError):
    """No usable connection settings (kubeconfig missing or invalid, unknown context)."""
