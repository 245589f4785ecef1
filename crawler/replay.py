"""A local replay server for recorded job-board responses: offline crawls, the demo and end-to-end tests.

Recorded responses live under ``root`` at the real URL paths: a request for path ``P`` with query ``Q``
(percent-escapes decoded) is answered from ``root/P@Q'`` when such a file exists, where ``Q'`` is the query with
its parameters sorted (``search_by_date@hitsPerPage=1000&tags=story%2Cauthor_whoishiring.json``), else from
``root/P``; each with the suffixes ``.json.gz``, ``.json``, ``.html.gz``, ``.html``, ``.xml.gz``, ``.xml`` or
none, served as JSON, HTML or XML by that suffix, gzip decoded on the way out. ``/robots.txt`` comes from
``root/robots.txt`` when present, else allows everything.
Anything else is a 404 with the body the real APIs send. ``overrides`` force a path to a status, body and
headers (a missing board, a truncated payload, an HTML error page, a 500). Every request is logged in memory
for assertions, never on stderr.

Run by hand::

    python -m crawler.replay data/demo --port 8765
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import threading
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

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


NOT_FOUND = ReplayResponse(404, {"status": 404, "error": "Job not found"})


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
                 host: str = "127.0.0.1", port: int = 0):
        self.root = Path(root).resolve()
        self.overrides: dict[str, ReplayResponse] = dict(overrides or {})
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

    def record(self, request: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(request)

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
        replay.record(LoggedRequest(self.command, path, parts.query, {k.lower(): v for k, v in self.headers.items()}))
        response = replay.respond(path, parts.query)
        body = response.payload()
        self.send_response(response.status)
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are kept in ReplayServer.requests, not printed."""


def main(argv: list[str] | None = None) -> None:
    """``python -m crawler.replay ROOT [--port N]``: serve ROOT until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m crawler.replay", description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, help="directory of recorded responses, e.g. data/demo")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"{args.root} is not a directory")
    with ReplayServer(args.root, port=args.port) as server:
        print(f"replaying {args.root} at {server.url} (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
