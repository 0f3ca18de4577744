# -*- coding: utf-8 -*-
# Copyright: Contributors to the pynomaly.incident_response collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Statuspage incident: find it, work out what differs from the task, and write only that."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage import api
from ansible_collections.pynomaly.incident_response.plugins.module_utils.statuspage.errors import (
    GaveUp,
    InvalidRequest,
    NotFound,
    WriteOutcomeUnknown,
)

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
IMPACTS = ("none", "minor", "major", "critical")
COMPONENT_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")


def resolve_components(wanted, components):
    """{component name or id: status} -> {component id: status}, using the page's component list.

    An id wins over a name; names match exactly, then case-insensitively. Unknown or ambiguous
    names raise InvalidRequest naming what exists, before anything is written.
    """
    by_id = dict((comp["id"], comp) for comp in components)
    resolved = {}
    problems = []
    for key, status in (wanted or {}).items():
        if status not in COMPONENT_STATUSES:
            problems.append("%r: status %r is not one of %s" % (key, status, ", ".join(COMPONENT_STATUSES)))
            continue
        if key in by_id:
            resolved[key] = status
            continue
        named = [comp for comp in components if comp.get("name") == key]
        if not named:
            named = [comp for comp in components if (comp.get("name") or "").lower() == str(key).lower()]
        if len(named) == 1:
            resolved[named[0]["id"]] = status
        elif named:
            problems.append("%r names %d components (ids %s); use an id" % (
                key, len(named), ", ".join(comp["id"] for comp in named)))
        else:
            problems.append("%r is neither a component name nor an id on this page" % key)
    if problems:
        raise InvalidRequest(
            "Unknown components: %s. The page's components are: %s." % (
                "; ".join(problems), ", ".join("%s (%s)" % (c.get("name"), c["id"]) for c in components)),
            components=[dict(id=c["id"], name=c.get("name"), status=c.get("status")) for c in components])
    return resolved


def latest_update(incident):
    """The newest incident update (by created_at; the API lists newest first, which breaks ties)."""
    updates = (incident or {}).get("incident_updates") or []
    newest = None
    for update in updates:
        if newest is None or (update.get("created_at") or "") > (newest.get("created_at") or ""):
            newest = update
    return newest


def pick_by_name(incidents, name):
    matches = [inc for inc in incidents if inc.get("name") == name]
    if len(matches) > 1:
        raise InvalidRequest(
            "%d unresolved incidents are named %r (ids %s); pass incident_id to say which one." % (
                len(matches), name, ", ".join(inc["id"] for inc in matches)),
            incident_ids=[inc["id"] for inc in matches])
    return matches[0] if matches else None


def plan_create(desired, component_ids):
    fields = {"name": desired["name"], "status": desired.get("status") or "investigating"}
    if desired.get("impact"):
        fields["impact_override"] = desired["impact"]
    if desired.get("body"):
        fields["body"] = desired["body"]
    if component_ids:
        fields["components"] = dict(component_ids)
        fields["component_ids"] = sorted(component_ids)
    return fields


def plan_update(incident, desired, component_ids, components_by_id):
    """The fields a PATCH must carry for the incident to match the task; empty when nothing differs."""
    fields = {}
    if desired.get("rename") and desired.get("name") and desired["name"] != incident.get("name"):
        fields["name"] = desired["name"]
    if desired.get("status") and desired["status"] != incident.get("status"):
        fields["status"] = desired["status"]
    if desired.get("impact"):
        current = incident.get("impact_override") or incident.get("impact")
        if desired["impact"] != current:
            fields["impact_override"] = desired["impact"]
    if desired.get("body"):
        newest = latest_update(incident)
        if newest is None or (newest.get("body") or "") != desired["body"]:
            fields["body"] = desired["body"]
    attached = set(comp.get("id") for comp in incident.get("components") or [])
    changed_components = {}
    for cid, status in (component_ids or {}).items():
        current = (components_by_id.get(cid) or {}).get("status")
        if current != status or cid not in attached:
            changed_components[cid] = status
    if changed_components:
        fields["components"] = changed_components
        fields["component_ids"] = sorted(attached | set(changed_components))
    return fields


def summarize(incident, components_by_id):
    """What --diff shows of an incident: the fields this module manages, components by name."""
    if not incident:
        return {}
    newest = latest_update(incident)
    comps = {}
    for comp in incident.get("components") or []:
        current = components_by_id.get(comp.get("id"), comp)
        comps[current.get("name") or comp.get("id")] = current.get("status")
    return {
        "name": incident.get("name"),
        "status": incident.get("status"),
        "impact": incident.get("impact_override") or incident.get("impact"),
        "body": newest.get("body") if newest else None,
        "components": comps,
    }


def predict(before, fields, components_by_id):
    """The summary after `fields` are applied to an incident summarised as `before`."""
    after = dict(before or {"name": None, "status": None, "impact": "none", "body": None, "components": {}})
    after["components"] = dict(after.get("components") or {})
    for key in ("name", "status", "body"):
        if key in fields:
            after[key] = fields[key]
    if "impact_override" in fields:
        after["impact"] = fields["impact_override"]
    for cid, status in (fields.get("components") or {}).items():
        after["components"][(components_by_id.get(cid) or {}).get("name") or cid] = status
    return after


class StatuspageIncident(object):
    """The incident a task names, by `incident_id` or by `name` among the unresolved ones."""

    def __init__(self, client, incident_id=None, name=None):
        self.client = client
        self.incident_id = incident_id
        self.name = name

    def find(self, want_resolved):
        """The incident, or None. By name: among unresolved ones, else (when resolving) the newest of that name."""
        if self.incident_id:
            return api.get_incident(self.client, self.incident_id)
        found = pick_by_name(api.list_unresolved_incidents(self.client), self.name)
        if found is None and want_resolved:
            found = api.find_latest_incident_named(self.client, self.name)
        return found

    def ensure(self, state, desired, deliver_notifications, check_mode):
        """Make the incident match; return (changed, operation, incident, write, diff).

        A write whose outcome is unknown (5xx, lost connection) is never repeated blindly: the
        whole read-plan-write pass runs again, so a create that did happen is found, not repeated,
        and an update already posted is not posted twice.
        """
        first_try = None
        attempt = 1
        while True:
            try:
                outcome = self._ensure_once(state, desired, deliver_notifications, check_mode)
            except WriteOutcomeUnknown as exc:
                first_try = first_try or exc.details.get("planned")
                if attempt >= self.client.max_attempts or not self.client.backoff(attempt):
                    raise GaveUp("Gave up after %d attempt(s) to write the incident in %.1fs; the last answer "
                                 "was: %s" % (attempt, self.client.elapsed(), exc.details.get("last_error")),
                                 attempts=attempt) from exc
                attempt += 1
                continue
            if first_try is None:
                return outcome
            # Report the run as a whole: what it set out to do, from the state it first read, and
            # changed even when the first write took effect although its answer was lost.
            changed, _operation, incident, write, diff = outcome
            operation, first_write, before = first_try
            return True, operation, incident, write if changed else first_write, \
                {"before": before, "after": diff["after"]}

    def _write(self, call, planned):
        try:
            return call()
        except WriteOutcomeUnknown as exc:
            exc.details["planned"] = planned
            raise

    def _ensure_once(self, state, desired, deliver_notifications, check_mode):
        want_resolved = state == "resolved" or desired.get("status") == "resolved"
        if state == "resolved":
            desired = dict(desired, status="resolved")
        components, component_ids = [], {}
        if desired.get("components") and state != "absent":
            components = api.list_components(self.client)
            component_ids = resolve_components(desired["components"], components)
        components_by_id = dict((comp["id"], comp) for comp in components)

        incident = self.find(want_resolved)
        if incident is None and self.incident_id and state != "absent":
            raise NotFound("There is no incident %r on page %r." % (self.incident_id, self.client.page_id),
                           incident_id=self.incident_id)
        before = summarize(incident, components_by_id)

        if state == "absent":
            if incident is None:
                return False, "none", None, None, {"before": {}, "after": {}}
            write = self._planned("DELETE", "/incidents/%s" % incident["id"], None, check_mode)
            result = incident if check_mode else api.delete_incident(self.client, incident["id"])
            return True, "deleted", result, write, {"before": before, "after": {}}

        if incident is None:
            if state == "resolved":
                # Nothing open by that name and none ever resolved: there is nothing to resolve.
                return False, "none", None, None, {"before": {}, "after": {}}
            fields = plan_create(desired, component_ids)
            fields["deliver_notifications"] = deliver_notifications
            write = self._planned("POST", "/incidents", {"incident": fields}, check_mode)
            after = predict({}, fields, components_by_id)
            result = None
            if not check_mode:
                result = self._write(lambda: api.create_incident(self.client, fields), ("created", write, {}))
            return True, "created", result, write, {"before": {}, "after": after}

        fields = plan_update(incident, desired, component_ids, components_by_id)
        if not fields:
            return False, "none", incident, None, {"before": before, "after": before}
        operation = "resolved" if fields.get("status") == "resolved" else "updated"
        fields["deliver_notifications"] = deliver_notifications
        write = self._planned("PATCH", "/incidents/%s" % incident["id"], {"incident": fields}, check_mode)
        after = predict(before, fields, components_by_id)
        result = incident
        if not check_mode:
            result = self._write(lambda: api.update_incident(self.client, incident["id"], fields),
                                 (operation, write, before))
        return True, operation, result, write, {"before": before, "after": after}

    @staticmethod
    def _planned(method, path, body, check_mode):
        """The write as the module reports it; `sent` is false in check mode."""
        return {"method": method, "path": path, "body": body, "sent": not check_mode}
