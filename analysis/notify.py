"""The outbox: messages are queued as rows of ``outbox`` and delivered later, by email (SMTP) or webhook (JSON POST).

Queueing (:func:`enqueue`, :func:`queue_for_recipients`) is idempotent on ``dedupe_key``: queueing the same
message twice leaves one row, so a job that runs again after a crash never sends a second copy.

Delivery (:func:`deliver_pending`) takes the pending rows that are due, one at a time:

1. it *claims* the row with a conditional UPDATE (still pending, still due), adding one to ``attempts`` and
   moving ``next_attempt_at`` ahead by :data:`CLAIM_SECONDS`, and commits, so two deliverers running at once
   never send the same row and a process that dies while sending retries the row later;
2. it sends the message;
3. it commits the outcome: ``sent`` (with ``sent_at``), or the error as one line in ``last_error`` and a new
   ``next_attempt_at`` after an exponential backoff (``backoff_seconds`` doubling per attempt, at most
   ``backoff_max_seconds``), or ``failed`` once ``max_attempts`` attempts have failed.

Only *transient* errors are retried: a refused or timed-out connection, a dropped connection, a 4xx SMTP answer,
a webhook that is down or answers 5xx. A *permanent* one fails the row at once with its reason
(:class:`DeliveryError` with ``permanent``): a server that does not offer STARTTLS (or demands it), a plain server
behind ``security = "ssl"``, a 5xx SMTP answer (login refused, sender or recipient rejected). Retrying those for
two hours would change nothing. Every connection error names the server's host and port.

One row's failure never stops the others. A crash between sending and committing sends the message again: an
email keeps the same ``Message-ID`` (derived from ``dedupe_key``) and ``Date`` (the row's ``created_at``), so the
copy is identical and mail systems drop it; a webhook receiver sees the same JSON body again.

The SMTP password comes only from the environment variable ``JOBTREND_SMTP_PASSWORD``; it is never logged and is
scrubbed from any error text before it is stored. See docs/operations.md, "Email and webhooks".
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import http.client
import json
import logging
import os
import re
import smtplib
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from sqlalchemy import Engine, select, update

from jobtrend import __version__
from jobtrend.addresses import PRIVATE_ADDRESS, PrivateAddressError, checked_connection, public_addresses, url_refusal
from jobtrend.config import SMTP_PASSWORD_ENV, EmailSettings, NotifySettings
from jobtrend.db import insert_ignoring_conflicts, session_factory
from jobtrend.messages import ERROR_MAX, error_line, one_line
from jobtrend.models import Outbox
from jobtrend.weeks import utcnow

log = logging.getLogger(__name__)

CHANNELS = ("email", "webhook")
STATUSES = ("pending", "sent", "failed")
DEDUPE_KEY_MAX = 200  # outbox.dedupe_key is VARCHAR(200)
CLAIM_SECONDS = 900  # a claimed row is retried after this long if its outcome was never recorded
WEBHOOK_URL_RE = re.compile(r"^https?://")


@dataclass(frozen=True)
class DeliveryResult:
    """What one :func:`deliver_pending` call did: rows sent, rows to be retried later, rows given up on, and the
    distinct errors of the failed attempts (first seen first)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: tuple[str, ...] = field(default=(), compare=False)

    @property
    def due(self) -> int:
        return self.sent + self.retried + self.failed

    @property
    def nothing_sent(self) -> bool:
        """Messages were due and not one of them could be sent."""
        return self.due > 0 and self.sent == 0


class DeliveryError(Exception):
    """A message could not be sent; the message is one line fit for ``outbox.last_error``. ``permanent``: trying
    again cannot help (the row fails at once)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


# --------------------------------------------------------------------------------------------- queueing


def enqueue(engine: Engine, *, channel: str, recipient: str, subject: str, body: str, dedupe_key: str,
            html: str | None = None, attachments: list[dict] | None = None) -> bool:
    """Queue one message; return False (and change nothing) when a row with ``dedupe_key`` already exists.

    ``channel`` is ``email`` (``recipient`` an address, ``body`` plain text, optional ``html`` whose inline
    images are ``attachments``: ``[{"cid": ..., "mime": "image/png", "data": base64}]``, referred to as
    ``cid:...`` in the HTML) or ``webhook`` (``recipient`` a URL, ``body`` the JSON document to POST).
    """
    _check_message(channel, recipient, body, dedupe_key, attachments)
    subject = one_line(subject)
    now = utcnow()
    row = {"channel": channel, "recipient": recipient, "subject": subject, "body": body, "html": html,
           "attachments": list(attachments) if attachments else None, "dedupe_key": dedupe_key,
           "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
    with session_factory(engine).begin() as session:
        if session.scalar(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key)) is not None:
            return False
        insert_ignoring_conflicts(session, Outbox.__table__, [row])
        # A concurrent enqueue of the same key may have won between the check and the insert: the row is ours
        # only if it carries our created_at (to the microsecond).
        stored = session.scalar(select(Outbox.created_at).where(Outbox.dedupe_key == dedupe_key))
    return stored == now


def queue_for_recipients(engine: Engine, settings: Any, *, subject: str, body: str, dedupe_key: str,
                         html: str | None = None, attachments: list[dict] | None = None,
                         payload: Any = None) -> int:
    """Queue a message for every configured recipient; return how many rows were newly queued.

    One email row per ``[email] recipients`` address (when ``[email]`` is configured) and one webhook row per
    ``[notify] webhooks`` URL, whose body is ``payload`` as JSON, or ``{"subject": ..., "text": body}``. Each
    row's key is ``dedupe_key`` plus the channel and recipient, so queueing again adds nothing. ``settings``
    is a :class:`~jobtrend.config.NotifySettings` (or a :class:`~jobtrend.config.Config`).
    """
    notify = _notify_settings(settings)
    queued = 0
    if notify.email is not None:
        for address in notify.email.recipients:
            queued += enqueue(engine, channel="email", recipient=address, subject=subject, body=body,
                              dedupe_key=recipient_key(dedupe_key, "email", address), html=html,
                              attachments=attachments)
    if notify.webhooks:
        document = payload if payload is not None else {"subject": subject, "text": body}
        webhook_body = json.dumps(document, ensure_ascii=False, sort_keys=True, default=str)
        for url in notify.webhooks:
            queued += enqueue(engine, channel="webhook", recipient=url, subject=subject, body=webhook_body,
                              dedupe_key=recipient_key(dedupe_key, "webhook", url))
    return queued


def recipient_key(dedupe_key: str, channel: str, recipient: str) -> str:
    """The stable per-recipient key: ``KEY|email|addr`` or ``KEY|webhook|<hash of the URL>``.

    A webhook URL often holds a token, so only a hash of it goes into the key; a key that would not fit the
    column keeps its start and ends with a hash of the whole.
    """
    if channel == "webhook" or len(recipient) > 80:
        recipient = _digest(recipient)[:16]
    key = f"{dedupe_key}|{channel}|{recipient}"
    if len(key) > DEDUPE_KEY_MAX:
        key = f"{dedupe_key[:DEDUPE_KEY_MAX - 42]}|{_digest(key)[:40]}"
    return key


def _check_message(channel: str, recipient: str, body: str, dedupe_key: str, attachments: list | None) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    if not dedupe_key or len(dedupe_key) > DEDUPE_KEY_MAX:
        raise ValueError(f"dedupe_key must have 1 to {DEDUPE_KEY_MAX} characters")
    if not recipient or "\n" in recipient or "\r" in recipient:
        raise ValueError("recipient must be one non-empty line")
    if channel == "webhook":
        if not WEBHOOK_URL_RE.match(recipient):
            raise ValueError("a webhook recipient must be an http:// or https:// URL")
        json.loads(body)  # a webhook body must be JSON (raises ValueError)
    for item in attachments or ():
        if not isinstance(item, dict) or not {"cid", "mime", "data"} <= set(item):
            raise ValueError('each attachment must be a dict with "cid", "mime" and "data" (base64)')
        if "/" not in item["mime"] or not re.match(r"^[\w.@+-]+$", item["cid"]):
            raise ValueError(f"attachment {item['cid']!r}: bad mime type or cid")
        try:
            base64.b64decode(item["data"], validate=True)
        except (binascii.Error, TypeError) as exc:
            raise ValueError(f"attachment {item['cid']!r}: data is not base64") from exc



def _notify_settings(settings: Any) -> NotifySettings:
    return settings.notify if hasattr(settings, "notify") else settings


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------- delivery


def deliver_pending(engine: Engine, settings: Any, *, now: dt.datetime | None = None,
                    limit: int = 100) -> DeliveryResult:
    """Send up to ``limit`` pending rows whose ``next_attempt_at`` is due at ``now`` (default: the current time).

    Each row's claim and outcome are committed separately (see the module docstring). ``settings`` is a
    :class:`~jobtrend.config.NotifySettings` (or a :class:`~jobtrend.config.Config`).
    """
    notify = _notify_settings(settings)
    clock = (lambda: now) if now is not None else utcnow
    start = clock()
    factory = session_factory(engine)
    with factory() as session:
        ids = session.scalars(select(Outbox.id)
                              .where(Outbox.status == "pending", Outbox.next_attempt_at <= start)
                              .order_by(Outbox.next_attempt_at, Outbox.id).limit(limit)).all()
    sent = retried = failed = 0
    errors: dict[str, None] = {}
    for row_id in ids:
        row = _claim(factory, row_id, clock())
        if row is None:  # another deliverer took it
            continue
        try:
            _send(row, notify)
        except Exception as exc:  # noqa: BLE001 - any failure of one row is recorded and the next row goes on
            error = _error_line(exc)
            errors[error] = None
            gave_up = _record_failure(factory, row, notify, clock(), error,
                                      permanent=getattr(exc, "permanent", False))
            log.warning("outbox row %s (%s) %s after attempt %d: %s", row.id, row.channel,
                        "failed for good" if gave_up else "will be retried", row.attempts, error)
            failed += gave_up
            retried += not gave_up
        else:
            _record_sent(factory, row.id, clock())
            log.info("outbox row %s (%s) sent", row.id, row.channel)
            sent += 1
    return DeliveryResult(sent=sent, retried=retried, failed=failed, errors=tuple(errors))


def pending_rows(engine: Engine, *, now: dt.datetime | None = None, limit: int = 100) -> list[Outbox]:
    """The rows :func:`deliver_pending` would send now, in the order it would send them."""
    with session_factory(engine)() as session:
        return list(session.scalars(select(Outbox)
                                    .where(Outbox.status == "pending", Outbox.next_attempt_at <= (now or utcnow()))
                                    .order_by(Outbox.next_attempt_at, Outbox.id).limit(limit)))


def backoff(attempts: int, settings: NotifySettings) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: ``backoff_seconds`` doubling, at most the maximum."""
    seconds = settings.backoff_seconds * 2 ** min(max(attempts - 1, 0), 40)
    return dt.timedelta(seconds=min(seconds, settings.backoff_max_seconds))


def _claim(factory, row_id: int, now: dt.datetime) -> Outbox | None:
    with factory.begin() as session:
        claimed = session.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.status == "pending", Outbox.next_attempt_at <= now)
            .values(attempts=Outbox.attempts + 1, next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS))
        ).rowcount
        if claimed != 1:
            return None
        return session.get(Outbox, row_id, populate_existing=True)


def _record_sent(factory, row_id: int, now: dt.datetime) -> None:
    with factory.begin() as session:
        session.execute(update(Outbox).where(Outbox.id == row_id)
                        .values(status="sent", sent_at=now, last_error=None))


def _record_failure(factory, row: Outbox, settings: NotifySettings, now: dt.datetime, error: str, *,
                    permanent: bool = False) -> bool:
    """Store the error; return True when the row is marked failed: the error is ``permanent``, or the row has now
    used up its attempts."""
    gave_up = permanent or row.attempts >= settings.max_attempts
    values: dict[str, Any] = {"last_error": error}
    if gave_up:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = now + backoff(row.attempts, settings)
    with factory.begin() as session:
        session.execute(update(Outbox).where(Outbox.id == row.id).values(**values))
    return gave_up


def _send(row: Outbox, settings: NotifySettings) -> None:
    if row.channel == "email":
        if settings.email is None:
            raise DeliveryError("email is not configured: jobtrend.toml has no [email] table")
        send_email(build_email(row, settings.email), settings.email, row.recipient)
    elif row.channel == "webhook":
        post_webhook(row.recipient, row.body, timeout=settings.webhook_timeout,
                     allow_private=settings.allow_private_addresses)
    else:
        raise DeliveryError(f"unknown channel {row.channel!r}")


def _error_line(exc: BaseException) -> str:
    """One line describing ``exc``, without the SMTP password (or its base64 forms)."""
    text = str(exc) if isinstance(exc, DeliveryError) else error_line(exc, whole=True, limit=None)
    return _scrub(text)[:ERROR_MAX]


def _scrub(text: str) -> str:
    password = os.environ.get(SMTP_PASSWORD_ENV)
    if not password:
        return text
    secrets = {password, base64.b64encode(password.encode()).decode()}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    # AUTH PLAIN sends base64("\0user\0password"): drop any long base64 token rather than risk echoing one.
    return re.sub(r"[A-Za-z0-9+/]{24,}={0,2}", "***", text) if "AUTH" in text.upper() else text


# --------------------------------------------------------------------------------------------- email


def message_id(dedupe_key: str, sender: str | None = None) -> str:
    """The ``Message-ID`` of the email queued under ``dedupe_key``: the same key always gives the same id."""
    address = parseaddr(sender or "")[1]
    domain = address.rpartition("@")[2] if "@" in address else ""
    if not re.match(r"^[A-Za-z0-9.-]+$", domain):
        domain = "jobtrend.local"
    return f"<{_digest(dedupe_key)[:32]}@{domain}>"


def build_email(row: Outbox, settings: EmailSettings) -> EmailMessage:
    """The message for an email row: text, an HTML alternative when ``html`` is set, inline images related to it.

    Structure with HTML and images: ``multipart/alternative`` of ``text/plain`` and ``multipart/related``
    (``text/html`` and one part per image, with ``Content-ID: <cid>``). Built only from the row and the
    sender, so a second attempt gives the same message.
    """
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = row.recipient
    msg["Subject"] = one_line(row.subject)  # a line break would be refused by email (or add a header)
    msg["Date"] = format_datetime(row.created_at.astimezone(dt.UTC))
    msg["Message-ID"] = message_id(row.dedupe_key, settings.sender)
    msg["X-Mailer"] = f"jobtrend/{__version__}"
    msg.set_content(row.body)
    images = row.attachments or []
    if row.html is not None:
        msg.add_alternative(row.html, subtype="html")
        html_part = msg.get_payload()[1]
        for image in images:
            maintype, _, subtype = image["mime"].partition("/")
            html_part.add_related(base64.b64decode(image["data"]), maintype=maintype, subtype=subtype,
                                  cid=f"<{image['cid']}>", disposition="inline",
                                  filename=f"{image['cid']}.{subtype}")
    else:
        for image in images:
            maintype, _, subtype = image["mime"].partition("/")
            msg.add_attachment(base64.b64decode(image["data"]), maintype=maintype, subtype=subtype,
                               cid=f"<{image['cid']}>", filename=f"{image['cid']}.{subtype}")
    return msg


def send_email(msg: EmailMessage, settings: EmailSettings, recipient: str) -> None:
    """Send ``msg`` to ``recipient`` through the configured SMTP server (TLS as configured, login if a user is set).

    Raises :class:`DeliveryError` naming the server (``host:port``), ``permanent`` when retrying cannot help
    (:func:`smtp_error`)."""
    password = os.environ.get(SMTP_PASSWORD_ENV)
    if settings.username and not password:
        raise DeliveryError(f"email.username is set but the environment variable {SMTP_PASSWORD_ENV} is not")
    try:
        _smtp_send(msg, settings, recipient, password)
    except (smtplib.SMTPException, OSError) as exc:
        raise smtp_error(exc, settings) from exc


def _smtp_send(msg: EmailMessage, settings: EmailSettings, recipient: str, password: str | None) -> None:
    context = ssl.create_default_context()
    if settings.security == "ssl":
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with client:
        client.ehlo()
        if settings.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if settings.username:
            client.login(settings.username, password)
        client.send_message(msg, from_addr=parseaddr(settings.sender)[1], to_addrs=[recipient])


def smtp_error(exc: BaseException, settings: EmailSettings) -> DeliveryError:
    """``exc`` (from smtplib, ssl or the socket) as one line naming the server, and whether it is permanent: a
    5xx answer (but a refused login: fixing the password must not lose the queued messages), no STARTTLS where it
    is configured, or a server that does not speak TLS where ``ssl`` is; a 4xx answer, a refused, dropped or
    timed-out connection and a certificate problem are transient."""
    server = f"{settings.host}:{settings.port}"
    if isinstance(exc, smtplib.SMTPNotSupportedError) and "STARTTLS" not in str(exc).upper():
        return DeliveryError(f"the SMTP server {server}: {_text(str(exc))} (check email.username and "
                             "email.security)", permanent=True)  # e.g. no AUTH offered for a login
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # starttls() on a server without the extension
        return DeliveryError(f"the SMTP server {server} does not offer STARTTLS (email.security = "
                             f'"{settings.security}"): use its TLS port with security = "ssl", or security = '
                             f'"none" only for a relay on this machine or network', permanent=True)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        answer = "; ".join(f"{code} {_text(message)}" for code, message in exc.recipients.values())
        return DeliveryError(f"recipient refused by {server}: {answer}",
                             permanent=bool(codes) and all(code >= 500 for code in codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        code, answer = exc.smtp_code, _text(exc.smtp_error)
        what = _SMTP_STEPS.get(type(exc), "the SMTP server")
        hint = (' (the server requires STARTTLS: set email.security = "starttls")'
                if code == 530 and "starttls" in answer.lower() else "")
        # a refused login (535) is the configuration's fault, not the message's: once the password is fixed the
        # queued messages must still go, so it is retried like a transient error
        return DeliveryError(f"{what} {server} answered {code} {answer}{hint}",
                             permanent=code >= 500 and not isinstance(exc, smtplib.SMTPAuthenticationError))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(f"TLS to {server}: certificate verify failed: {exc.verify_message}")
    if isinstance(exc, ssl.SSLError) and exc.reason in ("WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL",
                                                        "RECORD_LAYER_FAILURE"):
        return DeliveryError(f"{server} does not speak TLS (email.security = \"{settings.security}\"): "
                             f'use security = "starttls" on its submission port (587)', permanent=True)
    if isinstance(exc, ConnectionRefusedError):
        return DeliveryError(f"Connection refused by {server}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return DeliveryError(f"timed out after {settings.timeout:g} s talking to {server}")
    if isinstance(exc, socket.gaierror):
        return DeliveryError(f"cannot resolve the SMTP host {settings.host} ({_text(exc.strerror)}), port "
                             f"{settings.port}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"{server} closed the connection: {_text(str(exc))}")
    return DeliveryError(f"{server}: {error_line(exc, whole=True, limit=None)}")


_SMTP_STEPS = {smtplib.SMTPAuthenticationError: "login refused by", smtplib.SMTPSenderRefused: "sender refused by",
               smtplib.SMTPDataError: "message refused by", smtplib.SMTPHeloError: "greeting refused by",
               smtplib.SMTPConnectError: "connection refused by"}


def _text(answer: bytes | str | None) -> str:
    """An SMTP answer (bytes) or error text as one line."""
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return " ".join((answer or "").split())


# --------------------------------------------------------------------------------------------- webhooks


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer that is not 2xx: it is reported, not followed (a POST must not turn into a GET)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
        return None


class _AddressCheck:
    """Mixed into urllib's HTTP(S) handlers: the connection resolves its host once and refuses, before connecting,
    when an address is private, loopback or link-local (:func:`jobtrend.addresses.checked_connection`), so a DNS
    answer cannot aim a webhook at this machine, the local network or a metadata service. Through a proxy, which
    resolves the host itself, the host's addresses are checked before the request instead."""

    def do_open(self, http_class, req, **http_conn_args):  # noqa: ANN001 - urllib's signature
        if req.has_proxy() or req._tunnel_host:  # the proxy connects: check where it is sent
            target = urllib.parse.urlsplit(req.full_url)
            try:
                public_addresses(target.hostname, target.port)
            except PrivateAddressError as exc:
                raise urllib.error.URLError(exc) from None
            return super().do_open(http_class, req, **http_conn_args)

        def checked(*args, **kwargs):  # http.client connects through _create_connection
            connection = http_class(*args, **kwargs)
            connection._create_connection = checked_connection
            return connection

        return super().do_open(checked, req, **http_conn_args)


class _CheckedHTTPHandler(_AddressCheck, urllib.request.HTTPHandler):
    pass


class _CheckedHTTPSHandler(_AddressCheck, urllib.request.HTTPSHandler):
    pass


_openers = {  # notify.allow_private_addresses -> the opener
    False: urllib.request.build_opener(_NoRedirect, _CheckedHTTPHandler, _CheckedHTTPSHandler),
    True: urllib.request.build_opener(_NoRedirect),
}
PRIVATE_WEBHOOK = ("webhook URL rejected: its host is a private, loopback or link-local address "
                   "(notify.allow_private_addresses is false)")


def post_webhook(url: str, body: str, *, timeout: float = 30, allow_private: bool = False) -> int:
    """POST ``body`` (JSON) to ``url``; return the status, raising :class:`DeliveryError` unless it is 2xx.

    Unless ``allow_private``, a host that is, or resolves to, a private, loopback or link-local address is
    refused before any connection (``notify.allow_private_addresses``). Errors never name the URL, which may
    hold a token.
    """
    if not WEBHOOK_URL_RE.match(url):  # never let urllib open file://, ftp:// or data: (a row edited by hand)
        raise DeliveryError("webhook URL rejected: only http:// and https:// URLs are posted to")
    if url_refusal(url, allow_private) == PRIVATE_ADDRESS:
        raise DeliveryError(PRIVATE_WEBHOOK)
    request = urllib.request.Request(url, data=body.encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": f"jobtrend/{__version__}"})
    try:
        with _openers[bool(allow_private)].open(request, timeout=timeout) as response:
            status = response.status
            response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, PrivateAddressError):
            raise DeliveryError(PRIVATE_WEBHOOK) from None
        raise DeliveryError(f"webhook {_origin(url)} unreachable: {' '.join(str(exc.reason).split())}") from None
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, garbled answers
        raise DeliveryError(f"webhook {_origin(url)} unreachable: {type(exc).__name__}: "
                            f"{' '.join(str(exc).split())}") from None
    except ValueError as exc:  # a malformed URL: its text is left out, it may hold a token
        raise DeliveryError(f"webhook URL rejected: {type(exc).__name__}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook answered HTTP {status}")
    return status


def _origin(url: str) -> str:
    """``host:port`` of a webhook URL: where it was sent, without the path, which may hold a token."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "(malformed URL)"
    return f"{parts.hostname}:{port}"
