# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Changes kept aside while the cluster does not answer (it may be the incident), written later.

A spool file per incident holds record operations (record.apply_op) in order. The next run that
reaches the cluster applies them to the record and removes the file. Nothing is written here while
the cluster answers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import object_name


class Spool(object):
    def __init__(self, folder):
        self.folder = os.path.expanduser(folder)

    def path(self, incident_id):
        return os.path.join(self.folder, object_name(incident_id) + '.ops.json')

    def add(self, incident_id, *ops):
        """Append operations for an incident (the folder and file are private to the user)."""
        try:
            os.makedirs(self.folder, mode=0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
        path = self.path(incident_id)
        with open(path, 'a+', encoding='utf-8') as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            os.chmod(path, 0o600)
            for op in ops:
                handle.write(json.dumps(dict(op, incident_id=incident_id), sort_keys=True, default=str) + '\n')
        return path

    def pending(self):
        """{incident_id: [op, ...]} of everything kept aside."""
        if not os.path.isdir(self.folder):
            return {}
        found = {}
        for name in sorted(os.listdir(self.folder)):
            if name.endswith('.ops.json'):
                with open(os.path.join(self.folder, name), encoding='utf-8') as handle:
                    for line in handle:
                        line = line.strip()
                        if line:
                            op = json.loads(line)
                            found.setdefault(op['incident_id'], []).append(op)
        return found

    def flush(self, store, by=None):
        """Write what was kept aside into `store`; returns the incident ids written."""
        written = []
        for incident_id, ops in self.pending().items():
            path = self.path(incident_id)
            if store.read(incident_id) is None:
                opening = [op for op in ops if op['op'] == 'open']
                if not opening:
                    continue
                record = opening[0]['record']
                store.create(record)
                if record.get('service') and record.get('scenario'):
                    # The open incident of its service and scenario, unless another run opened one meanwhile.
                    store.claim_slot(record['service'], record['scenario'], incident_id)

            def mutate(record, timeline, ops=ops):
                for op in ops:
                    record, timeline = rec.apply_op(record, timeline, op, by=by)
                return record, timeline

            store.update(incident_id, mutate)
            os.unlink(path)
            written.append(incident_id)
        return written
