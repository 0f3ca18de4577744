"""Injected failures: answer the next N requests of a stand-in with an error status.

`method` limits the fault to requests with that HTTP method; `after_processing` lets the request
take effect and only then answers the error (the ambiguous failure a client must not repeat blindly).
"""
from aiohttp import web

from saas.calllog import SERVICES


class Faults:
    def __init__(self):
        self._pending = {}
        self.clear()

    def fail_next(self, service, count, status=500, method=None, after_processing=False):
        self._pending[service] = {"count": count, "status": status, "method": method.upper() if method else None,
                                  "after_processing": bool(after_processing)}

    def pending(self):
        return {service: dict(fault) for service, fault in self._pending.items()}

    def clear(self, service=None):
        for name in SERVICES:
            if service in (None, name):
                self._pending[name] = {"count": 0, "status": 500, "method": None, "after_processing": False}

    def take(self, service, method):
        """The fault that applies to this request (and count it), or None."""
        fault = self._pending.get(service)
        if not fault or fault["count"] <= 0 or (fault["method"] and fault["method"] != method):
            return None
        fault["count"] -= 1
        return fault


def error_response(fault):
    return web.json_response({"error": "Internal Server Error (injected by the lab)"}, status=fault["status"])
