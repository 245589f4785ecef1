"""Helpers of the security tests: real servers on 127.0.0.1 (SMTP by aiosmtpd, HTTP by http.server), an HTML
inspector, and a dump of every table of a database."""

from __future__ import annotations

import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine, MetaData, select

from jobtrend.config import EmailSettings, NotifySettings
from tests.local_servers import Inbox, free_port


class Authenticator:
    """Accepts one user name and password; remembers every attempt."""

    def __init__(self, user: str, password: str):
        self.user, self.password = user.encode(), password.encode()
        self.attempts = 0

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.attempts += 1
        ok = auth_data.login == self.user and auth_data.password == self.password
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535


class Smtp:
    """``with Smtp() as smtp``: an SMTP server on 127.0.0.1 (``smtp.inbox``, ``smtp.port``); with
    ``authenticator``, login is required (plain text allowed: the test server has no TLS)."""

    def __init__(self, authenticator: Authenticator | None = None):
        self.inbox = Inbox()
        self.port = free_port()
        kwargs = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False} \
            if authenticator else {}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> Smtp:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def settings(self, username: str | None = None, webhooks: tuple[str, ...] = (), **kwargs) -> NotifySettings:
        email_settings = EmailSettings(host="127.0.0.1", port=self.port, security="none", username=username,
                                       sender="jobtrend <bot@example.org>", recipients=("me@example.org",),
                                       timeout=5)
        kwargs.setdefault("allow_private_addresses", True)  # the test webhooks listen on 127.0.0.1
        return NotifySettings(email=email_settings, webhooks=webhooks, **kwargs)


class HttpReceiver:
    """An http.server on 127.0.0.1 keeping each POST as (path, headers, body) and answering ``status``."""

    def __init__(self, status: int = 204):
        self.requests: list[tuple[str, dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/T0KEN"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Markup(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML document (entities decoded)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def values(self, attribute: str) -> list[str]:
        return [attrs[attribute] for _, attrs in self.tags if attrs.get(attribute) is not None]


def dump_tables(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, as text (``repr`` of the row), by table name."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        return {name: [repr(tuple(row)) for row in conn.execute(select(table))]
                for name, table in metadata.tables.items()}
