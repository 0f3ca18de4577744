"""What the cluster says about the Deployment behind the service, read from the Kubernetes API simulator.

One snapshot (the Deployment, its pods, its traffic profile) is fetched at most every `ttl` seconds,
by one request at a time however many requests ask for it, so /health stays fast under a probe.
"""
import asyncio
import base64
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

import aiohttp
import yaml


class ClusterUnreachable(Exception):
    pass


@dataclass
class Snapshot:
    deployment: dict = None
    pods: list = field(default_factory=list)
    profile: dict = None  # the custom traffic profile, None when the simulator's default applies
    error: str = None  # why the cluster could not be read
    fetched_at: float = 0.0


def parse_timestamp(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def load_kubeconfig(path):
    """(server, token, ssl context or False) from a kubeconfig's current context."""
    with open(path) as fh:
        config = yaml.safe_load(fh)
    contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
    context = contexts.get(config.get("current-context")) or next(iter(contexts.values()), {})
    clusters = {c["name"]: c["cluster"] for c in config.get("clusters") or []}
    users = {u["name"]: u.get("user") or {} for u in config.get("users") or []}
    cluster = clusters.get(context.get("cluster")) or next(iter(clusters.values()))
    user = users.get(context.get("user")) or next(iter(users.values()), {})
    token = user.get("token")
    if not token and user.get("tokenFile"):
        with open(user["tokenFile"]) as fh:
            token = fh.read().strip()
    server = cluster["server"].rstrip("/")
    if not server.startswith("https"):
        return server, token, False
    if cluster.get("insecure-skip-tls-verify"):
        return server, token, False
    ctx = ssl.create_default_context()
    if cluster.get("certificate-authority-data"):
        pem = base64.b64decode(cluster["certificate-authority-data"]).decode()
        ctx.load_verify_locations(cadata=pem)
    elif cluster.get("certificate-authority"):
        ctx.load_verify_locations(cafile=cluster["certificate-authority"])
    return server, token, ctx


class ClusterView:
    def __init__(self, kubeconfig, namespace, deployment, ttl=0.5):
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.deployment = deployment
        self.ttl = ttl
        self._snapshot = Snapshot(error="not read yet")
        self._lock = asyncio.Lock()
        self._session = None
        self._server = self._token = self._ssl = None
        self.listeners = []  # called with each new snapshot

    async def close(self):
        await self._disconnect()

    async def _disconnect(self):
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _connect(self):
        if self._session is None:
            self._server, self._token, self._ssl = load_kubeconfig(self.kubeconfig)
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
            self._session = aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=3))

    async def _get(self, path, params=None, missing_ok=False):
        async with self._session.get(self._server + path, params=params, ssl=self._ssl) as resp:
            if resp.status == 404 and missing_ok:
                return None
            if resp.status >= 400:
                raise ClusterUnreachable(f"GET {path} answered {resp.status}: {(await resp.text())[:200]}")
            return await resp.json()

    async def _fetch(self):
        ns, name = quote(self.namespace), quote(self.deployment)
        deployment = await self._get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}", missing_ok=True)
        pods, profile = [], None
        if deployment is not None:
            labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
            pods = (await self._get(f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": selector}))["items"]
        # The simulator answers the effective profile, with "custom": false while its default applies.
        body = await self._get(f"/_lab/v1/namespaces/{ns}/profiles/{name}", missing_ok=True)
        if isinstance(body, dict) and body.get("custom"):
            profile = body
        return Snapshot(deployment=deployment, pods=pods, profile=profile, fetched_at=time.monotonic())

    async def snapshot(self):
        if time.monotonic() - self._snapshot.fetched_at < self.ttl:
            return self._snapshot
        async with self._lock:
            if time.monotonic() - self._snapshot.fetched_at < self.ttl:
                return self._snapshot
            previous = self._snapshot
            try:
                self._connect()
                snap = await self._fetch()
            except (TimeoutError, OSError, aiohttp.ClientError, ClusterUnreachable, ValueError, KeyError) as exc:
                snap = Snapshot(error=f"cannot read the cluster: {exc or type(exc).__name__}",
                                fetched_at=time.monotonic())
                await self._disconnect()  # the simulator may have restarted with a new certificate or token
            self._snapshot = snap
            for listener in self.listeners:
                listener(previous, snap)
            return snap

