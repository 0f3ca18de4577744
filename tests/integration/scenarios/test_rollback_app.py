"""playbooks/rollback_app.yml: a dry run writes nothing, rolling back to a revision by its number lands on
that revision's image, and a rerun with the same number converges although the controller renumbered it."""
import uuid

from kubernetes import client, config

NS = "pynomaly-production"
NAME = "pynomaly-api"
REVISION = "deployment.kubernetes.io/revision"


def recap(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("localhost "))
    return dict(part.split("=") for part in line.split(":", 1)[1].split())


def revisions(apps):
    sets = apps.list_namespaced_replica_set(NS, label_selector="app.kubernetes.io/name=pynomaly-api").items
    return {rs.metadata.annotations[REVISION]: rs.spec.template.spec.containers[0].image for rs in sets
            if any(o.name == NAME for o in rs.metadata.owner_references or [])}


def test_rollback_to_a_revision_by_number_converges(run_playbook, lab, tmp_path):
    api = config.new_client_from_config(config_file=lab["KUBECONFIG"])
    apps = client.AppsV1Api(api)
    try:
        before = apps.read_namespaced_deployment(NAME, NS)
        current_image = before.spec.template.spec.containers[0].image
        history = revisions(apps)
        # An older good release (the lab's bad releases, injected by other tests, stay in the history too).
        target_rev, target_image = next((rev, image) for rev, image in sorted(history.items(), key=lambda i: int(i[0]))
                                        if image != current_image and "crashloop" not in image)
        extra = {"incident_id": f"INC-test-{uuid.uuid4().hex[:8]}", "app_rollback_revision": int(target_rev)}
        env = {"INCIDENT_TIMELINE_DIR": str(tmp_path / "timeline")}

        dry = run_playbook("playbooks/rollback_app.yml", extra, check=True, diff=True, env=env)
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert target_image in dry.stdout  # --diff shows the template change
        assert apps.read_namespaced_deployment(NAME, NS).metadata.resource_version == before.metadata.resource_version

        real = run_playbook("playbooks/rollback_app.yml", extra, env=env)
        assert real.returncode == 0, real.stdout + real.stderr
        after = apps.read_namespaced_deployment(NAME, NS)
        assert after.spec.template.spec.containers[0].image == target_image
        assert int(after.metadata.annotations[REVISION]) > int(before.metadata.annotations[REVISION])
        assert after.status.available_replicas == after.spec.replicas

        again = run_playbook("playbooks/rollback_app.yml", extra, env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert recap(again.stdout)["changed"] == "0"

        # Put the service back on the image it ran, for the tests that follow.
        back_vars = {"incident_id": extra["incident_id"] + "-back", "app_rollback_image": current_image}
        back = run_playbook("playbooks/rollback_app.yml", back_vars, env=env)
        assert back.returncode == 0, back.stdout + back.stderr
        assert apps.read_namespaced_deployment(NAME, NS).spec.template.spec.containers[0].image == current_image
    finally:
        api.close()
