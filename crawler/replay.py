"""A local replay server for recorded job-board responses: offline crawls, the demo and end-to-end tests.

Recorded responses live under ``root`` at the real URL paths: a request for path ``P`` with query ``Q``
(percent-escapes decoded) is answered from ``root/P@Q'`` when such a file exists, where ``Q'`` is the query with
its parameters sorted (``search_by_date@hitsPerPage=1000&tags=story%2Cauthor_whoishiring.json``), else from
``root/P``; each with the suffixes ``.json.gz``, ``.json``, ``.html.gz``, ``.html``, ``.xml.gz``, ``.xml`` or
none, served as JSON, HTML or XML by that suffix, gzip decoded on the way out. ``/robots.txt`` comes from
``root/robots.txt`` when present, else allows everything.
Anything else is a 404 with the body the real APIs send. ``overrides`` force a path to a status, body and
headers (a missing board, a truncated payload, an HTML error page, a 500), optionally answered late (``delay``),
dribbled out slowly (``slow_body``) or without a ``Content-Length``. Every request is logged in memory for
assertions, never on stderr.

Chaos mode (``chaos=Chaos(seed)``, ``--chaos SEED``) breaks some paths on purpose, for reliability tests: each
path except ``/robots.txt`` gets at most one fault, picked from the seed and the path alone (so a rerun, or a
retry, meets the same fault): ``http_429`` (with ``Retry-After: 1``), ``http_500``, ``http_503``, ``flaky_503``
(503 on the first request only), ``slow_body`` (the right body, a chunk at a time over about a second),
``truncated`` (the first half of the body) and ``oversized`` (the right body padded with white space past
``oversize_bytes``, with or without a ``Content-Length``). :meth:`Chaos.fault_for` tells which path gets what.

Run by hand::

    python -m crawler.replay data/demo --port 8765
    python -m crawler.replay data/demo --chaos 7 --chaos-rate 0.5
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

PERMISSIVE_ROBOTS = "User-agent: *\nAllow: /\n"
SUFFIXES = (".json.gz", ".json", ".html.gz", ".html", ".xml.gz", ".xml", "")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml"}


@dataclass
class ReplayResponse:
    """What the server answers for one path; a dict or list body is sent as JSON, a str as UTF-8."""

    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line is sent
    slow_body: float = 0.0  # seconds over which the body is sent, in SLOW_CHUNKS pieces
    content_length: bool = True  # False: no Content-Length, the body ends when the connection closes

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


NOT_FOUND = ReplayResponse(404, {"status": 404, "error": "Job not found"})
SLOW_CHUNKS = 10
FAULTS = ("http_429", "http_500", "http_503", "flaky_503", "slow_body", "truncated", "oversized")


@dataclass(frozen=True)
class Chaos:
    """Seeded faults for some paths (see the module docstring): ``rate`` is the share of paths with one."""

    seed: int
    rate: float = 0.5
    faults: tuple[str, ...] = FAULTS
    oversize_bytes: int = 1024 * 1024
    slow_seconds: float = 1.0

    def fault_for(self, path: str) -> str | None:
        """The fault of a decoded request path (None: answered normally); the same for every request."""
        if path == "/robots.txt" or not self.faults:
            return None
        digest = hashlib.sha256(f"{self.seed}:{path}".encode()).digest()
        if int.from_bytes(digest[:4], "big") / 2**32 >= self.rate:
            return None
        return self.faults[int.from_bytes(digest[4:8], "big") % len(self.faults)]

    def apply(self, path: str, response: ReplayResponse, attempt: int) -> ReplayResponse:
        """``response`` as the fault of ``path`` distorts it at the ``attempt``-th request (1 for the first)."""
        fault = self.fault_for(path)
        error = {"status": 0, "error": "chaos"}
        if fault in ("http_429", "http_500", "http_503"):
            status = int(fault.removeprefix("http_"))
            headers = {"Retry-After": "1"} if status == 429 else {}
            return ReplayResponse(status, error | {"status": status}, headers)
        if fault == "flaky_503" and attempt == 1:
            return ReplayResponse(503, error | {"status": 503})
        if fault == "slow_body":
            return dataclasses.replace(response, slow_body=self.slow_seconds)
        if fault == "truncated":
            body = response.payload()
            return dataclasses.replace(response, body=body[:len(body) // 2])
        if fault == "oversized":
            body = response.payload()
            padding = b" " * max(0, self.oversize_bytes + 1 - len(body))
            with_length = hashlib.sha256(f"{self.seed}:{path}:length".encode()).digest()[0] % 2 == 0
            return dataclasses.replace(response, body=body + padding, content_length=with_length)
        return response


@dataclass(frozen=True)
class LoggedRequest:
    """One request the server received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]

    @property
    def user_agent(self) -> str | None:
        return self.headers.get("user-agent")


class ReplayServer:
    """Serve recorded responses from ``root`` on 127.0.0.1 (a free port unless ``port`` is given)."""

    def __init__(self, root: Path | str, overrides: dict[str, ReplayResponse] | None = None,
                 host: str = "127.0.0.1", port: int = 0, chaos: Chaos | None = None):
        self.root = Path(root).resolve()
        self.overrides: dict[str, ReplayResponse] = dict(overrides or {})
        self.chaos = chaos
        self.requests: list[LoggedRequest] = []
        self._address = (host, port)
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self) -> None:
        self._httpd = _QuietServer(self._address, _Handler)
        self._httpd.replay = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="replay-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
            self._httpd = None

    def hits(self, path: str) -> int:
        """How many requests asked for ``path`` (decoded, without query)."""
        return sum(1 for r in self.requests if r.path == path)

    def record(self, request: LoggedRequest) -> int:
        """Log ``request``; return how many requests for its path there have been, this one included."""
        with self._lock:
            self.requests.append(request)
            return sum(1 for r in self.requests if r.path == request.path)

    def answer(self, path: str, query: str = "", attempt: int = 1) -> ReplayResponse:
        """:meth:`respond`, then the chaos fault of ``path`` (if any) for its ``attempt``-th request."""
        response = self.respond(path, query)
        return self.chaos.apply(path, response, attempt) if self.chaos else response

    def respond(self, path: str, query: str = "") -> ReplayResponse:
        """The response for a decoded request path and its query: an override (``P?Q`` before ``P``), a
        recorded file, robots.txt or a 404."""
        canonical = canonical_query(query)
        if canonical and f"{path}?{canonical}" in self.overrides:
            return self.overrides[f"{path}?{canonical}"]
        if path in self.overrides:
            return self.overrides[path]
        recorded = (self.find(f"{path}@{quote(canonical, safe='=&')}") if canonical else None) or self.find(path)
        if recorded is not None:
            body = recorded.read_bytes()
            name = recorded.name.removesuffix(".gz")
            if recorded.name.endswith(".gz"):
                body = gzip.decompress(body)
            kind = next((t for ext, t in CONTENT_TYPES.items() if name.endswith(ext)), "application/json")
            return ReplayResponse(200, body, {"Content-Type": kind})
        if path == "/robots.txt":
            return ReplayResponse(200, PERMISSIVE_ROBOTS, {"Content-Type": "text/plain"})
        return NOT_FOUND

    def find(self, path: str) -> Path | None:
        """The recorded file for ``path`` inside ``root``, or None (never a file outside ``root``)."""
        relative = path.lstrip("/")
        if not relative:
            return None
        for suffix in SUFFIXES:
            candidate = (self.root / (relative + suffix)).resolve()
            if candidate.is_relative_to(self.root) and candidate.is_file():
                return candidate
        return None


def canonical_query(query: str) -> str:
    """The query string with its parameters sorted, values decoded: the key of a query-specific recording."""
    return "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(query, keep_blank_values=True)))


class _QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that does not print tracebacks when a client hangs up."""

    daemon_threads = True
    replay: ReplayServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-response is not worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    """Answer GET and HEAD from the ReplayServer; log nothing to stderr."""

    server: _QuietServer

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        replay = self.server.replay
        attempt = replay.record(LoggedRequest(self.command, path, parts.query,
                                              {k.lower(): v for k, v in self.headers.items()}))
        response = replay.answer(path, parts.query, attempt)
        body = response.payload()
        if response.delay:
            time.sleep(response.delay)
        self.send_response(response.status)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), **response.headers}
        if not response.content_length:
            del headers["Content-Length"]
            self.close_connection = True
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        if not response.slow_body:
            self.wfile.write(body)
            return
        size = -(-len(body) // SLOW_CHUNKS) or 1
        for start in range(0, len(body), size):
            self.wfile.write(body[start:start + size])
            self.wfile.flush()
            time.sleep(response.slow_body / SLOW_CHUNKS)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are kept in ReplayServer.requests, not printed."""


def main(argv: list[str] | None = None) -> None:
    """``python -m crawler.replay ROOT [--port N]``: serve ROOT until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m crawler.replay", description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, help="directory of recorded responses, e.g. data/demo")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--chaos", type=int, metavar="SEED", help="break some paths on purpose (see above)")
    parser.add_argument("--chaos-rate", type=float, default=0.5, help="share of paths broken (default 0.5)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"{args.root} is not a directory")
    if not 0 <= args.chaos_rate <= 1:
        parser.error("--chaos-rate must be between 0 and 1")
    chaos = Chaos(args.chaos, args.chaos_rate) if args.chaos is not None else None
    with ReplayServer(args.root, port=args.port, chaos=chaos) as server:
        print(f"replaying {args.root} at {server.url}{' with chaos' if chaos else ''} (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
