# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""incident_milestone on the controller: validating a milestone needs no module process."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident_milestone import (
    ARGUMENT_SPEC,
    MilestoneError,
    build_milestone,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            milestone = build_milestone(params)
        except MilestoneError as exc:
            raise AnsibleActionFail(str(exc)) from None
        result.update(changed=False, incident_milestone=milestone)
        return result
