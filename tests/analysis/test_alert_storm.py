"""Alerts an operator can live with (issue 19): one network outage is one digest, not a mail per source; a source
is broken after `min_failures` failed crawls in a row, not one; our own shutdown is never a source's error; a run
queues at most `max_messages` messages, the last a summary; an alert says which postings its share is of.

Run as a user would: `jobtrend alerts` and `jobtrend deliver` against a real SMTP server on 127.0.0.1, on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import func, insert, select

from analysis.alert_rules import load_alert_limits, load_alert_rules
from analysis.alerts import SourceHealthRule, ThresholdRule, cohort_phrase, evaluate_alerts
from jobtrend.cli import main
from jobtrend.config import ConfigError, NotifySettings
from jobtrend.db import session_factory
from jobtrend.health import explain_error, record_crawl, stopped_by_us
from jobtrend.models import Alert, Outbox, Source
from tests.analysis.test_alerts import add_framework, add_points
from tests.jobtrend.test_config import write_config
from tests.local_servers import Inbox, free_port

DNS = "download_error:CannotResolveHostError"
RECIPIENTS = ("ops@example.org", "me@example.org")
HOOK = NotifySettings(webhooks=("https://hooks.example.org/jobtrend",))


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1: (port, inbox)."""
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def config_with_email(tmp_path, port: int, rules: str) -> dict[str, str]:
    """A config folder whose [email] sends to both RECIPIENTS through 127.0.0.1:port, with ``rules`` as
    alerts.toml; the environment the CLI runs in."""
    recipients = ", ".join(f'"{r}"' for r in RECIPIENTS)
    config_dir = write_config(tmp_path / "config", main=(
        f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nsender = "bot@example.org"\n'
        f"recipients = [{recipients}]\n"))
    (config_dir / "alerts.toml").write_text(rules)
    return {"JOBTREND_CONFIG_DIR": str(config_dir)}


def run(env: dict, db_url: str, *args: str):
    return CliRunner().invoke(main, list(args), env=env | {"JOBTREND_DATABASE_URL": db_url})


def add_sources(engine, kind: str, count: int) -> list[int]:
    with engine.begin() as conn:
        conn.execute(insert(Source), [{"kind": kind, "key": f"{kind}-{i:02d}", "company": f"Co {i}", "enabled": True}
                                      for i in range(count)])
        return list(conn.scalars(select(Source.id).where(Source.kind == kind).order_by(Source.key)))


def crawl_fails(engine, source_ids: list[int], error: str, status: str = "failed") -> None:
    """One crawl of each source ending with ``status`` and ``error``, recorded as the crawler does."""
    with session_factory(engine).begin() as session:
        for source_id in source_ids:
            record_crawl(session, source_id, status=status, error=error, seen=0)


def outbox(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(Outbox.recipient, Outbox.subject).order_by(Outbox.id))]


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Alert))


BROKEN = '[[rules]]\nkind = "source_health"\nname = "source-broken"\n'


# --- 1 and 2: one digest per run, after two failures in a row ---------------------------------------------------


def test_a_network_outage_is_one_digest_per_recipient_not_a_mail_per_source(tmp_path, db_url, engine, smtp):
    port, inbox = smtp
    env = config_with_email(tmp_path, port, BROKEN)
    sources = add_sources(engine, "ashby", 40) + add_sources(engine, "greenhouse", 14) + add_sources(
        engine, "hackernews", 2)

    crawl_fails(engine, sources, DNS)  # the first failure is transient: nothing fires
    first = run(env, db_url, "alerts")
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "0 alerts from 1 rules, 0 new"
    assert outbox(engine) == []

    crawl_fails(engine, sources, DNS)  # the second in a row: every source is broken
    second = run(env, db_url, "alerts")
    assert second.exit_code == 0, second.output
    assert second.output.strip().splitlines()[-1] == "56 alerts from 1 rules, 56 new (stored and queued in the outbox)"
    assert stored(engine) == 56  # each alert is still stored on its own
    subject = ("56 sources failing: DNS lookup failed for api.ashbyhq.com, boards-api.greenhouse.io, hn.algolia.com "
               "- is the network up?")
    assert outbox(engine) == [(recipient, subject) for recipient in RECIPIENTS]  # 2 messages, not 112

    sent = run(env, db_url, "deliver")
    assert sent.exit_code == 0, sent.output
    assert sent.output.strip() == "sent 2, retried 0, failed 0"
    assert sorted(m["To"] for m in inbox.messages) == sorted(RECIPIENTS)
    body = inbox.messages[0].get_content()
    assert f"DNS lookup failed ({DNS}): 56 sources - is the network up?" in body
    assert "ashby (40): ashby-00, ashby-01," in body and "and 20 more" in body  # listed compactly, capped
    assert "greenhouse (14): greenhouse-00," in body and "hackernews (2): hackernews-00, hackernews-01" in body

    again = run(env, db_url, "alerts")  # nothing new: nothing queued, nothing sent twice
    assert again.exit_code == 0 and len(outbox(engine)) == 2
    assert run(env, db_url, "deliver").output.strip() == "sent 0, retried 0, failed 0"
    assert len(inbox.messages) == 2


def test_the_digest_groups_sources_by_reason_in_plain_words(engine):
    dns = add_sources(engine, "ashby", 3)
    gone = add_sources(engine, "lever", 2)
    for _ in range(2):
        crawl_fails(engine, dns, DNS)
        crawl_fails(engine, gone, "http_404")
    fired = evaluate_alerts(engine, [SourceHealthRule("source-broken")], notify_settings=HOOK,
                            hosts={"ashby": "api.ashbyhq.com"})
    assert len(fired) == 5
    with engine.connect() as conn:
        [(subject, body)] = conn.execute(select(Outbox.subject, Outbox.body)).all()
    assert subject == ("5 sources failing: DNS lookup failed for api.ashbyhq.com; 2 for other reasons "
                       "- is the network up?")
    assert '"words": "the board does not exist (HTTP 404): check its key"' in body
    assert '"subjects": ["lever:lever-00", "lever:lever-01"]' in body


def test_a_single_broken_source_is_one_ordinary_alert(engine):
    [source] = add_sources(engine, "greenhouse", 1)
    crawl_fails(engine, [source], "http_503")
    crawl_fails(engine, [source], "http_503")
    [alert] = evaluate_alerts(engine, [SourceHealthRule("source-broken")], notify_settings=HOOK)
    assert alert.title.startswith("source greenhouse:greenhouse-00 is failing since ")
    assert "Reason: HTTP 503 service unavailable" in alert.body.splitlines()
    with engine.connect() as conn:
        assert conn.scalars(select(Outbox.subject)).all() == [alert.title]


def test_min_failures_is_configurable_and_checked(tmp_path, db_url, engine):
    path = tmp_path / "alerts.toml"
    path.write_text(BROKEN + "min_failures = 3\n")
    [rule] = load_alert_rules(path)
    assert rule == SourceHealthRule("source-broken", min_failures=3)
    assert load_alert_rules(tmp_path / "none.toml") == () and SourceHealthRule("x").min_failures == 2
    sources = add_sources(engine, "ashby", 1)
    for failures in (1, 2):
        crawl_fails(engine, sources, DNS)
        assert evaluate_alerts(engine, [rule], dry_run=True) == [], failures
    crawl_fails(engine, sources, DNS)
    assert [a.value for a in evaluate_alerts(engine, [rule], dry_run=True)] == [3.0]
    path.write_text(BROKEN + "min_failures = 0\n")
    with pytest.raises(ConfigError) as error:
        load_alert_rules(path)
    assert error.value.key == "rules[0].min_failures" and "at least 1" in str(error.value)
    env = config_with_email(tmp_path, free_port(), BROKEN + "min_failures = 0\n")
    result = run(env, db_url, "alerts")
    assert result.exit_code == 1
    assert result.output.strip().endswith("rules[0].min_failures: expected a number of failed crawls in a row, "
                                          "at least 1, e.g. 2, got 0")


def test_a_board_that_is_gone_or_listing_nothing_still_needs_the_failures(engine):
    [gone] = add_sources(engine, "lever", 1)
    crawl_fails(engine, [gone], "http_404")
    rule = SourceHealthRule("source-broken")
    assert evaluate_alerts(engine, [rule], dry_run=True) == []  # gone after one 404: could be a blip
    crawl_fails(engine, [gone], "http_404")
    assert [a.details["health"] for a in evaluate_alerts(engine, [rule], dry_run=True)] == ["gone"]


# --- 3: our own shutdown is not the source's error --------------------------------------------------------------


@pytest.mark.parametrize(("status", "error"), [("partial", "cut_short:shutdown"), ("failed", "interrupted"),
                                               ("partial", "cut_short:closespider_timeout")])
def test_our_own_stop_never_overwrites_the_real_error_nor_counts_as_a_failure(engine, status, error):
    [source] = add_sources(engine, "ashby", 1)
    crawl_fails(engine, [source], DNS)
    crawl_fails(engine, [source], DNS)
    crawl_fails(engine, [source], error, status=status)  # the scheduler stopped, Ctrl-C, our time limit
    with engine.connect() as conn:
        row = conn.execute(select(Source).where(Source.id == source)).one()
    assert (row.health, row.last_error, row.consecutive_failures) == ("failing", DNS, 2)
    [alert] = evaluate_alerts(engine, [SourceHealthRule("source-broken")], notify_settings=HOOK)
    assert f"Last error: {DNS}" in alert.body.splitlines() and "cut_short" not in alert.body
    assert "interrupted" not in alert.body and "Reason: DNS lookup failed" in alert.body


def test_only_our_own_stops_are_taken_for_ours():
    assert stopped_by_us("cut_short:shutdown") and stopped_by_us("interrupted")
    assert not stopped_by_us(DNS) and not stopped_by_us("http_404") and not stopped_by_us(None)
    assert explain_error(DNS) == "DNS lookup failed"
    assert explain_error("download_error:ConnectionRefusedError") == "connection refused"
    assert explain_error("mystery_code") == "mystery_code"


def test_a_source_ok_after_our_stop_is_counted_from_zero(engine):
    [source] = add_sources(engine, "ashby", 1)
    crawl_fails(engine, [source], DNS)
    crawl_fails(engine, [source], "cut_short:shutdown", status="partial")
    crawl_fails(engine, [source], DNS)
    with engine.connect() as conn:
        assert conn.scalar(select(Source.consecutive_failures).where(Source.id == source)) == 2


# --- 4: a cap on messages per run, with a summary ---------------------------------------------------------------


def many_crossings(engine, count: int) -> None:
    """``count`` frameworks whose share crosses 10 % in the same (complete) week."""
    monday = dt.date.today() - dt.timedelta(days=dt.date.today().weekday())
    for i in range(count):
        add_points(engine, add_framework(engine, f"fw-{i:02d}", f"Framework {i:02d}"), [(5, 100), (15, 100)],
                   start=monday - dt.timedelta(weeks=2))


def test_a_run_sends_at_most_max_messages_the_last_a_summary(tmp_path, db_url, engine, smtp):
    port, inbox = smtp
    rules = ('max_messages = 20\n[[rules]]\nkind = "threshold"\nname = "any-10"\nframework = "*"\nlevel = 0.1\n'
             'direction = "up"\nmin_postings = 30\n')
    env = config_with_email(tmp_path, port, rules)
    many_crossings(engine, 25)
    result = run(env, db_url, "alerts")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "25 alerts from 1 rules, 25 new (stored and queued in the outbox)"
    subjects = [subject for recipient, subject in outbox(engine) if recipient == RECIPIENTS[0]]
    assert len(subjects) == 20 and len(outbox(engine)) == 40  # 20 messages, each to 2 recipients
    assert subjects[0].startswith("Framework 00 share up to 15.0% of AI-role postings (n=100) in ")
    assert subjects[18].startswith("Framework 18 share up")
    assert subjects[19] == "6 more alerts: see jobtrend alerts --list"
    assert stored(engine) == 25
    sent = run(env, db_url, "deliver")
    assert sent.exit_code == 0 and sent.output.strip() == "sent 40, retried 0, failed 0"
    summary = next(m for m in inbox.messages if m["Subject"] == subjects[19]).get_content()
    assert "- Framework 19 share up to 15.0%" in summary and "- Framework 24 share up" in summary
    assert "- Framework 18" not in summary

    listed = run(env, db_url, "alerts", "--list", "--limit", "30")
    assert listed.exit_code == 0, listed.output
    assert sum("any-10" in line for line in listed.output.splitlines()) == 25
    assert "Framework 24 share up to 15.0% of AI-role postings" in listed.output
    misuse = run(env, db_url, "alerts", "--list", "--dry-run")
    assert misuse.exit_code == 2 and "--list shows stored alerts" in misuse.output


def test_max_messages_is_checked(tmp_path):
    path = tmp_path / "alerts.toml"
    path.write_text("max_messages = 0\n")
    with pytest.raises(ConfigError) as error:
        load_alert_limits(path)
    assert error.value.key == "max_messages" and "at least 1" in str(error.value)
    path.write_text("max_messages = 5\n")
    assert load_alert_limits(path).max_messages == 5 and load_alert_rules(path) == ()
    assert load_alert_limits(tmp_path / "none.toml").max_messages == 20


# --- 6: the cohort an alert's number belongs to -----------------------------------------------------------------


def test_an_alert_says_which_postings_its_share_is_of(engine):
    add_points(engine, add_framework(engine, "mcp", "MCP"), [(5, 100), (20, 100)], cohort="ai_swe",
               start=dt.date(2026, 1, 5))
    rule = ThresholdRule("mcp-ai-swe", "mcp", level=0.10, direction="up", cohort="ai_swe")
    [alert] = evaluate_alerts(engine, [rule], dry_run=True, now=dt.datetime(2026, 3, 4, tzinfo=dt.UTC))
    assert alert.title == "MCP share up to 20.0% of AI Software Engineer postings (n=100) in 2026-W03"
    assert "20 of 100 AI Software Engineer postings in 2026-W03 mention MCP" in alert.body
    assert [cohort_phrase(c) for c in ("all", "ml_engineer", "market", "market:hackernews")] == [
        "AI-role postings", "ML Engineer postings", "all postings", "all hackernews postings"]


def test_rules_accept_the_market_cohorts_and_name_them(tmp_path, engine):
    path = tmp_path / "alerts.toml"
    path.write_text('[[rules]]\nkind = "threshold"\nname = "k8s"\nframework = "kubernetes"\nlevel = 0.1\n'
                    'cohort = "market"\n[[rules]]\nkind = "change"\nname = "hn"\nframework = "*"\n'
                    'cohort = "market:hackernews"\n')
    market, hackernews = load_alert_rules(path)
    assert (market.cohort, hackernews.cohort) == ("market", "market:hackernews")
    path.write_text('[[rules]]\nkind = "threshold"\nname = "x"\nframework = "k"\nlevel = 0.1\n'
                    'cohort = "market:monster"\n')
    with pytest.raises(ConfigError) as error:
        load_alert_rules(path)
    assert error.value.key == "rules[0].cohort"
    assert "expected one of all, ai_swe, ml_engineer, market, or market:<source kind> (one of ashby," in str(
        error.value)
    add_points(engine, add_framework(engine, "kubernetes", "Kubernetes"), [(5, 1000), (120, 1000)],
               cohort="market", start=dt.date(2026, 1, 5))
    [alert] = evaluate_alerts(engine, [market], dry_run=True, now=dt.datetime(2026, 3, 4, tzinfo=dt.UTC))
    assert alert.title == "Kubernetes share up to 12.0% of all postings (n=1000) in 2026-W03"
