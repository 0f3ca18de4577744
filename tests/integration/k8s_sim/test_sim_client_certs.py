"""x509 client-certificate authentication, as kube-apiserver does it with --client-ca-file: a verified
client certificate authenticates its CN; a certificate from another CA gets no HTTP answer at all."""
import base64
import datetime
import shutil
import subprocess

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client, config
from kubernetes.client.rest import ApiException

KUBECTL = shutil.which("kubectl")


def cert_kubeconfig(service, path, cert_pem, key_pem, token=None):
    user = {"client-certificate-data": base64.b64encode(cert_pem).decode(),
            "client-key-data": base64.b64encode(key_pem).decode()}
    if token:
        user["token"] = token
    body = {"apiVersion": "v1", "kind": "Config", "current-context": "cert",
            "clusters": [{"name": "lab", "cluster": {"server": service.url,
                                                     "certificate-authority": str(service.dir / "ca.crt")}}],
            "users": [{"name": "cert-user", "user": user}],
            "contexts": [{"name": "cert", "context": {"cluster": "lab", "user": "cert-user"}}]}
    path.write_text(yaml.safe_dump(body))
    return path


def self_signed_client():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intruder")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return cert.public_bytes(pem), key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption())


@pytest.fixture
def lab_cert(k8s_service):
    return (k8s_service.dir / "client.crt").read_bytes(), (k8s_service.dir / "client.key").read_bytes()


def typed_core(kubeconfig):
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    return client.CoreV1Api(client.ApiClient(cfg))


def test_python_client_authenticates_with_the_lab_client_certificate(k8s_service, lab_cert, tmp_path):
    core = typed_core(cert_kubeconfig(k8s_service, tmp_path / "kc", *lab_cert))
    names = [ns.metadata.name for ns in core.list_namespace().items]
    assert "pynomaly-production" in names


def test_a_verified_certificate_wins_over_a_wrong_token_like_the_union_authenticator(k8s_service, lab_cert,
                                                                                      tmp_path):
    core = typed_core(cert_kubeconfig(k8s_service, tmp_path / "kc", *lab_cert, token="wrong"))
    assert core.read_namespace("pynomaly-production").metadata.name == "pynomaly-production"


def test_a_certificate_from_another_ca_fails_the_handshake(k8s_service, tmp_path):
    core = typed_core(cert_kubeconfig(k8s_service, tmp_path / "kc", *self_signed_client()))
    import urllib3

    with pytest.raises((urllib3.exceptions.HTTPError, OSError)) as err:  # MaxRetryError or SSLError
        core.list_namespace(_request_timeout=5)
    # No HTTP answer at all: with TLS 1.3 the client learns of the rejected certificate as a closed connection.
    assert not isinstance(err.value, ApiException)
    assert any(word in repr(err.value) for word in ("SSL", "certificate", "Connection aborted"))


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")
def test_kubectl_with_the_lab_client_certificate(k8s_service, lab_cert, tmp_path):
    kc = cert_kubeconfig(k8s_service, tmp_path / "kc", *lab_cert)
    res = subprocess.run([KUBECTL, "--kubeconfig", str(kc), "get", "namespace", "pynomaly-production", "-o", "name"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "namespace/pynomaly-production"
    bad = cert_kubeconfig(k8s_service, tmp_path / "bad", *self_signed_client())
    res = subprocess.run([KUBECTL, "--kubeconfig", str(bad), "get", "namespaces"], capture_output=True, text=True,
                         timeout=60, check=False)
    # The connection is closed during or right after the handshake; kubectl words it as EOF either way.
    assert res.returncode != 0 and res.stdout == ""
    assert "EOF" in res.stderr or "Unable to connect" in res.stderr, res.stderr
