"""The outbox delivers against real servers on 127.0.0.1: an aiosmtpd SMTP server and an http.server webhook.

Every database test runs on SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from sqlalchemy import func, select

from analysis.notify import (
    backoff,
    deliver_pending,
    enqueue,
    message_id,
    queue_for_recipients,
    recipient_key,
)
from jobtrend.cli import main
from jobtrend.config import ConfigError, EmailSettings, NotifySettings, load_config, load_notify
from jobtrend.db import make_engine, session_factory
from jobtrend.models import Outbox
from jobtrend.weeks import utcnow
from tests.jobtrend.test_config import write_config
from tests.local_servers import Inbox, free_port

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()
PASSWORD = "s3cret-Pa55word-xyz"


class Authenticator:
    def __init__(self):
        self.logins: list[tuple[bytes, bytes]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"bot" and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd sends the 235 / 535 answer


@pytest.fixture
def smtp_port():
    return free_port()


def start_smtp(port: int, **kwargs) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, inbox


@pytest.fixture
def smtp(smtp_port):
    controller, inbox = start_smtp(smtp_port)
    yield inbox
    controller.stop()


def settings_for(port: int, **email_kwargs) -> NotifySettings:
    email_settings = EmailSettings(host="127.0.0.1", port=port, security="none", sender="jobtrend <bot@example.org>",
                                   recipients=("me@example.org",), timeout=5, **email_kwargs)
    return NotifySettings(email=email_settings)


def rows(engine) -> list[Outbox]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def queue_mail(engine, key="report-2026-W20", **kwargs) -> bool:
    fields = {"channel": "email", "recipient": "me@example.org", "subject": "Weekly report",
              "body": "Plain text report", "dedupe_key": key}
    return enqueue(engine, **(fields | kwargs))


# ----------------------------------------------------------------------------------------------- email


def test_email_with_html_and_inline_image_arrives_intact(engine, smtp, smtp_port):
    html = '<html><body><h1>Report</h1><img src="cid:chart-1@jobtrend"></body></html>'
    assert queue_mail(engine, html=html, attachments=[{"cid": "chart-1@jobtrend", "mime": "image/png", "data": PNG}])

    result = deliver_pending(engine, settings_for(smtp_port))

    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    [msg] = smtp.messages
    assert msg["Message-ID"] == message_id("report-2026-W20", "bot@example.org")
    assert msg["Message-ID"] == message_id("report-2026-W20", "jobtrend <bot@example.org>")  # deterministic
    assert msg["Message-ID"].endswith("@example.org>")
    assert msg["To"] == "me@example.org" and msg["Subject"] == "Weekly report"
    assert msg["From"] == "jobtrend <bot@example.org>" and msg["Date"]
    assert smtp.envelopes[0].mail_from == "bot@example.org" and smtp.envelopes[0].rcpt_tos == ["me@example.org"]
    assert msg.get_content_type() == "multipart/alternative"
    text_part, related = msg.get_payload()
    assert text_part.get_content_type() == "text/plain" and "Plain text report" in text_part.get_content()
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html" and "cid:chart-1@jobtrend" in html_part.get_content()
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == "<chart-1@jobtrend>"
    assert image.get_payload(decode=True) == base64.b64decode(PNG)
    [row] = rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None) and row.sent_at is not None


def test_text_only_email_is_a_single_plain_part(engine, smtp, smtp_port):
    queue_mail(engine)
    deliver_pending(engine, settings_for(smtp_port))
    [msg] = smtp.messages
    assert msg.get_content_type() == "text/plain" and not msg.is_multipart()


def test_message_id_is_stable_and_distinct_per_key():
    assert message_id("a") == message_id("a") != message_id("b")
    assert message_id("a").endswith("@jobtrend.local>")


def test_smtp_down_then_up_delivers_exactly_once(engine, smtp_port):
    settings = settings_for(smtp_port)
    queue_mail(engine)
    start = utcnow()

    result = deliver_pending(engine, settings, now=start)  # nothing listens on the port

    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error and "\n" not in row.last_error
    assert row.next_attempt_at == start + dt.timedelta(seconds=60) and row.next_attempt_at > utcnow()

    controller, inbox = start_smtp(smtp_port)
    try:
        assert deliver_pending(engine, settings, now=start + dt.timedelta(seconds=30)).sent == 0  # still backing off
        assert inbox.messages == []
        assert deliver_pending(engine, settings, now=start + dt.timedelta(seconds=61)).sent == 1
        assert deliver_pending(engine, settings, now=start + dt.timedelta(hours=5)) == type(result)(0, 0, 0)
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("sent", 2)


def test_same_dedupe_key_twice_is_one_row_and_one_mail(engine, smtp, smtp_port):
    assert queue_mail(engine, key="alert-1") is True
    assert queue_mail(engine, key="alert-1", body="a different body") is False
    deliver_pending(engine, settings_for(smtp_port))
    deliver_pending(engine, settings_for(smtp_port))
    assert len(rows(engine)) == 1 and len(smtp.messages) == 1


def test_backoff_doubles_and_is_capped():
    settings = NotifySettings()
    assert [backoff(n, settings).total_seconds() for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600,
                                                                             3600]


def test_row_fails_for_good_after_max_attempts(engine, smtp_port):
    settings = dataclasses.replace(settings_for(smtp_port), max_attempts=3)
    queue_mail(engine)
    now = utcnow()
    outcomes = []
    for _ in range(3):
        outcomes.append(deliver_pending(engine, settings, now=now))
        now += dt.timedelta(hours=2)
    assert [(r.retried, r.failed) for r in outcomes] == [(1, 0), (1, 0), (0, 1)]
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("failed", 3) and row.last_error
    assert deliver_pending(engine, settings, now=now + dt.timedelta(days=1)) == type(outcomes[0])(0, 0, 0)


def test_one_failing_row_does_not_stop_the_others(engine, smtp, smtp_port):
    enqueue(engine, channel="webhook", recipient=f"http://127.0.0.1:{free_port()}/hook", subject="s", body="{}",
            dedupe_key="hook-down")
    queue_mail(engine, key="mail-1")
    result = deliver_pending(engine, settings_for(smtp_port))
    assert (result.sent, result.retried) == (1, 1) and len(smtp.messages) == 1


def test_email_row_without_email_settings_is_retried_with_a_clear_error(engine):
    queue_mail(engine)
    assert deliver_pending(engine, NotifySettings()).retried == 1
    assert "[email]" in rows(engine)[0].last_error


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_password_from_environment_is_used_and_never_leaks(engine, smtp_port, monkeypatch, caplog):
    authenticator = Authenticator()
    controller, inbox = start_smtp(smtp_port, authenticator=authenticator, auth_required=True,
                                   auth_require_tls=False)
    settings = settings_for(smtp_port, username="bot")
    caplog.set_level(logging.DEBUG)
    try:
        monkeypatch.setenv("JOBTREND_SMTP_PASSWORD", PASSWORD)
        queue_mail(engine, key="with-auth")
        assert deliver_pending(engine, settings).sent == 1
        assert authenticator.logins[-1] == (b"bot", PASSWORD.encode())

        monkeypatch.setenv("JOBTREND_SMTP_PASSWORD", PASSWORD + "-wrong")
        queue_mail(engine, key="wrong-password")
        refused = deliver_pending(engine, settings)
        # a refused login is the configuration's fault: retried, so the message still goes once it is fixed
        assert (refused.retried, refused.failed) == (1, 0)

        monkeypatch.delenv("JOBTREND_SMTP_PASSWORD")
        queue_mail(engine, key="no-password")
        assert deliver_pending(engine, settings).retried == 1
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    errors = {r.dedupe_key: r.last_error for r in rows(engine)}
    assert errors["wrong-password"] == (f"login refused by 127.0.0.1:{smtp_port} answered 535 5.7.8 "
                                        "Authentication credentials invalid")
    assert "JOBTREND_SMTP_PASSWORD" in errors["no-password"]
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    for text in [*filter(None, errors.values()), caplog.text]:
        assert PASSWORD not in text and encoded not in text


# ----------------------------------------------------------------------------------------------- webhooks


class Receiver:
    """An http.server on 127.0.0.1 in a thread, answering each POST with the next queued status."""

    def __init__(self):
        self.requests: list[tuple[str, dict, bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.path, dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0KEN-abc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_receives_the_alert_json_and_a_500_is_retried(engine):
    with Receiver() as receiver:
        settings = NotifySettings(webhooks=(receiver.url,), allow_private_addresses=True)  # 127.0.0.1
        payload = {"rule": "share_jump", "subject": "pgvector", "value": 0.12}
        assert queue_for_recipients(engine, settings, subject="Alert: pgvector", body="pgvector jumped",
                                    dedupe_key="alert-7", payload=payload) == 1
        receiver.statuses = [500]
        start = utcnow()

        first = deliver_pending(engine, settings, now=start)
        [row] = rows(engine)
        assert (first.sent, first.retried) == (0, 1)
        assert (row.status, row.attempts) == ("pending", 1) and "HTTP 500" in row.last_error
        assert "T0KEN" not in row.last_error
        assert row.next_attempt_at == start + dt.timedelta(seconds=60)

        second = deliver_pending(engine, settings, now=start + dt.timedelta(seconds=61))
        assert second.sent == 1
    assert len(receiver.requests) == 2
    path, headers, body = receiver.requests[-1]
    assert path == "/hooks/T0KEN-abc" and headers["Content-Type"] == "application/json"
    assert json.loads(body) == payload
    assert rows(engine)[0].status == "sent"


def test_webhook_redirect_is_an_error_not_followed(engine):
    with Receiver() as receiver:
        receiver.statuses = [302]
        enqueue(engine, channel="webhook", recipient=receiver.url, subject="s", body='{"a": 1}', dedupe_key="k")
        assert deliver_pending(engine, NotifySettings(allow_private_addresses=True)).retried == 1  # 127.0.0.1
    assert "HTTP 302" in rows(engine)[0].last_error and len(receiver.requests) == 1


def test_queue_for_recipients_fans_out_and_is_idempotent(engine):
    settings = NotifySettings(email=EmailSettings(host="h", sender="bot@example.org",
                                                  recipients=("a@example.org", "b@example.org")),
        webhooks=("https://hooks.example.org/services/SECRET",))
    kwargs = {"subject": "Weekly report", "body": "text", "dedupe_key": "report-2026-W20", "html": "<p>x</p>"}
    assert queue_for_recipients(engine, settings, **kwargs) == 3
    assert queue_for_recipients(engine, settings, **kwargs) == 0
    stored = rows(engine)
    assert [(r.channel, r.recipient) for r in stored] == [
        ("email", "a@example.org"), ("email", "b@example.org"),
        ("webhook", "https://hooks.example.org/services/SECRET")]
    assert stored[2].html is None and json.loads(stored[2].body) == {"subject": "Weekly report", "text": "text"}
    assert stored[0].dedupe_key == "report-2026-W20|email|a@example.org"
    assert "SECRET" not in stored[2].dedupe_key
    assert len({r.dedupe_key for r in stored}) == 3


def test_recipient_key_fits_the_column():
    key = recipient_key("k" * 200, "email", "someone@example.org")
    assert len(key) <= 200 and key == recipient_key("k" * 200, "email", "someone@example.org")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"channel": "sms"},
        {"dedupe_key": ""},
        {"dedupe_key": "x" * 201},
        {"recipient": "a@example.org\nBcc: evil@example.org"},
        {"attachments": [{"cid": "c", "mime": "image/png", "data": "not base64!"}]},
        {"channel": "webhook", "recipient": "file:///etc/passwd", "body": "{}"},
        {"channel": "webhook", "recipient": "https://example.org/h", "body": "not json"},
    ],
)
def test_enqueue_rejects_bad_messages(engine, kwargs):
    with pytest.raises(ValueError):
        queue_mail(engine, **kwargs)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0


# ----------------------------------------------------------------------------------------------- CLI


def test_deliver_and_outbox_commands(db_url, tmp_path, smtp, smtp_port):
    config_dir = write_config(tmp_path / "config", main=(
        f'[email]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\nsender = "bot@example.org"\n'
        'recipients = ["me@example.org"]\n'))
    env = {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    hook_port = free_port()  # nothing listens there
    engine = make_engine(db_url)
    try:
        queue_mail(engine, key="cli-1")
        enqueue(engine, channel="webhook", recipient=f"http://127.0.0.1:{hook_port}/services/SECRET", subject="s",
                body="{}", dedupe_key="cli-hook")
    finally:
        engine.dispose()
    runner = CliRunner()

    dry = runner.invoke(main, ["deliver", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "me@example.org" in dry.output and "Weekly report" in dry.output
    assert f"http://127.0.0.1:{hook_port}/..." in dry.output and "SECRET" not in dry.output
    assert smtp.messages == []

    listed = runner.invoke(main, ["outbox", "--status", "pending", "--format", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert {r["status"] for r in json.loads(listed.output)} == {"pending"} and len(json.loads(listed.output)) == 2

    sent = runner.invoke(main, ["deliver"], env=env)
    assert sent.exit_code == 0, sent.output
    assert sent.output.strip() == "sent 1, retried 1, failed 0"
    assert len(smtp.messages) == 1

    table = runner.invoke(main, ["outbox"], env=env)
    assert table.exit_code == 0 and "last_error" in table.output and "sent" in table.output
    assert json.loads(runner.invoke(main, ["outbox", "--status", "sent", "--format", "json"], env=env).output)[0][
        "recipient"] == "me@example.org"


# ----------------------------------------------------------------------------------------------- configuration


def notify_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobtrend.toml"
    path.write_text(text)
    return path


def test_email_and_notify_tables_load(tmp_path):
    path = notify_config(tmp_path, (
        '[email]\nhost = "smtp.example.org"\nsecurity = "ssl"\nusername = "bot"\n'
        'sender = "jobtrend <bot@example.org>"\nrecipients = ["a@example.org", "b@example.org"]\ntimeout = 10\n'
        '[notify]\nwebhooks = ["https://hooks.example.org/x"]\nmax_attempts = 3\nbackoff_seconds = 30\n'
        'backoff_max_seconds = 600\n'))
    settings = load_notify(path)
    assert settings.email == EmailSettings(host="smtp.example.org", port=465, security="ssl", username="bot",
                                           sender="jobtrend <bot@example.org>",
                                           recipients=("a@example.org", "b@example.org"), timeout=10)
    assert settings.webhooks == ("https://hooks.example.org/x",)
    assert (settings.max_attempts, settings.backoff_seconds, settings.backoff_max_seconds) == (3, 30, 600)


def test_no_email_table_means_no_email_channel(tmp_path):
    assert load_notify(notify_config(tmp_path, '[database]\nurl = "sqlite:///x.db"\n')) == NotifySettings()
    assert load_config(write_config(tmp_path / "config")).notify == NotifySettings()


EMAIL_OK = 'host = "smtp.example.org"\nsender = "bot@example.org"\nrecipients = ["me@example.org"]\n'


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[email]\nsender = "bot@example.org"\nrecipients = ["me@example.org"]\n', "email.host", "host name"),
        ("[email]\n" + EMAIL_OK + "port = 0\n", "email.port", "1 to 65535"),
        ("[email]\n" + EMAIL_OK + 'port = "587"\n', "email.port", "an integer"),
        ("[email]\n" + EMAIL_OK + 'security = "tls"\n', "email.security", "one of starttls, ssl, none"),
        ("[email]\n" + EMAIL_OK + 'password = "hunter2"\n', "email.password", "JOBTREND_SMTP_PASSWORD"),
        ("[email]\n" + EMAIL_OK + 'pasword = "x"\n', "email.pasword", "one of"),
        ("[email]\n" + EMAIL_OK + 'username = ""\n', "email.username", "non-empty"),
        ("[email]\n" + EMAIL_OK + "timeout = 0\n", "email.timeout", "more than 0"),
        ("[email]\n" + EMAIL_OK + "timeout = true\n", "email.timeout", "an integer or a number"),
        ('[email]\nhost = "h"\nsender = "not an address"\nrecipients = ["me@example.org"]\n', "email.sender",
         "an email address"),
        ('[email]\nhost = "h"\nsender = "bot@example.org"\nrecipients = []\n', "email.recipients",
         "at least one"),
        ('[email]\nhost = "h"\nsender = "bot@example.org"\n', "email.recipients", "at least one"),
        ('[email]\nhost = "h"\nsender = "bot@example.org"\nrecipients = ["me"]\n', "email.recipients[0]",
         "an email address"),
        ('[email]\nhost = "h"\nsender = "bot@example.org"\nrecipients = ["a@b.org", "a@b.org"]\n',
         "email.recipients", "once each"),
        ('email = "smtp.example.org"\n', "email", "a table"),
        ('[notify]\nwebhooks = ["ftp://example.org/x"]\n', "notify.webhooks[0]", "http:// or https://"),
        ('[notify]\nwebhooks = "https://example.org/x"\n', "notify.webhooks", "a list"),
        ("[notify]\nmax_attempts = 0\n", "notify.max_attempts", "at least 1"),
        ("[notify]\nbackoff_seconds = -5\n", "notify.backoff_seconds", "more than 0"),
        ("[notify]\nbackoff_seconds = 120\nbackoff_max_seconds = 60\n", "notify.backoff_max_seconds",
         "at least backoff_seconds"),
        ("[notify]\nretries = 3\n", "notify.retries", "one of"),
    ],
)
def test_bad_email_or_notify_values_name_file_key_and_expectation(tmp_path, text, key, expected):
    path = notify_config(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_notify(path)
    assert err.value.key == key
    assert str(path) in str(err.value) and expected in str(err.value)
    assert "hunter2" not in str(err.value)


def test_bad_webhook_url_error_hides_the_path(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_notify(notify_config(tmp_path, '[notify]\nwebhooks = ["ftp://example.org/TOKEN"]\n'))
    assert "TOKEN" not in str(err.value)


def test_shipped_config_has_no_email_channel():
    from jobtrend.config import REPO_ROOT

    config = load_config(REPO_ROOT / "config")
    assert config.notify.email is None and config.notify.webhooks == ()
