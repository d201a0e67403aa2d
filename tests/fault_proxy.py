"""An HTTP proxy in front of the emulator that misbehaves on purpose, for the fault tests.

Each request is matched against the rules in order; the first rule that matches (and has uses
left) decides: answer with an HTTP error, stall without answering, or send part of the body and
cut the connection. Other requests are forwarded to the emulator unchanged. Loopback only.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Match = Callable[["BaseHTTPRequestHandler"], bool]


@dataclass
class Rule:
    """What to do with matching requests: `status` (an HTTP error), `stall` (seconds of silence), `cut`
    (send this many body bytes, then close) or `delay` (seconds before answering normally: a slow link);
    `uses` limits how many requests it applies to."""

    match: Match
    status: int | None = None
    stall: float | None = None
    cut: int | None = None
    delay: float | None = None
    uses: int | None = None


def media(handler: BaseHTTPRequestHandler) -> bool:
    """Object content downloads (what ranged reads and the cache's chunks are)."""
    return "alt=media" in handler.path or handler.path.startswith("/download/")


def listing(handler: BaseHTTPRequestHandler) -> bool:
    return "/o?" in handler.path or handler.path.endswith("/o")


def anything(handler: BaseHTTPRequestHandler) -> bool:
    return True


class FaultProxy:
    """Forwards to `target` (host:port) except where a rule says otherwise."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.rules: list[Rule] = []
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.handle(self)

            do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that hung up on a stall or a cut: expected here, and printing races pytest

        self.server = Server(("127.0.0.1", 0), Handler)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="fault-proxy")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # stalled handlers end now
        self.server.shutdown()
        self.server.server_close()

    def add(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        return rule

    def _rule_for(self, handler: BaseHTTPRequestHandler) -> Rule | None:
        for rule in self.rules:
            if (rule.uses is None or rule.uses > 0) and rule.match(handler):
                if rule.uses is not None:
                    rule.uses -= 1
                return rule
        return None

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        self.seen.append(f"{handler.command} {handler.path}")
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        rule = self._rule_for(handler)
        if rule is not None and rule.stall is not None:
            self.stopping.wait(rule.stall)
            handler.close_connection = True
            return
        if rule is not None and rule.status is not None:
            payload = json.dumps({"error": {"code": rule.status, "message": f"injected {rule.status}"}}).encode()
            handler.send_response(rule.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        if rule is not None and rule.delay is not None:
            self.stopping.wait(rule.delay)
        upstream = http.client.HTTPConnection("127.0.0.1", self.target_port, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in {"host", "content-length"}}
        upstream.request(handler.command, handler.path, body=body or None, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        handler.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in {"transfer-encoding", "content-length", "connection"}:
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if rule is not None and rule.cut is not None:
            handler.wfile.write(data[: rule.cut])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.wfile.write(data)
        upstream.close()
