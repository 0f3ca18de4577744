# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run holds its incident with a coordination.k8s.io/v1 Lease, as Kubernetes' leader election does.

One Lease per incident (same name as the record). A run takes it before it contains, rolls back or
resolves, renews it while it runs (lease_keeper.py) and releases it at the end. Another run waits
for it up to a bound and then fails naming the holder. A run that was killed stops renewing, and
the Lease expires `leaseDurationSeconds` after its last renewal.

Expiry is judged two ways, whichever comes first: the holder's renewTime plus the duration is past
(clocks of runners and cluster agree within seconds), or this waiter has watched the Lease not
change for the whole duration (true whatever the clocks say, as client-go's leader election does).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from datetime import datetime

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.errors import (
    IncidentHeld,
    StoreUnreachable,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import object_name
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.record import utc_iso
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import resource_path
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    ApiUnreachable,
    ObjectNotFound,
    ResourceConflict,
)

API_VERSION = 'coordination.k8s.io/v1'
POLL_SECONDS = 0.5


def parse_micro_time(text):
    """A Lease's MicroTime as seconds since the epoch, or None."""
    if not text:
        return None
    for fmt in ('%Y-%m-%dT%H:%M:%S.%fZ', '%Y-%m-%dT%H:%M:%SZ'):
        try:
            return (datetime.strptime(text, fmt) - datetime(1970, 1, 1)).total_seconds()
        except ValueError:
            continue
    return None


def lease_expired(spec, now):
    """True when nobody holds the Lease or its holder's renewal is older than its duration."""
    if not spec.get('holderIdentity'):
        return True
    renewed = parse_micro_time(spec.get('renewTime') or spec.get('acquireTime'))
    duration = spec.get('leaseDurationSeconds') or 0
    return renewed is None or renewed + duration < now


class IncidentLease(object):
    """The Lease of one incident, held by `holder` for `duration` seconds at a time."""

    def __init__(self, client, namespace, incident_id, holder, duration, clock=time.time, sleep=time.sleep):
        self.client = client
        self.namespace = namespace
        self.name = object_name(incident_id)
        self.incident_id = incident_id
        self.holder = holder
        self.duration = int(duration)
        self.clock = clock
        self.sleep = sleep

    def _path(self, name=None):
        return resource_path(API_VERSION, 'leases', self.namespace, name)

    def _get(self):
        try:
            return self.client.get(self._path(self.name), what='read the Lease of %s' % self.incident_id)
        except ObjectNotFound:
            return None

    def _spec(self, previous=None):
        now = utc_iso(self.clock())
        spec = {'holderIdentity': self.holder, 'leaseDurationSeconds': self.duration, 'renewTime': now,
                'acquireTime': now, 'leaseTransitions': 0}
        if previous:
            transitions = previous.get('leaseTransitions') or 0
            if previous.get('holderIdentity') == self.holder:
                spec['acquireTime'] = previous.get('acquireTime') or now
                spec['leaseTransitions'] = transitions
            else:
                spec['leaseTransitions'] = transitions + 1
        return spec

    def _body(self, spec, version=None):
        metadata = {'name': self.name, 'namespace': self.namespace,
                    'labels': {'app.kubernetes.io/managed-by': 'pynomaly.incident_response'},
                    'annotations': {'incident-response.pynomaly.io/id': self.incident_id}}
        if version:
            metadata['resourceVersion'] = version
        return {'apiVersion': API_VERSION, 'kind': 'Lease', 'metadata': metadata, 'spec': spec}

    def try_acquire(self, watched):
        """One attempt: (True, lease) when held by us now, (False, lease) when another holds it.
        `watched` keeps {resourceVersion: first seen at} across attempts for the clock-free expiry."""
        lease = self._get()
        if lease is None:
            try:
                return True, self.client.create(self._path(), self._body(self._spec()),
                                                what='take the Lease of %s' % self.incident_id)
            except ResourceConflict:
                return False, None
        spec = lease.get('spec') or {}
        version = lease['metadata']['resourceVersion']
        now = self.clock()
        watched.setdefault(version, now)
        unchanged_for = now - watched[version]
        mine = spec.get('holderIdentity') == self.holder
        if not (mine or lease_expired(spec, now) or unchanged_for > (spec.get('leaseDurationSeconds') or 0)):
            return False, lease
        try:
            return True, self.client.replace(self._path(self.name), self._body(self._spec(spec), version),
                                             what='take the Lease of %s' % self.incident_id)
        except ResourceConflict:
            return False, lease

    def acquire(self, wait_timeout):
        """Hold the Lease, waiting up to `wait_timeout` seconds for another holder. Returns
        {'held_by': holder, 'waited': seconds, 'previous_holder': ...}."""
        started = self.clock()
        watched = {}
        previous = None
        try:
            while True:
                held, lease = self.try_acquire(watched)
                if held:
                    return {'holder': self.holder, 'waited': round(self.clock() - started, 3),
                            'previous_holder': previous, 'name': self.name, 'namespace': self.namespace,
                            'duration': self.duration}
                if lease is not None:
                    previous = (lease.get('spec') or {}).get('holderIdentity')
                if self.clock() - started >= wait_timeout:
                    spec = (lease or {}).get('spec') or {}
                    raise IncidentHeld(
                        'Incident %s is being worked on by another run: %s (Lease %s/%s, renewed %s, held for '
                        '%ss at a time). Nothing was changed by this run. Wait for it to finish, or if that run '
                        'is gone, run again after the Lease expires.'
                        % (self.incident_id, spec.get('holderIdentity') or previous, self.namespace, self.name,
                           spec.get('renewTime') or '?', spec.get('leaseDurationSeconds') or '?'),
                        holder=spec.get('holderIdentity') or previous, lease=self.name)
                self.sleep(POLL_SECONDS)
        except ApiUnreachable as exc:
            raise StoreUnreachable(exc.message) from None

    def renew(self):
        """Renew a Lease we hold; False when it is no longer ours (taken after expiring)."""
        lease = self._get()
        if lease is None or (lease.get('spec') or {}).get('holderIdentity') != self.holder:
            return False
        spec = dict(lease['spec'], renewTime=utc_iso(self.clock()), leaseDurationSeconds=self.duration)
        try:
            self.client.replace(self._path(self.name), self._body(spec, lease['metadata']['resourceVersion']),
                                what='renew the Lease of %s' % self.incident_id)
        except ResourceConflict:
            return self.renew()
        return True

    def release(self):
        """Give the Lease up at the end of a run, so the next run need not wait for it to expire."""
        lease = self._get()
        if lease is None or (lease.get('spec') or {}).get('holderIdentity') != self.holder:
            return False
        spec = dict(lease['spec'], holderIdentity=None, leaseDurationSeconds=1, renewTime=utc_iso(self.clock()))
        spec = dict((k, v) for k, v in spec.items() if v is not None)
        try:
            self.client.replace(self._path(self.name), self._body(spec, lease['metadata']['resourceVersion']),
                                what='release the Lease of %s' % self.incident_id)
        except ResourceConflict:
            return self.release()
        return True

    def describe(self):
        """The Lease as a dict for reports (holder, renewTime), or None."""
        lease = self._get()
        return None if lease is None else dict(lease.get('spec') or {})
