"""Small helpers shared by the simulator: time, names, hashes."""
import hashlib
import json
import math
import random
import time
from datetime import UTC, datetime

# The alphabet Kubernetes uses for generated suffixes and pod-template-hash (no vowels, no 0/1/3).
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


_shift = 0.0


def set_time_shift(seconds):
    """Move the simulator's clock (used only while seeding history before the server starts)."""
    global _shift
    _shift = seconds


def now():
    return time.time() + _shift


def rfc3339(ts):
    return datetime.fromtimestamp(int(ts), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(ts):
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}000Z"


def parse_time(value):
    if not value:
        return None
    value = value.replace("Z", "+00:00")
    return datetime.fromisoformat(value).timestamp()


def human_duration(seconds):
    """Kubernetes' duration.HumanDuration, as printed in AGE columns."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def fnv32a(data: bytes):
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(value: str):
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in value)


def template_hash(template, collision_count=0):
    """pod-template-hash: FNV-32a of the template, encoded like rand.SafeEncodeString."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode(str(fnv32a(data)))


_rng = random.Random()


def random_suffix(n=5):
    return "".join(_rng.choice(SAFE_ALPHABET) for _ in range(n))


def stable_int(*parts):
    return int.from_bytes(hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def strip_none(value):
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_none(v) for v in value]
    return value


def parse_quantity(q):
    """A Kubernetes resource quantity as a float in base units (cores, bytes)."""
    if q is None:
        return 0.0
    if isinstance(q, int | float):
        return float(q)
    q = str(q).strip()
    suffixes = {
        "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "Pi": 1024**5, "Ei": 1024**6,
        "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    }
    for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"):
        if q.endswith(suffix):
            return float(q[: -len(suffix)]) * suffixes[suffix]
    return float(q)


def int_or_percent(value, total, round_up):
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    s = str(value)
    if s.endswith("%"):
        pct = int(s[:-1])
        exact = pct * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(s)


def truthy(value):
    """Boolean query parameters as the apiserver parses them (true/True/1)."""
    return str(value).lower() in ("true", "1") if value is not None else False
