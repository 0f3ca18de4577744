"""Injected failures: answer the next N requests of a stand-in with an error status."""
from aiohttp import web

from saas.calllog import SERVICES


class Faults:
    def __init__(self):
        self._pending = {service: [0, 500] for service in SERVICES}

    def fail_next(self, service, count, status=500):
        self._pending[service] = [count, status]

    def pending(self):
        return {service: {"count": count, "status": status} for service, (count, status) in self._pending.items()}

    def clear(self, service=None):
        for name in self._pending:
            if service in (None, name):
                self._pending[name] = [0, 500]

    def take(self, service):
        """The error response to send instead of serving this request, or None."""
        slot = self._pending.get(service)
        if not slot or slot[0] <= 0:
            return None
        slot[0] -= 1
        return web.json_response({"error": "Internal Server Error (injected by the lab)"}, status=slot[1])
