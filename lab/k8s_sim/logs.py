"""Container logs, generated on read from the pod's history and its workload's traffic profile.

Every second of a container's life maps to a fixed set of lines (a RNG seeded by pod uid,
container, restart number and the second), so a log read twice is the same text, `sinceSeconds`
and `tailLines` only cut it, and the status distribution follows the profile that was active at
that second. Access lines look like

    2026-11-27T05:40:22.123Z INFO GET /api/v1/detect HTTP/1.1 200 0.042s 10.0.3.7

(`awk '{print $6}'` is the status; `grep -E "HTTP/[0-9.]+ [45][0-9][0-9]"` finds errors).
"""
import math
import random
from datetime import UTC, datetime

from k8s_sim import errors
from k8s_sim.cluster import workload_of
from k8s_sim.kubelet import serves_http
from k8s_sim.registry import normalize
from k8s_sim.util import rfc3339_nano, stable_int, truthy

PATHS = [("GET", "/api/v1/detect", 35), ("POST", "/api/v1/detect", 20), ("GET", "/api/v1/models", 15),
         ("GET", "/api/v1/datasets", 10), ("GET", "/health", 15), ("GET", "/metrics", 5)]
DEFAULT_ERROR_MIX = {"500": 5, "502": 2, "503": 2, "504": 1}
REASONS = {
    500: ("Internal Server Error", "DatabaseError: could not obtain connection from pool (timeout=30s)"),
    502: ("Bad Gateway", "upstream model-server closed the connection"),
    503: ("Service Unavailable", "circuit breaker open for dependency 'postgres'"),
    504: ("Gateway Timeout", "upstream request timed out after 30.0s"),
}
USERS = ["admin", "root", "alice", "bob", "svc-deploy", "test", "guest", "operator"]


def _ts(t):
    dt = datetime.fromtimestamp(t, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _pick(rng, weighted):
    total = sum(w for _, w in weighted)
    r = rng.random() * total
    for item, w in weighted:
        r -= w
        if r <= 0:
            return item
    return weighted[-1][0]


class LogSource:
    """Everything needed to render one container instance's log."""

    def __init__(self, cluster, pod, container_spec, instance, t, max_lps, retention):
        self.cluster = cluster
        self.pod = pod
        self.spec = container_spec
        self.inst = instance
        self.end = instance.end if instance.end is not None else t
        self.lo = max(instance.start, t - retention)
        self.max_lps = max_lps
        self.ns = pod["metadata"]["namespace"]
        self.workload = workload_of(cluster.store, pod)[1]
        self.http = serves_http(container_spec)
        repo, tag, _ = normalize(container_spec["image"])
        self.app = repo.rsplit("/", 1)[-1]
        self.version = tag or "latest"
        self.fault = None
        self.seed = f"{pod['metadata']['uid']}/{container_spec['name']}/{instance.number}"

    # Lines as (time, text) for the second starting at integer `sec`.
    def second(self, sec):
        lines = []
        start, end = self.inst.start, self.end
        if sec == int(start):
            lines += self._startup(start)
        if self.inst.reason in ("Error", "OOMKilled") and sec == int(end):
            lines += self._death(end)
        if sec + 1 <= start or sec > end:
            return [x for x in lines if self.lo <= x[0] <= end]
        rng = random.Random(stable_int(self.seed, sec))
        if self.fault == "unready":
            if sec % 2 == 0:
                lines.append((sec + 0.2, "WARNING health: readiness check failed: dependency check timed out "
                                         "(database) after 1.0s"))
                lines.append((sec + 0.2, "INFO GET /health HTTP/1.1 503 1.002s 10.244.0.1"))
        elif self.inst.reason in ("Error", "OOMKilled"):
            pass  # the process never got to serve before it died
        elif self.http:
            profile = self.cluster.profiles.effective(self.ns, self.workload, True, sec)
            lines += self._access(rng, sec, profile)
        elif sec % 10 == 0:
            if "worker" in self.app:
                lines.append((sec + 0.5, f"INFO worker: processed batch of {rng.randint(5, 60)} detection jobs "
                                         f"in {rng.uniform(0.2, 3.5):.2f}s"))
            else:
                lines.append((sec + 0.5, f"INFO {self.app}: heartbeat ok"))
        return [x for x in lines if self.lo <= x[0] <= end]

    def _startup(self, t):
        lines = [(t, f"INFO Starting {self.app} {self.version} (pid 1)")]
        if self.http:
            port = next((p.get("containerPort") for p in self.spec.get("ports") or []), 8000)
            lines += [(t + 0.05, "INFO Loaded configuration from environment"),
                      (t + 0.1, f"INFO Listening on http://0.0.0.0:{port}")]
        return lines

    def _death(self, t):
        if self.inst.reason == "OOMKilled":
            return [(t - 0.3, "WARNING memory: resident set at 97% of container limit, model cache not evictable"),
                    (t - 0.1, "ERROR memory: allocation of 268435456 bytes for batch buffer failed")]
        return [(t - 0.2, "ERROR Failed to initialise application: KeyError: 'PYNOMALY_MODEL_PATH' is not set"),
                (t - 0.1, "CRITICAL Application startup failed, exiting with status 1")]

    def _access(self, rng, sec, profile):
        rate = min(profile["rps"], self.max_lps)
        n = int(rate) + (1 if rng.random() < rate - int(rate) else 0)
        offsets = sorted(rng.random() for _ in range(n))
        mix = profile.get("status_mix") or DEFAULT_ERROR_MIX
        mix_items = [(int(k), w) for k, w in mix.items()]
        out = []
        for off in offsets:
            t = sec + off
            ip = f"10.0.{rng.randint(0, 9)}.{rng.randint(2, 254)}"
            latency = profile["latency_ms"] / 1000.0 * math.exp(rng.gauss(0, 0.35))
            if rng.random() < profile["auth_failure_rate"]:
                user = rng.choice(USERS)
                status = 401 if rng.random() < 0.8 else 403
                out.append((t, f"WARNING auth: failed login for user={user} from {ip}"))
                out.append((t, f"INFO POST /api/v1/auth/login HTTP/1.1 {status} {latency:.3f}s {ip}"))
                continue
            method, path = _pick(rng, [((m, p), w) for m, p, w in PATHS])
            if rng.random() < profile["error_rate"]:
                status = _pick(rng, mix_items)
                latency *= 1.5
                if status >= 500:
                    phrase, cause = REASONS.get(status, ("Server Error", "unexpected error"))
                    level = "CRITICAL" if rng.random() < 0.1 else "ERROR"
                    out.append((t, f"{level} app: {method} {path} failed with {status} {phrase}: {cause}"))
            else:
                status = 201 if method == "POST" and rng.random() < 0.3 else 200
            out.append((t, f"INFO {method} {path} HTTP/1.1 {status} {latency:.3f}s {ip}"))
        return out

    def lines(self, since=None, tail=None):
        lo = self.lo if since is None else max(self.lo, since)
        first, last = math.floor(lo), math.floor(self.end)
        if tail is not None:
            chunks, count = [], 0
            for sec in range(last, first - 1, -1):
                chunk = [x for x in self.second(sec) if x[0] >= lo]
                chunks.append(chunk)
                count += len(chunk)
                if count >= tail:
                    break
            out = [x for chunk in reversed(chunks) for x in chunk]
            return out[-tail:] if tail else []
        return [x for sec in range(first, last + 1) for x in self.second(sec) if x[0] >= lo]


def read(cluster, pod, params, t):
    """The body of GET pods/{name}/log for the given query parameters."""
    name = pod["metadata"]["name"]
    containers = pod["spec"]["containers"]
    wanted = params.get("container")
    if not wanted:
        if len(containers) > 1:
            names = " ".join(c["name"] for c in containers)
            raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: [{names}]")
        wanted = containers[0]["name"]
    spec = next((c for c in containers if c["name"] == wanted), None)
    if spec is None:
        raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
    sim = cluster.kubelet.containers(pod).get(wanted)
    previous = truthy(params.get("previous"))
    inst = _instance_for(pod, wanted, sim, previous)
    source = LogSource(cluster, pod, spec, inst, t, cluster.knobs.log_max_lines_per_second,
                       cluster.knobs.log_retention_seconds)
    source.fault = sim.fault
    since = None
    if params.get("sinceSeconds"):
        try:
            since = t - int(params["sinceSeconds"])
        except ValueError:
            raise errors.bad_request("sinceSeconds must be an integer") from None
    elif params.get("sinceTime"):
        from k8s_sim.util import parse_time

        since = parse_time(params["sinceTime"])
    tail = None
    if params.get("tailLines") not in (None, ""):
        tail = max(int(params["tailLines"]), 0)
    lines = source.lines(since, tail)
    timestamps = truthy(params.get("timestamps"))
    text = "".join((rfc3339_nano(lt) + " " if timestamps else "") + f"{_ts(lt)} {body}\n" for lt, body in lines)
    if params.get("limitBytes"):
        text = text[: int(params["limitBytes"])]
    return text, source


def _instance_for(pod, container, sim, previous):
    """The container instance the kubelet would read, chosen from the pod status like validateContainerLogStatus."""
    from k8s_sim.kubelet import container_id

    name = pod["metadata"]["name"]
    status = next((cs for cs in (pod.get("status") or {}).get("containerStatuses") or []
                   if cs["name"] == container), {})
    state, last = status.get("state") or {}, (status.get("lastState") or {}).get("terminated")
    if previous:
        wanted = (last or {}).get("containerID")
        if not wanted:
            raise errors.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
    elif "running" in state or "terminated" in state:
        wanted = status.get("containerID") or (state.get("terminated") or {}).get("containerID")
    elif last and last.get("containerID"):
        wanted = last["containerID"]
    else:
        reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
        why = {"ErrImagePull": "image can't be pulled",
               "ImagePullBackOff": "trying and failing to pull image"}.get(reason, reason)
        raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {why}')
    for inst in reversed(sim.instances if sim else []):
        if container_id(pod["metadata"]["uid"], container, inst.number) == wanted:
            return inst
    raise errors.bad_request(f'container "{container}" in pod "{name}" is terminated')


def follow_chunk(source, after, t):
    """Lines that appeared in (after, t] for `kubectl logs -f`."""
    source.end = t if source.inst.end is None else source.inst.end
    out = []
    for sec in range(int(after), int(t) + 1):
        out += [x for x in source.second(sec) if after < x[0] <= t]
    return "".join(f"{_ts(lt)} {body}\n" for lt, body in out)
