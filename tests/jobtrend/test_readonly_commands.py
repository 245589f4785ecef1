"""`trends`, `outbox` and `classifier drift` on a database they cannot write, as an analyst meets one: a SQLite
snapshot in a read-only folder, and a PostgreSQL login granted SELECT only.

Each command exits 0 and prints what it prints on a writable copy of the same database; `trends` recomputes
nothing there: it prints the stored shares when they are current and counts them from the postings when postings
were analysed since (its first line says which). The SQLite file keeps its bytes and its modification time, and
no -wal, -shm or lock file appears; on PostgreSQL no trend point changes. As root the commands run without the
capabilities that bypass folder permissions (``setpriv``, as tests/jobtrend/test_readonly_db.py does).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.engine import make_url

from analysis.mentions import analyze
from jobtrend.app.trends import READ_ONLY_CURRENT, READ_ONLY_FULL, READ_ONLY_STALE
from jobtrend.db import make_engine
from jobtrend.models import Outbox, TrendPoint
from jobtrend.weeks import utcnow
from tests.analysis.factories import SMALL_TAXONOMY, add_posting, classify_posting, edit_posting
from tests.analysis.test_series import build_history
from tests.jobtrend.test_config import invoke_cli, write_config
from tests.jobtrend.test_readonly_db import jobtrend
from tests.security.sql_logins import pg_login

JUNE = dt.date(2018, 6, 4)  # a week (and month) of the history with postings
MARKET_BY_MONTH = ["trends", "--cohort", "market", "--grain", "month", "--min-postings", "1"]
PYTORCH_BY_MONTH = ["trends", "--framework", "pytorch", "--cohort", "market", "--grain", "month"]


def seed(engine: Engine) -> None:
    """The trend history of tests/analysis/test_series.py (analysed, classified, trend points computed) and two
    outbox rows, one a webhook whose URL holds a token."""
    build_history(engine)
    with engine.begin() as conn:
        conn.execute(insert(Outbox), [
            {"channel": "email", "recipient": "analyst@example.com", "subject": "jobtrend weekly report 2018-W23",
             "body": "report", "dedupe_key": "report:2018-W23:analyst@example.com", "status": "sent",
             "attempts": 1, "sent_at": utcnow()},
            {"channel": "webhook", "recipient": "https://hooks.example.com/services/T0/SECRET", "subject": "alert",
             "body": "{}", "dedupe_key": "alert:1:hook", "status": "pending", "attempts": 0, "sent_at": None},
        ])


def analyse_one_more(engine: Engine) -> None:
    """A PyTorch posting of June analysed after the trend points were computed: they are no longer current."""
    with engine.connect() as conn:
        source_id = conn.scalar(text("select id from sources where kind = 'ashby'"))
    posting = add_posting(engine, source_id, text="PyTorch inference", week=JUNE)
    edit_posting(engine, posting, posted_month=JUNE.replace(day=1))
    classify_posting(engine, posting, "ml_engineer")
    analyze(engine, SMALL_TAXONOMY)


def checkpoint(url: str) -> None:
    """Fold the -wal file into the database, as the last connection to close does."""
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


@pytest.fixture
def config_dir(tmp_path) -> Path:
    return write_config(tmp_path / "config")


@pytest.fixture
def make_snapshot(tmp_path, sqlite_template):
    """``make_snapshot(stale)``: the seeded SQLite database (with a posting analysed after the trend points when
    ``stale``) in a folder made read-only, and a writable copy of it (the twin); returns (snapshot, twin)."""
    folders = []

    def make(stale: bool) -> tuple[Path, Path]:
        folder, twin = tmp_path / "snapshot", tmp_path / "twin" / "jobtrend.db"
        folder.mkdir()
        twin.parent.mkdir()
        path = folder / "jobtrend.db"
        path.write_bytes(sqlite_template.read_bytes())
        engine = make_engine(f"sqlite:///{path}")
        seed(engine)
        if stale:
            analyse_one_more(engine)
        engine.dispose()
        checkpoint(f"sqlite:///{path}")
        shutil.copyfile(path, twin)
        folder.chmod(0o555)
        folders.append(folder)
        return path, twin

    yield make
    for folder in folders:
        folder.chmod(0o755)


def run_on_both(config_dir: Path, snapshot: Path, twin: Path, *args: str) -> tuple[str, str]:
    """The output of a command on the read-only snapshot and on its writable twin; the snapshot's file keeps its
    bytes and modification time, and its folder holds nothing new."""
    before = (snapshot.read_bytes(), snapshot.stat().st_mtime_ns)
    read_only = jobtrend(config_dir, f"sqlite:///{snapshot}", *args)
    writable = jobtrend(config_dir, f"sqlite:///{twin}", *args)
    for done in (read_only, writable):
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    assert (snapshot.read_bytes(), snapshot.stat().st_mtime_ns) == before
    assert sorted(p.name for p in snapshot.parent.iterdir()) == ["jobtrend.db"]
    return read_only.stdout, writable.stdout


def first_line_and_rest(output: str) -> tuple[str, str]:
    first, rest = output.split("\n", 1)
    return first, rest


def market_row(output: str, label: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.startswith(label))


# --- SQLite: a snapshot in a read-only folder --------------------------------------------------------------------

def test_trends_prints_the_stored_shares_when_they_are_current(config_dir, make_snapshot):
    snapshot, twin = make_snapshot(stale=False)
    read_only, writable = run_on_both(config_dir, snapshot, twin, *MARKET_BY_MONTH)
    assert first_line_and_rest(read_only)[0] == READ_ONLY_CURRENT
    assert first_line_and_rest(writable)[0] == "recomputed 0 weeks (0 trend points)"
    assert first_line_and_rest(read_only)[1] == first_line_and_rest(writable)[1]
    assert market_row(read_only, "n") == ["n", "4", "3", "2"]  # March, April, June 2018
    assert market_row(read_only, "PyTorch") == ["PyTorch", "50.0%", "66.7%", "100.0%"]


def test_trends_counts_from_the_postings_when_the_stored_shares_are_behind(config_dir, make_snapshot):
    snapshot, twin = make_snapshot(stale=True)
    read_only, writable = run_on_both(config_dir, snapshot, twin, *MARKET_BY_MONTH)
    assert first_line_and_rest(read_only)[0] == READ_ONLY_STALE
    assert first_line_and_rest(writable)[0].startswith("recomputed 1 weeks")  # the twin stores June anew
    assert first_line_and_rest(read_only)[1] == first_line_and_rest(writable)[1]
    assert market_row(read_only, "n") == ["n", "4", "3", "3"]  # June has the new posting
    assert market_row(read_only, "PyTorch") == ["PyTorch", "50.0%", "66.7%", "100.0%"]
    assert market_row(read_only, "LangChain") == ["LangChain", "25.0%", "0.0%", "33.3%"]  # 1 of 3 now, not 1 of 2


def test_one_framework_over_time_and_full_are_counted_on_a_read_only_folder(config_dir, make_snapshot):
    snapshot, twin = make_snapshot(stale=True)
    read_only, writable = run_on_both(config_dir, snapshot, twin, *PYTORCH_BY_MONTH)
    assert first_line_and_rest(read_only)[0] == READ_ONLY_STALE
    assert first_line_and_rest(read_only)[1] == first_line_and_rest(writable)[1]
    assert [line.split()[:4] for line in read_only.splitlines() if line.startswith("2018-06")] == [
        ["2018-06", "3*", "3", "100.0%"]]
    full, _ = run_on_both(config_dir, snapshot, twin, *MARKET_BY_MONTH, "--full")
    assert first_line_and_rest(full)[0] == READ_ONLY_FULL
    assert market_row(full, "n") == ["n", "4", "3", "3"]


def test_outbox_and_deliver_dry_run_read_a_read_only_folder(config_dir, make_snapshot):
    snapshot, twin = make_snapshot(stale=False)
    read_only, writable = run_on_both(config_dir, snapshot, twin, "outbox", "--format", "json")
    assert read_only == writable
    rows = json.loads(read_only)
    assert [(r["channel"], r["recipient"], r["status"]) for r in rows] == [
        ("webhook", "https://hooks.example.com/...", "pending"), ("email", "analyst@example.com", "sent")]
    due, _ = run_on_both(config_dir, snapshot, twin, "deliver", "--dry-run")
    assert "hooks.example.com" in due and "analyst@example.com" not in due  # only the pending row is due


def test_classifier_drift_reads_a_read_only_folder(config_dir, make_snapshot):
    snapshot, twin = make_snapshot(stale=False)
    read_only, writable = run_on_both(config_dir, snapshot, twin, "classifier", "drift", "--format", "json")
    assert read_only == writable
    rows = json.loads(read_only)
    assert {r["week"] for r in rows} == {"2018-W10", "2018-W11", "2018-W14", "2018-W18", "2018-W23"}
    assert all(r["not_judged"] for r in rows)  # a handful of postings a week: nothing to judge against
    table = jobtrend(config_dir, f"sqlite:///{snapshot}", "classifier", "drift")
    assert table.returncode == 0, table.stderr
    assert "model test" in table.stdout.splitlines()


# --- PostgreSQL: a login granted SELECT only ---------------------------------------------------------------------

def trend_points_state(db_url: str) -> tuple:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        state = conn.execute(select(func.count(), func.max(TrendPoint.computed_at), func.sum(TrendPoint.n_postings))
                             ).one()
    engine.dispose()
    return tuple(state)


@pytest.fixture
def reader_url(db_url):
    """The least-privilege login of docs/querying.md (SELECT only, read-only transactions by default)."""
    with pg_login(db_url) as url:
        yield url


@pytest.fixture
def select_only_url(db_url):
    """A login granted SELECT only, whose transactions are not read-only by default: only its privileges say it
    cannot write."""
    with pg_login(db_url) as url:
        admin = make_engine(db_url)
        with admin.begin() as conn:
            conn.execute(text(f'ALTER ROLE "{make_url(url).username}" RESET default_transaction_read_only'))
        admin.dispose()
        login = make_engine(url)
        with login.connect() as conn:
            assert conn.scalar(text("show transaction_read_only")) == "off"
        login.dispose()
        yield url


@pytest.mark.parametrize("db_kind", ["postgresql"])
@pytest.mark.parametrize("login", ["reader_url", "select_only_url"])
def test_a_select_only_login_reads_trends_outbox_and_drift(tmp_path, db_url, engine, login, request):
    url = request.getfixturevalue(login)
    seed(engine)
    analyse_one_more(engine)
    config_dir = write_config(tmp_path / "config")
    before = trend_points_state(db_url)
    results = {name: invoke_cli(config_dir, args, url) for name, args in [
        ("trends", MARKET_BY_MONTH), ("framework", PYTORCH_BY_MONTH), ("outbox", ["outbox", "--format", "json"]),
        ("drift", ["classifier", "drift", "--format", "json"])]}
    for name, result in results.items():
        assert result.exit_code == 0, (name, result.output)
    assert trend_points_state(db_url) == before  # nothing written
    assert first_line_and_rest(results["trends"].output)[0] == READ_ONLY_STALE
    assert market_row(results["trends"].output, "n") == ["n", "4", "3", "3"]
    assert first_line_and_rest(results["framework"].output)[0] == READ_ONLY_STALE
    assert len(json.loads(results["outbox"].output)) == 2
    assert json.loads(results["drift"].output)
    owner = invoke_cli(config_dir, MARKET_BY_MONTH, db_url)  # the owner recomputes and prints the same table
    assert owner.exit_code == 0, owner.output
    assert first_line_and_rest(owner.output)[1] == first_line_and_rest(results["trends"].output)[1]
    assert trend_points_state(db_url) != before
