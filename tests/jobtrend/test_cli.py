"""The CLI: every command documents itself, `init` builds the database, `sql` answers and never writes."""

import importlib
import json
import pkgutil

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

import jobtrend.cli
from jobtrend.cli import main
from jobtrend.db import make_engine, session_factory
from jobtrend.models import Posting, Source
from jobtrend.weeks import utcnow
from tests.jobtrend.test_config import invoke_cli, write_config

COMMANDS = sorted(jobtrend.cli.COMMANDS)
# The test PostgreSQL login is a superuser, which `jobtrend sql` refuses without this flag; here the read-only
# connection itself is what is tested (tests/security/test_sql_guards.py tests the logins).
SUPERUSER_OK = "--allow-superuser"


@pytest.fixture
def run(tmp_path, monkeypatch, role_model_path):
    """Invoke the CLI with a temporary config folder (using the session's role model) and the given database URL."""
    config_dir = write_config(tmp_path / "config")
    with (config_dir / "jobtrend.toml").open("a") as fh:
        fh.write(f"\n[classifier]\nmodel = {json.dumps(str(role_model_path))}\n")

    def invoke(args, database_url=None):
        return invoke_cli(config_dir, args, database_url)

    return invoke


def _add_postings(url, n=3):
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        source = Source(kind="ashby", key="acme", company="Acme")
        session.add(source)
        session.flush()
        for i in range(n):
            now = utcnow()
            session.add(Posting(source_id=source.id, external_id=f"job-{i}", title=f"ML Engineer {i}", url="u",
                                description_text="PyTorch", posted_at=now, posted_week=now.date(),
                                content_hash=f"h{i}"))
    engine.dispose()


def _count(url):
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(Posting)).scalar()
    engine.dispose()
    return n


def _reachable(command: click.Command) -> set[click.Command]:
    """The command and every subcommand under it."""
    found = {command}
    for sub in getattr(command, "commands", {}).values():
        found |= _reachable(sub)
    return found


def test_every_command_module_is_reachable_from_the_group():
    """The group loads commands by name (jobtrend.cli.COMMANDS): each name gives the command of that name, and
    no command defined in a module of jobtrend/cli is left out of the group."""
    ctx = click.Context(main)
    loaded = {name: main.get_command(ctx, name) for name in COMMANDS}
    assert all(isinstance(cmd, click.Command) and cmd.name == name for name, cmd in loaded.items())
    reachable = set().union(*(_reachable(cmd) for cmd in loaded.values()))
    defined = {value for info in pkgutil.iter_modules(jobtrend.cli.__path__)
               for value in vars(importlib.import_module(f"jobtrend.cli.{info.name}")).values()
               if isinstance(value, click.Command) and value is not main}
    assert len(defined) > len(COMMANDS) and defined <= reachable
    assert main.get_command(ctx, "no-such-command") is None


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(run, command):
    result = run([command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and f"jobtrend {command}" in result.output


def test_init_creates_schema_and_syncs_config(run, empty_db_url):
    result = run(["init"], empty_db_url)
    assert result.exit_code == 0, result.output
    assert "sources: 1  frameworks: 1" in result.output
    assert "sources: 1" in run(["init"], empty_db_url).output  # idempotent


def test_sql_answers_in_every_format(run, db_url):
    _add_postings(db_url, 3)
    table = run(["sql", SUPERUSER_OK, "select count(*) as n from postings"], db_url)
    assert table.exit_code == 0 and table.stdout.splitlines()[-1].strip() == "3"
    as_json = run(["sql", SUPERUSER_OK, "select external_id from postings order by external_id", "--format", "json"],
                  db_url)
    assert json.loads(as_json.stdout) == [{"external_id": f"job-{i}"} for i in range(3)]
    as_csv = run(["sql", SUPERUSER_OK, "select external_id from postings where external_id = :e", "-p", "e=job-1",
                  "--format", "csv"], db_url)
    assert as_csv.stdout.splitlines() == ["external_id", "job-1"]


def test_sql_row_limit_is_announced(run, db_url):
    _add_postings(db_url, 3)
    result = run(["sql", SUPERUSER_OK, "select id from postings", "--limit", "2"], db_url)
    assert result.exit_code == 0
    assert "first 2 rows shown" in result.stderr


@pytest.mark.parametrize(
    "statement",
    [
        "delete from postings",
        "update postings set title = 'x'",
        "insert into sources (kind, key, enabled, created_at) values ('ashby', 'evil', true, current_timestamp)",
        "drop table postings",
        "create table evil (x integer)",
        "begin; delete from postings; commit",
        "set transaction read write; delete from postings; commit",
        "select 1; delete from postings",
    ],
)
def test_sql_refuses_every_write_and_changes_nothing(run, db_url, statement):
    _add_postings(db_url, 3)
    result = run(["sql", SUPERUSER_OK, statement], db_url)
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert _count(db_url) == 3
    engine = make_engine(db_url)
    with engine.connect() as conn:
        tables = {r[0] for r in conn.execute(text(
            "select table_name from information_schema.tables where table_schema = 'public'"
            if db_url.startswith("postgresql") else "select name from sqlite_master where type = 'table'"))}
    engine.dispose()
    assert "evil" not in tables and "postings" in tables


def test_sql_write_error_says_read_only(run, db_url):
    result = run(["sql", SUPERUSER_OK, "delete from postings"], db_url)
    assert "read-only" in result.output


def test_sql_reports_the_database_error(run, db_url):
    result = run(["sql", SUPERUSER_OK, "select * from no_such_table"], db_url)
    assert result.exit_code == 1 and "no_such_table" in result.output


def test_config_error_is_a_clear_message(tmp_path):
    directory = write_config(tmp_path / "c", main='[database]\nurl = 5\n')
    result = CliRunner().invoke(main, ["--config-dir", str(directory), "sql", "select 1"])
    assert result.exit_code == 1
    assert "jobtrend.toml: database.url: expected a string" in result.output


@pytest.mark.parametrize("statement", ["with d as (delete from postings returning 1) select count(*) from d",
                                       "explain analyze delete from postings"])
def test_sql_refuses_writes_hidden_in_queries(run, db_url, statement):
    _add_postings(db_url, 3)
    result = run(["sql", SUPERUSER_OK, statement], db_url)
    assert result.exit_code == 1, result.output
    assert _count(db_url) == 3


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_sql_cannot_write_a_server_file_with_copy(run, db_url, tmp_path):
    """COPY ... TO writes a file on the server even in a read-only transaction (for a superuser)."""
    target = tmp_path / "copied.csv"
    result = run(["sql", f"copy postings to '{target}'"], db_url)
    assert result.exit_code == 1 and "read-only" in result.output
    assert not target.exists()


@pytest.mark.parametrize("args", [["crawl", "--source", "ashby"], ["analyze"], ["trends"], ["sources"], ["dedupe"]])
def test_commands_before_init_say_what_to_do(run, empty_db_url, args):
    result = run(args, empty_db_url)
    assert result.exit_code == 1
    assert "run `jobtrend init` first" in result.output
    assert "Traceback" not in result.output


def _classified_week(url):
    """One W42 with two ML Engineer postings (one naming PyTorch), an AI SWE one naming PyTorch, a not-AI one."""
    from analysis.mentions import analyze
    from tests.analysis.factories import SMALL_TAXONOMY, add_posting, add_source, classify_posting

    engine = make_engine(url)
    source = add_source(engine)
    for body, role in [("PyTorch", "ml_engineer"), ("Kernels", "ml_engineer"), ("PyTorch", "ai_swe"),
                       ("PyTorch", None)]:
        classify_posting(engine, add_posting(engine, source, text=body), role)
    analyze(engine, SMALL_TAXONOMY)
    engine.dispose()


def test_trends_prints_the_chosen_cohort(run, db_url):
    _classified_week(db_url)
    lines = run(["trends", "--cohort", "ml_engineer", "--min-postings", "1"], db_url).output.splitlines()
    # 3 frameworks x 5 cohorts (market, all, ai_swe, ml_engineer, market:ashby) x 2 grains (week, month)
    assert lines[:3] == ["recomputed 1 weeks (30 trend points)", "", "cohort: ml_engineer"]
    assert [line.split() for line in lines[3:]] == [["framework", "2025-W42"], ["n", "2"], ["PyTorch", "50.0%"]]
    lines = run(["trends", "--min-postings", "1"], db_url).output.splitlines()  # nothing left to recompute
    assert lines[:3] == ["recomputed 0 weeks (0 trend points)", "", "cohort: all"]
    assert [line.split() for line in lines[3:]] == [["framework", "2025-W42"], ["n", "3"], ["PyTorch", "66.7%"]]


def test_trends_refuses_an_unknown_cohort(run, db_url):
    result = run(["trends", "--cohort", "sales"], db_url)
    assert result.exit_code == 2 and "--cohort" in result.output
