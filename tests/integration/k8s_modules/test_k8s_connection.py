"""The collection's Kubernetes transport against the lab API server, one kubeconfig shape at a time:
token, tokenFile, CA file or data, client certificates (files and data), insecure-skip-tls-verify,
tls-server-name, exec credential plugins (through the kubernetes client's loader), and the failures
an operator must be able to read: wrong CA, wrong name, wrong token, nothing listening."""
import base64
import json
import socket
import stat
import sys
import time
from pathlib import Path

import pytest
import yaml

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import K8sClient, resource_path
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import (
    ApiRequestFailed,
    ApiUnreachable,
    ConfigurationError,
)

NS = "pynomaly-production"


@pytest.fixture(scope="module")
def k8s(lab):
    folder = Path(lab["LAB_STATE_DIR"]) / "k8s"
    return {"url": lab["LAB_K8S_URL"], "token": lab["LAB_K8S_TOKEN"], "ca": folder / "ca.crt",
            "cert": folder / "client.crt", "key": folder / "client.key"}


def write_kubeconfig(path, cluster, user):
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "c", "cluster": cluster}], "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "t", "context": {"cluster": "c", "user": "u"}}]}))
    return str(path)


def read_namespace(kubeconfig):
    client = K8sClient.from_params({"kubeconfig": kubeconfig})
    try:
        return client.get(resource_path("v1", "namespaces", name=NS), what="read namespace %s" % NS)
    finally:
        client.close()


def b64(path):
    return base64.b64encode(Path(path).read_bytes()).decode()


def test_token_with_a_ca_file(k8s, tmp_path):
    kc = write_kubeconfig(tmp_path / "kc", {"server": k8s["url"], "certificate-authority": str(k8s["ca"])},
                          {"token": k8s["token"]})
    assert read_namespace(kc)["metadata"]["name"] == NS


def test_token_file_and_relative_ca(k8s, tmp_path):
    (tmp_path / "ca.crt").write_bytes(k8s["ca"].read_bytes())
    (tmp_path / "token").write_text(k8s["token"] + "\n")
    kc = write_kubeconfig(tmp_path / "kc", {"server": k8s["url"], "certificate-authority": "ca.crt"},
                          {"tokenFile": "token"})
    assert read_namespace(kc)["metadata"]["name"] == NS


@pytest.mark.parametrize("shape", ["files", "data"])
def test_client_certificate(k8s, tmp_path, shape):
    if shape == "files":
        user = {"client-certificate": str(k8s["cert"]), "client-key": str(k8s["key"])}
    else:
        user = {"client-certificate-data": b64(k8s["cert"]), "client-key-data": b64(k8s["key"])}
    kc = write_kubeconfig(tmp_path / "kc", {"server": k8s["url"], "certificate-authority-data": b64(k8s["ca"])}, user)
    assert read_namespace(kc)["metadata"]["name"] == NS
    # The key written for the TLS library is gone again.
    assert not list(Path(tmp_path).glob("k8s-client-cert-*"))


def test_insecure_skip_tls_verify_needs_no_ca(k8s, tmp_path):
    kc = write_kubeconfig(tmp_path / "kc", {"server": k8s["url"], "insecure-skip-tls-verify": True},
                          {"token": k8s["token"]})
    assert read_namespace(kc)["metadata"]["name"] == NS


def test_tls_server_name_is_what_the_certificate_is_checked_against(k8s, tmp_path):
    cluster = {"server": k8s["url"], "certificate-authority": str(k8s["ca"]), "tls-server-name": "kubernetes"}
    good = write_kubeconfig(tmp_path / "good", cluster, {"token": k8s["token"]})
    assert read_namespace(good)["metadata"]["name"] == NS
    bad = write_kubeconfig(tmp_path / "bad", dict(cluster, **{"tls-server-name": "api.elsewhere.example"}),
                           {"token": k8s["token"]})
    with pytest.raises(ApiUnreachable) as err:
        read_namespace(bad)
    assert "TLS certificate verification failed" in err.value.message


def test_an_unknown_ca_fails_with_a_hint(k8s, tmp_path):
    kc = write_kubeconfig(tmp_path / "kc", {"server": k8s["url"]}, {"token": k8s["token"]})
    with pytest.raises(ApiUnreachable) as err:
        read_namespace(kc)
    message = err.value.message
    assert message.startswith("The Kubernetes API at %s is unreachable while trying to read namespace" % k8s["url"])
    assert "TLS certificate verification failed" in message and "ca_cert" in message


def test_a_wrong_token_is_a_401_that_never_shows_the_token(k8s, tmp_path):
    kc = write_kubeconfig(tmp_path / "kc", {"server": k8s["url"], "certificate-authority": str(k8s["ca"])},
                          {"token": "not-the-token-0123456789"})
    with pytest.raises(ApiRequestFailed) as err:
        read_namespace(kc)
    assert err.value.status == 401
    assert "check the credentials" in err.value.message
    assert "not-the-token" not in err.value.message


def test_nothing_listening_fails_fast(k8s, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kc = write_kubeconfig(tmp_path / "kc", {"server": "https://127.0.0.1:%d" % port,
                                            "certificate-authority": str(k8s["ca"])}, {"token": k8s["token"]})
    started = time.monotonic()
    with pytest.raises(ApiUnreachable) as err:
        read_namespace(kc)
    assert time.monotonic() - started < 5
    assert "ConnectionRefusedError" in err.value.message


def test_an_exec_credential_plugin_is_run_through_the_kubernetes_client(k8s, tmp_path):
    plugin = tmp_path / "get-token"
    plugin.write_text("#!%s\nimport json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
                      "'kind': 'ExecCredential', 'status': {'token': %r}}))\n" % (sys.executable, k8s["token"]))
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    kc = write_kubeconfig(tmp_path / "kc", {"server": k8s["url"], "certificate-authority": str(k8s["ca"])},
                          {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                                    "interactiveMode": "Never"}})
    assert read_namespace(kc)["metadata"]["name"] == NS


def test_a_failing_exec_plugin_is_a_configuration_error(k8s, tmp_path):
    kc = write_kubeconfig(tmp_path / "kc", {"server": k8s["url"], "certificate-authority": str(k8s["ca"])},
                          {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                    "command": str(tmp_path / "no-such-plugin"), "interactiveMode": "Never"}})
    with pytest.raises(ConfigurationError) as err:
        read_namespace(kc)
    assert "credential plugin gave no token" in err.value.message


def test_a_module_task_with_a_client_certificate_kubeconfig(run_module, k8s, tmp_path):
    kc = write_kubeconfig(tmp_path / "kc", {"server": k8s["url"], "certificate-authority-data": b64(k8s["ca"])},
                          {"client-certificate-data": b64(k8s["cert"]), "client-key-data": b64(k8s["key"])})
    res = run_module("k8s_rollback", {"kubeconfig": kc, "context": "t", "namespace": NS, "name": "pynomaly-api"},
                     check=True)
    assert not res.get("failed"), res.get("msg")
    assert res["workloads"][0]["name"] == "pynomaly-api"
    key_text = Path(k8s["key"]).read_text()
    assert key_text.splitlines()[1] not in res["_stdout"]
    assert json.dumps(res).count("BEGIN PRIVATE KEY") == 0
