"""SQLAlchemy 2 models: every table jobtrend owns, on one ``Base`` with a constraint naming convention.

All timestamps are stored in UTC (see :class:`UTCDateTime`); ``posted_week`` is the Monday (UTC) of
``posted_at``; ``posted_month`` the first day of the posting's month (a Hacker News comment's thread month).
The meaning of each column is documented in ``docs/schema.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jobtrend.weeks import month_of, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A posting the weekly trends can measure: canonical, analysed, with description text (the condition of the
# partial index ix_postings_measured; analysis.trends repeats it word for word so that SQLite uses the index).
MEASURED_POSTING = "duplicate_of_id IS NULL AND analyzed_at IS NOT NULL AND trim(description_text) != ''"




class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and returned timezone-aware on every database.

    SQLite has no time zones: a naive value is taken as UTC on the way in and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base for every jobtrend table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Source(Base):
    """A board or site to crawl, synced from config/sources.toml."""

    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(500))
    company: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Health, kept by jobtrend.health after every crawl of the source (see docs/crawling.md).
    health: Mapped[str] = mapped_column(String(20), default="new", server_default="new")
    health_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_crawled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CrawlRun(Base):
    """One crawl of one source: when, how it ended, and what it counted."""

    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")
    seen: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    dropped: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict | None] = mapped_column(JSON)


def _month_of_posted_at(context) -> dt.date | None:
    """``posted_month`` of a row inserted without one: the month of its ``posted_at``."""
    posted = context.get_current_parameters().get("posted_at")
    return month_of(posted) if posted is not None else None


class Posting(Base):
    """One job posting, identified by (source, external id) and updated in place on re-crawl."""

    __tablename__ = "postings"
    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        Index("ix_postings_posted_week", "posted_week"),
        # the postings a trend counts (analysis.trends), and the analysis time that marks touched weeks
        Index("ix_postings_posted_month", "posted_month"),
        Index("ix_postings_measured", "id", "posted_week", "posted_month", "source_id",
              sqlite_where=text(MEASURED_POSTING), postgresql_where=text(MEASURED_POSTING)),
        Index("ix_postings_analyzed_at", "analyzed_at"),
        Index("ix_postings_duplicate_changed_at", "duplicate_changed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(Text)
    remote: Mapped[bool | None] = mapped_column(Boolean)
    employment_type: Mapped[str | None] = mapped_column(String(50))
    department: Mapped[str | None] = mapped_column(String(200))
    description_text: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    posted_week: Mapped[dt.date] = mapped_column(Date)
    # first day of the posting's month; a Hacker News comment's is its thread's month (see migration 0007)
    posted_month: Mapped[dt.date | None] = mapped_column(Date, default=_month_of_posted_at)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(64))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id", ondelete="SET NULL"))
    # when deduplication last set or cleared duplicate_of_id: the incremental trend recompute finds the weeks
    # whose measured postings changed this way without counting every week again
    duplicate_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    analyzed_hash: Mapped[str | None] = mapped_column(String(64))
    analyzed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # the source's own structured pay object as crawled ({"kind": "ashby"|"lever"|"jsonld"|"greenhouse", "data": ...})
    pay_data: Mapped[dict | None] = mapped_column(JSON)
    # pay step (analysis/pay/store.py): seniority from the title, and the hash of what the pay rows were derived from
    seniority: Mapped[str | None] = mapped_column(String(12))
    pay_hash: Mapped[str | None] = mapped_column(String(64))
    # 64-bit hash of the fields as the source listed them and the cleaner's version (crawler/pipelines/unchanged.py):
    # a crawl skips cleaning a posting whose raw hash is stored
    raw_hash: Mapped[int | None] = mapped_column(BigInteger)


class Framework(Base):
    """A taxonomy entry, synced from config/frameworks.toml."""

    __tablename__ = "frameworks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100))


class Mention(Base):
    """That a posting mentions a framework, how often, and under which taxonomy version."""

    __tablename__ = "mentions"
    __table_args__ = (Index("ix_mentions_framework_id", "framework_id"),)

    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id", ondelete="CASCADE"), primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id", ondelete="CASCADE"), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    taxonomy_version: Mapped[str] = mapped_column(String(16))


class TrendPoint(Base):
    """The weekly or monthly (``grain``) share of a cohort's postings that mention a framework, with a 95 %
    Wilson interval."""

    __tablename__ = "trend_points"

    grain: Mapped[str] = mapped_column(String(5), primary_key=True, server_default="week")  # week / month
    period_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    cohort: Mapped[str] = mapped_column(String(40), primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id", ondelete="CASCADE"), primary_key=True)
    n_postings: Mapped[int] = mapped_column(Integer)
    n_mentioning: Mapped[int] = mapped_column(Integer)
    share: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Classification(Base):
    """The role classifier's verdict on one posting: relevance, role, probability and the terms behind it.

    One row per posting, replaced when the posting's content or the model version changes.
    """

    __tablename__ = "classifications"
    __table_args__ = (Index("ix_classifications_role", "role"),
                      Index("ix_classifications_classified_at", "classified_at"))

    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id", ondelete="CASCADE"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))  # postings.content_hash that was classified
    is_ai_role: Mapped[bool] = mapped_column(Boolean)
    relevance_probability: Mapped[float] = mapped_column(Float)  # P(AI/ML engineering role)
    role: Mapped[str | None] = mapped_column(String(20))  # ai_swe / ml_engineer; NULL when not an AI role
    probability: Mapped[float | None] = mapped_column(Float)  # P(role) of the chosen role, 0.5..1
    evidence: Mapped[dict | None] = mapped_column(JSON)
    classified_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    """An alert that fired: a rule, its subject (framework slug or source), the week, and the numbers."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("rule", "subject", "period_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    direction: Mapped[str | None] = mapped_column(String(10))  # up / down
    fired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict | None] = mapped_column(JSON)


class Outbox(Base):
    """A message waiting to be sent (or sent): delivered at most once per ``dedupe_key``."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # email / webhook
    recipient: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # plain text (email) or JSON (webhook)
    html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list | None] = mapped_column(JSON)  # inline images: [{"cid", "mime", "data" (base64)}]
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending / sent / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Report(Base):
    """The weekly report of one ISO week, as generated."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(Date, unique=True)
    generated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)


class JobRun(Base):
    """One run of a scheduled job: when, how it ended, and the error if any."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running / ok / failed
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict | None] = mapped_column(JSON)


class SchedulerHeartbeat(Base):
    """The running scheduler's sign of life: one row (id 1), replaced when a scheduler starts, ``beat_at``
    updated every ``interval_seconds``, ``stopped_at`` set when it stops (see scheduler/service.py)."""

    __tablename__ = "scheduler_heartbeat"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Compensation(Base):
    """One pay range a posting states (analysis/pay): a component (base, hourly, ote, total, equity, bonus,
    commission) from the structured object or the text, as written and annualised, in USD by the shipped currency
    table of ``rates_date``; ``is_primary`` marks the posting's pay. Derived again when the extractor changes."""

    __tablename__ = "compensation"
    __table_args__ = (Index("ix_compensation_posting_id", "posting_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id", ondelete="CASCADE"))
    component: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(10))  # structured / text
    is_primary: Mapped[bool] = mapped_column(Boolean)
    minimum: Mapped[float | None] = mapped_column(Float)
    maximum: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    interval: Mapped[str | None] = mapped_column(String(6))  # year / month / week / day / hour / once
    unit: Mapped[str] = mapped_column(String(8))  # money / percent
    annual_min: Mapped[float | None] = mapped_column(Float)
    annual_max: Mapped[float | None] = mapped_column(Float)
    usd_min: Mapped[float | None] = mapped_column(Float)
    usd_max: Mapped[float | None] = mapped_column(Float)
    rates_date: Mapped[str] = mapped_column(String(10))
    scope: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    extractor_version: Mapped[str] = mapped_column(String(24))
