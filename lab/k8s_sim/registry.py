"""The lab image registry: which image references can be pulled, and which tags carry a fault.

The registry is a JSON file in the lab state folder:

    {"repositories": {"pynomaly-api": {"1.2.0": {}, "1.3.0-crashloop": {"fault": "crashloop"}}}}

An image pulls when its repository is listed and its tag is one of the repository's tags
(a digest reference pulls when the repository is listed). Everything else fails to pull,
exactly like a mistyped tag on a real cluster. The simulator re-reads the file when it changes.
"""
import json
import os
from pathlib import Path

FAULTS = {
    "crashloop": "the container exits with status 1 shortly after starting: CrashLoopBackOff, rising restartCount",
    "oomkilled": "the container is killed for exceeding its memory limit (exit 137, OOMKilled), then backs off",
    "pullerror": "the registry refuses the pull: ErrImagePull, then ImagePullBackOff",
    "unready": "the container runs but its readiness probe fails: Running, READY 0/1",
}

_PYNOMALY = ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]
SEED = {
    "pynomaly-api": {**{t: {} for t in _PYNOMALY},
                     "1.3.0-crashloop": {"fault": "crashloop"}, "1.3.0-oom": {"fault": "oomkilled"},
                     "1.3.0-unready": {"fault": "unready"}, "1.3.0-pullerror": {"fault": "pullerror"}},
    "pynomaly-worker": {**{t: {} for t in _PYNOMALY},
                        "1.3.0-crashloop": {"fault": "crashloop"}, "1.3.0-oom": {"fault": "oomkilled"}},
    "nginx": {t: {} for t in ["1.25", "1.25.5", "1.26", "1.26.3", "1.27", "1.27.3", "1.27.4", "1.27-alpine",
                              "alpine", "stable", "mainline", "latest"]},
    "busybox": {t: {} for t in ["1.36", "1.36.1", "1.37", "1.37.0", "stable", "latest"]},
    "alpine": {t: {} for t in ["3.18", "3.19", "3.20", "3.21", "3.21.3", "latest"]},
    "python": {t: {} for t in ["3.11", "3.11-slim", "3.12", "3.12-slim", "3.13", "3.13-slim", "3-alpine",
                               "latest"]},
    "redis": {t: {} for t in ["7", "7.2", "7.2.7", "7.4", "7.4.2", "7-alpine", "7.2-alpine", "latest"]},
    "postgres": {t: {} for t in ["15", "15.10", "16", "16.6", "16-alpine", "17", "17.2", "17-alpine", "latest"]},
    "httpd": {t: {} for t in ["2.4", "2.4.62", "alpine", "latest"]},
    "memcached": {t: {} for t in ["1.6", "1.6.34", "alpine", "latest"]},
    "ubuntu": {t: {} for t in ["22.04", "24.04", "jammy", "noble", "latest"]},
    "debian": {t: {} for t in ["bookworm", "bookworm-slim", "12", "12-slim", "latest"]},
    "curlimages/curl": {t: {} for t in ["8.11.1", "8.12.1", "latest"]},
    "registry.k8s.io/pause": {t: {} for t in ["3.9", "3.10"]},
    "prom/prometheus": {t: {} for t in ["v2.55.1", "v3.1.0", "latest"]},
}


def normalize(image):
    """(repository, tag, digest) of an image reference, Docker Hub prefixes removed."""
    ref = image.strip()
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    last = ref.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            break
    if ref.startswith("library/"):
        ref = ref[len("library/"):]
    if tag is None and digest is None:
        tag = "latest"
    return ref, tag, digest


class Registry:
    def __init__(self, path):
        self.path = Path(path) if path else None
        self._mtime = None
        self.repositories = SEED

    @staticmethod
    def ensure(path):
        path = Path(path)
        if not path.exists():
            save(path, SEED)

    def _refresh(self):
        if not self.path:
            return
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            self.repositories, self._mtime = SEED, None
            return
        if mtime != self._mtime:
            self.repositories = load(self.path)
            self._mtime = mtime

    def resolve(self, image):
        """Return (pullable, fault or None, message on failure)."""
        self._refresh()
        repo, tag, digest = normalize(image)
        tags = self.repositories.get(repo)
        if tags is None:
            return False, None, (f'failed to pull and unpack image "{_full(repo, tag, digest)}": failed to resolve '
                                 f'reference "{_full(repo, tag, digest)}": pull access denied, repository does not '
                                 f"exist or may require authorization: server message: insufficient_scope: "
                                 f"authorization failed")
        if digest and tag is None:
            return True, None, None
        entry = tags.get(tag)
        if entry is None:
            return False, None, (f'failed to pull and unpack image "{_full(repo, tag, digest)}": failed to resolve '
                                 f'reference "{_full(repo, tag, digest)}": {_full(repo, tag, digest)}: not found')
        fault = (entry or {}).get("fault")
        if fault == "pullerror":
            return False, fault, (f'failed to pull and unpack image "{_full(repo, tag, digest)}": failed to copy: '
                                  f"httpReadSeeker: failed open: unexpected status code "
                                  f"https://{_host(repo)}/v2/{repo}/manifests/{tag}: 500 Internal Server Error")
        return True, fault, None


def _host(repo):
    first = repo.split("/", 1)[0]
    return first if ("." in first or ":" in first) and "/" in repo else "registry-1.docker.io"


def _full(repo, tag, digest):
    first = repo.split("/", 1)[0]
    if ("." in first or ":" in first) and "/" in repo:
        base = repo
    elif "/" in repo:
        base = f"docker.io/{repo}"
    else:
        base = f"docker.io/library/{repo}"
    if tag:
        base += f":{tag}"
    if digest:
        base += f"@{digest}"
    return base


def full_reference(image):
    return _full(*normalize(image))


def load(path):
    data = json.loads(Path(path).read_text())
    return {repo: dict(tags) for repo, tags in (data.get("repositories") or {}).items()}


def save(path, repositories):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"repositories": {repo: repositories[repo] for repo in sorted(repositories)}}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def add(path, image, fault=None):
    if fault and fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; choose one of: {', '.join(sorted(FAULTS))}")
    Registry.ensure(path)
    repos = load(path)
    repo, tag, digest = normalize(image)
    if tag is None:
        raise ValueError("give the image with a tag (name:tag); digests need no registry entry")
    repos.setdefault(repo, {})[tag] = {"fault": fault} if fault else {}
    save(path, repos)
    return repo, tag


def remove(path, image):
    Registry.ensure(path)
    repos = load(path)
    repo, tag, _ = normalize(image)
    explicit_tag = ":" in image.rsplit("/", 1)[-1]
    if repo not in repos or (explicit_tag and tag not in repos[repo]):
        raise KeyError(f"{image} is not in the lab registry")
    if explicit_tag:
        del repos[repo][tag]
        if not repos[repo]:
            del repos[repo]
    else:
        del repos[repo]
    save(path, repos)


def listing(path):
    Registry.ensure(path)
    rows = []
    for repo, tags in sorted(load(path).items()):
        for tag, entry in sorted(tags.items()):
            rows.append((f"{repo}:{tag}", (entry or {}).get("fault") or ""))
    return rows
