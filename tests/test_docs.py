"""The docs stay true: every SQL example runs on both databases, every command and config key is documented."""

import re
from pathlib import Path

import pytest

from jobtrend.cli import COMMANDS
from jobtrend.cli.database import run_read_only
from jobtrend.config import CrawlSettings
from jobtrend.db import make_engine, session_factory
from jobtrend.models import Base, Framework, Mention, Posting, Source
from jobtrend.weeks import utcnow

ROOT = Path(__file__).resolve().parent.parent
SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)
DOCUMENTED = [ROOT / "README.md", ROOT / "docs" / "schema.md"]


def sql_examples():
    for path in DOCUMENTED:
        for i, block in enumerate(SQL_BLOCK.findall(path.read_text())):
            yield pytest.param(block.strip().rstrip(";"), id=f"{path.name}-{i}")


def _seed(url):
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        source = Source(kind="ashby", key="acme", company="Acme")
        framework = Framework(slug="pgvector", name="pgvector", category="vector_store")
        session.add_all([source, framework])
        session.flush()
        now = utcnow()
        posting = Posting(source_id=source.id, external_id="1", title="AI Engineer", url="u", company="Acme",
                          description_text="pgvector", posted_at=now, posted_week=now.date(), content_hash="h")
        session.add(posting)
        session.flush()
        session.add(Mention(posting_id=posting.id, framework_id=framework.id, count=1, taxonomy_version="t"))
    engine.dispose()


@pytest.mark.parametrize("query", list(sql_examples()))
def test_documented_sql_runs(db_url, query):
    _seed(db_url)
    columns, _rows, _cut = run_read_only(db_url, query, {}, 100, allow_superuser=True)
    assert columns


def test_docs_have_sql_examples():
    assert len(list(sql_examples())) >= 5


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_in_the_readme(command):
    assert f"jobtrend {command}" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("key", sorted(CrawlSettings.__dataclass_fields__))
def test_every_crawl_setting_is_documented(key):
    assert f"`crawl.{key}`" in (ROOT / "docs" / "configuration.md").read_text()


def test_every_index_is_documented_in_schema_md():
    section = (ROOT / "docs" / "schema.md").read_text().split("## Indexes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(ix_\w+)` \|", section, re.M))
    indexes = {index.name for table in Base.metadata.tables.values() for index in table.indexes}
    assert documented == indexes
