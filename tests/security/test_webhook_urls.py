"""Webhook URLs: only http(s) is accepted (config, queue and delivery), and redirects are reported, never followed.

Delivery runs against real http.server instances on 127.0.0.1; every outbox test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import insert, select

from analysis.notify import deliver_pending, enqueue, post_webhook
from jobtrend.config import ConfigError, NotifySettings, load_notify
from jobtrend.db import session_factory
from jobtrend.models import Outbox
from jobtrend.weeks import utcnow
from tests.jobtrend.test_config import invoke_cli, write_config

BAD_SCHEMES = ["file:///etc/passwd", "ftp://127.0.0.1/hook", "gopher://127.0.0.1/x", "javascript:alert(1)",
               "data:application/json,{}", "FILE:///etc/passwd", " http://127.0.0.1/leading-space"]


class Server:
    """http.server on 127.0.0.1 answering every request with ``status`` and ``Location: location``."""

    def __init__(self, status: int = 204, location: str | None = None):
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.requests.append((self.command, self.path))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = _answer  # noqa: N815 - http.server's hook names

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def outbox(engine) -> list[Outbox]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


@pytest.mark.parametrize("url", BAD_SCHEMES)
def test_config_refuses_a_webhook_that_is_not_http(tmp_path, url):
    path = tmp_path / "jobtrend.toml"
    path.write_text(f"[notify]\nwebhooks = [{url!r}]\n".replace("'", '"'))
    with pytest.raises(ConfigError, match=r"notify\.webhooks\[0\]: expected an http:// or https:// URL"):
        load_notify(path)


def test_a_file_webhook_is_a_configuration_error_on_the_command_line(tmp_path, db_url):
    config_dir = write_config(tmp_path / "config", main='[notify]\nwebhooks = ["file:///etc/passwd"]\n')
    result = invoke_cli(config_dir, ["deliver"], db_url)
    assert result.exit_code == 1
    assert "configuration error" in result.output and "notify.webhooks[0]" in result.output


@pytest.mark.parametrize("url", BAD_SCHEMES)
def test_enqueue_refuses_a_webhook_that_is_not_http(engine, url):
    with pytest.raises(ValueError, match="http:// or https://"):
        enqueue(engine, channel="webhook", recipient=url, subject="s", body="{}", dedupe_key="k")
    assert outbox(engine) == []


@pytest.mark.parametrize("url", ["file:///{path}", "ftp://127.0.0.1:9/x", "data:application/json,{{}}"])
def test_a_stored_row_with_another_scheme_is_never_opened(engine, tmp_path, url):
    """A row put in the outbox by other means than enqueue (an older version, a hand edit) is not delivered:
    before the fix, urllib read the local file behind a file:// URL (and then failed on its missing status)."""
    secret = tmp_path / "local-secret.json"
    secret.write_text('{"LOCAL-FILE-CONTENT": 1}')
    url = url.format(path=secret)
    now = utcnow()
    with session_factory(engine).begin() as session:
        session.execute(insert(Outbox), [{"channel": "webhook", "recipient": url, "subject": "s", "body": "{}",
                                          "dedupe_key": "by-hand", "status": "pending", "attempts": 0,
                                          "next_attempt_at": now, "created_at": now}])
    result = deliver_pending(engine, NotifySettings(max_attempts=1))
    assert (result.sent, result.failed) == (0, 1)
    [row] = outbox(engine)
    assert row.status == "failed"
    assert row.last_error == "webhook URL rejected: only http:// and https:// URLs are posted to"


def test_post_webhook_itself_refuses_a_file_url(tmp_path):
    from analysis.notify import DeliveryError

    secret = tmp_path / "x.json"
    secret.write_text("{}")
    with pytest.raises(DeliveryError, match="only http:// and https://"):
        post_webhook(f"file://{secret}", "{}")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_an_error_and_its_target_gets_nothing(engine, status):
    with Server() as target:
        with Server(status, location=f"{target.url}/stolen") as redirecting:
            url = f"{redirecting.url}/hooks/T0KEN"
            enqueue(engine, channel="webhook", recipient=url, subject="s", body='{"a": 1}', dedupe_key="k")
            result = deliver_pending(engine, NotifySettings(allow_private_addresses=True))  # both on 127.0.0.1
            assert (result.sent, result.retried) == (0, 1)
            assert redirecting.requests == [("POST", "/hooks/T0KEN")]
        assert target.requests == []  # the redirect was reported, not followed (no POST, no GET)
    [row] = outbox(engine)
    assert row.status == "pending" and row.last_error.startswith(f"webhook answered HTTP {status}")
    assert "T0KEN" not in row.last_error and "stolen" not in row.last_error
