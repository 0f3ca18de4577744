# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""incident_notify on the controller: the record is read and written in-process and the page goes out
without a module start-up; the severity policy comes from plugin_utils, which a module could not import."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import uuid

from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.pynomaly.incident_response.plugins.module_utils.errors import IncidentResponseError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import (
    HOLDER_ENV,
    RUN_ID_ENV,
    run_holder,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.notifier import notify
from ansible_collections.pynomaly.incident_response.plugins.module_utils.notify.options import ARGUMENT_SPEC
from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import (
    pagerduty_action,
    policy,
)

# Answers within this many seconds, so an unreachable API never holds up the page.
STORE_TIMEOUT = 5


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        secrets = validation._no_log_values
        check_mode = bool(self._task.check_mode if self._task.check_mode is not None
                          else self._play_context.check_mode)
        run_id = os.environ.get(RUN_ID_ENV) or uuid.uuid4().hex
        holder = os.environ.get(HOLDER_ENV) or run_holder(pid=os.getppid(), run_id=run_id)
        try:
            out = notify(params, run_id, holder, policy, pagerduty_action, check_mode=check_mode,
                         store_timeout=STORE_TIMEOUT)
        except IncidentResponseError as exc:
            result.update(failed=True, changed=False, msg=exc.message, **exc.details)
            return remove_values(result, secrets)
        if out.get('store_error'):
            self._display.warning(remove_values(out['msg'], secrets))
        views = out.pop('diff')
        if self._task.diff and views['before'] != views['after']:
            out['diff'] = dict((side, json.dumps(views[side], indent=2, sort_keys=True) + '\n') for side in views)
            out['diff'].update(before_header='%s channels' % out['incident_id'],
                               after_header='%s channels' % out['incident_id'])
        out['run_id'] = run_id
        if out['failed_channels'] and params['fail_on_error']:
            out['failed'] = True
        result.update(out)
        # Belt and braces: no routing key, webhook URL or API key leaves this task, whatever an API echoed.
        return remove_values(result, secrets)
