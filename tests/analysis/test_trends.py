"""Weekly shares, Wilson intervals, incremental recomputation and the latest-weeks table, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select

from analysis.mentions import analyze
from analysis.trends import (
    compute_trends,
    iso_week_label,
    latest_rows,
    latest_table,
    wilson_interval,
)
from jobtrend.models import Framework, Posting, TrendPoint
from tests.analysis.factories import SMALL_TAXONOMY, add_posting, add_source, edit_posting

W42 = dt.date(2025, 10, 13)  # Monday of ISO week 2025-W42
W43 = dt.date(2025, 10, 20)
W44 = dt.date(2025, 10, 27)


# --- Wilson interval -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (5, 10, 0.236593, 0.763407),
    (1, 4, 0.045587, 0.699358),
    (2, 4, 0.150039, 0.849961),
    (0, 10, 0.0, 0.277533),
    (10, 10, 0.722467, 1.0),
])
def test_wilson_interval_matches_published_values(k, n, low, high):
    assert wilson_interval(k, n) == pytest.approx((low, high), abs=1e-6)


def test_wilson_interval_of_nothing_is_zero():
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_wilson_interval_is_exact_at_the_ends():
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0


def test_wilson_interval_rejects_k_above_n():
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_iso_week_label_uses_the_iso_year():
    assert iso_week_label(W42) == "2025-W42"
    assert iso_week_label(dt.date(2024, 12, 30)) == "2025-W01"


# --- shares on a small hand-made week --------------------------------------------------------------------


@pytest.fixture
def source(engine) -> int:
    return add_source(engine)


@pytest.fixture
def two_weeks(engine, source) -> dict[str, int]:
    """W42: 4 measurable postings (2 PyTorch, 2 LangChain) plus a duplicate and two without text; W43: 2."""
    ids = {
        "torch_chain": add_posting(engine, source, text="PyTorch and LangChain", week=W42),
        "torch3": add_posting(engine, source, text="PyTorch, PyTorch, PyTorch", week=W42),
        "chain": add_posting(engine, source, text="LangChain", week=W42),
        "none42": add_posting(engine, source, text="Spreadsheets", week=W42),
        "jax": add_posting(engine, source, text="JAX", week=W43),
        "none43": add_posting(engine, source, text="Sales", week=W43),
    }
    ids["duplicate"] = add_posting(engine, source, text="PyTorch", week=W42, duplicate_of=ids["torch_chain"])
    ids["no_text"] = add_posting(engine, source, title="PyTorch engineer", text="", week=W42)
    ids["blank_text"] = add_posting(engine, source, title="JAX engineer", text="   ", week=W42)
    analyze(engine, SMALL_TAXONOMY)
    return ids


def _points(engine) -> dict[tuple[dt.date, str], tuple]:
    query = select(TrendPoint.period_start, Framework.slug, TrendPoint.n_postings, TrendPoint.n_mentioning,
                   TrendPoint.share, TrendPoint.ci_low, TrendPoint.ci_high, TrendPoint.computed_at,
                   TrendPoint.cohort).join(Framework)
    with engine.connect() as conn:
        return {(row.period_start, row.slug): tuple(row[2:]) for row in conn.execute(query)}


def test_shares_and_intervals_are_hand_computed(engine, two_weeks):
    result = compute_trends(engine)
    assert result.weeks == (W42, W43)
    assert result.rows == 6  # 2 weeks x 3 frameworks, zeros included
    points = _points(engine)
    assert points[(W42, "pytorch")][:3] == (4, 2, 0.5)
    assert points[(W42, "pytorch")][3:5] == pytest.approx((0.150039, 0.849961), abs=1e-6)
    assert points[(W42, "langchain")][:3] == (4, 2, 0.5)
    assert points[(W42, "jax")][:5] == pytest.approx((4, 0, 0.0, 0.0, 0.489891), abs=1e-6)
    assert points[(W43, "jax")][:3] == (2, 1, 0.5)
    assert points[(W43, "pytorch")][:3] == (2, 0, 0.0)
    assert {p[-1] for p in points.values()} == {"all"}


def test_duplicates_and_postings_without_text_are_not_counted(engine, two_weeks):
    compute_trends(engine)
    # the duplicate and the title-only postings all name PyTorch or JAX; none of them moved n or k
    assert _points(engine)[(W42, "pytorch")][:2] == (4, 2)
    assert _points(engine)[(W42, "jax")][:2] == (4, 0)


def test_unknown_cohort_is_refused(engine):
    with pytest.raises(ValueError, match="cohort"):
        compute_trends(engine, cohort="ai_swe")


def test_no_postings_writes_nothing(engine):
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).rows == 0
    assert _points(engine) == {}


# --- idempotence and incremental recomputation -----------------------------------------------------------


def test_a_second_run_changes_nothing(engine, two_weeks):
    compute_trends(engine)
    before = _points(engine)
    result = compute_trends(engine)
    assert (result.weeks, result.rows) == ((), 0)
    assert _points(engine) == before


def test_full_recompute_gives_the_same_rows(engine, two_weeks):
    compute_trends(engine)
    before = _points(engine)
    assert compute_trends(engine, full=True).weeks == (W42, W43)
    after = _points(engine)
    assert {key: value[:-2] for key, value in after.items()} == {key: value[:-2] for key, value in before.items()}


def test_a_newly_analysed_posting_touches_only_its_week(engine, source, two_weeks):
    compute_trends(engine)
    before = _points(engine)
    add_posting(engine, source, text="LangChain", week=W43)
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).weeks == (W43,)
    after = _points(engine)
    assert after[(W43, "langchain")][:3] == (3, 1, pytest.approx(1 / 3))
    assert {k: v for k, v in after.items() if k[0] == W42} == {k: v for k, v in before.items() if k[0] == W42}


def test_an_edited_posting_touches_its_week(engine, two_weeks):
    compute_trends(engine)
    edit_posting(engine, two_weeks["none43"], text="Now with PyTorch")
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).weeks == (W43,)
    assert _points(engine)[(W43, "pytorch")][:2] == (2, 1)


def test_a_posting_marked_duplicate_later_touches_its_week(engine, two_weeks):
    compute_trends(engine)
    edit_posting(engine, two_weeks["chain"], duplicate_of_id=two_weeks["torch_chain"])
    assert compute_trends(engine).weeks == (W42,)
    assert _points(engine)[(W42, "langchain")][:2] == (3, 1)


def test_a_week_without_postings_loses_its_rows(engine, two_weeks):
    compute_trends(engine)
    with engine.begin() as conn:
        conn.execute(delete(Posting).where(Posting.posted_week == W43))
    result = compute_trends(engine)
    assert (result.weeks, result.rows) == ((W43,), 0)
    assert {week for week, _ in _points(engine)} == {W42}


def test_a_new_week_is_added(engine, source, two_weeks):
    compute_trends(engine)
    add_posting(engine, source, text="JAX and PyTorch", week=W44)
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).weeks == (W44,)
    assert _points(engine)[(W44, "jax")][:3] == (1, 1, 1.0)


def test_an_unanalysed_posting_is_not_counted_until_analysed(engine, source, two_weeks):
    add_posting(engine, source, text="PyTorch", week=W43)
    compute_trends(engine)
    assert _points(engine)[(W43, "pytorch")][:2] == (2, 0)
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).weeks == (W43,)
    assert _points(engine)[(W43, "pytorch")][:2] == (3, 1)


# --- the latest-weeks table ------------------------------------------------------------------------------


def test_table_without_data_says_so(engine):
    assert "No trend data yet" in latest_table(engine)


def test_table_shows_weeks_n_and_percentages(engine, two_weeks):
    compute_trends(engine)
    lines = latest_table(engine).splitlines()
    assert lines[0].split() == ["framework", "2025-W42", "2025-W43"]
    assert lines[1].split() == ["n", "4", "2"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows == {"JAX": ["0.0%", "50.0%"], "LangChain": ["50.0%", "0.0%"], "PyTorch": ["50.0%", "0.0%"]}


def test_table_ranks_by_mean_share_and_limits_weeks_and_rows(engine, source, two_weeks):
    add_posting(engine, source, text="PyTorch", week=W43)
    analyze(engine, SMALL_TAXONOMY)
    compute_trends(engine)
    lines = latest_table(engine, weeks=1, top=1).splitlines()
    # W43 alone: JAX and PyTorch tie at 1/3 and ties go by slug, so JAX is the one row
    assert [line.split() for line in lines] == [["framework", "2025-W43"], ["n", "3"], ["JAX", "33.3%"]]


def test_latest_rows_carry_the_same_data(engine, two_weeks):
    compute_trends(engine)
    rows = latest_rows(engine, weeks=8, top=15)
    # every mean share is 25 %: ties are ranked by slug
    assert [(r["rank"], r["slug"], r["week_label"]) for r in rows] == [
        (1, "jax", "2025-W42"), (1, "jax", "2025-W43"), (2, "langchain", "2025-W42"),
        (2, "langchain", "2025-W43"), (3, "pytorch", "2025-W42"), (3, "pytorch", "2025-W43")]
    jax = [r for r in rows if r["slug"] == "jax" and r["week"] == W43][0]
    assert (jax["n_postings"], jax["n_mentioning"], jax["share"]) == (2, 1, 0.5)
    assert jax["mean_share"] == pytest.approx(0.25)
    assert jax["ci_low"] == pytest.approx(wilson_interval(1, 2)[0])


def test_frameworks_never_mentioned_are_left_out_of_the_table(engine, source):
    add_posting(engine, source, text="PyTorch", week=W42)
    analyze(engine, SMALL_TAXONOMY)
    compute_trends(engine)
    assert {r["slug"] for r in latest_rows(engine)} == {"pytorch"}
