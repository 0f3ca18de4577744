"""backup_create, backup_verify and rollback_db as an operator runs them: idempotent, alerting, guarded."""
import json
import os
import re

from tests.integration.backup.conftest import EXPECTED_COUNTS, listed_ids


def recap(out):
    return dict((k, int(v)) for k, v in re.findall(r"(changed|failed|ok)=(\d+)", out.split("PLAY RECAP")[-1]))


def test_backup_create_is_schedulable_and_idempotent(run_playbook, repo, source_db):
    extra = {"backup_repository": str(repo), "backup_db_name": source_db, "backup_type": "database"}
    dry = run_playbook("playbooks/backup_create.yml", extra, check=True)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert not repo.exists()
    first = run_playbook("playbooks/backup_create.yml", extra)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap(first.stdout)["changed"] == 1
    again = run_playbook("playbooks/backup_create.yml", extra)
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout
    assert "younger than if_older_than=5h" in again.stdout
    assert len(listed_ids(repo)) == 1


def test_backup_verify_reports_the_rpo_and_fails_on_a_corrupt_backup(run_playbook, backup, repo, source_db):
    made = backup("create")["backup"]["id"]
    extra = {"backup_repository": str(repo), "backup_db_name": source_db, "backup_verify_types": ["database"]}
    good = run_playbook("playbooks/backup_verify.yml", extra)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "database: newest %s verified" % made in good.stdout
    assert "RPO target 15m: OK" in good.stdout
    assert recap(good.stdout)["changed"] == 0

    manifest = json.loads((repo / "database" / made / "manifest.json").read_text())
    victim = max(manifest["files"], key=lambda e: e["size"])["path"]
    (repo / "database" / made / victim).write_bytes(b"not a dump")
    bad = run_playbook("playbooks/backup_verify.yml", extra)
    assert bad.returncode != 0
    flat = " ".join(bad.stdout.split())
    assert "database: newest %s CORRUPT: %s: truncated" % (made, victim) in flat, bad.stdout
    assert "corrupt: database" in bad.stdout


def test_rollback_db_needs_force_then_takes_a_safety_backup_and_converges(run_playbook, backup, repo, pg,
                                                                          source_db, target_db):
    made = backup("create")["backup"]["id"]
    pg.create(target_db)
    pg.execute(target_db, "CREATE TABLE live (id int); INSERT INTO live VALUES (1), (2)")
    extra = {"backup_repository": str(repo), "backup_db_name": target_db}

    refused = run_playbook("playbooks/rollback_db.yml", extra)
    assert refused.returncode != 0
    assert "not empty" in refused.stdout and "force" in refused.stdout
    assert pg.counts(target_db) == {"public.live": 2}

    extra["backup_restore_force"] = True
    dry = run_playbook("playbooks/rollback_db.yml", extra, check=True)
    assert dry.returncode == 0, dry.stdout
    assert pg.counts(target_db) == {"public.live": 2} and listed_ids(repo) == [made]

    done = run_playbook("playbooks/rollback_db.yml", dict(extra, incident_id="INC-backup-test-%d" % os.getpid()))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "safety backup(s) taken first: " in done.stdout
    marked = done.stdout.split("Mark the incident recovered")[1].split("TASK")[0]
    assert "ok: [localhost]" in marked, marked
    assert pg.counts(target_db) == EXPECTED_COUNTS
    assert len(listed_ids(repo)) == 2

    extra["backup_restore_id"] = made
    again = run_playbook("playbooks/rollback_db.yml", extra)
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout
