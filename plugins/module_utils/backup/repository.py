# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local backup repository: <type>/<id>/ folders with a manifest, staged then renamed into place.

A backup is written into <type>/.partial-<random>/ while a lock file in it is held; it is renamed
to <type>/<id>/ only once its data and manifest are complete and synced. A partial folder whose
lock is free belongs to a run that died: the next run removes it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup import manifest as mf
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import RepositoryError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.timeutil import backup_id, parse_iso

TYPES = ("database", "config", "models", "full")
PARTIAL_PREFIX = ".partial-"
WORK_PREFIX = ".work-"
IN_PROGRESS = ".in-progress"
# A staging folder without its lock file is only presumed dead after this long (it may be being created).
UNLOCKED_GRACE_SECONDS = 60


def _os_error(action, path, exc):
    if exc.errno == errno.ENOSPC:
        return RepositoryError("%s %s: the repository is full (no space left on device)" % (action, path))
    return RepositoryError("%s %s: %s" % (action, path, exc.strerror or exc))


class StoredBackup(object):
    """One complete backup folder and its manifest."""

    def __init__(self, path, manifest):
        self.path = path
        self.manifest = manifest
        self.id = manifest["id"]
        self.type = manifest["type"]
        self.started = parse_iso(manifest["started"])

    @property
    def key(self):
        return "%s/%s" % (self.type, self.id)

    def verification(self):
        path = os.path.join(self.path, mf.VERIFICATION)
        if not os.path.exists(path):
            return None
        try:
            return mf.read_json(path)
        except RepositoryError:
            return None


class Staging(object):
    """A folder being filled, locked for as long as this process lives."""

    def __init__(self, repository, backup_type, prefix):
        self.repository = repository
        self.type_dir = repository.type_dir(backup_type) if backup_type else repository.root
        try:
            self.path = tempfile.mkdtemp(prefix=prefix, dir=self.type_dir)
            self._lock_fd = os.open(os.path.join(self.path, IN_PROGRESS), os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _os_error("cannot create a staging folder in", self.type_dir, exc) from None
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _release(self, folder):
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, IN_PROGRESS))

    def commit(self, manifest):
        """Give the backup its id, write its manifest and rename it into place; returns the StoredBackup."""
        with self.repository.locked():
            taken = set(os.listdir(self.type_dir))
            manifest["id"] = backup_id(parse_iso(manifest["started"]), taken)
            manifest["status"] = "complete"
            mf.atomic_write_json(os.path.join(self.path, mf.MANIFEST), manifest)
            final = os.path.join(self.type_dir, manifest["id"])
            try:
                os.rename(self.path, final)
                mf.fsync_dir(self.type_dir)
            except OSError as exc:
                raise _os_error("cannot move the finished backup to", final, exc) from None
        self._release(final)
        self.path = final
        return StoredBackup(final, manifest)

    def abort(self):
        if os.path.isdir(self.path) and os.path.basename(self.path).startswith((PARTIAL_PREFIX, WORK_PREFIX)):
            shutil.rmtree(self.path, ignore_errors=True)
        self._release(self.path)


class Repository(object):
    def __init__(self, root):
        self.root = os.path.abspath(root)

    def type_dir(self, backup_type):
        return os.path.join(self.root, backup_type)

    def exists(self):
        return os.path.isdir(self.root)

    def ensure(self, backup_type=None):
        """Create the repository (0700) and a type folder; tighten modes that are too open."""
        for path in [self.root] + ([self.type_dir(backup_type)] if backup_type else []):
            try:
                if not os.path.isdir(path):
                    os.makedirs(path, 0o700)
                if os.stat(path).st_mode & 0o077:
                    os.chmod(path, 0o700)
            except OSError as exc:
                raise _os_error("cannot create the repository folder", path, exc) from None

    @contextlib.contextmanager
    def locked(self):
        fd = os.open(os.path.join(self.root, ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def stage(self, backup_type):
        self.ensure(backup_type)
        return Staging(self, backup_type, PARTIAL_PREFIX)

    def work_area(self):
        """A private scratch folder (decrypted copies); removed by its owner or, if it dies, by the next run."""
        self.ensure()
        return Staging(self, None, WORK_PREFIX)

    def backups(self, backup_type):
        """(complete backups newest first, folders that are not valid backups)."""
        folder = self.type_dir(backup_type)
        if not os.path.isdir(folder):
            return [], []
        complete, invalid = [], []
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if name.startswith(".") or not os.path.isdir(path):
                continue
            try:
                data = mf.read_json(os.path.join(path, mf.MANIFEST))
                if data.get("status") != "complete" or data.get("id") != name or data.get("type") != backup_type:
                    raise RepositoryError("manifest does not describe a complete %s backup %s" % (backup_type, name))
                complete.append(StoredBackup(path, data))
            except (RepositoryError, KeyError, ValueError) as exc:
                invalid.append({"path": path, "problem": str(exc)})
        complete.sort(key=lambda b: (b.started, b.id), reverse=True)
        return complete, invalid

    def find(self, backup_type, wanted):
        complete, _invalid = self.backups(backup_type)
        if not complete:
            raise RepositoryError("no complete %s backup in %s" % (backup_type, self.root))
        if wanted in (None, "", "latest"):
            return complete[0]
        for backup in complete:
            if backup.id == wanted:
                return backup
        raise RepositoryError("no complete %s backup with id %s in %s; newest ids: %s" % (
            backup_type, wanted, self.root, ", ".join(b.id for b in complete[:5])))

    def leftovers(self):
        """Staging and scratch folders whose owner died (their lock is free)."""
        found = []
        folders = [self.root] + [self.type_dir(t) for t in TYPES]
        for folder in folders:
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if name.startswith((PARTIAL_PREFIX, WORK_PREFIX)) and os.path.isdir(path) and _abandoned(path):
                    found.append(path)
        return found

    def remove_leftovers(self):
        removed = self.leftovers()
        for path in removed:
            shutil.rmtree(path, ignore_errors=True)
        return removed

    def remove(self, backup):
        """Delete a backup: first rename it out of the listing, then delete the files."""
        doomed = os.path.join(os.path.dirname(backup.path), "%sremoved-%s" % (WORK_PREFIX, backup.id))
        try:
            os.rename(backup.path, doomed)
        except OSError as exc:
            raise _os_error("cannot remove backup", backup.path, exc) from None
        shutil.rmtree(doomed, ignore_errors=True)


def _abandoned(path):
    lock = os.path.join(path, IN_PROGRESS)
    try:
        fd = os.open(lock, os.O_WRONLY)
    except OSError:
        return time.time() - os.stat(path).st_mtime > UNLOCKED_GRACE_SECONDS
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True
