# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backups a retention policy removes - pure, so every rule is unit-tested."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The seed's policy: database kept 30 days, configuration 90 days, ML models 180 days.
DEFAULT_KEEP_DAYS = {"database": 30, "config": 90, "models": 180, "full": 30}


def plan_prune(backups, now, keep_days, keep_min):
    """Split complete backups of one type into (keep, remove).

    backups: dicts with id, started (aware datetime) and verified_ok (bool).
    Kept: the keep_min newest, every backup younger than keep_days, and the newest verified
    one whatever its age (the last restore point known to work is never deleted).
    Returns two lists of (backup, reason), newest first.
    """
    ordered = sorted(backups, key=lambda b: (b["started"], b["id"]), reverse=True)
    newest_verified = next((b["id"] for b in ordered if b.get("verified_ok")), None)
    keep, remove = [], []
    for position, backup in enumerate(ordered):
        age_days = (now - backup["started"]).total_seconds() / 86400.0
        if position < keep_min:
            keep.append((backup, "among the %d newest (keep_min)" % keep_min))
        elif age_days <= keep_days:
            keep.append((backup, "younger than %s days" % keep_days))
        elif backup["id"] == newest_verified:
            keep.append((backup, "newest verified backup"))
        else:
            remove.append((backup, "%.1f days old, older than %s days" % (age_days, keep_days)))
    return keep, remove
