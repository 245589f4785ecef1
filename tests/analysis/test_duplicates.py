"""Duplicate detection: normalising, matching, canonical choice, the database stage on both databases, trends, CLI."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from analysis.duplicates import (
    JobRecord,
    assign_canonicals,
    company_block_key,
    dedupe,
    link_references,
    match,
    title_key,
)
from analysis.duplicates_eval import evaluate, load_pairs
from analysis.mentions import analyze
from analysis.trends import compute_trends
from jobtrend.models import Framework, Posting, TrendPoint
from tests.analysis.factories import SMALL_TAXONOMY, add_posting, add_source, classify_posting, edit_posting
from tests.jobtrend.test_config import invoke_cli, write_config

W42 = dt.date(2025, 10, 13)
W43 = dt.date(2025, 10, 20)
ABOUT_ACME = ("Acme builds evaluation tooling for large language models used by research labs and banks. "
              "We are a small team in London and New York and we ship every day. ")
ML_ROLE = (ABOUT_ACME + "You will train and serve ranking models in PyTorch, own the feature pipeline and the "
           "offline evaluation harness, and work with product on experiments. You have shipped models to "
           "production and you like measuring things. Salary: 150k to 190k. Location: London.")
SALES_ROLE = (ABOUT_ACME + "You will own the enterprise pipeline in EMEA, run discovery calls with heads of data, "
              "negotiate multi-year contracts and forecast in Salesforce. You have closed six-figure software "
              "deals before. Salary: 90k plus commission. Location: London.")
HN_POST = ("Acme | ML Engineer | London or REMOTE (EU) | Full-time\n"
           "We build evaluation tooling for LLMs. Apply: https://jobs.ashbyhq.com/acme/3f9c2b7e-1d2a-4c3b-9e8f-...\n"
           "Stack: Python, PyTorch, Postgres.")
UUID = "3f9c2b7e-1d2a-4c3b-9e8f-0123456789ab"


def record(rid, text="", *, kind="ashby", source="acme", company="Acme", title="ML Engineer", location="London",
           external_id=None, day=1) -> JobRecord:
    return JobRecord(rid, source, kind, external_id or f"ext-{rid}", company, title, location,
                     dt.datetime(2025, 10, day, tzinfo=dt.UTC), text=text)


# --- normalising ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "key"), [
    ("Sully.ai", "sully"), ("Sully AI", "sully"), ("Sully, Inc.", "sully"), ("SULLY LLC", "sully"),
    ("Kyber (YC W23)", "kyber"), ("The Browser Company", "browser"), ("Hims & Hers", "hims and hers"),
    ("OpenAI", "openai"), ("AI", "ai"), ("Cohere", "cohere"), ("Crédit Agricole", "credit agricole"),
])
def test_company_key(name, key):
    assert company_block_key(name) == key


@pytest.mark.parametrize(("a", "b"), [
    (("Software Engineer - Applied ML (UK/EU)", "London; Paris"), ("Software Engineer - Applied ML (US/CAN)", None)),
    (("Oncology Specialist - Texas", "Texas"), ("Oncology Specialist - Florida", "Florida")),
    (("Sr. Software Engineer, Payments", None), ("Senior Software Engineer, Payments", None)),
    (("Solutions Architect - UK", None), ("Solution Architect", None)),
    (("Country Manager - France", "Paris"), ("Country Manager - Singapore", "Singapore")),
    (("Counselor - Eating Disorder PST/MST Region", None), ("Counselor - Eating Disorder EST", None)),
    (("Engineering Manager | Platform", None), ("Engineering Manager - Platform", None)),
])
def test_titles_naming_the_same_role_share_a_key(a, b):
    assert title_key(*a) == title_key(*b)


@pytest.mark.parametrize(("a", "b"), [
    ("Senior Software Engineer, Backend", "Staff Software Engineer, Backend"),  # seniority
    ("Software Engineer I", "Software Engineer II"),  # level
    ("Pharmacy Technician - Day Shift", "Pharmacy Technician - Night Shift"),  # shift
    ("Software Engineer (Applied AI)", "Software Engineer (Full stack)"),  # specialisation
    ("Software Engineer, Fraud", "Software Engineer, Account Integrity"),  # team
    ("Agent Software Engineer", "Agent Software Engineer - New Grad (2026 Start)"),
])
def test_titles_naming_different_roles_differ(a, b):
    assert title_key(a) != title_key(b)


def test_link_references_read_hn_shortened_links():
    whole, prefixes = link_references(
        "Apply https://jobs.ashbyhq.com/DeepL/18674a65-3787-4d18-840d-dff22... or "
        "https://job-boards.greenhouse.io/cloudflare/jobs/7764827?gh_... or https://careers.x.com/jobs/8318257002.")
    assert {"7764827", "8318257002"} <= whole
    assert prefixes == {"18674a65-3787-4d18-840d-dff22"}


# --- matching pairs ------------------------------------------------------------------------------------------


def test_one_ad_listed_per_location_is_one_job():
    london = record(1, ML_ROLE, title="Machine Learning Engineer (UK)", location="London")
    berlin = record(2, ML_ROLE.replace("London", "Berlin"), title="Machine Learning Engineer - Berlin",
                    location="Berlin")
    assert match(london, berlin)[1] == "text"


def test_same_company_different_role_stays_apart_even_with_the_same_text():
    assert match(record(1, ML_ROLE, title="Senior ML Engineer"), record(2, ML_ROLE, title="Staff ML Engineer")) is None


def test_same_company_same_title_different_work_stays_apart():
    assert match(record(1, ML_ROLE), record(2, SALES_ROLE)) is None


def test_same_title_and_text_at_another_company_stays_apart():
    assert match(record(1, ML_ROLE), record(2, ML_ROLE, company="Globex", source="globex")) is None


def test_hn_comment_repeated_in_a_later_thread_is_one_job():
    january = record(1, HN_POST, kind="hackernews", source="hn", company=None, title="ML Engineer")
    february = record(2, HN_POST + "\nStill hiring!", kind="hackernews", source="hn", company=None, title="ML Eng")
    assert match(january, february)[1] == "text"


def test_hn_comment_linking_a_board_posting_is_that_job_even_when_shortened():
    board = record(1, ML_ROLE, external_id=UUID)
    comment = record(2, HN_POST, kind="hackernews", source="hn", company=None)
    assert match(comment, board) == (2.0, "link")


def test_postings_without_text_match_only_by_link():
    assert match(record(1), record(2)) is None  # same company, title and location, no text: left alone
    comment = record(3, HN_POST, kind="hackernews", source="hn", company=None)
    assert match(comment, record(4, external_id=UUID))[1] == "link"


# --- groups and canonical postings ---------------------------------------------------------------------------


def test_canonical_is_the_earliest_posting_with_text_from_a_board_before_hn():
    comment = record(1, HN_POST, kind="hackernews", source="hn", company=None, day=1)
    later_copy = record(2, ML_ROLE, external_id=UUID, day=9)
    first = record(3, ML_ROLE, day=5, external_id="other-id")
    textless = record(4, "", kind="greenhouse", source="gh", day=1)
    assert assign_canonicals([comment, later_copy, first, textless]) == {3: None, 2: 3, 1: 3, 4: None}


@pytest.mark.parametrize("ids", [(1, 2), (2, 1)])
def test_on_a_posted_at_tie_the_board_api_wins_over_the_career_page_whatever_the_row_ids(ids):
    """Career pages' JSON-LD often repeats the board API's timestamp; the concurrent spiders store in any order."""
    board = record(ids[0], ML_ROLE, external_id=UUID)
    page = record(ids[1], ML_ROLE, kind="jsonld", source="acme-careers", external_id=UUID)
    assert assign_canonicals([page, board]) == {board.id: None, page.id: board.id}


@pytest.mark.parametrize("ids", [(1, 2), (2, 1)])
def test_on_a_full_tie_the_smaller_external_id_wins_whatever_the_row_ids(ids):
    first, second = record(ids[0], ML_ROLE, external_id="a-1"), record(ids[1], ML_ROLE, external_id="b-2")
    assert assign_canonicals([second, first]) == {first.id: None, second.id: first.id}


def test_a_comment_linking_two_board_postings_does_not_merge_them():
    ml = record(1, ML_ROLE, external_id=UUID)
    sales = record(2, SALES_ROLE, title="Account Executive", external_id="9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
    comment = record(3, HN_POST + "\nAlso https://jobs.ashbyhq.com/acme/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                     kind="hackernews", source="hn", company=None)
    canonical = assign_canonicals([comment, sales, ml])
    assert canonical[1] is None and canonical[2] is None
    assert canonical[3] == 1  # the first of the two (the smaller external id breaks the posted_at tie)


def test_an_earlier_copy_arriving_later_becomes_canonical_without_chains():
    a, b = record(1, ML_ROLE, day=5), record(2, ML_ROLE, day=7)
    assert assign_canonicals([a, b]) == {1: None, 2: 1}
    earlier = record(3, ML_ROLE, day=2)
    canonical = assign_canonicals([a, b, earlier])
    assert canonical == {3: None, 1: 3, 2: 3}
    assert all(canonical[c] is None for c in canonical.values() if c is not None)


# --- the database stage, on SQLite and PostgreSQL ------------------------------------------------------------


def _posting(engine, source_id, *, text, title="ML Engineer", week=W42, **values) -> int:
    pid = add_posting(engine, source_id, title=title, text=text, week=week)
    defaults = {"company": "Acme", "location": "London"}
    edit_posting(engine, pid, **(defaults | values))
    return pid


def _duplicate_of(engine) -> dict[int, int | None]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Posting.id, Posting.duplicate_of_id)).all())


def test_dedupe_links_cross_source_copies_and_keeps_near_misses_apart(engine):
    ashby, hn = add_source(engine, "ashby", "acme"), add_source(engine, "hackernews", "whoishiring")
    board = _posting(engine, ashby, text=ML_ROLE, external_id=UUID)
    copy = _posting(engine, ashby, text=ML_ROLE.replace("London", "New York"), title="ML Engineer (NYC)",
                    location="New York")
    other_role = _posting(engine, ashby, text=ML_ROLE, title="Staff ML Engineer")
    sales = _posting(engine, ashby, text=SALES_ROLE)
    comment = _posting(engine, hn, text=HN_POST, company=None, location=None, week=W43)
    repost = _posting(engine, hn, text=HN_POST + "\nStill hiring.", company=None, location=None, week=W43)

    result = dedupe(engine)

    assert _duplicate_of(engine) == {board: None, copy: board, other_role: None, sales: None,
                                     comment: board, repost: board}
    assert (result.duplicates, result.groups, result.changed) == (3, 1, 3)


def test_dedupe_twice_changes_nothing(engine):
    source = add_source(engine)
    _posting(engine, source, text=ML_ROLE)
    _posting(engine, source, text=ML_ROLE, title="ML Engineer - Remote")
    assert dedupe(engine).changed == 1
    before = _duplicate_of(engine)
    changed_at = _duplicate_changed_at(engine)
    assert sum(moment is not None for moment in changed_at.values()) == 1  # only the duplicate's link changed
    assert dedupe(engine).changed == 0
    assert _duplicate_of(engine) == before
    assert _duplicate_changed_at(engine) == changed_at  # an unchanged link keeps its time


def _duplicate_changed_at(engine) -> dict[int, dt.datetime | None]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Posting.id, Posting.duplicate_changed_at)).all())


def test_an_earlier_copy_crawled_later_takes_over_without_chains(engine):
    source = add_source(engine)
    first = _posting(engine, source, text=ML_ROLE, week=W43)
    second = _posting(engine, source, text=ML_ROLE, title="ML Engineer (UK)", week=W43)
    dedupe(engine)
    earlier = _posting(engine, source, text=ML_ROLE, title="ML Engineer, London", week=W42)

    dedupe(engine)

    links = _duplicate_of(engine)
    assert links == {earlier: None, first: earlier, second: earlier}
    assert all(links[target] is None for target in links.values() if target is not None)


def test_a_job_on_hn_and_on_an_ashby_board_counts_once_in_trend_points(engine):
    ashby, hn = add_source(engine, "ashby", "acme"), add_source(engine, "hackernews", "whoishiring")
    classify_posting(engine, _posting(engine, ashby, text=ML_ROLE, external_id=UUID), "ml_engineer")
    classify_posting(engine, _posting(engine, hn, text=HN_POST, company=None, location=None), "ml_engineer")
    analyze(engine, SMALL_TAXONOMY)
    compute_trends(engine)
    assert _n_postings(engine) == {W42: 2}  # counted twice before deduplication

    dedupe(engine)
    assert compute_trends(engine).weeks == (W42,)  # incremental: dedupe's duplicate_changed_at touches the week

    assert _n_postings(engine) == {W42: 1}
    with engine.connect() as conn:
        k = conn.scalar(select(TrendPoint.n_mentioning).join(Framework, Framework.id == TrendPoint.framework_id)
                        .where(Framework.slug == "pytorch", TrendPoint.cohort == "all", TrendPoint.grain == "week"))
    assert k == 1  # both postings mention PyTorch; the job counts once


def _n_postings(engine) -> dict[dt.date, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(TrendPoint.period_start, TrendPoint.n_postings)
                            .where(TrendPoint.cohort == "all", TrendPoint.grain == "week").distinct()).all()
    return dict(rows)


# --- evaluation and the command line -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def labelled_pairs():
    return load_pairs()


def test_labelled_pairs_are_real_and_balanced(labelled_pairs):
    assert len(labelled_pairs) >= 150
    assert sum(p.duplicate for p in labelled_pairs) >= 50
    assert sum(not p.duplicate for p in labelled_pairs) >= 50
    categories = {p.category for p in labelled_pairs}
    assert {"cross-source-link", "hn-same-company", "board-same-title", "board-other-role-same-text"} <= categories


def test_detector_meets_its_documented_figures_on_the_labelled_pairs(labelled_pairs):
    result = evaluate(labelled_pairs)
    precision, recall, _ = result.scores()
    assert precision >= 0.98 and recall >= 0.85  # docs/duplicates.md: 0.991 and 0.864
    assert result.scores("board")[0] == 1.0  # no false link between board postings


@pytest.fixture
def run(tmp_path):
    config_dir = write_config(tmp_path / "config")

    def invoke(args, database_url=None):
        return invoke_cli(config_dir, args, database_url)

    return invoke


def test_cli_dedupe_links_and_reports(run, db_url, engine):
    source = add_source(engine)
    _posting(engine, source, text=ML_ROLE)
    _posting(engine, source, text=ML_ROLE, title="ML Engineer (EU)")
    result = run(["dedupe"], db_url)
    assert result.exit_code == 0, result.output
    assert "1 of 2 postings are duplicates of 1 canonical postings (1 changed" in result.output


def test_cli_dedupe_evaluate_prints_the_figures(run):
    result = run(["dedupe", "--evaluate"])
    assert result.exit_code == 0, result.output
    assert "precision" in result.output and "disagreements" in result.output and "threshold sweep" in result.output


def test_cli_dedupe_help_has_an_example(run):
    result = run(["dedupe", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "jobtrend dedupe" in result.output
