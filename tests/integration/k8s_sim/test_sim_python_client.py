"""The official kubernetes Python client (typed APIs and watch) against the simulator."""
import copy

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

REVISION = "deployment.kubernetes.io/revision"


@pytest.fixture(scope="session")
def api(k8s_service):
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(k8s_service.kubeconfig), client_configuration=cfg)
    return client.ApiClient(cfg)


@pytest.fixture(scope="session")
def apps(api):
    return client.AppsV1Api(api)


@pytest.fixture(scope="session")
def core(api):
    return client.CoreV1Api(api)


def wait_complete(apps, name, ns, timeout=60):
    """Watch the deployment until `kubectl rollout status` would say it rolled out."""
    d = apps.read_namespaced_deployment(name, ns)
    w = watch.Watch()
    for event in w.stream(apps.list_namespaced_deployment, ns, field_selector=f"metadata.name={name}",
                          resource_version=d.metadata.resource_version, timeout_seconds=timeout):
        d = event["object"]
        if _complete(d):
            w.stop()
            return d
    d = apps.read_namespaced_deployment(name, ns)
    assert _complete(d), d.status
    return d


def _complete(d):
    st = d.status
    return (st.observed_generation or 0) >= d.metadata.generation and (st.updated_replicas or 0) == \
        d.spec.replicas and (st.replicas or 0) == (st.updated_replicas or 0) and \
        (st.available_replicas or 0) == (st.updated_replicas or 0)


def test_every_kind_deserialises_into_typed_models(api, apps, core):
    autoscaling = client.AutoscalingV2Api(api)
    networking = client.NetworkingV1Api(api)
    calls = [core.list_pod_for_all_namespaces, core.list_node, core.list_namespace,
             core.list_service_for_all_namespaces, core.list_config_map_for_all_namespaces,
             core.list_secret_for_all_namespaces, core.list_event_for_all_namespaces,
             apps.list_deployment_for_all_namespaces, apps.list_replica_set_for_all_namespaces,
             apps.list_stateful_set_for_all_namespaces, apps.list_daemon_set_for_all_namespaces,
             apps.list_controller_revision_for_all_namespaces,
             autoscaling.list_horizontal_pod_autoscaler_for_all_namespaces,
             networking.list_network_policy_for_all_namespaces]
    for call in calls:
        result = call()
        assert int(result.metadata.resource_version) > 0
    pods = core.list_namespaced_pod("pynomaly-production", label_selector="app.kubernetes.io/name=pynomaly-api")
    assert len(pods.items) == 3
    for pod in pods.items:
        assert pod.status.phase == "Running"
        assert pod.status.container_statuses[0].ready is True
        assert pod.metadata.owner_references[0].kind == "ReplicaSet"
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("pynomaly-worker", "pynomaly-production")
    assert hpa.spec.min_replicas == 2 and hpa.status.desired_replicas >= 2
    sts = apps.read_namespaced_stateful_set("postgres", "pynomaly-production")
    assert sts.status.ready_replicas == 1 and sts.status.current_revision == sts.status.update_revision


def test_errors_are_status_objects(apps, core, namespace, manifest):
    with pytest.raises(ApiException) as missing:
        apps.read_namespaced_deployment("nope", namespace)
    assert missing.value.status == 404
    assert '"reason":"NotFound"' in missing.value.body
    body = manifest("web")
    apps.create_namespaced_deployment(namespace, body)
    with pytest.raises(ApiException) as exists:
        apps.create_namespaced_deployment(namespace, body)
    assert exists.value.status == 409 and '"reason":"AlreadyExists"' in exists.value.body
    stale = apps.read_namespaced_deployment("web", namespace)
    apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": {"x": "y"}}})
    stale.spec.replicas = 4
    with pytest.raises(ApiException) as conflict:
        apps.replace_namespaced_deployment("web", namespace, stale)
    assert conflict.value.status == 409 and '"reason":"Conflict"' in conflict.value.body
    bad = copy.deepcopy(body)
    bad["metadata"]["name"] = "Bad_Name"
    with pytest.raises(ApiException) as invalid:
        apps.create_namespaced_deployment(namespace, bad)
    assert invalid.value.status == 422 and '"reason":"Invalid"' in invalid.value.body
    with pytest.raises(ApiException) as no_ns:
        core.create_namespaced_config_map("does-not-exist", {"metadata": {"name": "x"}})
    assert no_ns.value.status == 404


def test_unauthorised_without_the_token(k8s_service):
    cfg = client.Configuration(host=k8s_service.url, api_key={"authorization": "wrong"},
                               api_key_prefix={"authorization": "Bearer"})
    cfg.ssl_ca_cert = str(k8s_service.dir / "ca.crt")
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(client.ApiClient(cfg)).list_namespace()
    assert err.value.status == 401


def test_rollout_and_rollback_bookkeeping_through_typed_calls(apps, namespace, manifest):
    apps.create_namespaced_deployment(namespace, manifest("web", "nginx:1.25"))
    first = wait_complete(apps, "web", namespace)
    assert first.metadata.annotations[REVISION] == "1"
    for tag in ("1.26", "1.27"):
        apps.patch_namespaced_deployment("web", namespace, {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": f"nginx:{tag}"}]}}}})
        wait_complete(apps, "web", namespace)
    rss = {rs.metadata.annotations[REVISION]: rs for rs in
           apps.list_namespaced_replica_set(namespace, label_selector="app=web").items}
    assert sorted(rss) == ["1", "2", "3"]
    # What `kubectl rollout undo --to-revision=1` sends: a json-patch of the template and annotations.
    template = client.ApiClient().sanitize_for_serialization(rss["1"].spec.template)
    template["metadata"]["labels"].pop("pod-template-hash")
    apps.patch_namespaced_deployment("web", namespace, [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": {REVISION: "3"}}])
    d = wait_complete(apps, "web", namespace)
    assert d.metadata.annotations[REVISION] == "4"
    reused = apps.read_namespaced_replica_set(rss["1"].metadata.name, namespace)
    assert reused.metadata.annotations[REVISION] == "4"
    assert reused.metadata.annotations["deployment.kubernetes.io/revision-history"] == "1"
    assert reused.status.ready_replicas == 2


def test_scale_subresource(apps, namespace, manifest):
    apps.create_namespaced_deployment(namespace, manifest("web", replicas=1))
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    assert scale.kind == "Scale" and scale.api_version == "autoscaling/v1" and scale.spec.replicas == 1
    assert scale.status.selector == "app=web"
    apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 3}})
    d = wait_complete(apps, "web", namespace)
    assert d.spec.replicas == 3 and d.status.ready_replicas == 3
    scale = apps.read_namespaced_deployment_scale("web", namespace)
    scale.spec.replicas = 2
    assert apps.replace_namespaced_deployment_scale("web", namespace, scale).spec.replicas == 2


def test_status_subresource_changes_only_status(apps, namespace, manifest):
    apps.create_namespaced_deployment(namespace, manifest("web", replicas=1))
    wait_complete(apps, "web", namespace)
    before = apps.read_namespaced_deployment_status("web", namespace)
    ignored = apps.patch_namespaced_deployment_status(
        "web", namespace, {"spec": {"replicas": 9},
                           "status": {"observedGeneration": before.status.observed_generation}})
    assert ignored.spec.replicas == 1
    # A status written to the main resource is ignored, as the apiserver's strategy does.
    d = apps.patch_namespaced_deployment("web", namespace, {"status": {"replicas": 42}})
    assert d.status.replicas == 1


def test_pod_logs_and_metrics(api, core):
    pod = core.list_namespaced_pod("pynomaly-production",
                                   label_selector="app.kubernetes.io/name=pynomaly-api").items[0].metadata.name
    tail = core.read_namespaced_pod_log(pod, "pynomaly-production", tail_lines=4)
    assert len(tail.splitlines()) == 4
    recent = core.read_namespaced_pod_log(pod, "pynomaly-production", since_seconds=2)
    assert len(recent.splitlines()) < len(core.read_namespaced_pod_log(pod, "pynomaly-production",
                                                                       since_seconds=60).splitlines())
    metrics = client.CustomObjectsApi(api).list_namespaced_custom_object("metrics.k8s.io", "v1beta1",
                                                                         "pynomaly-production", "pods")
    assert metrics["kind"] == "PodMetricsList"
    names = {m["metadata"]["name"] for m in metrics["items"]}
    assert pod in names
    node = client.CustomObjectsApi(api).get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", "lab-node-1")
    assert node["usage"]["cpu"].endswith("n") and node["usage"]["memory"].endswith("Ki")


def test_watch_resumes_from_a_resource_version(apps, core, namespace, manifest):
    listed = core.list_namespaced_pod(namespace)
    apps.create_namespaced_deployment(namespace, manifest("web", replicas=2))
    seen = []
    for event in watch.Watch().stream(core.list_namespaced_pod, namespace, label_selector="app=web",
                                      resource_version=listed.metadata.resource_version, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if sum(1 for t, _ in seen if t == "ADDED") == 2:
            break
    assert [t for t, _ in seen][:2] == ["ADDED", "ADDED"]
    assert all(name.startswith("web-") for _, name in seen)
    rs_events = []
    for event in watch.Watch().stream(apps.list_namespaced_replica_set, namespace, timeout_seconds=1):
        rs_events.append(event["type"])
    # Without a resourceVersion a watch starts with the current state, then streams changes.
    assert rs_events[0] == "ADDED" and rs_events.count("ADDED") == 1


def test_statefulset_and_daemonset_controllers(apps, namespace, until):
    labels = {"app": "db"}
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels},
                                 "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}}
    apps.create_namespaced_stateful_set(namespace, sts)
    done = until(lambda: (s := apps.read_namespaced_stateful_set("db", namespace)).status and
                 s.status.ready_replicas == 2 and s,
                 timeout=20, what="statefulset ready")
    rev1 = done.status.update_revision
    apps.patch_namespaced_stateful_set("db", namespace, {"spec": {"template": {"spec": {"containers": [
        {"name": "db", "image": "postgres:17"}]}}}})
    done = until(lambda: (s := apps.read_namespaced_stateful_set("db", namespace)).status.current_revision ==
                 s.status.update_revision != rev1 and s.status.ready_replicas == 2 and s, timeout=30,
                 what="statefulset rolled")
    revisions = {cr.metadata.name: cr.revision for cr in apps.list_namespaced_controller_revision(namespace).items}
    assert revisions == {rev1: 1, done.status.update_revision: 2}
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]}}}}
    apps.create_namespaced_daemon_set(namespace, ds)
    status = until(lambda: (s := apps.read_namespaced_daemon_set("agent", namespace).status) and
                   s.number_ready == 3 and s,
                   timeout=20, what="daemonset on 3 nodes")
    assert status.desired_number_scheduled == 3 and status.updated_number_scheduled == 3


def test_a_scale_patch_without_resource_version_never_conflicts_with_a_controller_write(apps, namespace, manifest,
                                                                                        k8s_service):
    """The body of a slow client arrives while the deployment controller writes the object: the apiserver
    applies a patch that carries no resourceVersion to the latest object (it retries), never 409."""
    import json
    import socket
    import ssl
    import time
    from urllib.parse import urlsplit

    apps.create_namespaced_deployment(namespace, manifest("web", replicas=2))
    before = apps.read_namespaced_deployment("web", namespace).metadata.resource_version
    url = urlsplit(k8s_service.url)
    body = json.dumps({"spec": {"replicas": 3}}).encode()
    head = (f"PATCH /apis/apps/v1/namespaces/{namespace}/deployments/web/scale HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {k8s_service.token}\r\nContent-Type: application/merge-patch+json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    ctx = ssl.create_default_context(cafile=str(k8s_service.dir / "ca.crt"))
    with socket.create_connection((url.hostname, url.port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=url.hostname) as tls:
        tls.sendall(head)
        deadline = time.monotonic() + 10
        while apps.read_namespaced_deployment("web", namespace).metadata.resource_version == before:
            assert time.monotonic() < deadline, "the controller never wrote the deployment"
            time.sleep(0.05)
        tls.sendall(body)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    assert answer.split(b"\r\n", 1)[0].split()[1] == b"200", answer[:400]
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 3
