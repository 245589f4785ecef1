"""One framework over time (analysis.series): the stored series and the series counted on the fly agree, filters
change n, months follow posted_month, and the text and PNG charts show the series."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from sqlalchemy import Engine

from analysis.filters import PostingFilter
from analysis.mentions import analyze
from analysis.series import (
    SeriesError,
    UnknownFramework,
    check_cohort,
    counted_latest_table,
    counted_series,
    framework_series,
    parse_since,
    series_png,
    series_table,
)
from analysis.trends import GRAINS, compute_trends, latest_table, wilson_interval
from tests.analysis.factories import SMALL_TAXONOMY, add_posting, add_source, classify_posting, edit_posting

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# (week, source, text, role, remote, location, company); role "-" = not classified
HISTORY = [
    (dt.date(2018, 3, 5), "ashby", "PyTorch and JAX", "ml_engineer", True, "Berlin, Germany", "Acme"),
    (dt.date(2018, 3, 5), "ashby", "LangChain agents", "ai_swe", False, "London", "Acme"),
    (dt.date(2018, 3, 12), "hackernews", "We use PyTorch", None, None, "Berlin", "Widget Co"),
    (dt.date(2018, 3, 12), "hackernews", "Rails and Postgres", "-", True, "REMOTE (Berlin)", "Other Inc."),
    (dt.date(2018, 4, 2), "ashby", "PyTorch models", "ml_engineer", True, "Paris", "Acme"),
    (dt.date(2018, 4, 2), "hackernews", "Go services", None, False, "Berlin", "Widget Co"),
    (dt.date(2018, 6, 4), "ashby", "PyTorch, LangChain", "ai_swe", True, "Berlin", "acme labs"),
    (dt.date(2018, 6, 4), "hackernews", "pytorch training", "ml_engineer", None, None, None),
]
LATE_COMMENT_WEEK = dt.date(2018, 4, 30)  # posted on 2 May to April's thread: week of 30 April, month April


def build_history(engine: Engine) -> dict[str, int]:
    """Postings from March to June 2018 (none in May's threads) in two sources, analysed, classified and with
    their trend points computed; plus a duplicate, one without description and a late Hacker News comment that
    belongs to April. Returns {"late": id of the late comment}."""
    sources = {kind: add_source(engine, kind=kind, key=f"{kind}-board") for kind in ("ashby", "hackernews")}
    first = None
    for week, kind, text, role, remote, location, company in HISTORY:
        posting = add_posting(engine, sources[kind], text=text, week=week)
        edit_posting(engine, posting, remote=remote, location=location, company=company,
                     posted_month=week.replace(day=1))
        if role != "-":
            classify_posting(engine, posting, role)
        first = first or posting
    duplicate = add_posting(engine, sources["ashby"], text="PyTorch again", week=dt.date(2018, 3, 5),
                            duplicate_of=first)
    empty = add_posting(engine, sources["ashby"], text="  ", week=dt.date(2018, 3, 5))
    late = add_posting(engine, sources["hackernews"], text="PyTorch late", week=LATE_COMMENT_WEEK)
    edit_posting(engine, late, posted_at=dt.datetime(2018, 5, 2, 9, tzinfo=dt.UTC), posted_month=dt.date(2018, 4, 1),
                 remote=True, location="Berlin", company="Late Co")
    for posting in (duplicate, empty, first):
        edit_posting(engine, posting, posted_month=dt.date(2018, 3, 1))
    for posting in (duplicate, empty, late):
        classify_posting(engine, posting, "ml_engineer")
    analyze(engine, SMALL_TAXONOMY)
    compute_trends(engine, full=True)
    return {"late": late}


@pytest.fixture
def history(engine) -> dict[str, int]:
    return build_history(engine)


COHORTS = ("market", "all", "ai_swe", "ml_engineer", "market:ashby", "market:hackernews")


@pytest.mark.parametrize("grain", ["week", "month"])
@pytest.mark.parametrize("slug", ["pytorch", "langchain", "jax"])
def test_counted_series_equals_the_stored_one_without_a_filter(engine, history, grain, slug):
    for cohort in COHORTS:
        stored = framework_series(engine, slug, cohort=cohort, grain=grain)
        counted = counted_series(engine, slug, cohort=cohort, grain=grain)
        assert not stored.counted and counted.counted
        assert stored.points, (cohort, grain)
        assert [(p.start, p.label, p.n, p.k) for p in counted.points] == [
            (p.start, p.label, p.n, p.k) for p in stored.points], (cohort, grain)
        for mine, theirs in zip(counted.points, stored.points, strict=True):
            assert (mine.share, mine.ci_low, mine.ci_high) == pytest.approx((theirs.share, theirs.ci_low,
                                                                             theirs.ci_high))


def test_market_months_follow_the_thread_month_and_skip_periods_without_postings(engine, history):
    series = framework_series(engine, "pytorch", cohort="market", grain="month")
    # March: 4 measured (not the duplicate, not the empty one), 2 with PyTorch; April: 2 + the late comment
    assert [(p.label, p.n, p.k) for p in series.points] == [("2018-03", 4, 2), ("2018-04", 3, 2),
                                                            ("2018-06", 2, 2)]
    assert series.gaps() == {dt.date(2018, 6, 1): 1}
    weekly = framework_series(engine, "pytorch", cohort="market", grain="week")
    assert [p.label for p in weekly.points] == ["2018-W10", "2018-W11", "2018-W14", "2018-W18", "2018-W23"]
    low, high = wilson_interval(2, 3)
    april = series.points[1]
    assert (april.share, april.ci_low, april.ci_high) == pytest.approx((2 / 3, low, high))


def test_filters_change_n_and_k(engine, history):
    def counts(**options) -> list[tuple[str, int, int]]:
        series = framework_series(engine, "pytorch", cohort="market", grain="month",
                                  posting_filter=PostingFilter(**options))
        assert series.counted
        return [(p.label, p.n, p.k) for p in series.points]

    assert counts(remote=True) == [("2018-03", 2, 1), ("2018-04", 2, 2), ("2018-06", 1, 1)]
    assert counts(remote=False) == [("2018-03", 1, 0), ("2018-04", 1, 0)]
    assert counts(location="berlin") == [("2018-03", 3, 2), ("2018-04", 2, 1), ("2018-06", 1, 1)]
    assert counts(company="ACME") == [("2018-03", 2, 1), ("2018-04", 1, 1), ("2018-06", 1, 1)]
    assert counts(remote=True, location="berlin", company="acme") == [("2018-03", 1, 1), ("2018-06", 1, 1)]
    assert counts(company="nobody") == []


def test_filters_combine_with_the_cohort(engine, history):
    series = framework_series(engine, "pytorch", cohort="ml_engineer", grain="week",
                              posting_filter=PostingFilter(location="berlin"))
    assert [(p.label, p.n, p.k) for p in series.points] == [("2018-W10", 1, 1), ("2018-W18", 1, 1)]
    hn = framework_series(engine, "pytorch", cohort="market:hackernews", grain="month",
                          posting_filter=PostingFilter(remote=True))
    assert [(p.label, p.n, p.k) for p in hn.points] == [("2018-03", 1, 0), ("2018-04", 1, 1)]


def test_since_starts_at_the_period_holding_the_day(engine, history):
    by_month = framework_series(engine, "pytorch", cohort="market", grain="month", since=dt.date(2018, 4, 20))
    assert [p.label for p in by_month.points] == ["2018-04", "2018-06"]
    by_week = framework_series(engine, "pytorch", cohort="market", grain="week", since=dt.date(2018, 3, 14))
    assert [p.label for p in by_week.points][0] == "2018-W11"
    filtered = framework_series(engine, "pytorch", cohort="market", grain="month", since=dt.date(2018, 4, 1),
                                posting_filter=PostingFilter(remote=True))
    assert [p.label for p in filtered.points] == ["2018-04", "2018-06"]


def test_unknown_framework_suggests_the_closest_slugs(engine, history):
    with pytest.raises(UnknownFramework) as caught:
        framework_series(engine, "pytorh")
    assert caught.value.suggestions == ["pytorch"]
    assert str(caught.value) == "unknown framework 'pytorh': did you mean pytorch?"
    with pytest.raises(UnknownFramework, match="see config/frameworks.toml"):
        framework_series(engine, "cobol")
    assert framework_series(engine, " PyTorch ").slug == "pytorch"


def test_cohorts_and_dates_are_checked():
    assert check_cohort("market:hackernews") == "market:hackernews"
    for bad in ("sales", "market:", "market:monster", "Market"):
        with pytest.raises(SeriesError, match="unknown cohort"):
            check_cohort(bad)
    assert parse_since("2011-04") == dt.date(2011, 4, 1)
    assert parse_since("2011-04-20") == dt.date(2011, 4, 20)
    for bad in ("2011-13", "April", "2011-4", "2011-02-30"):
        with pytest.raises(SeriesError, match="expected YYYY-MM or YYYY-MM-DD"):
            parse_since(bad)


def test_text_chart_fits_80_columns_and_names_gaps_and_small_periods(engine, history):
    series = framework_series(engine, "pytorch", cohort="market", grain="month")
    text = series_table(series, min_postings=3)
    lines = text.splitlines()
    assert lines[0] == "PyTorch (pytorch), cohort market, by month"
    assert all(len(line) <= 80 for line in lines)
    assert text.isascii()
    rows = [line for line in lines if line.startswith("2018-")]
    assert [row.split()[:5] for row in rows] == [
        ["2018-03", "4", "2", "50.0%", "15.0%-85.0%"], ["2018-04", "3", "2", "66.7%", "20.8%-93.9%"],
        ["2018-06", "2*", "2", "100.0%", "34.2%-100.0%"]]
    bars = [row.split()[-1] for row in rows]
    assert bars[2].count("#") > bars[1].count("#") > bars[0].count("#") > 0
    assert bars[0].count("-") > 0  # the rest of the interval
    assert "... 1 month without postings" in text
    assert lines[-1].startswith("* n < 3")
    assert "█" in series_table(series, unicode=True)


def test_text_chart_of_an_empty_series_says_why(engine, history):
    series = framework_series(engine, "pytorch", cohort="market", grain="month", since=dt.date(2019, 1, 1))
    assert series_table(series).splitlines()[1] == ("no month with measured postings: run `jobtrend analyze`, "
                                                    "then `jobtrend trends`")


def test_png_chart_is_a_png(engine, history):
    series = framework_series(engine, "pytorch", cohort="market", grain="month",
                              posting_filter=PostingFilter(remote=True))
    data = series_png(series, min_postings=2)
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (900, 360)
    empty = framework_series(engine, "pytorch", cohort="market", since=dt.date(2019, 1, 1))
    assert series_png(empty).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("grain", GRAINS)
def test_counted_table_equals_the_stored_table_without_a_filter(engine, history, grain):
    for cohort in COHORTS:
        for options in ({"weeks": 8, "top": 15, "min_postings": 1}, {"weeks": 2, "top": 2, "min_postings": 2}):
            stored = latest_table(engine, cohort=cohort, grain=grain, **options)
            if stored.startswith("No "):  # no period that large: the counted table says so in its own words
                assert counted_latest_table(engine, cohort=cohort, grain=grain, **options).startswith("No ")
                continue
            assert counted_latest_table(engine, cohort=cohort, grain=grain, **options) == stored, (cohort, options)


def test_counted_table_keeps_the_filtered_postings(engine, history):
    table = counted_latest_table(engine, posting_filter=PostingFilter(remote=True), cohort="market", grain="month")
    assert [line.split() for line in table.splitlines()] == [
        ["framework", "2018-03", "2018-04", "2018-06"],
        ["n", "2", "2", "1"],
        ["PyTorch", "50.0%", "100.0%", "100.0%"],
        ["LangChain", "0.0%", "0.0%", "100.0%"],
        ["JAX", "50.0%", "0.0%", "0.0%"],
    ]
    nobody = counted_latest_table(engine, posting_filter=PostingFilter(company="nobody"), cohort="market")
    assert nobody == "No week of cohort 'market' has 1 or more postings that match."
