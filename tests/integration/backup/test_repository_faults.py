"""Faults: an interrupted backup is never listed and is cleaned next run; a full disk fails cleanly; prune
keeps what it must."""
import datetime
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.backup.conftest import listed_ids, run_background


def _pg_dump_writing_into(repo, timeout=60):
    """pid of the pg_dump process whose output is inside repo (read from /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"pg_dump") and any(str(repo).encode() in a for a in argv):
                return int(entry.name)
        time.sleep(0.05)
    raise AssertionError("pg_dump never started")


def _parent_of(pid):
    return int(Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[1])


@pytest.fixture
def table_locked(pg, source_db):
    """Hold an ACCESS EXCLUSIVE lock on items, so pg_dump waits inside its run until we release it."""
    conn = pg.connect(source_db)
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
    yield conn
    conn.rollback()
    conn.close()


def test_a_killed_pg_dump_fails_the_backup_and_leaves_nothing_listed(backup, repo, lab_environ, source_db,
                                                                     table_locked):
    proc = run_background(lab_environ, {"state": "create", "repository": str(repo), "login_db": source_db})
    os.kill(_pg_dump_writing_into(repo), signal.SIGKILL)
    table_locked.rollback()
    out, err = proc.communicate(timeout=120)
    result = json.loads(out)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result.get("failed") is True, result
    assert "pg_dump failed (killed by signal SIGKILL)" in result["msg"], result["msg"]
    assert "removed" in result["msg"]
    assert listed_ids(repo) == []
    assert list((repo / "database").iterdir()) == [], "the failed backup left files behind"
    assert backup("list")["backups"] == []


def test_an_interrupted_create_is_not_listed_and_the_next_run_cleans_it(backup, repo, lab_environ, source_db,
                                                                        table_locked):
    proc = run_background(lab_environ, {"state": "create", "repository": str(repo), "login_db": source_db})
    dump = _pg_dump_writing_into(repo)
    # The machine dies mid-backup: the module and pg_dump are killed without any chance to clean up.
    os.kill(_parent_of(dump), signal.SIGKILL)
    os.kill(dump, signal.SIGKILL)
    table_locked.rollback()
    proc.communicate(timeout=60)
    leftovers = list((repo / "database").glob(".partial-*"))
    assert len(leftovers) == 1, list((repo / "database").iterdir())

    listing = backup("list")
    assert listing["backups"] == [] and listed_ids(repo) == []
    assert [i["path"] for i in listing["incomplete"]] == [str(leftovers[0])]

    dry = backup("create", check=True)
    assert dry["removed_leftovers"] == [str(leftovers[0])] and leftovers[0].exists()
    made = backup("create")
    assert made["changed"] is True and made["removed_leftovers"] == [str(leftovers[0])]
    assert not leftovers[0].exists()
    assert listed_ids(repo) == [made["backup"]["id"]]


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % res.stderr.strip())
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_cleanly_and_leaves_no_partial_backup(backup, tiny_disk):
    res = backup("create", repository=str(tiny_disk))
    assert res.get("failed") is True, res
    assert "is full (no space left on device)" in res["msg"], res["msg"]
    assert "Traceback" not in res["msg"]
    assert listed_ids(tiny_disk) == []
    left = [p for p in tiny_disk.rglob("*") if p.is_file() and p.name != ".lock"]
    assert left == [], left
    assert backup("list", repository=str(tiny_disk))["backups"] == []


def _age(repo, backup_id, days):
    path = repo / "database" / backup_id / "manifest.json"
    manifest = json.loads(path.read_text())
    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
    manifest["started"] = started.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    path.write_text(json.dumps(manifest))


def test_prune_keeps_the_newest_the_young_and_the_newest_verified(backup, repo):
    old_verified, old, new = (backup("create")["backup"]["id"] for _ in range(3))
    _age(repo, old_verified, 50)
    _age(repo, old, 40)
    (repo / "database" / old_verified / "verification.json").write_text(
        json.dumps({"ok": True, "id": old_verified, "verified_at": "x", "problems": []}))
    stray = repo / "database" / (".partial-" + uuid.uuid4().hex)
    stray.mkdir()
    os.utime(stray, (time.time() - 3600, time.time() - 3600))

    dry = backup("prune", check=True, diff=True, keep_days=30, keep_min=1)
    assert dry["changed"] is True
    assert [r["id"] for r in dry["removed"]] == [old]
    assert sorted(listed_ids(repo)) == sorted([old_verified, old, new]) and stray.exists()

    done = backup("prune", keep_days=30, keep_min=1)
    assert [r["id"] for r in done["removed"]] == [old]
    kept = dict((k["id"], k["reason"]) for k in done["kept"])
    assert kept == {new: "among the 1 newest (keep_min)", old_verified: "newest verified backup"}
    assert sorted(listed_ids(repo)) == sorted([old_verified, new])
    assert not stray.exists()
    assert backup("prune", keep_days=30, keep_min=1)["changed"] is False
