"""Atlassian Statuspage REST API v1 (the subset incident response uses), kept in memory.

Shapes follow https://developer.statuspage.io: incidents with incident_updates and
components, component statuses, `Authorization: OAuth <key>` and a per-key rate limit of
1 request per second measured on a rolling 60-second window (429 with Retry-After).
"""
import math
import secrets
import string
import time
from collections import deque

from aiohttp import web

from saas.calllog import utc_iso

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
UNRESOLVED = ("investigating", "identified", "monitoring")
IMPACTS = ("none", "maintenance", "minor", "major", "critical")
COMPONENT_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
# The impact Statuspage derives from the worst affected component when no impact_override is set.
_COMPONENT_IMPACT = {"major_outage": "critical", "partial_outage": "major", "degraded_performance": "minor"}
DEFAULT_COMPONENTS = ("API", "Database", "Web App", "Model Training", "Notifications")
MAX_PER_PAGE = 100


def new_id(length=12):
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def error(status, message):
    return web.json_response({"error": message}, status=status)


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class RateLimiter:
    """`requests` per `window` seconds per API key, on a rolling window (Statuspage: 60 per 60 s)."""

    def __init__(self, requests=60, window=60.0, enabled=True):
        self.configure(enabled=enabled, requests=requests, window=window)

    def configure(self, enabled=None, requests=None, window=None):
        if enabled is not None:
            self.enabled = bool(enabled)
        if requests is not None:
            self.requests = int(requests)
        if window is not None:
            self.window = float(window)
        self._seen = {}

    def settings(self):
        return {"enabled": self.enabled, "requests": self.requests, "window": self.window}

    def retry_after(self, key):
        """Seconds the caller must wait, or 0 when this request is admitted (and counted)."""
        if not self.enabled:
            return 0
        now = time.monotonic()
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.requests:
            return max(1, math.ceil(seen[0] + self.window - now))
        seen.append(now)
        return 0


class StatuspageStore:
    def __init__(self, page_id, api_key):
        self.page_id = page_id
        self.api_key = api_key
        self.limiter = RateLimiter()
        self.created_at = utc_iso()
        self.reset()

    def reset(self):
        self.incidents = {}
        self.components = {}
        self._seq = 0
        self.limiter.configure(enabled=True, requests=60, window=60)
        for position, name in enumerate(DEFAULT_COMPONENTS, start=1):
            self.add_component(name, position)

    # --- components -------------------------------------------------------------------
    def add_component(self, name, position):
        now = utc_iso()
        comp = {
            "id": new_id(), "page_id": self.page_id, "group_id": None, "created_at": now, "updated_at": now,
            "group": False, "name": name, "description": None, "position": position, "status": "operational",
            "showcase": True, "only_show_if_degraded": False,
            "automation_email": f"component+{new_id()}@notifications.statuspage.io",
            "start_date": None,
        }
        self.components[comp["id"]] = comp
        return comp

    def component(self, component_id):
        comp = self.components.get(component_id)
        if comp is None:
            raise ApiError(404, f"Component {component_id} not found")
        return comp

    def set_component_status(self, comp, status):
        if status not in COMPONENT_STATUSES:
            raise ApiError(422, f"Status must be one of {', '.join(COMPONENT_STATUSES)}")
        old = comp["status"]
        if old != status:
            comp["status"] = status
            comp["updated_at"] = utc_iso()
        return {"code": comp["id"], "name": comp["name"], "old_status": old, "new_status": status}

    # --- incidents ------------------------------------------------------------------------
    def incident(self, incident_id):
        inc = self.incidents.get(incident_id)
        if inc is None:
            raise ApiError(404, "The incident could not be found")
        return inc

    def render(self, inc):
        """The incident as the API returns it: affected components carry their current status."""
        data = {key: value for key, value in inc.items() if not key.startswith("_")}
        data["components"] = [dict(self.components[cid]) for cid in inc["_component_ids"] if cid in self.components]
        data["impact"] = inc["impact_override"] or self._derived_impact(data["components"])
        data["incident_updates"] = [dict(update) for update in reversed(inc["_updates"])]
        return data

    @staticmethod
    def _derived_impact(components):
        worst = "none"
        order = ("none", "minor", "major", "critical")
        for comp in components:
            impact = _COMPONENT_IMPACT.get(comp["status"], "none")
            if order.index(impact) > order.index(worst):
                worst = impact
        return worst

    def _validate(self, fields, creating):
        if not isinstance(fields, dict):
            raise ApiError(400, "The request body must be a JSON object with an 'incident' object")
        if creating and not str(fields.get("name") or "").strip():
            raise ApiError(422, "Name can't be blank")
        if "name" in fields and not isinstance(fields["name"], str):
            raise ApiError(422, "Name must be a string")
        if "status" in fields and fields["status"] not in INCIDENT_STATUSES:
            raise ApiError(422, f"Status must be one of {', '.join(INCIDENT_STATUSES)}")
        if fields.get("impact_override") is not None and fields["impact_override"] not in IMPACTS:
            raise ApiError(422, f"Impact override must be one of {', '.join(IMPACTS)}")
        if "body" in fields and fields["body"] is not None and not isinstance(fields["body"], str):
            raise ApiError(422, "Body must be a string")
        components = fields.get("components") or {}
        if not isinstance(components, dict):
            raise ApiError(422, "Components must be an object of component id to status")
        ids = fields.get("component_ids") or []
        if not isinstance(ids, list):
            raise ApiError(422, "Component ids must be a list")
        for cid in [*ids, *components]:
            self.component(cid)
        for status in components.values():
            if status not in COMPONENT_STATUSES:
                raise ApiError(422, f"Component status must be one of {', '.join(COMPONENT_STATUSES)}")

    def create_incident(self, fields, seq_time=None):
        self._validate(fields, creating=True)
        now = utc_iso(seq_time)
        self._seq += 1
        inc = {
            "id": new_id(), "name": fields["name"], "status": fields.get("status") or "investigating",
            "impact": "none", "impact_override": fields.get("impact_override"),
            "created_at": now, "updated_at": now, "started_at": now, "monitoring_at": None, "resolved_at": None,
            "shortlink": f"https://stspg.io/{new_id(5)}", "page_id": self.page_id,
            "postmortem_body": None, "postmortem_body_last_updated_at": None, "postmortem_ignored": False,
            "postmortem_notified_subscribers": False, "postmortem_notified_twitter": False,
            "postmortem_published_at": None, "scheduled_for": None, "scheduled_until": None,
            "scheduled_remind_prior": False, "scheduled_reminded_at": None, "scheduled_auto_in_progress": False,
            "scheduled_auto_completed": False, "metadata": fields.get("metadata") or {}, "reminder_intervals": None,
            "_seq": self._seq, "_component_ids": [], "_updates": [],
        }
        self._stamp_status(inc, inc["status"], now)
        self.incidents[inc["id"]] = inc
        affected = self._apply_components(inc, fields)
        self._add_update(inc, fields.get("body") or "", affected, fields.get("deliver_notifications", True), now)
        return inc

    def update_incident(self, inc, fields):
        self._validate(fields, creating=False)
        now = utc_iso()
        status_changed = "status" in fields and fields["status"] != inc["status"]
        if "name" in fields:
            inc["name"] = fields["name"]
        if "impact_override" in fields:
            inc["impact_override"] = fields["impact_override"]
        if "metadata" in fields:
            inc["metadata"] = fields["metadata"] or {}
        if status_changed:
            inc["status"] = fields["status"]
            self._stamp_status(inc, inc["status"], now)
        affected = self._apply_components(inc, fields)
        if status_changed or fields.get("body") or any(a["old_status"] != a["new_status"] for a in affected):
            self._add_update(inc, fields.get("body") or "", affected, fields.get("deliver_notifications", True), now)
        inc["updated_at"] = now
        return inc

    @staticmethod
    def _stamp_status(inc, status, now):
        if status == "monitoring" and not inc["monitoring_at"]:
            inc["monitoring_at"] = now
        inc["resolved_at"] = now if status == "resolved" else None

    def _apply_components(self, inc, fields):
        affected = []
        for cid in fields.get("component_ids") or []:
            if cid not in inc["_component_ids"]:
                inc["_component_ids"].append(cid)
        for cid, status in (fields.get("components") or {}).items():
            if cid not in inc["_component_ids"]:
                inc["_component_ids"].append(cid)
            affected.append(self.set_component_status(self.components[cid], status))
        return affected

    @staticmethod
    def _add_update(inc, body, affected, deliver_notifications, now):
        inc["_updates"].append({
            "id": new_id(), "incident_id": inc["id"], "status": inc["status"], "body": body,
            "created_at": now, "updated_at": now, "display_at": now,
            "affected_components": affected or None, "deliver_notifications": bool(deliver_notifications),
            "custom_tweet": None, "tweet_id": None, "twitter_updated_at": None, "wants_twitter_update": False,
        })

    def listing(self, q=None, unresolved=False):
        found = sorted(self.incidents.values(), key=lambda inc: inc["_seq"], reverse=True)
        if unresolved:
            found = [inc for inc in found if inc["status"] in UNRESOLVED]
        if q:
            needle = q.lower()
            found = [inc for inc in found if needle in inc["name"].lower() or needle in inc["status"]
                     or any(needle in (u["body"] or "").lower() for u in inc["_updates"])]
        return found

    def seed(self, count, name="Seeded incident {n}", status="resolved"):
        if status not in INCIDENT_STATUSES:
            raise ApiError(422, f"Status must be one of {', '.join(INCIDENT_STATUSES)}")
        made = []
        for n in range(1, count + 1):
            made.append(self.create_incident({"name": name.format(n=n), "status": status,
                                              "body": f"Seeded by the lab ({n}/{count})."})["id"])
        return made


def _page_args(request, size_param):
    try:
        page = max(1, int(request.query.get("page", "1")))
        size = min(MAX_PER_PAGE, max(1, int(request.query.get(size_param, str(MAX_PER_PAGE)))))
    except ValueError as exc:
        raise ApiError(400, f"page and {size_param} must be integers") from exc
    return page, size


def _paginate(items, page, size):
    return items[(page - 1) * size:page * size]


async def _json_field(request, key):
    try:
        data = await request.json()
    except ValueError as exc:
        raise ApiError(400, "The request body is not valid JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise ApiError(400, f"The request body must be a JSON object with an '{key}' object")
    return data[key]


def _api_key(request):
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "oauth" and credential:
        return credential.strip()
    return request.query.get("api_key")


@web.middleware
async def statuspage_guard(request, handler):
    """Authentication, page lookup, the rate limit and API errors, for every /v1 route."""
    if not request.path.startswith("/v1/"):
        return await handler(request)
    store = request.app["statuspage"]
    key = _api_key(request)
    if key != store.api_key:
        return error(401, "Could not authenticate")
    wait = store.limiter.retry_after(key)
    if wait:
        resp = error(429, "Rate limit exceeded, retry later")
        resp.headers["Retry-After"] = str(wait)
        return resp
    page_id = request.match_info.get("page_id")
    if page_id is not None and page_id != store.page_id:
        return error(404, "The page could not be found")
    try:
        return await handler(request)
    except ApiError as exc:
        return error(exc.status, exc.message)


def _store(request):
    return request.app["statuspage"]


def _page_object(store):
    return {"id": store.page_id, "name": "Pynomaly (lab)", "url": "http://status.lab.invalid",
            "time_zone": "Etc/UTC", "created_at": store.created_at, "updated_at": store.created_at}


async def get_page(request):
    return web.json_response(_page_object(_store(request)))


async def list_pages(request):
    return web.json_response([_page_object(_store(request))])


async def list_incidents(request):
    store = _store(request)
    page, size = _page_args(request, "limit")
    found = store.listing(q=request.query.get("q"))
    return web.json_response([store.render(inc) for inc in _paginate(found, page, size)])


async def list_unresolved(request):
    store = _store(request)
    page, size = _page_args(request, "per_page")
    found = store.listing(unresolved=True)
    return web.json_response([store.render(inc) for inc in _paginate(found, page, size)])


async def create_incident(request):
    store = _store(request)
    inc = store.create_incident(await _json_field(request, "incident"))
    return web.json_response(store.render(inc), status=201)


async def get_incident(request):
    store = _store(request)
    return web.json_response(store.render(store.incident(request.match_info["incident_id"])))


async def update_incident(request):
    store = _store(request)
    inc = store.incident(request.match_info["incident_id"])
    store.update_incident(inc, await _json_field(request, "incident"))
    return web.json_response(store.render(inc))


async def delete_incident(request):
    store = _store(request)
    inc = store.incident(request.match_info["incident_id"])
    rendered = store.render(inc)
    del store.incidents[inc["id"]]
    return web.json_response(rendered)


async def list_components(request):
    store = _store(request)
    page, size = _page_args(request, "per_page")
    comps = sorted(store.components.values(), key=lambda comp: comp["position"])
    return web.json_response([dict(comp) for comp in _paginate(comps, page, size)])


async def get_component(request):
    return web.json_response(dict(_store(request).component(request.match_info["component_id"])))


async def update_component(request):
    store = _store(request)
    comp = store.component(request.match_info["component_id"])
    fields = await _json_field(request, "component")
    if "status" in fields:
        store.set_component_status(comp, fields["status"])
    for key in ("name", "description"):
        if key in fields:
            comp[key] = fields[key]
            comp["updated_at"] = utc_iso()
    return web.json_response(dict(comp))


def add_routes(app):
    base = "/v1/pages/{page_id}"
    app.router.add_get("/v1/pages", list_pages)
    app.router.add_get(base, get_page)
    app.router.add_get(base + "/incidents", list_incidents)
    app.router.add_post(base + "/incidents", create_incident)
    app.router.add_get(base + "/incidents/unresolved", list_unresolved)
    app.router.add_get(base + "/incidents/{incident_id}", get_incident)
    app.router.add_patch(base + "/incidents/{incident_id}", update_incident)
    app.router.add_put(base + "/incidents/{incident_id}", update_incident)
    app.router.add_delete(base + "/incidents/{incident_id}", delete_incident)
    app.router.add_get(base + "/components", list_components)
    app.router.add_get(base + "/components/{component_id}", get_component)
    app.router.add_patch(base + "/components/{component_id}", update_component)
    app.router.add_put(base + "/components/{component_id}", update_component)
