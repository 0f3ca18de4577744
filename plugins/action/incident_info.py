# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""incident_info on the controller: reading the record needs no module process."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.pynomaly.incident_response.plugins.module_utils.errors import IncidentResponseError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.service import (
    INFO_ARGUMENT_SPEC,
    read_incidents,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import build_store


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=INFO_ARGUMENT_SPEC)
        try:
            result.update(read_incidents(build_store(params), params))
        except IncidentResponseError as exc:
            result.update(failed=True, changed=False, msg=exc.message, **exc.details)
        return result
