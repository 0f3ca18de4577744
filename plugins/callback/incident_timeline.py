# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: incident_timeline
type: aggregate
short_description: Write the incident timeline and a post-mortem draft at the end of every playbook run
version_added: 0.1.0
author: Pynomaly Platform Engineering (@pynomaly)
description:
  - Records every task's start and end, host, status (ok, changed, failed, skipped, unreachable) and the
    key results the module returned, plus the milestones marked with
    P(pynomaly.incident_response.incident_milestone#module) (impact started, detected, declared,
    contained, recovered, resolved).
  - At the end of a playbook run it writes, under O(output_dir), C(timeline.json), C(postmortem.md)
    and C(postmortem.html) (self-contained, with an SVG timeline chart) with the summary, severity,
    timeline, actions taken, and the measured time to detect, contain and recover against the
    response target of the severity and the RTO of the affected component.
  - The incident record in the cluster is the timeline's home. A run that opened or joined an incident with
    P(pynomaly.incident_response.incident#module) streams its timeline into that record (through the process that
    keeps the run's Lease), so the post-mortem holds what every run saw and did, wherever it ran. With
    C(store=local) the record is a file; when the cluster did not answer, the run's timeline is kept aside and
    written by the next run that reaches it.
  - The post-mortem files are rendered from the whole record into C(<output_dir>/<incident_id>/). A run under
    C(--check) writes C(<incident_id>/dry-run/) from itself alone and never touches the record. A run
    without an incident is rendered under C(<output_dir>/runs/<time>-<playbook>/).
  - Results of tasks with C(no_log) are never recorded, at any verbosity; module arguments
    (C(invocation)) are never recorded at all.
  - Ad hoc commands (C(ansible -m)) are not recorded.
requirements:
  - Enable it with C(callbacks_enabled = pynomaly.incident_response.incident_timeline) in ansible.cfg
    (or C(ANSIBLE_CALLBACKS_ENABLED)).
options:
  output_dir:
    description: Folder the timelines are written to (created when missing).
    type: path
    default: ./incident-reports
    env:
      - name: INCIDENT_TIMELINE_DIR
    ini:
      - section: callback_incident_timeline
        key: output_dir
  record_all_runs:
    description: Also write a timeline for runs that mark no milestone.
    type: bool
    default: true
    env:
      - name: INCIDENT_TIMELINE_ALL_RUNS
    ini:
      - section: callback_incident_timeline
        key: record_all_runs
  max_result_chars:
    description: Bound on the JSON size of the results kept per task; longer values are cut.
    type: int
    default: 2000
    env:
      - name: INCIDENT_TIMELINE_MAX_RESULT_CHARS
    ini:
      - section: callback_incident_timeline
        key: max_result_chars
"""

import json
import os
import re
import uuid

from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.identity import (
    HOLDER_ENV,
    RUN_ID_ENV,
    run_holder,
)
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.record import apply_op
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.spool import Spool
from ansible_collections.pynomaly.incident_response.plugins.module_utils.incident.store import LocalStore
from ansible_collections.pynomaly.incident_response.plugins.plugin_utils import incident_keeper
from ansible_collections.pynomaly.incident_response.plugins.plugin_utils.timeline_report import (
    build_document,
    iso,
    render_html,
    render_markdown,
    utcnow,
)

# Keys that repeat the task's status, carry the module's arguments, or are bulky by nature.
DROPPED_KEYS = frozenset((
    "invocation", "diff", "stdout_lines", "stderr_lines", "ansible_facts", "changed", "failed", "skipped",
    "unreachable", "module_stdout", "module_stderr", "exception", "deprecations", "warnings", "censored",
))
CENSORED = "hidden: the task ran with no_log"
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _task_name(task):
    """The task's name without its role prefix (include_role tasks take no argument)."""
    try:
        return task.get_name(include_role_fqcn=False)
    except TypeError:
        return task.get_name()


def _attr(obj, *names):
    for name in names:
        if hasattr(obj, name):
            return getattr(obj, name)
    return None


def _truncate(value, limit):
    text = json.dumps(value, default=str, sort_keys=True)
    if len(text) <= limit:
        return value
    return text[:limit] + "... (cut)"


def key_results(task, result, limit):
    """What the module returned that matters for a post-mortem, bounded, and never a no_log result."""
    if (task is not None and task.no_log is True) or result.get("_ansible_no_log") or "censored" in result:
        return {"censored": CENSORED}
    kept = {}
    budget = limit
    for key in sorted(result):
        if key.startswith("_ansible") or key in DROPPED_KEYS or budget <= 0:
            continue
        value = result[key]
        if key == "results" and isinstance(value, list):
            value = [{"item": r.get("_ansible_item_label", r.get("item")) if not r.get("_ansible_no_log") else CENSORED,
                      "changed": bool(r.get("changed")), "failed": bool(r.get("failed")),
                      "skipped": bool(r.get("skipped"))} if isinstance(r, dict) else "?" for r in value]
        value = _truncate(value, max(budget, 40))
        kept[key] = value
        budget -= len(json.dumps(value, default=str))
    return kept


def _milestones(data):
    """The incident_milestone results of a task, looped or not, leaving out no_log items."""
    found = []
    for item in [data] + [r for r in data.get("results") or [] if isinstance(r, dict)]:
        milestone = item.get("incident_milestone")
        if isinstance(milestone, dict) and not item.get("_ansible_no_log") and "censored" not in item:
            found.append(milestone)
    return found


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pynomaly.incident_response.incident_timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._run = None
        self._starts = {}
        self._task_started = {}
        self._home = {}  # where the incident record is: keeper socket, local store or spool

    # --- collecting -------------------------------------------------------------------

    def v2_playbook_on_start(self, playbook):
        run_id = uuid.uuid4().hex
        os.environ[RUN_ID_ENV] = run_id
        os.environ[HOLDER_ENV] = run_holder(pid=os.getpid(), run_id=run_id)
        self._home = {}
        self._run = {
            "run_id": run_id,
            "holder": os.environ[HOLDER_ENV],
            "playbook": os.path.basename(_attr(playbook, "_file_name") or "playbook"),
            "playbook_path": _attr(playbook, "_file_name"),
            "started": iso(utcnow()),
            "ended": None,
            "check_mode": bool(context.CLIARGS.get("check", False)),
            "incident_id": None,
            "tasks": [],
            "milestones": [],
            "stats": {},
        }

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_started[task._uuid] = utcnow()

    def v2_playbook_on_handler_task_start(self, task):
        self._task_started[task._uuid] = utcnow()

    def v2_runner_on_start(self, host, task):
        self._starts[(host.get_name(), task._uuid)] = utcnow()

    def _record(self, result, status):
        if self._run is None:
            return
        try:
            self._record_unsafe(result, status)
        except Exception as exc:  # noqa: BLE001 - a timeline problem must never break an incident run
            self._display.warning("incident_timeline: could not record a task: %s" % exc)

    def _record_unsafe(self, result, status):
        task = _attr(result, "task", "_task")
        host = _attr(result, "host", "_host")
        data = _attr(result, "result", "_result") or {}
        host_name = host.get_name() if host is not None else None
        ended = utcnow()
        started = self._starts.pop((host_name, task._uuid), None) or self._task_started.get(task._uuid) or ended
        if status == "ok" and data.get("changed"):
            status = "changed"
        entry = {
            "task": _task_name(task),
            "action": task.action,
            "role": task._role.get_name() if task._role else None,
            "host": host_name,
            "started": iso(started),
            "ended": iso(ended),
            "duration": round((ended - started).total_seconds(), 3),
            "status": status,
            "changed": bool(data.get("changed")),
            "results": key_results(task, data, self.get_option("max_result_chars")),
        }
        if status == "failed" and not entry["results"].get("censored"):
            entry["error"] = str(data.get("msg", ""))[:500]
        self._run["tasks"].append(entry)
        if not entry["results"].get("censored"):
            for milestone in _milestones(data):
                self._add_milestone(milestone, host_name)
            if task.action.endswith("incident") and data.get("incident_id") and not data.get("failed"):
                self._joined(data)
        self._stream()

    def _joined(self, data):
        """The incident action told where the record is: follow it for the rest of the run."""
        if self._run["incident_id"] is None:
            self._run["incident_id"] = data["incident_id"]
        if data["incident_id"] != self._run["incident_id"]:
            return
        if isinstance(data.get("incident_keeper"), dict):
            self._home = {"keeper": data["incident_keeper"]["socket"]}
        elif data.get("incident_local_store"):
            self._home = {"local": data["incident_local_store"]}
        elif data.get("store") == "deferred" and data.get("deferred"):
            self._home = {"spool": os.path.dirname(data["deferred"])}

    def _stream(self):
        if self._home.get("keeper"):
            try:
                incident_keeper.send(self._home["keeper"], {"op": "run", "run": self._run}, timeout=5)
            except OSError as exc:
                self._display.warning("incident_timeline: the record keeper did not take the timeline (%s); "
                                      "it is sent again at the end of the run" % exc)

    def _add_milestone(self, milestone, host_name):
        if milestone.get("incident_id") and milestone.get("milestone"):
            mark = dict(milestone, host=host_name, playbook=self._run["playbook"])
            self._run["milestones"].append(mark)
            if self._run["incident_id"] is None:
                self._run["incident_id"] = milestone["incident_id"]
            elif self._run["incident_id"] != milestone["incident_id"]:
                self._display.warning("incident_timeline: this run marks milestones of two incidents (%s, %s); it "
                                      "is filed under the first" % (self._run["incident_id"],
                                                                    milestone["incident_id"]))

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    # --- writing ----------------------------------------------------------------------

    def v2_playbook_on_stats(self, stats):
        if self._run is None:
            return
        try:
            self._run["ended"] = iso(utcnow())
            for host in sorted(stats.processed):
                self._run["stats"][host] = stats.summarize(host)
            folder = self._write(self._run)
            if folder:
                self._display.display("incident timeline: %s" % os.path.join(folder, "postmortem.html"),
                                      stderr=True)
        except Exception as exc:  # noqa: BLE001 - a timeline problem must never fail the incident run
            self._display.warning("incident_timeline: could not write the timeline: %s" % exc)
        finally:
            self._run = None

    def _write(self, run):
        root = os.path.expanduser(self.get_option("output_dir"))
        incident_id = run["incident_id"]
        if incident_id:
            folder = os.path.join(root, SAFE_NAME.sub("_", incident_id))
            if run["check_mode"]:
                folder = os.path.join(folder, "dry-run")
                runs = [run]
            else:
                runs = self._save(run)
        elif self.get_option("record_all_runs"):
            stamp = run["started"].replace(":", "").replace("-", "")[:15]
            name = "%s-%s" % (stamp, SAFE_NAME.sub("_", os.path.splitext(run["playbook"])[0]))
            folder = os.path.join(root, "runs", name)
            runs = [run]
        else:
            return None
        os.makedirs(folder, mode=0o750, exist_ok=True)
        document = build_document(incident_id or os.path.basename(folder), runs)
        _write_atomic(os.path.join(folder, "timeline.json"), json.dumps(document, indent=2, default=str) + "\n")
        _write_atomic(os.path.join(folder, "postmortem.md"), render_markdown(document))
        _write_atomic(os.path.join(folder, "postmortem.html"), render_html(document))
        return folder

    def _save(self, run):
        """Put the run into the incident record; the record's whole timeline (for the post-mortem)."""
        home = self._home
        if home.get("keeper"):
            try:
                answer = incident_keeper.send(home["keeper"], {"op": "finish", "run": run}, timeout=60, reply=True)
            except (OSError, ValueError) as exc:
                self._display.warning("incident_timeline: the record keeper did not answer (%s); this run's "
                                      "timeline may be missing from the incident record" % exc)
                return [run]
            answer = answer or {}
            if answer.get("lease_lost"):
                self._display.warning("incident_timeline: this run's Lease on %s expired and was taken by another "
                                      "run while it was running" % run["incident_id"])
            if not answer.get("ok"):
                self._display.warning("incident_timeline: the incident record could not be written (%s); the "
                                      "timeline is kept aside in %s for the next run"
                                      % (answer.get("error"), answer.get("spooled")))
            return answer.get("runs") or [run]
        if home.get("local"):
            store = LocalStore(home["local"])
            _before, after = store.update(run["incident_id"], lambda r, t: apply_op(r, t, {"op": "run", "run": run}))
            return after.timeline.get("runs") or [run]
        if home.get("spool"):
            path = Spool(home["spool"]).add(run["incident_id"], {"op": "run", "run": run})
            self._display.warning("incident_timeline: the cluster did not answer; this run's timeline is kept aside "
                                  "in %s and written to the incident record by the next run that reaches it" % path)
            return [run]
        # A run that never opened the incident record (it only marked milestones): this run alone.
        self._display.warning("incident_timeline: this run never opened or joined %s's record (the incident "
                              "module), so its timeline holds this run only" % run["incident_id"])
        return [run]
