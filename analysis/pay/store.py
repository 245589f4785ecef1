"""The pay step of ``analyze``: derive ``compensation`` rows and ``postings.seniority`` for stale postings.

A posting is up to date when its ``pay_hash`` is ``<extractor version>:<content hash prefix>``, the pattern of
``analysis.mentions.analyzed_hash``: a changed title or text, a new extractor version (its rules or the currency
table) or a cleared ``pay_hash`` (the crawler clears it when the structured pay changed without the text) makes
it stale. Per batch, in one transaction, a stale posting's rows are deleted and written again; every posting is
read, pay or not, so the counts by refusal reason cover the whole run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import String, bindparam, delete, func, insert, literal, or_, select, update
from sqlalchemy.engine import Connection, Engine

from analysis.pay import PayExtraction, extract_pay, extractor_version
from analysis.seniority import seniority
from jobtrend.currency import CurrencyTable, shipped_rates
from jobtrend.models import Compensation, Posting, Source

HASH_LENGTH = 64  # width of postings.pay_hash
VERSION_LENGTH = 24


@dataclass
class PayResult:
    """What one :func:`derive_pay` run did."""

    postings: int = 0  # postings (re-)read
    with_pay: int = 0  # of those, stating what the job pays
    ranges: int = 0  # compensation rows written
    refused: Counter = field(default_factory=Counter)  # figures refused, by reason
    extractor_version: str = ""
    rates_date: str = ""


def pay_hash(version: str, content_hash: str) -> str:
    """The ``pay_hash`` of a posting read by extractor ``version`` with this ``content_hash``."""
    return f"{version}:{content_hash}"[:HASH_LENGTH]


def _stale(version: str, after_id: int, limit: int | None):
    prefix = HASH_LENGTH - len(version) - 1
    expected = literal(version + ":", String) + func.substr(Posting.content_hash, 1, prefix)
    stale = or_(Posting.pay_hash.is_(None), Posting.pay_hash != expected)
    columns = (Posting.id, Posting.title, Posting.description_text, Posting.location, Posting.pay_data,
               Posting.content_hash, Source.kind)
    return (select(*columns).join(Source, Source.id == Posting.source_id).where(stale, Posting.id > after_id)
            .order_by(Posting.id).limit(limit))


def stale_pay_count(engine: Engine, rates: CurrencyTable | None = None) -> int:
    """How many postings :func:`derive_pay` would (re-)read."""
    with engine.connect() as conn:
        stale = _stale(extractor_version(rates), 0, None).order_by(None).subquery()
        return conn.scalar(select(func.count()).select_from(stale))


def derive_pay(engine: Engine, *, rates: CurrencyTable | None = None, batch_size: int = 500,
               progress: Callable[[int, int], None] | None = None) -> PayResult:
    """Read every stale posting's pay and seniority and store them; one transaction per batch."""
    rates = rates or shipped_rates()
    version = extractor_version(rates)
    result = PayResult(extractor_version=version, rates_date=rates.date)
    total = stale_pay_count(engine, rates) if progress is not None else 0
    if progress is not None:
        progress(0, total)
    last_id = 0
    while True:
        with engine.begin() as conn:
            batch = conn.execute(_stale(version, last_id, batch_size)).all()
            if not batch:
                break
            _write_batch(conn, batch, version, rates, result)
        last_id = batch[-1].id
        if progress is not None:
            progress(result.postings, total)
    return result


def _write_batch(conn: Connection, batch, version: str, rates: CurrencyTable, result: PayResult) -> None:
    ids = [row.id for row in batch]
    conn.execute(delete(Compensation).where(Compensation.posting_id.in_(ids)))
    rows, marks = [], []
    for posting in batch:
        found = extract_pay(posting.description_text, posting.pay_data, posting.location, rates)
        rows += compensation_rows(posting.id, found, version, rates)
        marks.append({"row_id": posting.id, "new_hash": pay_hash(version, posting.content_hash),
                      "new_seniority": seniority(posting.title, posting.kind)})
        result.postings += 1
        result.with_pay += found.has_pay
        result.refused.update(found.refusal_counts())
    if rows:
        conn.execute(insert(Compensation), rows)
    result.ranges += len(rows)
    conn.execute(update(Posting).where(Posting.id == bindparam("row_id"))
                 .values(pay_hash=bindparam("new_hash"), seniority=bindparam("new_seniority")), marks)


def compensation_rows(posting_id: int, found: PayExtraction, version: str, rates: CurrencyTable) -> list[dict]:
    """The ``compensation`` rows of one posting's extraction."""
    primary = found.primary
    return [{"posting_id": posting_id, "component": pay.component, "source": pay.source,
             "is_primary": pay is primary, "minimum": pay.minimum, "maximum": pay.maximum,
             "currency": pay.currency, "interval": pay.interval, "unit": pay.unit, "annual_min": pay.annual_min,
             "annual_max": pay.annual_max, "usd_min": pay.usd_min, "usd_max": pay.usd_max,
             "rates_date": rates.date, "scope": pay.scope, "evidence": pay.evidence[:1000],
             "extractor_version": version[:VERSION_LENGTH]} for pay in found.ranges]
