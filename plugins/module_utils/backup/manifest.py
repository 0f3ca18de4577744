# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""manifest.json and the small JSON records kept next to it, written atomically."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import RepositoryError

FORMAT = 1
MANIFEST = "manifest.json"
VERIFICATION = "verification.json"


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_json(path, data):
    """Write to a temporary file, fsync, then rename over path: readers see the old or the new file, never half."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
        fsync_dir(os.path.dirname(path) or ".")
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise RepositoryError("cannot write %s: %s" % (path, exc.strerror or exc)) from None


def read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise RepositoryError("cannot read %s: %s" % (path, exc)) from None


def new_manifest(backup_type, started, reason):
    return {
        "format": FORMAT,
        "id": None,
        "type": backup_type,
        "status": "in_progress",
        "reason": reason,
        "started": started,
        "finished": None,
        "duration_seconds": None,
        "source": {},
        "tool_versions": {},
        "row_counts": {},
        "encryption": None,
        "components": [],
        "files": [],
        "size_bytes": 0,
    }
