"""Small helpers that insert sources, postings and classifications directly with SQLAlchemy Core, for analysis
tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

from sqlalchemy import Engine, delete, insert, select, update

from jobtrend.config import FrameworkConfig
from jobtrend.models import Classification, Posting, Source
from jobtrend.weeks import utcnow

_external_ids = itertools.count(1)

SMALL_TAXONOMY = (
    FrameworkConfig("pytorch", "PyTorch", "deep-learning", aliases=("pytorch",)),
    FrameworkConfig("langchain", "LangChain", "llm-framework", aliases=("langchain",)),
    FrameworkConfig("jax", "JAX", "deep-learning", exact=("JAX",)),
)


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()


def add_source(engine: Engine, kind: str = "ashby", key: str = "acme") -> int:
    """Insert a source (postings need one) and return its id."""
    with engine.begin() as conn:
        conn.execute(insert(Source), {"kind": kind, "key": key, "company": "Acme", "enabled": True})
        return conn.scalar(select(Source.id).where(Source.kind == kind, Source.key == key))


def add_posting(engine: Engine, source_id: int, *, title: str = "Engineer", text: str = "",
                week: dt.date = dt.date(2025, 10, 13), duplicate_of: int | None = None) -> int:
    """Insert a posting posted on the Monday ``week``; return its id."""
    posted_at = dt.datetime.combine(week, dt.time(12), tzinfo=dt.UTC)
    row = {
        "source_id": source_id, "external_id": f"job-{next(_external_ids)}", "title": title,
        "description_text": text, "posted_at": posted_at, "posted_week": week,
        "content_hash": content_hash(title, text), "duplicate_of_id": duplicate_of,
    }
    with engine.begin() as conn:
        return conn.execute(insert(Posting).returning(Posting.id), row).scalar_one()


def edit_posting(engine: Engine, posting_id: int, **values) -> None:
    """Update a posting; a new ``text`` or ``title`` also gets a new content_hash, as a re-crawl would."""
    with engine.begin() as conn:
        if "text" in values or "title" in values:
            current = conn.execute(select(Posting.title, Posting.description_text)
                                   .where(Posting.id == posting_id)).one()
            title = values.pop("title", current.title)
            text = values.pop("text", current.description_text)
            values |= {"title": title, "description_text": text, "content_hash": content_hash(title, text)}
        conn.execute(update(Posting).where(Posting.id == posting_id).values(**values))


def classify_posting(engine: Engine, posting_id: int, role: str | None = "ai_swe", *,
                     classified_at: dt.datetime | None = None) -> None:
    """Store the classifier's verdict on a posting, replacing any earlier one as the classifier does: ``role``
    ``"ai_swe"`` or ``"ml_engineer"`` is an AI role, None is not an AI role."""
    with engine.begin() as conn:
        content = conn.scalar(select(Posting.content_hash).where(Posting.id == posting_id))
        conn.execute(delete(Classification).where(Classification.posting_id == posting_id))
        conn.execute(insert(Classification), {
            "posting_id": posting_id, "model_version": "test", "content_hash": content,
            "is_ai_role": role is not None, "relevance_probability": 0.9 if role else 0.1, "role": role,
            "probability": 0.8 if role else None, "evidence": {}, "classified_at": classified_at or utcnow(),
        })
