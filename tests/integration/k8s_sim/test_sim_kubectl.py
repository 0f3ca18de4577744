"""kubectl against the simulator: the answers a real cluster gives, for every command the
collection and the incident playbook use."""
import json

import pytest
import yaml

NS = "pynomaly-production"
REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"


def rs_by_revision(kubectl, ns, app):
    items = kubectl.json("get", "rs", "-l", f"app={app}", ns=ns)["items"]
    return {int(rs["metadata"]["annotations"][REVISION]): rs for rs in items}


def history_revisions(kubectl, ns, name):
    out = kubectl("rollout", "history", f"deployment/{name}", ns=ns)
    rows = [line.split(None, 1) for line in out.splitlines()[2:] if line.strip()]
    return {int(r[0]): (r[1].strip() if len(r) > 1 else "<none>") for r in rows}


def make_three_revisions(kubectl, ns, manifest, rolled_out, name="web"):
    kubectl.apply_json(manifest(name, "nginx:1.25", replicas=2), ns=ns, verb="create")
    kubectl("annotate", f"deployment/{name}", "kubernetes.io/change-cause=nginx 1.25", ns=ns)
    rolled_out(name, ns)
    for tag in ("1.26", "1.27"):
        kubectl("set", "image", f"deployment/{name}", f"app=nginx:{tag}", ns=ns)
        kubectl("annotate", "--overwrite", f"deployment/{name}", f"kubernetes.io/change-cause=nginx {tag}", ns=ns)
        rolled_out(name, ns)


# -- discovery and reads ---------------------------------------------------------------

def test_server_version_and_api_resources(kubectl):
    version = json.loads(kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].startswith("v1.32")
    resources = kubectl("api-resources", "-o", "name")
    for name in ("pods", "deployments.apps", "replicasets.apps", "statefulsets.apps", "daemonsets.apps",
                 "controllerrevisions.apps", "horizontalpodautoscalers.autoscaling",
                 "networkpolicies.networking.k8s.io", "pods.metrics.k8s.io", "nodes.metrics.k8s.io", "events",
                 "configmaps", "secrets", "services", "namespaces", "nodes"):
        assert name in resources.split(), name


@pytest.mark.parametrize("kind", ["pods", "deployments", "replicasets", "statefulsets", "daemonsets",
                                  "controllerrevisions", "hpa", "networkpolicies", "services", "configmaps",
                                  "secrets", "events", "endpoints", "endpointslices", "nodes", "namespaces"])
def test_get_json_and_yaml_for_every_kind(kubectl, kind):
    as_json = kubectl.json("get", kind, ns=NS)
    as_yaml = yaml.safe_load(kubectl("get", kind, "-o", "yaml", ns=NS))
    assert as_json["kind"] == "List" and as_yaml["kind"] == "List"
    for item in as_json["items"]:
        assert item["kind"] and item["apiVersion"] and item["metadata"]["uid"]
        assert int(item["metadata"]["resourceVersion"]) > 0
    assert [i["metadata"]["name"] for i in as_json["items"]] == [i["metadata"]["name"] for i in as_yaml["items"]]


def test_seeded_workloads_as_the_cluster_sees_them(kubectl):
    deploy = kubectl.json("get", "deployment", "pynomaly-api", ns=NS)
    assert deploy["spec"]["replicas"] == 3
    assert deploy["status"]["availableReplicas"] == 3
    history = history_revisions(kubectl, NS, "pynomaly-api")
    assert list(history)[:3] == [1, 2, 3] or len(history) >= 3
    # Earlier tests may have rolled the API back and forth (renumbering revisions); the seeded releases stay.
    images = {rs["spec"]["template"]["spec"]["containers"][0]["image"]
              for rs in kubectl.json("get", "rs", "-l", "app.kubernetes.io/name=pynomaly-api", ns=NS)["items"]}
    assert {"pynomaly-api:1.0.0", "pynomaly-api:1.1.0", "pynomaly-api:1.2.0"} <= images
    assert kubectl.json("get", "hpa", "pynomaly-worker", ns=NS)["spec"]["scaleTargetRef"]["name"] == \
        "pynomaly-worker"
    assert kubectl.json("get", "statefulset", "postgres", ns=NS)["status"]["readyReplicas"] == 1
    assert kubectl.json("get", "deployment", "redis", ns=NS)["status"]["readyReplicas"] == 1
    assert len(kubectl.json("get", "nodes")["items"]) == 3
    assert kubectl.json("get", "secret", "pynomaly-secrets", ns=NS)["type"] == "Opaque"
    assert "pynomaly-config" in kubectl("get", "configmaps", "-o", "name", ns=NS)


def test_get_prints_server_side_table(kubectl):
    out = kubectl("get", "pods", "-l", "app.kubernetes.io/name=pynomaly-api", ns=NS).splitlines()
    assert out[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(out) == 4
    assert all(line.split()[1] == "1/1" and line.split()[2] == "Running" for line in out[1:])
    wide = kubectl("get", "deployments", "-o", "wide", ns=NS).splitlines()[0].split()
    assert wide == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    nodes = kubectl("get", "nodes").splitlines()
    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert sum(1 for line in nodes[1:] if " Ready " in line) == 3


def test_label_and_field_selectors(kubectl):
    api = kubectl.json("get", "pods", "-l", "app.kubernetes.io/name=pynomaly-api", ns=NS)["items"]
    assert len(api) == 3
    set_based = kubectl.json("get", "pods", "-l", "app.kubernetes.io/name in (pynomaly-api,redis)", ns=NS)["items"]
    assert len(set_based) == 4
    negated = kubectl.json("get", "pods", "-l", "app.kubernetes.io/name!=pynomaly-api", ns=NS)["items"]
    assert negated and all(p["metadata"]["labels"].get("app.kubernetes.io/name") != "pynomaly-api" for p in negated)
    running = kubectl.json("get", "pods", "--field-selector", "status.phase=Running", ns=NS)["items"]
    assert len(running) >= 7
    one = kubectl.json("get", "pods", "--field-selector", f"metadata.name={api[0]['metadata']['name']}", ns=NS)
    assert [p["metadata"]["name"] for p in one["items"]] == [api[0]["metadata"]["name"]]
    everywhere = kubectl.json("get", "pods", "-A", "--field-selector", "metadata.namespace=kube-system")
    assert everywhere["items"] == []
    unsupported = kubectl.run("get", "deployments", "--field-selector", "spec.replicas=3", ns=NS, check=False)
    assert unsupported.returncode == 1 and "field label not supported: spec.replicas" in unsupported.stderr


def test_not_found_is_a_status_404(kubectl):
    res = kubectl.run("get", "deployment", "nope", ns=NS, check=False)
    assert res.returncode == 1
    assert 'deployments.apps "nope" not found' in res.stderr


def test_describe_deployment(kubectl):
    out = kubectl("describe", "deployment", "pynomaly-api", ns=NS)
    assert "Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable" in out
    assert "StrategyType:           RollingUpdate" in out
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in out
    assert "Available      True    MinimumReplicasAvailable" in out
    assert "NewReplicaSet:   pynomaly-api-" in out


# -- writes and rollouts -----------------------------------------------------------------

def test_create_then_apply_manifest(kubectl, namespace, manifest, rolled_out):
    body = manifest("api", "nginx:1.27", replicas=2)
    assert "deployment.apps/api created" in kubectl.apply_json(body, ns=namespace, verb="create")
    rolled_out("api", namespace)
    dup = kubectl.run("create", "-f", "-", ns=namespace, stdin=json.dumps(body), check=False)
    assert dup.returncode == 1 and "AlreadyExists" in dup.stderr
    body["spec"]["replicas"] = 3
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "MODE", "value": "x"}]
    assert "deployment.apps/api configured" in kubectl.apply_json(body, ns=namespace)
    assert "deployment.apps/api unchanged" in kubectl.apply_json(body, ns=namespace)
    live = kubectl.json("get", "deployment", "api", ns=namespace)
    assert live["spec"]["replicas"] == 3
    assert live["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]
    assert live["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "x"}]
    body["spec"]["template"]["spec"]["containers"][0]["bogus"] = 1
    strict = kubectl.run("apply", "-f", "-", ns=namespace, stdin=json.dumps(body), check=False)
    assert strict.returncode == 1 and 'unknown field "spec.template.spec.containers[0].bogus"' in strict.stderr


def test_invalid_object_is_422(kubectl, namespace, manifest):
    body = manifest("bad", "nginx:1.27")
    body["spec"]["selector"]["matchLabels"] = {"app": "other"}
    res = kubectl.run("create", "-f", "-", ns=namespace, stdin=json.dumps(body), check=False)
    assert res.returncode == 1
    assert 'The Deployment "bad" is invalid' in res.stderr
    assert "`selector` does not match template `labels`" in res.stderr


def test_set_image_with_change_cause_and_rollout_status(kubectl, namespace, manifest, rolled_out):
    kubectl.apply_json(manifest("web", "nginx:1.26"), ns=namespace, verb="create")
    rolled_out("web", namespace)
    kubectl("set", "image", "deployment/web", "app=nginx:1.27", ns=namespace)
    kubectl("annotate", "--overwrite", "deployment/web", "kubernetes.io/change-cause=upgrade to 1.27", ns=namespace)
    out = rolled_out("web", namespace)
    assert 'deployment "web" successfully rolled out' in out
    history = history_revisions(kubectl, namespace, "web")
    assert history == {1: "<none>", 2: "upgrade to 1.27"}
    d = kubectl.json("get", "deployment", "web", ns=namespace)
    assert d["metadata"]["annotations"][REVISION] == "2"
    assert d["status"]["updatedReplicas"] == 2 and d["status"]["observedGeneration"] == d["metadata"]["generation"]
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"
    rs = rs_by_revision(kubectl, namespace, "web")
    assert rs[1]["spec"]["replicas"] == 0 and rs[2]["spec"]["replicas"] == 2
    assert rs[2]["metadata"]["annotations"]["kubernetes.io/change-cause"] == "upgrade to 1.27"
    assert rs[2]["metadata"]["labels"]["pod-template-hash"] in rs[2]["metadata"]["name"]
    pods = kubectl.json("get", "pods", "-l", "app=web", ns=namespace)["items"]
    # Old pods may still be Terminating (deletionTimestamp set) right after the rollout, as on a cluster.
    serving = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert {p["metadata"]["ownerReferences"][0]["name"] for p in serving} == {rs[2]["metadata"]["name"]}


def test_rollout_status_fails_on_progress_deadline(kubectl, namespace, manifest, rolled_out):
    kubectl.apply_json(manifest("web", "nginx:1.27", replicas=2, progress_deadline=3), ns=namespace, verb="create")
    rolled_out("web", namespace)
    kubectl("set", "image", "deployment/web", "app=nginx:1.27.99", ns=namespace)
    res = kubectl.run("rollout", "status", "deployment/web", "--timeout=60s", ns=namespace, check=False)
    assert res.returncode == 1
    assert 'error: deployment "web" exceeded its progress deadline' in res.stderr
    d = kubectl.json("get", "deployment", "web", ns=namespace)
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    # The old pods keep serving: maxUnavailable 25% of 2 rounds down to 0.
    assert d["status"]["availableReplicas"] == 2


def test_undo_to_revision_renumbers_like_kubernetes(kubectl, namespace, manifest, rolled_out):
    make_three_revisions(kubectl, namespace, manifest, rolled_out)
    before = rs_by_revision(kubectl, namespace, "web")
    assert sorted(before) == [1, 2, 3]
    out = kubectl("rollout", "undo", "deployment/web", "--to-revision=1", ns=namespace)
    assert "deployment.apps/web rolled back" in out
    rolled_out("web", namespace)
    after = rs_by_revision(kubectl, namespace, "web")
    assert sorted(after) == [2, 3, 4]
    assert after[4]["metadata"]["name"] == before[1]["metadata"]["name"]
    assert after[4]["metadata"]["annotations"][HISTORY] == "1"
    d = kubectl.json("get", "deployment", "web", ns=namespace)
    assert d["metadata"]["annotations"][REVISION] == "4"
    assert d["metadata"]["annotations"]["kubernetes.io/change-cause"] == "nginx 1.25"
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert history_revisions(kubectl, namespace, "web") == {2: "nginx 1.26", 3: "nginx 1.27", 4: "nginx 1.25"}
    # `undo` without a revision goes to the previous one (3), which becomes 5.
    kubectl("rollout", "undo", "deployment/web", ns=namespace)
    rolled_out("web", namespace)
    again = rs_by_revision(kubectl, namespace, "web")
    assert sorted(again) == [2, 4, 5]
    assert again[5]["metadata"]["name"] == before[3]["metadata"]["name"]
    assert again[5]["metadata"]["annotations"][HISTORY] == "3"
    detail = kubectl("rollout", "history", "deployment/web", "--revision=4", ns=namespace)
    assert "with revision #4" in detail and "Image:\tnginx:1.25" in detail


def test_undo_to_current_template_is_a_noop(kubectl, namespace, manifest, rolled_out):
    make_three_revisions(kubectl, namespace, manifest, rolled_out)
    out = kubectl("rollout", "undo", "deployment/web", "--to-revision=3", ns=namespace)
    assert "skipped rollback (current template already matches revision 3)" in out
    missing = kubectl.run("rollout", "undo", "deployment/web", "--to-revision=9", ns=namespace, check=False)
    assert missing.returncode == 1 and "unable to find specified revision 9 in history" in missing.stderr


def test_revision_history_limit_prunes_old_replicasets(kubectl, namespace, manifest, rolled_out):
    kubectl.apply_json(manifest("web", "nginx:1.25", replicas=1, revisionHistoryLimit=1), ns=namespace,
                       verb="create")
    rolled_out("web", namespace)
    for tag in ("1.26", "1.27"):
        kubectl("set", "image", "deployment/web", f"app=nginx:{tag}", ns=namespace)
        rolled_out("web", namespace)
    assert sorted(rs_by_revision(kubectl, namespace, "web")) == [2, 3]


def test_rollout_restart(kubectl, namespace, manifest, rolled_out):
    kubectl.apply_json(manifest("web", "nginx:1.27"), ns=namespace, verb="create")
    rolled_out("web", namespace)
    old_pods = set(kubectl("get", "pods", "-l", "app=web", "-o", "name", ns=namespace).split())
    assert "deployment.apps/web restarted" in kubectl("rollout", "restart", "deployment/web", ns=namespace)
    rolled_out("web", namespace)
    d = kubectl.json("get", "deployment", "web", ns=namespace)
    assert "kubectl.kubernetes.io/restartedAt" in d["spec"]["template"]["metadata"]["annotations"]
    assert d["metadata"]["annotations"][REVISION] == "2"
    new_pods = {f"pod/{p['metadata']['name']}" for p in kubectl.json("get", "pods", "-l", "app=web",
                                                                      ns=namespace)["items"]
                if not p["metadata"].get("deletionTimestamp")}
    assert len(new_pods) == 2 and not new_pods & old_pods


def test_rollout_pause_and_resume(kubectl, namespace, manifest, rolled_out, until):
    kubectl.apply_json(manifest("web", "nginx:1.26"), ns=namespace, verb="create")
    rolled_out("web", namespace)
    assert "deployment.apps/web paused" in kubectl("rollout", "pause", "deployment/web", ns=namespace)
    kubectl("set", "image", "deployment/web", "app=nginx:1.27", ns=namespace)

    def paused_condition():
        d = kubectl.json("get", "deployment", "web", ns=namespace)
        cond = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
        return d if cond["reason"] == "DeploymentPaused" and cond["status"] == "Unknown" else None

    until(paused_condition, what="Progressing=Unknown/DeploymentPaused")
    assert sorted(rs_by_revision(kubectl, namespace, "web")) == [1]
    again = kubectl.run("rollout", "pause", "deployment/web", ns=namespace, check=False)
    assert "already paused" in again.stderr
    assert "deployment.apps/web resumed" in kubectl("rollout", "resume", "deployment/web", ns=namespace)
    rolled_out("web", namespace)
    assert sorted(rs_by_revision(kubectl, namespace, "web")) == [1, 2]
    assert kubectl.json("get", "deployment", "web", ns=namespace)["spec"]["template"]["spec"]["containers"][0][
        "image"] == "nginx:1.27"


def test_scale(kubectl, namespace, manifest, rolled_out, until):
    kubectl.apply_json(manifest("web", "nginx:1.27", replicas=1), ns=namespace, verb="create")
    rolled_out("web", namespace)
    assert "deployment.apps/web scaled" in kubectl("scale", "deployment/web", "--replicas=4", ns=namespace)
    rolled_out("web", namespace)
    d = kubectl.json("get", "deployment", "web", ns=namespace)
    assert d["status"]["readyReplicas"] == 4
    rs = rs_by_revision(kubectl, namespace, "web")[1]
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "4"
    kubectl("scale", "deployment/web", "--replicas=0", ns=namespace)
    rolled_out("web", namespace)
    assert kubectl.json("get", "deployment", "web", ns=namespace)["status"].get("replicas") is None
    until(lambda: kubectl("get", "pods", "-l", "app=web", "-o", "name", ns=namespace).strip() == "", timeout=20,
          what="scaled-down pods gone")


def test_three_patch_types(kubectl, namespace, manifest, rolled_out):
    body = manifest("web", "nginx:1.27")
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    kubectl.apply_json(body, ns=namespace, verb="create")
    rolled_out("web", namespace)
    strategic = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 9090, "name": "metrics"}]}
    ]}}}}
    kubectl("patch", "deployment/web", "-p", json.dumps(strategic), ns=namespace)
    c = kubectl.json("get", "deployment", "web", ns=namespace)["spec"]["template"]["spec"]["containers"]
    assert len(c) == 1 and c[0]["image"] == "nginx:1.27"
    # Server items keep their place; new items from the patch follow (apimachinery's normalizeElementOrder).
    assert [e["name"] for e in c[0]["env"]] == ["A", "B"]
    assert {p["containerPort"] for p in c[0]["ports"]} == {8000, 9090}
    merge = {"metadata": {"labels": {"tier": "web"}}, "spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:1.26"}]}}}}
    kubectl("patch", "deployment/web", "--type=merge", "-p", json.dumps(merge), ns=namespace)
    d = kubectl.json("get", "deployment", "web", ns=namespace)
    assert d["metadata"]["labels"]["tier"] == "web"
    # A JSON merge patch replaces the whole list: env and ports are gone.
    assert d["spec"]["template"]["spec"]["containers"][0].get("env") is None
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 3},
           {"op": "add", "path": "/metadata/annotations/team", "value": "sre"}]
    kubectl("patch", "deployment/web", "--type=json", "-p", json.dumps(ops), ns=namespace)
    d = kubectl.json("get", "deployment", "web", ns=namespace)
    assert d["spec"]["replicas"] == 3 and d["metadata"]["annotations"]["team"] == "sre"
    failing = [{"op": "test", "path": "/spec/replicas", "value": 7}]
    res = kubectl.run("patch", "deployment/web", "--type=json", "-p", json.dumps(failing), ns=namespace, check=False)
    assert res.returncode == 1 and "test failed" in res.stderr


def test_replace_with_stale_resource_version_conflicts(kubectl, namespace, manifest):
    kubectl.apply_json(manifest("web", "nginx:1.27"), ns=namespace, verb="create")
    stale = kubectl.json("get", "deployment", "web", ns=namespace)
    kubectl("label", "deployment/web", "touched=yes", ns=namespace)
    stale["spec"]["replicas"] = 5
    res = kubectl.run("replace", "-f", "-", ns=namespace, stdin=json.dumps(stale), check=False)
    assert res.returncode == 1
    assert ("Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified"
            in res.stderr)


def test_delete_cascades_to_replicasets_and_pods(kubectl, namespace, manifest, rolled_out, until):
    kubectl.apply_json(manifest("web", "nginx:1.27"), ns=namespace, verb="create")
    rolled_out("web", namespace)
    assert 'deployment.apps "web" deleted' in kubectl("delete", "deployment", "web", ns=namespace)
    assert kubectl("get", "rs", "-o", "name", ns=namespace).strip() == ""
    # The garbage collector deletes the pods gracefully: Terminating first, then gone.
    statuses = {line.split()[2] for line in kubectl("get", "pods", "--no-headers", ns=namespace).splitlines()}
    assert statuses <= {"Terminating"}
    until(lambda: kubectl("get", "pods", "-o", "name", ns=namespace).strip() == "", timeout=20,
          what="pods gone after their grace")


def test_delete_pod_waits_for_termination_and_is_replaced(kubectl, namespace, manifest, rolled_out):
    kubectl.apply_json(manifest("web", "nginx:1.27", replicas=1), ns=namespace, verb="create")
    rolled_out("web", namespace)
    pod = kubectl("get", "pods", "-o", "name", ns=namespace).strip()
    name = pod.split("/", 1)[1]
    assert f'pod "{name}" deleted' in kubectl("delete", pod, ns=namespace)
    after = kubectl("get", "pods", "-o", "name", ns=namespace).split()
    assert pod not in after and len(after) == 1


def test_logs_tail_since_and_container(kubectl):
    pod = kubectl("get", "pods", "-l", "app.kubernetes.io/name=pynomaly-api", "-o", "name", ns=NS).split()[0]
    tail = kubectl("logs", pod, "--tail=5", ns=NS).splitlines()
    assert len(tail) == 5
    assert all(line.split()[1] in ("INFO", "WARNING", "ERROR", "CRITICAL") for line in tail)
    full = kubectl("logs", pod, "--since=30s", ns=NS).splitlines()
    # Logs are a fixed history: what --tail showed is still there, in the same order, a moment later.
    assert [line for line in full if line in tail] == tail
    same = kubectl("logs", pod, "-c", "pynomaly-api", "--tail=5", ns=NS).splitlines()
    assert len(same) == 5
    # The log is one fixed history: where the two reads overlap in time they agree line by line.
    assert [x for x in same if x <= tail[-1]] == [x for x in tail if x >= same[0]]
    bad = kubectl.run("logs", pod, "-c", "nope", ns=NS, check=False)
    assert bad.returncode == 1 and "container nope is not valid for pod" in bad.stderr
    nothing = kubectl.run("logs", pod, "--previous", ns=NS, check=False)
    assert nothing.returncode == 1 and "previous terminated container" in nothing.stderr
    by_label = kubectl("logs", "-l", "app.kubernetes.io/name=pynomaly-api", "--tail=3", ns=NS).splitlines()
    assert len(by_label) == 9


def test_top_pods_and_nodes(kubectl):
    pods = kubectl("top", "pods", ns=NS).splitlines()
    assert pods[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert len(pods) >= 8
    nodes = kubectl("top", "nodes").splitlines()
    assert nodes[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert len(nodes) == 4
    selected = kubectl("top", "pods", "-l", "app.kubernetes.io/name=pynomaly-api", ns=NS).splitlines()
    assert len(selected) == 4


def test_unauthenticated_requests_get_401(k8s_service):
    import ssl
    import urllib.error
    import urllib.request

    ctx = ssl.create_default_context(cafile=str(k8s_service.dir / "ca.crt"))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(k8s_service.url + "/api/v1/pods", context=ctx, timeout=5)
    assert err.value.code == 401
    assert json.loads(err.value.read())["reason"] == "Unauthorized"


def test_generator_commands_sending_protobuf(kubectl, namespace, rolled_out):
    kubectl("create", "deployment", "gen", "--image=nginx:1.27", "--replicas=2", "--port=80", ns=namespace)
    kubectl("create", "configmap", "gen", "--from-literal=a=b", ns=namespace)
    kubectl("create", "secret", "generic", "gen", "--from-literal=p=q", ns=namespace)
    kubectl("run", "one", "--image=busybox:1.36", "--labels=x=y", "--env=A=B", "--", "sleep", "3600", ns=namespace)
    kubectl("expose", "deployment", "gen", "--port=8080", "--target-port=80", ns=namespace)
    rolled_out("gen", namespace)
    d = kubectl.json("get", "deployment", "gen", ns=namespace)
    assert d["spec"]["replicas"] == 2 and d["spec"]["selector"]["matchLabels"] == {"app": "gen"}
    assert d["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert kubectl.json("get", "configmap", "gen", ns=namespace)["data"] == {"a": "b"}
    assert kubectl.json("get", "secret", "gen", ns=namespace)["data"] == {"p": "cQ=="}
    pod = kubectl.json("get", "pod", "one", ns=namespace)
    assert pod["metadata"]["labels"] == {"x": "y"}
    assert pod["spec"]["containers"][0]["args"] == ["sleep", "3600"]
    assert pod["spec"]["containers"][0]["env"] == [{"name": "A", "value": "B"}]
    svc = kubectl.json("get", "service", "gen", ns=namespace)
    assert svc["spec"]["ports"] == [{"port": 8080, "protocol": "TCP", "targetPort": 80}]
    assert svc["spec"]["selector"] == {"app": "gen"}


def test_endpoints_follow_pod_readiness(kubectl, namespace, manifest, rolled_out, until):
    kubectl.apply_json(manifest("web", "nginx:1.27", replicas=2), ns=namespace, verb="create")
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
    kubectl.apply_json(svc, ns=namespace, verb="create")
    rolled_out("web", namespace)
    ep = kubectl.json("get", "endpoints", "web", ns=namespace)
    assert len(ep["subsets"][0]["addresses"]) == 2
    assert ep["subsets"][0]["ports"] == [{"name": "http", "port": 8000, "protocol": "TCP"}]
    row = kubectl("get", "endpoints", "web", "--no-headers", ns=namespace).split()
    assert row[1].count(":8000") == 2
    slices = kubectl.json("get", "endpointslices", "-l", "kubernetes.io/service-name=web", ns=namespace)["items"]
    assert len(slices) == 1 and all(e["conditions"]["ready"] for e in slices[0]["endpoints"])
    # A release whose pods never become ready leaves them out of the addresses.
    kubectl("set", "image", "deployment/web", "app=pynomaly-api:1.3.0-unready", ns=namespace)
    until(lambda: kubectl.json("get", "endpoints", "web", ns=namespace)["subsets"][0].get("notReadyAddresses"),
          timeout=20, what="a not-ready address")
    assert len(kubectl.json("get", "endpoints", "web", ns=namespace)["subsets"][0]["addresses"]) == 2
