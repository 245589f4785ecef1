"""Scraped text cannot attack the terminal that shows it (issue: control characters in a posting reached the
terminal through `jobtrend sql`, `jobtrend mentions ID` and `jobtrend classify --explain ID`).

A posting's title and description hold a screen clear (``ESC[2J``), a window title (``ESC]0;...BEL``), an OSC 8
hyperlink, an 8-bit CSI, NUL, BEL, a carriage return, and bidi overrides and isolates (U+202E, U+2066). Through
the CLI, every text format shows the visible words and none of those characters; ``--format json`` keeps the value
exactly (JSON escapes control characters itself).
"""

from __future__ import annotations

import json
import unicodedata

import pytest
from sqlalchemy import update

from jobtrend.config import REPO_ROOT
from jobtrend.messages import terminal_text
from jobtrend.models import Posting
from jobtrend.output import render
from tests.analysis.factories import add_posting, add_source
from tests.jobtrend.test_config import invoke_cli, write_config

ESC = "\x1b"
HOSTILE = (f"{ESC}[2J{ESC}]0;pwned{chr(7)}{ESC}]8;;https://evil.example/{ESC}\\click here{ESC}]8;;{ESC}\\ "
           f"a\x00b \u202eevil\u202c \u2066iso\u2069 \x9b31mred\x9b0m bell\x07 back\x08 carriage\rreturn")
VISIBLE = ("click here", "ab", "evil", "iso", "red", "bell", "back")
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
BODY = (f"We train models in {ESC}[31m PyTorch {ESC}[0m and serve them \u202ewith Ray Serve\u202c. {HOSTILE} "
        "Machine learning engineer: training pipelines, GPUs, model evaluation.")


def unsafe(output: str) -> set[str]:
    """The characters of ``output`` a terminal would act on: controls but the line break, and bidi controls."""
    return {c for c in output if (unicodedata.category(c) == "Cc" and c != "\n") or c in BIDI}


def assert_safe(output: str) -> None:
    assert unsafe(output) == set(), sorted(map(hex, map(ord, unsafe(output))))
    assert "pwned" not in output and "evil.example" not in output
    assert all(word in output for word in VISIBLE), output


@pytest.fixture
def stored(db_kind):
    """The title and body as stored: PostgreSQL text cannot hold NUL, so it goes there."""
    return {"title": HOSTILE, "body": BODY} if db_kind == "sqlite" else \
        {"title": HOSTILE.replace("\x00", ""), "body": BODY.replace("\x00", "")}


@pytest.fixture
def posting(engine, stored):
    source = add_source(engine)
    posting_id = add_posting(engine, source, title=stored["title"], text=stored["body"])
    with engine.begin() as conn:
        conn.execute(update(Posting).where(Posting.id == posting_id).values(company=f"Acme{ESC}]0;x{chr(7)}"))
    return posting_id


@pytest.fixture
def cli(tmp_path, role_model_path):
    taxonomy = (REPO_ROOT / "config" / "frameworks.toml").read_text()
    config_dir = write_config(tmp_path / "config", frameworks=taxonomy)
    with (config_dir / "jobtrend.toml").open("a") as fh:
        fh.write(f"\n[classifier]\nmodel = {json.dumps(str(role_model_path))}\n")
    return lambda args, database_url: invoke_cli(config_dir, args, database_url)


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_sql_text_formats_are_safe(cli, posting, query_url, fmt):
    result = cli(["sql", "select id, title, company, description_text as body from postings", "--format", fmt],
                 query_url)
    assert result.exit_code == 0, result.output
    assert_safe(result.stdout)
    if fmt == "table":
        assert len(result.stdout.splitlines()) == 3  # header, rule, one row: no line break from the text
    if fmt == "markdown":
        assert len(result.stdout.splitlines()) == 3


def test_sql_json_keeps_the_value_exactly(cli, posting, stored, query_url):
    result = cli(["sql", "select title, description_text as body from postings", "--format", "json"], query_url)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [stored]
    assert ESC not in result.stdout  # JSON escapes it: \u001b


def test_sql_column_names_and_error_messages_are_safe(cli, query_url):
    named = cli(["sql", f'select 1 as "{ESC}]0;pwned{chr(7)}n\u202e"'], query_url)
    assert named.exit_code == 0 and unsafe(named.output) == set() and "pwned" not in named.output
    # PostgreSQL quotes the bad value in its message: invalid input syntax for type integer: "..."
    failed = cli(["sql", f"select cast('{ESC}]0;pwned{chr(7)}{ESC}[2Jx' as integer)"], query_url)
    assert unsafe(failed.output) == set() and "pwned" not in failed.output


def test_mentions_lines_are_safe(cli, posting, db_url):
    result = cli(["mentions", str(posting)], db_url)
    assert result.exit_code == 0, result.output
    assert_safe(result.output)
    assert "[Ray Serve]" in result.output and "counted" in result.output


def test_classify_explain_lines_are_safe(cli, posting, db_url):
    result = cli(["classify", "--explain", str(posting)], db_url)
    assert result.exit_code == 0, result.output
    assert_safe(result.output)
    assert result.output.splitlines()[0].startswith(f"posting {posting}: ")


def test_other_listings_rendered_as_tables_are_safe():
    for fmt in ("table", "csv", "markdown"):
        assert unsafe(render(["x"], [(HOSTILE,)], fmt)) == set()
    assert json.loads(render(["x"], [(HOSTILE,)], "json")) == [{"x": HOSTILE}]


def test_terminal_text_keeps_ordinary_text_and_handles_line_breaks():
    ordinary = "Senior ML Engineer – Zürich (日本語, עברית, العربية) 100 % remote"
    assert terminal_text(ordinary) == ordinary
    assert terminal_text("a\nb\r\nc\td") == "a b  c d"
    assert terminal_text("a\nb\r\nc\rd\te", multiline=True) == "a\nb\nc\nd\te"
    assert terminal_text(f"{ESC}]0;title{ESC}\\ok {ESC}[1;31mred{ESC}[0m {ESC}(B{ESC}7") == "ok red "
    assert terminal_text(f"cut {ESC}]8;;https://x") == "cut "  # an unterminated OSC: removed to the end
