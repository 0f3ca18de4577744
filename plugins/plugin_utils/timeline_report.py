# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The incident timeline as data, its measures, and its post-mortem draft (Markdown and HTML).

Pure functions over plain dicts so they can be tested without running Ansible; the
``incident_timeline`` callback collects the events and calls them.

A timeline document::

    {"incident_id": "INC-1", "runs": [run, ...], "milestones": [...], "measures": {...}, ...}

where a run is ``{"playbook", "started", "ended", "check_mode", "tasks": [...], "milestones": [...],
"stats": {...}}`` and a milestone is the ``incident_milestone`` module's result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json
from datetime import datetime, timezone

from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.incident_policy import (
    POLICY,
    RTO_LABELS,
    RTO_MINUTES,
)

MILESTONES = ("started", "detected", "declared", "contained", "recovered", "resolved")
MILESTONE_LABELS = {
    "started": "Impact started",
    "detected": "Detected",
    "declared": "Declared",
    "contained": "Contained",
    "recovered": "Recovered",
    "resolved": "Resolved",
}
DEFAULT_COMPONENT = "api"
SCHEMA_VERSION = 1
MAX_CHART_ROWS = 60


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)  # noqa: UP017 - ansible-core 2.16 controllers run 3.10


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text):
    """The timestamps this package writes (``...Z``), or None."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except (TypeError, ValueError):
        return None


def seconds_between(start, end):
    a, b = parse_iso(start), parse_iso(end)
    if a is None or b is None:
        return None
    return round((b - a).total_seconds(), 3)


def human_duration(seconds):
    """75 -> '1 min 15 s'; 3700 -> '1 h 1 min'; None -> '-'."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        text = ("%.1f s" % seconds).replace(".0 s", " s")
    elif seconds < 3600:
        minutes, secs = divmod(round(seconds), 60)
        text = "%d min %d s" % (minutes, secs) if secs else "%d min" % minutes
    else:
        hours, rest = divmod(round(seconds), 3600)
        minutes = rest // 60
        text = "%d h %d min" % (hours, minutes) if minutes else "%d h" % hours
    return sign + text


# --- merging runs into one incident --------------------------------------------------------

def first_milestones(runs):
    """The first time each milestone was reached over all real (non-check) runs, in milestone order.

    A rerun that marks the same milestone again (an idempotent declare) does not move it.
    """
    earliest = {}
    repeats = {}
    for run in runs:
        if run.get("check_mode"):
            continue
        for mark in run.get("milestones", []):
            name = mark.get("milestone")
            if name not in MILESTONES:
                continue
            repeats[name] = repeats.get(name, 0) + 1
            if name not in earliest or (mark.get("at") or "") < (earliest[name].get("at") or ""):
                earliest[name] = dict(mark)
    ordered = sorted(earliest.values(), key=lambda m: (m.get("at") or "", MILESTONES.index(m["milestone"])))
    for mark in ordered:
        mark["times_marked"] = repeats[mark["milestone"]]
    return ordered


def latest_value(runs, key):
    """The last non-empty value of a milestone field (severity may be raised during an incident)."""
    value = None
    for run in runs:
        if run.get("check_mode"):
            continue
        for mark in sorted(run.get("milestones", []), key=lambda m: m.get("at") or ""):
            if mark.get(key):
                value = mark[key]
    return value


def measures(milestones, severity, component):
    """Time to detect, declare, contain, recover and resolve, with verdicts against the seed's targets.

    The clock starts at ``detected`` (or ``declared`` when no detection was marked); ``time_to_detect``
    needs ``started``. Targets are strict ("< 15 minutes"): reaching it exactly misses it.
    """
    at = {m["milestone"]: m.get("at") for m in milestones}
    clock = at.get("detected") or at.get("declared")
    result = {"clock_starts_at": clock}

    def measure(name, start, end, target_minutes=None, target_label=None):
        seconds = seconds_between(start, end)
        entry = {"seconds": seconds, "human": human_duration(seconds),
                 "target_minutes": target_minutes, "target": target_label, "verdict": None}
        if target_minutes is not None:
            if seconds is None:
                entry["verdict"] = "open"
            else:
                entry["verdict"] = "met" if seconds < target_minutes * 60 else "missed"
        result[name] = entry

    level_policy = POLICY.get(severity) if severity else None
    response_minutes = level_policy["response_target_minutes"] if level_policy else None
    rto_minutes = RTO_MINUTES.get(component)
    measure("time_to_detect", at.get("started"), at.get("detected"))
    measure("time_to_declare", at.get("detected"), at.get("declared"), response_minutes,
            "response target %s (%s)" % (level_policy["response_target"], severity) if response_minutes else None)
    measure("time_to_contain", clock, at.get("contained"))
    measure("time_to_recover", clock, at.get("recovered"), rto_minutes,
            "RTO %s < %d min" % (RTO_LABELS.get(component, component), rto_minutes) if rto_minutes else None)
    measure("time_to_resolve", clock, at.get("resolved"))
    return result


def build_document(incident_id, runs, generated=None):
    """The incident's timeline document from all its runs (oldest first)."""
    milestones = first_milestones(runs)
    severity = latest_value(runs, "severity")
    component = latest_value(runs, "component") or DEFAULT_COMPONENT
    status = "resolved" if any(m["milestone"] == "resolved" for m in milestones) else "open"
    return {
        "schema_version": SCHEMA_VERSION,
        "incident_id": incident_id,
        "generated": generated or iso(utcnow()),
        "status": status,
        "severity": severity,
        "severity_policy": dict(POLICY[severity], level=severity) if severity in POLICY else None,
        "component": component,
        "rto_minutes": RTO_MINUTES.get(component),
        "summary": latest_value(runs, "summary"),
        "commander": latest_value(runs, "commander"),
        "milestones": milestones,
        "measures": measures(milestones, severity, component),
        "runs": runs,
    }


def timeline_events(document):
    """Milestones and the tasks that changed or failed something, oldest first, for the readable timeline."""
    events = []
    for mark in document["milestones"]:
        text = MILESTONE_LABELS[mark["milestone"]]
        if mark.get("note"):
            text += " - " + mark["note"]
        events.append({"at": mark.get("at"), "kind": "milestone", "name": mark["milestone"], "text": text})
    for index, run in enumerate(document["runs"]):
        if run.get("check_mode"):
            continue
        for task in run.get("tasks", []):
            if task.get("status") in ("changed", "failed", "unreachable"):
                events.append({"at": task.get("started"), "kind": task["status"], "name": task.get("task"),
                               "text": "%s on %s (%s)" % (task.get("task"), task.get("host"), task["status"]),
                               "run": index})
    events.sort(key=lambda e: (e["at"] or "", 0 if e["kind"] == "milestone" else 1))
    return events


# --- Markdown ----------------------------------------------------------------------------

def _md(text):
    return str(text if text is not None else "-").replace("|", "\\|").replace("\n", " ")


def _time(text):
    moment = parse_iso(text)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


MEASURE_ROWS = (
    ("time_to_detect", "Time to detect (impact started -> detected)"),
    ("time_to_declare", "Time to declare (detected -> declared)"),
    ("time_to_contain", "Time to contain"),
    ("time_to_recover", "Time to recover"),
    ("time_to_resolve", "Time to resolve"),
)


def render_markdown(document):
    doc = document
    policy = doc.get("severity_policy") or {}
    lines = [
        "# Post-mortem draft: %s" % doc["incident_id"],
        "",
        "_Generated %s from the incident timeline; edit freely._" % _time(doc["generated"]),
        "",
        "## Summary",
        "",
        "| | |",
        "| --- | --- |",
        "| Incident | %s |" % _md(doc["incident_id"]),
        "| Summary | %s |" % _md(doc.get("summary")),
        "| Status | %s |" % _md(doc["status"]),
        "| Severity | %s |" % (_md("%s (%s)" % (doc["severity"], policy.get("name"))) if doc.get("severity") else "-"),
        "| Response target | %s |" % _md(policy.get("response_target")),
        "| Escalation | %s |" % _md(policy.get("escalation")),
        "| Component | %s (RTO < %s min) |" % (_md(RTO_LABELS.get(doc["component"], doc["component"])),
                                               _md(doc.get("rto_minutes"))),
        "| Incident commander | %s |" % _md(doc.get("commander")),
        "",
        "## Measured times",
        "",
        "The clock starts when the incident was detected (or declared, when no detection time was marked).",
        "",
        "| Measure | Value | Target | Verdict |",
        "| --- | --- | --- | --- |",
    ]
    for key, label in MEASURE_ROWS:
        entry = doc["measures"][key]
        row = (label, entry["human"], _md(entry.get("target")), _md(entry.get("verdict")))
        lines.append("| %s | %s | %s | %s |" % row)
    lines += ["", "## Timeline", "", "| Time (UTC) | Event |", "| --- | --- |"]
    for event in timeline_events(doc):
        text = "**%s**" % _md(event["text"]) if event["kind"] == "milestone" else _md(event["text"])
        lines.append("| %s | %s |" % (_time(event["at"]), text))
    lines += ["", "## Actions taken", ""]
    actions = 0
    for run in doc["runs"]:
        if run.get("check_mode"):
            continue
        for task in run.get("tasks", []):
            if task.get("status") == "changed":
                actions += 1
                lines.append("- %s: %s on %s (%s, %s)" % (_time(task.get("started")), task.get("task"),
                                                          task.get("host"), run.get("playbook"),
                                                          human_duration(task.get("duration"))))
    if not actions:
        lines.append("- No task changed anything.")
    lines += ["", "## Runs", "", "| Playbook | Started | Duration | Check mode | ok | changed | failed |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for run in doc["runs"]:
        totals = run_totals(run)
        lines.append("| %s | %s | %s | %s | %d | %d | %d |" % (
            _md(run.get("playbook")), _time(run.get("started")),
            human_duration(seconds_between(run.get("started"), run.get("ended"))),
            "yes" if run.get("check_mode") else "no", totals["ok"], totals["changed"], totals["failed"]))
    lines += [
        "",
        "## Root cause",
        "",
        "_To be filled in: what broke, why, and why it was not caught earlier._",
        "",
        "## Action items",
        "",
        "- [ ] _Owner - action - due date_",
        "",
        "## Lessons learned",
        "",
        "_To be filled in._",
        "",
    ]
    return "\n".join(lines)


def run_totals(run):
    totals = {"ok": 0, "changed": 0, "failed": 0, "skipped": 0, "unreachable": 0}
    for task in run.get("tasks", []):
        status = task.get("status")
        if status in totals:
            totals[status] += 1
        if status == "changed":
            totals["ok"] += 1
    return totals


# --- HTML + SVG ----------------------------------------------------------------------------

STATUS_COLOURS = {
    "ok": "#4caf50",
    "changed": "#ff9800",
    "failed": "#e53935",
    "unreachable": "#8e24aa",
    "skipped": "#9e9e9e",
}
MILESTONE_COLOUR = "#1e3a8a"

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2937;max-width:1200px}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #e5e7eb}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #e5e7eb;padding:.3rem .6rem;text-align:left}
th{background:#f3f4f6}.met{color:#15803d;font-weight:600}.missed{color:#b91c1c;font-weight:600}
.open{color:#92400e;font-weight:600}.milestone{font-weight:600}.fill{color:#6b7280;font-style:italic}
svg text{font-size:11px;font-family:inherit}
"""


def _e(value):
    return html.escape("-" if value is None else str(value), quote=True)


# Bookkeeping actions: in timeline.json, but not worth a bar on the chart unless they failed.
BOOKKEEPING_ACTIONS = frozenset(("set_fact", "assert", "debug", "validate_argument_spec", "include_role",
                                 "include_tasks", "import_role", "import_tasks", "meta", "fail", "pause"))


def _chart_rows(document):
    rows = []
    for index, run in enumerate(document["runs"]):
        for task in run.get("tasks", []):
            action = str(task.get("action") or "").rsplit(".", 1)[-1]
            if task.get("status") == "skipped" or (action in BOOKKEEPING_ACTIONS
                                                   and task.get("status") not in ("changed", "failed")):
                continue
            if task.get("started") and task.get("ended"):
                rows.append((index, run, task))
    return rows


def render_svg(document, width=1100):
    """A Gantt-like chart: one bar per task run, milestones as labelled vertical lines."""
    rows = _chart_rows(document)
    shown = rows[:MAX_CHART_ROWS]
    moments = [parse_iso(m.get("at")) for m in document["milestones"]]
    for _index, _run, task in shown:
        moments += [parse_iso(task["started"]), parse_iso(task["ended"])]
    moments = [m for m in moments if m is not None]
    label_w, top, row_h = 260, 70, 16
    height = top + row_h * max(len(shown), 1) + 40
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Incident timeline chart" '
             'id="timeline-chart" width="%d" height="%d" viewBox="0 0 %d %d">' % (width, height, width, height),
             '<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (width, height)]
    if not moments:
        parts.append('<text x="10" y="30">No timed events recorded.</text></svg>')
        return "".join(parts)
    start, end = min(moments), max(moments)
    span = max((end - start).total_seconds(), 1.0)
    plot_w = width - label_w - 80  # room for the last tick and milestone labels

    def x(moment):
        return label_w + plot_w * ((moment - start).total_seconds() / span)

    # time axis: five ticks
    for i in range(6):
        tick_x = label_w + plot_w * i / 5
        seconds = span * i / 5
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e7eb"/>' % (tick_x, top - 8, tick_x,
                                                                                       height - 30))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#6b7280">+%s</text>'
                     % (tick_x, height - 14, _e(human_duration(seconds))))
    for i, (_index, _run, task) in enumerate(shown):
        y = top + i * row_h
        colour = STATUS_COLOURS.get(task.get("status"), "#9e9e9e")
        bar_x = x(parse_iso(task["started"]))
        bar_w = max(x(parse_iso(task["ended"])) - bar_x, 2.0)
        name = (task.get("task") or "").split(" : ", 1)[-1]  # the role is in timeline.json
        label = name if len(name) <= 40 else name[:39] + "..."
        parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (label_w - 6, y + 11, _e(label)))
        parts.append('<rect class="task %s" x="%.1f" y="%d" width="%.1f" height="%d" rx="2" fill="%s">'
                     '<title>%s: %s, %s</title></rect>'
                     % (_e(task.get("status")), bar_x, y + 2, bar_w, row_h - 4, colour, _e(task.get("task")),
                        _e(task.get("status")), _e(human_duration(task.get("duration")))))
    for i, mark in enumerate(document["milestones"]):
        moment = parse_iso(mark.get("at"))
        if moment is None:
            continue
        mx = x(moment)
        parts.append('<line class="milestone" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" '
                     'stroke-width="2" stroke-dasharray="4 3"/>' % (mx, top - 14, mx, height - 30, MILESTONE_COLOUR))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle" fill="%s" font-weight="600">%s</text>'
                     % (mx, 16 + (i % 3) * 14, MILESTONE_COLOUR, _e(MILESTONE_LABELS[mark["milestone"]])))
    if len(rows) > len(shown):
        parts.append('<text x="10" y="%d" fill="#6b7280">%d more tasks not drawn</text>'
                     % (height - 2, len(rows) - len(shown)))
    parts.append("</svg>")
    return "".join(parts)


def render_html(document):
    doc = document
    policy = doc.get("severity_policy") or {}
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>Post-mortem draft: %s</title><style>%s</style></head><body>" % (_e(doc["incident_id"]), CSS),
           "<h1>Post-mortem draft: %s</h1>" % _e(doc["incident_id"]),
           '<p class="fill">Generated %s from the incident timeline.</p>' % _e(_time(doc["generated"])),
           '<h2>Summary</h2><table id="summary">']
    rows = [
        ("Summary", doc.get("summary")),
        ("Status", doc["status"]),
        ("Severity", "%s (%s)" % (doc["severity"], policy.get("name")) if doc.get("severity") else None),
        ("Response target", policy.get("response_target")),
        ("Escalation", policy.get("escalation")),
        ("Component", "%s (RTO &lt; %s min)" % (_e(RTO_LABELS.get(doc["component"], doc["component"])),
                                                _e(doc.get("rto_minutes")))),
        ("Incident commander", doc.get("commander")),
    ]
    for label, value in rows:
        cell = value if label == "Component" else _e(value)
        out.append("<tr><th>%s</th><td>%s</td></tr>" % (_e(label), cell))
    out.append('</table><h2>Measured times</h2><table id="measures"><tr><th>Measure</th><th>Value</th>'
               '<th>Target</th><th>Verdict</th></tr>')
    for key, label in MEASURE_ROWS:
        entry = doc["measures"][key]
        verdict = entry.get("verdict")
        out.append('<tr data-measure="%s"><td>%s</td><td>%s</td><td>%s</td><td class="%s">%s</td></tr>'
                   % (_e(key), _e(label), _e(entry["human"]), _e(entry.get("target")), _e(verdict or ""),
                      _e(verdict)))
    out.append("</table><h2>Timeline</h2>")
    out.append(render_svg(doc))
    out.append('<table id="events"><tr><th>Time (UTC)</th><th>Event</th></tr>')
    for event in timeline_events(doc):
        css = "milestone" if event["kind"] == "milestone" else event["kind"]
        out.append('<tr class="%s"><td>%s</td><td>%s</td></tr>' % (_e(css), _e(_time(event["at"])),
                                                                   _e(event["text"])))
    out.append('</table><h2>Actions taken</h2><ul id="actions">')
    actions = [(run, task) for run in doc["runs"] if not run.get("check_mode")
               for task in run.get("tasks", []) if task.get("status") == "changed"]
    for run, task in actions:
        out.append("<li>%s: %s on %s (%s)</li>" % (_e(_time(task.get("started"))), _e(task.get("task")),
                                                   _e(task.get("host")), _e(run.get("playbook"))))
    if not actions:
        out.append("<li>No task changed anything.</li>")
    out.append('</ul><h2>Runs</h2><table id="runs"><tr><th>Playbook</th><th>Started</th><th>Duration</th>'
               "<th>Check mode</th><th>ok</th><th>changed</th><th>failed</th></tr>")
    for run in doc["runs"]:
        totals = run_totals(run)
        out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td></tr>" % (
            _e(run.get("playbook")), _e(_time(run.get("started"))),
            _e(human_duration(seconds_between(run.get("started"), run.get("ended")))),
            "yes" if run.get("check_mode") else "no", totals["ok"], totals["changed"], totals["failed"]))
    out.append('</table><h2>Root cause</h2><p class="fill">To be filled in: what broke, why, and why it was not '
               'caught earlier.</p><h2>Action items</h2><ul><li class="fill">Owner - action - due date</li></ul>'
               '<h2>Lessons learned</h2><p class="fill">To be filled in.</p>')
    out.append('<script type="application/json" id="timeline-data">%s</script>'
               % json.dumps({"incident_id": doc["incident_id"], "measures": doc["measures"]},
                            sort_keys=True).replace("</", "<\\/"))
    out.append("</body></html>")
    return "".join(out)
