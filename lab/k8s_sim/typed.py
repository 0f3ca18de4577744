"""Typed decoding, for the kinds whose Go types the simulator mirrors field by field (Lease).

kube-apiserver decodes every request body into the kind's Go struct before anything else looks at
it: a value of the wrong JSON type, or a `metav1.MicroTime` that Go's `time.Parse` refuses, fails
the request there (400 `... cannot be handled as a Lease: ...` on create/update, 422 `patch: Invalid
value` on a patch), and fields the struct does not have are dropped from what is stored. This
module reproduces that decoding and the error texts of Go's encoding/json, time.Parse and
apimachinery's unstructured converter (used for strategic merge patches).
"""
import json

from k8s_sim.defaults import METADATA_FIELDS

RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"


class DecodeError(Exception):
    """The text Go's decoder would return."""


# -- Go's time.Parse for the RFC3339Micro layout ---------------------------------------------------

def _quote_time(s):
    """time.quote: ASCII printable kept, `"` and `\\` escaped, everything else as \\x bytes."""
    out = ['"']
    for ch in s:
        if ch >= "\x80" or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


class _Bad(Exception):
    def __init__(self, layout_elem, value_elem, message=""):
        super().__init__(message)
        self.layout_elem, self.value_elem, self.message = layout_elem, value_elem, message


def _digit(s, i):
    return len(s) > i and "0" <= s[i] <= "9"


def _getnum(s, fixed):
    if not _digit(s, 0):
        return None, s
    if not _digit(s, 1):
        if fixed:
            return None, s
        return int(s[0]), s[1:]
    return int(s[:2]), s[2:]


def _atoi(s):
    neg = s[:1] == "-"
    if s[:1] in ("-", "+"):
        s = s[1:]
    i = 0
    while i < len(s) and "0" <= s[i] <= "9":
        i += 1
    if i < len(s):
        return None
    x = int(s[:i] or "0")
    return -x if neg else x


def _days_in(month, year):
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _parse_fields(value):
    """Go's time.Parse(RFC3339Micro, value) step by step: (year, month, day, hour, minute, second,
    microsecond, offset seconds), or _Bad with what Go's ParseError carries."""
    v = value
    fields = {}
    # (literal prefix, std chunk as written in the layout, parser)
    for prefix, std in (("", "2006"), ("-", "01"), ("-", "02"), ("T", "15"), (":", "04"), (":", "05"),
                        ("", ".000000"), ("", "Z07:00")):
        for ch in prefix:
            if not v or v[0] != ch:
                raise _Bad(prefix, v)
            v = v[1:]
        hold, rng, num = v, None, None
        if std == "2006":
            if len(v) < 4 or not _digit(v, 0):
                raise _Bad(std, hold)
            num = _atoi(v[:4])
            if num is None:
                raise _Bad(std, hold)
            v = v[4:]
        elif std == ".000000":
            if len(v) < 7 or v[0] not in ".,":
                raise _Bad(std, hold)
            num = _atoi(v[1:7])
            if num is None:
                raise _Bad(std, hold)
            if num < 0:
                rng = "fractional second"
            v = v[7:]
        elif std == "Z07:00":
            if v[:1] == "Z":
                num, v = 0, v[1:]
            else:
                if len(v) < 6 or v[3] != ":":
                    raise _Bad(std, hold)
                sign, hh, mm, v = v[0], v[1:3], v[4:6], v[6:]
                hr, _ = _getnum(hh, True)
                mi, _ = _getnum(mm, True) if hr is not None else (None, "")
                if hr is not None and hr > 24:
                    rng = "time zone offset hour"
                if mi is not None and mi > 60:
                    rng = "time zone offset minute"
                if rng is None and (hr is None or mi is None or sign not in "+-"):
                    raise _Bad(std, hold)
                num = (hr * 60 + mi) * 60 * (-1 if sign == "-" else 1) if rng is None else 0
        else:
            num, v = _getnum(v, std != "15")
            if num is not None:
                limit = {"01": None, "02": None, "15": 24, "04": 60, "05": 60}[std]
                if std == "01" and not 1 <= num <= 12:
                    rng = "month"
                elif limit is not None and num >= limit:
                    rng = {"15": "hour", "04": "minute", "05": "second"}[std]
        if rng:
            raise _Bad(std, v, f": {rng} out of range")
        if num is None:
            raise _Bad(std, hold)
        fields[std] = num
    if v:
        raise _Bad("", v, ": extra text: " + _quote_time(v))
    year, month, day = fields["2006"], fields["01"], fields["02"]
    if day < 1 or day > _days_in(month, year):
        raise _Bad("", v, ": day out of range")
    return year, month, day, fields["15"], fields["04"], fields["05"], fields[".000000"], fields["Z07:00"]


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z):
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def parse_micro_time(value):
    """Seconds since the epoch (an int) and microseconds, as metav1.MicroTime reads a JSON string;
    DecodeError with Go's message otherwise."""
    try:
        year, month, day, hour, minute, second, micro, offset = _parse_fields(value)
    except _Bad as bad:
        if bad.message:
            raise DecodeError(f"parsing time {_quote_time(value)}{bad.message}") from None
        raise DecodeError(f"parsing time {_quote_time(value)} as {_quote_time(RFC3339_MICRO)}: cannot parse "
                          f"{_quote_time(bad.value_elem)} as {_quote_time(bad.layout_elem)}") from None
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    return seconds, micro


def format_micro_time(seconds, micro):
    """MicroTime's JSON form: UTC, exactly six fractional digits."""
    days, rest = divmod(seconds, 86400)
    y, m, d = _civil_from_days(days)
    return f"{y:04d}-{m:02d}-{d:02d}T{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}.{micro:06d}Z"


def normalize_micro_time(value):
    return format_micro_time(*parse_micro_time(value))


# -- Go formatting helpers ---------------------------------------------------------------------------

def go_quote(s):
    """strconv.Quote (what %q prints): printable Unicode kept, the rest escaped."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                        "\v": "\\v"}[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def go_value(v):
    """fmt's %v of what encoding/json decodes into interface{} (maps print with sorted keys)."""
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_value(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(go_value(i) for i in v) + "]"
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return _go_float(v)
    return str(v)


def _go_float(v):
    """fmt's %v of a float64: the shortest digits that round-trip, in %e form when the exponent is < -4
    or >= 6 (1e+06, 1.5e-07), else plain (100000, 0.0001, 1.5)."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    sign = "-" if v < 0 or (v == 0 and str(v).startswith("-")) else ""
    mant, _, rexp = repr(abs(v)).partition("e")  # repr has the shortest digits that round-trip
    whole, _, frac = mant.partition(".")
    sig = (whole + frac).lstrip("0").rstrip("0") or "0"
    if rexp:
        point = int(rexp)  # exponent of the leading digit
    elif whole.lstrip("0"):
        point = len(whole.lstrip("0")) - 1
    else:
        point = -(len(frac) - len(frac.lstrip("0")) + 1) if v else 0
    if point < -4 or point >= 6:
        tail = sig[1:]
        return f"{sign}{sig[0]}{'.' + tail if tail else ''}e{'-' if point < 0 else '+'}{abs(point):02d}"
    if point >= 0:
        int_part = (sig[:point + 1]).ljust(point + 1, "0")
        frac_part = sig[point + 1:]
    else:
        int_part = "0"
        frac_part = "0" * (-point - 1) + sig
    return f"{sign}{int_part}{'.' + frac_part if frac_part else ''}"


def go_json(obj):
    """encoding/json's Marshal of a map: sorted keys, compact, HTML characters escaped."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


# -- decoding into a Go struct -------------------------------------------------------------------------

STRING, INT32, MICROTIME = "string", "int32", "v1.MicroTime"

# Lease (k8s.io/api/coordination/v1), fields in struct order with their Go types.
LEASE_SPEC = (
    ("holderIdentity", STRING),
    ("leaseDurationSeconds", INT32),
    ("acquireTime", MICROTIME),
    ("renewTime", MICROTIME),
    ("leaseTransitions", INT32),
    ("strategy", "v1.CoordinatedLeaseStrategy"),
    ("preferredHolder", STRING),
)


def _json_kind(v):
    """The word encoding/json uses for a JSON value in an UnmarshalTypeError."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return "number"


def _unstructured_type(v):
    """reflect's name for a value of an unstructured map (what the converter's errors print)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, float) and not v.is_integer():
        return "float64"
    return "int64"


def _micro_time(value):
    """A MicroTime from its JSON value: the normalised string, or DecodeError (always immediate)."""
    if not isinstance(value, str):
        raise DecodeError(f"json: cannot unmarshal {_json_kind(value)} into Go value of type string")
    return normalize_micro_time(value)


def _wrap_int32(n):
    n &= 0xFFFFFFFF
    return n - 2**32 if n >= 2**31 else n


class _Decoder:
    """One decode. encoding/json keeps the first type error and goes on (saveError), while an
    Unmarshaler's error (MicroTime) ends it at once; the unstructured converter (strategic merge
    patch) stops at its first error."""

    def __init__(self, unstructured):
        self.unstructured = unstructured
        self.saved = None

    def type_error(self, struct, field, go_type, value):
        if self.unstructured:
            raise DecodeError(f"cannot convert {_unstructured_type(value)} to {go_type}")
        if self.saved is None:
            kind = _json_kind(value)
            if kind == "number" and go_type == INT32:
                kind = f"number {value!r}"
            self.saved = DecodeError(f"json: cannot unmarshal {kind} into Go struct field {struct}.{field} of type "
                                     f"{go_type}")

    def struct(self, struct, field, go_type, value):
        """Whether `value` can fill a struct field (a JSON object or null)."""
        if value is None or isinstance(value, dict):
            return True
        if self.unstructured:
            kind = {"map[string]interface {}": "map", "[]interface {}": "slice"}.get(_unstructured_type(value),
                                                                                  _unstructured_type(value))
            raise DecodeError(f"cannot restore struct from: {kind}")
        self.type_error(struct, field, go_type, value)
        return False

    def scalar(self, struct, field, go_type, value):
        """The decoded value, or None when it is dropped (null, or a type error)."""
        if value is None:
            return None
        if go_type == MICROTIME:
            return _micro_time(value)
        if go_type == INT32:
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if number and self.unstructured:
                return _wrap_int32(int(value))  # reflect's Convert: a float64 truncates, an int64 wraps
            if number and isinstance(value, int) and -2**31 <= value < 2**31:
                return value
        elif isinstance(value, str):
            return value
        self.type_error(struct, field, go_type, value)
        return None


def decode_lease(obj, unstructured=False):
    """The Lease the apiserver would store from `obj`: unknown fields dropped, spec in struct order,
    MicroTimes in UTC with six digits. `unstructured` selects the converter's rules (strategic merge
    patch) instead of encoding/json's. Raises DecodeError."""
    dec = _Decoder(unstructured)
    out = {k: obj[k] for k in ("kind", "apiVersion") if k in obj}
    new_spec = {}
    for key, value in obj.items():
        if key == "metadata" and dec.struct("Lease", "metadata", "v1.ObjectMeta", value) and value:
            out["metadata"] = {k: v for k, v in value.items() if k in METADATA_FIELDS}
        elif key == "spec" and dec.struct("Lease", "spec", "v1.LeaseSpec", value) and value:
            for field, go_type in LEASE_SPEC:
                if field in value:
                    decoded = dec.scalar("LeaseSpec", f"spec.{field}", go_type, value[field])
                    if decoded is not None:
                        new_spec[field] = decoded
    if dec.saved is not None:
        raise dec.saved
    # spec is a struct field: serialised even when empty (omitempty has no effect on a struct).
    return {**{k: out[k] for k in ("kind", "apiVersion") if k in out}, "metadata": out.get("metadata", {}),
            "spec": new_spec}


# Kinds decoded into their Go types (resource key -> decoder).
DECODERS = {"coordination.k8s.io/leases": decode_lease}
