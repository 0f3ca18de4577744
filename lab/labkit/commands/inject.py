"""labctl inject <scenario> / heal [scenario] / faults: create, remove and list the lab's incidents."""
from labkit.errors import LabError
from labkit.faults import SCENARIOS


def cmd_inject(config, args):
    scenario = SCENARIOS[args.scenario]
    print(f"{args.scenario}: {scenario.inject(config)}")
    return 0


def cmd_heal(config, args):
    names = [args.scenario] if args.scenario else list(SCENARIOS)
    failed = []
    for name in names:
        try:
            print(f"{name}: {SCENARIOS[name].heal(config)}")
        except LabError as exc:
            failed.append(name)
            print(f"{name}: heal failed: {exc}")
    if failed:
        raise LabError(f"could not heal {', '.join(failed)}")
    return 0


def cmd_faults(config, _args):
    for name, scenario in SCENARIOS.items():
        active, detail = scenario.status(config)
        print(f"{name:<16} {'ACTIVE' if active else 'healed':<8} {detail}")
    return 0


def register(sub, _config):
    described = "; ".join(f"{name}: {s.DESCRIPTION}" for name, s in SCENARIOS.items())
    inject = sub.add_parser("inject", help="create a real incident in the lab (idempotent)", description=described)
    inject.add_argument("scenario", choices=sorted(SCENARIOS))
    inject.set_defaults(func=cmd_inject)
    heal = sub.add_parser("heal", help="remove every injected incident (or one), whatever was already repaired")
    heal.add_argument("scenario", nargs="?", choices=sorted(SCENARIOS))
    heal.set_defaults(func=cmd_heal)
    faults = sub.add_parser("faults", help="which incidents are injected right now")
    faults.set_defaults(func=cmd_faults)
