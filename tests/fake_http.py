"""A scripted HTTP server on 127.0.0.1 that stands in for an outside API in tests.

The real client library (alpaca-py, fredapi, ...) is pointed at it, so the library's own
request building, pagination, retries and parsing all run; only the far end is fake.

    server = FakeHTTPServer()                      # or the `fake_http` fixture in a test
    server.route("GET", "/v2/stocks/bars", Reply(429), Reply.json({...}))
    client = StockHistoricalDataClient(key, secret, url_override=server.url)
    ...
    assert server.requests_to("/v2/stocks/bars")[0].query["symbols"] == ["AAPL"]

A route answers with its replies in order and keeps repeating the last one; a reply can
also be a function of the request (for pagination by `page_token`, say). Unrouted requests
get a 404 and are logged like the rest, so a test can see what the client asked for.

`Reply.stalled()` is the server that takes a request and then goes silent (an order accepted,
its answer never sent): the request is logged, nothing is answered for `stall_s` seconds or
until the server closes, and then the connection is dropped. Only a client with a time limit
gets past it quickly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, body bytes and headers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall_s: float = 0.0  # > 0: answer nothing for this long, then hang up

    @classmethod
    def stalled(cls, seconds: float = 10.0) -> Reply:
        """Log the request, stay silent `seconds` (cut short by `close`), then hang up.

        Bounded, not endless, so that a client without a time limit makes its test fail
        slowly instead of hanging the suite."""
        return cls(status=0, stall_s=seconds)

    @classmethod
    def json(cls, obj: Any, status: int = 200) -> Reply:
        return cls(status, json.dumps(obj).encode(), {"Content-Type": "application/json"})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> Reply:
        return cls(status, text.encode(), {"Content-Type": content_type})


@dataclass(frozen=True)
class Request:
    """What the client sent, as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


Answer = Reply | Callable[[Request], Reply]


class _Route:
    def __init__(self, answers: tuple[Answer, ...]) -> None:
        self.answers = list(answers)
        self.served = 0

    def next(self, request: Request) -> Reply:
        answer = self.answers[min(self.served, len(self.answers) - 1)]
        self.served += 1
        return answer(request) if callable(answer) else answer


class FakeHTTPServer:
    """A ThreadingHTTPServer in a daemon thread with scripted routes and a request log."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], _Route] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()  # set by close: releases stalled handlers
        self.log: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, *answers: Answer) -> None:
        """Answer `method path` with `answers` in order, repeating the last one."""
        if not answers:
            raise ValueError("a route needs at least one answer")
        with self._lock:
            self._routes[(method.upper(), path)] = _Route(answers)

    def requests_to(self, path: str, method: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.log
                    if r.path == path and (method is None or r.method == method.upper())]

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.log.append(request)
            route = self._routes.get((request.method, request.path))
        if route is None:
            return Reply.json({"message": f"no route for {request.method} {request.path}"}, 404)
        with self._lock:
            return route.next(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, parts.path, parse_qs(parts.query),
                                  dict(self.headers.items()), self.rfile.read(length))
                reply = server._answer(request)
                if reply.stall_s > 0:
                    server._closing.wait(reply.stall_s)
                    self.close_connection = True  # hang up without a word
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Silence the per-request stderr line; the request log holds it all."""

        return Handler


@contextmanager
def serving() -> Iterator[FakeHTTPServer]:
    """A FakeHTTPServer for the length of a `with` block."""
    server = FakeHTTPServer()
    try:
        yield server
    finally:
        server.close()
