# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An incident milestone: its options, validation and normalised form.

Shared by the incident_milestone module and its action plugin (which runs it on the controller
without starting a module process).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from datetime import datetime, timedelta, timezone

MILESTONES = ["started", "detected", "declared", "contained", "recovered", "resolved"]
ARGUMENT_SPEC = dict(
    incident_id=dict(type="str", required=True),
    milestone=dict(type="str", required=True, choices=MILESTONES),
    at=dict(type="str"),
    severity=dict(type="str", choices=["P0", "P1", "P2", "P3"]),
    component=dict(type="str", choices=["api", "database", "ml_models", "file_storage"]),
    summary=dict(type="str"),
    commander=dict(type="str"),
    note=dict(type="str"),
)
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?\s*(Z|[+-]\d{2}:?\d{2})$",
    re.IGNORECASE)


class MilestoneError(ValueError):
    pass


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)  # noqa: UP017 - targets run Python 3.8+


def parse_timestamp(text):
    """ISO 8601 with a zone -> naive UTC datetime. Raises MilestoneError for anything else."""
    match = TIMESTAMP.match(text.strip())
    if not match:
        raise MilestoneError("at must be an ISO 8601 timestamp with a time zone such as "
                             "2026-01-02T03:04:05Z, got %r" % text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                          int((fraction or "0").ljust(6, "0")))
    except ValueError as exc:
        raise MilestoneError("at is not a valid date and time (%s): %r" % (exc, text)) from None
    if zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment


def format_timestamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_milestone(params, now=None):
    """The milestone the timeline records, from validated options."""
    if not ID_PATTERN.match(params["incident_id"]):
        raise MilestoneError("incident_id may hold only letters, digits, '.', '_' and '-' (at most 128), "
                             "got %r" % params["incident_id"])
    moment = parse_timestamp(params["at"]) if params.get("at") else (now or utcnow())
    fields = ("incident_id", "milestone", "severity", "component", "summary", "commander", "note")
    result = dict((key, params.get(key)) for key in fields)
    result["at"] = format_timestamp(moment)
    return result
