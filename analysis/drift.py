"""Classifier drift: does the deployed role classifier still see the postings it was built for? (docs/drift.md)

A deployed model is watched through what it outputs: when the share of inputs it calls positive, the mix of its
classes or its confidence moves away from what it was, either the inputs changed (a new board, another kind of
posting, a parser that lost the descriptions) or the model no longer fits them. This module does that for the role
classifier's verdicts (``classifications``), per ISO week and source kind.

The figures of week W (``posted_week``: the Monday, UTC, of the posting's own date, as :mod:`analysis.trends`
assigns weeks) and one series (a source kind, ``sources.kind``, or ``all``: every kind together), over the
canonical postings (``duplicate_of_id IS NULL``) that have a row in ``classifications``:

- n: how many there are (postings classified);
- AI share: the fraction with ``is_ai_role``, with a 95 % Wilson interval;
- ml share: of those AI roles, the fraction with ``role = 'ml_engineer'``, with a 95 % Wilson interval;
- mean confidence: the mean over the n postings of max(P, 1 - P), P = ``relevance_probability``: 1.0 when the
  model is sure either way, 0.5 when it cannot tell.

Model version: when one is given, only classifications by that version count. The command, the alert rule and the
report give the current one, the version of the latest classification (:func:`current_model_version`): while
``jobtrend analyze`` re-classifies after a retrain, the postings still holding the old model's verdict are left
out, instead of comparing one model's weeks with another's, so a retrain does not read as drift.

The band. Week W of a series is judged against its baseline: those of the ``trailing_weeks`` (8) calendar weeks
before W that have at least ``min_postings`` (30) classified postings, pooled (their counts summed, so a big week
weighs more than a small one). W is not judged when it has fewer than ``min_postings`` postings itself, or when
fewer than half of the trailing weeks, rounded up (4 of 8), are in the baseline. A judged week is outside its
band when

(a) its AI share, or its ml share, differs from the baseline's pooled share by ``min_change`` (0.10, ten points)
    or more, and :func:`analysis.trends.proportion_change_test` (the pooled two-proportion z-test; Fisher's exact
    test when a cell of the 2x2 table expects fewer than 5 postings) gives a two-sided p below ``alpha`` (0.001):
    flag ``ai_share up`` / ``ai_share down`` / ``ml_share up`` / ``ml_share down``. The ml share is judged only
    when W and the baseline both have AI roles; or
(b) its mean confidence is more than ``confidence_drop`` (0.05) below the baseline's (the mean over every posting
    of the baseline weeks): flag ``confidence down``. A model growing surer is not drift.

The band shown for a share (:func:`share_band`) is exactly the range of shares a week with W's n could have had
without failing (a) against the same baseline: every k/n from its low to its high edge passes. For the mean
confidence it is a floor: the baseline's mean - ``confidence_drop``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Connection, Engine, and_, case, func, select

from analysis.trends import proportion_change_test, wilson_interval
from jobtrend.config import SOURCE_KINDS
from jobtrend.models import Classification, Posting, Source
from jobtrend.weeks import iso_week_label

ALL = "all"  # the series of every source kind together
SERIES = (ALL, *SOURCE_KINDS)
EPSILON = 1e-9  # shares are floats: a move of exactly min_change must not depend on rounding


@dataclass(frozen=True)
class DriftSettings:
    """How a week is judged against the weeks before it; the defaults are the shipped ``classifier-drift`` rule's."""

    min_postings: int = 30
    alpha: float = 0.001
    min_change: float = 0.10
    confidence_drop: float = 0.05
    trailing_weeks: int = 8

    @property
    def min_trailing(self) -> int:
        """The baseline weeks a judged week needs: half the trailing weeks, rounded up (4 of 8)."""
        return math.ceil(self.trailing_weeks / 2)


DEFAULTS = DriftSettings()


@dataclass(frozen=True)
class Counts:
    """Classified postings of one week (or pooled weeks) of one series."""

    n: int = 0  # classified canonical postings
    ai: int = 0  # of those, AI roles (is_ai_role)
    ml: int = 0  # of the AI roles, ml_engineer
    confidence_sum: float = 0.0  # sum over the n of max(P, 1 - P) of relevance_probability

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.n + other.n, self.ai + other.ai, self.ml + other.ml,
                      self.confidence_sum + other.confidence_sum)

    @property
    def ai_share(self) -> float | None:
        return self.ai / self.n if self.n else None

    @property
    def ml_share(self) -> float | None:
        return self.ml / self.ai if self.ai else None

    @property
    def confidence(self) -> float | None:
        return self.confidence_sum / self.n if self.n else None

    @property
    def ai_interval(self) -> tuple[float, float]:
        return wilson_interval(self.ai, self.n)

    @property
    def ml_interval(self) -> tuple[float, float]:
        return wilson_interval(self.ml, self.ai)


@dataclass(frozen=True)
class ShareMove:
    """One share of a week (k/n) against the same share of its baseline (trailing_k/trailing_n)."""

    name: str  # ai_share or ml_share
    k: int
    n: int
    trailing_k: int
    trailing_n: int
    p_value: float | None  # None when the change is below min_change: no test needed
    test: str | None  # two_proportion_z or fisher_exact
    outside: bool

    @property
    def change(self) -> float:
        return self.k / self.n - self.trailing_k / self.trailing_n

    @property
    def direction(self) -> str:
        return "up" if self.change > 0 else "down"


@dataclass(frozen=True)
class DriftPoint:
    """One week of one series: its figures, its baseline, and what (if anything) left the band."""

    week: dt.date
    source: str  # a source kind, or "all"
    counts: Counts
    settings: DriftSettings = field(compare=False)
    baseline: Counts | None = None  # the pooled baseline weeks; None when the week is not judged
    baseline_weeks: tuple[dt.date, ...] = ()  # the trailing weeks with min_postings or more, oldest first
    not_judged: str | None = None  # why the week is not judged
    moves: tuple[ShareMove, ...] = ()
    flags: tuple[str, ...] = ()  # e.g. ("ai_share up", "confidence down"); empty: inside the band

    @property
    def label(self) -> str:
        return iso_week_label(self.week)

    @property
    def judged(self) -> bool:
        return self.not_judged is None

    @property
    def confidence_change(self) -> float | None:
        if self.baseline is None:
            return None
        return self.counts.confidence - self.baseline.confidence

    @property
    def confidence_floor(self) -> float | None:
        return None if self.baseline is None else self.baseline.confidence - self.settings.confidence_drop

    @cached_property
    def ai_band(self) -> tuple[float, float] | None:
        if self.baseline is None:
            return None
        return share_band(self.baseline.ai, self.baseline.n, self.counts.n, self.settings)

    @cached_property
    def ml_band(self) -> tuple[float, float] | None:
        if self.baseline is None or not self.counts.ai or not self.baseline.ai:
            return None
        return share_band(self.baseline.ml, self.baseline.ai, self.counts.ai, self.settings)

    def move(self, name: str) -> ShareMove | None:
        return next((m for m in self.moves if m.name == name), None)


@dataclass(frozen=True)
class DriftResult:
    """The judged weeks of each series, for one model version."""

    model_version: str | None  # None: no classification at all
    points: list[DriftPoint]  # by week, then series ("all" first)
    other_versions: int  # classifications by other model versions, not counted
    settings: DriftSettings


# --- reading -----------------------------------------------------------------------------------------------


def current_model_version(conn: Connection) -> str | None:
    """The model version of the latest classification: the model ``jobtrend analyze`` classifies with now."""
    return conn.scalar(select(Classification.model_version)
                       .order_by(Classification.classified_at.desc(), Classification.model_version.desc()).limit(1))


def weekly_counts(conn: Connection, *, model_version: str | None = None, first: dt.date | None = None,
                  last: dt.date | None = None) -> dict[tuple[dt.date, str], Counts]:
    """The counts of every (week, source kind) with classified canonical postings: one GROUP BY. ``first`` and
    ``last`` bound the weeks (inclusive); ``model_version``: only that model's classifications."""
    probability = Classification.relevance_probability
    confidence = case((probability >= 0.5, probability), else_=1.0 - probability)
    is_ai = Classification.is_ai_role.is_(True)
    query = (
        select(Posting.posted_week, Source.kind, func.count(),
               func.sum(case((is_ai, 1), else_=0)),
               func.sum(case((and_(is_ai, Classification.role == "ml_engineer"), 1), else_=0)),
               func.sum(confidence))
        .select_from(Posting)
        .join(Classification, Classification.posting_id == Posting.id)
        .join(Source, Source.id == Posting.source_id)
        .where(Posting.duplicate_of_id.is_(None))
        .group_by(Posting.posted_week, Source.kind)
    )
    if model_version is not None:
        query = query.where(Classification.model_version == model_version)
    if first is not None:
        query = query.where(Posting.posted_week >= first)
    if last is not None:
        query = query.where(Posting.posted_week <= last)
    return {(week, kind): Counts(int(n), int(ai or 0), int(ml or 0), float(conf or 0.0))
            for week, kind, n, ai, ml, conf in conn.execute(query)}


def series_of(counts: dict[tuple[dt.date, str], Counts], sources: Iterable[str] = SERIES
              ) -> dict[str, dict[dt.date, Counts]]:
    """The weekly counts of each series in ``sources``: a source kind, or ``all`` (the sum of every kind)."""
    wanted = set(sources)
    series: dict[str, dict[dt.date, Counts]] = {s: {} for s in SERIES if s in wanted}
    for (week, kind), c in counts.items():
        if kind in series:
            series[kind][week] = c
        if ALL in series:
            series[ALL][week] = series[ALL].get(week, Counts()) + c
    return series


# --- judging -----------------------------------------------------------------------------------------------


def judge(source: str, weeks: dict[dt.date, Counts], settings: DriftSettings = DEFAULTS
          ) -> list[DriftPoint]:
    """Every week of one series, oldest first, judged against its baseline (the module docstring)."""
    points = []
    for week in sorted(weeks):
        counts = weeks[week]
        window = [week - dt.timedelta(weeks=i) for i in range(settings.trailing_weeks, 0, -1)]
        baseline_weeks = tuple(w for w in window if w in weeks and weeks[w].n >= settings.min_postings)
        if counts.n < settings.min_postings:
            reason = f"fewer than {settings.min_postings} classified postings"
        elif len(baseline_weeks) < settings.min_trailing:
            reason = (f"{len(baseline_weeks)} of the {settings.trailing_weeks} weeks before have "
                      f"{settings.min_postings} or more classified postings, {settings.min_trailing} needed")
        else:
            reason = None
        if reason is not None:
            points.append(DriftPoint(week, source, counts, settings, baseline_weeks=baseline_weeks,
                                     not_judged=reason))
            continue
        baseline = sum((weeks[w] for w in baseline_weeks), Counts())
        points.append(_judged(week, source, counts, baseline, baseline_weeks, settings))
    return points


def _judged(week: dt.date, source: str, counts: Counts, baseline: Counts, baseline_weeks: tuple[dt.date, ...],
            settings: DriftSettings) -> DriftPoint:
    moves = [_move("ai_share", counts.ai, counts.n, baseline.ai, baseline.n, settings)]
    if counts.ai and baseline.ai:
        moves.append(_move("ml_share", counts.ml, counts.ai, baseline.ml, baseline.ai, settings))
    flags = [f"{m.name} {m.direction}" for m in moves if m.outside]
    if counts.confidence < baseline.confidence - settings.confidence_drop - EPSILON:
        flags.append("confidence down")
    return DriftPoint(week, source, counts, settings, baseline, baseline_weeks, None, tuple(moves), tuple(flags))


def _move(name: str, k: int, n: int, trailing_k: int, trailing_n: int, settings: DriftSettings) -> ShareMove:
    p_value, test = _test(k, n, trailing_k, trailing_n, settings)
    return ShareMove(name, k, n, trailing_k, trailing_n, p_value, test,
                     outside=p_value is not None and p_value < settings.alpha)


def _test(k: int, n: int, trailing_k: int, trailing_n: int, settings: DriftSettings
          ) -> tuple[float | None, str | None]:
    """(p, test) of k/n against trailing_k/trailing_n; (None, None) when the change is below min_change."""
    if abs(k / n - trailing_k / trailing_n) < settings.min_change - EPSILON:
        return None, None
    _z, p_value, test = proportion_change_test(k, n, trailing_k, trailing_n)
    return p_value, test


def _outside(k: int, n: int, trailing_k: int, trailing_n: int, settings: DriftSettings) -> bool:
    p_value, _test_name = _test(k, n, trailing_k, trailing_n, settings)
    return p_value is not None and p_value < settings.alpha


def share_band(trailing_k: int, trailing_n: int, n: int, settings: DriftSettings = DEFAULTS
               ) -> tuple[float, float] | None:
    """The band of a share: the lowest and highest k/n of a week of ``n`` that do not leave it against the
    baseline trailing_k/trailing_n (rule (a) of the module docstring). None when n or trailing_n is 0.

    Found by bisection on each side of the baseline's share: the test's p falls as k moves away from it."""
    if n <= 0 or trailing_n <= 0:
        return None
    centre = min(n, max(0, round(trailing_k / trailing_n * n)))

    def inside(k: int) -> bool:
        return not _outside(k, n, trailing_k, trailing_n, settings)

    return _edge(inside, centre, 0) / n, _edge(inside, centre, n) / n


def _edge(inside: Callable[[int], bool], start: int, end: int) -> int:
    """The k farthest from ``start`` (inside) towards ``end`` that is ``inside``, by bisection: ``inside`` holds from
    ``start`` up to one edge and not past it (the test's p only falls as k moves away from the baseline)."""
    if inside(end):
        return end
    near, far = start, end  # inside(near), not inside(far)
    while abs(far - near) > 1:
        middle = (near + far) // 2
        if inside(middle):
            near = middle
        else:
            far = middle
    return near


# --- entry points ------------------------------------------------------------------------------------------


def drift_points(conn: Connection, settings: DriftSettings = DEFAULTS, *, model_version: str | None = None,
                 sources: Iterable[str] = SERIES, before: dt.date | None = None) -> list[DriftPoint]:
    """Every week (before the Monday ``before``, when given) of each series in ``sources``, judged; by week,
    then series in :data:`SERIES` order."""
    last = None if before is None else before - dt.timedelta(weeks=1)
    series = series_of(weekly_counts(conn, model_version=model_version, last=last), sources)
    points = [p for name, weeks in series.items() for p in judge(name, weeks, settings)]
    order = {name: i for i, name in enumerate(SERIES)}
    return sorted(points, key=lambda p: (p.week, order[p.source]))


def week_drift(conn: Connection, week: dt.date, settings: DriftSettings = DEFAULTS, *,
               source: str = ALL) -> DriftPoint | None:
    """Week ``week`` of one series, judged, by the current model version; None when it has no classified
    postings. Reads only that week and its trailing weeks."""
    version = current_model_version(conn)
    if version is None:
        return None
    first = week - dt.timedelta(weeks=settings.trailing_weeks)
    weeks = series_of(weekly_counts(conn, model_version=version, first=first, last=week), [source])[source]
    if week not in weeks:
        return None
    return judge(source, weeks, settings)[-1]


def classifier_drift(engine: Engine, settings: DriftSettings = DEFAULTS, *, weeks: int | None = None,
                     source: str | None = None) -> DriftResult:
    """The drift of the current model version's classifications: every series (or ``source`` alone), its latest
    ``weeks`` weeks with classified postings (all of them when None); judged against all history."""
    sources = SERIES if source is None else (source,)
    if source is not None and source not in SERIES:
        raise ValueError(f"unknown source {source!r}: expected one of {', '.join(SERIES)}")
    with engine.connect() as conn:
        version = current_model_version(conn)
        if version is None:
            return DriftResult(None, [], 0, settings)
        points = drift_points(conn, settings, model_version=version, sources=sources)
        other = conn.scalar(select(func.count()).select_from(Classification)
                            .where(Classification.model_version != version))
    if weeks is not None:
        shown = set(sorted({p.week for p in points})[-weeks:]) if weeks else set()
        points = [p for p in points if p.week in shown]
    return DriftResult(version, points, int(other or 0), settings)


# --- rows for the command ----------------------------------------------------------------------------------

TABLE_COLUMNS = ("week", "source", "n", "ai_share (95% CI)", "ai_band", "ml_share (95% CI)", "confidence", "flag")
DATA_COLUMNS = ("week", "source", "n", "ai_roles", "ai_share", "ai_low", "ai_high", "ai_band_low", "ai_band_high",
                "ml_engineer", "ml_share", "ml_low", "ml_high", "ml_band_low", "ml_band_high", "confidence",
                "confidence_floor", "judged", "flag", "not_judged")


def drift_rows(result: DriftResult, *, table: bool) -> tuple[tuple[str, ...], list[tuple]]:
    """(columns, rows) of ``jobtrend classifier drift``: readable cells for the table, plain numbers for
    csv and json. The flag names what left the band, comma-separated; empty when nothing did."""
    if table:
        return TABLE_COLUMNS, [_table_row(p) for p in result.points]
    return DATA_COLUMNS, [_data_row(p) for p in result.points]


def _table_row(p: DriftPoint) -> tuple:
    c = p.counts
    ml = "" if c.ml_share is None else f"{_pct(c.ml_share)} ({_range(c.ml_interval)})"
    flag = ", ".join(p.flags) if p.judged else _not_judged(p)
    return (p.label, p.source, c.n, f"{_pct(c.ai_share)} ({_range(c.ai_interval)})",
            "" if p.ai_band is None else _range(p.ai_band), ml, f"{c.confidence:.3f}", flag)


def _data_row(p: DriftPoint) -> tuple:
    c = p.counts
    ai_band, ml_band = p.ai_band or (None, None), p.ml_band or (None, None)
    ml_low, ml_high = c.ml_interval if c.ai else (None, None)
    return (p.label, p.source, c.n, c.ai, c.ai_share, *c.ai_interval, *ai_band, c.ml, c.ml_share, ml_low, ml_high,
            *ml_band, c.confidence, p.confidence_floor, p.judged, ",".join(p.flags), p.not_judged)


def _not_judged(p: DriftPoint) -> str:
    """Why a week is not judged, in a few words: ``not judged: n < 30`` or ``not judged: 2 of 8 weeks``."""
    s = p.settings
    if p.counts.n < s.min_postings:
        return f"not judged: n < {s.min_postings}"
    return f"not judged: {len(p.baseline_weeks)} of {s.trailing_weeks} weeks"


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _range(interval: tuple[float, float]) -> str:
    return f"{interval[0] * 100:.1f}-{interval[1] * 100:.1f}%"


def summary(result: DriftResult) -> str:
    """The lines under the table: the model counted, and how the band is set."""
    s = result.settings
    lines = [f"model {result.model_version}" + (f" ({result.other_versions} classifications by other model "
                                                "versions not counted)" if result.other_versions else "")]
    lines.append(f"band: each week against the pooled weeks of the {s.trailing_weeks} before it with "
                 f"{s.min_postings} or more postings ({s.min_trailing} needed); a share leaves it when it moves "
                 f"{s.min_change * 100:g} points or more with p < {s.alpha:g}, the mean confidence when it falls "
                 f"more than {s.confidence_drop:g} (docs/drift.md)")
    flagged = sum(1 for p in result.points if p.flags)
    lines.append(f"{len(result.points)} rows, {flagged} outside the band")
    return "\n".join(lines)
