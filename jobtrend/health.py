"""Source health: what each finished crawl says about a source, kept on its ``sources`` row.

States (``sources.health``):

- ``new``: never crawled;
- ``ok``: the last crawl read the board and it listed postings;
- ``empty``: the board answered with no postings and never listed any;
- ``zero_yield``: the board answered with no postings after listing some: its last state was ``ok``, or it
  still has open postings, whatever came before (a board that failed, or never ended ``ok`` while its postings
  were stored, and now lists nothing is no more believable). Flagged: an API that suddenly lists nothing is as
  likely broken as empty, so the first such crawl closes nothing; from the second one in a row on, the board is
  taken at its word and its postings are closed;
- ``gone``: the board answered 404 or 410 (removed or renamed). Its postings are not closed: a board can come
  back, and one failure is no proof;
- ``failing``: any other failure (network, 5xx after retries, truncated or non-JSON body, robots.txt).

A partial crawl (cut short) changes no state. ``health_since`` is when the state last changed;
``consecutive_failures`` counts failed crawls in a row.

A crawl that was stopped on our side (:func:`stopped_by_us`: ``cut_short:<close reason>``, e.g.
``cut_short:shutdown`` when the scheduler or a SIGTERM stops it gracefully, or ``interrupted`` after Ctrl-C or a
killed process) says nothing about the board: it is never stored as the source's ``last_error``, never counted in
``consecutive_failures`` and changes no state, whatever status the crawl ended with, so the error that really
broke the board stays the one an alert reports.

:func:`explain_error` puts an error code into plain words (``download_error:CannotResolveHostError``: "DNS lookup
failed"), for people reading an alert or a crawl summary.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobtrend.models import Posting, Source
from jobtrend.reasons import error_code, in_words
from jobtrend.weeks import utcnow

GONE_REASONS = ("http_404", "http_410")
STATES = ("new", "ok", "empty", "zero_yield", "gone", "failing")
FAILURE_STATES = ("gone", "failing")  # the states a failed crawl leads to
INTERRUPTED = "interrupted"  # crawl_runs.error of a crawl whose process died or was interrupted
CUT_SHORT = "cut_short:"  # + the close reason of a crawl stopped before the board was finished


def stopped_by_us(error: str | None) -> bool:
    """Whether ``error`` says the crawl was stopped on our side (``cut_short:<close reason>``: a shutdown, an
    interrupt, a time limit; ``interrupted``), not by the board."""
    code = error_code(error)
    return code == INTERRUPTED or code.startswith(CUT_SHORT)


def explain_error(code: str | None) -> str:
    """The error ``code`` in plain words (:func:`jobtrend.reasons.in_words`, no host), e.g. ``DNS lookup failed``
    for ``download_error:CannotResolveHostError``; a code without words comes back as it is."""
    return in_words(code) or error_code(code) or "no error recorded"


def next_state(previous: str, status: str, error: str | None, seen: int, has_open: bool = False) -> str:
    """The health after a crawl that ended with ``status`` (ok/failed/partial), ``error`` and ``seen`` postings;
    ``has_open``: the source has open postings."""
    if status == "partial":
        return previous
    if status == "failed":
        return "gone" if error in GONE_REASONS else "failing"
    if seen > 0:
        return "ok"
    return "zero_yield" if previous in ("ok", "zero_yield") or has_open else "empty"


def record_crawl(session: Session, source_id: int, *, status: str, error: str | None, seen: int,
                 now: dt.datetime | None = None) -> bool:
    """Update the source's health from one finished crawl; return whether its unseen postings may be closed.

    Only an ok crawl may close, and not the first crawl that finds a board empty after it listed postings. A
    crawl :func:`stopped_by_us` only updates ``last_crawled_at``.
    """
    now = now or utcnow()
    source = session.get(Source, source_id)
    if stopped_by_us(error):  # our own stop: the board is neither failing nor its last error
        source.last_crawled_at = now
        return False
    previous = source.health or "new"
    has_open = status == "ok" and seen == 0 and session.execute(select(Posting.id).where(
        Posting.source_id == source_id, Posting.closed_at.is_(None)).limit(1)).first() is not None
    state = next_state(previous, status, error, seen, has_open)
    if state != previous:
        source.health, source.health_since = state, now
    source.last_crawled_at = now
    if status == "ok":
        source.last_ok_at, source.last_error, source.consecutive_failures = now, None, 0
    else:
        source.last_error = error
        if status == "failed":
            source.consecutive_failures = (source.consecutive_failures or 0) + 1
    return status == "ok" and not (state == "zero_yield" and previous != "zero_yield")


HEALTH_COLUMNS = ("source", "company", "health", "since", "last_ok", "last_crawl", "open", "failures", "last_error")
HEALTH_ORDER = {"gone": 0, "failing": 1, "zero_yield": 2, "empty": 3, "new": 4, "ok": 5}


def health_rows(session: Session, *, include_disabled: bool = False) -> list[tuple]:
    """One row per source for `jobtrend sources`: troubled sources first, then by kind and key."""
    open_postings = (select(Posting.source_id, func.count().label("n")).where(Posting.closed_at.is_(None))
                     .group_by(Posting.source_id).subquery())
    query = select(Source, func.coalesce(open_postings.c.n, 0)).outerjoin(
        open_postings, open_postings.c.source_id == Source.id)
    if not include_disabled:
        query = query.where(Source.enabled.is_(True))
    rows = []
    for source, n_open in session.execute(query):
        rows.append((f"{source.kind}:{source.key}", source.company, source.health, _day(source.health_since),
                     _day(source.last_ok_at), _day(source.last_crawled_at), n_open, source.consecutive_failures,
                     source.last_error))
    return sorted(rows, key=lambda r: (HEALTH_ORDER.get(r[2], 9), r[0]))


def _day(moment: dt.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else None
