"""`jobtrend mentions POSTING_ID`: every match with its context, counted or not and why."""

import pytest

from jobtrend.config import REPO_ROOT
from jobtrend.db import make_engine
from tests.analysis.factories import add_posting, add_source
from tests.jobtrend.test_config import invoke_cli, write_config


@pytest.fixture
def run(tmp_path):
    """Invoke the CLI with the shipped taxonomy and the given database URL."""
    taxonomy = (REPO_ROOT / "config" / "frameworks.toml").read_text()
    config_dir = write_config(tmp_path / "config", frameworks=taxonomy)

    def invoke(args, database_url):
        return invoke_cli(config_dir, args, database_url)

    return invoke


def _posting(url, text):
    engine = make_engine(url)
    try:
        return add_posting(engine, add_source(engine), title="ML Engineer", text=text)
    finally:
        engine.dispose()


def test_mentions_shows_counted_and_rejected_matches(run, db_url):
    posting = _posting(db_url, "Trust is the Bedrock of our culture. We deploy models with Ray Serve on EKS.")
    result = run(["mentions", str(posting)], db_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"posting {posting}: ML Engineer"
    assert 'rejected (excluded phrase "bedrock of")  bedrock' in result.output
    assert "counted   ray-serve -> ray" in result.output
    assert "    ... Bedrock of our culture. We deploy models with [Ray Serve] on EKS. ..." in lines
    assert lines[-1] == "1 counted, 1 not counted"


def test_mentions_of_an_unknown_posting_is_a_clear_error(run, db_url):
    result = run(["mentions", "999999"], db_url)
    assert result.exit_code == 1
    assert "no posting with id 999999" in result.output


def test_mentions_without_matches_says_so(run, db_url):
    posting = _posting(db_url, "Spreadsheets.")
    assert "no framework matched" in run(["mentions", str(posting)], db_url).output


def test_the_employers_own_name_is_shown_as_not_counted_and_not_stored(run, db_url):
    from sqlalchemy import select, update

    from analysis.mentions import analyze
    from jobtrend.config import load_frameworks
    from jobtrend.models import Framework, Mention, Posting

    posting = _posting(db_url, "Cohere builds enterprise AI. You will train models with PyTorch.")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(update(Posting).where(Posting.id == posting).values(company="Cohere"))
    analyze(engine, load_frameworks(REPO_ROOT / "config" / "frameworks.toml"))
    with engine.connect() as conn:
        stored = set(conn.scalars(select(Framework.slug).join(Mention).where(Mention.posting_id == posting)))
    engine.dispose()
    assert "pytorch" in stored and "cohere" not in stored
    result = run(["mentions", str(posting)], db_url)
    assert "rejected (the employer's own name (Cohere))  cohere" in result.output
