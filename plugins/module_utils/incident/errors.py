# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What can go wrong with the incident record and its Lease."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.errors import IncidentResponseError


class RecordError(IncidentResponseError):
    """The record cannot be read or written as asked (invalid id, missing, unreadable, resolved)."""


class StoreUnreachable(RecordError):
    """The store did not answer (the cluster may be the incident); the change can wait in the spool."""


class IncidentHeld(RecordError):
    """Another run holds the incident's Lease and kept it past the wait."""
