"""Classifier drift: the weekly figures per source kind, the band, model versions, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import insert

from analysis.drift import (
    DEFAULTS,
    Counts,
    DriftSettings,
    classifier_drift,
    current_model_version,
    drift_points,
    drift_rows,
    judge,
    share_band,
)
from analysis.trends import proportion_change_test, wilson_interval
from jobtrend.models import Classification, Posting
from tests.analysis.factories import add_posting, add_source, content_hash, edit_posting

WEEK = dt.date(2026, 1, 5)  # a Monday, 2026-W02
CLASSIFIED_AT = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
_ids = itertools.count(1)


def weeks_before(week: dt.date, count: int) -> list[dt.date]:
    """The ``count`` Mondays before ``week``, oldest first."""
    return [week - dt.timedelta(weeks=i) for i in range(count, 0, -1)]


def add_week(engine, source_id: int, week: dt.date, n: int, ai: int, ml: int = 0, *, p_ai: float = 0.9,
             p_other: float = 0.1, version: str = "v1", classified_at: dt.datetime = CLASSIFIED_AT) -> list[int]:
    """``n`` canonical postings of ``source_id`` posted in ``week``, classified by ``version``: ``ai`` AI roles (the
    first ``ml`` of them ml_engineer, the others ai_swe) with relevance probability ``p_ai``, the rest not AI
    roles with ``p_other``. Returns their ids."""
    posted_at = dt.datetime.combine(week, dt.time(12), tzinfo=dt.UTC)
    postings = []
    for _ in range(n):
        number = next(_ids)
        postings.append({"source_id": source_id, "external_id": f"drift-{number}", "title": f"Engineer {number}",
                         "description_text": "text", "posted_at": posted_at, "posted_week": week,
                         "content_hash": content_hash(f"Engineer {number}", "text")})
    with engine.begin() as conn:
        ids = list(conn.execute(insert(Posting).returning(Posting.id, sort_by_parameter_order=True), postings)
                   .scalars())
        rows = []
        for i, (posting_id, posting) in enumerate(zip(ids, postings, strict=True)):
            role = ("ml_engineer" if i < ml else "ai_swe") if i < ai else None
            rows.append({"posting_id": posting_id, "model_version": version, "content_hash": posting["content_hash"],
                         "is_ai_role": role is not None, "relevance_probability": p_ai if role else p_other,
                         "role": role, "probability": 0.8 if role else None, "evidence": {},
                         "classified_at": classified_at})
        conn.execute(insert(Classification), rows)
    return ids


def steady(weeks: int, n: int = 200, ai: int = 40, ml: int = 20, confidence: float = 0.9) -> dict:
    """``weeks`` weeks before WEEK of the same counts (pure: no database)."""
    return {w: Counts(n, ai, ml, confidence * n) for w in weeks_before(WEEK, weeks)}


def point_of(weeks: dict, week: dt.date = WEEK, settings: DriftSettings = DEFAULTS):
    return next(p for p in judge("ashby", weeks, settings) if p.week == week)


# --- the figures, from the database ------------------------------------------------------------------------


def test_figures_per_week_and_source_kind_and_all_together(engine):
    ashby, hn = add_source(engine, "ashby", "acme"), add_source(engine, "hackernews", "hn")
    ids = add_week(engine, ashby, WEEK, 40, ai=10, ml=4, p_ai=0.9, p_other=0.2)  # confidence 0.9 and 0.8
    add_week(engine, hn, WEEK, 20, ai=5, ml=5, p_ai=0.7, p_other=0.4)  # confidence 0.7 and 0.6
    add_week(engine, ashby, WEEK + dt.timedelta(weeks=1), 3, ai=3)
    # not counted: a duplicate (its canonical posting is counted), a verdict of an older model, an unclassified one
    [duplicate] = add_week(engine, ashby, WEEK, 1, ai=1)
    edit_posting(engine, duplicate, duplicate_of_id=ids[0])
    add_week(engine, ashby, WEEK, 1, ai=1, version="old", classified_at=CLASSIFIED_AT - dt.timedelta(days=1))
    add_posting(engine, ashby, title="waiting", text="text", week=WEEK)

    result = classifier_drift(engine)
    assert result.model_version == "v1" and result.other_versions == 1
    assert [(p.label, p.source) for p in result.points] == [
        ("2026-W02", "all"), ("2026-W02", "ashby"), ("2026-W02", "hackernews"), ("2026-W03", "all"),
        ("2026-W03", "ashby")]
    every, board, thread = (p.counts for p in result.points[:3])
    assert (board.n, board.ai, board.ml) == (40, 10, 4) and (thread.n, thread.ai, thread.ml) == (20, 5, 5)
    assert (every.n, every.ai, every.ml) == (60, 15, 9)
    assert board.ai_share == 0.25 and board.ai_interval == wilson_interval(10, 40)
    assert board.ml_share == 0.4 and board.ml_interval == wilson_interval(4, 10)
    assert board.confidence == pytest.approx((10 * 0.9 + 30 * 0.8) / 40)
    assert thread.confidence == pytest.approx((5 * 0.7 + 15 * 0.6) / 20)
    assert every.confidence == pytest.approx((10 * 0.9 + 30 * 0.8 + 5 * 0.7 + 15 * 0.6) / 60)
    assert not any(p.judged for p in result.points)  # no history: nothing to judge against
    only = classifier_drift(engine, source="hackernews")
    assert [(p.label, p.source, p.counts.n) for p in only.points] == [("2026-W02", "hackernews", 20)]
    latest = classifier_drift(engine, weeks=1)
    assert [(p.label, p.source) for p in latest.points] == [("2026-W03", "all"), ("2026-W03", "ashby")]


def test_only_the_current_model_version_counts_so_a_retrain_is_not_drift(engine):
    source = add_source(engine)
    for week in weeks_before(WEEK, 8):
        add_week(engine, source, week, 100, ai=20, ml=10, version="old")
    # the retrained model calls more postings AI roles; only this week is re-classified so far
    add_week(engine, source, WEEK, 100, ai=45, ml=22, version="new", classified_at=CLASSIFIED_AT + dt.timedelta(1))
    with engine.connect() as conn:
        assert current_model_version(conn) == "new"
        mixed = drift_points(conn, sources=["ashby"])[-1]
        current = drift_points(conn, sources=["ashby"], model_version="new")
    assert mixed.flags == ("ai_share up",)  # comparing two models' verdicts reads as drift
    assert [(p.week, p.judged) for p in current] == [(WEEK, False)]  # the new model alone: no history yet
    result = classifier_drift(engine, source="ashby")
    assert [p.week for p in result.points] == [WEEK] and result.other_versions == 800


def test_a_jump_leaves_the_band_on_both_databases(engine):
    source = add_source(engine, "lever", "acme")
    for week in weeks_before(WEEK, 8):
        add_week(engine, source, week, 100, ai=20, ml=10)
    add_week(engine, source, WEEK, 100, ai=45, ml=22)
    add_week(engine, source, WEEK + dt.timedelta(weeks=1), 100, ai=22, ml=11)
    result = classifier_drift(engine, source="lever")
    jump, after = result.points[-2:]
    assert (jump.week, jump.flags) == (WEEK, ("ai_share up",))
    assert jump.baseline == Counts(800, 160, 80, pytest.approx(720.0))
    low, high = jump.ai_band
    assert low < 0.2 < high < 0.45
    assert after.judged and after.flags == ()  # 22 % against the pooled 25 % of the 8 weeks before
    columns, rows = drift_rows(result, table=True)
    row = dict(zip(columns, rows[-2], strict=True))
    assert row["flag"] == "ai_share up" and row["ai_share (95% CI)"].startswith("45.0% (")
    columns, rows = drift_rows(result, table=False)
    data = dict(zip(columns, rows[-2], strict=True))
    assert data["flag"] == "ai_share up" and data["judged"] is True and data["ai_band_high"] == high


# --- the band ----------------------------------------------------------------------------------------------


def test_a_steady_week_is_inside_its_band():
    weeks = steady(8) | {WEEK: Counts(200, 42, 20, 0.89 * 200)}
    p = point_of(weeks)
    assert p.judged and p.flags == () and p.baseline == Counts(1600, 320, 160, pytest.approx(1440.0))
    assert p.baseline_weeks == tuple(weeks_before(WEEK, 8))
    assert p.confidence_floor == pytest.approx(0.85)


def test_a_large_significant_move_of_the_ai_share_leaves_the_band():
    p = point_of(steady(8) | {WEEK: Counts(200, 70, 35, 180.0)})  # 20 % -> 35 %
    assert p.flags == ("ai_share up",)
    move = p.move("ai_share")
    assert move.change == pytest.approx(0.15) and move.p_value < 0.001 and move.test == "two_proportion_z"
    assert move.p_value == proportion_change_test(70, 200, 320, 1600)[1]
    assert point_of(steady(8) | {WEEK: Counts(200, 10, 5, 180.0)}).flags == ("ai_share down",)


def test_a_large_move_on_a_small_week_is_noise():
    # 20 % -> 36.7 % is 16.7 points, but on 30 postings p = 0.03: not below alpha 0.001
    p = point_of(steady(8) | {WEEK: Counts(30, 11, 5, 27.0)})
    assert p.judged and p.flags == ()
    assert 0.001 < proportion_change_test(11, 30, 320, 1600)[1] < 0.1


def test_a_significant_but_small_move_is_not_drift():
    # 20 % -> 25 % on 2,000 postings a week: p far below 0.001, but 5 points is below min_change
    weeks = steady(8, n=2000, ai=400, ml=200) | {WEEK: Counts(2000, 500, 250, 1800.0)}
    assert proportion_change_test(500, 2000, 3200, 16000)[1] < 1e-6
    p = point_of(weeks)
    assert p.flags == () and p.move("ai_share").p_value is None  # no test needed below min_change
    assert point_of(weeks, settings=DriftSettings(min_change=0.05)).flags == ("ai_share up",)


def test_the_role_mix_is_judged_among_the_ai_roles():
    p = point_of(steady(8) | {WEEK: Counts(200, 40, 34, 180.0)})  # ml_engineer 50 % -> 85 % of the AI roles
    assert p.flags == ("ml_share up",)
    move = p.move("ml_share")
    assert (move.k, move.n, move.trailing_k, move.trailing_n) == (34, 40, 160, 320)
    assert point_of(steady(8) | {WEEK: Counts(200, 0, 0, 180.0)}).move("ml_share") is None  # no AI roles


def test_a_falling_confidence_leaves_the_band_a_rising_one_does_not():
    assert point_of(steady(8) | {WEEK: Counts(200, 40, 20, 0.84 * 200)}).flags == ("confidence down",)
    assert point_of(steady(8) | {WEEK: Counts(200, 40, 20, 0.86 * 200)}).flags == ()
    assert point_of(steady(8, confidence=0.8) | {WEEK: Counts(200, 40, 20, 0.99 * 200)}).flags == ()
    both = point_of(steady(8) | {WEEK: Counts(200, 80, 40, 0.8 * 200)})
    assert both.flags == ("ai_share up", "confidence down")


def test_small_weeks_and_short_histories_are_not_judged():
    settings = DriftSettings()
    small = point_of(steady(8) | {WEEK: Counts(29, 20, 10, 26.0)})
    assert not small.judged and small.not_judged == "fewer than 30 classified postings" and small.flags == ()
    # 3 of the 8 weeks before have data, and a 4th has too few postings to count: 4 are needed
    weeks = steady(3) | {WEEK - dt.timedelta(weeks=5): Counts(29, 6, 3, 26.0), WEEK: Counts(200, 90, 45, 180.0)}
    short = point_of(weeks)
    assert not short.judged and short.not_judged.startswith("3 of the 8 weeks before have 30 or more")
    assert short.ai_band is None and short.confidence_floor is None
    # weeks further back than the 8 trailing weeks are no baseline either
    old = {w - dt.timedelta(weeks=8): c for w, c in steady(8).items()}
    assert not point_of(old | {WEEK: Counts(200, 90, 45, 180.0)}).judged
    four = steady(4) | {WEEK: Counts(200, 90, 45, 180.0)}
    assert settings.min_trailing == 4 and point_of(four).flags == ("ai_share up",)


def test_the_band_is_exactly_the_shares_that_pass():
    settings = DriftSettings()
    baseline = steady(8)
    low, high = point_of(baseline | {WEEK: Counts(200, 40, 20, 180.0)}).ai_band
    assert low < 0.2 < high
    for k, outside in [(round(high * 200), False), (round(high * 200) + 1, True),
                       (round(low * 200), False), (round(low * 200) - 1, True)]:
        assert bool(point_of(baseline | {WEEK: Counts(200, k, k // 2, 180.0)}).flags) is outside, k
    assert share_band(320, 1600, 200, settings) == (low, high)
    assert share_band(320, 1600, 0, settings) is None and share_band(0, 0, 200, settings) is None
    wide = share_band(320, 1600, 30, settings)  # a week of 30: the band is much wider
    assert wide[0] < low and wide[1] > high
