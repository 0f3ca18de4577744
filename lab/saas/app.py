"""Assemble the stand-ins into one aiohttp application."""
import json
import time

from aiohttp import web

from saas import admin, pagerduty, slack, statuspage
from saas.calllog import CallLog, service_for
from saas.faults import Faults, error_response


def _parse_body(raw, content_type):
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if content_type == "application/json" or text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


@web.middleware
async def record_calls(request, handler):
    """Record every call to a stand-in (not the admin API) with the status it was answered."""
    service = service_for(request.path)
    if service is None:
        return await handler(request)
    started = time.time()
    body = _parse_body(await request.read(), request.content_type)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        request.app["calls"].record(service, request, body, exc.status, started)
        raise
    request.app["calls"].record(service, request, body, response.status, started,
                                retry_after=response.headers.get("Retry-After"))
    return response


@web.middleware
async def injected_faults(request, handler):
    service = service_for(request.path)
    fault = request.app["faults"].take(service, request.method) if service else None
    if fault is None:
        return await handler(request)
    if fault["after_processing"]:
        await handler(request)
    return error_response(fault)


def build_app(settings):
    """settings: page_id, statuspage_api_key, slack_team, slack_bot, slack_token, pagerduty_routing_key."""
    app = web.Application(middlewares=[record_calls, injected_faults, statuspage.statuspage_guard])
    app["calls"] = CallLog()
    app["faults"] = Faults()
    app["statuspage"] = statuspage.StatuspageStore(settings["page_id"], settings["statuspage_api_key"])
    app["slack"] = {"team": settings["slack_team"], "bot": settings["slack_bot"], "token": settings["slack_token"]}
    app["pagerduty"] = {"routing_key": settings["pagerduty_routing_key"]}
    for part in (statuspage, slack, pagerduty, admin):
        part.add_routes(app)
    return app
