"""python -m apiservice --port N --kubeconfig FILE: serve the simulated Pynomaly API on 127.0.0.1."""
import argparse

from aiohttp import web

from apiservice.app import build_app


def main():
    parser = argparse.ArgumentParser(prog="apiservice")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig of the Kubernetes API simulator")
    parser.add_argument("--namespace", default="pynomaly-production")
    parser.add_argument("--deployment", default="pynomaly-api")
    args = parser.parse_args()
    app = build_app(args.kubeconfig, args.namespace, args.deployment)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


main()
