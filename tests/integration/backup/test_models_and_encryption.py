"""Models backups round-trip byte for byte; encrypted backups hide their content, verify and restore with the key."""
import hashlib
import json
import os

import pytest

from tests.integration.backup.conftest import EXPECTED_COUNTS, listed_ids


def tree(root):
    """relative path -> sha256 of every file, read from disk."""
    return dict((str(p.relative_to(root)), hashlib.sha256(p.read_bytes()).hexdigest())
                for p in sorted(root.rglob("*")) if p.is_file())


@pytest.fixture
def model_store(tmp_path):
    store = tmp_path / "models"
    (store / "detectors" / "iforest").mkdir(parents=True)
    (store / "detectors" / "iforest" / "model.pkl").write_bytes(os.urandom(300_000))
    (store / "detectors" / "iforest" / "params.json").write_text('{"n_estimators": 200}')
    (store / "README").write_text("current production models\n")
    return store


def test_models_backup_round_trips_and_guards_a_changed_directory(backup, repo, model_store, tmp_path):
    assert backup("create", type="models", models_path=str(model_store), check=True)["changed"] is True
    assert not repo.exists()
    made = backup("create", type="models", models_path=str(model_store))
    assert made["changed"] is True, made
    manifest = made["manifest"]
    assert dict((c["path"], c["sha256"]) for c in manifest["models"]["contents"]) == tree(model_store)
    assert manifest["source"]["models"]["path"] == str(model_store)

    target = tmp_path / "restored"
    assert backup("restore", type="models", target_path=str(target), check=True)["changed"] is True
    assert not target.exists()
    done = backup("restore", type="models", target_path=str(target))
    assert done["changed"] is True and tree(target) == tree(model_store)
    assert backup("restore", type="models", target_path=str(target))["changed"] is False

    (target / "README").write_text("edited by hand during the incident\n")
    refused = backup("restore", type="models", target_path=str(target))
    assert refused.get("failed") is True and "force" in refused["msg"]
    assert (target / "README").read_text() == "edited by hand during the incident\n"

    forced = backup("restore", type="models", target_path=str(target), force=True)
    assert forced["changed"] is True and tree(target) == tree(model_store)
    safety = forced["safety_backups"][0]["id"]
    assert safety in listed_ids(repo, "models")
    contents = json.loads((repo / "models" / safety / "manifest.json").read_text())["models"]["contents"]
    edited = hashlib.sha256(b"edited by hand during the incident\n").hexdigest()
    assert {"path": "README", "size": 35, "sha256": edited} in contents

    assert backup("verify", type="models", backup_id=made["backup"]["id"])["results"][0]["ok"] is True
    archive = repo / "models" / made["backup"]["id"] / "models" / manifest["models"]["archive"]
    data = bytearray(archive.read_bytes())
    data[len(data) // 3] ^= 0xFF
    archive.write_bytes(bytes(data))
    bad = backup("verify", type="models", backup_id=made["backup"]["id"])
    assert bad.get("failed") is True
    assert bad["results"][0]["problems"][0].startswith("models/%s: sha256 mismatch" % manifest["models"]["archive"])


PASSPHRASE = "correct horse battery staple 42"


def test_an_encrypted_database_backup_hides_its_data_and_restores_with_the_passphrase(
        backup, repo, pg, source_db, target_db):
    made = backup("create", encryption_passphrase=PASSPHRASE)
    assert made["changed"] is True
    folder = repo / "database" / made["backup"]["id"]
    files = [e["path"] for e in made["manifest"]["files"]]
    assert files and all(f.endswith(".enc") for f in files), files
    first_digest = pg.execute(source_db, "SELECT digest FROM items WHERE id = 1")[0][0].encode()
    for rel in files:
        assert first_digest not in (folder / rel).read_bytes()
    assert made["manifest"]["encryption"]["cipher"] == "AES-256-GCM"
    assert made["backup"]["encrypted"] is True

    no_key = backup("verify")
    assert no_key.get("failed") is True and "is encrypted" in no_key["results"][0]["problems"][0]
    wrong = backup("verify", encryption_passphrase="not it")
    assert "does not open" in wrong["results"][0]["problems"][0]
    recorded = (folder / "verification.json").read_text()
    dry = backup("verify", check=True, encryption_passphrase=PASSPHRASE)
    assert dry["results"][0]["ok"] is True, dry
    assert (folder / "verification.json").read_text() == recorded, "check mode recorded a verification"
    loud = backup("verify", encryption_passphrase=PASSPHRASE, verbosity=3, raw=True)
    assert loud.returncode == 0, loud.stdout
    assert "restored into a scratch database" in loud.stdout
    assert PASSPHRASE not in loud.stdout + loud.stderr, "the passphrase reached the output at -vvv"

    done = backup("restore", target_db=target_db, encryption_passphrase=PASSPHRASE)
    assert done["changed"] is True, done
    assert pg.counts(target_db) == EXPECTED_COUNTS
    assert list(repo.glob(".work-*")) == [], "decrypted copies left in the repository"
