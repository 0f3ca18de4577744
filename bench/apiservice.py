#!/usr/bin/env python3
"""Benchmark: the simulated API service's verdict (one cached cluster snapshot per 0.5 s) versus the raw
reads it stands for (the Deployment, its pods and its traffic profile from the Kubernetes simulator,
fetched on every request), in the same script against the running lab; then how long each application
incident takes to inject (until its symptom is visible) and to heal.

Prints the figures; asserts nothing. Needs the lab up (lab/labctl up) and heals what it injects.

    .venv/bin/python bench/apiservice.py [--requests 300] [--concurrency 4] [--no-incidents]
"""
import argparse
import asyncio
import json
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
LABCTL = REPO / "lab" / "labctl"
NS, DEPLOYMENT = "pynomaly-production", "pynomaly-api"


def lab_env():
    out = subprocess.run([str(LABCTL), "env", "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


async def timed(count, concurrency, request):
    latencies = []
    queue = asyncio.Queue()
    for _ in range(count):
        queue.put_nowait(None)

    async def worker():
        while not queue.empty():
            queue.get_nowait()
            started = time.perf_counter()
            await request()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


async def health_vs_raw(env, count, concurrency):
    ctx = ssl.create_default_context(cafile=env["LAB_K8S_CA"])
    headers = {"Authorization": f"Bearer {env['LAB_K8S_TOKEN']}"}
    base = env["LAB_K8S_URL"]
    async with aiohttp.ClientSession() as plain, aiohttp.ClientSession(headers=headers) as kube:

        async def health():
            async with plain.get(env["PYNOMALY_API_URL"] + "/health") as resp:
                await resp.read()

        async def verdict():
            async with plain.get(env["PYNOMALY_API_URL"] + "/_lab/v1/state") as resp:
                await resp.read()

        async def raw():
            async with kube.get(f"{base}/apis/apps/v1/namespaces/{NS}/deployments/{DEPLOYMENT}", ssl=ctx) as r:
                await r.read()
            async with kube.get(f"{base}/api/v1/namespaces/{NS}/pods", ssl=ctx,
                                params={"labelSelector": f"app.kubernetes.io/name={DEPLOYMENT}"}) as r:
                await r.read()
            async with kube.get(f"{base}/_lab/v1/namespaces/{NS}/profiles/{DEPLOYMENT}", ssl=ctx) as r:
                await r.read()

        await health()
        await raw()
        rows = [("verdict, cached snapshot", *await timed(count, concurrency, verdict)),
                ("raw reads per request", *await timed(count, concurrency, raw)),
                ("/health (+ profile latency)", *await timed(count, concurrency, health))]
    print(f"{count} requests, concurrency {concurrency}")
    print(f"{'what':<28}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}")
    for name, wall, lat in rows:
        lat.sort()
        print(f"{name:<28}{count / wall:>10.1f}{statistics.median(lat) * 1000:>10.1f}"
              f"{lat[int(len(lat) * 0.95) - 1] * 1000:>10.1f}")
    print(f"ratio cached verdict vs raw reads (throughput): {rows[1][1] / rows[0][1]:.1f}x")
    print("(/health also waits the traffic profile's latency, a 40 ms median by default: that is the service's"
          " simulated response time, not overhead)")


def incidents():
    print("\nincident           inject s   heal s")
    for scenario in ("api_down", "error_rate", "latency", "memory", "cpu", "security"):
        started = time.perf_counter()
        subprocess.run([str(LABCTL), "inject", scenario], capture_output=True, check=True)
        injected = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run([str(LABCTL), "heal", scenario], capture_output=True, check=True)
        print(f"{scenario:<18}{injected:>9.2f}{time.perf_counter() - started:>9.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--no-incidents", action="store_true")
    args = parser.parse_args()
    env = lab_env()
    asyncio.run(health_vs_raw(env, args.requests, args.concurrency))
    if not args.no_incidents:
        incidents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
