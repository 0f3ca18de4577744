"""The lab-only admin API under /_lab/v1: read and clear the call log, inject faults, seed data."""
from aiohttp import web

from saas.calllog import SERVICES
from saas.statuspage import ApiError

PREFIX = "/_lab/v1"


def _service(request, allow_all=True):
    service = request.query.get("service") or request.match_info.get("service")
    if service in (None, "", "all") and allow_all:
        return None
    if service not in SERVICES:
        raise web.HTTPBadRequest(text=f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    return service


async def _body(request):
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text="the body must be JSON") from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return data


def _int(data, key, default, minimum=0):
    try:
        value = int(data.get(key, default))
    except (TypeError, ValueError) as exc:
        raise web.HTTPBadRequest(text=f"{key} must be an integer") from exc
    if value < minimum:
        raise web.HTTPBadRequest(text=f"{key} must be >= {minimum}")
    return value


def _settings(app):
    return {
        "rate_limit": app["statuspage"].limiter.settings(),
        "fail_next": app["faults"].pending(),
        "calls": {service: len(app["calls"].calls(service)) for service in SERVICES},
    }


async def health(request):
    return web.json_response({"status": "ok", **_settings(request.app)})


async def get_calls(request):
    return web.json_response(request.app["calls"].calls(_service(request)))


async def clear_calls(request):
    service = _service(request)
    request.app["calls"].clear(service)
    return web.json_response({"cleared": service or "all"})


async def fail_next(request):
    """Answer the next `count` requests (of `method`, if given) to a stand-in with `status` (default 500)."""
    service = _service(request, allow_all=False)
    data = await _body(request)
    count = _int(data, "count", 1)
    status = _int(data, "status", 500, minimum=400)
    method = data.get("method")
    if method is not None and method.upper() not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        raise web.HTTPBadRequest(text="method must be GET, POST, PATCH, PUT or DELETE")
    request.app["faults"].fail_next(service, count, status, method=method,
                                    after_processing=data.get("after_processing", False))
    return web.json_response({"service": service, **request.app["faults"].pending()[service]})


async def rate_limit(request):
    limiter = request.app["statuspage"].limiter
    if request.method != "GET":
        data = await _body(request)
        limiter.configure(enabled=data.get("enabled"),
                          requests=_int(data, "requests", limiter.requests, minimum=1),
                          window=data.get("window", limiter.window))
    return web.json_response(limiter.settings())


async def seed_incidents(request):
    data = await _body(request)
    try:
        ids = request.app["statuspage"].seed(_int(data, "count", 1), name=data.get("name", "Seeded incident {n}"),
                                             status=data.get("status", "resolved"))
    except ApiError as exc:
        raise web.HTTPBadRequest(text=exc.message) from exc
    return web.json_response({"ids": ids}, status=201)


async def reset_statuspage(request):
    request.app["statuspage"].reset()
    return web.json_response(_settings(request.app))


async def reset_all(request):
    request.app["statuspage"].reset()
    request.app["faults"].clear()
    request.app["calls"].clear()
    return web.json_response(_settings(request.app))


def add_routes(app):
    app.router.add_get(PREFIX + "/health", health)
    app.router.add_get(PREFIX + "/calls", get_calls)
    app.router.add_delete(PREFIX + "/calls", clear_calls)
    app.router.add_post(PREFIX + "/reset", reset_all)
    app.router.add_post(PREFIX + "/{service}/fail-next", fail_next)
    app.router.add_get(PREFIX + "/statuspage/rate-limit", rate_limit)
    app.router.add_put(PREFIX + "/statuspage/rate-limit", rate_limit)
    app.router.add_post(PREFIX + "/statuspage/seed", seed_incidents)
    app.router.add_post(PREFIX + "/statuspage/reset", reset_statuspage)
