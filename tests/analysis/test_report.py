"""The weekly report: its week, counts, movers, escaping, charts, the HTML file, storage, queueing and the CLI."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from click.testing import CliRunner
from markupsafe import escape
from scipy.stats import false_discovery_control, fisher_exact
from sqlalchemy import func, insert, select, update

from analysis.drift import share_band
from analysis.filters import PostingFilter
from analysis.report import (
    PointReader,
    benjamini_hochberg,
    build_report,
    chart_grain,
    company_name,
    queue_report,
    source_mix_note,
    standalone_html,
    store_report,
    two_proportion_p,
    write_report_file,
)
from analysis.report_charts import ChartPoint, Segment, is_muted, panel_title, segments, shares_figure
from analysis.trends import compute_trends, two_proportion_test, wilson_interval
from jobtrend.cli import main
from jobtrend.db import make_engine
from jobtrend.models import Alert, Classification, Framework, Mention, Posting, Report, Source, TrendPoint
from jobtrend.weeks import last_complete_week, month_of, parse_iso_week
from tests.analysis.factories import add_posting, add_source, edit_posting
from tests.analysis.test_drift import add_week
from tests.jobtrend.test_config import invoke_cli, write_config

WEEK = dt.date(2025, 11, 17)  # Monday of 2025-W47
LABEL = "2025-W47"
EVIL = "<script>alert(1)</script>"
TEXT = "We build agents with models."
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


def _trend(conn, week, fid, n, k, *, cohort="all", grain="week"):
    low, high = wilson_interval(k, n)
    conn.execute(insert(TrendPoint), {"period_start": week, "cohort": cohort, "framework_id": fid, "n_postings": n,
                                      "n_mentioning": k, "share": k / n, "ci_low": low, "ci_high": high,
                                      "grain": grain})


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

    # WEEK: 6 ashby + 4 greenhouse canonical postings, and one ashby duplicate; the last has no description.
    week_postings = [add_posting(engine, ashby, title=f"AI Engineer {i}", text=TEXT, week=WEEK) for i in range(6)]
    week_postings += [add_posting(engine, greenhouse, title=f"ML Engineer {i}", text=TEXT if i < 3 else "",
                                  week=WEEK) for i in range(4)]
    add_posting(engine, ashby, title="AI Engineer 0", week=WEEK, duplicate_of=week_postings[0])
    for pid in week_postings:
        edit_posting(engine, pid, analyzed_at=dt.datetime(2025, 11, 24, tzinfo=dt.UTC))
    evil_posting = week_postings[0]
    edit_posting(engine, evil_posting, title=f"{EVIL} Engineer", company=f"{EVIL} Inc")
    edit_posting(engine, week_postings[5], title="Ruby on Rails developer")  # not an AI role
    earlier = [add_posting(engine, ashby, title="Older", text=TEXT, week=WEEK - dt.timedelta(weeks=w))
               for w in (1, 1, 2)]
    with engine.begin() as conn:
        conn.execute(update(Posting).values(posted_month=func.coalesce(Posting.posted_month, month_of(WEEK))))
    with engine.begin() as conn:
        for pid, role in zip(week_postings, ["ai_swe"] * 3 + ["ml_engineer"] * 2 + [None] * 2, strict=False):
            _classify(conn, pid, role)  # 3 ai_swe, 2 ml_engineer, 2 not AI, 3 unclassified
        for pid, role in zip(earlier, ["ai_swe", "ml_engineer", "ml_engineer"], strict=True):
            _classify(conn, pid, role)
        for pid in (evil_posting, week_postings[5]):  # an AI-role posting, and one not counted in cohort "all"
            conn.execute(insert(Mention), {"posting_id": pid, "framework_id": ids["evil"], "count": 1,
                                           "taxonomy_version": "t"})
        for w in range(1, 5):  # trailing weeks: n = 100 each
            for slug, k in [("pytorch", 30), ("langchain", 10), ("jax", 5), ("evil", 0)]:
                _trend(conn, WEEK - dt.timedelta(weeks=w), ids[slug], 100, k)
        for slug, k in [("pytorch", 31), ("langchain", 40), ("jax", 5), ("evil", 3)]:
            _trend(conn, WEEK, ids[slug], 100, k)
            _trend(conn, WEEK, ids[slug], 400, k + 20, cohort="market")
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
    assert [(s.kind, s.boards, s.postings, s.duplicates) for s in data.sources] == [
        ("ashby", 1, 6, 1), ("greenhouse", 1, 4, 0)]  # the lever board posted nothing this week
    assert data.total_postings == 10 and data.total_boards == 2
    assert "source      boards  postings  duplicates" in report.text
    # the posting without a description is counted apart, not as waiting for the classifier
    assert data.roles == {"ai_swe": 3, "ml_engineer": 2, "not_ai": 2, "unclassified": 2, "no_description": 1}
    assert re.search(r"^  no description +1 +10\.0%$", report.text, re.MULTILINE)
    assert re.search(r"^  not classified yet +2 +20\.0%$", report.text, re.MULTILINE)
    assert ">no description</td>" in report.html
    # 5 of the 12 chart weeks are measured (median 0): the chart and the role split are monthly
    assert data.chart.grain == "month" and len(data.role_series) == 12
    assert data.role_series[-1] == (month_of(WEEK), 3 + 1, 2 + 2)  # the week, and the two weeks before it
    assert not any(ai or ml for _, ai, ml in data.role_series[:-1])


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
    # the Ruby on Rails posting mentions it too, but is not an AI role: not among the postings counted
    assert [e.title for e in report.data.new_entries[0].examples] == [f"{EVIL} Engineer"]
    assert "Ruby on Rails" not in report.text


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
    again = run(["report", "--week", (WEEK + dt.timedelta(days=2)).isoformat()], db_url)  # a date in the week
    assert again.exit_code == 0 and "already stored" in again.output
    bad = run(["report", "--week", "2025-W99"], db_url)
    assert bad.exit_code == 2 and "2025 has no week 99" in bad.output
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


@pytest.mark.parametrize(("week", "message"), [("2025-W53", "has no week 53"), ("2025-13-01", "expected YYYY-Www")])
def test_a_bad_week_is_a_clear_error(run, tmp_path, week, message):
    result = run(["report", "--week", week], f"sqlite:///{tmp_path / 'none.db'}")
    assert result.exit_code == 2
    assert "--week" in result.output and message in result.output


# --- movers: Benjamini-Hochberg, and the test named -------------------------------------------------------


def test_benjamini_hochberg_matches_scipy():
    p_values = [0.01, 0.04, 0.03, 0.005, 0.5, 0.2]
    assert benjamini_hochberg(p_values) == pytest.approx(list(false_discovery_control(p_values)))
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg([]) == []


def _framework(conn, slug):
    return conn.execute(insert(Framework).returning(Framework.id),
                        {"slug": slug, "name": slug.title(), "category": "x"}).scalar_one()


def test_movers_are_controlled_for_the_number_of_frameworks_tested(engine):
    """p = 0.024 alone would be a mover at p < 0.05; among 21 frameworks tested, Benjamini-Hochberg says chance."""
    with engine.begin() as conn:
        ids = {slug: _framework(conn, slug) for slug in ["jump", "edge", *(f"noise{i}" for i in range(19)),
                                                         *(f"unused{i}" for i in range(5))]}
        for slug, fid in ids.items():
            now, before = {"jump": (40, 40), "edge": (14, 30)}.get(slug, (10, 40) if "noise" in slug else (0, 0))
            _trend(conn, WEEK, fid, 100, now)
            for w in range(1, 5):
                _trend(conn, WEEK - dt.timedelta(weeks=w), fid, 100, before // 4)
    built = build_report(engine, WEEK)
    rows = {r.slug: r for r in [*built.data.frameworks, *built.data.movers]}
    edge = rows["edge"]
    assert edge.test == "two_proportion_z" and 0.01 < edge.p_value < 0.05  # a mover before Benjamini-Hochberg
    assert built.data.tested == 21  # the 5 never mentioned are not tested
    assert edge.q_value == pytest.approx(min(1.0, edge.p_value * 21 / 2))
    assert [f.slug for f in built.data.movers] == ["jump"]
    assert "1 mover," in built.subject and "1 movers (q <= 0.05)" in built.text
    assert "over the 21 frameworks tested" in built.text


def test_the_footnote_names_the_test_each_mover_was_judged_by(report):
    movers = {f.slug: f for f in report.data.movers}
    assert movers["langchain"].test == "two_proportion_z"  # 40/100 against 40/400: every cell expects 5+
    assert movers["evil"].test == "fisher_exact"  # 3/100 against 0/400: expects 0.6 mentions this week
    lines = report.text.splitlines()
    assert any("LangChain" in line and "(z)" in line for line in lines)
    assert any("Evil" in line and "(Fisher)" in line for line in lines)
    assert "p: two-proportion z-test or Fisher's exact test" in report.text
    assert "two-proportion z-test or Fisher&#39;s exact test" in report.html


# --- cohorts: the market beside the AI-role share ---------------------------------------------------------


def test_the_market_share_is_shown_beside_the_ai_role_share(report):
    langchain = next(f for f in report.data.frameworks if f.slug == "langchain")
    assert (langchain.market.k, langchain.market.n) == (60, 400) and report.data.market_n == 400
    line = next(line for line in report.text.splitlines() if "LangChain" in line and "%" in line)
    assert re.search(r"40\.0%\s+\S+ - \S+\s+15\.0%\s+10\.0%", line)
    assert "of all 400 measured postings of the week, whatever their role (cohort market)" in report.text
    assert "cohort <code>market</code>" in report.html and ">15.0%</td>" in report.html


# --- companies ----------------------------------------------------------------------------------------------


def test_companies_are_ranked_by_ai_role_postings_and_unknown_ones_kept_apart(engine):
    board = add_source(engine, "ashby", "acme")
    hn = add_source(engine, "hackernews", "whoishiring")
    with engine.begin() as conn:
        conn.execute(update(Source).where(Source.id == hn).values(company="Hacker News"))
    postings = {}
    for name, source, company, role in [("a1", board, None, None), ("a2", board, None, None),
                                        ("t1", hn, "Tiny AI", "ai_swe"), ("h1", hn, None, "ml_engineer"),
                                        ("h2", hn, None, None), ("h3", hn, "Hacker News", None)]:
        postings[name] = add_posting(engine, source, title=name, text=TEXT, week=WEEK)
        if company:
            edit_posting(engine, postings[name], company=company)
        with engine.begin() as conn:
            _classify(conn, postings[name], role)
    data = build_report(engine, WEEK).data
    assert [(c.name, c.ai_postings, c.postings) for c in data.companies] == [("Tiny AI", 1, 1), ("Acme", 0, 2)]
    assert (data.unknown_company.name, data.unknown_company.ai_postings, data.unknown_company.postings) == (
        "(unknown company)", 1, 3)
    table = build_report(engine, WEEK).text.split("COMPANIES POSTING MOST AI ROLES\n")[1].splitlines()[:4]
    assert [line.split("  ")[1] for line in table] == ["company", "Tiny AI", "Acme", "(unknown company)"]


@pytest.mark.parametrize(("company", "kind", "source_company", "expected"), [
    ("OpenAI", "hackernews", "Hacker News", "OpenAI"),
    (None, "hackernews", "Hacker News", None),
    ("Hacker News", "hackernews", "Hacker News", None),
    ("  ", "ashby", "Acme", "Acme"),
    (None, "greenhouse", "Beta", "Beta"),
    (None, "jsonld", None, None),
])
def test_company_name_never_takes_a_sites_name_for_an_employer(company, kind, source_company, expected):
    assert company_name(company, kind, source_company) == expected


# --- source mix ---------------------------------------------------------------------------------------------


def test_a_move_made_by_the_source_mix_is_called_so():
    # Hacker News postings mention X at 40 %, Ashby's at 5 %; the week holds 80 % Hacker News instead of 20 %
    note = source_mix_note(now={"ashby": (0, 5), "hackernews": (8, 20)},
                           before={"ashby": (1, 20), "hackernews": (2, 5)})
    assert note is not None and note.kind == "hackernews"
    assert (note.before, note.after) == (pytest.approx(0.2), pytest.approx(0.8))
    assert note.observed_change == pytest.approx(0.32 - 0.12)
    assert note.expected_change == pytest.approx(0.2 * 0.05 + 0.8 * 0.4 - 0.12)
    assert note.text.startswith("mostly source mix: Hacker News postings went from 20% to 80% of the AI-role")


@pytest.mark.parametrize(("now", "before"), [
    ({"ashby": (10, 20), "hackernews": (8, 20)}, {"ashby": (2, 20), "hackernews": (8, 20)}),  # same mix: real
    ({"ashby": (1, 5), "hackernews": (2, 20)}, {"ashby": (1, 20), "hackernews": (2, 5)}),  # mix says up, went down
    ({"ashby": (1, 20), "hackernews": (2, 5)}, {"ashby": (1, 20), "hackernews": (2, 5)}),  # no move at all
    ({"ashby": (1, 20)}, {}),  # nothing to compare with
])
def test_a_move_the_mix_does_not_explain_gets_no_note(now, before):
    assert source_mix_note(now, before) is None


def _measured_posting(engine, source, week, role, *, mentions=(), **values):
    """An analysed AI-role (or not) posting with a description, posted on ``week``, mentioning ``mentions``."""
    pid = add_posting(engine, source, title="AI Engineer", text=TEXT, week=week)
    edit_posting(engine, pid, analyzed_at=dt.datetime(2025, 11, 24, tzinfo=dt.UTC), posted_month=month_of(week),
                 **values)
    with engine.begin() as conn:
        _classify(conn, pid, role)
        for fid in mentions:
            conn.execute(insert(Mention), {"posting_id": pid, "framework_id": fid, "count": 1,
                                           "taxonomy_version": "t"})
    return pid


@pytest.fixture
def mixed(engine):
    """Framework X: Ashby's AI-role postings mention it at 5 %, Hacker News's at 40 %; the week before holds
    20 Ashby + 5 Hacker News postings, WEEK 5 Ashby + 20 Hacker News; the Hacker News ones are in Berlin."""
    ashby = add_source(engine, "ashby", "acme")
    hn = add_source(engine, "hackernews", "whoishiring")
    with engine.begin() as conn:
        x = _framework(conn, "x")
    before = WEEK - dt.timedelta(weeks=1)
    for week, source, count, mentioning in [(before, ashby, 20, 1), (before, hn, 5, 2), (WEEK, ashby, 5, 0),
                                            (WEEK, hn, 20, 8)]:
        for i in range(count):
            _measured_posting(engine, source, week, "ai_swe", mentions=[x] if i < mentioning else [],
                              location="Berlin" if source == hn else "Paris", remote=source == hn)
    _measured_posting(engine, ashby, WEEK, None, mentions=[x], location="Paris", remote=False)  # market only
    compute_trends(engine)
    return x


def test_the_report_says_when_a_move_is_mostly_source_mix(engine, mixed):
    built = build_report(engine, WEEK, trailing_weeks=1)
    x = next(f for f in built.data.frameworks if f.slug == "x")
    assert (x.k, x.n, x.trailing_k, x.trailing_n) == (8, 25, 3, 25)
    assert x.mix is not None and x.mix.kind == "hackernews"
    line = "mostly source mix: Hacker News postings went from 20% to 80% of the AI-role postings"
    assert line in built.text and line in built.html


# --- filtered reports ---------------------------------------------------------------------------------------


def test_points_counted_on_the_fly_equal_the_stored_ones(engine, mixed):
    with engine.connect() as conn:
        ids = list(conn.scalars(select(Framework.id)))
        reader = PointReader(conn, PostingFilter(), ids)
        for cohort, grain, periods in [("all", "week", [WEEK - dt.timedelta(weeks=1), WEEK]),
                                       ("market", "week", [WEEK]), ("all", "month", [month_of(WEEK)])]:
            stored = sorted(reader.points(cohort, grain, periods), key=lambda p: (p.period_start, p.framework_id))
            counted = sorted(reader._counted(cohort, grain, periods), key=lambda p: (p.period_start,
                                                                                     p.framework_id))
            assert stored and [(p.period_start, p.framework_id, p.n, p.k) for p in stored] == [
                (p.period_start, p.framework_id, p.n, p.k) for p in counted]


def test_a_filtered_report_counts_only_the_postings_it_keeps(engine, mixed):
    built = build_report(engine, WEEK, trailing_weeks=1, posting_filter=PostingFilter(location="berlin"))
    data = built.data
    assert data.total_postings == 20 and data.n_measured == 20 and data.trailing_n == 5
    x = next(f for f in data.frameworks if f.slug == "x")
    assert (x.k, x.n, x.trailing_k, x.trailing_n) == (8, 20, 2, 5) and x.mix is None  # one source: no mix
    assert data.market_n == 20
    assert "FILTERED: only postings that are location ~ 'berlin'" in built.text
    assert "Filtered: only postings that are location ~ &#39;berlin&#39;" in built.html
    paris = build_report(engine, WEEK, trailing_weeks=1, posting_filter=PostingFilter(remote=False)).data
    assert paris.total_postings == 6 and paris.n_measured == 5 and paris.market_n == 6


def test_report_command_prints_or_writes_a_filtered_report_and_never_stores_it(run, db_url, tmp_path):
    engine = make_engine(db_url)
    seed(engine)
    with engine.begin() as conn:
        conn.execute(update(Posting).where(Posting.title.like("ML Engineer%")).values(location="Berlin"))
    printed = run(["report", "--week", LABEL, "--location", "berlin"], db_url)
    assert printed.exit_code == 0, printed.output
    assert "FILTERED: only postings that are location ~ 'berlin'" in printed.output
    assert "4 postings (all roles)" in printed.output
    out = tmp_path / "berlin.html"
    written = run(["report", "--week", LABEL, "--no-remote", "--company", "acme", "--out", str(out)], db_url)
    assert written.exit_code == 0, written.output
    assert "not stored" in written.output and "data:image/png;base64," in out.read_text()
    for refused in (["--send"], ["--force"], ["--stored"]):
        result = run(["report", "--week", LABEL, "--location", "berlin", *refused], db_url)
        assert result.exit_code == 2 and "never stored or sent" in result.output
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Report)) == 0
    engine.dispose()


# --- the chart ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("weekly_n", "grain"), [
    ([0, 0, 40, 3, 0, 0, 38, 5, 0, 0, 45, 2], "month"),  # Hacker News: one burst a month, thin weeks between
    ([12] * 6 + [9] * 6, "week"),  # the median week (10.5) is measured well enough
    ([9] * 7 + [30] * 5, "month"),
    ([], "month"),
])
def test_the_chart_uses_months_when_the_weeks_are_thin(weekly_n, grain):
    assert chart_grain(weekly_n) == grain


def _point(month, n, share=0.2):
    return ChartPoint(dt.date(2026, month, 1), share, max(0.0, share - 0.1), share + 0.1, n)


def test_lines_bridge_gaps_and_thin_points_with_dashes():
    periods = [dt.date(2026, m, 1) for m in range(1, 9)]
    points = [_point(1, 30), _point(2, 40), _point(4, 35), _point(5, 4), _point(6, 50), _point(8, 20)]
    assert segments(points, periods, 10) == [
        Segment(0, 1, dashed=False),  # neighbours, both well measured
        Segment(1, 3, dashed=True),  # across March, which has no posting
        Segment(3, 4, dashed=True), Segment(4, 5, dashed=True),  # May has 4 postings: muted, dashed both sides
        Segment(5, 7, dashed=True)]  # the last point is joined, not left as a lone dot
    assert [is_muted(p, 10) for p in points] == [False, False, False, True, False, False]


def test_the_chart_key_sits_outside_every_panel():
    periods = [dt.date(2026, m, 1) for m in range(1, 13)]
    series = {f"Framework {i}": [_point(m, 20 + m, 0.1 + i / 20) for m in range(1, 13)] for i in range(6)}
    figure = shares_figure(periods, "month", series, title="t", min_postings=10, caption="why months")
    renderer = figure.canvas.get_renderer()
    (legend,) = figure.legends
    box = legend.get_window_extent(renderer)
    panels = [axes for axes in figure.axes if axes.get_visible()]
    assert len(panels) == 6
    assert all(not box.overlaps(axes.get_window_extent(renderer)) for axes in panels)
    assert [axes.get_title(loc="left") for axes in panels] == list(series)


def test_a_long_name_is_shortened_for_its_panel():
    assert panel_title("Retrieval-augmented generation (RAG)") == "RAG"
    assert panel_title("PyTorch") == "PyTorch"
    assert len(panel_title("A framework with a very long name indeed")) <= 28


def test_thin_weeks_chart_the_stored_months(engine):
    with engine.begin() as conn:
        fid = _framework(conn, "pytorch")
        _trend(conn, WEEK, fid, 3, 1)  # one thin week
        for month, n, k in [(dt.date(2025, 9, 1), 40, 8), (dt.date(2025, 11, 1), 6, 3)]:  # no October
            _trend(conn, month, fid, n, k, grain="month")
    chart = build_report(engine, WEEK).data.chart
    assert chart.grain == "month" and chart.periods[-1] == dt.date(2025, 11, 1) and len(chart.periods) == 12
    assert [(p.period, p.n, p.share) for p in chart.series["Pytorch"]] == [
        (dt.date(2025, 9, 1), 40, 0.2), (dt.date(2025, 11, 1), 6, 0.5)]
    assert "median of the last 12 weeks has 0 AI-role postings" in chart.reason


def test_well_measured_weeks_chart_the_weeks(engine):
    with engine.begin() as conn:
        fid = _framework(conn, "pytorch")
        for w in range(12):
            _trend(conn, WEEK - dt.timedelta(weeks=w), fid, 30, w)
    chart = build_report(engine, WEEK).data.chart
    assert chart.grain == "week" and chart.periods[-1] == WEEK
    assert len(chart.series["Pytorch"]) == 12
