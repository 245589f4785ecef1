"""The weekly report: its week, counts, movers, escaping, charts, the HTML file, storage, queueing and the CLI."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from click.testing import CliRunner
from markupsafe import escape
from scipy.stats import fisher_exact
from sqlalchemy import func, insert, select, update

from analysis.drift import share_band
from analysis.report import (
    build_report,
    queue_report,
    standalone_html,
    store_report,
    two_proportion_p,
    write_report_file,
)
from analysis.trends import two_proportion_test
from jobtrend.cli import main
from jobtrend.db import make_engine
from jobtrend.models import Alert, Classification, Framework, Mention, Report, Source, TrendPoint
from jobtrend.weeks import last_complete_week, parse_iso_week
from tests.analysis.factories import add_posting, add_source, edit_posting
from tests.analysis.test_drift import add_week
from tests.jobtrend.test_config import invoke_cli, write_config

WEEK = dt.date(2025, 11, 17)  # Monday of 2025-W47
LABEL = "2025-W47"
EVIL = "<script>alert(1)</script>"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- pure helpers ----------------------------------------------------------------------------------------


def test_two_proportion_p_matches_the_pooled_z_test():
    # p1 = .2, p2 = .1, pooled .15: z = 0.1 / sqrt(.15 * .85 * (1/50 + 1/50)) = 1.4003, two-sided p = 0.1614
    assert two_proportion_p(10, 50, 5, 50) == pytest.approx(0.161429, abs=1e-6)
    assert two_proportion_p(5, 50, 10, 50) == pytest.approx(two_proportion_p(10, 50, 5, 50))
    assert two_proportion_p(40, 100, 40, 400) < 1e-10
    assert two_proportion_p(31, 100, 120, 400) > 0.5


def test_a_rare_mover_is_judged_by_the_exact_test():
    # 6 of 60 after 1 of 240: 1.4 mentions expected this week; the z-test says 1e-5, Fisher's exact test 3e-4
    assert two_proportion_p(6, 60, 1, 240) == pytest.approx(fisher_exact([[6, 54], [1, 239]]).pvalue, rel=1e-9)
    assert two_proportion_test(6, 60, 1, 240)[1] < two_proportion_p(6, 60, 1, 240) / 5


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(0, 0, 3, 10), (3, 10, 0, 0), (0, 10, 0, 40), (10, 10, 40, 40)])
def test_two_proportion_p_is_one_when_nothing_can_differ(k1, n1, k2, n2):
    assert two_proportion_p(k1, n1, k2, n2) == 1.0


@pytest.mark.parametrize(("now", "expected"), [
    (dt.datetime(2025, 11, 26, 9, 0, tzinfo=dt.UTC), WEEK),  # a Wednesday: the week before
    (dt.datetime(2025, 11, 24, 0, 30, tzinfo=dt.UTC), WEEK),  # Monday just after the week ended
    (dt.datetime(2025, 11, 23, 23, 59, tzinfo=dt.UTC), WEEK - dt.timedelta(weeks=1)),  # its Sunday: not over yet
    (dt.datetime(2025, 11, 24, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))), WEEK - dt.timedelta(weeks=1)),
    (dt.date(2025, 11, 30), WEEK),
])
def test_default_week_is_the_one_that_ended_last_sunday(now, expected):
    assert last_complete_week(now) == expected


def test_iso_week_labels_parse_or_explain():
    assert parse_iso_week("2025-W47") == WEEK
    assert parse_iso_week("2026-w01") == dt.date(2025, 12, 29)
    assert parse_iso_week("2020-W53") == dt.date(2020, 12, 28)
    with pytest.raises(ValueError, match="2025 has no week 53"):
        parse_iso_week("2025-W53")
    with pytest.raises(ValueError, match="expected YYYY-Www"):
        parse_iso_week("2025-11-17")


# --- a small database ------------------------------------------------------------------------------------


def _trend(conn, week, fid, n, k):
    from analysis.trends import wilson_interval

    low, high = wilson_interval(k, n)
    conn.execute(insert(TrendPoint), {"period_start": week, "cohort": "all", "framework_id": fid, "n_postings": n,
                                      "n_mentioning": k, "share": k / n, "ci_low": low, "ci_high": high})


def _classify(conn, posting_id, role):
    conn.execute(insert(Classification), {
        "posting_id": posting_id, "model_version": "t", "content_hash": "h", "is_ai_role": role is not None,
        "relevance_probability": 0.9 if role else 0.1, "role": role, "probability": 0.8 if role else None})


def seed(engine) -> dict:
    """Sources, frameworks, postings of WEEK and the weeks before, classifications, trend points, alerts."""
    ashby = add_source(engine, "ashby", "acme")
    greenhouse = add_source(engine, "greenhouse", "beta")
    add_source(engine, "lever", "gamma")
    with engine.begin() as conn:
        conn.execute(update(Source).where(Source.id == ashby).values(health="ok"))
        conn.execute(update(Source).where(Source.id == greenhouse).values(
            health="failing", health_since=dt.datetime(2025, 11, 20, 8, tzinfo=dt.UTC),
            last_error="HTTP 500 <b>boom</b>", company=f"{EVIL} Beta"))
        ids = {}
        for slug, name in [("pytorch", "PyTorch"), ("langchain", "LangChain"), ("jax", "JAX"),
                           ("evil", f"{EVIL} Evil")]:
            ids[slug] = conn.execute(insert(Framework).returning(Framework.id),
                                     {"slug": slug, "name": name, "category": "x"}).scalar_one()

    # WEEK: 6 ashby + 4 greenhouse canonical postings, and one ashby duplicate.
    week_postings = [add_posting(engine, ashby, title=f"AI Engineer {i}", week=WEEK) for i in range(6)]
    week_postings += [add_posting(engine, greenhouse, title=f"ML Engineer {i}", week=WEEK) for i in range(4)]
    add_posting(engine, ashby, title="AI Engineer 0", week=WEEK, duplicate_of=week_postings[0])
    evil_posting = week_postings[0]
    edit_posting(engine, evil_posting, title=f"{EVIL} Engineer", company=f"{EVIL} Inc")
    earlier = [add_posting(engine, ashby, title="Older", week=WEEK - dt.timedelta(weeks=w)) for w in (1, 1, 2)]
    with engine.begin() as conn:
        for pid, role in zip(week_postings, ["ai_swe"] * 3 + ["ml_engineer"] * 2 + [None] * 2, strict=False):
            _classify(conn, pid, role)  # 3 ai_swe, 2 ml_engineer, 2 not AI, 3 unclassified
        for pid, role in zip(earlier, ["ai_swe", "ml_engineer", "ml_engineer"], strict=True):
            _classify(conn, pid, role)
        conn.execute(insert(Mention), {"posting_id": evil_posting, "framework_id": ids["evil"], "count": 1,
                                       "taxonomy_version": "t"})
        for w in range(1, 5):  # trailing weeks: n = 100 each
            for slug, k in [("pytorch", 30), ("langchain", 10), ("jax", 5), ("evil", 0)]:
                _trend(conn, WEEK - dt.timedelta(weeks=w), ids[slug], 100, k)
        for slug, k in [("pytorch", 31), ("langchain", 40), ("jax", 5), ("evil", 3)]:
            _trend(conn, WEEK, ids[slug], 100, k)
        conn.execute(insert(Alert), [
            {"rule": "langchain_jump", "subject": "langchain", "period_start": WEEK, "value": 0.4, "threshold": 0.2,
             "direction": "up"},
            {"rule": "old_rule", "subject": "jax", "period_start": WEEK - dt.timedelta(weeks=1), "value": 0.1,
             "threshold": None, "direction": None},
        ])
    return ids


@pytest.fixture
def report(engine):
    seed(engine)
    return build_report(engine, now=dt.datetime(2025, 11, 26, 9, tzinfo=dt.UTC))


def test_report_covers_the_week_that_ended_last_sunday(report):
    assert report.week == WEEK and report.label == LABEL
    assert report.data.trailing == [WEEK - dt.timedelta(weeks=w) for w in (4, 3, 2, 1)]
    assert f"jobtrend weekly report {LABEL}" in report.html and LABEL in report.text


def test_postings_are_counted_by_source_and_role(report):
    data = report.data
    assert [(s.kind, s.postings, s.duplicates) for s in data.sources] == [("ashby", 6, 1), ("greenhouse", 4, 0)]
    assert data.total_postings == 10
    assert data.roles == {"ai_swe": 3, "ml_engineer": 2, "not_ai": 2, "unclassified": 3}
    assert data.role_series[-1][1:] == (3, 2)
    assert data.role_series[-2][1:] == (1, 1) and data.role_series[-3][1:] == (0, 1)
    assert len(data.role_series) == 12


def test_top_frameworks_have_share_interval_and_change(report):
    rows = {f.slug: f for f in report.data.frameworks}
    assert [f.slug for f in report.data.frameworks] == ["langchain", "pytorch", "jax", "evil"]
    langchain = rows["langchain"]
    assert (langchain.k, langchain.n, langchain.trailing_k, langchain.trailing_n) == (40, 100, 40, 400)
    assert langchain.share == pytest.approx(0.4) and langchain.change == pytest.approx(0.3)
    assert langchain.ci_low < 0.4 < langchain.ci_high
    assert rows["jax"].change == pytest.approx(0.0)


def test_a_clear_jump_is_a_mover_and_noise_is_not(report):
    movers = [f.slug for f in report.data.movers]
    assert "langchain" in movers and report.data.movers[0].direction == "up"
    assert "pytorch" not in movers and "jax" not in movers  # 31 % against 30 %: noise


def test_new_entries_are_mentioned_now_and_never_in_the_trailing_weeks(report):
    assert [e.framework.slug for e in report.data.new_entries] == ["evil"]
    assert [e.title for e in report.data.new_entries[0].examples] == [f"{EVIL} Engineer"]


def test_alerts_of_the_week_and_unhealthy_sources_are_listed(report):
    assert [(a.rule, a.subject, a.direction) for a in report.data.alerts] == [("langchain_jump", "langchain", "up")]
    health = [(h.kind, h.key, h.health) for h in report.data.source_health]
    assert health == [("greenhouse", "beta", "failing"), ("lever", "gamma", "new")]
    assert "langchain_jump" in report.html and "old_rule" not in report.html


def test_the_classifier_line_gives_the_ai_share_its_band_and_what_drifted(engine):
    assert "Classifier: no posting of this week is classified by the current model yet." in (
        build_report(engine, WEEK).text)
    board = add_source(engine, "ashby", "acme")
    for w in range(10, 0, -1):  # 20 % AI roles, half of them ml_engineer
        add_week(engine, board, WEEK - dt.timedelta(weeks=w), 100, ai=20, ml=10)
    add_week(engine, board, WEEK, 100, ai=45, ml=5)
    low, high = share_band(160, 800, 100)  # the 8 weeks before, pooled; a week of 100
    assert low < 0.2 < high < 0.45
    band = f"(band {low * 100:.1f}-{high * 100:.1f}%)"
    drifted = build_report(engine, WEEK)
    line = (f"Classifier: 45.0% of this week's 100 classified postings are AI roles {band}, ml_engineer 11.1% of "
            "them, mean confidence 0.90; outside the band: AI share up, ml_engineer share down")
    assert f"  {line}" in drifted.text.splitlines() and f">{escape(line)}</p>" in drifted.html
    quiet = build_report(engine, WEEK - dt.timedelta(weeks=1))
    assert (f"  Classifier: 20.0% of this week's 100 classified postings are AI roles {band}, ml_engineer 50.0% "
            "of them, mean confidence 0.90; no drift") in quiet.text.splitlines()


def test_a_small_week_is_not_judged_by_the_classifier_line(report):
    assert ("  Classifier: 71.4% of this week's 7 classified postings are AI roles, ml_engineer 40.0% of them, "
            "mean confidence 0.90; not judged: fewer than 30 classified postings") in report.text.splitlines()


def test_scraped_text_is_escaped_in_the_html(report):
    assert EVIL not in report.html and "<script" not in report.html.lower()
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for shown in (f"{escaped} Engineer", f"{escaped} Inc", f"{escaped} Evil", f"{escaped} Beta",
                  "HTTP 500 &lt;b&gt;boom&lt;/b&gt;"):
        assert shown in report.html
    assert f"{EVIL} Engineer" in report.text  # the plain-text part is not HTML: nothing to escape


def test_text_part_has_the_same_figures_aligned(report):
    text = report.text
    assert "&lt;" not in text
    langchain = next(line for line in text.splitlines() if "LangChain" in line and "%" in line)
    assert "40.0%" in langchain and "10.0%" in langchain and "+30.0 pp" in langchain
    table = text.split("POSTINGS BY SOURCE\n")[1].split("\n\n")[0].splitlines()
    assert len({len(line) for line in table[1:]}) == 1  # right-aligned numbers: equal widths


def test_two_png_charts_are_referred_to_by_cid(report):
    assert len(report.images) == 2
    for cid, png in report.images:
        assert png.startswith(PNG_MAGIC) and len(png) > 1000
        assert f'src="cid:{cid}"' in report.html
    assert len({cid for cid, _ in report.images}) == 2


def test_report_file_embeds_the_charts(report, tmp_path):
    path = write_report_file(report, tmp_path / "out" / "report.html")
    html = path.read_text()
    assert "cid:" not in html
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(uris) == 2 and all(base64.b64decode(u).startswith(PNG_MAGIC) for u in uris)


def test_store_report_keeps_one_row_per_week_unless_forced(engine, report):
    assert store_report(engine, report) is True
    assert store_report(engine, report) is False
    later = build_report(engine, WEEK, now=dt.datetime(2025, 11, 27, tzinfo=dt.UTC))
    assert store_report(engine, later) is False
    with engine.connect() as conn:
        assert conn.scalar(select(Report.generated_at)) == dt.datetime(2025, 11, 26, 9, tzinfo=dt.UTC)
    assert store_report(engine, later, force=True) is True
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Report)) == 1
        row = conn.execute(select(Report)).one()
    assert row.period_start == WEEK and row.generated_at == dt.datetime(2025, 11, 27, tzinfo=dt.UTC)
    assert row.html == standalone_html(later) and row.text == later.text
    assert "data:image/png;base64," in row.html and "cid:" not in row.html  # the stored report shows its charts


def test_an_empty_database_still_gives_a_report(engine):
    empty = build_report(engine, WEEK)
    assert empty.data.total_postings == 0 and not empty.data.frameworks
    assert "No trend data" in empty.html and len(empty.images) == 2


def test_queue_report_hands_the_email_to_the_outbox(report, monkeypatch):
    import analysis.notify as notify

    calls = []
    monkeypatch.setattr(notify, "queue_for_recipients", lambda engine, settings, **kw: calls.append(kw) or 1)
    queue_report(None, "settings", report)
    queue_report(None, "settings", report, force=True)
    first, forced = calls
    assert first["dedupe_key"] == f"report:{LABEL}" and forced["dedupe_key"].startswith(f"report:{LABEL}:2025-11-26")
    assert first["body"] == report.text and first["html"] == report.html and LABEL in first["subject"]
    assert [(a["cid"], a["mime"]) for a in first["attachments"]] == [(cid, "image/png") for cid, _ in report.images]
    assert base64.b64decode(first["attachments"][0]["data"]) == report.images[0][1]


# --- the command -----------------------------------------------------------------------------------------


@pytest.fixture
def run(tmp_path):
    config_dir = write_config(tmp_path / "config")

    def invoke(args, database_url):
        return invoke_cli(config_dir, args, database_url)

    return invoke


def test_report_command_stores_and_writes_the_file(run, db_url, tmp_path):
    engine = make_engine(db_url)
    seed(engine)
    out = tmp_path / "report.html"
    result = run(["report", "--week", LABEL, "--out", str(out)], db_url)
    assert result.exit_code == 0, result.output
    assert f"report {LABEL}" in result.output and "10 postings" in result.output
    assert "stored in reports" in result.output
    html = out.read_text()
    assert "data:image/png;base64," in html and "cid:" not in html
    again = run(["report", "--week", LABEL], db_url)
    assert again.exit_code == 0 and "already stored" in again.output
    assert "stored in reports" in run(["report", "--week", LABEL, "--force"], db_url).output
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Report)) == 1
    engine.dispose()


def test_report_command_shows_the_stored_report_as_it_was_sent(run, db_url, tmp_path):
    engine = make_engine(db_url)
    seed(engine)
    missing = run(["report", "--stored", "--week", LABEL], db_url)
    assert missing.exit_code == 1 and f"no report stored for {LABEL}" in missing.output
    assert run(["report", "--week", LABEL], db_url).exit_code == 0
    with engine.connect() as conn:
        stored = conn.execute(select(Report.html, Report.text)).one()
    engine.dispose()
    text = run(["report", "--stored", "--week", LABEL], db_url)
    assert text.exit_code == 0 and text.output == stored.text + "\n"
    out = tmp_path / "sent.html"
    written = run(["report", "--stored", "--week", LABEL, "--out", str(out)], db_url)
    assert written.exit_code == 0 and f"the report of {LABEL} stored" in written.output
    assert out.read_text() == stored.html and "data:image/png;base64," in stored.html
    refused = run(["report", "--stored", "--send"], db_url)
    assert refused.exit_code == 2 and "cannot be combined" in refused.output


def test_report_command_send_queues_one_email_per_recipient_and_week(tmp_path, db_url):
    from jobtrend.models import Outbox
    from tests.jobtrend.test_config import MAIN

    email = '[email]\nhost = "localhost"\nsender = "jt@example.org"\nrecipients = ["a@example.org", "b@example.org"]\n'
    config_dir = write_config(tmp_path / "config", main=MAIN + email)
    env = {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    engine = make_engine(db_url)
    seed(engine)
    first = CliRunner().invoke(main, ["report", "--week", LABEL, "--send"], env=env)
    assert first.exit_code == 0, first.output
    assert "queued 2 message(s)" in first.output
    assert "already queued" in CliRunner().invoke(main, ["report", "--week", LABEL, "--send"], env=env).output
    with engine.connect() as conn:
        rows = conn.execute(select(Outbox.recipient, Outbox.subject, Outbox.html, Outbox.attachments)).all()
    assert sorted(r.recipient for r in rows) == ["a@example.org", "b@example.org"]
    assert all(LABEL in r.subject and "cid:" in r.html and len(r.attachments) == 2 for r in rows)
    forced = CliRunner().invoke(main, ["report", "--week", LABEL, "--send", "--force"], env=env)
    assert "queued 2 message(s)" in forced.output
    engine.dispose()


def test_report_command_send_without_recipients_is_a_clear_error(run, db_url):
    result = run(["report", "--week", LABEL, "--send"], db_url)
    assert result.exit_code == 1 and "nobody to send the report to" in result.output


@pytest.mark.parametrize(("week", "message"), [("2025-W53", "has no week 53"), ("2025-11-17", "expected YYYY-Www")])
def test_a_bad_week_is_a_clear_error(run, tmp_path, week, message):
    result = run(["report", "--week", week], f"sqlite:///{tmp_path / 'none.db'}")
    assert result.exit_code == 2
    assert "--week" in result.output and message in result.output
