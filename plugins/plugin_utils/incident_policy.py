# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Pynomaly Platform Engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The incident response playbook's severity rules, response targets and RTO table, as data.

Pure logic shared by the ``severity`` filter, the ``severity_policy`` lookup and the
``incident_timeline`` callback. Errors are raised as ``SeverityError``; the plugins turn
them into Ansible errors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

LEVELS = ("P0", "P1", "P2", "P3")

# The seed's "Incident Severity Levels" section. Minutes are None where the seed gives no clock.
POLICY = {
    "P0": {
        "name": "Critical",
        "response_target": "Immediate (< 15 minutes)",
        "response_target_minutes": 15,
        "escalation": "Page on-call engineer immediately",
        "notify_within_minutes": 0,
        "pagerduty_action": "trigger",
        "pagerduty_severity": "critical",
        "statuspage_impact": "critical",
    },
    "P1": {
        "name": "High",
        "response_target": "< 1 hour",
        "response_target_minutes": 60,
        "escalation": "Notify on-call engineer within 30 minutes",
        "notify_within_minutes": 30,
        "pagerduty_action": "trigger",
        "pagerduty_severity": "warning",
        "statuspage_impact": "major",
    },
    "P2": {
        "name": "Medium",
        "response_target": "< 4 hours",
        "response_target_minutes": 240,
        "escalation": "Standard business hours response",
        "notify_within_minutes": None,
        "pagerduty_action": None,
        "pagerduty_severity": None,
        "statuspage_impact": "minor",
    },
    "P3": {
        "name": "Low",
        "response_target": "Next business day",
        "response_target_minutes": None,
        "escalation": "Regular development workflow",
        "notify_within_minutes": None,
        "pagerduty_action": None,
        "pagerduty_severity": None,
        "statuspage_impact": "none",
    },
}

# The seed's "Recovery Time Objectives" table, in minutes.
RTO_MINUTES = {
    "api": 15,
    "database": 30,
    "ml_models": 60,
    "file_storage": 120,
}
RTO_LABELS = {
    "api": "API Service",
    "database": "Database",
    "ml_models": "ML Models",
    "file_storage": "File Storage",
}

DEFAULT_ERROR_RATE_THRESHOLD = 5.0  # percent; the seed says "> 5%"
DEFAULT_P95_THRESHOLD = 2.0  # seconds; the seed says "> 2s"

# signal name -> (level it raises, sentence used to explain it)
FLAG_RULES = {
    "outage": ("P0", "complete system outage"),
    "data_loss": ("P0", "data loss or corruption"),
    "security_breach": ("P0", "security breach"),
    "revenue_impact": ("P0", "revenue-impacting issue"),
    "significant_degradation": ("P1", "significant feature degradation"),
    "partial_outage": ("P1", "partial system outage"),
    # Triage itself failed (API server unreachable, workload missing): nothing says it is minor.
    "unassessed": ("P1", "the service could not be assessed"),
    "minor_issue": ("P2", "minor feature issue"),
    "degraded": ("P2", "non-critical service degradation"),
    "alert": ("P2", "monitoring alert"),
    "cosmetic": ("P3", "cosmetic issue"),
}
NUMERIC_SIGNALS = ("error_rate", "error_ratio", "p95_latency", "p95_latency_ms")
SIGNALS = tuple(FLAG_RULES) + NUMERIC_SIGNALS

_TRUE = ("y", "yes", "on", "1", "true", "t")
_FALSE = ("n", "no", "off", "0", "false", "f", "")


class SeverityError(ValueError):
    """Bad input for the severity rules (unknown signal, wrong type, out of range)."""


def normalize_level(value):
    """'p1', 'P1 ', 1 -> 'P1'. Raises SeverityError for anything that is not P0-P3."""
    text = str(value).strip().upper()
    if text.isdigit():
        text = "P" + text
    if text not in LEVELS:
        raise SeverityError("severity must be one of %s, got %r" % (", ".join(LEVELS), value))
    return text


def policy(level):
    """The response target and escalation of one level, as a new dict (callers may change it)."""
    level = normalize_level(level)
    return dict(POLICY[level], level=level)


def _as_bool(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise SeverityError("signal '%s' must be a boolean, got %r" % (name, value))


def _as_number(name, value, upper=None):
    if value is None:
        return None
    if isinstance(value, bool):
        raise SeverityError("signal '%s' must be a number, got %r" % (name, value))
    try:
        number = float(str(value).strip().rstrip("%")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise SeverityError("signal '%s' must be a number, got %r" % (name, value)) from None
    if math.isnan(number) or number < 0 or (upper is not None and number > upper):
        bound = "between 0 and %s" % upper if upper is not None else "0 or more"
        raise SeverityError("signal '%s' must be %s, got %r" % (name, bound, value))
    return number


def classify(signals, error_rate_threshold=DEFAULT_ERROR_RATE_THRESHOLD, p95_threshold=DEFAULT_P95_THRESHOLD):
    """Map observed signals to a level by the seed's rules.

    Returns ``{"severity": "P1", "reasons": [...], "error_rate": 7.0, "p95_latency": 2.5}``.
    The most severe matching rule wins. ``error_rate`` (percent) and ``p95_latency``
    (seconds) raise P1 only when strictly above the threshold, as the seed writes "> 5%"
    and "> 2s": exactly 5 % or exactly 2 s is not P1 by those rules. When no rule matches
    the level is P3.
    """
    if not isinstance(signals, dict):
        raise SeverityError("severity expects a dict of signals, got %s" % type(signals).__name__)
    unknown = sorted(set(signals) - set(SIGNALS))
    if unknown:
        raise SeverityError("unknown signal(s) %s; known signals: %s" % (", ".join(unknown), ", ".join(SIGNALS)))
    error_rate_threshold = _as_number("error_rate_threshold", error_rate_threshold, upper=100)
    p95_threshold = _as_number("p95_threshold", p95_threshold)

    reasons = {level: [] for level in LEVELS}
    for name, (level, sentence) in FLAG_RULES.items():
        if name in signals and _as_bool(name, signals[name]):
            reasons[level].append(sentence)

    error_rate = _as_number("error_rate", signals.get("error_rate"), upper=100)
    error_ratio = _as_number("error_ratio", signals.get("error_ratio"), upper=1)
    if error_rate is not None and error_ratio is not None:
        raise SeverityError("give either error_rate (percent) or error_ratio (0-1), not both")
    if error_ratio is not None:
        error_rate = error_ratio * 100.0
    p95 = _as_number("p95_latency", signals.get("p95_latency"))
    p95_ms = _as_number("p95_latency_ms", signals.get("p95_latency_ms"))
    if p95 is not None and p95_ms is not None:
        raise SeverityError("give either p95_latency (seconds) or p95_latency_ms, not both")
    if p95_ms is not None:
        p95 = p95_ms / 1000.0

    if error_rate is not None and error_rate > error_rate_threshold:
        reasons["P1"].append("error rate %s %% > %s %%" % (_fmt(error_rate), _fmt(error_rate_threshold)))
    if p95 is not None and p95 > p95_threshold:
        reasons["P1"].append("p95 latency %s s > %s s" % (_fmt(p95), _fmt(p95_threshold)))

    level = next((lvl for lvl in LEVELS if reasons[lvl]), "P3")
    matched = reasons[level] or ["no P0-P2 rule matched"]
    return {"severity": level, "reasons": matched, "error_rate": error_rate, "p95_latency": p95}


def _fmt(number):
    return ("%.3f" % number).rstrip("0").rstrip(".")


def rto(component):
    """(minutes, label) of one RTO row. Raises SeverityError for an unknown component."""
    key = str(component).strip().lower().replace(" ", "_")
    if key not in RTO_MINUTES:
        raise SeverityError("component must be one of %s, got %r" % (", ".join(RTO_MINUTES), component))
    return RTO_MINUTES[key], RTO_LABELS[key]


PAGERDUTY_ACTIONS = ("trigger", "acknowledge", "resolve")
STATUSES = ("investigating", "identified", "monitoring", "resolved")
_PD_SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}


def pagerduty_action(level, status, last_action=None, last_severity=None, requested="auto"):
    """The PagerDuty event (if any) an incident update should send, given what was sent before.

    Returns ``{"action": "trigger"|"acknowledge"|"resolve"|None, "severity": ..., "reason": ...}``.
    ``requested="auto"`` follows the severity: P0 pages (critical), P1 notifies (warning), P2 and P3
    never page; ``investigating`` triggers, ``identified``/``monitoring`` acknowledge what was
    triggered, ``resolved`` resolves what is open; a raised severity triggers again. An action
    already sent is never sent again, so a rerun sends nothing.
    """
    level = normalize_level(level)
    if status not in STATUSES:
        raise SeverityError("status must be one of %s, got %r" % (", ".join(STATUSES), status))
    if requested not in ("auto", "none", *PAGERDUTY_ACTIONS):
        raise SeverityError("the PagerDuty action must be auto, none, trigger, acknowledge or resolve, got %r"
                            % requested)
    if last_action not in (None, "", *PAGERDUTY_ACTIONS):
        raise SeverityError("the last PagerDuty action must be trigger, acknowledge or resolve, got %r"
                            % last_action)
    wanted_severity = POLICY[level]["pagerduty_severity"]
    is_open = last_action in ("trigger", "acknowledge")
    raised = (is_open and wanted_severity is not None
              and _PD_SEVERITY_RANK[wanted_severity] > _PD_SEVERITY_RANK.get(last_severity, -1))

    def act(action, reason, severity=None):
        return {"action": action, "severity": severity, "reason": reason}

    if requested == "none":
        return act(None, "PagerDuty disabled for this update")
    if requested == "trigger" or (requested == "auto" and status != "resolved" and raised):
        severity = wanted_severity or "info"
        if last_action == "trigger" and last_severity == severity:
            return act(None, "already triggered with severity %s" % severity)
        return act("trigger", "severity raised to %s" % level if raised else "trigger requested", severity)
    if requested in ("acknowledge", "resolve"):
        if last_action == requested:
            return act(None, "already sent %s" % requested)
        if not is_open:
            return act(None, "nothing open on PagerDuty to %s" % requested)
        return act(requested, "%s requested" % requested)
    # auto
    if status == "resolved":
        return act("resolve", "incident resolved") if is_open else act(None, "nothing open on PagerDuty")
    if wanted_severity is None:
        return act(None, "%s does not page (%s)" % (level, POLICY[level]["escalation"]))
    if not is_open:
        if last_action == "resolve":
            return act(None, "already resolved on PagerDuty")
        return act("trigger", "%s: %s" % (level, POLICY[level]["escalation"]), wanted_severity)
    if status in ("identified", "monitoring") and last_action == "trigger":
        return act("acknowledge", "incident %s" % status)
    return act(None, "already %s" % ("acknowledged" if last_action == "acknowledge" else "triggered"))
