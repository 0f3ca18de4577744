"""Configuration backups of a namespace round-trip through the lab's Kubernetes API; a rerun changes nothing;
overwriting a changed object needs force and takes a safety backup first. Read back with the official client."""
import base64
import json
import os

import pytest

from tests.integration.backup.conftest import listed_ids

kubernetes = pytest.importorskip("kubernetes")

PASSPHRASE = "config backup passphrase"


@pytest.fixture
def core(lab):
    if not lab.get("KUBECONFIG"):
        pytest.skip("the lab has no Kubernetes API")
    return kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=lab["KUBECONFIG"]))


@pytest.fixture
def namespaces(core):
    names = ["bk-src-%d" % os.getpid(), "bk-dst-%d" % os.getpid()]
    for name in names:
        core.create_namespace({"metadata": {"name": name}})
    yield names
    for name in names:
        core.delete_namespace(name)


def configmap(core, namespace, name):
    return core.read_namespaced_config_map(name, namespace).data


def test_config_backup_round_trips_secrets_encrypted_and_guards_changed_objects(backup, repo, core, namespaces):
    src, dst = namespaces
    core.create_namespaced_config_map(src, {"metadata": {"name": "app-config", "labels": {"app": "api"}},
                                            "data": {"LOG_LEVEL": "INFO", "WORKERS": "4"}})
    core.create_namespaced_config_map(src, {"metadata": {"name": "feature-flags"}, "data": {"new_ui": "off"}})
    secret_value = "s3cr3t-db-password"
    core.create_namespaced_secret(src, {"metadata": {"name": "db-credentials"}, "type": "Opaque",
                                        "data": {"password": base64.b64encode(secret_value.encode()).decode()}})

    made = backup("create", type="config", namespace=src, include_secrets=True, encryption_passphrase=PASSPHRASE)
    assert made["changed"] is True, made
    objects = made["manifest"]["config"]["objects"]
    assert sorted((o["kind"], o["name"]) for o in objects) == [
        ("ConfigMap", "app-config"), ("ConfigMap", "feature-flags"), ("Secret", "db-credentials")]
    folder = repo / "config" / made["backup"]["id"]
    for path in folder.rglob("*.enc"):
        raw = path.read_bytes()
        assert secret_value.encode() not in raw and base64.b64encode(secret_value.encode()) not in raw
    assert secret_value not in json.dumps(made)

    args = {"type": "config", "target_namespace": dst, "encryption_passphrase": PASSPHRASE}
    dry = backup("restore", check=True, **args)
    assert dry["changed"] is True
    assert dry["components"]["config"]["create"] == ["ConfigMap/app-config", "ConfigMap/feature-flags",
                                                     "Secret/db-credentials"]
    assert [c.metadata.name for c in core.list_namespaced_config_map(dst).items] in ([], ["kube-root-ca.crt"])
    assert [s.metadata.name for s in core.list_namespaced_secret(dst).items if s.type == "Opaque"] == []
    done = backup("restore", **args)
    assert done["changed"] is True, done
    assert configmap(core, dst, "app-config") == {"LOG_LEVEL": "INFO", "WORKERS": "4"}
    assert core.read_namespaced_config_map("app-config", dst).metadata.labels == {"app": "api"}
    assert configmap(core, dst, "feature-flags") == {"new_ui": "off"}
    restored_secret = core.read_namespaced_secret("db-credentials", dst).data["password"]
    assert base64.b64decode(restored_secret).decode() == secret_value
    assert backup("restore", **args)["changed"] is False

    core.patch_namespaced_config_map("feature-flags", dst, {"data": {"new_ui": "on"}})
    refused = backup("restore", **args)
    assert refused.get("failed") is True and "ConfigMap/feature-flags" in refused["msg"] and "force" in refused["msg"]
    assert configmap(core, dst, "feature-flags") == {"new_ui": "on"}

    forced = backup("restore", force=True, **args)
    assert forced["changed"] is True and forced["components"]["config"]["update"] == ["ConfigMap/feature-flags"]
    assert configmap(core, dst, "feature-flags") == {"new_ui": "off"}
    safety = forced["safety_backups"][0]["id"]
    assert safety in listed_ids(repo, "config")
    assert forced["safety_backups"][0]["source"]["config"]["namespace"] == dst

    verified = backup("verify", type="config", backup_id=made["backup"]["id"], encryption_passphrase=PASSPHRASE)
    assert verified["results"][0]["ok"] is True, verified


def test_a_full_backup_holds_all_three_under_one_id_and_restores_them(backup, repo, core, namespaces, pg, source_db,
                                                                      target_db, tmp_path):
    src, dst = namespaces
    core.create_namespaced_config_map(src, {"metadata": {"name": "app-config"}, "data": {"LOG_LEVEL": "DEBUG"}})
    models = tmp_path / "models"
    models.mkdir()
    (models / "model.onnx").write_bytes(os.urandom(50_000))

    made = backup("create", type="full", namespace=src, models_path=str(models))
    assert made["changed"] is True, made
    manifest = made["manifest"]
    assert manifest["components"] == ["database", "config", "models"]
    assert set(manifest["source"]) == {"database", "config", "models"}
    assert manifest["row_counts"]["public.items"] == 20000
    assert listed_ids(repo, "full") == [made["backup"]["id"]]
    assert backup("verify", type="full")["results"][0]["ok"] is True

    args = {"type": "full", "target_db": target_db, "target_namespace": dst, "target_path": str(tmp_path / "out")}
    done = backup("restore", **args)
    assert done["changed"] is True, done
    assert pg.counts(target_db) == pg.counts(source_db)
    assert configmap(core, dst, "app-config") == {"LOG_LEVEL": "DEBUG"}
    assert (tmp_path / "out" / "model.onnx").read_bytes() == (models / "model.onnx").read_bytes()
    again = backup("restore", **args)
    assert again["changed"] is False and all(not c["changed"] for c in again["components"].values()), again
