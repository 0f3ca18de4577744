"""The simulated Pynomaly API: /health, /metrics and a few /api/v1 endpoints that answer as the pods would.

Every answer follows the cluster's truth, read from the Kubernetes API simulator: /health fails
while the Deployment has no available pods or its current image is broken (a bad release), and
requests get the latency and error rate of the Deployment's traffic profile (the lab's injected
faults). /metrics counts the traffic the ready pods serve at the profile's rate.
"""
import asyncio
import time

from aiohttp import web

from apiservice import health, traffic
from apiservice.cluster import ClusterView, parse_timestamp

TICK_SECONDS = 2.0  # how often the traffic counters catch up with the cluster when nobody scrapes
API_PATHS = ("/api/v1/detect", "/api/v1/models", "/api/v1/datasets")


class ServiceState:
    def __init__(self, cluster: ClusterView, service_name):
        self.cluster = cluster
        self.name = service_name
        self.meter = traffic.TrafficMeter()
        self.health_statuses = traffic.StatusPicker()
        self.api_statuses = traffic.StatusPicker()
        self.latencies = traffic.LatencyPicker()
        cluster.listeners.append(self._count_traffic)

    def _count_traffic(self, previous, current):
        """Credit the interval between two snapshots with what the earlier one said was serving."""
        if previous.error or previous.deployment is None or not previous.fetched_at:
            return
        ready = sum(1 for pod in previous.pods if health.pod_ready(pod))
        seconds = current.fetched_at - previous.fetched_at
        self.meter.advance(seconds, ready, traffic.effective_profile(previous.profile))

    async def verdict(self):
        snap = await self.cluster.snapshot()
        if snap.error:
            return snap, health.Verdict(False, snap.error)
        return snap, health.judge(snap.deployment, snap.pods, time.time(), parse_timestamp)

    async def serve(self, with_auth):
        """Answer a request as the pods would under the current profile; returns (status, verdict)."""
        snap, verdict = await self.verdict()
        if not verdict.healthy:
            return 503, verdict
        profile = traffic.effective_profile(snap.profile)
        picker = self.api_statuses if with_auth else self.health_statuses
        status = picker.next(traffic.status_shares(profile, with_auth=with_auth))
        seconds = self.latencies.next(traffic.request_latency_median(profile, status))
        await asyncio.sleep(seconds)
        return status, verdict


async def handle_health(request):
    state = request.app["state"]
    started = time.monotonic()
    status, verdict = await state.serve(with_auth=False)
    body = verdict.body(state.name)
    if status >= 500 and verdict.healthy:
        body.update(status="unhealthy", reason=f"request failed with {status}")
    state.meter.observe(status, time.monotonic() - started)
    return web.json_response(body, status=status)


async def handle_api(request):
    state = request.app["state"]
    started = time.monotonic()
    status, verdict = await state.serve(with_auth=True)
    if status == 201 and request.method != "POST":
        status = 200
    if status in (401, 403):
        body = {"detail": "Invalid authentication credentials" if status == 401 else "Not permitted"}
    elif status >= 500:
        body = {"detail": "Service unavailable" if not verdict.healthy else "Internal error", "status": status}
    elif request.path == "/api/v1/detect":
        body = {"anomalies": [], "scores": [], "model": "isolation-forest"}
    else:
        body = {"items": []}
    state.meter.observe(status, time.monotonic() - started)
    return web.json_response(body, status=status)


async def handle_metrics(request):
    state = request.app["state"]
    snap, verdict = await state.verdict()
    ready = sum(1 for pod in snap.pods if health.pod_ready(pod))
    text = state.meter.render() + (
        "# HELP pynomaly_api_ready_pods Pods of the Deployment that are ready to serve.\n"
        "# TYPE pynomaly_api_ready_pods gauge\n"
        f"pynomaly_api_ready_pods {ready}\n"
        "# HELP pynomaly_api_healthy 1 while /health reports the service healthy (not counting injected errors).\n"
        "# TYPE pynomaly_api_healthy gauge\n"
        f"pynomaly_api_healthy {1 if verdict.healthy else 0}\n"
    )
    return web.Response(text=text, content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Format": "prometheus-text-0.0.4"})


async def handle_lab_state(request):
    """Lab-only: the verdict and profile without latency or injected errors (labctl status uses it)."""
    state = request.app["state"]
    snap, verdict = await state.verdict()
    return web.json_response({**verdict.body(state.name), "profile": traffic.effective_profile(snap.profile),
                              "custom_profile": snap.profile is not None})


async def handle_index(_request):
    return web.json_response({"service": "pynomaly-api (lab)", "endpoints": ["/health", "/metrics", *API_PATHS]})


async def _ticker(app):
    state = app["state"]
    while True:
        await state.cluster.snapshot()
        await asyncio.sleep(TICK_SECONDS)


async def _start_background(app):
    app["ticker"] = asyncio.create_task(_ticker(app))


async def _stop_background(app):
    app["ticker"].cancel()
    await app["state"].cluster.close()


def build_app(kubeconfig, namespace, deployment, ttl=0.5):
    app = web.Application()
    app["state"] = ServiceState(ClusterView(kubeconfig, namespace, deployment, ttl=ttl), deployment)
    app.router.add_get("/", handle_index)
    app.router.add_get("/health", handle_health)
    app.router.add_get("/metrics", handle_metrics)
    app.router.add_get("/_lab/v1/state", handle_lab_state)
    for path in API_PATHS:
        app.router.add_get(path, handle_api)
    app.router.add_post("/api/v1/detect", handle_api)
    app.on_startup.append(_start_background)
    app.on_cleanup.append(_stop_background)
    return app
