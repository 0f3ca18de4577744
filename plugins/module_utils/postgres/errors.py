# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failures of lock triage and containment. module_utils raise these; the module turns them into fail_json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class PgLocksError(Exception):
    """Lock triage or containment failed; the message is meant for the on-call engineer."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details


class LockQueryError(PgLocksError):
    """Reading pg_stat_activity / pg_locks failed (for instance the statement_timeout guard fired)."""


class TooManySessionsError(PgLocksError):
    """More sessions qualify than max_sessions allows; nothing was signalled."""


class SignalError(PgLocksError):
    """A cancel or terminate failed or could not be confirmed; details carry the actions taken so far."""
