# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ML model store backups: one tar archive of a directory, with every member's sha256 in the manifest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import platform
import shutil
import tarfile
import tempfile

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.checksums import (
    CHUNK,
    HashingReader,
    sha256_file,
    walk_files,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import (
    BadInput,
    RepositoryError,
    VerificationFailed,
)

ARCHIVE = "models.tar"


def archive_name(compression):
    return ARCHIVE if compression == 0 else ARCHIVE + ".gz"


def archive_directory(source, target_dir, compression):
    """Archive every regular file under source (hashing each as it is read); returns the manifest part."""
    if not os.path.isdir(source):
        raise BadInput("models_path %s is not a directory" % source)
    name = archive_name(compression)
    mode = "w" if compression == 0 else "w:gz"
    kwargs = {} if compression == 0 else {"compresslevel": 6 if compression is None else compression}
    contents = []
    os.makedirs(target_dir, 0o700)
    with tarfile.open(os.path.join(target_dir, name), mode, **kwargs) as archive:
        for rel in walk_files(source):
            full = os.path.join(source, rel)
            info = archive.gettarinfo(full, arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(full, "rb") as handle:
                reader = HashingReader(handle)
                archive.addfile(info, reader)
            contents.append({"path": rel, "size": reader.size, "sha256": reader.hexdigest()})
    return {
        "source": {"path": source, "file_count": len(contents), "size_bytes": sum(c["size"] for c in contents)},
        "contents": contents,
        "archive": name,
        "tool_versions": {"python-tarfile": platform.python_version()},
    }


def directory_contents(path):
    """The same (path, size, sha256) list for a live directory; empty when it does not exist."""
    if not os.path.isdir(path):
        return []
    entries = []
    for rel in walk_files(path):
        full = os.path.join(path, rel)
        entries.append({"path": rel, "size": os.path.getsize(full), "sha256": sha256_file(full)})
    return entries


def check_archive(archive_path, contents):
    """Read every member back and compare it with the manifest's list; returns the differences."""
    expected = dict((c["path"], c) for c in contents)
    seen, problems = set(), []
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                entry = expected.get(member.name)
                if entry is None:
                    problems.append("archive member %s is not in the manifest" % member.name)
                    continue
                seen.add(member.name)
                reader = HashingReader(archive.extractfile(member))
                while reader.read(CHUNK):
                    pass
                if reader.hexdigest() != entry["sha256"]:
                    problems.append("archive member %s: sha256 differs from the manifest" % member.name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        problems.append("%s cannot be read: %s" % (os.path.basename(archive_path), exc))
    for missing in sorted(set(expected) - seen):
        problems.append("archive member %s is missing" % missing)
    return problems


def extract_into(archive_path, target, contents):
    """Extract next to target, check every file, then swap it in; target is untouched on any failure."""
    parent = os.path.dirname(os.path.abspath(target)) or "."
    try:
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".%s.restoring-" % os.path.basename(target), dir=parent)
    except OSError as exc:
        raise RepositoryError("cannot prepare a restore next to %s: %s" % (target, exc.strerror or exc)) from None
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(staging, filter="data")
            else:  # pragma: no cover - Python < 3.8.17 lacks extraction filters; the archive was checksummed
                archive.extractall(staging)  # noqa: S202 - our own archive, checksummed before
        problems = compare_contents(contents, directory_contents(staging))
        if problems:
            raise VerificationFailed("the extracted models do not match the backup: %s" % "; ".join(problems))
        if os.path.lexists(target):
            replaced = staging + ".replaced"
            os.rename(target, replaced)
            os.rename(staging, target)
            shutil.rmtree(replaced, ignore_errors=True)
        else:
            os.rename(staging, target)
    except (OSError, tarfile.TarError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise RepositoryError("restoring models into %s failed: %s" % (target, reason)) from None
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)


def compare_contents(expected, actual):
    have = dict((c["path"], c) for c in actual)
    problems = []
    for entry in expected:
        got = have.pop(entry["path"], None)
        if got is None:
            problems.append("%s: missing" % entry["path"])
        elif got["sha256"] != entry["sha256"]:
            problems.append("%s: content differs" % entry["path"])
    problems.extend("%s: not in the backup" % path for path in sorted(have))
    return problems
