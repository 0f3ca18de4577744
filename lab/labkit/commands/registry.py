"""labctl registry add|remove|list: the lab image registry the Kubernetes simulator pulls from."""
from k8s_sim import registry
from labkit.errors import LabError


def _path(config):
    return config.service_dir("k8s") / "registry.json"


def cmd_registry(config, args):
    path = _path(config)
    try:
        if args.action == "add":
            repo, tag = registry.add(path, args.image, args.fault)
            print(f"added {repo}:{tag}" + (f" (fault: {args.fault})" if args.fault else ""))
        elif args.action == "remove":
            registry.remove(path, args.image)
            print(f"removed {args.image}")
        else:
            for image, fault in registry.listing(path):
                print(f"{image:<48} {fault}".rstrip())
    except (KeyError, ValueError) as exc:
        raise LabError(str(exc).strip("'\"")) from None
    return 0


def register(sub, _config):
    faults = ", ".join(f"{name} ({what})" for name, what in registry.FAULTS.items())
    cmd = sub.add_parser("registry", help="list, add or remove images the lab cluster can pull")
    cmd.add_argument("action", choices=["list", "add", "remove"])
    cmd.add_argument("image", nargs="?", help="name:tag, e.g. pynomaly-api:1.4.0 or nginx:1.27")
    cmd.add_argument("--fault", choices=sorted(registry.FAULTS), help=f"make this tag misbehave: {faults}")
    cmd.set_defaults(func=_checked)


def _checked(config, args):
    if args.action in ("add", "remove") and not args.image:
        raise LabError(f"registry {args.action} needs an image (name:tag)")
    return cmd_registry(config, args)
