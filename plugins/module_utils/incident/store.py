# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where incident records live: in the cluster (the default), or in a folder for runs with no cluster.

Cluster: one ConfigMap per incident in one namespace, labelled by service, scenario, status and
severity (`kubectl get cm -n incident-response -l incident-response.pynomaly.io/status=open`); every
write is a read-modify-write guarded by resourceVersion, retried on 409, so two runners never lose
each other's changes. Which incident is open for a service and scenario is a second, small
ConfigMap (the "slot") created with POST, so two runs that start together agree on one incident.

Local (`store: local`): the same layout as files, with a lock file standing in for resourceVersion.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import tempfile

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.errors import (
    RecordError,
    StoreUnreachable,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import (
    label_value,
    object_name,
    slot_name,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import (
    REQUEST_TIMEOUT,
    K8sClient,
    resource_path,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    ApiRequestFailed,
    ApiUnreachable,
    ObjectNotFound,
    ResourceConflict,
)

LABEL_PREFIX = 'incident-response.pynomaly.io/'
ID_ANNOTATION = LABEL_PREFIX + 'id'
MANAGED_BY = {'app.kubernetes.io/managed-by': 'pynomaly.incident_response'}
RECORD_KEY = 'incident.json'
TIMELINE_KEY = 'timeline.json'
SLOT_KEY = 'incident_id'
UPDATE_ATTEMPTS = 20


class Stored(object):
    """A record as read: the record, its timeline and the version a write must match."""

    def __init__(self, record, timeline, version):
        self.record = record
        self.timeline = timeline
        self.version = version


def _loads(text, what):
    try:
        value = json.loads(text or '{}')
    except ValueError as exc:
        raise RecordError('%s is not valid JSON (%s); fix or delete it by hand' % (what, exc)) from None
    if not isinstance(value, dict):
        raise RecordError('%s is not a JSON object; fix or delete it by hand' % what)
    return value


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(',', ':'), default=str)


def record_labels(record):
    labels = dict(MANAGED_BY)
    labels[LABEL_PREFIX + 'record'] = 'incident'
    for key in ('service', 'scenario', 'status', 'severity'):
        if record.get(key):
            labels[LABEL_PREFIX + key] = label_value(record[key])
    return labels


class ClusterStore(object):
    """Incident records as ConfigMaps in `namespace`, through the collection's Kubernetes client."""

    kind = 'cluster'

    def __init__(self, client, namespace):
        self.client = client
        self.namespace = namespace

    def where(self, incident_id):
        return 'ConfigMap %s/%s' % (self.namespace, object_name(incident_id))

    def _path(self, name=None):
        return resource_path('v1', 'configmaps', self.namespace, name)

    def _call(self, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ApiUnreachable as exc:
            raise StoreUnreachable(exc.message) from None

    # --- records --------------------------------------------------------------------------------
    def _decode(self, obj, incident_id):
        data = obj.get('data') or {}
        where = '%s (%s)' % (self.where(incident_id), RECORD_KEY)
        record = _loads(data.get(RECORD_KEY), where)
        if record.get('id') != incident_id:
            raise RecordError('%s holds incident %r, not %r'
                              % (self.where(incident_id), record.get('id'), incident_id))
        timeline = _loads(data.get(TIMELINE_KEY), '%s (%s)' % (self.where(incident_id), TIMELINE_KEY))
        return Stored(record, timeline, obj['metadata']['resourceVersion'])

    def read(self, incident_id):
        try:
            obj = self._call(self.client.get, self._path(object_name(incident_id)),
                             what='read the incident record %s' % self.where(incident_id))
        except ObjectNotFound:
            return None
        return self._decode(obj, incident_id)

    def _body(self, record, timeline, version=None):
        metadata = {'name': object_name(record['id']), 'namespace': self.namespace,
                    'labels': record_labels(record), 'annotations': {ID_ANNOTATION: record['id']}}
        if version is not None:
            metadata['resourceVersion'] = version
        return {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': metadata,
                'data': {RECORD_KEY: _dumps(record), TIMELINE_KEY: _dumps(timeline)}}

    def create(self, record, timeline=None):
        """Create the record; None when one with that id exists already."""
        body = self._body(record, timeline or {'runs': []})
        try:
            obj = self._create(body, 'create the incident record %s' % self.where(record['id']))
        except ResourceConflict:
            return None
        return self._decode(obj, record['id'])

    def _create(self, body, what):
        try:
            return self._call(self.client.create, self._path(), body, what=what)
        except ObjectNotFound:
            self._create_namespace()
            return self._call(self.client.create, self._path(), body, what=what)

    def _create_namespace(self):
        body = {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': self.namespace, 'labels': MANAGED_BY}}
        try:
            self._call(self.client.create, resource_path('v1', 'namespaces'), body,
                       what='create the namespace %s for incident records' % self.namespace)
        except ResourceConflict:
            pass
        except ApiRequestFailed as exc:
            raise RecordError('The incident records\' namespace %s does not exist and cannot be created (%s). '
                              'Create it once (kubectl create namespace %s) and give the runners the Role in '
                              'inventory/production.example/rbac.yml.' % (self.namespace, exc.message,
                                                                          self.namespace)) from None

    def update(self, incident_id, mutate):
        """Read, mutate(record, timeline) -> (record, timeline), write with the read resourceVersion;
        again on a conflict. Returns (before, after) as Stored; nothing is written when nothing changed."""
        for _attempt in range(UPDATE_ATTEMPTS):
            before = self.read(incident_id)
            if before is None:
                raise RecordError('There is no incident record for %s (%s)' % (incident_id, self.where(incident_id)))
            record, timeline = mutate(before.record, before.timeline)
            if record == before.record and timeline == before.timeline:
                return before, before
            try:
                obj = self._call(self.client.replace, self._path(object_name(incident_id)),
                                 self._body(record, timeline, before.version),
                                 what='update the incident record %s' % self.where(incident_id))
            except ResourceConflict:
                continue
            return before, self._decode(obj, incident_id)
        raise RecordError('The incident record %s kept changing under %d attempts to update it'
                          % (self.where(incident_id), UPDATE_ATTEMPTS))

    def list(self, status=None, service=None, scenario=None):
        selector = ['%srecord=incident' % LABEL_PREFIX]
        for key, value in (('status', status), ('service', service), ('scenario', scenario)):
            if value:
                selector.append('%s%s=%s' % (LABEL_PREFIX, key, label_value(value)))
        try:
            items = self._call(self.client.items, self._path(), what='list incident records in %s' % self.namespace,
                               query={'labelSelector': ','.join(selector)})
        except ObjectNotFound:
            return []
        out = []
        for obj in items:
            incident_id = (obj['metadata'].get('annotations') or {}).get(ID_ANNOTATION)
            if incident_id:
                out.append(self._decode(obj, incident_id).record)
        return out

    # --- the open incident of a service and scenario ----------------------------------------------
    def slot(self, service, scenario):
        """(incident id, version) of the slot, or (None, None)."""
        try:
            obj = self._call(self.client.get, self._path(slot_name(service, scenario)),
                             what='read which incident is open for %s/%s' % (service, scenario))
        except ObjectNotFound:
            return None, None
        return (obj.get('data') or {}).get(SLOT_KEY), obj['metadata']['resourceVersion']

    def claim_slot(self, service, scenario, incident_id):
        """True when this call made `incident_id` the open one; False when another incident holds the slot."""
        body = {'apiVersion': 'v1', 'kind': 'ConfigMap',
                'metadata': {'name': slot_name(service, scenario), 'namespace': self.namespace,
                             'labels': dict(MANAGED_BY, **{LABEL_PREFIX + 'record': 'open-slot',
                                                           LABEL_PREFIX + 'service': label_value(service),
                                                           LABEL_PREFIX + 'scenario': label_value(scenario)})},
                'data': {SLOT_KEY: incident_id}}
        try:
            self._create(body, 'mark %s open for %s/%s' % (incident_id, service, scenario))
        except ResourceConflict:
            return False
        return True

    def release_slot(self, service, scenario, incident_id, version=None):
        """Free the slot if it still names `incident_id` (a slot already taken by a newer one is left alone)."""
        held, current = self.slot(service, scenario) if version is None else (incident_id, version)
        if held != incident_id:
            return False
        body = {'apiVersion': 'v1', 'kind': 'DeleteOptions', 'preconditions': {'resourceVersion': current}}
        try:
            self._call(self.client.delete, self._path(slot_name(service, scenario)), body,
                       what='free the open-incident slot of %s/%s' % (service, scenario))
        except (ObjectNotFound, ResourceConflict):
            return False
        return True


class LocalStore(object):
    """The same records as JSON files in a folder (0700), for runs with no cluster at all."""

    kind = 'local'

    def __init__(self, folder):
        self.folder = os.path.expanduser(folder)

    def where(self, incident_id):
        return os.path.join(self.folder, object_name(incident_id) + '.json')

    def _ensure(self):
        try:
            os.makedirs(self.folder, mode=0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise RecordError('Cannot create the incident folder %s: %s' % (self.folder, exc)) from None

    def _lock(self, name):
        self._ensure()
        handle = open(os.path.join(self.folder, name + '.lock'), 'a')
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    def _load(self, path, incident_id):
        try:
            with open(path, encoding='utf-8') as handle:
                data = _loads(handle.read(), path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise RecordError('Cannot read the incident record %s: %s' % (path, exc)) from None
        if (data.get('record') or {}).get('id') != incident_id:
            raise RecordError('%s holds incident %r, not %r' % (path, (data.get('record') or {}).get('id'),
                                                                incident_id))
        return Stored(data['record'], data.get('timeline') or {'runs': []}, data.get('version', 0))

    def _write(self, path, stored):
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix='.tmp-')
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write(json.dumps({'record': stored.record, 'timeline': stored.timeline,
                                     'version': stored.version}, sort_keys=True, default=str))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def read(self, incident_id):
        return self._load(self.where(incident_id), incident_id)

    def create(self, record, timeline=None):
        with self._lock(object_name(record['id'])):
            if self.read(record['id']) is not None:
                return None
            stored = Stored(record, timeline or {'runs': []}, 1)
            self._write(self.where(record['id']), stored)
            return stored

    def update(self, incident_id, mutate):
        with self._lock(object_name(incident_id)):
            before = self.read(incident_id)
            if before is None:
                raise RecordError('There is no incident record for %s (%s)' % (incident_id, self.where(incident_id)))
            record, timeline = mutate(before.record, before.timeline)
            if record == before.record and timeline == before.timeline:
                return before, before
            after = Stored(record, timeline, before.version + 1)
            self._write(self.where(incident_id), after)
            return before, after

    def list(self, status=None, service=None, scenario=None):
        if not os.path.isdir(self.folder):
            return []
        out = []
        for name in sorted(os.listdir(self.folder)):
            if name.startswith('incident-') and name.endswith('.json'):
                with open(os.path.join(self.folder, name), encoding='utf-8') as handle:
                    record = _loads(handle.read(), name).get('record') or {}
                if all(not want or record.get(key) == want
                       for key, want in (('status', status), ('service', service), ('scenario', scenario))):
                    out.append(record)
        return out

    def _slot_path(self, service, scenario):
        return os.path.join(self.folder, slot_name(service, scenario) + '.slot')

    def slot(self, service, scenario):
        try:
            with open(self._slot_path(service, scenario), encoding='utf-8') as handle:
                held = handle.read().strip()
        except OSError:
            return None, None
        return held or None, held or None

    def claim_slot(self, service, scenario, incident_id):
        self._ensure()
        try:
            fd = os.open(self._slot_path(service, scenario), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                return False
            raise
        with os.fdopen(fd, 'w') as handle:
            handle.write(incident_id)
        return True

    def release_slot(self, service, scenario, incident_id, version=None):
        with self._lock(slot_name(service, scenario)):
            held, _version = self.slot(service, scenario)
            if held != incident_id:
                return False
            os.unlink(self._slot_path(service, scenario))
            return True


def open_or_join(store, service, scenario, make_record, attempts=5):
    """The open incident of `service`/`scenario`, or a new one from make_record().

    make_record(n) makes the candidate; n > 0 when n ids of this second were taken by other services'
    incidents. Returns (Stored, created). The new record is written before the slot is claimed, so a slot
    always names an incident that exists; a slot that names a resolved or deleted incident is stale
    and is freed. When two runs race, the one whose slot claim wins opens the incident and the
    other joins it (its own unclaimed record is marked as merged into the winner)."""
    taken = 0  # ids of this second already used by another service's incident (or a closed one)
    for _attempt in range(attempts):
        held, version = store.slot(service, scenario)
        if held:
            found = store.read(held)
            if found is not None and found.record.get('status') == 'open':
                return found, False
            store.release_slot(service, scenario, held, version)
            continue
        candidate = make_record(taken)
        created = store.create(candidate)
        if created is None:  # that id exists already (same second, same scenario)
            found = store.read(candidate['id'])
            mine = found is not None and (found.record.get('service'), found.record.get('scenario')) == \
                (service, scenario)
            if mine and found.record.get('status') == 'open':  # a run that started with this one: join it
                store.claim_slot(service, scenario, candidate['id'])
                return found, False
            taken += 1  # another service's incident of the same second: take the next id
            continue
        if store.claim_slot(service, scenario, candidate['id']):
            return created, True
        store.update(candidate['id'], lambda r, t: (dict(rec.resolve(r), merged_into=store.slot(service, scenario)[0],
                                                         status='merged'), t))
    raise RecordError('Could not settle which incident is open for %s/%s after %d attempts'
                      % (service, scenario, attempts))


def build_store(params, timeout=None):
    """The store the options name: the cluster (through the Kubernetes options) or a local folder."""
    if params['store'] == 'local':
        return LocalStore(params['local_dir'])
    return ClusterStore(K8sClient.from_params(params, timeout=timeout or REQUEST_TIMEOUT), params['record_namespace'])
