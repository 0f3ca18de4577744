# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names: incident ids, the cluster objects that hold an incident, and who is running.

An incident id is what people say ("INC-20261204-163005-api_down"); Kubernetes object names must be
DNS labels, so the object's name is a lowercase slug of the id plus a short hash of the exact id
(two ids that differ only in case or '_' vs '-' never share an object).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import hashlib
import os
import re
import socket
import time
import uuid

# The run's id and holder identity: set by the incident_timeline callback in the controller process at the
# start of a playbook run, inherited by the workers that run the incident action.
RUN_ID_ENV = 'PYNOMALY_INCIDENT_RUN_ID'
HOLDER_ENV = 'PYNOMALY_INCIDENT_HOLDER'
ID_PATTERN = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$')
LABEL_VALUE = re.compile(r'[^A-Za-z0-9._-]+')
SCENARIO_PATTERN = re.compile(r'^[a-z0-9][a-z0-9_-]{0,39}$')


def check_incident_id(incident_id):
    """None when the id is usable, else the reason."""
    if not incident_id or not ID_PATTERN.match(incident_id):
        return ('an incident id may hold only letters, digits, \'.\', \'_\' and \'-\' (at most 128), '
                'starting with a letter or digit; got %r' % (incident_id,))
    return None


def new_incident_id(scenario, now=None, taken=0):
    """INC-<UTC yyyymmdd-HHMMSS>-<scenario>: unique per second and scenario, readable in a page.
    `taken`: how many ids of that second were already used by other services (then -2, -3, ...)."""
    stamp = time.strftime('%Y%m%d-%H%M%S', time.gmtime(now if now is not None else time.time()))
    return 'INC-%s-%s%s' % (stamp, scenario, '-%d' % (taken + 1) if taken else '')


def _slug(text, limit):
    slug = re.sub(r'[^a-z0-9-]+', '-', text.lower()).strip('-')
    return re.sub(r'-{2,}', '-', slug)[:limit].strip('-')


def _digest(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]


def object_name(incident_id):
    """The ConfigMap and Lease name for an incident: a DNS label (<= 63 characters)."""
    return 'incident-%s-%s' % (_slug(incident_id, 44) or 'x', _digest(incident_id))


def slot_name(service, scenario):
    """The object that says which incident is open for a service and scenario (created atomically)."""
    key = '%s/%s' % (service, scenario)
    return 'open-%s-%s' % (_slug('%s-%s' % (service, scenario), 45) or 'x', _digest(key))


def label_value(text):
    """A label value (<= 63 of [A-Za-z0-9._-], starting and ending alphanumeric) for a free string."""
    value = LABEL_VALUE.sub('-', text or '')[:63]
    return re.sub(r'^[^A-Za-z0-9]+|[^A-Za-z0-9]+$', '', value)


def run_holder(pid=None, run_id=None, environ=None):
    """Who holds the incident during this run: user, host, AWX job when there is one, the controller's
    process id and a run id (so two runs of one user on one host are told apart)."""
    environ = os.environ if environ is None else environ
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers with a random uid)
        user = 'uid%d' % os.getuid()
    parts = ['%s@%s' % (user, socket.gethostname())]
    job = environ.get('JOB_ID') or environ.get('AWX_JOB_ID') or environ.get('TOWER_JOB_ID')
    if job:
        parts.append('awx-job=%s' % job)
    parts.append('pid=%d' % (pid or os.getpid()))
    parts.append('run=%s' % (run_id or uuid.uuid4().hex)[:8])
    return ' '.join(parts)
