# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup ids, timestamps and human durations (6h, 30d) - pure functions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.pynomaly.incident_response.plugins.module_utils.backup.errors import BadInput

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)\s*([smhdw])")
ID_FORMAT = "%Y%m%dT%H%M%SZ"


def utcnow():
    return datetime.datetime.now(datetime.UTC)


def isoformat(moment):
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)


def backup_id(moment, taken=()):
    """A sortable UTC id (20261127T061500Z); a numbered suffix when that second is already taken."""
    base = moment.astimezone(datetime.UTC).strftime(ID_FORMAT)
    candidate, counter = base, 0
    while candidate in taken:
        counter += 1
        candidate = "%s-%02d" % (base, counter)
    return candidate


def parse_duration(text, option="duration"):
    """Seconds in '90', '90s', '15m', '6h', '30d', '2w' or '1h30m'."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):  # noqa: UP038 - modules run on Python 3.8
        if text < 0:
            raise BadInput("%s must not be negative, got %s" % (option, text))
        return int(text)
    value = str(text).strip().lower()
    if value.isdigit():
        return int(value)
    parts = _PART.findall(value)
    if not parts or _PART.sub("", value).strip():
        raise BadInput("%s: cannot read %r as a duration; use e.g. 90s, 15m, 6h, 30d or 2w" % (option, text))
    return sum(int(number) * UNITS[unit] for number, unit in parts)


def human_duration(seconds):
    """'2d 3h', '15m 4s', '0s' - for reports."""
    seconds = round(seconds)
    if seconds <= 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append("%d%s" % (seconds // size, unit))
            seconds %= size
        if len(out) == 2:
            break
    return " ".join(out)
