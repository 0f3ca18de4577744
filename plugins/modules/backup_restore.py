#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: backup_restore
short_description: Create, list, restore, verify and prune checksummed backups of a database, configuration and models
version_added: 0.1.0
description:
  - Keeps backups in a local repository folder (mode 0700, files 0600), one folder per backup,
    C(<type>/<id>/), with a C(manifest.json) listing the source, the tool versions, every file's
    size and sha256 and, for databases, the row count of every table taken in the same snapshot as the dump.
  - A backup is written into a hidden staging folder and renamed into place only once its data and
    manifest are complete, so an interrupted or failed backup is never listed; the next create removes its leftovers.
  - O(state=create) backs up a database (C(pg_dump) directory format with parallel O(jobs)), the ConfigMaps
    (and with O(include_secrets) the Secrets) of a Kubernetes namespace, a model-store directory, or all
    three under one id (O(type=full)).
  - O(state=restore) restores a backup (O(backup_id) or the latest) into O(target_db), O(target_namespace)
    or O(target_path). It refuses a non-empty target unless O(force=true), and then takes a safety backup of the
    target first. A database is restored into a staging database, its row counts are compared with the manifest,
    and only then is it swapped in place of the target, so a failed restore leaves the target as it was.
    The backup's checksums are recomputed while C(pg_restore) runs (a mismatch stops it at once), and the rows
    are counted in O(jobs) connections as soon as every table is loaded, while the indexes are still being built.
    A rerun with the same backup changes nothing.
  - O(state=verify) recomputes every checksum, restores a database backup into a scratch database (created and
    dropped by the module) and compares the row counts and optional O(assertions), and returns the age of the
    newest verified backup (RV(rpo_seconds)) against an O(rpo) target. The result is recorded in the backup's
    folder; V(changed) stays false.
  - O(state=prune) applies a retention policy (O(keep_days), O(keep_min)) and never deletes the newest verified backup.
  - O(state=list) reports the backups of a type, newest first, with status, size, age and verification.
author:
  - Pynomaly Platform Engineering (@pynomaly)
options:
  state:
    description:
      - What to do - one of V(create), V(list), V(restore), V(verify) or V(prune).
      - Checked by the module rather than by C(choices), because ansible-test reserves C(state=list) for C(_info)
        modules; any other value fails with the list of valid ones.
    type: str
    required: true
  type:
    description:
      - Which kind of backup. V(full) is a database, a configuration and a models backup under one id.
    type: str
    default: database
    choices: [database, config, models, full]
  repository:
    description: Folder holding the backups; created with mode 0700 when missing.
    type: path
    required: true
  backup_id:
    description:
      - The backup to restore or verify, as listed by O(state=list); V(latest) is the newest complete one.
    type: str
    default: latest
  reason:
    description: A note recorded in the new backup's manifest (for example the incident id or C(scheduled)).
    type: str
  if_older_than:
    description:
      - With O(state=create), create a backup only when the newest complete one of this type is older than
        this (for example V(6h)), so a scheduled run is idempotent. Units s, m, h, d, w.
    type: str
  jobs:
    description: Parallel jobs for C(pg_dump) and C(pg_restore).
    type: int
    default: 2
  compression:
    description:
      - Compression level 0-9 of the database dump and the models archive. Default is the tools' default (gzip 6).
    type: int
  pg_bindir:
    description:
      - Folder with C(pg_dump) and C(pg_restore). By default the newest C(/usr/lib/postgresql/*/bin), then E(PATH).
    type: path
  maintenance_db:
    description:
      - Database the module connects to when it creates, renames or drops databases (staging, scratch, target).
    type: str
    default: postgres
  models_path:
    description: Model-store directory to back up (O(type=models) or V(full)).
    type: path
  namespace:
    description: Kubernetes namespace whose configuration to back up (O(type=config) or V(full)).
    type: str
  include_secrets:
    description:
      - Also back up the namespace's Secrets (service account tokens excluded). They are encrypted when
        O(encryption_passphrase) or O(encryption_key) is given; without one the module warns.
    type: bool
    default: false
  target_db:
    description: Database to restore into (created when missing).
    type: str
  target_namespace:
    description: Namespace to restore the ConfigMaps and Secrets into (it must exist).
    type: str
  target_path:
    description: Directory to restore the models into.
    type: path
  force:
    description:
      - Allow a restore over a non-empty target. A safety backup of the target is taken first and the target's
        sessions are terminated when the restored database is swapped in.
    type: bool
    default: false
  assertions:
    description:
      - SQL statements that must each return one V(true) value on the restored database (verify and restore).
    type: list
    elements: str
  rpo:
    description:
      - Recovery point objective for O(state=verify), for example V(15m). When the newest verified backup is older,
        or none is verified, the task fails (RV(rpo_ok=false)).
    type: str
  keep_days:
    description:
      - Retention for O(state=prune) in days. Default per type, from the backup policy - database 30,
        config 90, models 180, full 30.
    type: int
  keep_min:
    description: O(state=prune) always keeps at least this many of the newest backups.
    type: int
    default: 1
  encryption_passphrase:
    description:
      - Encrypt new backups (AES-256-GCM, key derived by scrypt) and open encrypted ones with this passphrase.
        Never logged. Mutually exclusive with O(encryption_key).
    type: str
  encryption_key:
    description:
      - A 256-bit key in base64 (C(openssl rand -base64 32)) instead of a passphrase. Never logged.
    type: str
  kubeconfig:
    description:
      - Path to a kubeconfig file for configuration backups. Falls back to E(K8S_AUTH_KUBECONFIG), then
        E(KUBECONFIG), then C(~/.kube/config).
    type: path
  context:
    description: Name of a kubeconfig context. Falls back to E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description: URL of the Kubernetes API server. Falls back to E(K8S_AUTH_HOST).
    type: str
  api_key:
    description: Bearer token for the Kubernetes API. Falls back to E(K8S_AUTH_API_KEY). Never logged.
    type: str
  validate_certs:
    description: Whether to verify the Kubernetes API server's certificate. Falls back to E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  k8s_ca_cert:
    description:
      - CA certificate of the Kubernetes API server (named so because O(ca_cert) is PostgreSQL's).
        Falls back to E(K8S_AUTH_SSL_CA_CERT).
    type: path
extends_documentation_fragment:
  - pynomaly.incident_response.postgres
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
    details:
      - Nothing is changed. O(state=verify) recomputes the checksums and reads model archives back but skips
        the scratch database restore and records nothing (an encrypted models or configuration backup is
        decrypted into a temporary folder that is removed).
  diff_mode:
    support: full
    description: Returns the backups (create, prune) or the target (restore) before and after.
requirements:
  - pg_dump and pg_restore of the server's major version or newer
  - cryptography (for encryption)
  - kubernetes (the Python client, for configuration backups)
notes:
  - A database backup does not include roles or database-level settings (C(ALTER DATABASE ... SET));
    the restored database keeps the target's owner, or the source's when the target is new.
  - Configuration restores create missing objects and replace differing ones (guarded by resourceVersion);
    they never delete objects that are not in the backup. C(kube-root-ca.crt) is not backed up.
seealso:
  - module: community.postgresql.postgresql_db
    description: Its dump and restore always report a change and cannot verify a backup.
'''

EXAMPLES = r'''
- name: Back up the database every run of the 6-hourly schedule, but only once per 6 hours
  pynomaly.incident_response.backup_restore:
    state: create
    type: database
    repository: /var/backups/pynomaly
    login_host: db.internal
    login_user: postgres
    login_password: "{{ vault_pg_password }}"
    login_db: pynomaly
    jobs: 4
    if_older_than: 6h

- name: Verify the newest database backup and check the 15 minute RPO
  pynomaly.incident_response.backup_restore:
    state: verify
    type: database
    repository: /var/backups/pynomaly
    rpo: 15m
    assertions:
      - SELECT count(*) > 0 FROM users

- name: Roll the database back to a given backup (a safety backup of the live one is taken first)
  pynomaly.incident_response.backup_restore:
    state: restore
    type: database
    repository: /var/backups/pynomaly
    backup_id: 20261127T061500Z
    target_db: pynomaly
    force: true

- name: Back up the namespace's configuration, Secrets included and encrypted
  pynomaly.incident_response.backup_restore:
    state: create
    type: config
    repository: /var/backups/pynomaly
    namespace: pynomaly-production
    include_secrets: true
    encryption_passphrase: "{{ vault_backup_passphrase }}"

- name: Apply the seed's retention to model backups (dry run with --check lists what would go)
  pynomaly.incident_response.backup_restore:
    state: prune
    type: models
    repository: /var/backups/pynomaly
    keep_days: 180
    keep_min: 2
'''

RETURN = r'''
msg:
  description: One sentence saying what was done or found.
  returned: always
  type: str
backup:
  description: The backup created, skipped for (O(if_older_than)) or restored.
  returned: when state is create or restore
  type: dict
  sample: {id: 20261127T061500Z, type: database, status: complete, size_bytes: 1048576, age: 2h 5m, verified: true}
manifest:
  description: The new backup's full manifest (files with sha256, row counts, tool versions, source).
  returned: when state is create and a backup was made
  type: dict
backup_path:
  description: Folder of the new backup.
  returned: when state is create and a backup was made
  type: str
created:
  description: Whether a new backup was made (false when O(if_older_than) found a recent enough one, and in check mode).
  returned: when state is create
  type: bool
removed_leftovers:
  description: Staging folders of interrupted runs that were (or in check mode would be) removed.
  returned: when state is create or prune
  type: list
  elements: str
backups:
  description: Complete backups, newest first, with id, status, reason, started, finished, size_bytes, age_seconds,
    encrypted, verified (null when never verified) and verified_at.
  returned: when state is list
  type: list
  elements: dict
incomplete:
  description: Folders in the repository that are not complete backups, with the reason.
  returned: when state is list
  type: list
  elements: dict
components:
  description: Per restored component (database, config, models) the target, whether it changed, before/after,
    the safety backup and, for a database, the restored row counts and the sessions terminated.
  returned: when state is restore
  type: dict
safety_backups:
  description: Backups taken of the targets before they were replaced.
  returned: when state is restore
  type: list
  elements: dict
results:
  description: Per verified backup - id, ok, problems (each exact failure), checks and verified_at.
  returned: when state is verify
  type: list
  elements: dict
rpo_seconds:
  description: Age in seconds of the newest backup whose verification passed; null when none has.
  returned: when state is verify
  type: int
rpo_target_seconds:
  description: O(rpo) in seconds.
  returned: when state is verify and rpo is given
  type: int
rpo_ok:
  description: Whether RV(rpo_seconds) is within O(rpo).
  returned: when state is verify and rpo is given
  type: bool
newest_verified:
  description: Id of the newest backup whose verification passed.
  returned: when state is verify
  type: str
removed:
  description: Backups removed (or in check mode to be removed) by the retention policy, with the reason.
  returned: when state is prune
  type: list
  elements: dict
kept:
  description: Backups kept, with the rule that kept each.
  returned: when state is prune
  type: list
  elements: dict
duration_seconds:
  description: How long the restore took.
  returned: when state is restore
  type: float
'''

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.encryption import HAS_CRYPTOGRAPHY
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import BackupError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.operations import BackupService
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.connection import (
    HAS_PSYCOPG2,
    PostgresConnectionError,
    postgres_argument_spec,
)


def argument_spec():
    spec = postgres_argument_spec()
    spec.update(
        state=dict(type="str", required=True),
        type=dict(type="str", default="database", choices=["database", "config", "models", "full"]),
        repository=dict(type="path", required=True),
        backup_id=dict(type="str", default="latest"),
        reason=dict(type="str"),
        if_older_than=dict(type="str"),
        jobs=dict(type="int", default=2),
        compression=dict(type="int"),
        pg_bindir=dict(type="path"),
        maintenance_db=dict(type="str", default="postgres"),
        models_path=dict(type="path"),
        namespace=dict(type="str"),
        include_secrets=dict(type="bool", default=False),
        target_db=dict(type="str"),
        target_namespace=dict(type="str"),
        target_path=dict(type="path"),
        force=dict(type="bool", default=False),
        assertions=dict(type="list", elements="str"),
        rpo=dict(type="str"),
        keep_days=dict(type="int"),
        keep_min=dict(type="int", default=1),
        encryption_passphrase=dict(type="str", no_log=True),
        encryption_key=dict(type="str", no_log=True),
        kubeconfig=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
        context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
        host=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_HOST"])),
        api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_API_KEY"])),
        validate_certs=dict(type="bool", aliases=["verify_ssl"], fallback=(env_fallback, ["K8S_AUTH_VERIFY_SSL"])),
        k8s_ca_cert=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_SSL_CA_CERT"])),
    )
    return spec


STATES = ("create", "list", "restore", "verify", "prune")


def check_values(params):
    """Checks argument_spec cannot express; returns the first problem or None."""
    if params.get("state") not in STATES:
        return "value of state must be one of: %s, got: %s" % (", ".join(STATES), params.get("state"))
    if params["jobs"] < 1:
        return "jobs must be 1 or more, got %d" % params["jobs"]
    if params["compression"] is not None and not 0 <= params["compression"] <= 9:
        return "compression must be between 0 and 9, got %d" % params["compression"]
    if params["keep_min"] < 0 or (params["keep_days"] is not None and params["keep_days"] < 0):
        return "keep_days and keep_min must not be negative"
    if params["encryption_passphrase"] is not None and not params["encryption_passphrase"]:
        return "encryption_passphrase must not be empty"
    return None


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("encryption_passphrase", "encryption_key")],
    )
    problem = check_values(module.params)
    if problem:
        module.fail_json(msg=problem)
    if not HAS_PSYCOPG2 and module.params["type"] in ("database", "full"):
        module.fail_json(msg=missing_required_lib("psycopg2"))
    if not HAS_CRYPTOGRAPHY and (module.params["encryption_passphrase"] or module.params["encryption_key"]):
        module.fail_json(msg=missing_required_lib("cryptography"))
    # Everything the module writes (and what pg_dump writes for it) is private to the owner.
    os.umask(0o077)
    service = BackupService(module.params, check_mode=module.check_mode, warn=module.warn)
    try:
        result = getattr(service, module.params["state"])()
    except (BackupError, PostgresConnectionError) as exc:
        module.fail_json(msg=str(exc), **getattr(exc, "details", {}))
    except Exception as exc:  # noqa: BLE001 - one clear failure instead of a traceback
        module.fail_json(msg="unexpected error: %s" % exc, exception=traceback.format_exc())
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
