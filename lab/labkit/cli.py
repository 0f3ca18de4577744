"""labctl: bring the lab up and down, report its health and print its connection values."""
import argparse
import importlib
import json
import shlex
import shutil
import sys

from labkit.commands import MODULES
from labkit.config import LabConfig
from labkit.errors import LabError
from labkit.faults import heal_all
from labkit.process import port_open
from labkit.services import all_services


def lab_env(config):
    values = {"LAB_STATE_DIR": str(config.state_dir)}
    for svc in all_services(config):
        values.update({key: str(value) for key, value in svc.env().items()})
    return values


def write_env_file(config):
    """Keep the connection values beside the state so inventory/lab can read them without a shell."""
    path = config.state_dir / "env.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(lab_env(config), indent=2, sort_keys=True))
    tmp.chmod(0o600)
    tmp.replace(path)


def cmd_up(config, _args):
    services = all_services(config)
    # Check every port first so a taken port fails the whole `up` before anything starts.
    for svc in services:
        if not svc.is_running():
            for port in svc.ports():
                if port_open(port):
                    raise LabError(
                        f"port {port} on 127.0.0.1 is already taken, so {svc.name} cannot start; nothing was "
                        f"started. Free the port or move the lab with LAB_{svc.name.upper()}_PORT or LAB_PORT_OFFSET"
                    )
    started = []
    try:
        for svc in services:
            if svc.is_running():
                print(f"{svc.name}: already running")
                continue
            svc.start()
            started.append(svc)
            print(f"{svc.name}: started")
    except BaseException:
        for svc in reversed(started):
            svc.stop()
        raise
    write_env_file(config)
    return 0


def cmd_down(config, _args):
    # Injected incidents first: their helper processes hold sessions on the services about to stop.
    for name, detail in heal_all(config):
        if detail != "nothing to heal":
            print(f"{name}: {detail}")
    for svc in reversed(all_services(config)):
        svc.stop()
        print(f"{svc.name}: stopped")
    return 0


def cmd_reset(config, args):
    cmd_down(config, args)
    shutil.rmtree(config.state_dir, ignore_errors=True)
    print(f"state wiped: {config.state_dir}")
    return 0


def cmd_status(config, _args):
    healthy = True
    for svc in all_services(config):
        ok, detail = svc.health()
        healthy &= ok
        print(f"{svc.name:<12} {'healthy' if ok else 'DOWN':<8} {detail}")
    return 0 if healthy else 1


def cmd_env(config, args):
    values = lab_env(config)
    if args.json:
        print(json.dumps(values, indent=2, sort_keys=True))
        return 0
    for key, value in values.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


CORE_COMMANDS = {
    "up": (cmd_up, "start every lab service (idempotent)"),
    "down": (cmd_down, "stop everything the lab started"),
    "reset": (cmd_reset, "down, then wipe the lab state folder"),
    "status": (cmd_status, "health of each service; exit 0 only when all are healthy"),
    "env": (cmd_env, "print export lines for every connection value: eval \"$(lab/labctl env)\""),
}


def build_parser(config):
    parser = argparse.ArgumentParser(prog="labctl", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (func, help_text) in CORE_COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text)
        cmd.set_defaults(func=func)
        if name == "env":
            cmd.add_argument("--json", action="store_true", help="one JSON object instead of export lines")
    for module_name in MODULES:
        importlib.import_module(module_name).register(sub, config)
    return parser, sub


def main(argv):
    config = LabConfig.from_env()
    parser, sub = build_parser(config)
    if not argv:
        parser.print_help()
        return 2
    if argv[0] not in sub.choices and not argv[0].startswith("-"):
        print(f"labctl: unknown command '{argv[0]}'; commands: {', '.join(sub.choices)}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        return args.func(config, args)
    except LabError as exc:
        print(f"labctl {argv[0]}: {exc}", file=sys.stderr)
        return 1
