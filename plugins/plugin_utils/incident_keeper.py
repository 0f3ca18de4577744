# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The process that holds an incident for one playbook run.

Started by the `incident` action once the run holds the incident's Lease, it is the one place with
the run's Kubernetes credentials (read from its stdin, never from argv or a file). It
- renews the Lease every third of its duration while the controller process lives;
- takes the run's timeline from the incident_timeline callback over a private Unix socket and
  appends it to the incident record (coalesced, so a long run is written every second or two);
- at the end of the run (the callback's `finish`), writes the timeline, releases the Lease and
  answers with the incident's whole timeline for the post-mortem;
- when the controller dies without finishing (SIGKILL, a cancelled AWX job), writes what it has and
  exits without releasing: the Lease expires and the next run proceeds, while any module the dead
  run left behind has its Lease's duration to end;
- when the cluster stops answering, keeps the timeline aside in the spool for the next run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import select
import socket
import sys
import tempfile
import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.errors import IncidentResponseError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.lease import IncidentLease
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.spool import Spool
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import ClusterStore
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import K8sClient
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.connection import resolve

FLUSH_SECONDS = 1.5
MAX_MESSAGE = 8 * 1024 * 1024


def socket_path(run_id, incident_id):
    """A private socket per run and incident (short: Unix socket paths are limited to 107 bytes)."""
    folder = os.path.join(tempfile.gettempdir(), 'pynomaly-incident-%d' % os.getuid())
    digest = hashlib.sha256(('%s/%s' % (run_id, incident_id)).encode('utf-8')).hexdigest()[:20]
    return folder, os.path.join(folder, 'k-%s.sock' % digest)


def send(path, message, timeout=30.0, reply=False):
    """One message to a keeper; its answer when `reply`."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        conn.connect(path)
        conn.sendall(json.dumps(message, default=str).encode('utf-8') + b'\n')
        conn.shutdown(socket.SHUT_WR)
        if not reply:
            return None
        data = b''
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data.decode('utf-8')) if data else None
    finally:
        conn.close()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Keeper(object):
    def __init__(self, config, clock=time.time):
        self.config = config
        self.clock = clock
        client = K8sClient(resolve(**config['connection']), timeout=10)
        self.incident_id = config['incident_id']
        self.store = ClusterStore(client, config['namespace'])
        self.lease = IncidentLease(client, config['namespace'], self.incident_id, config['holder'],
                                   config['duration'])
        self.spool = Spool(config['spool_dir'])
        self.watch_pid = config['watch_pid']
        self.pending_run = None
        self.last_renew = clock()
        self.lease_lost = False
        self.write_error = None

    def renew(self):
        try:
            if not self.lease.renew():
                self.lease_lost = True
        except IncidentResponseError:
            pass  # unreachable for a moment: the next renewal tries again
        self.last_renew = self.clock()

    def flush(self):
        if self.pending_run is None:
            return True
        run = self.pending_run
        try:
            self.store.update(self.incident_id, lambda r, t: rec.apply_op(r, t, {'op': 'run', 'run': run}))
        except IncidentResponseError as exc:
            self.write_error = exc.message
            return False
        if self.pending_run is run:
            self.pending_run = None
        self.write_error = None
        return True

    def keep_aside(self):
        if self.pending_run is not None:
            self.spool.add(self.incident_id, {'op': 'run', 'run': self.pending_run})
            self.pending_run = None

    def timeline(self):
        found = self.store.read(self.incident_id)
        if found is None:
            return None, None
        return found.timeline.get('runs') or [], rec.summary(found.record)

    def finish(self, run):
        self.pending_run = run
        written = self.flush()
        answer = {'ok': written, 'lease_lost': self.lease_lost}
        if written:
            try:
                answer['runs'], answer['incident'] = self.timeline()
            except IncidentResponseError as exc:
                answer['error'] = exc.message
        else:
            answer['error'] = self.write_error
            self.keep_aside()
            answer['spooled'] = self.spool.path(self.incident_id)
        try:
            answer['released'] = self.lease.release()
        except IncidentResponseError:
            answer['released'] = False
        return answer

    def serve(self, server):
        renew_every = max(1.0, self.config['duration'] / 3.0)
        last_flush = self.clock()
        while True:
            readable, _w, _x = select.select([server], [], [], 0.5)
            if readable:
                conn, _addr = server.accept()
                done = self.handle(conn)
                if done:
                    return
            now = self.clock()
            if now - self.last_renew >= renew_every:
                self.renew()
            if now - last_flush >= FLUSH_SECONDS:
                self.flush()
                last_flush = now
            if not _alive(self.watch_pid):
                if not self.flush():
                    self.keep_aside()
                return

    def handle(self, conn):
        conn.settimeout(30)
        data = b''
        try:
            while len(data) < MAX_MESSAGE:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            message = json.loads(data.decode('utf-8') or '{}')
            op = message.get('op')
            if op == 'run':
                self.pending_run = message['run']
            elif op == 'finish':
                answer = self.finish(message['run'])
                conn.sendall(json.dumps(answer, default=str).encode('utf-8'))
                return True
            elif op == 'ping':
                conn.sendall(json.dumps({'ok': True, 'incident_id': self.incident_id}).encode('utf-8'))
        except (OSError, ValueError, KeyError):
            pass
        finally:
            conn.close()
        return False


def main():
    config = json.loads(sys.stdin.read())
    folder, path = socket_path(config['run_id'], config['incident_id'])
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    if os.path.exists(path):
        os.unlink(path)
    keeper = Keeper(config)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o600)
    server.listen(16)
    sys.stdout.write('ready %s\n' % path)
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    try:
        keeper.serve(server)
    finally:
        server.close()
        try:
            os.unlink(path)
        except OSError:
            pass
