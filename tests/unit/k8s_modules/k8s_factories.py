"""Deployment / ReplicaSet / ControllerRevision / Pod JSON shaped as the API serves them."""
import copy

DEPLOY_UID = "d2b6a2f4-0000-4000-8000-000000000001"
SELECTOR = {"matchLabels": {"app.kubernetes.io/name": "pynomaly-api"}}


def template(image, extra_env=None, hash_label=None):
    labels = {"app.kubernetes.io/name": "pynomaly-api"}
    if hash_label:
        labels["pod-template-hash"] = hash_label
    container = {"name": "api", "image": image, "ports": [{"containerPort": 8000, "protocol": "TCP"}],
                 "resources": {}, "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"}
    if extra_env:
        container["env"] = extra_env
    return {"metadata": {"labels": labels, "creationTimestamp": None},
            "spec": {"containers": [container], "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}}


def deployment(image, revision, annotations=None, paused=False, uid=DEPLOY_UID, name="pynomaly-api"):
    ann = {"deployment.kubernetes.io/revision": str(revision)}
    ann.update(annotations or {})
    obj = {
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": "prod", "uid": uid, "resourceVersion": "1234",
                     "generation": revision, "annotations": ann},
        "spec": {"replicas": 3, "selector": copy.deepcopy(SELECTOR), "template": template(image),
                 "progressDeadlineSeconds": 600},
        "status": {"observedGeneration": revision, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                   "availableReplicas": 3,
                   "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                                  {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]},
    }
    if paused:
        obj["spec"]["paused"] = True
    return obj


def replicaset(image, revision, hash_label, history=None, cause=None, owner_uid=DEPLOY_UID, labels=None,
               controller=True):
    ann = {"deployment.kubernetes.io/revision": str(revision), "deployment.kubernetes.io/desired-replicas": "3",
           "deployment.kubernetes.io/max-replicas": "4"}
    if history:
        ann["deployment.kubernetes.io/revision-history"] = history
    if cause:
        ann["kubernetes.io/change-cause"] = cause
    rs_labels = {"app.kubernetes.io/name": "pynomaly-api", "pod-template-hash": hash_label}
    if labels is not None:
        rs_labels = labels
    return {
        "kind": "ReplicaSet", "apiVersion": "apps/v1",
        "metadata": {"name": f"pynomaly-api-{hash_label}", "namespace": "prod", "annotations": ann,
                     "labels": rs_labels,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "pynomaly-api",
                                          "uid": owner_uid, "controller": controller,
                                          "blockOwnerDeletion": True}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": dict(rs_labels)},
                 "template": template(image, hash_label=hash_label)},
    }


def controller_revision(image, revision, name, owner_uid, labels):
    tpl = template(image)
    tpl["$patch"] = "replace"
    return {"kind": "ControllerRevision", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": "prod", "labels": labels,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                                              "uid": owner_uid, "controller": True}]},
            "data": {"spec": {"template": tpl}}, "revision": revision}


def pod(name, waiting=None, restarts=0, last_reason=None, exit_code=None, ready=True, phase="Running",
        hash_label="aaa"):
    state = {"waiting": {"reason": waiting, "message": "back-off restarting"}} if waiting else {"running": {}}
    cs = {"name": "api", "ready": ready, "restartCount": restarts, "state": state, "image": "x"}
    if last_reason:
        cs["lastState"] = {"terminated": {"reason": last_reason, "exitCode": exit_code}}
    return {"metadata": {"name": name, "labels": {"pod-template-hash": hash_label}},
            "status": {"phase": phase, "containerStatuses": [cs]}}
