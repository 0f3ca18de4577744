# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception base of the collection's module_utils.

module_utils raise; a module's main() turns any of these into one fail_json with `message`
and the `details` beside it (as kubernetes.core's CoreException and fail_from_exception do).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class IncidentResponseError(Exception):
    """Base class. `details` is returned next to the message (e.g. the revisions that exist)."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details
