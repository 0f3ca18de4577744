# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sha256 and size of every file of a backup, and the exact difference from a manifest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

CHUNK = 1024 * 1024


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class HashingReader(object):
    """Wraps a binary file: hashes and counts what is read through it (one read for archive + checksum)."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size=-1):
        data = self.handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def hexdigest(self):
        return self.digest.hexdigest()


def walk_files(root):
    """Relative paths (with /) of every regular file under root, sorted."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            if os.path.isfile(full) and not os.path.islink(full):
                found.append(os.path.relpath(full, root).replace(os.sep, "/"))
    return sorted(found)


def file_entries(root, relpaths):
    """Manifest entries (path, size, sha256) of the given files under root."""
    entries = []
    for rel in relpaths:
        full = os.path.join(root, rel)
        entries.append({"path": rel, "size": os.path.getsize(full), "sha256": sha256_file(full)})
    return entries


def compare_files(root, entries, ignore=()):
    """Every difference between root and the manifest entries, as plain sentences (empty when equal)."""
    problems = []
    expected = set()
    for entry in entries:
        rel = entry["path"]
        expected.add(rel)
        full = os.path.join(root, rel)
        if not os.path.isfile(full):
            problems.append("%s: missing (manifest lists %d bytes)" % (rel, entry["size"]))
            continue
        size = os.path.getsize(full)
        if size != entry["size"]:
            kind = "truncated" if size < entry["size"] else "grown"
            problems.append("%s: %s, %d bytes on disk, manifest says %d" % (rel, kind, size, entry["size"]))
            continue
        actual = sha256_file(full)
        if actual != entry["sha256"]:
            problems.append("%s: sha256 mismatch, %s on disk, manifest says %s" % (rel, actual, entry["sha256"]))
    for rel in walk_files(root):
        if rel not in expected and rel not in ignore:
            problems.append("%s: not in the manifest" % rel)
    return problems
