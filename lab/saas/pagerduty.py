"""PagerDuty Events API v2 (`POST /v2/enqueue`), validating events as events.pagerduty.com does.

202 {status: success, message: Event processed, dedup_key} when accepted; 400 {status: invalid
event, message: Event object is invalid, errors: [...]} otherwise.
"""
import uuid

from aiohttp import web

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255


def problems(event, routing_key):
    """Everything wrong with an event, in PagerDuty's words; empty when it is accepted."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors = []
    key = event.get("routing_key")
    if not key:
        errors.append("'routing_key' is missing or blank")
    elif not isinstance(key, str) or len(key) != 32:
        errors.append("'routing_key' must be 32 characters")
    elif key != routing_key:
        errors.append("Invalid routing key")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is missing or invalid (must be one of trigger, acknowledge, resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > MAX_DEDUP_KEY):
        errors.append(f"'dedup_key' must be a string of at most {MAX_DEDUP_KEY} characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append(f"'dedup_key' is required for event_action '{action}'")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
        else:
            summary = payload.get("summary")
            if not summary or not isinstance(summary, str):
                errors.append("'payload.summary' is missing or blank")
            elif len(summary) > MAX_SUMMARY:
                errors.append(f"'payload.summary' must be at most {MAX_SUMMARY} characters")
            if not payload.get("source") or not isinstance(payload.get("source"), str):
                errors.append("'payload.source' is missing or blank")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is missing or invalid (must be one of critical, error, "
                              "warning, info)")
    return errors


async def enqueue(request):
    try:
        event = await request.json()
    except ValueError:
        return web.json_response({"status": "invalid event", "message": "Event object is invalid",
                                  "errors": ["Request body is not valid JSON"]}, status=400)
    errors = problems(event, request.app["pagerduty"]["routing_key"])
    if errors:
        return web.json_response({"status": "invalid event", "message": "Event object is invalid",
                                  "errors": errors}, status=400)
    dedup_key = event.get("dedup_key") or uuid.uuid4().hex
    return web.json_response({"status": "success", "message": "Event processed", "dedup_key": dedup_key},
                             status=202)


def add_routes(app):
    app.router.add_post("/v2/enqueue", enqueue)
