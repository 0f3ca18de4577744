"""The incident records of the lab's API service, for tests that drive the lab's pynomaly-api: list
them, and close what an earlier (maybe interrupted) test left open, putting its scale-outs back."""
import json

RECORD_NS = "incident-response"
SERVICE = "pynomaly-api"


def k8s_client(lab):
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import K8sClient

    return K8sClient.from_params({"kubeconfig": lab["K8S_AUTH_KUBECONFIG"]})


def records(api, status=None, service=SERVICE):
    """The incident records of the service, oldest first."""
    selector = "incident-response.pynomaly.io/service=%s" % service
    if status:
        selector += ",incident-response.pynomaly.io/status=%s" % status
    items = api.items("/api/v1/namespaces/%s/configmaps" % RECORD_NS, "list records",
                      query={"labelSelector": selector})
    found = [json.loads(i["data"]["incident.json"]) for i in items
             if i["metadata"]["labels"].get("incident-response.pynomaly.io/record") == "incident"]
    return sorted(found, key=lambda r: r["opened_at"])


def close_open_incidents(api, run_module, service=SERVICE):
    """Undo the active scale overrides of the service's open incidents, then resolve them."""
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident import record as rec
    from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import ClusterStore

    store = ClusterStore(api, RECORD_NS)
    for record in records(api, status="open", service=service):
        for fix in rec.fixes_by_kind(record).get("scale_override", []):
            target = fix["target"]
            undo = run_module("k8s_scale_override", {"kind": target["kind"], "name": target["name"],
                                                     "namespace": target["namespace"], "state": "absent",
                                                     "force": True, "incident_id": record["id"]})
            assert not undo.get("failed"), undo
        store.update(record["id"], lambda r, t: (rec.resolve(r, by="test setup"), t))
        if record.get("scenario"):
            store.release_slot(record["service"], record["scenario"], record["id"])
