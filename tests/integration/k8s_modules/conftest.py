"""Fixtures for the Kubernetes and HTTP modules: a controllable HTTP server, lab cluster access."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


class _Handler(BaseHTTPRequestHandler):
    """GET /?status=503&delay=0.2&fail_every=5&fail_status=500 — every answer is chosen by the query."""

    protocol_version = "HTTP/1.1"
    counter = 0
    lock = threading.Lock()

    def do_GET(self):
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        with _Handler.lock:
            _Handler.counter += 1
            n = _Handler.counter
        status = int(query.get("status", 200))
        every = int(query.get("fail_every", 0))
        if every and n % every == 0:
            status = int(query.get("fail_status", 500))
        delay = float(query.get("delay", 0))
        if delay:
            time.sleep(delay)
        body = b'{"status": "ok"}' if status < 400 else b'{"status": "error"}'
        if status in (204, 304):
            body = b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that time out or go away mid-request are part of the tests


@pytest.fixture(scope="session")
def http_server():
    """A loopback HTTP server whose status and latency each request's query string sets; yields its base URL."""
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def reset_counter():
    with _Handler.lock:
        _Handler.counter = 0
