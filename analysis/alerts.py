"""Alert rules (``config/alerts.toml``) and their evaluation into ``alerts`` rows (docs/alerts.md).

Five kinds of rule (loaded by :mod:`analysis.alert_rules`), each with a unique ``name`` (stored as
``alerts.rule``); docs/alerts.md has every key:

- ``threshold``: a framework's weekly share crosses ``level`` (up, down or both), once per crossing, with
  ``hysteresis``: after firing up at L the rule cannot fire up again until the share has been below L - h
  (symmetrically above L + h for down). The first qualifying week is never a crossing (nothing before it).
- ``change``: week W's k/n against the pooled k/n of the ``trailing_weeks`` qualifying weeks before it; fires
  when the difference is at least ``min_change`` and a pooled two-proportion z-test gives p < ``alpha``.
- ``source_health``: an enabled source whose health is one of ``states`` (``failing`` and ``gone`` only after
  ``min_failures`` failed crawls in a row, 2 by default: one failure is usually transient); the alert's week is
  the Monday of ``health_since``, so one episode fires once.
- ``classifier_drift``: a week of a source kind (or ``all``) whose role-classifier output leaves its band against
  the weeks before it (:mod:`analysis.drift`: AI-role share, ml_engineer share, mean confidence), counting only
  the current model version's classifications; subject = the source kind, one alert per week however many
  figures left the band.
- ``pay_change``: a month's median annualised pay of a cohort (the USD midpoint of one component group, base by
  default: :mod:`analysis.pay_stats`) against the pooled ``trailing_months`` calendar months before it; fires
  when the median moved by ``min_change`` (relative) or more and the (1 - ``alpha``) percentile-bootstrap interval
  of the difference of medians (seeded, :data:`analysis.pay_stats.RESAMPLES` resamples) excludes 0; the month
  and the window each need ``min_postings`` postings with pay. Months, not weeks: few postings state pay, and
  only complete months (before the month of ``now``) count. Subject = the cohort.

A threshold or change alert says which postings its share is of (:func:`cohort_phrase`: ``all`` is "AI-role
postings", ``ai_swe`` "AI Software Engineer postings", ``market`` "all postings").

New alerts are stored one by one but notified as :mod:`analysis.alert_messages` plans it: the failing sources of
a run as one digest, and at most ``max_messages`` messages per run, the last a summary of the rest.

Only weeks with n >= ``min_postings`` count (a smaller week is skipped, not taken as zero), and only complete
weeks (before the Monday of ``now``): a week still being crawled has a share that will move. Every rule is
evaluated over all stored weeks in order, so its state follows from the data alone and a rerun fires the same
alerts; the unique (rule, subject, period_start) of ``alerts`` makes storing them idempotent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import Engine, select, tuple_

from analysis import notify
from analysis.alert_messages import plan_notifications
from analysis.alert_rules import (
    COHORTS,
    DEFAULT_HEALTH_STATES,
    DEFAULT_MAX_MESSAGES,
    DIRECTIONS,
    KINDS,
    AlertLimits,
    AlertRule,
    ChangeRule,
    ClassifierDriftRule,
    PayChangeRule,
    SourceHealthRule,
    ThresholdRule,
    load_alert_limits,
    load_alert_rules,
    rules_path,
)
from analysis.drift import DriftPoint, current_model_version, drift_points
from analysis.pay_stats import COMPONENT_GROUPS, RESAMPLES, difference_interval, pay_records
from analysis.trends import proportion_change_test, two_proportion_test
from jobtrend.currency import shipped_rates
from jobtrend.db import insert_ignoring_conflicts, session_factory
from jobtrend.health import explain_error
from jobtrend.models import Alert, Framework, Source, TrendPoint
from jobtrend.reasons import error_code
from jobtrend.weeks import iso_week_label, monday_of, utcnow

__all__ = ["COHORTS", "DEFAULT_HEALTH_STATES", "DEFAULT_MAX_MESSAGES", "DIRECTIONS", "KINDS", "AlertLimits",
           "AlertRule", "ChangeRule", "ClassifierDriftRule", "FiredAlert", "PayChangeRule", "SourceHealthRule",
           "ThresholdRule",
           "cohort_phrase", "evaluate_alerts", "load_alert_limits", "load_alert_rules", "notify_new_alerts",
           "rules_path", "two_proportion_p_value"]

EPSILON = 1e-9  # shares are floats: a comparison must not depend on how L - h happens to round


@dataclass(frozen=True)
class FiredAlert:
    """One alert a rule fires: ``new`` is False when the ``alerts`` table already held it.

    ``value`` is the week's share (threshold, change) or the source's consecutive failures (source_health);
    ``threshold`` is the level crossed (threshold) or the trailing weeks' pooled share (change). For
    classifier_drift both are of the first figure that left the band (AI share, ml share, mean confidence): the
    week's and the baseline's.
    """

    rule: str
    subject: str
    period_start: dt.date
    value: float | None
    threshold: float | None
    direction: str | None
    details: dict[str, Any] = field(default_factory=dict)
    new: bool = True

    @property
    def key(self) -> tuple[str, str, dt.date]:
        return (self.rule, self.subject, self.period_start)

    @property
    def dedupe_key(self) -> str:
        return f"alert:{self.rule}:{self.subject}:{self.period_start}"

    @property
    def title(self) -> str:
        """One line, e.g. ``pgvector share up to 12.3% of AI Software Engineer postings (n=84) in 2026-W47``."""
        d = self.details
        if d["kind"] == "source_health":
            return f"source {self.subject} is {d['health']} since {d['health_since'][:10]}"
        if d["kind"] == "pay_change":
            return (f"median {d['component']} pay of {cohort_phrase(d['cohort'])} {self.direction} "
                    f"{abs(d['relative_change']) * 100:.1f}% to {_usd(self.value)} (n={d['n_postings']}) in "
                    f"{d['month']}")
        if d["kind"] == "classifier_drift":
            return (f"classifier {', '.join(_drift_phrase(flag, d) for flag in d['flags'])} "
                    f"(n={d['n_postings']}) in {d['week']} [{self.subject}]")
        where = f"of {cohort_phrase(d['cohort'])} (n={d['n_postings']}) in {d['week']}"
        if d["kind"] == "threshold":
            return f"{d['framework_name']} share {self.direction} to {_pct(self.value)} {where}"
        return (f"{d['framework_name']} share {self.direction} {abs(d['change']) * 100:.1f} points to "
                f"{_pct(self.value)} {where}")

    @property
    def body(self) -> str:
        """A few plain-text lines: what fired, the numbers behind it, and the rule."""
        d = self.details
        lines = [self.title, ""]
        if d["kind"] == "source_health":
            lines += [f"Health: {d['health']} since {d['health_since']}",
                      f"Consecutive failed crawls: {d['consecutive_failures']}"]
            if d.get("last_error"):
                lines.append(f"Last error: {d['last_error']}")
                words = explain_error(d["last_error"])
                if words != error_code(d["last_error"]):
                    lines.append(f"Reason: {words}")
            lines.append("See `jobtrend sources` for every source.")
        elif d["kind"] == "classifier_drift":
            lines += _drift_lines(d)
        elif d["kind"] == "pay_change":
            lines += [f"Median annualised {d['component']} pay ({', '.join(d['components'])}, USD midpoint at the "
                      f"rates of {d['rates_date']}) of {d['n_postings']} {cohort_phrase(d['cohort'])} in "
                      f"{d['month']}: {_usd(self.value)}.",
                      f"The {d['trailing_months']} months before ({d['trailing_from']} to {d['trailing_to']}): "
                      f"{d['trailing_postings']} postings, median {_usd(self.threshold)}.",
                      f"Change {d['relative_change'] * 100:+.1f}%; {(1 - d['alpha']) * 100:g}% bootstrap interval of "
                      f"the difference {_usd(d['ci_low'])} to {_usd(d['ci_high'])} ({d['resamples']} resamples).",
                      "See `jobtrend pay --grain month` and docs/pay-analysis.md."]
        elif d["kind"] == "threshold":
            lines += [f"{d['n_mentioning']} of {d['n_postings']} {cohort_phrase(d['cohort'])} in {d['week']} mention "
                      f"{d['framework_name']}: {_pct(self.value)} (95% CI {_pct(d['ci_low'])}-{_pct(d['ci_high'])}).",
                      f"Crossed {self.direction} through {_pct(self.threshold)}; the previous week counted had "
                      f"{_pct(d['previous_share'])} ({d['previous_week']})."]
        else:
            lines += [f"{d['n_mentioning']} of {d['n_postings']} {cohort_phrase(d['cohort'])} in {d['week']} mention "
                      f"{d['framework_name']}: {_pct(self.value)}.",
                      f"The {d['trailing_weeks']} weeks before ({d['trailing_from']} to {d['trailing_to']}): "
                      f"{d['trailing_mentioning']} of {d['trailing_postings']}, {_pct(self.threshold)}.",
                      f"Change {d['change'] * 100:+.1f} points, two-proportion z = {d['z']:.2f}, "
                      f"p = {d['p_value']:.2g} (alpha {d['alpha']})."]
        lines += ["", f"Rule: {self.rule} ({d['kind']}, config/alerts.toml)"]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the alert (the notification payload)."""
        data = asdict(self)
        data["period_start"] = self.period_start.isoformat()
        data["title"] = self.title
        return data


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _usd(value: float) -> str:
    return f"{'-' if value < 0 else ''}${abs(value) / 1000:,.1f}k"


COHORT_WORDS = {"all": "AI-role postings", "ai_swe": "AI Software Engineer postings",
                "ml_engineer": "ML Engineer postings", "market": "all postings"}


def cohort_phrase(cohort: str) -> str:
    """The postings a trend cohort's shares are of: ``all`` -> "AI-role postings", ``market:hackernews`` -> "all
    hackernews postings"."""
    if cohort.startswith("market:"):
        return f"all {cohort.removeprefix('market:')} postings"
    return COHORT_WORDS.get(cohort, f"{cohort} postings")


DRIFT_FIGURES = {"ai_share": "AI share", "ml_share": "ml_engineer share of AI roles"}


def _drift_phrase(flag: str, d: dict[str, Any]) -> str:
    """``AI share up 15.0 points to 35.0%`` or ``mean confidence down 0.08 to 0.85`` for one flag."""
    figure, direction = flag.split()
    if figure == "confidence":
        return (f"mean confidence {direction} {d['trailing_confidence'] - d['confidence']:.2f} to "
                f"{d['confidence']:.2f}")
    change = d[figure] - d[f"trailing_{figure}"]
    return f"{DRIFT_FIGURES[figure]} {direction} {abs(change) * 100:.1f} points to {_pct(d[figure])}"


def _drift_lines(d: dict[str, Any]) -> list[str]:
    """The body of a classifier_drift alert: the week, its baseline, and each band left."""
    ml = "no AI roles" if d["ml_share"] is None else f"{d['ml_engineer']} ml_engineer, {_pct(d['ml_share'])}"
    trailing_ml = "none" if d["trailing_ml_share"] is None else _pct(d["trailing_ml_share"])
    origin = "every source kind" if d["source"] == "all" else f"{d['source']} sources"
    lines = [f"{d['n_postings']} classified postings in {d['week']} from {origin} (model "
             f"{d['model_version']}): {d['ai_roles']} AI roles, {_pct(d['ai_share'])}; {ml}; mean confidence "
             f"{d['confidence']:.3f}.",
             f"Baseline, the {d['trailing_weeks']} weeks of {d['trailing_from']} to {d['trailing_to']} with "
             f"{d['min_postings']} or more postings: {d['trailing_postings']} postings, AI share "
             f"{_pct(d['trailing_ai_share'])}, ml_engineer {trailing_ml} of the AI roles, mean confidence "
             f"{d['trailing_confidence']:.3f}."]
    for flag in d["flags"]:
        figure = flag.split()[0]
        if figure == "confidence":
            lines.append(f"Left the band: mean confidence below its floor {d['confidence_floor']:.3f} "
                         f"(baseline - {d['confidence_drop']}).")
        else:
            low, high = d[f"{figure}_band"]
            lines.append(f"Left the band: {DRIFT_FIGURES[figure]} outside {_pct(low)}-{_pct(high)} "
                         f"(p = {d[f'{figure}_p_value']:.2g}, alpha {d['alpha']}, at least "
                         f"{d['min_change'] * 100:.0f} points).")
    lines.append(f"See `jobtrend classifier drift --source {d['source']}` and docs/drift.md.")
    return lines


# --- evaluation --------------------------------------------------------------------------------------------

two_proportion_p_value = two_proportion_test  # the name this module has always offered


def evaluate_alerts(engine: Engine, rules: Sequence[AlertRule], *, weeks: int | None = None,
                    dry_run: bool = False, now: dt.datetime | None = None,
                    notify_settings: Any = None, max_messages: int = DEFAULT_MAX_MESSAGES,
                    hosts: Mapping[str, str] | None = None) -> list[FiredAlert]:
    """Evaluate ``rules`` over the stored data; store the alerts that fired unless ``dry_run``.

    ``weeks``: report only alerts of the current week and the ``weeks`` weeks before it (the rules still read
    all history, so their state is the same). Returns every alert that fires, oldest first; ``new`` marks the
    ones not stored before this call. With ``notify_settings`` (``config.notify``), each newly stored alert
    is queued for delivery (:func:`notify_new_alerts`) before it is stored: a run killed in between has queued
    what it will store, and the next run finds the alert still new, queues it again (a no-op: the outbox's
    dedupe key) and stores it. Storing first would lose the notification of an alert stored just before a crash.
    ``max_messages`` and ``hosts`` shape the notifications (:func:`notify_new_alerts`).
    """
    now = now or utcnow()
    this_week = monday_of(now)
    fired: list[FiredAlert] = []
    with engine.connect() as conn:
        for rule in rules:
            if isinstance(rule, SourceHealthRule):
                fired += _source_health_alerts(conn, rule)
            elif isinstance(rule, PayChangeRule):
                fired += _pay_change_alerts(engine, rule, before=now.date().replace(day=1))
            elif isinstance(rule, ClassifierDriftRule):
                fired += _classifier_drift_alerts(conn, rule, before=this_week)
            else:
                series = _series(conn, rule, before=this_week)
                check = _threshold_alerts if isinstance(rule, ThresholdRule) else _change_alerts
                for points in series.values():
                    fired += check(rule, points)
    if weeks is not None:
        cutoff = this_week - dt.timedelta(weeks=weeks)
        fired = [a for a in fired if a.period_start >= cutoff]
    fired.sort(key=lambda a: (a.period_start, a.rule, a.subject))
    fired = _mark_stored(engine, fired)
    if not dry_run:
        if notify_settings is not None:
            notify_new_alerts(engine, notify_settings, fired, max_messages=max_messages, hosts=hosts)
        _store(engine, [a for a in fired if a.new], now)
    return fired


def _series(conn, rule: ThresholdRule | ChangeRule, before: dt.date) -> dict[str, list]:
    """The rule's qualifying trend points (n >= min_postings, complete weeks), by framework slug, oldest first."""
    query = (
        select(Framework.slug, Framework.name, TrendPoint.period_start, TrendPoint.n_postings,
               TrendPoint.n_mentioning, TrendPoint.share, TrendPoint.ci_low, TrendPoint.ci_high)
        .join(Framework, Framework.id == TrendPoint.framework_id)
        .where(TrendPoint.grain == "week", TrendPoint.cohort == rule.cohort, TrendPoint.n_postings >= rule.min_postings,
               TrendPoint.period_start < before)
        .order_by(Framework.slug, TrendPoint.period_start)
    )
    if rule.framework != "*":
        query = query.where(Framework.slug == rule.framework)
    series: dict[str, list] = {}
    for row in conn.execute(query):
        series.setdefault(row.slug, []).append(row)
    return series


def _threshold_alerts(rule: ThresholdRule, points: list) -> list[FiredAlert]:
    """Walk the weeks in order: fire on each crossing of the level by an armed direction, then disarm it."""
    level, h = rule.level, rule.hysteresis
    armed = {"up": rule.direction in ("up", "both"), "down": rule.direction in ("down", "both")}
    alerts = []
    for previous, point in zip(points, points[1:], strict=False):
        if armed["up"] is False and rule.direction != "down" and previous.share < level - h - EPSILON:
            armed["up"] = True
        if armed["down"] is False and rule.direction != "up" and previous.share > level + h + EPSILON:
            armed["down"] = True
        above_before, above_now = previous.share >= level - EPSILON, point.share >= level - EPSILON
        direction = "up" if above_now and not above_before else "down" if above_before and not above_now else None
        if direction is None or not armed[direction]:
            continue
        armed[direction] = False
        details = _trend_details(rule, point) | {
            "previous_week": iso_week_label(previous.period_start), "previous_share": previous.share,
            "level": level, "hysteresis": h}
        alerts.append(FiredAlert(rule.name, point.slug, point.period_start, point.share, level, direction, details))
    return alerts


def _change_alerts(rule: ChangeRule, points: list) -> list[FiredAlert]:
    """Each week against the pooled ``trailing_weeks`` qualifying weeks before it."""
    alerts = []
    for i in range(rule.trailing_weeks, len(points)):
        point, trailing = points[i], points[i - rule.trailing_weeks:i]
        k2, n2 = sum(p.n_mentioning for p in trailing), sum(p.n_postings for p in trailing)
        k1, n1 = point.n_mentioning, point.n_postings
        change = k1 / n1 - k2 / n2
        direction = "up" if change > 0 else "down"
        if abs(change) < rule.min_change - EPSILON or rule.direction not in ("both", direction):
            continue
        z, p_value, test = proportion_change_test(k1, n1, k2, n2)
        if p_value >= rule.alpha:
            continue
        details = _trend_details(rule, point) | {
            "change": change, "z": z, "p_value": p_value, "test": test, "alpha": rule.alpha,
            "min_change": rule.min_change,
            "trailing_weeks": rule.trailing_weeks, "trailing_postings": n2, "trailing_mentioning": k2,
            "trailing_from": iso_week_label(trailing[0].period_start),
            "trailing_to": iso_week_label(trailing[-1].period_start)}
        alerts.append(FiredAlert(rule.name, point.slug, point.period_start, k1 / n1, k2 / n2, direction, details))
    return alerts


def _trend_details(rule: ThresholdRule | ChangeRule, point) -> dict[str, Any]:
    return {"kind": rule.kind, "framework": point.slug, "framework_name": point.name, "cohort": rule.cohort,
            "week": iso_week_label(point.period_start), "n_postings": point.n_postings,
            "n_mentioning": point.n_mentioning, "ci_low": point.ci_low, "ci_high": point.ci_high,
            "min_postings": rule.min_postings}


def _source_health_alerts(conn, rule: SourceHealthRule) -> list[FiredAlert]:
    query = (select(Source).where(Source.enabled.is_(True), Source.health.in_(rule.states))
             .order_by(Source.kind, Source.key))
    alerts = []
    for source in conn.execute(query):
        if not rule.fires_for(source.health, source.consecutive_failures):  # one failure is usually transient
            continue
        since = source.health_since or source.last_crawled_at
        if since is None:  # never crawled: nothing to date the episode by
            continue
        error = " ".join((source.last_error or "").split())[:200] or None
        details = {"kind": rule.kind, "health": source.health, "health_since": since.isoformat(),
                   "consecutive_failures": source.consecutive_failures, "last_error": error,
                   "company": source.company, "week": iso_week_label(since.date())}
        alerts.append(FiredAlert(rule.name, _subject(f"{source.kind}:{source.key}"), monday_of(since),
                                 float(source.consecutive_failures or 0), None, None, details))
    return alerts


def _classifier_drift_alerts(conn, rule: ClassifierDriftRule, before: dt.date) -> list[FiredAlert]:
    """Every complete week of the rule's series whose classifications by the current model left the band."""
    version = current_model_version(conn)
    if version is None:
        return []
    points = drift_points(conn, rule.settings, model_version=version, sources=rule.sources, before=before)
    return [_drift_alert(rule, point, version) for point in points if point.flags]


def _drift_alert(rule: ClassifierDriftRule, point: DriftPoint, version: str) -> FiredAlert:
    """The alert of one week outside its band: value, threshold and direction of its first flag."""
    c, b = point.counts, point.baseline
    details = {
        "kind": rule.kind, "source": point.source, "week": point.label, "model_version": version,
        "flags": list(point.flags), "n_postings": c.n, "ai_roles": c.ai, "ml_engineer": c.ml,
        "ai_share": c.ai_share, "ml_share": c.ml_share, "confidence": c.confidence,
        "trailing_postings": b.n, "trailing_ai_share": b.ai_share, "trailing_ml_share": b.ml_share,
        "trailing_confidence": b.confidence, "confidence_floor": point.confidence_floor,
        "trailing_weeks": len(point.baseline_weeks), "trailing_from": iso_week_label(point.baseline_weeks[0]),
        "trailing_to": iso_week_label(point.baseline_weeks[-1]), "min_postings": rule.min_postings,
        "alpha": rule.alpha, "min_change": rule.min_change, "confidence_drop": rule.confidence_drop}
    for move in point.moves:
        band = point.ai_band if move.name == "ai_share" else point.ml_band
        details |= {f"{move.name}_p_value": move.p_value, f"{move.name}_test": move.test,
                    f"{move.name}_band": list(band) if band else None}
    figure, direction = point.flags[0].split()
    if figure == "confidence":
        value, threshold = c.confidence, b.confidence
    else:
        value, threshold = details[figure], details[f"trailing_{figure}"]
    return FiredAlert(rule.name, point.source, point.week, value, threshold, direction, details)


def _month_index(month: dt.date) -> int:
    return month.year * 12 + month.month - 1


def _pay_change_alerts(engine: Engine, rule: PayChangeRule, before: dt.date) -> list[FiredAlert]:
    """Every complete month (before ``before``, a 1st) whose median pay moved against its trailing months."""
    by_month: dict[dt.date, list[float]] = {}
    for record in pay_records(engine, cohort=rule.cohort, component=rule.component):
        if record.month is not None and record.month < before:
            by_month.setdefault(record.month, []).append(record.value)
    fired = []
    for month, values in sorted(by_month.items()):
        window = [m for m in by_month if 1 <= _month_index(month) - _month_index(m) <= rule.trailing_months]
        trailing = [v for m in window for v in by_month[m]]
        if len(values) < rule.min_postings or len(trailing) < rule.min_postings:
            continue
        alert = _pay_change_alert(rule, month, values, sorted(window), trailing)
        if alert is not None:
            fired.append(alert)
    return fired


def _pay_change_alert(rule: PayChangeRule, month: dt.date, values: list[float], window: list[dt.date],
                      trailing: list[float]) -> FiredAlert | None:
    """The alert of one month, or None when its median did not move enough or the interval holds 0."""
    median, baseline = statistics.median(values), statistics.median(trailing)
    relative = median / baseline - 1
    direction = "up" if relative > 0 else "down"
    if abs(relative) < rule.min_change - EPSILON or rule.direction not in ("both", direction):
        return None
    low, high = difference_interval(values, trailing, level=1 - rule.alpha)
    if low <= 0 <= high:
        return None
    label = month.strftime("%Y-%m")
    details = {"kind": rule.kind, "cohort": rule.cohort, "component": rule.component,
               "components": list(COMPONENT_GROUPS[rule.component]), "month": label, "n_postings": len(values),
               "trailing_postings": len(trailing), "trailing_months": rule.trailing_months,
               "trailing_from": window[0].strftime("%Y-%m"), "trailing_to": window[-1].strftime("%Y-%m"),
               "relative_change": relative, "ci_low": low, "ci_high": high, "alpha": rule.alpha,
               "min_change": rule.min_change, "min_postings": rule.min_postings, "resamples": RESAMPLES,
               "rates_date": shipped_rates().date}
    return FiredAlert(rule.name, rule.cohort, month, median, baseline, direction, details)


def _subject(text: str, limit: int = 200) -> str:
    """``text``, shortened with a hash of the whole when longer than ``alerts.subject`` holds."""
    if len(text) <= limit:
        return text
    return text[:limit - 13] + "~" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _mark_stored(engine: Engine, fired: list[FiredAlert]) -> list[FiredAlert]:
    """``fired`` with ``new=False`` on the alerts the table already holds."""
    if not fired:
        return fired
    stored: set[tuple] = set()
    keys = [a.key for a in fired]
    with engine.connect() as conn:
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            query = select(Alert.rule, Alert.subject, Alert.period_start).where(
                tuple_(Alert.rule, Alert.subject, Alert.period_start).in_(chunk))
            stored |= {tuple(row) for row in conn.execute(query)}
    return [replace(a, new=False) if a.key in stored else a for a in fired]


def _store(engine: Engine, alerts: list[FiredAlert], now: dt.datetime) -> None:
    """Insert the alerts, skipping any another run stored meanwhile."""
    rows = [{"rule": a.rule, "subject": a.subject, "period_start": a.period_start, "value": a.value,
             "threshold": a.threshold, "direction": a.direction, "fired_at": now,
             "details": a.details | {"title": a.title}}
            for a in alerts]
    with session_factory(engine).begin() as session:
        insert_ignoring_conflicts(session, Alert.__table__, rows)


def notify_new_alerts(engine: Engine, notify_settings: Any, alerts: Iterable[FiredAlert], *,
                      max_messages: int = DEFAULT_MAX_MESSAGES, hosts: Mapping[str, str] | None = None) -> int:
    """Queue the notifications of the new ``alerts`` through the outbox (``analysis.notify``); return how many
    messages (each for every recipient).

    The failing sources go out as one digest and at most ``max_messages`` messages are queued, the last a summary
    of the rest (:func:`analysis.alert_messages.plan_notifications`; ``hosts``: source kind -> API host, named in
    a digest of network failures). The outbox's ``dedupe_key`` (``alert:RULE:SUBJECT:WEEK``, or one derived from
    the alerts a digest or summary covers) makes queueing the same alerts twice a no-op.
    """
    messages = plan_notifications(list(alerts), max_messages=max_messages, hosts=hosts)
    for message in messages:
        notify.queue_for_recipients(engine, notify_settings, subject=message.subject, body=message.body,
                                    dedupe_key=message.dedupe_key, payload=message.payload)
    return len(messages)
