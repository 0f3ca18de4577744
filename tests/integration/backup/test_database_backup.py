"""Database backups: truthful manifests, exact restores, guarded overwrites, idempotent reruns."""
import json
import os
import stat

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.pgtools import PgTools
from tests.integration.backup.conftest import EXPECTED_COUNTS, listed_ids, sha256


def test_create_writes_a_manifest_whose_checksums_and_row_counts_are_true(backup, repo, pg, source_db):
    dry = backup("create", check=True)
    assert dry["changed"] is True, dry
    assert not repo.exists(), "check mode must not even create the repository"

    made = backup("create", reason="scheduled")
    assert made["changed"] is True, made
    folder = repo / "database" / made["backup"]["id"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["type"] == "database"
    assert manifest["reason"] == "scheduled"
    assert manifest["source"]["database"]["database"] == source_db
    assert manifest["source"]["database"]["server_version"].startswith("15.")
    assert manifest["tool_versions"]["pg_dump"].startswith("15.")
    assert manifest["started"] < manifest["finished"]
    # Row counts equal what the test counts itself on the source.
    assert manifest["row_counts"] == pg.counts(source_db) == EXPECTED_COUNTS
    # Every file on disk is in the manifest with its real size and sha256, and nothing else is there.
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert on_disk == sorted([e["path"] for e in manifest["files"]] + ["manifest.json"])
    for entry in manifest["files"]:
        assert entry["size"] == (folder / entry["path"]).stat().st_size
        assert entry["sha256"] == sha256(folder / entry["path"])
    assert any(e["path"] == "database/toc.dat" for e in manifest["files"])
    assert manifest["size_bytes"] == sum(e["size"] for e in manifest["files"])
    # Private: repository and folders 0700, files 0600.
    assert stat.S_IMODE(repo.stat().st_mode) == 0o700
    for path in [folder, *folder.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path

    listing = backup("list")
    assert listing["changed"] is False
    assert [b["id"] for b in listing["backups"]] == listed_ids(repo) == [made["backup"]["id"]]
    entry = listing["backups"][0]
    assert entry["status"] == "complete" and entry["verified"] is None
    assert entry["size_bytes"] == manifest["size_bytes"] and entry["age_seconds"] >= 0


def test_if_older_than_makes_a_scheduled_create_idempotent(backup, repo):
    first = backup("create", if_older_than="6h")
    assert first["changed"] is True
    dry = backup("create", if_older_than="6h", check=True)
    again = backup("create", if_older_than="6h")
    assert dry["changed"] is False and again["changed"] is False, again
    assert again["created"] is False and again["backup"]["id"] == first["backup"]["id"]
    assert listed_ids(repo) == [first["backup"]["id"]]
    # A zero window always takes a new one; the listing is newest first.
    second = backup("create", if_older_than="0s")
    assert second["changed"] is True
    assert [b["id"] for b in backup("list")["backups"]] == [second["backup"]["id"], first["backup"]["id"]]
    assert listed_ids(repo) == [second["backup"]["id"], first["backup"]["id"]]


def test_restore_into_a_new_database_matches_the_source_and_a_rerun_changes_nothing(
        backup, repo, pg, source_db, target_db):
    made = backup("create")
    dry = backup("restore", check=True, diff=True, target_db=target_db)
    assert dry["changed"] is True, dry
    assert not pg.exists(target_db), "check mode created the target"
    assert pg.databases(target_db + "%") == []

    done = backup("restore", target_db=target_db, jobs=2)
    assert done["changed"] is True, done
    assert pg.counts(target_db) == pg.counts(source_db) == EXPECTED_COUNTS
    # Same content, not just the same counts: spot-check escaped text and the quoted schema.
    query = "SELECT md5(string_agg(id || digest || coalesce(note, ''), ',' ORDER BY id)) FROM items"
    assert pg.execute(target_db, query) == pg.execute(source_db, query)
    marker = pg.comment(target_db)
    assert marker["restored_from"] == "database/" + made["backup"]["id"]
    assert done["safety_backups"] == [], "an absent target needs no safety backup"
    assert pg.databases(target_db + "\\_\\_%") == [], "staging database left behind"

    rerun = backup("restore", target_db=target_db)
    assert rerun["changed"] is False, rerun
    assert "already" in rerun["msg"]
    assert backup("restore", check=True, target_db=target_db)["changed"] is False


def test_restore_over_a_non_empty_database_without_force_fails_and_changes_nothing(
        backup, repo, pg, target_db):
    backup("create")
    pg.create(target_db)
    pg.execute(target_db, "CREATE TABLE precious (id int); INSERT INTO precious SELECT generate_series(1, 42)")
    before_ids = listed_ids(repo)
    for check in (True, False):
        refused = backup("restore", check=check, target_db=target_db)
        assert refused.get("failed") is True, refused
        assert "not empty" in refused["msg"] and "force" in refused["msg"], refused["msg"]
        assert "nothing was changed" in refused["msg"]
    assert pg.counts(target_db) == {"public.precious": 42}
    assert listed_ids(repo) == before_ids, "no safety backup may be taken when nothing is restored"


def test_force_takes_a_safety_backup_of_the_target_before_replacing_it(backup, repo, pg, target_db):
    made = backup("create")["backup"]["id"]
    pg.create(target_db)
    pg.execute(target_db, "CREATE TABLE precious (id int); INSERT INTO precious SELECT generate_series(1, 42)")
    app = pg.connect(target_db)  # a live session on the target, as during an incident

    done = backup("restore", target_db=target_db, force=True)
    app.close()
    assert done["changed"] is True, done
    assert len(done["safety_backups"]) == 1
    safety_id = done["safety_backups"][0]["id"]
    safety = json.loads((repo / "database" / safety_id / "manifest.json").read_text())
    assert safety["source"]["database"]["database"] == target_db
    assert safety["row_counts"] == {"public.precious": 42}
    assert "safety" in safety["reason"]
    # The safety backup was complete before the target was replaced.
    assert safety["finished"] < pg.comment(target_db)["restored_at"]
    assert done["components"]["database"]["terminated_sessions"] >= 1
    assert pg.counts(target_db) == EXPECTED_COUNTS
    assert sorted(listed_ids(repo)) == sorted([made, safety_id])

    # The safety backup is a real backup: it brings the old content back.
    back = backup("restore", target_db=target_db, backup_id=safety_id, force=True)
    assert back["changed"] is True, back
    assert pg.counts(target_db) == {"public.precious": 42}


def test_verify_passes_on_a_good_backup_records_it_and_reports_the_rpo(backup, repo, pg):
    made = backup("create")["backup"]["id"]
    folder = repo / "database" / made
    dry = backup("verify", check=True)
    assert dry["changed"] is False and dry["results"][0]["ok"] is True, dry
    assert not (folder / "verification.json").exists(), "check mode recorded a verification"
    assert "skipped in check mode" in dry["results"][0]["checks"]["restore_test_database"]

    ok = backup("verify", rpo="15m", assertions=["SELECT count(*) = 20000 FROM items",
                                                  "SELECT count(*) = 0 FROM empty_table"])
    assert ok["changed"] is False and not ok.get("failed"), ok
    result = ok["results"][0]
    assert result["ok"] is True and result["problems"] == []
    assert "row counts equal the manifest" in result["checks"]["restore_test_database"]
    assert ok["rpo_ok"] is True and 0 <= ok["rpo_seconds"] < 900 and ok["newest_verified"] == made
    assert json.loads((folder / "verification.json").read_text())["ok"] is True
    assert backup("list")["backups"][0]["verified"] is True
    assert pg.databases("%\\_\\_verify\\_%") == [], "scratch database left behind"


def test_verify_fails_on_a_false_assertion_and_an_rpo_breach(backup):
    backup("create")
    bad = backup("verify", rpo="0s", assertions=["SELECT count(*) = 1 FROM items"])
    assert bad.get("failed") is True
    problems = bad["results"][0]["problems"]
    assert any("assertion 1 (SELECT count(*) = 1 FROM items) returned False" in p for p in problems), problems
    assert bad["rpo_ok"] is False and "RPO target 0s breached" in bad["msg"]


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path):
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


DAMAGE = {"flipped byte": (_flip_byte, "sha256 mismatch"), "truncated": (_truncate, "truncated"),
          "missing": (os.unlink, "missing")}


def test_verify_names_the_damaged_file_exactly(backup, repo):
    made = backup("create")["backup"]["id"]
    folder = repo / "database" / made
    manifest = json.loads((folder / "manifest.json").read_text())
    data_files = sorted((e for e in manifest["files"] if e["path"].endswith(".dat.gz")), key=lambda e: -e["size"])
    victims = dict(zip(DAMAGE, data_files, strict=False))
    for kind, entry in victims.items():
        DAMAGE[kind][0](folder / entry["path"])
    failed = backup("verify")
    assert failed.get("failed") is True and failed["changed"] is False
    problems = failed["results"][0]["problems"]
    for kind, entry in victims.items():
        assert any(p.startswith(entry["path"] + ": " + DAMAGE[kind][1]) for p in problems), (kind, problems)
    assert len(problems) == 3, problems
    recorded = json.loads((folder / "verification.json").read_text())
    assert recorded["ok"] is False and recorded["problems"] == problems
    assert backup("list")["backups"][0]["verified"] is False
    # A damaged backup is never restored.
    refused = backup("restore", target_db="bk_never_%d" % os.getpid())
    assert refused.get("failed") is True and "damaged" in refused["msg"]


def test_bad_input_fails_clearly_and_creates_nothing(backup, repo):
    cases = [
        ({"state": "create", "if_older_than": "soon"}, "if_older_than: cannot read 'soon'"),
        ({"state": "create", "type": "models"}, "needs models_path"),
        ({"state": "create", "pg_bindir": "/nonexistent"}, "pg_dump not found in /nonexistent"),
        ({"state": "create", "login_db": "no_such_db_here"}, 'database "no_such_db_here" does not exist'),
        ({"state": "verify", "backup_id": "nope"}, "no complete database backup"),
    ]
    for args, message in cases:
        res = backup(**args)
        assert res.get("failed") is True, (args, res)
        assert message in res["msg"], (args, res["msg"])
        assert "Traceback" not in res["msg"]
    assert listed_ids(repo) == []
    assert not list(repo.glob("*/.partial-*")), "a failed create left its staging folder"
    backup("create")
    missing = backup("restore")
    assert missing.get("failed") is True and "needs target_db" in missing["msg"]
    unknown = backup("restore", backup_id="19990101T000000Z", target_db="x")
    assert "no complete database backup with id 19990101T000000Z" in unknown["msg"]
    assert "newest ids" in unknown["msg"]


def test_pg_restore_says_every_table_is_loaded_only_once_the_counts_are_final(backup, repo, pg, lab, target_db):
    """The restore counts rows while pg_restore still builds indexes: when told, the data must be complete."""
    made = backup("create")["backup"]["id"]
    tools = PgTools(lab.get("LAB_PG_BINDIR"))
    params = {"login_host": lab["PGHOST"], "login_port": int(lab["PGPORT"]), "login_user": lab["PGUSER"],
              "login_password": lab["PGPASSWORD"]}
    pg.create(target_db)
    counted_when_told = []
    tools.restore(params, target_db, str(repo / "database" / made / "database"), 2,
                  on_data_loaded=lambda: counted_when_told.append(pg.counts(target_db)))
    assert counted_when_told == [EXPECTED_COUNTS]


def test_a_backup_with_a_file_the_manifest_does_not_list_is_never_swapped_in(backup, repo, pg, target_db):
    """pg_restore itself succeeds here; only the checksum comparison can stop the swap, and it must."""
    made = backup("create")["backup"]["id"]
    (repo / "database" / made / "database" / "9999.dat.gz").write_bytes(b"planted")
    pg.create(target_db)
    pg.execute(target_db, "CREATE TABLE precious (id int); INSERT INTO precious SELECT generate_series(1, 42)")

    refused = backup("restore", target_db=target_db, force=True)
    assert refused.get("failed") is True, refused
    assert "damaged" in refused["msg"] and "database/9999.dat.gz: not in the manifest" in refused["msg"]
    assert pg.counts(target_db) == {"public.precious": 42}, "the target was replaced by a damaged backup"
    assert pg.databases(target_db + "\\_\\_%") == [], "staging database left behind"
