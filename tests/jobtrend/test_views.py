"""The analyst views (migrations 0004 and 0007) on small seeded data, on SQLite and PostgreSQL: posting_facts,
weekly_framework_share, monthly_framework_share, weekly_role_split and source_health; and what a later migration
that rebuilds a table the views read must do (drop and recreate them)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select, text

from analysis.trends import compute_trends
from jobtrend.db import ALEMBIC_DIR, alembic_config, make_engine, migrate
from jobtrend.models import Classification, CrawlRun, Framework, Mention, Posting, Source, TrendPoint
from jobtrend.weeks import iso_week_label, monday_of

VIEWS = {"posting_facts", "weekly_framework_share", "monthly_framework_share", "weekly_role_split", "source_health",
         "posting_pay", "monthly_pay"}


def _at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)


def _rows(engine, sql: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql))]


def _iso(value) -> str:
    """A date column as text: SQLite returns 'YYYY-MM-DD' strings, PostgreSQL dates."""
    return value.isoformat() if isinstance(value, dt.date) else value


class Seed:
    """Ids of the seeded rows."""


def seed(engine) -> Seed:
    """Two sources, frameworks inserted in reverse slug order, and postings covering every case of
    posting_facts: classified AI roles, not AI, unclassified, without description, a duplicate, a closed one."""
    s = Seed()
    with engine.begin() as conn:
        def add(table, **row):
            return conn.execute(insert(table).returning(*table.__table__.primary_key.columns), row).scalar_one()

        s.acme = add(Source, kind="ashby", key="acme", company="Acme", enabled=True)
        s.idle = add(Source, kind="lever", key="idle", company="Idle", enabled=False)
        s.zeta = add(Framework, slug="zeta", name="Zeta", category="vector-store")
        s.mid = add(Framework, slug="mid-x", name="Mid", category="llm-framework")
        s.alpha = add(Framework, slug="alpha", name="Alpha", category="vector-store")

        def posting(external_id, posted, text="body", **extra):
            posted_at = _at(posted)
            row = {"source_id": s.acme, "external_id": external_id, "title": f"Job {external_id}",
                   "description_text": text, "posted_at": posted_at, "posted_week": monday_of(posted_at),
                   "first_seen_at": _at("2026-01-10"), "last_seen_at": _at("2026-01-20", 23),
                   "content_hash": external_id, "analyzed_at": _at("2026-01-20")} | extra
            return add(Posting, **row)

        # AI SWE, remote, Tuesday 2024-12-31: week 2024-12-30 = ISO 2025-W01, month 2024-12
        s.swe = posting("swe", "2024-12-31", remote=True, company="Acme")
        s.dup = posting("dup", "2024-12-31", duplicate_of_id=s.swe)  # a copy of it: not in the views
        s.bare = posting("bare", "2024-12-31", text="  ")  # no description: never classified
        s.closed = posting("closed", "2024-12-30", remote=False, closed_at=_at("2025-01-09", 1))  # not AI
        s.waiting = posting("waiting", "2025-01-01")  # has a description, not classified yet
        s.mle = posting("mle", "2021-01-06")  # ML Engineer in ISO week 2021-W01 (Monday 2021-01-04)
        for pid, role, ai in ((s.swe, "ai_swe", True), (s.dup, "ai_swe", True), (s.closed, None, False),
                              (s.mle, "ml_engineer", True)):
            add(Classification, posting_id=pid, model_version="m", content_hash="h", is_ai_role=ai,
                relevance_probability=0.9 if ai else 0.1, role=role, probability=0.75 if ai else None,
                classified_at=_at("2026-01-20"))
        for pid, fid in ((s.swe, s.zeta), (s.swe, s.alpha), (s.swe, s.mid), (s.dup, s.zeta), (s.mle, s.zeta)):
            add(Mention, posting_id=pid, framework_id=fid, count=1, taxonomy_version="t")
        # the newer run has the smaller id: "latest" is by started_at
        add(CrawlRun, source_id=s.acme, started_at=_at("2026-01-20"), finished_at=_at("2026-01-20", 13),
            status="failed", seen=0, new=0, updated=0, dropped=0, errors=1, closed=0, error="http_404")
        add(CrawlRun, source_id=s.acme, started_at=_at("2026-01-10"), finished_at=_at("2026-01-10", 13),
            status="ok", seen=6, new=6, updated=0, dropped=0, errors=0, closed=0)
    return s


def test_migrations_create_the_five_views_and_they_are_not_tables(engine):
    inspector = inspect(engine)
    assert set(inspector.get_view_names()) == VIEWS
    assert not VIEWS & set(inspector.get_table_names())


def test_posting_facts_one_row_per_canonical_posting(engine):
    s = seed(engine)
    facts = {r["posting_id"]: r for r in _rows(engine, "select * from posting_facts")}
    assert set(facts) == {s.swe, s.bare, s.closed, s.waiting, s.mle}  # the duplicate is left out

    swe = facts[s.swe]
    assert (swe["source_kind"], swe["source_key"], swe["company"], swe["title"]) == ("ashby", "acme", "Acme", "Job swe")
    assert (swe["role"], swe["is_ai_role"], swe["role_probability"], swe["relevance_probability"]) == (
        "ai_swe", 1, 0.75, 0.9)
    assert swe["frameworks"] == "alpha,mid-x,zeta"  # sorted by slug, not by insertion or id
    assert swe["framework_count"] == 3
    assert (_iso(swe["posted_week"]), swe["iso_week"], swe["posted_month"]) == ("2024-12-30", "2025-W01", "2024-12")
    assert (swe["remote"], swe["is_open"], swe["has_description"]) == (1, 1, 1)
    assert swe["age_days"] == (dt.date(2026, 1, 20) - dt.date(2024, 12, 31)).days  # to the last crawl listing it
    assert swe["weeks_ago"] == 0  # the latest canonical week is 2024-12-30 (2025-01-01 is in it)

    bare = facts[s.bare]
    assert (bare["role"], bare["is_ai_role"], bare["has_description"]) == (None, None, 0)
    assert (bare["frameworks"], bare["framework_count"], bare["remote"]) == ("", 0, None)

    closed = facts[s.closed]
    assert (closed["role"], closed["is_ai_role"], closed["role_probability"]) == ("not_ai", 0, None)
    assert (closed["is_open"], closed["remote"], closed["age_days"]) == (0, 0, 10)  # 2024-12-30 to 2025-01-09

    assert (facts[s.waiting]["role"], facts[s.waiting]["has_description"]) == (None, 1)
    mle = facts[s.mle]
    assert (mle["role"], mle["iso_week"], mle["frameworks"], mle["weeks_ago"]) == (
        "ml_engineer", "2021-W01", "zeta", (dt.date(2024, 12, 30) - dt.date(2021, 1, 4)).days // 7)


def test_weekly_framework_share_is_trend_points_with_names(engine):
    s = seed(engine)
    compute_trends(engine, full=True)
    view = {(_iso(r["week"]), r["cohort"], r["framework"]): r
            for r in _rows(engine, "select * from weekly_framework_share")}
    with engine.connect() as conn:
        points = conn.execute(select(TrendPoint.__table__, Framework.slug, Framework.name, Framework.category)
                              .join(Framework, Framework.id == TrendPoint.framework_id)
                              .where(TrendPoint.grain == "week")).all()
    assert len(points) == len(view) > 0
    for point in points:
        row = view[(point.period_start.isoformat(), point.cohort, point.slug)]
        assert (row["framework_name"], row["category"], row["n"], row["k"]) == (
            point.name, point.category, point.n_postings, point.n_mentioning)
        assert (row["share"], row["ci_low"], row["ci_high"]) == (
            pytest.approx(point.share), pytest.approx(point.ci_low), pytest.approx(point.ci_high))
        assert row["iso_week"] == iso_week_label(point.period_start)
    zeta = view[("2024-12-30", "all", "zeta")]  # the AI SWE posting; its duplicate and the not-AI one do not count
    assert (zeta["n"], zeta["k"], zeta["weeks_ago"], zeta["month"]) == (1, 1, 0, "2024-12")
    assert s.zeta


def test_monthly_framework_share_is_the_monthly_trend_points_with_names(engine):
    seed(engine)
    compute_trends(engine, full=True)
    view = {(r["month"], r["cohort"], r["framework"]): r
            for r in _rows(engine, "select * from monthly_framework_share")}
    with engine.connect() as conn:
        months = conn.scalar(select(sa.func.count()).select_from(TrendPoint).where(TrendPoint.grain == "month"))
    assert len(view) == months > 0
    # December 2024: swe (AI SWE: zeta, alpha, mid-x), closed (not AI) and waiting (unclassified, no mentions);
    # the duplicate and the posting without text are not measured
    assert (view[("2024-12", "all", "zeta")]["n"], view[("2024-12", "all", "zeta")]["k"]) == (1, 1)
    market = view[("2024-12", "market", "zeta")]
    assert (market["n"], market["k"], _iso(market["month_start"])) == (2, 1, "2024-12-01")
    assert (view[("2025-01", "market", "zeta")]["n"], view[("2025-01", "market", "zeta")]["k"]) == (1, 0)
    assert view[("2024-12", "market:ashby", "zeta")]["n"] == 2  # the only source kind with postings
    assert market["share"] == pytest.approx(0.5)


def test_hacker_news_postings_are_open_only_while_their_thread_is_current(engine):
    """A crawl never closes a Hacker News posting (it reads some threads only); a backfill sees old comments
    again. They count as open while their thread is the newest or the one before, and age to the end of the month
    after their thread."""
    seed(engine)
    with engine.begin() as conn:
        hn = conn.execute(insert(Source).returning(Source.id),
                          {"kind": "hackernews", "key": "whoishiring", "company": "Hacker News"}).scalar_one()
        for external_id, posted, month in (("old", "2011-04-01", dt.date(2011, 4, 1)),
                                           ("april", "2026-04-01", dt.date(2026, 4, 1)),
                                           ("may", "2026-05-04", dt.date(2026, 5, 1))):
            posted_at = _at(posted)
            conn.execute(insert(Posting), {
                "source_id": hn, "external_id": external_id, "title": external_id, "description_text": "body",
                "posted_at": posted_at, "posted_week": monday_of(posted_at), "posted_month": month,
                "first_seen_at": _at("2026-05-20"), "last_seen_at": _at("2026-05-20"), "content_hash": external_id})
    facts = {r["title"]: r for r in _rows(engine, "select title, is_open, age_days, source_kind from posting_facts")}
    assert {t: facts[t]["is_open"] for t in ("old", "april", "may")} == {"old": 0, "april": 1, "may": 1}
    assert facts["old"]["age_days"] == (dt.date(2011, 5, 31) - dt.date(2011, 4, 1)).days  # not 5,500 days
    assert facts["may"]["age_days"] == (dt.date(2026, 5, 20) - dt.date(2026, 5, 4)).days
    assert facts["Job swe"]["is_open"] == 1  # other sources as before


def test_posting_facts_month_is_the_stored_month_not_the_posting_time(engine):
    s = seed(engine)
    with engine.begin() as conn:  # a late answer to a Hacker News thread: posted in January, the thread's month
        conn.execute(sa.update(Posting).where(Posting.id == s.waiting).values(posted_month=dt.date(2024, 12, 1)))
    facts = {r["posting_id"]: r for r in _rows(engine, "select posting_id, posted_month from posting_facts")}
    assert (facts[s.waiting]["posted_month"], facts[s.swe]["posted_month"]) == ("2024-12", "2024-12")


def test_iso_week_month_and_weeks_ago_agree_with_python_over_years(engine):
    """ISO years differ from calendar years around New Year (2020-W53, 2025-W01 starting 2024-12-30); SQLite
    computes the label without %G/%V, PostgreSQL with IYYY/IW: both must say what Python says."""
    with engine.begin() as conn:
        framework = conn.execute(insert(Framework).returning(Framework.id),
                                 {"slug": "x", "name": "X", "category": "c"}).scalar_one()
        weeks = [dt.date(2014, 12, 29) + dt.timedelta(weeks=i) for i in range(900)]  # to 2032
        conn.execute(insert(TrendPoint), [
            {"period_start": w, "cohort": "all", "framework_id": framework, "n_postings": 1, "n_mentioning": 0,
             "share": 0.0, "ci_low": 0.0, "ci_high": 0.5} for w in weeks])
    rows = _rows(engine, "select week, iso_week, month, weeks_ago from weekly_framework_share")
    got = {_iso(r["week"]): (r["iso_week"], r["month"], r["weeks_ago"]) for r in rows}
    expected = {w.isoformat(): (iso_week_label(w), w.isoformat()[:7], (weeks[-1] - w).days // 7) for w in weeks}
    assert got == expected
    assert got["2020-12-28"][0] == "2020-W53" and got["2024-12-30"][0] == "2025-W01"


def test_weekly_role_split_counts_canonical_postings_with_description(engine):
    seed(engine)
    split = {_iso(r["week"]): r for r in _rows(engine, "select * from weekly_role_split")}
    assert set(split) == {"2024-12-30", "2021-01-04"}
    week = split["2024-12-30"]  # swe (AI SWE), closed (not AI), waiting (unclassified); no duplicate, no bare
    assert {k: week[k] for k in ("iso_week", "month", "weeks_ago", "postings", "ai_swe", "ml_engineer", "not_ai",
                                 "unclassified")} == {
        "iso_week": "2025-W01", "month": "2024-12", "weeks_ago": 0, "postings": 3, "ai_swe": 1, "ml_engineer": 0,
        "not_ai": 1, "unclassified": 1}
    assert week["ai_swe_share_of_ai"] == pytest.approx(1.0)
    old = split["2021-01-04"]
    assert (old["postings"], old["ml_engineer"], old["ai_swe_share_of_ai"], old["iso_week"]) == (1, 1, 0.0, "2021-W01")


def test_source_health_counts_postings_and_shows_the_latest_run(engine):
    s = seed(engine)
    health = {r["source_id"]: r for r in _rows(engine, "select * from source_health")}
    acme = health[s.acme]
    assert (acme["kind"], acme["key"], acme["company"], acme["enabled"], acme["health"]) == (
        "ashby", "acme", "Acme", 1, "new")
    assert (acme["postings"], acme["open_postings"]) == (6, 5)  # the duplicate is the source's too; one closed
    assert (acme["last_run_status"], acme["last_run_seen"], acme["last_run_new"], acme["last_run_error"]) == (
        "failed", 0, 0, "http_404")  # the latest by started_at, though it has the smaller id
    idle = health[s.idle]
    assert (idle["enabled"], idle["postings"], idle["open_postings"], idle["last_run_status"]) == (0, 0, 0, None)


# A later migration that rebuilds `postings` (SQLite batch mode copies, drops and renames the table; PostgreSQL
# refuses to retype a column a view uses). The migration is written into a copy of the migrations directory.
REBUILD_POSTINGS = '''"""Test migration: retype postings.company, which posting_facts reads."""
import sqlalchemy as sa
from alembic import context, op

revision = "9999"
down_revision = {head!r}
branch_labels = None
depends_on = None
KEEP_VIEWS = {keep_views!r}


def _retype(type_, existing_type):
    views = context.script.get_revision("0007").module  # the revision that last changed the views
    pay_views = context.script.get_revision("0010").module  # the pay views read postings too
    if KEEP_VIEWS:
        pay_views.drop_views()
        views.drop_views()
    with op.batch_alter_table("postings") as batch:
        batch.alter_column("company", existing_type=existing_type, type_=type_)
    if KEEP_VIEWS:
        views.create_views()
        pay_views.create_views()


def upgrade():
    _retype(sa.Text(), sa.String(200))


def downgrade():
    _retype(sa.String(200), sa.Text())
'''


def _config_with_rebuild(tmp_path, url: str, *, keep_views: bool) -> tuple[Config, str]:
    root = tmp_path / "alembic"
    shutil.copytree(ALEMBIC_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    head = ScriptDirectory(str(ALEMBIC_DIR)).get_current_head()
    (root / "versions" / "9999_rebuild_postings.py").write_text(
        REBUILD_POSTINGS.format(head=head, keep_views=keep_views))
    config = Config()
    config.set_main_option("script_location", str(root))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config, head


def _company_type(url: str) -> str:
    engine = make_engine(url)
    try:
        return next(str(c["type"]) for c in inspect(engine).get_columns("postings") if c["name"] == "company")
    finally:
        engine.dispose()


def test_rebuilding_a_table_under_the_views_fails(db_url, tmp_path):
    config, _head = _config_with_rebuild(tmp_path, db_url, keep_views=False)
    with pytest.raises(sa.exc.DBAPIError, match="view"):
        command.upgrade(config, "head")


POSTINGS = "select id, source_id, external_id, title, company, posted_week from postings order by id"


def test_a_migration_that_drops_and_recreates_the_views_can_rebuild_the_table(db_url, tmp_path):
    engine = make_engine(db_url)
    seed(engine)
    before = _rows(engine, POSTINGS)
    engine.dispose()
    config, head = _config_with_rebuild(tmp_path, db_url, keep_views=True)

    command.upgrade(config, "head")
    assert _company_type(db_url).upper() == "TEXT"
    engine = make_engine(db_url)
    assert set(inspect(engine).get_view_names()) == VIEWS
    assert _rows(engine, POSTINGS) == before
    assert _rows(engine, "select count(*) as n from posting_facts")[0]["n"] >= 5  # the views work again
    engine.dispose()

    command.downgrade(config, head)
    assert _company_type(db_url).upper().startswith("VARCHAR")
    engine = make_engine(db_url)
    assert _rows(engine, POSTINGS) == before
    assert _rows(engine, "select count(*) as n from posting_facts")[0]["n"] >= 5
    engine.dispose()


def test_rebuilding_postings_keeps_its_mentions_classifications_and_duplicate_links(db_url, tmp_path):
    engine = make_engine(db_url)
    seed(engine)
    before = _rows(engine, "select * from posting_facts order by posting_id")
    engine.dispose()
    config, _head = _config_with_rebuild(tmp_path, db_url, keep_views=True)
    command.upgrade(config, "head")
    engine = make_engine(db_url)
    after = _rows(engine, "select * from posting_facts order by posting_id")
    engine.dispose()
    assert after == before  # roles, frameworks, and the duplicate still left out


def test_downgrade_below_the_views_drops_them_and_upgrade_brings_them_back(db_url):
    command.downgrade(alembic_config(db_url), "0003")
    engine = make_engine(db_url)
    assert inspect(engine).get_view_names() == []
    engine.dispose()
    migrate(db_url)
    engine = make_engine(db_url)
    assert set(inspect(engine).get_view_names()) == VIEWS
    engine.dispose()


DANGLING_MENTION = '''"""Test migration: a data fix that leaves a mention pointing at a posting that does not exist."""
from alembic import op

revision = "9998"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade():
    op.execute("insert into mentions (posting_id, framework_id, count, taxonomy_version) "
               "select 999999, id, 1, 'test' from frameworks order by id limit 1")


def downgrade():
    pass
'''


def test_a_migration_that_leaves_a_dangling_foreign_key_is_rolled_back(db_url, tmp_path):
    """SQLite migrates with enforcement off (batch rebuilds need it), so env.py checks the keys before committing."""
    engine = make_engine(db_url)
    seed(engine)
    mentions_before = _rows(engine, "select * from mentions order by posting_id, framework_id")
    engine.dispose()
    root = tmp_path / "alembic"
    shutil.copytree(ALEMBIC_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    head = ScriptDirectory(str(ALEMBIC_DIR)).get_current_head()
    (root / "versions" / "9998_dangling_mention.py").write_text(DANGLING_MENTION.format(head=head))
    config = Config()
    config.set_main_option("script_location", str(root))
    config.set_main_option("sqlalchemy.url", db_url.replace("%", "%%"))

    with pytest.raises((RuntimeError, sa.exc.IntegrityError), match="foreign key|dangling"):
        command.upgrade(config, "head")

    engine = make_engine(db_url)
    assert _rows(engine, "select * from mentions order by posting_id, framework_id") == mentions_before
    assert _rows(engine, "select version_num from alembic_version")[0]["version_num"] == head
    engine.dispose()
