"""The Kubernetes API simulator (lab/k8s_sim) over HTTPS with a lab CA; a bearer token or a client certificate."""
import datetime
import ipaddress
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from base64 import b64encode

from labkit.config import HOST, REPO_ROOT
from labkit.process import ensure_port_free, port_open, start_and_wait, stop_pid
from labkit.services.base import Service

CONTEXT = "pynomaly-lab"


def _write_private(path, data: bytes):
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)


def generate_certs(directory):
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate for the lab admin,
    created once per state folder."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_crt, srv_crt, srv_key = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    cli_crt, cli_key = directory / "client.crt", directory / "client.key"
    if all(p.exists() for p in (ca_crt, srv_crt, srv_key, cli_crt, cli_key)):
        return ca_crt, srv_crt, srv_key
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pynomaly-lab-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default.svc"),
                x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    # A client certificate for the lab admin (CN = user, O = group, as kube-apiserver reads them).
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                                       x509.NameAttribute(NameOID.COMMON_NAME, "lab-admin")]))
              .issuer_name(ca_name).public_key(client_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=825))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    _write_private(cli_key, client_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))
    cli_crt.write_bytes(client.public_bytes(pem))
    _write_private(srv_key, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    srv_crt.write_bytes(cert.public_bytes(pem))
    ca_crt.write_bytes(ca.public_bytes(pem))
    return ca_crt, srv_crt, srv_key


class K8sService(Service):
    name = "k8s"

    @property
    def token(self):
        return self.config.secret("k8s_token")

    @property
    def url(self):
        return f"https://{HOST}:{self.config.port(self.name)}"

    @property
    def kubeconfig(self):
        return self.dir / "kubeconfig"

    @property
    def registry_file(self):
        return self.dir / "registry.json"

    def write_kubeconfig(self, ca_crt):
        import yaml

        body = {
            "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": CONTEXT,
            "clusters": [{"name": CONTEXT, "cluster": {
                "server": self.url, "certificate-authority-data": b64encode(ca_crt.read_bytes()).decode()}}],
            "users": [{"name": "lab-admin", "user": {"token": self.token}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "lab-admin",
                                                       "namespace": "pynomaly-production"}}],
        }
        _write_private(self.kubeconfig, yaml.safe_dump(body, sort_keys=False).encode())

    def start(self):
        if self.is_running():
            return
        port = self.config.port(self.name)
        ensure_port_free(port, self.name)
        ca_crt, srv_crt, srv_key = generate_certs(self.dir)
        token_file = self.dir / "token"
        _write_private(token_file, self.token.encode())
        self.write_kubeconfig(ca_crt)
        from k8s_sim.registry import Registry

        Registry.ensure(self.registry_file)
        argv = [sys.executable, "-m", "k8s_sim", "--port", str(port), "--host", HOST, "--cert", str(srv_crt),
                "--key", str(srv_key), "--client-ca", str(ca_crt), "--token-file", str(token_file),
                "--registry", str(self.registry_file)]
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "lab"))
        start_and_wait(argv, self.pidfile, self.logfile, lambda: self._get("/readyz") == "ok",
                       "the Kubernetes simulator", timeout=30, env=env)

    def _get(self, path, token=False):
        ctx = ssl.create_default_context(cafile=str(self.dir / "ca.crt"))
        req = urllib.request.Request(self.url + path)  # noqa: S310 - https on loopback
        if token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=2) as resp:  # noqa: S310 - our loopback URL
                return resp.read().decode()
        except (urllib.error.URLError, OSError, ssl.SSLError):
            return None

    def stop(self):
        stop_pid(self.pidfile)

    def health(self):
        port = self.config.port(self.name)
        if not port_open(port):
            return False, f"nothing listens on {HOST}:{port}"
        version = self._get("/version", token=True)
        if not version:
            return False, f"{self.url} does not answer /version with the lab token"
        git = json.loads(version).get("gitVersion", "?")
        nodes = self._get("/api/v1/nodes", token=True)
        count = len(json.loads(nodes).get("items", [])) if nodes else 0
        return True, f"Kubernetes API simulator {git} on {self.url}, {count} nodes"

    def env(self):
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "K8S_AUTH_KUBECONFIG": str(self.kubeconfig),
            "K8S_AUTH_CONTEXT": CONTEXT,
            "LAB_K8S_URL": self.url,
            "LAB_K8S_TOKEN": self.token,
            "LAB_K8S_CA": str(self.dir / "ca.crt"),
        }
