"""The repository's promises on a real filesystem: staged backups are invisible until committed, ids are
unique and sortable, and a staging folder is only called abandoned once its owner is gone."""
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup import manifest as mf
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import RepositoryError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.repository import Repository

STARTED = "2026-11-27T06:15:00.123456Z"


def write_backup(repo, started=STARTED):
    staging = repo.stage("database")
    with open(os.path.join(staging.path, "data.bin"), "wb") as handle:
        handle.write(b"payload")
    return staging, mf.new_manifest("database", started, "test")


def test_a_staged_backup_is_invisible_until_committed(tmp_path):
    repo = Repository(str(tmp_path / "repo"))
    staging, manifest = write_backup(repo)
    assert repo.backups("database") == ([], [])
    assert repo.leftovers() == [], "a live staging folder is not a leftover"
    stored = staging.commit(manifest)
    assert stored.id == "20261127T061500Z"
    assert [b.id for b in repo.backups("database")[0]] == ["20261127T061500Z"]
    on_disk = json.loads((tmp_path / "repo" / "database" / stored.id / "manifest.json").read_text())
    assert on_disk["status"] == "complete" and on_disk["id"] == stored.id
    assert sorted(os.listdir(stored.path)) == ["data.bin", "manifest.json"]


def test_two_backups_in_the_same_second_get_distinct_sortable_ids(tmp_path):
    repo = Repository(str(tmp_path / "repo"))
    first = write_backup(repo)
    second = write_backup(repo)
    ids = [first[0].commit(first[1]).id, second[0].commit(second[1]).id]
    assert ids == ["20261127T061500Z", "20261127T061500Z-01"]
    assert repo.find("database", "latest").id in ids


def test_a_staging_folder_is_abandoned_only_when_its_lock_is_free(tmp_path):
    repo = Repository(str(tmp_path / "repo"))
    staging, _manifest = write_backup(repo)
    lock = os.path.join(staging.path, ".in-progress")
    os.close(staging._lock_fd)  # this process lets go of the lock, as if it had died...
    staging._lock_fd = None
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); fcntl.flock(fd, fcntl.LOCK_EX); "
        "print('locked', flush=True); sys.stdin.read()"), lock],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert repo.leftovers() == [], "...but another live process holds the lock"
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert repo.leftovers() == [staging.path]
    assert repo.remove_leftovers() == [staging.path]
    assert not os.path.exists(staging.path)


def test_a_folder_without_a_valid_manifest_is_reported_not_listed(tmp_path):
    repo = Repository(str(tmp_path / "repo"))
    broken = tmp_path / "repo" / "database" / "20261127T000000Z"
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text("{not json")
    complete, invalid = repo.backups("database")
    assert complete == []
    assert invalid[0]["path"] == str(broken) and "cannot read" in invalid[0]["problem"]
    with pytest.raises(RepositoryError, match="no complete database backup"):
        repo.find("database", "latest")
