"""The cookbook of docs/schema.md answers its questions on the demo database, the same way on SQLite and
PostgreSQL; and docs/schema.md describes every column of every table and view the migrations create."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from jobtrend.cli import main
from jobtrend.cli.database import run_read_only
from jobtrend.cookbook import column_descriptions, load_cookbook
from jobtrend.db import make_engine

RECIPES = load_cookbook()
ROW_LIMIT = 10_000
NOT_OURS = {"alembic_version", "apscheduler_jobs"}  # Alembic's and APScheduler's own tables
README = Path(__file__).resolve().parent.parent / "README.md"


def readme_questions() -> list[tuple[str, str]]:
    """(query, printed output) of each example in the README's "Questions you can ask" section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Questions you can ask\n"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"```sql\n(.*?)```\n\n```text\n(.*?)```", section, re.S)


def normalise(value):
    """One value as both databases should agree on it: PostgreSQL numerics, booleans and dates as SQLite
    gives them back."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (Decimal, float)):
        return round(float(value), 6)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def answer(url: str, sql: str) -> tuple[list[str], list[tuple]]:
    columns, rows, cut = run_read_only(url, sql, {}, ROW_LIMIT, allow_superuser=True)
    assert not cut, f"more than {ROW_LIMIT} rows"
    return columns, [tuple(normalise(v) for v in row) for row in rows]


def test_the_cookbook_has_at_least_twelve_recipes_each_explained():
    assert len(RECIPES) >= 12
    for recipe in RECIPES:
        assert recipe.title.endswith("?") and recipe.description, recipe.title


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.slug for r in RECIPES])
def test_every_recipe_returns_rows_on_the_demo_database(demo_db_url, recipe):
    columns, rows = answer(demo_db_url, recipe.sql)
    assert columns and rows, f"{recipe.title} returned no rows"


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.slug for r in RECIPES])
def test_every_recipe_gives_the_same_answer_on_sqlite_and_postgresql(demo_databases, recipe):
    """Identical in meaning: the same query text, the same columns and rows in the same order on both."""
    on_sqlite = answer(demo_databases("sqlite"), recipe.sql)
    on_postgres = answer(demo_databases("postgresql"), recipe.sql)
    assert on_sqlite == on_postgres


def test_every_column_of_every_table_and_view_is_documented(db_url):
    described = column_descriptions()
    engine = make_engine(db_url)
    try:
        inspector = inspect(engine)
        views = set(inspector.get_view_names())
        relations = (set(inspector.get_table_names()) - NOT_OURS) | views
        columns = {name: [c["name"] for c in inspector.get_columns(name)] for name in relations}
    finally:
        engine.dispose()
    assert {"posting_facts", "weekly_framework_share", "weekly_role_split", "source_health"} <= views
    undocumented = {name: [c for c in cols if c not in described.get(name, {})] for name, cols in columns.items()}
    assert {name: cols for name, cols in undocumented.items() if cols} == {}
    assert set(described) - relations == set(), "docs/schema.md describes a table or view that does not exist"


def test_a_column_meaning_may_hold_an_escaped_pipe():
    assert "',' || frameworks || ','" in column_descriptions()["posting_facts"]["frameworks"]


def test_the_readme_shows_three_cookbook_recipes():
    examples = readme_questions()
    assert len(examples) == 3
    assert {query.strip() for query, _output in examples} <= {r.sql for r in RECIPES}


@pytest.mark.parametrize("index", range(3))
def test_the_readme_shows_the_real_output_on_the_demo_database(demo_databases, index):
    query, output = readme_questions()[index]
    result = CliRunner().invoke(main, ["sql", query], env={"JOBTREND_DATABASE_URL": demo_databases("sqlite")})
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip("\n") == output.rstrip("\n")
