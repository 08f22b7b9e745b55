"""The simulator core: routing, auth, pagination helpers, fault injection, and serving over HTTP or in process.

A vendor simulator subclasses `Simulator`, registers routes and answers from a dataset in the
vendor's own JSON shapes. The same object is served two ways: `serve()` starts a real HTTP server
on 127.0.0.1 (the tests and benchmarks use this), and `transport()` gives an in-process httpx
transport (the demo and `replay_dir` sources use this). Faults are queued per route so a test can
script "two 503s, then a 429 with Retry-After, then a truncated body".
"""

import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name: str, default: int) -> int:
        value = self.arg(name)
        try:
            return int(value) if value is not None else default
        except ValueError:
            return default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class SimResponse:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()


@dataclass
class Fault:
    """One injected failure for requests whose path matches `path` (a regex; None: any).

    kinds: `status` (send `status` with `body`/`headers`, e.g. 429 + Retry-After, 502),
    `truncate` (a 200 whose JSON body is cut in half), `delay` (sleep `seconds` before
    answering: a timeout for a client with a shorter one), `reset` (close the connection without
    an answer; over real HTTP only). `times` is how many matching requests it hits; `after` skips
    that many matching requests first.
    """

    kind: str
    path: str | None = None
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0
    times: int = 1
    after: int = 0


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (a timeout under test) is normal here, not a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Reset(Exception):
    """Drop the connection without answering."""


Handler = Callable[[SimRequest, re.Match[str]], SimResponse]


class Simulator:
    """Base of the vendor simulators: routes, token check, faults, latency, request log."""

    name = "simulator"

    def __init__(self, *, token: str | None = None, latency: float = 0.0) -> None:
        self.token = token
        self.latency = latency
        self.faults: list[Fault] = []
        self.log: list[SimRequest] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._lock = threading.Lock()
        self.on_request: Callable[[SimRequest], None] | None = None

    # ------------------------------------------------------------------ set-up

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), re.compile(f"^{pattern}$"), handler))

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def authorised(self, request: SimRequest) -> bool:
        """Vendors override: where the token travels (Bearer, PRIVATE-TOKEN, Basic, bare)."""
        if self.token is None:
            return True
        return request.headers.get("authorization", "") in (
            f"Bearer {self.token}",
            f"token {self.token}",
        )

    def unauthorised(self, request: SimRequest) -> SimResponse:
        return SimResponse(401, {"message": "Bad credentials"})

    def not_found(self, request: SimRequest) -> SimResponse:
        return SimResponse(404, {"message": "Not Found"})

    # ------------------------------------------------------------------ dispatch

    def handle(self, request: SimRequest) -> SimResponse:
        with self._lock:
            self.log.append(request)
        if self.on_request is not None:
            self.on_request(request)
        if self.latency:
            time.sleep(self.latency)
        fault = self._take_fault(request)
        if fault is not None:
            if fault.kind == "reset":
                raise _Reset
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "status":
                body = (
                    fault.body
                    if fault.body is not None
                    else {"message": f"simulated {fault.status}"}
                )
                return SimResponse(fault.status, body, dict(fault.headers))
        if not self.authorised(request):
            return self.unauthorised(request)
        response = self._dispatch(request)
        if fault is not None and fault.kind == "truncate":
            data = response.encoded()
            return SimResponse(response.status, data[: max(1, len(data) // 2)], response.headers)
        return response

    def _dispatch(self, request: SimRequest) -> SimResponse:
        for method, pattern, handler in self._routes:
            if method != request.method:
                continue
            match = pattern.match(request.path)
            if match:
                return handler(request, match)
        return self.not_found(request)

    def _take_fault(self, request: SimRequest) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path is not None and not re.search(fault.path, request.path):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def requests_to(self, pattern: str = "") -> int:
        return sum(1 for r in self.log if re.search(pattern, r.path))

    # ------------------------------------------------------------------ serving

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on 127.0.0.1 at a free port; yields the base URL (http://127.0.0.1:PORT)."""
        sim = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without it each answer waits ~40 ms for the client's delayed ACK (Nagle).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = SimRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                try:
                    response = sim.handle(request)
                except _Reset:
                    self.close_connection = True
                    with suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = response.encoded()
                self.send_response(response.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        server = _QuietServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name=f"{self.name}-sim", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()

    def transport(self) -> httpx.MockTransport:
        """The simulator as an in-process httpx transport (no socket)."""

        def handler(req: httpx.Request) -> httpx.Response:
            request = SimRequest(
                method=req.method,
                # Undecoded, as the HTTP server sees it (GitLab's project paths carry %2F).
                path=req.url.raw_path.decode().split("?", 1)[0],
                query=parse_qs(req.url.query.decode(), keep_blank_values=True),
                headers={k.lower(): v for k, v in req.headers.items()},
                body=req.read(),
            )
            try:
                response = self.handle(request)
            except _Reset:
                raise httpx.RemoteProtocolError(
                    "connection reset by the simulator", request=req
                ) from None
            headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
            return httpx.Response(response.status, headers=headers, content=response.encoded())

        return httpx.MockTransport(handler)


def link_header(base: str, path: str, query: Mapping[str, str], page: int, last: int) -> str:
    """An RFC 5988 Link header as GitHub and GitLab send it (next/last/first/prev)."""
    from urllib.parse import urlencode

    def url(n: int) -> str:
        return f"{base}{path}?{urlencode({**query, 'page': str(n)})}"

    links = []
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
        links.append(f'<{url(page - 1)}>; rel="prev"')
    return ", ".join(links)


def base_url_of(request: SimRequest) -> str:
    host = request.headers.get("host", "127.0.0.1")
    return f"http://{host}"
