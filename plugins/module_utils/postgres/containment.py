# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry out a signal plan: cancel, wait (polling, never a fixed sleep), terminate what still holds on.

Each planned entry is a session dict with ``step`` (cancel | terminate | cancel_then_terminate) and
``why``. The result is one action record per session: pid, user, what, why, result, effective.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.errors import SignalError
from ansible_collections.pynomaly.incident_response.plugins.module_utils.postgres.signals import (
    GONE,
    BackendSession,
)

ACTION_FIELDS = ("pid", "user", "application", "database", "client", "backend_start", "state", "query")
ALREADY_GONE = "already gone: the session ended (or its pid was reused) before the signal, nothing sent"


def action_record(planned, result, effective):
    record = dict((key, planned.get(key)) for key in ACTION_FIELDS)
    record.update({"what": planned["step"], "why": planned["why"], "result": result, "effective": effective})
    return record


def would_do(planned, target, escalate_after):
    """The action a real run would take, for check mode (no signal is sent)."""
    step = planned["step"]
    if step == "cancel_then_terminate":
        text = "would cancel, then terminate if still %s after %ss" % (
            "blocking" if target == "blockers" else "running", escalate_after)
    else:
        text = "would %s" % step
    return action_record(planned, "check mode: " + text, False)


class Containment(object):
    """Signals the planned sessions over the module's own connection."""

    def __init__(self, conn, server_version_num, target, escalate_after, signal_timeout,
                 poll_interval=0.05, clock=time.monotonic, sleep=time.sleep):
        self.conn = conn
        self.server_version_num = server_version_num
        self.target = target
        self.escalate_after = escalate_after
        self.signal_timeout = signal_timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep

    def _backend(self, planned):
        return BackendSession(self.conn, planned["pid"], planned["backend_start"], self.server_version_num)

    def _settled(self, backend, before):
        """True once a cancelled session no longer holds things up."""
        if self.target == "blockers":
            return not backend.still_blocks()
        now = backend.activity()
        return now is None or now[0] != "active" or now[1] != before[1]

    def _interrupted(self, backend, before):
        now = backend.activity()
        return now is None or tuple(now) != tuple(before)

    def _terminate(self, backend):
        confirmed = backend.terminate(self.signal_timeout)
        if confirmed is True and self.server_version_num < 140000:
            confirmed = self._wait(lambda: not backend.alive(), self.signal_timeout)
        return confirmed

    def _wait(self, condition, timeout):
        deadline = self.clock() + timeout
        while True:
            if condition():
                return True
            if self.clock() >= deadline:
                return False
            self.sleep(self.poll_interval)

    def run(self, plan):
        actions = []
        try:
            self._run(plan, actions)
        except SignalError as exc:
            exc.details["actions"] = actions
            raise
        unconfirmed = [a for a in actions if a["result"].startswith("terminate not confirmed")]
        if unconfirmed:
            raise SignalError(
                "pg_terminate_backend() could not confirm that pid(s) %s exited within signal_timeout (%ss); "
                "check them with pg_stat_activity before retrying" % (
                    ", ".join(str(a["pid"]) for a in unconfirmed), self.signal_timeout),
                actions=actions)
        return actions

    def _run(self, plan, actions):
        cancelled = []
        for planned in plan:
            backend = self._backend(planned)
            if planned["step"] == "terminate":
                actions.append(self._terminate_record(planned, backend, "terminated"))
                continue
            before = backend.activity()
            sent = backend.cancel() if before is not None else GONE
            if sent is GONE:
                actions.append(action_record(planned, ALREADY_GONE, False))
            elif not sent:
                actions.append(action_record(planned, "cancel refused by the server (not a PostgreSQL backend)",
                                             False))
            else:
                cancelled.append((planned, backend, before))
        # Every cancel is in flight: now wait for all of them together.
        for planned, backend, before in cancelled:
            if planned["step"] == "cancel":
                took = self._wait(lambda b=backend, s=before: self._interrupted(b, s), self.signal_timeout)
                result = "cancelled" if took else "cancel sent, but the statement was still running after %ss" % (
                    self.signal_timeout)
                if took and self.target == "blockers" and backend.still_blocks():
                    result = "cancelled, but it still holds its locks (its transaction is still open)"
                actions.append(action_record(planned, result, took))
        pending = [(p, b, s) for p, b, s in cancelled if p["step"] == "cancel_then_terminate"]
        deadline = self.clock() + self.escalate_after
        while pending:
            pending = [(p, b, s) for p, b, s in pending if not self._settle_or_record(p, b, s, actions)]
            if not pending:
                break
            if self.clock() >= deadline:
                for planned, backend, _before in pending:
                    actions.append(self._terminate_record(
                        planned, backend, "cancelled, then terminated (still %s after %ss)" % (
                            "blocking" if self.target == "blockers" else "running", self.escalate_after),
                        gone_text="cancelled"))
                break
            self.sleep(self.poll_interval)

    def _settle_or_record(self, planned, backend, before, actions):
        if self._settled(backend, before):
            actions.append(action_record(planned, "cancelled", True))
            return True
        return False

    def _terminate_record(self, planned, backend, done_text, gone_text=None):
        confirmed = self._terminate(backend)
        if confirmed is GONE:
            # After a cancel, a session that ended on its own was ended by that cancel.
            return action_record(planned, gone_text, True) if gone_text else action_record(planned, ALREADY_GONE, False)
        if confirmed:
            return action_record(planned, done_text, True)
        return action_record(planned, "terminate not confirmed: still there after %ss" % self.signal_timeout, True)
