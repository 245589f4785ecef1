"""Weekly and monthly shares per cohort (the market, the AI roles, the market of a source kind), Wilson intervals,
incremental recomputation and the latest-periods table, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select

from analysis.mentions import analyze
from analysis.trends import COHORTS, COHORTS_ALL, compute_trends, latest_rows, latest_table, wilson_interval
from jobtrend.models import Classification, Framework, Mention, Posting, Source, TrendPoint
from jobtrend.weeks import iso_week_label, utcnow
from tests.analysis.factories import SMALL_TAXONOMY, add_posting, add_source, classify_posting, edit_posting

W42 = dt.date(2025, 10, 13)  # Monday of ISO week 2025-W42
W43 = dt.date(2025, 10, 20)
W44 = dt.date(2025, 10, 27)
OCTOBER = dt.date(2025, 10, 1)  # the month of W42, W43 and W44
TRACKED = (*COHORTS_ALL, "market:ashby")  # every cohort computed here: the test source is an Ashby board


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


ROLES = {"torch_chain": "ml_engineer", "torch3": "ml_engineer", "chain": "ai_swe", "none42": "ai_swe",
         "jax": "ml_engineer", "none43": "ai_swe", "duplicate": "ml_engineer", "no_text": "ml_engineer",
         "blank_text": "ml_engineer", "not_ai": None}


@pytest.fixture
def two_weeks(engine, source) -> dict[str, int]:
    """W42: 4 measurable AI-role postings (2 PyTorch, 2 LangChain; 2 ML Engineer, 2 AI SWE) plus a duplicate,
    two without text, a PyTorch posting that is not an AI role and an unclassified PyTorch posting; W43: 2."""
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
    ids["not_ai"] = add_posting(engine, source, title="PyTorch sales", text="Sell PyTorch support", week=W42)
    ids["unclassified"] = add_posting(engine, source, text="PyTorch and JAX", week=W42)
    for name, role in ROLES.items():
        classify_posting(engine, ids[name], role)
    analyze(engine, SMALL_TAXONOMY)
    return ids


def _points(engine, cohort: str = "all", grain: str = "week") -> dict[tuple[dt.date, str], tuple]:
    """The stored rows of one cohort and grain: (period, slug) -> (n, k, share, ci_low, ci_high, computed_at,
    cohort)."""
    query = select(TrendPoint.period_start, Framework.slug, TrendPoint.n_postings, TrendPoint.n_mentioning,
                   TrendPoint.share, TrendPoint.ci_low, TrendPoint.ci_high, TrendPoint.computed_at,
                   TrendPoint.cohort).join(Framework).where(TrendPoint.cohort == cohort, TrendPoint.grain == grain)
    with engine.connect() as conn:
        return {(row.period_start, row.slug): tuple(row[2:]) for row in conn.execute(query)}


def _every_point(engine, grain: str = "week") -> dict[str, dict[tuple[dt.date, str], tuple]]:
    return {cohort: _points(engine, cohort, grain) for cohort in TRACKED}


def _nk(engine, cohort: str, week: dt.date) -> dict[str, tuple[int, int]]:
    """slug -> (n, k) of one cohort's week."""
    return {slug: point[:2] for (w, slug), point in _points(engine, cohort).items() if w == week}


def test_shares_and_intervals_are_hand_computed(engine, two_weeks):
    result = compute_trends(engine)
    assert result.weeks == (W42, W43)
    assert result.rows == 45  # 5 cohorts x (2 weeks + 1 month) x 3 frameworks, zeros included
    assert result.by_cohort == {cohort: ((W42, W43), 6) for cohort in TRACKED}
    assert (result.months, result.by_cohort_month) == ((OCTOBER,), {cohort: ((OCTOBER,), 3) for cohort in TRACKED})
    points = _points(engine)
    assert points[(W42, "pytorch")][:3] == (4, 2, 0.5)
    assert points[(W42, "pytorch")][3:5] == pytest.approx((0.150039, 0.849961), abs=1e-6)
    assert points[(W42, "langchain")][:3] == (4, 2, 0.5)
    assert points[(W42, "jax")][:5] == pytest.approx((4, 0, 0.0, 0.0, 0.489891), abs=1e-6)
    assert points[(W43, "jax")][:3] == (2, 1, 0.5)
    assert points[(W43, "pytorch")][:3] == (2, 0, 0.0)
    assert {p[-1] for p in points.values()} == {"all"}
    month = _points(engine, "all", "month")
    assert month[(OCTOBER, "pytorch")][:3] == (6, 2, pytest.approx(1 / 3))  # both weeks: 2 of 4, then 0 of 2
    assert month[(OCTOBER, "jax")][:2] == (6, 1)


def test_the_market_counts_every_measured_posting_whatever_its_role(engine, two_weeks):
    compute_trends(engine)
    # W42: the 4 AI-role postings, the not-AI one (PyTorch) and the unclassified one (PyTorch and JAX); not the
    # duplicate nor the two without text
    assert _nk(engine, "market", W42) == {"pytorch": (6, 4), "langchain": (6, 2), "jax": (6, 1)}
    assert _nk(engine, "market", W43) == {"pytorch": (2, 0), "langchain": (2, 0), "jax": (2, 1)}
    assert _points(engine, "market:ashby") == {key: (*value[:-1], "market:ashby")
                                                for key, value in _points(engine, "market").items()}
    assert _points(engine, "market", "month")[(OCTOBER, "pytorch")][:2] == (8, 4)


def test_duplicates_and_postings_without_text_are_not_counted(engine, two_weeks):
    compute_trends(engine)
    # the duplicate and the title-only postings all name PyTorch or JAX; none of them moved n or k
    assert _points(engine)[(W42, "pytorch")][:2] == (4, 2)
    assert _points(engine)[(W42, "jax")][:2] == (4, 0)
    assert _points(engine, "ml_engineer")[(W42, "pytorch")][:2] == (2, 2)
    assert _points(engine, "ml_engineer")[(W42, "jax")][:2] == (2, 0)


def test_role_cohorts_count_only_their_role(engine, two_weeks):
    compute_trends(engine)
    # W42: ML Engineers torch_chain (PyTorch, LangChain) and torch3 (PyTorch); AI SWEs chain (LangChain), none42
    assert _nk(engine, "ml_engineer", W42) == {"pytorch": (2, 2), "langchain": (2, 1), "jax": (2, 0)}
    assert _nk(engine, "ai_swe", W42) == {"pytorch": (2, 0), "langchain": (2, 1), "jax": (2, 0)}
    # W43: the JAX posting is an ML Engineer's, the other an AI SWE's
    assert _nk(engine, "ml_engineer", W43) == {"pytorch": (1, 0), "langchain": (1, 0), "jax": (1, 1)}
    assert _nk(engine, "ai_swe", W43) == {"pytorch": (1, 0), "langchain": (1, 0), "jax": (1, 0)}
    ml = _points(engine, "ml_engineer")[(W42, "langchain")]
    assert ml[2] == 0.5 and ml[3:5] == pytest.approx(wilson_interval(1, 2))
    assert _points(engine, "ai_swe")[(W42, "langchain")][-1] == "ai_swe"


def test_a_posting_that_is_not_an_ai_role_counts_in_no_cohort(engine, source):
    classify_posting(engine, add_posting(engine, source, text="PyTorch and JAX", week=W42), None)
    classify_posting(engine, add_posting(engine, source, text="JAX", week=W42), "ml_engineer")
    analyze(engine, SMALL_TAXONOMY)
    compute_trends(engine)
    # only the JAX posting is an AI role; the not-AI posting names PyTorch and JAX
    assert _nk(engine, "all", W42) == {"pytorch": (1, 0), "langchain": (1, 0), "jax": (1, 1)}
    assert _nk(engine, "ml_engineer", W42) == {"pytorch": (1, 0), "langchain": (1, 0), "jax": (1, 1)}
    assert _points(engine, "ai_swe") == {}


def test_unclassified_postings_count_in_the_market_only(engine, source):
    add_posting(engine, source, text="PyTorch", week=W42)
    analyze(engine, SMALL_TAXONOMY)
    result = compute_trends(engine)
    assert result.weeks == (W42,)
    assert {cohort: bool(points) for cohort, points in _every_point(engine).items()} == {
        "market": True, "market:ashby": True, "all": False, "ai_swe": False, "ml_engineer": False}
    assert _nk(engine, "market", W42)["pytorch"] == (1, 1)


def test_a_posting_without_a_role_is_in_no_role_cohort_even_if_relevant(engine, source):
    """``all`` reads is_ai_role, the role cohorts read role: a row saying AI role without a role counts in
    ``all`` only."""
    posting = add_posting(engine, source, text="PyTorch", week=W42)
    analyze(engine, SMALL_TAXONOMY)
    classify_posting(engine, posting, "ai_swe")
    with engine.begin() as conn:
        conn.execute(Classification.__table__.update().values(role=None))
    compute_trends(engine)
    assert _nk(engine, "all", W42)["pytorch"] == (1, 1)
    assert _points(engine, "ai_swe") == {} and _points(engine, "ml_engineer") == {}


def test_one_cohort_can_be_computed_alone(engine, two_weeks):
    result = compute_trends(engine, cohort="ml_engineer")
    assert (result.weeks, result.rows, result.by_cohort) == ((W42, W43), 9, {"ml_engineer": ((W42, W43), 6)})
    assert result.by_cohort_month == {"ml_engineer": ((OCTOBER,), 3)}
    assert {cohort for cohort, points in _every_point(engine).items() if points} == {"ml_engineer"}


def test_one_grain_can_be_computed_alone(engine, two_weeks):
    result = compute_trends(engine, grain="month")
    assert (result.weeks, result.months, result.rows) == ((), (OCTOBER,), 15)
    assert all(not points for points in _every_point(engine).values())


def test_unknown_cohort_is_refused(engine):
    with pytest.raises(ValueError, match="cohort"):
        compute_trends(engine, cohort="data_scientist")
    with pytest.raises(ValueError, match="cohort"):
        latest_table(engine, cohort="sales")
    with pytest.raises(ValueError, match="cohort"):
        compute_trends(engine, cohort="market:workday")
    with pytest.raises(ValueError, match="grain"):
        compute_trends(engine, grain="quarter")


def test_no_postings_writes_nothing(engine):
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).rows == 0
    assert _every_point(engine) == {cohort: {} for cohort in TRACKED}


# --- idempotence and incremental recomputation -----------------------------------------------------------


def test_a_second_run_changes_nothing(engine, two_weeks):
    compute_trends(engine)
    before = _every_point(engine)
    result = compute_trends(engine)
    assert (result.weeks, result.rows) == ((), 0)
    assert result.by_cohort == {cohort: ((), 0) for cohort in TRACKED}
    assert (result.months, result.by_cohort_month) == ((), {cohort: ((), 0) for cohort in TRACKED})
    assert _every_point(engine) == before


def test_full_recompute_gives_the_same_rows(engine, two_weeks):
    compute_trends(engine)
    before = _every_point(engine)
    assert compute_trends(engine, full=True).weeks == (W42, W43)
    after = _every_point(engine)
    for cohort in COHORTS:
        assert {key: value[:-2] for key, value in after[cohort].items()} == {
            key: value[:-2] for key, value in before[cohort].items()}


def test_a_newly_analysed_posting_touches_only_its_week(engine, source, two_weeks):
    compute_trends(engine)
    before = _every_point(engine)
    classify_posting(engine, add_posting(engine, source, text="LangChain", week=W43), "ai_swe")
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).weeks == (W43,)
    after = _every_point(engine)
    assert after["all"][(W43, "langchain")][:3] == (3, 1, pytest.approx(1 / 3))
    assert after["ai_swe"][(W43, "langchain")][:3] == (2, 1, 0.5)
    assert after["ml_engineer"][(W43, "langchain")][:3] == (1, 0, 0.0)
    for cohort in COHORTS:
        assert ({k: v for k, v in after[cohort].items() if k[0] == W42}
                == {k: v for k, v in before[cohort].items() if k[0] == W42})


def test_an_edited_posting_touches_its_week(engine, two_weeks):
    compute_trends(engine)
    edit_posting(engine, two_weeks["none43"], text="Now with PyTorch")
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).weeks == (W43,)
    assert _points(engine)[(W43, "pytorch")][:2] == (2, 1)
    assert _points(engine, "ai_swe")[(W43, "pytorch")][:2] == (1, 1)


def test_a_posting_marked_duplicate_later_touches_its_week(engine, two_weeks):
    compute_trends(engine)
    # as analysis.duplicates.dedupe writes it (tests/analysis/test_duplicates.py runs the real thing)
    edit_posting(engine, two_weeks["chain"], duplicate_of_id=two_weeks["torch_chain"], duplicate_changed_at=utcnow())
    assert compute_trends(engine).weeks == (W42,)
    assert _points(engine)[(W42, "langchain")][:2] == (3, 1)


def test_a_week_whose_postings_all_became_duplicates_loses_its_rows(engine, two_weeks):
    compute_trends(engine)
    for name in ("jax", "none43"):
        edit_posting(engine, two_weeks[name], duplicate_of_id=two_weeks["torch_chain"], duplicate_changed_at=utcnow())
    result = compute_trends(engine)
    assert (result.weeks, result.by_cohort["all"]) == ((W43,), ((W43,), 0))
    assert result.by_cohort_month["all"] == ((OCTOBER,), 3)  # October still has W42
    assert {week for week, _ in _points(engine)} == {W42}


def test_postings_deleted_by_hand_are_found_by_a_full_recompute(engine, two_weeks):
    """Nothing jobtrend does deletes a posting, so the incremental run does not look for deletions (counting
    every week to find one costs 0.33 s at 1,000,000 postings); --full finds them."""
    compute_trends(engine)
    with engine.begin() as conn:
        conn.execute(delete(Posting).where(Posting.posted_week == W43))
    assert compute_trends(engine).weeks == ()
    assert W43 in compute_trends(engine, full=True).weeks
    assert {week for week, _ in _points(engine)} == {W42}


def test_a_new_week_is_added(engine, source, two_weeks):
    compute_trends(engine)
    classify_posting(engine, add_posting(engine, source, text="JAX and PyTorch", week=W44), "ml_engineer")
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).weeks == (W44,)
    assert _points(engine)[(W44, "jax")][:3] == (1, 1, 1.0)


def test_a_re_classified_posting_touches_its_week_in_every_cohort(engine, two_weeks):
    compute_trends(engine)
    before = _every_point(engine)
    # swap the roles of two W42 postings: n stays 2 in both role cohorts, only the classification time tells
    classify_posting(engine, two_weeks["chain"], "ml_engineer")
    classify_posting(engine, two_weeks["torch3"], "ai_swe")
    result = compute_trends(engine)
    assert result.by_cohort == {cohort: ((W42,), 3) for cohort in TRACKED}
    assert _nk(engine, "ml_engineer", W42) == {"pytorch": (2, 1), "langchain": (2, 2), "jax": (2, 0)}
    assert _nk(engine, "ai_swe", W42) == {"pytorch": (2, 1), "langchain": (2, 0), "jax": (2, 0)}
    after = _every_point(engine)
    assert {k: v[:5] for k, v in after["all"].items()} == {k: v[:5] for k, v in before["all"].items()}
    for cohort in TRACKED:
        assert ({k: v for k, v in after[cohort].items() if k[0] == W43}
                == {k: v for k, v in before[cohort].items() if k[0] == W43})
    assert compute_trends(engine).rows == 0


def test_a_posting_classified_as_an_ai_role_later_joins_its_cohorts(engine, two_weeks):
    compute_trends(engine)
    classify_posting(engine, two_weeks["unclassified"], "ml_engineer")  # "PyTorch and JAX", W42
    assert compute_trends(engine).weeks == (W42,)
    assert _nk(engine, "all", W42) == {"pytorch": (5, 3), "langchain": (5, 2), "jax": (5, 1)}
    assert _nk(engine, "ml_engineer", W42) == {"pytorch": (3, 3), "langchain": (3, 1), "jax": (3, 1)}
    assert _nk(engine, "ai_swe", W42)["pytorch"] == (2, 0)


def test_a_classification_older_than_the_last_run_touches_nothing_by_itself(engine, two_weeks):
    compute_trends(engine)
    # the same verdict stored again with an old timestamp: neither n nor classified_at says anything changed
    classify_posting(engine, two_weeks["chain"], "ai_swe", classified_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert compute_trends(engine).weeks == ()


def test_an_unanalysed_posting_is_not_counted_until_analysed(engine, source, two_weeks):
    classify_posting(engine, add_posting(engine, source, text="PyTorch", week=W43), "ai_swe")
    compute_trends(engine)
    assert _points(engine)[(W43, "pytorch")][:2] == (2, 0)
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).weeks == (W43,)
    assert _points(engine)[(W43, "pytorch")][:2] == (3, 1)


# --- the latest-weeks table ------------------------------------------------------------------------------


def test_table_without_data_says_so(engine):
    message = latest_table(engine, cohort="ml_engineer")
    assert "No trend data yet for cohort 'ml_engineer'" in message and "jobtrend analyze" in message


def test_table_says_when_every_week_is_below_min_postings(engine, two_weeks):
    compute_trends(engine)
    message = latest_table(engine, cohort="ml_engineer", min_postings=3)
    assert message.startswith("No week of cohort 'ml_engineer' has 3 or more postings (the largest has 2)")
    assert latest_table(engine, cohort="ml_engineer", min_postings=2).splitlines()[1].split() == ["n", "2"]


def test_table_of_a_role_cohort(engine, two_weeks):
    compute_trends(engine)
    lines = latest_table(engine, cohort="ml_engineer").splitlines()
    assert lines[0].split() == ["framework", "2025-W42", "2025-W43"]
    assert lines[1].split() == ["n", "2", "1"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows == {"PyTorch": ["100.0%", "0.0%"], "JAX": ["0.0%", "100.0%"], "LangChain": ["50.0%", "0.0%"]}


def test_table_shows_weeks_n_and_percentages(engine, two_weeks):
    compute_trends(engine)
    lines = latest_table(engine).splitlines()
    assert lines[0].split() == ["framework", "2025-W42", "2025-W43"]
    assert lines[1].split() == ["n", "4", "2"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows == {"JAX": ["0.0%", "50.0%"], "LangChain": ["50.0%", "0.0%"], "PyTorch": ["50.0%", "0.0%"]}


def test_table_ranks_by_mean_share_and_limits_weeks_and_rows(engine, source, two_weeks):
    classify_posting(engine, add_posting(engine, source, text="PyTorch", week=W43), "ai_swe")
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
    classify_posting(engine, add_posting(engine, source, text="PyTorch", week=W42), "ai_swe")
    analyze(engine, SMALL_TAXONOMY)
    compute_trends(engine)
    assert {r["slug"] for r in latest_rows(engine)} == {"pytorch"}


# --- the set-based computation against a per-posting count ----------------------------------------------


def _in_cohort_by_hand(cohort: str, verdict, kind: str) -> bool:
    if cohort == "market":
        return True
    if cohort.startswith("market:"):
        return kind == cohort.removeprefix("market:")
    if verdict is None:
        return False
    return verdict.is_ai_role if cohort == "all" else verdict.role == cohort


def _count_by_hand(engine, grain: str = "week") -> dict[tuple[str, dt.date, str], tuple[int, int]]:
    """(cohort, period, slug) -> (n, k), counted posting by posting in Python from the raw tables, straight from
    the definition in the module docstring; periods with n = 0 left out."""
    with engine.connect() as conn:
        postings = conn.execute(select(Posting.id, Posting.posted_week, Posting.posted_month, Posting.duplicate_of_id,
                                       Posting.analyzed_at, Posting.description_text, Source.kind)
                                .join(Source, Source.id == Posting.source_id)).all()
        verdicts = {row.posting_id: row for row in conn.execute(select(Classification))}
        slugs = dict(conn.execute(select(Framework.id, Framework.slug)).all())
        mentioned: dict[int, set[str]] = {}
        for posting_id, framework_id, count in conn.execute(
                select(Mention.posting_id, Mention.framework_id, Mention.count)):
            if count > 0:
                mentioned.setdefault(posting_id, set()).add(slugs[framework_id])
    counts: dict[tuple[str, dt.date, str], list[int]] = {}
    for posting in postings:
        verdict = verdicts.get(posting.id)
        if (posting.duplicate_of_id is not None or posting.analyzed_at is None
                or not posting.description_text.strip()):
            continue
        period = posting.posted_week if grain == "week" else posting.posted_month
        for cohort in TRACKED:
            if not _in_cohort_by_hand(cohort, verdict, posting.kind):
                continue
            for slug in slugs.values():
                cell = counts.setdefault((cohort, period, slug), [0, 0])
                cell[0] += 1
                cell[1] += slug in mentioned.get(posting.id, set())
    return {key: (n, k) for key, (n, k) in counts.items()}


def _stored_by_key(engine, grain: str = "week") -> dict[tuple[str, dt.date, str], tuple]:
    return {(cohort, week, slug): point for cohort, points in _every_point(engine, grain).items()
            for (week, slug), point in points.items()}


def _assert_matches_hand_count(engine) -> None:
    for grain in ("week", "month"):
        _assert_grain_matches_hand_count(engine, grain)


def _assert_grain_matches_hand_count(engine, grain: str) -> None:
    expected = _count_by_hand(engine, grain)
    stored = _stored_by_key(engine, grain)
    assert set(stored) == set(expected)
    for key, (n, k) in expected.items():
        point = stored[key]
        assert point[:2] == (n, k), key
        assert point[2] == k / n
        low, high = wilson_interval(k, n)
        assert abs(point[3] - low) <= 1e-9 and abs(point[4] - high) <= 1e-9, key


TEXTS = ("PyTorch", "LangChain", "JAX", "PyTorch and JAX", "LangChain, PyTorch and JAX", "Spreadsheets", "",
         "   ", "pytorch pytorch")
WEEKS = [W42 - dt.timedelta(weeks=i) for i in range(5)]


@pytest.fixture
def random_postings(engine, source) -> list[int]:
    """60 postings over 5 weeks, seeded: random texts (some empty or blank), duplicates, verdicts of every kind
    (none, not an AI role, each role, an AI role without a role) and a few postings left unanalysed."""
    import random

    rng = random.Random(8)
    ids: list[int] = []
    for i in range(60):
        duplicate_of = rng.choice(ids) if ids and rng.random() < 0.1 else None
        posting = add_posting(engine, source, text=rng.choice(TEXTS), week=rng.choice(WEEKS),
                              duplicate_of=duplicate_of)
        ids.append(posting)
        verdict = rng.choice(["none", None, "ai_swe", "ml_engineer", "ai_swe", "ml_engineer", "no_role"])
        if verdict != "none":
            classify_posting(engine, posting, "ai_swe" if verdict == "no_role" else verdict)
            if verdict == "no_role":
                with engine.begin() as conn:
                    conn.execute(Classification.__table__.update()
                                 .where(Classification.posting_id == posting).values(role=None))
        if i == 50:
            analyze(engine, SMALL_TAXONOMY)  # the last postings stay unanalysed
    return ids


def test_set_based_shares_equal_a_per_posting_count(engine, random_postings):
    assert compute_trends(engine).rows > 0
    _assert_matches_hand_count(engine)
    analyze(engine, SMALL_TAXONOMY)
    compute_trends(engine)
    _assert_matches_hand_count(engine)
    compute_trends(engine, full=True)
    _assert_matches_hand_count(engine)


def test_one_touched_week_is_the_only_one_rewritten(engine, random_postings):
    analyze(engine, SMALL_TAXONOMY)
    compute_trends(engine)
    before = _stored_by_key(engine)
    week = WEEKS[2]
    with engine.connect() as conn:
        posting = conn.scalar(select(Posting.id).join(Classification, Classification.posting_id == Posting.id)
                              .where(Posting.posted_week == week, Classification.is_ai_role.is_(True),
                                     Posting.duplicate_of_id.is_(None)).order_by(Posting.id).limit(1))
    edit_posting(engine, posting, text="JAX and LangChain, rewritten")
    analyze(engine, SMALL_TAXONOMY)
    result = compute_trends(engine)
    assert result.weeks == (week,)
    after = _stored_by_key(engine)
    assert {key: value for key, value in after.items() if key[1] != week} == {
        key: value for key, value in before.items() if key[1] != week}
    rewritten = {value[5] for key, value in after.items() if key[1] == week}
    assert len(rewritten) == 1 and rewritten.isdisjoint({value[5] for value in before.values()})
    _assert_matches_hand_count(engine)


def test_many_touched_weeks_are_read_along_with_every_week(engine, random_postings, monkeypatch):
    """Past MAX_WEEKS_IN_LIST touched weeks, n and k are read for every week; only the touched ones are written."""
    import analysis.trends as trends

    analyze(engine, SMALL_TAXONOMY)
    compute_trends(engine)
    before = _stored_by_key(engine)
    monkeypatch.setattr(trends, "MAX_WEEKS_IN_LIST", 1)
    with engine.connect() as conn:
        firsts = [conn.scalar(select(Posting.id).where(Posting.posted_week == week).order_by(Posting.id).limit(1))
                  for week in (WEEKS[1], WEEKS[3])]
    for posting in firsts:
        edit_posting(engine, posting, text="LangChain, edited")
    analyze(engine, SMALL_TAXONOMY)
    assert compute_trends(engine).weeks == (WEEKS[3], WEEKS[1])
    after = _stored_by_key(engine)
    untouched = {WEEKS[0], WEEKS[2], WEEKS[4]}
    assert ({key: value for key, value in after.items() if key[1] in untouched}
            == {key: value for key, value in before.items() if key[1] in untouched})
    _assert_matches_hand_count(engine)


def test_a_failed_write_leaves_the_cohort_as_it_was(engine, source, two_weeks, monkeypatch):
    """One transaction per cohort: when writing one cohort's rows fails, its old rows are all still there and
    the cohorts written before it keep their new rows."""
    import analysis.trends as trends

    compute_trends(engine)
    before = _every_point(engine)
    classify_posting(engine, add_posting(engine, source, text="PyTorch", week=W43),
                     "ai_swe")
    analyze(engine, SMALL_TAXONOMY)
    real_upsert = trends._upsert

    def insert_failing_for_ai_swe(conn, rows):
        if rows and rows[0][2] == "ai_swe":
            raise RuntimeError("disk full")
        real_upsert(conn, rows)

    monkeypatch.setattr(trends, "_upsert", insert_failing_for_ai_swe)
    with pytest.raises(RuntimeError, match="disk full"):
        compute_trends(engine)
    after = _every_point(engine)
    assert after["ai_swe"] == before["ai_swe"]
    assert after["all"][(W43, "pytorch")][:2] == (3, 1)
    monkeypatch.undo()
    assert compute_trends(engine).by_cohort["ai_swe"][0] == (W43,)
    assert _points(engine, "ai_swe")[(W43, "pytorch")][:2] == (2, 1)


def _plan(engine, conn, query) -> str:
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    if engine.dialect.name == "sqlite":
        return " ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table is read whole whatever its indexes
    return " ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))


def test_the_trend_queries_read_the_trend_indexes(engine, two_weeks):
    """n is counted through the partial index ix_postings_measured (the query repeats its condition, and on
    SQLite the grouping by week must not pull the plan onto ix_postings_posted_week), and the postings analysed
    since the last run are found through ix_postings_analyzed_at. SQLite plans without statistics, so the plan
    here is the plan on a database of any size."""
    from sqlalchemy import func

    from analysis.trends import _measured_cte

    m = _measured_cte((*COHORTS_ALL, "market:ashby"), "month")
    per_month = select(m.c.period, func.sum(m.c.in_0)).group_by(m.c.period)
    m = _measured_cte(COHORTS)
    per_week = select(m.c.period, func.sum(m.c.in_0)).group_by(m.c.period)
    recent = select(Posting.posted_week).where(Posting.analyzed_at > dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with engine.connect() as conn:
        assert "ix_postings_measured" in _plan(engine, conn, per_week)
        assert "ix_postings_measured" in _plan(engine, conn, per_month)
        assert "ix_postings_analyzed_at" in _plan(engine, conn, recent)
