# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The five states of backup_restore (create, list, restore, verify, prune) over the repository.

Each method returns the module's result dict; failures are exceptions from errors.py.
Check mode: every method reads and plans, none writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading
import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup import database as db
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup import manifest as mf
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup import models
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.checksums import (
    compare_files,
    file_entries,
    walk_files,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.encryption import (
    SUFFIX,
    Cipher,
    cipher_for_backup,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import (
    BackupError,
    BadInput,
    RestoreRefused,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.pgtools import PgTools
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.repository import (
    IN_PROGRESS,
    Repository,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.retention import (
    DEFAULT_KEEP_DAYS,
    plan_prune,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.timeutil import (
    human_duration,
    isoformat,
    parse_duration,
    utcnow,
)

COMPONENTS = {"database": ["database"], "config": ["config"], "models": ["models"],
              "full": ["database", "config", "models"]}
NOT_DATA = (mf.MANIFEST, mf.VERIFICATION, IN_PROGRESS)


def _config_module():
    # Imported on demand: only config backups need the Kubernetes client.
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup import config
    return config


class IntegrityCheck(object):
    """Recomputes a backup's checksums in a thread (hashlib releases the GIL) while the restore runs.

    `damaged` is set as soon as a file differs from the manifest, so that the restore can stop at once.
    """

    def __init__(self, backup):
        self.backup = backup
        self.damaged = threading.Event()
        self._problems = None
        self._error = None
        self._thread = threading.Thread(target=self._run, name="checksums")
        self._thread.daemon = True
        self._thread.start()

    def _run(self):
        try:
            self._problems = compare_files(self.backup.path, self.backup.manifest["files"], ignore=NOT_DATA)
        except Exception as exc:  # noqa: BLE001 - reported by require_intact in the main thread
            self._error = exc
        if self._problems or self._error is not None:
            self.damaged.set()

    def require_intact(self):
        self._thread.join()
        if self._error is not None:
            raise BackupError("cannot read backup %s: %s" % (self.backup.key, self._error))
        if self._problems:
            raise BackupError("backup %s is damaged, nothing was restored: %s"
                              % (self.backup.key, "; ".join(self._problems)), problems=self._problems)


class BackupService(object):
    def __init__(self, params, check_mode=False, warn=None):
        self.params = params
        self.check_mode = check_mode
        self.warn = warn or (lambda message: None)
        self.repo = Repository(params["repository"])
        self.type = params["type"]
        self._tools = None
        # Bad durations fail before anything is read or written.
        for option in ("if_older_than", "rpo"):
            if params.get(option) is not None:
                parse_duration(params[option], option)

    @property
    def tools(self):
        if self._tools is None:
            self._tools = PgTools(self.params.get("pg_bindir"))
        return self._tools

    # ---------------------------------------------------------------- create
    def create(self):
        self._validate_sources(self.type)
        result = {"changed": False, "repository": self.repo.root, "type": self.type}
        leftovers = self.repo.leftovers() if self.repo.exists() else []
        result["removed_leftovers"] = leftovers
        if leftovers and not self.check_mode:
            self.repo.remove_leftovers()
        result["changed"] = bool(leftovers)
        newest = self._newest(self.type)
        if self.params.get("if_older_than") and newest is not None:
            limit = parse_duration(self.params["if_older_than"], "if_older_than")
            age = (utcnow() - newest.started).total_seconds()
            if age < limit:
                result.update(backup=self._summary(newest), created=False,
                              msg="newest complete %s backup %s is %s old, younger than if_older_than=%s"
                              % (self.type, newest.id, human_duration(age), self.params["if_older_than"]))
                return result
        before = [b.id for b in self.repo.backups(self.type)[0]]
        if self.check_mode:
            result.update(changed=True, created=False,
                          msg="would create a %s backup in %s" % (self.type, self.repo.root),
                          diff={"before": {"backups": before}, "after": {"backups": ["(new)", *before]}})
            return result
        stored = self.create_backup(self.type, reason=self.params.get("reason") or "requested")
        result.update(changed=True, created=True, backup=self._summary(stored), manifest=stored.manifest,
                      backup_path=stored.path, msg="created %s backup %s" % (self.type, stored.id),
                      diff={"before": {"backups": before}, "after": {"backups": [stored.id, *before]}})
        return result

    def create_backup(self, backup_type, reason, database=None, models_path=None, namespace=None,
                      include_secrets=None):
        """Write one complete backup (or nothing at all) and return it."""
        started = utcnow()
        cipher = Cipher.from_options(self.params.get("encryption_passphrase"), self.params.get("encryption_key"))
        manifest = mf.new_manifest(backup_type, isoformat(started), reason)
        staging = self.repo.stage(backup_type)
        try:
            for component in COMPONENTS[backup_type]:
                target = os.path.join(staging.path, component)
                part = self._create_component(component, target, database, models_path, namespace,
                                              include_secrets)
                manifest["source"][component] = part.pop("source")
                manifest["tool_versions"].update(part.pop("tool_versions", {}))
                if component == "database":
                    manifest["row_counts"] = part.pop("row_counts")
                manifest["components"].append(component)
                manifest[component] = part
            if cipher:
                self._encrypt_tree(cipher, staging.path)
                manifest["encryption"] = cipher.describe()
            files = [rel for rel in walk_files(staging.path) if rel not in NOT_DATA]
            for rel in files:
                os.chmod(os.path.join(staging.path, rel), 0o600)
            for folder, _dirs, _files in os.walk(staging.path):
                os.chmod(folder, 0o700)
            manifest["files"] = file_entries(staging.path, files)
            manifest["size_bytes"] = sum(entry["size"] for entry in manifest["files"])
            finished = utcnow()
            manifest["finished"] = isoformat(finished)
            manifest["duration_seconds"] = round((finished - started).total_seconds(), 3)
            return staging.commit(manifest)
        except OSError as exc:
            staging.abort()
            if exc.errno == 28:
                raise BackupError("the %s backup failed: the repository %s is full (no space left on device); "
                                  "the partial backup was removed" % (backup_type, self.repo.root)) from None
            raise BackupError("the %s backup failed: %s; the partial backup was removed" % (backup_type, exc)) from None
        except BaseException as exc:
            staging.abort()
            if isinstance(exc, BackupError) and "No space left on device" in str(exc):
                raise BackupError("the %s backup failed: the repository %s is full (no space left on device); "
                                  "the partial backup was removed. %s" % (backup_type, self.repo.root, exc)) from None
            if isinstance(exc, BackupError):
                message = "the %s backup failed and was removed: %s" % (backup_type, exc)
                raise type(exc)(message, **exc.details) from None
            raise

    def _create_component(self, component, target, database, models_path, namespace, include_secrets):
        params = self.params
        if component == "database":
            return db.dump_database(params, self.tools, database or params["login_db"], target, params["jobs"],
                                    params.get("compression"))
        if component == "models":
            return models.archive_directory(models_path or params["models_path"], target, params.get("compression"))
        config = _config_module()
        if include_secrets is None:
            include_secrets = params["include_secrets"]
        return config.export_namespace(config.client(params), namespace or params["namespace"], target,
                                       include_secrets)

    @staticmethod
    def _encrypt_tree(cipher, root):
        for rel in walk_files(root):
            if rel in NOT_DATA:
                continue
            plain = os.path.join(root, rel)
            cipher.encrypt_file(plain, plain + SUFFIX)
            os.unlink(plain)

    def _validate_sources(self, backup_type):
        needs = {"database": "login_db", "models": "models_path", "config": "namespace"}
        missing = [needs[c] for c in COMPONENTS[backup_type] if not self.params.get(needs[c])]
        if missing:
            raise BadInput("a %s backup needs %s" % (backup_type, " and ".join(missing)))
        encrypted = self.params.get("encryption_passphrase") or self.params.get("encryption_key")
        if self.params.get("include_secrets") and not encrypted:
            self.warn("include_secrets without an encryption key: Secrets are stored unencrypted "
                      "(the repository is 0700, its files 0600)")

    # ---------------------------------------------------------------- list
    def list(self):
        complete, invalid = self.repo.backups(self.type)
        items = [self._summary(b) for b in complete]
        leftovers = self.repo.leftovers() if self.repo.exists() else []
        return {"changed": False, "repository": self.repo.root, "type": self.type, "backups": items,
                "incomplete": invalid + [{"path": p, "problem": "abandoned partial backup (removed by the next create)"}
                                         for p in leftovers],
                "msg": "%d complete %s backup(s)" % (len(items), self.type)}

    def _newest(self, backup_type):
        complete, _invalid = self.repo.backups(backup_type)
        return complete[0] if complete else None

    @staticmethod
    def _summary(backup):
        verification = backup.verification()
        age = (utcnow() - backup.started).total_seconds()
        return {
            "id": backup.id, "type": backup.type, "status": backup.manifest["status"],
            "reason": backup.manifest.get("reason"), "started": backup.manifest["started"],
            "finished": backup.manifest["finished"], "duration_seconds": backup.manifest["duration_seconds"],
            "size_bytes": backup.manifest["size_bytes"], "age_seconds": int(age), "age": human_duration(age),
            "encrypted": bool(backup.manifest.get("encryption")), "path": backup.path,
            "source": backup.manifest.get("source"),
            "verified": None if verification is None else bool(verification.get("ok")),
            "verified_at": verification.get("verified_at") if verification else None,
        }

    # ---------------------------------------------------------------- restore
    def restore(self):
        backup = self.repo.find(self.type, self.params.get("backup_id"))
        targets = self._restore_targets(backup)
        cipher = cipher_for_backup(backup.manifest, self.params.get("encryption_passphrase"),
                                   self.params.get("encryption_key"))
        started = time.time()
        # The checksums are recomputed while the restore works on its staging copy; every component
        # waits for them before it touches its target.
        self._integrity = IntegrityCheck(backup)
        result = {"changed": False, "backup": self._summary(backup), "components": {}, "safety_backups": []}
        try:
            for component in backup.manifest["components"]:
                outcome = getattr(self, "_restore_" + component)(backup, cipher, targets[component])
                result["components"][component] = outcome
                result["changed"] = result["changed"] or outcome["changed"]
                if outcome.get("safety_backup"):
                    result["safety_backups"].append(outcome["safety_backup"])
        except BackupError:
            self._integrity.require_intact()
            raise
        self._integrity.require_intact()
        result["duration_seconds"] = round(time.time() - started, 3)
        verb = "would restore" if self.check_mode else "restored"
        done = [c for c, o in result["components"].items() if o["changed"]]
        kinds = {"database": "database", "config": "namespace", "models": "directory"}
        result["msg"] = ("%s %s into %s" % (verb, backup.key, ", ".join("%s %s" % (kinds[c], targets[c]) for c in done))
                         if done else "%s is already in place; nothing to do" % backup.key)
        result["diff"] = {"before": dict((c, o.get("before")) for c, o in result["components"].items()),
                          "after": dict((c, o.get("after")) for c, o in result["components"].items())}
        return result

    def _restore_targets(self, backup):
        names = {"database": "target_db", "config": "target_namespace", "models": "target_path"}
        targets, missing = {}, []
        for component in backup.manifest["components"]:
            value = self.params.get(names[component])
            if not value:
                missing.append(names[component])
            targets[component] = value
        if missing:
            raise BadInput("restoring %s needs %s" % (backup.key, " and ".join(missing)))
        return targets

    def _component_dir(self, backup, component, cipher, work):
        """The component's plain files: the backup folder itself, or a decrypted copy in work."""
        source = os.path.join(backup.path, component)
        if cipher is None:
            return source
        plain_root = os.path.join(work.path, component)
        for rel in walk_files(source):
            plain = os.path.join(plain_root, rel[:-len(SUFFIX)] if rel.endswith(SUFFIX) else rel)
            if not os.path.isdir(os.path.dirname(plain)):
                os.makedirs(os.path.dirname(plain), 0o700)
            cipher.decrypt_file(os.path.join(source, rel), plain)
        return plain_root

    def _with_plain(self, backup, component, cipher, action):
        work = self.repo.work_area() if cipher else None
        try:
            return action(self._component_dir(backup, component, cipher, work))
        finally:
            if work:
                work.abort()

    def _restore_database(self, backup, cipher, target):
        params = self.params
        expected = backup.manifest["row_counts"]
        server = db.Server(params, params["maintenance_db"])
        try:
            exists = server.exists(target)
            current = server.inspect(target) if exists else None
            marker = server.marker(target) if exists else None
            before = {"database": target, "exists": exists, "restored_from": (marker or {}).get("restored_from"),
                      "row_counts": current}
            after = {"database": target, "exists": True, "restored_from": backup.key, "row_counts": expected}
            outcome = {"target": target, "changed": False, "before": before, "after": after, "safety_backup": None}
            if marker and marker.get("restored_from") == backup.key and current == expected:
                outcome["msg"] = "database %s already holds %s (same row counts)" % (target, backup.key)
                return outcome
            if current and not params["force"]:
                raise RestoreRefused(
                    "database %s is not empty (%d tables, %d rows) and force is false; nothing was changed. "
                    "Set force=true to replace it: a safety backup of it is taken first"
                    % (target, len(current), sum(current.values())), target=target)
            outcome["changed"] = True
            if self.check_mode:
                outcome["msg"] = "would %srestore %s into database %s" % (
                    "take a safety backup of database %s, then " % target if current else "", backup.key, target)
                return outcome
            if current:
                safety = self.create_backup("database",
                                            "safety backup of %s before restoring %s" % (target, backup.key),
                                            database=target)
                outcome["safety_backup"] = self._summary(safety)
            owner = server.owner(target) if exists else None
            source_owner = backup.manifest["source"]["database"].get("owner")
            if owner is None:
                owner = source_owner if source_owner and server.role_exists(source_owner) else server.current_user()
            staging = "%s__restoring" % target[:50]

            def restore_from(folder):
                return db.restore_copy(server, self.tools, folder, staging, owner, params["jobs"], expected,
                                       params.get("assertions"), abandon=self._integrity.damaged)

            outcome["row_counts"], outcome["timings"] = self._with_plain(backup, "database", cipher, restore_from)
            outcome["tool_versions"] = {"pg_restore": self.tools.versions["pg_restore"]}
            try:
                self._integrity.require_intact()
            except BackupError:
                server.drop(staging)
                raise
            server.set_marker(staging, {"restored_from": backup.key, "restored_at": isoformat(utcnow())})
            outcome["terminated_sessions"] = server.swap_in(staging, target)
            outcome["executed_queries"] = server.executed
            outcome["msg"] = "restored %s into database %s" % (backup.key, target)
            return outcome
        finally:
            server.close()

    def _restore_models(self, backup, cipher, target):
        part = backup.manifest["models"]
        current = models.directory_contents(target)
        before = {"path": target, "files": len(current)}
        after = {"path": target, "files": len(part["contents"]), "restored_from": backup.key}
        outcome = {"target": target, "changed": False, "before": before, "after": after, "safety_backup": None}
        if not models.compare_contents(part["contents"], current):
            outcome["msg"] = "%s already holds exactly the files of %s" % (target, backup.key)
            return outcome
        if current and not self.params["force"]:
            raise RestoreRefused("directory %s is not empty (%d files differ from the backup) and force is false; "
                                 "nothing was changed. Set force=true to replace it: a safety backup is taken first"
                                 % (target, len(models.compare_contents(part["contents"], current))), target=target)
        outcome["changed"] = True
        if self.check_mode:
            outcome["msg"] = "would restore %s into %s" % (backup.key, target)
            return outcome
        if current:
            safety = self.create_backup("models", "safety backup of %s before restoring %s" % (target, backup.key),
                                        models_path=target)
            outcome["safety_backup"] = self._summary(safety)

        def extract(folder):
            self._integrity.require_intact()
            models.extract_into(os.path.join(folder, part["archive"]), target, part["contents"])

        self._with_plain(backup, "models", cipher, extract)
        outcome["msg"] = "restored %s into %s" % (backup.key, target)
        return outcome

    def _restore_config(self, backup, cipher, target):
        config = _config_module()
        client = config.client(self.params)

        def plan_and_apply(folder):
            objects = config.load_objects(folder, backup.manifest["config"])
            plan = config.plan_restore(client, target, objects)
            outcome = {"target": target, "changed": bool(plan["create"] or plan["update"]), "safety_backup": None,
                       "create": [o["key"] for o in plan["create"]], "update": [o["key"] for o in plan["update"]],
                       "unchanged": plan["unchanged"],
                       "before": {"namespace": target, "differs": [o["key"] for o in plan["update"]],
                                  "missing": [o["key"] for o in plan["create"]]},
                       "after": {"namespace": target, "restored_from": backup.key}}
            if plan["update"] and not self.params["force"]:
                raise RestoreRefused("namespace %s already has %s with different content and force is false; "
                                     "nothing was changed. Set force=true to overwrite them: a safety backup of "
                                     "the namespace's configuration is taken first"
                                     % (target, ", ".join(outcome["update"])), target=target)
            if not outcome["changed"] or self.check_mode:
                return outcome
            if plan["update"]:
                # The safety copy holds Secrets too when Secrets are about to be overwritten.
                safety = self.create_backup("config", "safety backup of %s before restoring %s" % (target, backup.key),
                                            namespace=target,
                                            include_secrets=any(o["kind"] == "Secret" for o in plan["update"]))
                outcome["safety_backup"] = self._summary(safety)
            self._integrity.require_intact()
            config.apply_restore(client, target, plan)
            return outcome

        return self._with_plain(backup, "config", cipher, plan_and_apply)

    # ---------------------------------------------------------------- verify
    def verify(self):
        backup = self.repo.find(self.type, self.params.get("backup_id"))
        result = self.verify_backup(backup)
        if not self.check_mode:
            mf.atomic_write_json(os.path.join(backup.path, mf.VERIFICATION), result)
        report = {"changed": False, "results": [result], "type": self.type}
        report.update(self.rpo_report(self.type, just_verified=result if self.check_mode else None))
        report["msg"] = "%s: %s" % (backup.key,
                                    "verified" if result["ok"] else "FAILED: " + "; ".join(result["problems"]))
        if report.get("rpo_ok") is False:
            report["msg"] += "; RPO target %s breached: newest verified %s backup is %s old" % (
                self.params["rpo"], self.type,
                "missing (none verified)" if report["rpo_seconds"] is None else human_duration(report["rpo_seconds"]))
        report["failed"] = (not result["ok"]) or report.get("rpo_ok") is False
        return report

    def verify_backup(self, backup):
        started = time.time()
        checks, problems = {}, []
        problems += compare_files(backup.path, backup.manifest["files"], ignore=NOT_DATA)
        checks["checksums"] = "failed" if problems else "ok (%d files)" % len(backup.manifest["files"])
        if problems:
            checks["restore_test"] = "not run: the checksums failed"
        else:
            try:
                cipher = cipher_for_backup(backup.manifest, self.params.get("encryption_passphrase"),
                                           self.params.get("encryption_key"))
                for component in backup.manifest["components"]:
                    found, note = self._test_component(backup, component, cipher)
                    problems += found
                    checks["restore_test_" + component] = note
            except BackupError as exc:
                problems.append(str(exc))
        return {"id": backup.id, "type": backup.type, "ok": not problems, "problems": problems, "checks": checks,
                "verified_at": isoformat(utcnow()), "duration_seconds": round(time.time() - started, 3),
                "check_mode": self.check_mode}

    def _test_component(self, backup, component, cipher):
        manifest = backup.manifest
        if component == "models":
            part = manifest["models"]

            def check(folder):
                return models.check_archive(os.path.join(folder, part["archive"]), part["contents"])

            found = self._with_plain(backup, "models", cipher, check)
            return found, "failed" if found else "ok (%d files read back)" % len(part["contents"])
        if component == "config":
            config = _config_module()
            found = self._with_plain(backup, "config", cipher,
                                     lambda folder: config.check_objects(folder, manifest["config"]))
            return found, "failed" if found else "ok (%d objects parsed)" % len(manifest["config"]["objects"])
        if self.check_mode:
            if cipher:
                # Decrypt in memory only: every chunk authenticates or the backup is reported damaged.
                folder = os.path.join(backup.path, "database")
                for rel in walk_files(folder):
                    for _block in cipher.decrypt_stream(os.path.join(folder, rel)):
                        pass
            return [], "skipped in check mode (it creates a scratch database)"
        server = db.Server(self.params, self.params["maintenance_db"])
        scratch = db.scratch_name(manifest["source"]["database"]["database"], "verify")
        try:
            def restore_test(folder):
                db.restore_copy(server, self.tools, folder, scratch, server.current_user(),
                                self.params["jobs"], manifest["row_counts"], self.params.get("assertions"))
                server.drop(scratch)

            try:
                self._with_plain(backup, "database", cipher, restore_test)
            except BackupError as exc:
                return [str(exc)], "failed"
        finally:
            server.drop(scratch)
            server.close()
        return [], "ok (restored into a scratch database, %d tables' row counts equal the manifest%s)" % (
            len(manifest["row_counts"]),
            ", %d assertions true" % len(self.params["assertions"]) if self.params.get("assertions") else "")

    def rpo_report(self, backup_type, just_verified=None):
        """rpo_seconds: age of the newest backup whose last verification passed."""
        newest_ok = None
        for backup in self.repo.backups(backup_type)[0]:
            if just_verified and just_verified["id"] == backup.id:
                verification = just_verified
            else:
                verification = backup.verification()
            if verification and verification.get("ok"):
                newest_ok = backup
                break
        seconds = int((utcnow() - newest_ok.started).total_seconds()) if newest_ok else None
        report = {"rpo_seconds": seconds, "newest_verified": newest_ok.id if newest_ok else None}
        if self.params.get("rpo"):
            target = parse_duration(self.params["rpo"], "rpo")
            report.update(rpo_target_seconds=target, rpo_ok=seconds is not None and seconds <= target)
        return report

    # ---------------------------------------------------------------- prune
    def prune(self):
        complete, _invalid = self.repo.backups(self.type)
        keep_days = self.params.get("keep_days")
        if keep_days is None:
            keep_days = DEFAULT_KEEP_DAYS[self.type]
        verified = dict((b.id, bool((b.verification() or {}).get("ok"))) for b in complete)
        entries = [{"id": b.id, "started": b.started, "verified_ok": verified[b.id], "backup": b} for b in complete]
        keep, remove = plan_prune(entries, utcnow(), keep_days, self.params["keep_min"])
        leftovers = self.repo.leftovers() if self.repo.exists() else []
        if not self.check_mode:
            for entry, _reason in remove:
                self.repo.remove(entry["backup"])
            self.repo.remove_leftovers()
        before = [b.id for b in complete]
        gone = set(e["id"] for e, _r in remove)
        verb = "would remove" if self.check_mode else "removed"
        return {
            "changed": bool(remove or leftovers), "type": self.type, "keep_days": keep_days,
            "keep_min": self.params["keep_min"],
            "removed": [{"id": e["id"], "reason": r} for e, r in remove],
            "kept": [{"id": e["id"], "reason": r} for e, r in keep],
            "removed_leftovers": leftovers,
            "msg": "%s %d %s backup(s), kept %d" % (verb, len(remove), self.type, len(keep)),
            "diff": {"before": {"backups": before}, "after": {"backups": [i for i in before if i not in gone]}},
        }
