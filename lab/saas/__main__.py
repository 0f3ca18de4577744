"""python -m saas --port N --settings FILE: serve the stand-ins on 127.0.0.1."""
import argparse
import json

from aiohttp import web

from saas.app import build_app


def main():
    parser = argparse.ArgumentParser(prog="saas")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--settings", required=True, help="JSON file with the page id, keys and tokens")
    args = parser.parse_args()
    with open(args.settings) as fh:
        settings = json.load(fh)
    web.run_app(build_app(settings), host=args.host, port=args.port, access_log=None, print=None)


main()
