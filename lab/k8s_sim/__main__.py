"""Run the simulator: python -m k8s_sim --port N --cert C --key K --token-file F [--registry R] [--no-seed]."""
import argparse
import asyncio
import logging
import os
import ssl
import sys
from pathlib import Path

from aiohttp import web

from k8s_sim.cluster import Cluster, Knobs
from k8s_sim.seed import seed
from k8s_sim.server import ApiServer


def parse_args(argv):
    p = argparse.ArgumentParser(prog="k8s_sim", description="Kubernetes API simulator for the lab")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", help="server certificate (PEM); plain HTTP without it")
    p.add_argument("--key", help="server key (PEM)")
    p.add_argument("--token-file", required=True, help="file holding the bearer token clients must send")
    p.add_argument("--client-ca", help="CA (PEM) whose client certificates authenticate, as kube-apiserver's "
                                       "--client-ca-file: the certificate's CN is the user")
    p.add_argument("--registry", help="lab image registry JSON file (seeded when missing)")
    p.add_argument("--no-seed", action="store_true", help="start empty (no nodes, namespaces or workloads)")
    for knob, value in Knobs().as_dict().items():
        env = f"LAB_K8S_{knob.upper()}"
        p.add_argument(f"--{knob.replace('_', '-')}", type=type(value), default=type(value)(os.environ.get(env, value)),
                       help=f"(env {env}, default {value})")
    return p.parse_args(argv)


async def serve(args):
    knobs = Knobs()
    knobs.update({k: getattr(args, k) for k in knobs.as_dict()})
    if args.registry:
        from k8s_sim.registry import Registry

        Registry.ensure(args.registry)
    cluster = Cluster(registry_path=args.registry, knobs=knobs)
    if not args.no_seed:
        seed(cluster)
    token = Path(args.token_file).read_text().strip()
    server = ApiServer(cluster, token)
    runner = web.AppRunner(server.app(), access_log=None, handle_signals=True)
    await runner.setup()
    ssl_ctx = None
    if args.cert:
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            # Like kube-apiserver: a client certificate is optional, but one that is sent must verify.
            ssl_ctx.verify_mode = ssl.CERT_OPTIONAL
            ssl_ctx.load_verify_locations(args.client_ca)
    site = web.TCPSite(runner, args.host, args.port, ssl_context=ssl_ctx, shutdown_timeout=1)
    await site.start()
    logging.getLogger("k8s_sim").info("serving on %s:%s", args.host, args.port)
    controllers = asyncio.create_task(cluster.run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    controllers.cancel()
    await runner.cleanup()


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
