"""Kubeconfig reading: the same settings client-go would use, and clear errors when there are none."""
import base64

import pytest
import yaml

from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s import connection as c
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.client import resource_path
from ansible_collections.pynomaly.incident_response.plugins.module_utils.k8s.errors import ConfigurationError

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def kubeconfig(path, current="main", clusters=None, users=None, contexts=None):
    body = {"apiVersion": "v1", "kind": "Config", "clusters": clusters or [], "users": users or [],
            "contexts": contexts or []}
    if current:
        body["current-context"] = current
    path.write_text(yaml.safe_dump(body))
    return str(path)


def cluster(name, server="https://k8s.example:6443", **fields):
    return {"name": name, "cluster": dict(server=server, **fields)}


def user(name, **fields):
    return {"name": name, "user": fields}


def context(name, cluster_name, user_name):
    return {"name": name, "context": {"cluster": cluster_name, "user": user_name}}


@pytest.fixture(autouse=True)
def no_ambient_config(monkeypatch):
    for var in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(var, raising=False)


def test_token_and_ca_data_from_the_current_context(tmp_path):
    path = kubeconfig(tmp_path / "config", clusters=[cluster("c", **{
        "certificate-authority-data": base64.b64encode(CA_PEM).decode()})],
        users=[user("u", token="s3cret")], contexts=[context("main", "c", "u")])
    settings = c.resolve(kubeconfig=path)
    assert settings.server == "https://k8s.example:6443"
    assert settings.token == "s3cret"
    assert settings.ca_data == CA_PEM and settings.ca_file is None
    assert settings.insecure is False
    assert "context main" in settings.source


def test_relative_paths_are_relative_to_the_file_that_names_them(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "token").write_text("from-file\n")
    path = kubeconfig(sub / "config", clusters=[cluster("c", **{"certificate-authority": "ca.crt"})],
                      users=[user("u", tokenFile="token", **{"client-certificate": "u.crt", "client-key": "u.key"})],
                      contexts=[context("main", "c", "u")])
    settings = c.resolve(kubeconfig=path)
    assert settings.ca_file == str(sub / "ca.crt")
    assert settings.token == "from-file"
    assert (settings.cert_file, settings.key_file) == (str(sub / "u.crt"), str(sub / "u.key"))


def test_client_certificate_data_and_tls_options(tmp_path):
    path = kubeconfig(tmp_path / "config", clusters=[cluster("c", **{
        "insecure-skip-tls-verify": True, "tls-server-name": "api.internal", "proxy-url": "http://proxy:3128"})],
        users=[user("u", **{"client-certificate-data": base64.b64encode(b"CERT").decode(),
                            "client-key-data": base64.b64encode(b"KEY").decode()})],
        contexts=[context("main", "c", "u")])
    settings = c.resolve(kubeconfig=path)
    assert (settings.cert_data, settings.key_data) == (b"CERT", b"KEY")
    assert settings.insecure is True
    assert settings.tls_server_name == "api.internal"
    assert settings.proxy_url == "http://proxy:3128"
    assert settings.token is None


def test_the_context_option_picks_another_context(tmp_path):
    path = kubeconfig(tmp_path / "config", clusters=[cluster("a", server="https://a:6443"),
                                                     cluster("b", server="https://b:6443")],
                      users=[user("ua", token="ta"), user("ub", token="tb")],
                      contexts=[context("main", "a", "ua"), context("other", "b", "ub")])
    settings = c.resolve(kubeconfig=path, context="other")
    assert (settings.server, settings.token) == ("https://b:6443", "tb")


def test_a_kubeconfig_list_merges_first_wins(tmp_path, monkeypatch):
    first = kubeconfig(tmp_path / "one", current="", clusters=[cluster("c", server="https://first:6443")],
                       users=[user("u", token="first")], contexts=[context("main", "c", "u")])
    second = kubeconfig(tmp_path / "two", current="main", clusters=[cluster("c", server="https://second:6443"),
                                                                    cluster("x", server="https://x:6443")],
                        users=[user("u", token="second")], contexts=[context("main", "x", "u")])
    monkeypatch.setenv("KUBECONFIG", ":".join([first, str(tmp_path / "missing"), second]))
    settings = c.resolve()
    # current-context comes from the second file (the first sets none); names the first file defines win.
    assert (settings.server, settings.token) == ("https://first:6443", "first")


def test_explicit_options_override_the_kubeconfig(tmp_path):
    path = kubeconfig(tmp_path / "config", clusters=[cluster("c", **{"insecure-skip-tls-verify": True})],
                      users=[user("u", username="admin", password="pw")], contexts=[context("main", "c", "u")])
    settings = c.resolve(kubeconfig=path, host="other.example:443/", api_key="Bearer tok", validate_certs=True,
                         ca_cert="/etc/ca.pem")
    assert settings.server == "https://other.example:443"
    assert settings.token == "tok" and settings.username is None
    assert settings.insecure is False
    assert settings.ca_file == "/etc/ca.pem" and settings.ca_data is None


def test_host_and_api_key_alone_read_no_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "does-not-exist"))
    settings = c.resolve(host="https://api:6443", api_key="tok")
    assert (settings.server, settings.token) == ("https://api:6443", "tok")


def test_in_cluster_service_account(tmp_path, monkeypatch):
    (tmp_path / "token").write_text("sa-token\n")
    monkeypatch.setattr(c, "SERVICE_ACCOUNT_DIR", str(tmp_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    settings = c.resolve()
    assert settings.server == "https://[fd00::1]:443"
    assert settings.token == "sa-token"
    assert settings.ca_file == str(tmp_path / "ca.crt")


def test_exec_and_auth_provider_users_are_left_to_the_kubernetes_client(tmp_path):
    path = kubeconfig(tmp_path / "config", clusters=[cluster("c")],
                      users=[user("u", exec={"command": "get-token", "apiVersion": "client.authentication.k8s.io/v1"})],
                      contexts=[context("main", "c", "u")])
    assert c.KubeConfig([path]).settings() is None


@pytest.mark.parametrize(("case", "expected"), [
    ("missing file", "cannot read the kubeconfig"),
    ("unknown context", "context 'nope' is not in the kubeconfig"),
    ("no current context", "sets no current-context"),
    ("no server", "does not define with a server"),
    ("bad base64", "is not valid base64"),
    ("not a mapping", "is not a kubeconfig"),
    ("bad scheme", "must start with https:// or http://"),
])
def test_configuration_errors_are_clear(tmp_path, case, expected):
    path = str(tmp_path / "config")
    kwargs = {"kubeconfig": path}
    good = dict(clusters=[cluster("c")], users=[user("u", token="t")], contexts=[context("main", "c", "u")])
    if case == "missing file":
        kwargs["kubeconfig"] = str(tmp_path / "missing")
    elif case == "unknown context":
        kubeconfig(tmp_path / "config", **good)
        kwargs["context"] = "nope"
    elif case == "no current context":
        kubeconfig(tmp_path / "config", current=None, **good)
    elif case == "no server":
        kubeconfig(tmp_path / "config", clusters=[{"name": "c", "cluster": {}}], users=good["users"],
                   contexts=good["contexts"])
    elif case == "bad base64":
        kubeconfig(tmp_path / "config", clusters=[cluster("c", **{"certificate-authority-data": "***"})],
                   users=good["users"], contexts=good["contexts"])
    elif case == "not a mapping":
        (tmp_path / "config").write_text("- a\n- b\n")
    elif case == "bad scheme":
        kubeconfig(tmp_path / "config", clusters=[cluster("c", server="ftp://k8s:21")], users=good["users"],
                   contexts=good["contexts"])
    with pytest.raises(ConfigurationError) as err:
        c.resolve(**kwargs)
    assert err.value.message.startswith("Cannot load the Kubernetes connection settings: ")
    assert expected in err.value.message
    assert "s3cret" not in err.value.message


@pytest.mark.parametrize(("args", "path"), [
    (("apps/v1", "deployments", "prod", "api"), "/apis/apps/v1/namespaces/prod/deployments/api"),
    (("v1", "pods", "prod", "api-1", "log"), "/api/v1/namespaces/prod/pods/api-1/log"),
    (("v1", "nodes"), "/api/v1/nodes"),
    (("metrics.k8s.io/v1beta1", "pods", "prod"), "/apis/metrics.k8s.io/v1beta1/namespaces/prod/pods"),
    (("v1", "namespaces", None, "a/b"), "/api/v1/namespaces/a%2Fb"),
])
def test_resource_paths(args, path):
    assert resource_path(*args) == path
