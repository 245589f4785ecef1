"""Honest delivery (issue 19): `jobtrend deliver` exits 1 when messages were due and none could be sent, saying why
in one line; a permanent SMTP error fails the message at once, a transient one is retried; every connection error
names the server's host and port; nothing is sent twice. Against real SMTP servers on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import dataclasses

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from analysis.notify import deliver_pending
from jobtrend.cli import main
from jobtrend.config import NotifySettings
from jobtrend.db import make_engine
from tests.analysis.test_notify import queue_mail, rows, settings_for
from tests.jobtrend.test_config import write_config
from tests.local_servers import Inbox, free_port


class Refusing(Inbox):
    """An inbox whose server answers RCPT TO for addresses in ``answers`` with the given reply."""

    def __init__(self, answers: dict[str, str]):
        super().__init__()
        self.answers = answers

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def server():
    """Start an SMTP server on a free port with a given handler: server(handler) -> port."""
    controllers = []

    def start(handler: Inbox) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


def deliver_cli(tmp_path, db_url: str, port: int, *, security: str = "none",
                recipients: tuple[str, ...] = ("me@example.org",)):
    listed = ", ".join(f'"{r}"' for r in recipients)
    config_dir = write_config(tmp_path / "config", main=(
        f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\nsender = "bot@example.org"\n'
        f"recipients = [{listed}]\n"))
    env = {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    return CliRunner().invoke(main, ["deliver"], env=env)


def queue(db_url: str, *keys: str, recipient: str = "me@example.org") -> None:
    engine = make_engine(db_url)
    try:
        for key in keys:
            queue_mail(engine, key=key, recipient=recipient)
    finally:
        engine.dispose()


def test_nothing_due_is_not_an_error(tmp_path, db_url):
    result = deliver_cli(tmp_path, db_url, free_port())
    assert result.exit_code == 0 and result.output.strip() == "sent 0, retried 0, failed 0"


def test_smtp_down_exits_1_naming_host_and_port_and_keeps_the_mail(tmp_path, db_url, engine):
    port = free_port()  # nothing listens there
    queue(db_url, "a", "b")
    result = deliver_cli(tmp_path, db_url, port)
    assert result.exit_code == 1
    assert result.output == (f"Error: none of the 2 due messages could be sent (2 will be retried, 0 failed for "
                             f"good): Connection refused by 127.0.0.1:{port}\n")
    assert [(r.status, r.attempts, r.last_error) for r in rows(engine)] == [
        ("pending", 1, f"Connection refused by 127.0.0.1:{port}")] * 2


def test_starttls_against_a_plain_server_fails_at_once(tmp_path, db_url, engine, server):
    inbox = Inbox()
    port = server(inbox)
    queue(db_url, "report")
    result = deliver_cli(tmp_path, db_url, port, security="starttls")
    assert result.exit_code == 1
    reason = (f'the SMTP server 127.0.0.1:{port} does not offer STARTTLS (email.security = "starttls"): use its '
              'TLS port with security = "ssl", or security = "none" only for a relay on this machine or network')
    assert result.output == f"Error: the due message could not be sent (it failed for good): {reason}\n"
    [row] = rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, reason)  # not 8 attempts over 2 hours
    again = deliver_cli(tmp_path, db_url, port, security="starttls")
    assert again.exit_code == 0 and again.output.strip() == "sent 0, retried 0, failed 0"
    assert inbox.messages == []


def test_implicit_tls_against_a_plain_server_fails_at_once(engine, server):
    port = server(Inbox())
    queue_mail(engine)
    settings = NotifySettings(email=dataclasses.replace(settings_for(port).email, security="ssl"))
    result = deliver_pending(engine, settings)
    assert (result.sent, result.retried, result.failed) == (0, 0, 1)
    assert rows(engine)[0].last_error.startswith(f'127.0.0.1:{port} does not speak TLS (email.security = "ssl")')


def test_a_rejected_recipient_fails_at_once_and_the_others_are_sent_once(tmp_path, db_url, engine, server):
    inbox = Refusing({"gone@example.org": "550 5.1.1 <gone@example.org>: no such user"})
    port = server(inbox)
    queue(db_url, "alert-1")
    queue(db_url, "alert-2", recipient="gone@example.org")
    result = deliver_cli(tmp_path, db_url, port)
    assert result.exit_code == 0 and result.output.strip() == "sent 1, retried 0, failed 1"
    assert [m["To"] for m in inbox.messages] == ["me@example.org"]
    by_key = {r.dedupe_key: r for r in rows(engine)}
    assert (by_key["alert-2"].status, by_key["alert-2"].attempts) == ("failed", 1)
    assert by_key["alert-2"].last_error == (f"recipient refused by 127.0.0.1:{port}: 550 5.1.1 <gone@example.org>: "
                                            "no such user")
    assert deliver_cli(tmp_path, db_url, port).output.strip() == "sent 0, retried 0, failed 0"
    assert len(inbox.messages) == 1  # nothing sent twice


def test_a_4xx_answer_is_retried(tmp_path, db_url, engine, server):
    port = server(Refusing({"me@example.org": "451 4.3.0 try again later"}))
    queue(db_url, "alert-1")
    result = deliver_cli(tmp_path, db_url, port)
    assert result.exit_code == 1
    assert result.output == (f"Error: the due message could not be sent (it will be retried): recipient refused "
                             f"by 127.0.0.1:{port}: 451 4.3.0 try again later\n")
    [row] = rows(engine)
    assert (row.status, row.attempts) == ("pending", 1)
