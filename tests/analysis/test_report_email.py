"""The weekly report end to end: built, queued in the outbox, delivered by SMTP to a real server on 127.0.0.1,
and received with its HTML, text part and both charts inline; scraped markup arrives escaped; never twice."""

import datetime as dt
import html

import pytest

from analysis.notify import deliver_pending
from analysis.report import build_report, queue_report
from tests.analysis.test_notify import free_port, settings_for, start_smtp
from tests.analysis.test_report import seed


@pytest.fixture
def smtp_server():
    port = free_port()
    controller, inbox = start_smtp(port)
    yield port, inbox
    controller.stop()


def test_the_weekly_report_arrives_by_email_once_with_both_charts(engine, smtp_server):
    smtp_port, smtp = smtp_server
    seed(engine)  # its postings include a title with a <script> tag
    report = build_report(engine, now=dt.datetime(2025, 11, 26, 9, tzinfo=dt.UTC))
    settings = settings_for(smtp_port)
    queued = queue_report(engine, settings, report)
    assert queued == 1
    assert deliver_pending(engine, settings).sent == 1
    assert queue_report(engine, settings, report) == 0  # the same week again: nothing new queued
    assert deliver_pending(engine, settings).sent == 0
    assert len(smtp.messages) == 1

    message = smtp.messages[0]
    assert report.label in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    body = message.get_body(preferencelist=("html",)).get_content()
    assert report.label in text and report.label in body
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 2
    for part in images:
        cid = part["Content-ID"].strip("<>")
        assert f"cid:{cid}" in body
        assert part.get_content().startswith(b"\x89PNG")
    assert "<script>" not in body.lower()
    assert html.escape("<script>") in body
