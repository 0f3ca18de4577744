# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration backups: a namespace's ConfigMaps (and, when asked, Secrets) as YAML, restored by comparison.

A restore creates what is missing and replaces what differs (guarded by resourceVersion); objects
that already match are left alone, so a rerun changes nothing. Objects in the namespace that are
not in the backup are never deleted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import BackupError, BadInput
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import K8sClient, resource_path
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    K8sModuleError,
    ObjectNotFound,
)

# Objects Kubernetes creates in every namespace by itself; restoring them would fight the controllers.
SKIP_CONFIGMAPS = ("kube-root-ca.crt",)
SKIP_SECRET_TYPES = ("kubernetes.io/service-account-token",)
SKIP_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
KINDS = {"ConfigMap": "configmaps", "Secret": "secrets"}


@contextlib.contextmanager
def k8s_errors():
    try:
        yield
    except K8sModuleError as exc:
        raise BackupError(str(exc)) from None


def client(params):
    """The collection's Kubernetes client; the CA option is k8s_ca_cert here (ca_cert is PostgreSQL's)."""
    with k8s_errors():
        return K8sClient.from_params(params, ca_cert_option="k8s_ca_cert")


def server_version(api):
    """The API server's version (gitVersion), for the manifest; None when it does not say."""
    try:
        return api.get("/version", what="read the server version").get("gitVersion")
    except K8sModuleError:
        return None


def portable(obj, kind):
    """The parts of an object that define it, without server-managed fields."""
    meta = obj.get("metadata") or {}
    clean = {"apiVersion": "v1", "kind": kind, "metadata": {"name": meta["name"]}}
    if meta.get("labels"):
        clean["metadata"]["labels"] = dict(meta["labels"])
    annotations = dict((k, v) for k, v in (meta.get("annotations") or {}).items() if k not in SKIP_ANNOTATIONS)
    if annotations:
        clean["metadata"]["annotations"] = annotations
    for field in ("type", "data", "binaryData", "immutable"):
        if obj.get(field) not in (None, {}):
            clean[field] = obj[field]
    return clean


def _same(wanted, existing):
    current = portable(existing, wanted["kind"])
    return current == wanted


def _namespace_must_exist(api, namespace):
    try:
        api.get(resource_path("v1", "namespaces", name=namespace), what="read namespace %s" % namespace)
    except ObjectNotFound:
        raise BadInput("namespace %s does not exist" % namespace) from None


def _list(api, kind, namespace):
    return api.items(resource_path("v1", KINDS[kind], namespace), what="list %ss in namespace %s" % (kind, namespace))


def export_namespace(api, namespace, target, include_secrets):
    """Write every ConfigMap (and Secret) of the namespace as one YAML file each; returns the manifest part."""
    with k8s_errors():
        _namespace_must_exist(api, namespace)
        found = [("ConfigMap", o) for o in _list(api, "ConfigMap", namespace)
                 if o["metadata"]["name"] not in SKIP_CONFIGMAPS]
        if include_secrets:
            found += [("Secret", o) for o in _list(api, "Secret", namespace) if o.get("type") not in SKIP_SECRET_TYPES]
    objects = []
    for kind, obj in sorted(found, key=lambda item: (item[0], item[1]["metadata"]["name"])):
        folder = os.path.join(target, KINDS[kind])
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o700)
        rel = "%s/%s.yaml" % (KINDS[kind], obj["metadata"]["name"])
        fd = os.open(os.path.join(target, rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(portable(obj, kind), handle, default_flow_style=False, sort_keys=True)
        objects.append({"kind": kind, "name": obj["metadata"]["name"], "file": rel})
    if not os.path.isdir(target):
        os.makedirs(target, 0o700)
    return {
        "source": {"namespace": namespace, "api": api.host,
                   "configmaps": sum(o["kind"] == "ConfigMap" for o in objects),
                   "secrets": sum(o["kind"] == "Secret" for o in objects), "include_secrets": include_secrets},
        "objects": objects,
        "tool_versions": {"kubernetes-server": server_version(api)},
    }


def load_objects(folder, part):
    loaded = []
    for entry in part["objects"]:
        path = os.path.join(folder, entry["file"])
        try:
            with open(path) as handle:
                obj = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError) as exc:
            raise BackupError("%s cannot be read: %s" % (entry["file"], exc)) from None
        if not isinstance(obj, dict) or obj.get("kind") != entry["kind"] or \
                (obj.get("metadata") or {}).get("name") != entry["name"]:
            raise BackupError("%s does not hold %s %s" % (entry["file"], entry["kind"], entry["name"]))
        loaded.append(dict(obj=obj, kind=entry["kind"], name=entry["name"],
                           key="%s/%s" % (entry["kind"], entry["name"])))
    return loaded


def check_objects(folder, part):
    try:
        load_objects(folder, part)
    except BackupError as exc:
        return [str(exc)]
    return []


def plan_restore(api, namespace, objects):
    plan = {"create": [], "update": [], "unchanged": []}
    with k8s_errors():
        _namespace_must_exist(api, namespace)
        for item in objects:
            try:
                existing = api.get(resource_path("v1", KINDS[item["kind"]], namespace, item["name"]),
                                   what="read %s in %s" % (item["key"], namespace))
            except ObjectNotFound:
                plan["create"].append(item)
                continue
            if _same(item["obj"], existing):
                plan["unchanged"].append(item["key"])
            else:
                plan["update"].append(dict(item, resource_version=existing["metadata"].get("resourceVersion")))
    return plan


def apply_restore(api, namespace, plan):
    with k8s_errors():
        for item in plan["create"]:
            body = dict(item["obj"], metadata=dict(item["obj"]["metadata"], namespace=namespace))
            api.create(resource_path("v1", KINDS[item["kind"]], namespace), body,
                       what="create %s in %s" % (item["key"], namespace))
        for item in plan["update"]:
            # resourceVersion makes the replace fail rather than overwrite a change made since we looked.
            body = dict(item["obj"], metadata=dict(item["obj"]["metadata"], namespace=namespace,
                                                   resourceVersion=item["resource_version"]))
            api.replace(resource_path("v1", KINDS[item["kind"]], namespace, item["name"]), body,
                        what="replace %s in %s" % (item["key"], namespace))
