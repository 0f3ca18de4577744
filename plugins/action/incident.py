# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""incident on the controller: the record is read and written in-process (no module start-up, so the
page goes out sooner), and the run's Lease is kept by a keeper process that lives as long as the run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import select
import subprocess
import sys
import uuid

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.collection_loader import AnsibleCollectionConfig

from ansible_collections.pynomaly.incident_response.plugins.module_utils.errors import IncidentResponseError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.errors import (
    RecordError,
    StoreUnreachable,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import (
    HOLDER_ENV,
    RUN_ID_ENV,
    run_holder,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.lease import IncidentLease
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.service import (
    ARGUMENT_SPEC,
    IncidentService,
    check_params,
    unreachable_result,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.spool import Spool
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import build_store
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.connection import PARAM_NAMES
from ansible_collections.pynomaly.incident_response.plugins.plugin_utils import incident_keeper
from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import (
    SeverityError,
    classify,
    policy,
)

# Answers within this many seconds, so an unreachable API never holds up the page.
STORE_TIMEOUT = 5
KEEPER_START_SECONDS = 10
# The keeper runs this with the folder that holds ansible_collections on its path.
KEEPER_BOOT = ('import sys; sys.path.insert(0, sys.argv[1]); '
               'from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_keeper '
               'import main; main()')


def collections_root():
    """The folder holding ansible_collections/pynomaly/incident_response (for the keeper's imports)."""
    path = os.path.dirname(os.path.abspath(incident_keeper.__file__))
    while os.path.dirname(path) != path:
        if os.path.basename(path) == 'ansible_collections':
            return os.path.dirname(path)
        path = os.path.dirname(path)
    for root in AnsibleCollectionConfig.collection_paths:
        if os.path.isdir(os.path.join(root, 'ansible_collections', 'pynomaly', 'incident_response')):
            return root
    raise AnsibleActionFail('Cannot find where the pynomaly.incident_response collection is installed')


def start_keeper(params, incident_id, lease, run_id, watch_pid):
    """The run's keeper for this incident (the one already running when a role opens it again)."""
    _folder, path = incident_keeper.socket_path(run_id, incident_id)
    if os.path.exists(path):
        try:
            if (incident_keeper.send(path, {'op': 'ping'}, timeout=5, reply=True) or {}).get('ok'):
                return {'socket': path, 'reused': True}
        except (OSError, ValueError):
            pass
    config = dict(connection=dict((n, params.get(n)) for n in PARAM_NAMES), namespace=params['record_namespace'],
                  incident_id=incident_id, holder=lease.holder, duration=lease.duration, run_id=run_id,
                  watch_pid=watch_pid, spool_dir=params['spool_dir'])
    proc = subprocess.Popen([sys.executable, '-c', KEEPER_BOOT, collections_root()], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True,
                            start_new_session=True)
    proc.stdin.write(json.dumps(config).encode('utf-8'))
    proc.stdin.close()
    ready, _w, _x = select.select([proc.stdout], [], [], KEEPER_START_SECONDS)
    line = proc.stdout.readline().decode('utf-8', 'replace') if ready else ''
    proc.stdout.close()
    if not line.startswith('ready '):
        proc.kill()
        raise AnsibleActionFail('The process that keeps the Lease of %s for this run did not start' % incident_id)
    return {'socket': path, 'pid': proc.pid, 'reused': False}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        check_mode = bool(self._task.check_mode if self._task.check_mode is not None
                          else self._play_context.check_mode)
        run_id = os.environ.get(RUN_ID_ENV) or uuid.uuid4().hex
        watch_pid = os.getppid()  # the controller: a task runs in a worker forked from it
        holder = os.environ.get(HOLDER_ENV) or run_holder(pid=watch_pid, run_id=run_id)
        playbook = (task_vars or {}).get('ansible_play_name')
        spool = Spool(params['spool_dir'])
        try:
            check_params(params)
            classification = classify_params(params)
            if classification:
                params = dict(params, severity=classification['severity'])
            store = build_store(params, timeout=STORE_TIMEOUT)
            try:
                flushed = [] if check_mode or store.kind != 'cluster' else spool.flush(store, by=holder)
                out = IncidentService(store, params, run_id, holder, playbook=playbook, check_mode=check_mode).run()
                if flushed:
                    out['flushed'] = flushed
                    out['msg'] += '; wrote what earlier runs kept aside while the cluster was unreachable (%s)' \
                        % ', '.join(flushed)
                if params['state'] == 'open' and out['active'] and params['lease'] and store.kind == 'cluster' \
                        and not check_mode:
                    lease = IncidentLease(store.client, params['record_namespace'], out['incident_id'], holder,
                                          params['lease_duration'])
                    out['lease'] = lease.acquire(params['lease_wait_timeout'])
                    out['incident_keeper'] = start_keeper(params, out['incident_id'], lease, run_id, watch_pid)
                if store.kind == 'local' and out.get('incident_id'):
                    out['incident_local_store'] = store.folder
            except StoreUnreachable as exc:
                out = unreachable_result(exc, params, spool, run_id, holder, playbook, check_mode)
                self._display.warning(out['msg'])
        except IncidentResponseError as exc:
            result.update(failed=True, changed=False, msg=exc.message, **exc.details)
            return result
        out['run_id'] = run_id
        out['classification'] = classification
        severity = (out.get('incident') or {}).get('severity')
        out['policy'] = policy(severity) if severity else None
        out['diff'] = diff_view(out) if self._task.diff and out.get('changed') else None
        result.update((k, v) for k, v in out.items() if v is not None or k != 'diff')
        return result


def classify_params(params):
    """The severity this call brings: the one given, else the seed's rules over `signals` (None without either)."""
    if params.get('severity'):
        return {'severity': params['severity'], 'reasons': ['severity given']}
    if params.get('signals') is None:
        return None
    try:
        found = classify(params['signals'])
    except SeverityError as exc:
        raise RecordError('signals: %s' % exc) from None
    return {'severity': found['severity'], 'reasons': found['reasons']}


def diff_view(out):
    """--diff: the record's summary before and after (a new record has an empty before)."""
    views = out.get('diff') or {'before': None, 'after': out.get('incident')}

    def text(view):
        return '' if view is None else json.dumps(view, indent=2, sort_keys=True) + '\n'
    where = out.get('where') or 'incident record'
    return dict(before=text(views['before']), after=text(views['after']), before_header=where, after_header=where)
