"""Scraped titles, companies, URLs and errors cannot inject markup, scripts, links or headers, on SQLite and
PostgreSQL: into the weekly report (HTML, standalone file, email HTML and text parts) or into alerts (email and
webhook JSON). Mail goes to a real aiosmtpd server on 127.0.0.1 and webhooks to a real http.server there.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import insert, update

from analysis.alerts import SourceHealthRule, evaluate_alerts
from analysis.notify import deliver_pending, queue_for_recipients
from analysis.report import build_report, queue_report, write_report_file
from analysis.trends import wilson_interval
from jobtrend.models import Alert, Framework, Mention, Source, TrendPoint
from tests.analysis.factories import add_posting, add_source, classify_posting, edit_posting
from tests.security.helpers import HttpReceiver, Markup, Smtp

WEEK = dt.date(2025, 11, 17)  # Monday of 2025-W47
NOW = dt.datetime(2025, 11, 26, 9, tzinfo=dt.UTC)
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
ATTR = "' onmouseover='alert(1)"
TEMPLATE = "{{ 7 * 7 }}{% raw %}"
CRLF = "Engineer\r\nBcc: evil@example.org\r\nX-Injected: 1"
CID = "cid:framework-shares@jobtrend"  # the text the chart's src holds before the file embeds it
SAFE_URL = "https://jobs.example.org/1?a=1&b=2"
QUOTE_URL = 'https://jobs.example.org/2"><img/src=x/onerror=alert(1)>'  # no space: a valid-looking http URL
BAD_URLS = ["javascript:alert(1)", "JaVaScRiPt:alert(document.cookie)", "\tjavascript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "//evil.example/x", "vbscript:msgbox(1)"]
# (title, company, url) of the example postings of two frameworks new this week (3 examples each)
POSTINGS = [(f"{SCRIPT} Engineer", f"{IMG} Inc", BAD_URLS[0]), (f"{IMG} Engineer", f"{ATTR} Ltd", BAD_URLS[1]),
            (f"{CID} {TEMPLATE}", None, SAFE_URL), (CRLF, f"{SCRIPT} GmbH", QUOTE_URL),
            (f"{ATTR} Lead", None, BAD_URLS[2]), ("Data scientist", None, BAD_URLS[3]),
            ("Proto-relative", None, BAD_URLS[4]), ("VB", None, BAD_URLS[5])]
HEALTH_ERROR = f"HTTP 500 {SCRIPT}\r\nBcc: evil@example.org"
ALLOWED_TAGS = {"html", "head", "meta", "title", "body", "table", "tr", "td", "th", "h1", "h2", "p", "div", "span",
                "br", "code", "img", "a"}


def _trend(conn, week, framework_id, n, k):
    low, high = wilson_interval(k, n)
    conn.execute(insert(TrendPoint), {"period_start": week, "cohort": "all", "framework_id": framework_id,
                                      "n_postings": n, "n_mentioning": k, "share": k / n, "ci_low": low,
                                      "ci_high": high})


def seed(engine) -> None:
    """Hostile postings of WEEK that are the examples of new frameworks, a failing source with a hostile company
    and error, and an alert of the week whose subject is hostile."""
    source = add_source(engine, "jsonld", "https://careers.example.org/jobs")
    failing = add_source(engine, "ashby", "broken")
    with engine.begin() as conn:
        conn.execute(update(Source).where(Source.id == failing).values(
            health="failing", health_since=dt.datetime(2025, 11, 20, 8, tzinfo=dt.UTC), consecutive_failures=3,
            last_error=HEALTH_ERROR, company=f"{IMG} Corp"))
        ids = [conn.execute(insert(Framework).returning(Framework.id),
                            {"slug": slug, "name": name, "category": "x"}).scalar_one()
               for slug, name in [("fw-a", "Alpha"), ("fw-b", f"<b>Beta</b> {SCRIPT}"), ("fw-c", "Gamma")]]
    posting_ids = []
    for title, company, url in POSTINGS:  # measured AI-role postings: the report's examples are drawn from those
        pid = add_posting(engine, source, title="x", text="Build agents.", week=WEEK)
        edit_posting(engine, pid, title=title, company=company, url=url, location=f"{SCRIPT} Berlin", analyzed_at=NOW)
        classify_posting(engine, pid, "ai_swe")
        posting_ids.append(pid)
    with engine.begin() as conn:
        for i, pid in enumerate(posting_ids):
            conn.execute(insert(Mention), {"posting_id": pid, "framework_id": ids[min(i // 3, 2)], "count": 1,
                                           "taxonomy_version": "t"})
        for fid in ids:
            for w in range(1, 5):
                _trend(conn, WEEK - dt.timedelta(weeks=w), fid, 100, 0)
            _trend(conn, WEEK, fid, 100, 3)
        conn.execute(insert(Alert), {"rule": "health", "subject": f"ashby:{SCRIPT}", "period_start": WEEK,
                                     "value": 3.0, "threshold": None, "direction": None})


@pytest.fixture
def report(engine):
    seed(engine)
    return build_report(engine, now=NOW)


def check_html(html: str) -> Markup:
    """The HTML holds only the template's own tags and attributes; returns the parsed document."""
    doc = Markup(html)
    assert {tag for tag, _ in doc.tags} <= ALLOWED_TAGS
    assert [tag for tag, _ in doc.tags].count("img") == 2  # the two charts, nothing injected
    attributes = {name for _, attrs in doc.tags for name in attrs}
    assert not [name for name in attributes if name.startswith("on")]
    assert attributes <= {"lang", "charset", "name", "content", "style", "role", "cellpadding", "cellspacing",
                          "align", "href", "src", "alt", "width"}
    assert sorted(doc.values("href")) == sorted([SAFE_URL, QUOTE_URL])  # only the http(s) posting URLs
    assert all(src.startswith(("cid:", "data:image/png;base64,")) for src in doc.values("src"))
    for title, company, _ in POSTINGS:  # shown as text, exactly
        assert " ".join(title.split()) in " ".join(doc.text.split())
        assert company is None or company in doc.text
    assert SCRIPT in doc.text and IMG in doc.text and "Bcc: evil@example.org" in doc.text
    return doc


def check_text(text: str) -> None:
    """The plain-text part: each scraped value on one line with its label, no line of its own."""
    lines = text.splitlines()
    assert not [line for line in lines if line.lstrip().startswith(("Bcc:", "X-Injected:"))]
    assert f"    - {' '.join(CRLF.split())} ({SCRIPT} GmbH) <{QUOTE_URL}>" in lines
    assert f"    - {CID} {TEMPLATE} (Acme) <{SAFE_URL}>" in lines  # Acme: the source's company
    assert f"    - {SCRIPT} Engineer ({IMG} Inc)" in lines  # its javascript: URL is left out
    assert not [u for u in BAD_URLS if u.strip() in text]
    assert f"    last error: {' '.join(HEALTH_ERROR.split())}" in lines


def test_report_html_escapes_every_scraped_value_and_links_only_http(report):
    check_html(report.html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report.html
    assert "49" not in Markup(report.html).text  # no template evaluation of scraped text


def test_report_text_keeps_scraped_values_on_their_own_line(report):
    check_text(report.text)


def test_standalone_file_embeds_charts_but_leaves_a_title_holding_their_cid_alone(report, tmp_path):
    html = write_report_file(report, tmp_path / "report.html").read_text(encoding="utf-8")
    doc = check_html(html)
    assert all(src.startswith("data:image/png;base64,") for src in doc.values("src"))
    assert f"{CID} {TEMPLATE}" in doc.text  # before the fix, the title's text became a 30 kB data: URI


def test_report_email_and_webhook_carry_the_escaped_html_and_plain_text(engine, report):
    with Smtp() as smtp, HttpReceiver() as hook:
        settings = smtp.settings(webhooks=(hook.url,))
        assert queue_report(engine, settings, report) == 2
        assert deliver_pending(engine, settings).sent == 2
    [envelope], [message] = smtp.inbox.envelopes, smtp.inbox.messages
    assert envelope.rcpt_tos == ["me@example.org"]
    assert "Bcc" not in message and "X-Injected" not in message
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    check_html(html)
    check_text(text.replace("\r\n", "\n"))
    [(_, headers, body)] = hook.requests
    assert headers["Content-Type"] == "application/json"
    document = json.loads(body)
    assert document["text"] == report.text and set(document) == {"subject", "text"}


def test_a_subject_with_line_breaks_is_sent_once_on_one_line(engine):
    """Before the fix, email refused the header at every attempt: the message was retried, then lost."""
    with Smtp() as smtp:
        settings = smtp.settings()
        queue_for_recipients(engine, settings, subject=f"Weekly {CRLF}\x85\u2028X-Other: 2\x00", body="b",
                             dedupe_key="crlf")
        assert deliver_pending(engine, settings).sent == 1
    [envelope], [message] = smtp.inbox.envelopes, smtp.inbox.messages
    assert envelope.rcpt_tos == ["me@example.org"]
    assert message["Subject"] == "Weekly Engineer Bcc: evil@example.org X-Injected: 1 X-Other: 2"
    assert not {"Bcc", "X-Injected", "X-Other"} & set(message.keys())


def test_alert_email_is_plain_text_and_webhook_json_round_trips(engine):
    source = add_source(engine, "jsonld", f"https://x.example/{SCRIPT}")
    with engine.begin() as conn:
        conn.execute(update(Source).where(Source.id == source).values(
            health="gone", health_since=dt.datetime(2025, 11, 20, 8, tzinfo=dt.UTC), consecutive_failures=2,
            last_error=HEALTH_ERROR, company=f"{IMG}\r\nBcc: evil@example.org"))
    with Smtp() as smtp, HttpReceiver() as hook:
        settings = smtp.settings(webhooks=(hook.url,))
        fired = evaluate_alerts(engine, [SourceHealthRule("health")], now=NOW, notify_settings=settings)
        assert [a.new for a in fired] == [True]
        assert deliver_pending(engine, settings).sent == 2
    [envelope], [message] = smtp.inbox.envelopes, smtp.inbox.messages
    assert envelope.rcpt_tos == ["me@example.org"] and "Bcc" not in message
    assert message.get_content_type() == "text/plain" and not message.is_multipart()  # no HTML to inject into
    assert message["Subject"] == f"source jsonld:https://x.example/{SCRIPT} is gone since 2025-11-20"
    body = message.get_content()
    assert f"Last error: HTTP 500 {SCRIPT} Bcc: evil@example.org" in body.splitlines()
    [(_, headers, raw)] = hook.requests
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(raw)
    assert payload["details"]["company"] == f"{IMG}\r\nBcc: evil@example.org"  # data, exactly as stored
    assert payload["subject"] == f"jsonld:https://x.example/{SCRIPT}"
