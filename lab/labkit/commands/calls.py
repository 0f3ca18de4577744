"""labctl calls: print (or clear) the calls recorded by the Statuspage, Slack and PagerDuty stand-ins."""
import json
import urllib.error
import urllib.request

from labkit.errors import LabError

SERVICES = ("statuspage", "slack", "pagerduty")


def _admin(config, method, path):
    from labkit.services.saas import SaasService

    url = f"{SaasService(config).base_url}/_lab/v1{path}"
    req = urllib.request.Request(url, method=method)  # noqa: S310 - the lab's own loopback URL
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - the lab's own loopback URL
            return json.loads(resp.read())
    except urllib.error.URLError as exc:
        raise LabError(f"the SaaS stand-ins do not answer at {url} ({exc.reason}); is the lab up? (labctl up)") from exc


def cmd_calls(config, args):
    query = f"?service={args.service}" if args.service else ""
    if args.clear:
        _admin(config, "DELETE", f"/calls{query}")
        print(json.dumps({"cleared": args.service or "all"}))
        return 0
    print(json.dumps(_admin(config, "GET", f"/calls{query}"), indent=2))
    return 0


def register(sub, _config):
    cmd = sub.add_parser("calls", help="print the calls recorded by the SaaS stand-ins as JSON (--clear empties it)")
    cmd.add_argument("service", nargs="?", choices=SERVICES, help="only this stand-in's calls")
    cmd.add_argument("--clear", action="store_true", help="clear the recorded calls instead of printing them")
    cmd.set_defaults(func=cmd_calls)
