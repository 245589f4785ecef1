"""Alert rules: crossings with hysteresis, significant changes, source health, idempotent storage, config, CLI."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from statistics import NormalDist

import pytest
from click.testing import CliRunner
from scipy.stats import fisher_exact
from sqlalchemy import func, insert, select

from analysis.alerts import (
    ChangeRule,
    ClassifierDriftRule,
    SourceHealthRule,
    ThresholdRule,
    evaluate_alerts,
    load_alert_rules,
    notify_new_alerts,
    rules_path,
    two_proportion_p_value,
)
from analysis.trends import proportion_change_test, wilson_interval
from jobtrend.cli import main
from jobtrend.cli.database import run_read_only
from jobtrend.config import REPO_ROOT, ConfigError, load_config
from jobtrend.models import Alert, Framework, Source, TrendPoint
from tests.analysis.factories import add_source as add_board
from tests.analysis.test_drift import add_week
from tests.jobtrend.test_config import write_config

NOW = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC)  # a Wednesday: its week, from 2026-03-02, is not complete
FIRST = dt.date(2026, 1, 5)  # a Monday, 2026-W02


def week(i: int) -> dt.date:
    return FIRST + dt.timedelta(weeks=i)


def add_framework(engine, slug: str = "pgvector", name: str | None = None) -> int:
    with engine.begin() as conn:
        return conn.execute(insert(Framework).returning(Framework.id),
                            {"slug": slug, "name": name or slug, "category": "vector_store"}).scalar_one()


def add_points(engine, framework_id: int, counts: list[tuple[int, int]], *, cohort: str = "all",
               start: dt.date = FIRST) -> None:
    """One trend point per (k, n), for consecutive weeks from ``start``."""
    rows = []
    for i, (k, n) in enumerate(counts):
        low, high = wilson_interval(k, n)
        rows.append({"period_start": start + dt.timedelta(weeks=i), "cohort": cohort, "framework_id": framework_id,
                     "n_postings": n, "n_mentioning": k, "share": k / n, "ci_low": low, "ci_high": high})
    with engine.begin() as conn:
        conn.execute(insert(TrendPoint), rows)


def shares(engine, percents: list[float], n: int = 100, slug: str = "pgvector") -> None:
    add_points(engine, add_framework(engine, slug), [(round(p * n / 100), n) for p in percents])


def fire(engine, *rules, **kwargs):
    return evaluate_alerts(engine, list(rules), now=kwargs.pop("now", NOW), **kwargs)


def stored_count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Alert))


UP = ThresholdRule("pgvector-10", "pgvector", level=0.10, direction="up")


# --- threshold ---------------------------------------------------------------------------------------------

def test_up_crossing_fires_once_in_the_week_it_happens(engine):
    shares(engine, [5, 7, 12, 13, 11])
    fired = fire(engine, UP)
    assert [(a.rule, a.subject, a.period_start, a.direction) for a in fired] == [
        ("pgvector-10", "pgvector", week(2), "up")]
    alert = fired[0]
    assert alert.value == pytest.approx(0.12) and alert.threshold == 0.10 and alert.new
    assert alert.details["previous_week"] == "2026-W03" and alert.details["previous_share"] == pytest.approx(0.07)
    assert alert.title == "pgvector share up to 12.0% of AI-role postings (n=100) in 2026-W04"
    assert "12 of 100 AI-role postings in 2026-W04" in alert.body and "<" not in alert.body
    with engine.connect() as conn:
        row = conn.execute(select(Alert)).one()
    assert (row.rule, row.subject, row.period_start, row.direction) == ("pgvector-10", "pgvector", week(2), "up")
    assert row.value == pytest.approx(0.12) and row.threshold == pytest.approx(0.10)
    assert row.details["n_postings"] == 100 and row.details["cohort"] == "all"


def test_the_first_week_is_never_a_crossing(engine):
    shares(engine, [15, 16, 14])
    assert fire(engine, UP) == []


def test_hovering_within_the_hysteresis_band_does_not_refire(engine):
    # 8 % is exactly level - hysteresis: not *below* it, so the rule stays disarmed.
    shares(engine, [5, 12, 9, 11, 8, 10.5, 9.5, 12], n=1000)
    assert [a.period_start for a in fire(engine, UP)] == [week(1)]


def test_a_share_exactly_at_the_band_edge_does_not_rearm(engine):
    # In floats 0.10 - 0.01 is 0.09000000000000001, so a naive comparison calls 9/100 "below" the band.
    shares(engine, [5, 12, 9, 11])
    rule = ThresholdRule("pg-narrow", "pgvector", level=0.10, direction="up", hysteresis=0.01)
    assert [a.period_start for a in fire(engine, rule)] == [week(1)]


def test_dropping_below_the_band_rearms_the_rule(engine):
    shares(engine, [5, 12, 9, 7, 9, 11])
    fired = fire(engine, UP)
    assert [a.period_start for a in fired] == [week(1), week(5)]
    assert fired[1].details["previous_share"] == pytest.approx(0.09)  # re-armed at 7 %, crossed from 9 %


def test_down_and_both_directions(engine):
    shares(engine, [15, 9, 11, 13, 9])
    down = ThresholdRule("pg-down", "pgvector", level=0.10, direction="down")
    both = ThresholdRule("pg-both", "pgvector", level=0.10, direction="both")
    assert [(a.period_start, a.direction) for a in fire(engine, down)] == [(week(1), "down"), (week(4), "down")]
    # "both": down in week 1; up in week 2 is allowed (never fired up); down in week 4 is allowed because
    # 13 % > 10 % + 2 % re-armed it in week 3.
    assert [(a.period_start, a.direction) for a in fire(engine, both)] == [
        (week(1), "down"), (week(2), "up"), (week(4), "down")]


def test_weeks_below_min_postings_are_skipped_not_zero(engine):
    fid = add_framework(engine)
    # week 1 (n=10, 50 %) and week 3 (n=5, 0 %) are too small to count.
    add_points(engine, fid, [(5, 100), (5, 10), (12, 100), (0, 5), (13, 100), (6, 100), (11, 100)])
    fired = fire(engine, ThresholdRule("pg", "pgvector", level=0.10, direction="both", min_postings=30))
    assert [(a.period_start, a.direction) for a in fired] == [(week(2), "up"), (week(5), "down"),
                                                              (week(6), "up")]
    assert fired[0].details["previous_week"] == "2026-W02"  # week 0, not the small week 1
    with_small = fire(engine, ThresholdRule("pg-small", "pgvector", level=0.10, direction="up", min_postings=5),
                      dry_run=True)
    assert [a.period_start for a in with_small] == [week(1), week(4), week(6)]  # 0 % in week 3 re-armed it


def test_star_rule_covers_every_framework_and_the_cohort_is_respected(engine):
    add_points(engine, add_framework(engine, "mcp", "MCP"), [(5, 100), (20, 100)])
    add_points(engine, add_framework(engine, "pgvector"), [(5, 100), (6, 100)])
    add_points(engine, add_framework(engine, "qdrant"), [(5, 100), (25, 100)], cohort="ai_swe")
    fired = fire(engine, ThresholdRule("any-10", "*", level=0.10, direction="up"))
    assert [a.subject for a in fired] == ["mcp"]
    assert fired[0].title == "MCP share up to 20.0% of AI-role postings (n=100) in 2026-W03"
    fired = fire(engine, ThresholdRule("swe-10", "*", level=0.10, direction="up", cohort="ai_swe"))
    assert [(a.subject, a.details["cohort"]) for a in fired] == [("qdrant", "ai_swe")]


def test_the_week_still_running_is_not_judged(engine):
    fid = add_framework(engine)
    add_points(engine, fid, [(5, 100), (20, 100)], start=dt.date(2026, 2, 23))  # the second is NOW's week
    assert fire(engine, UP) == []
    later = fire(engine, UP, now=NOW + dt.timedelta(days=7))
    assert [a.period_start for a in later] == [dt.date(2026, 3, 2)]


def test_weeks_limits_the_alerts_to_recent_ones(engine):
    shares(engine, [5, 12, 5, 12, 5, 12])  # fires in weeks 1, 3 and 5; NOW's week is week 8
    assert [a.period_start for a in fire(engine, UP, weeks=3)] == [week(5)]
    assert stored_count(engine) == 1
    assert [a.period_start for a in fire(engine, UP)] == [week(1), week(3), week(5)]
    assert stored_count(engine) == 3


# --- change ------------------------------------------------------------------------------------------------

def expected_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """The pooled two-proportion test, written out with NormalDist instead of erfc."""
    pooled = (k1 + k2) / (n1 + n2)
    z = (k1 / n1 - k2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 2 * (1 - NormalDist().cdf(abs(z)))


def test_two_proportion_p_value_matches_the_normal_distribution():
    z, p = two_proportion_p_value(44, 200, 80, 800)
    assert p == pytest.approx(expected_p(44, 200, 80, 800), rel=1e-6)
    assert z > 4 and p < 1e-4
    assert two_proportion_p_value(0, 50, 0, 200) == (0.0, 1.0)


CHANGE = ChangeRule("moved", "*", min_change=0.05, alpha=0.01, trailing_weeks=4, min_postings=30)


def test_change_fires_on_a_real_jump(engine):
    add_points(engine, add_framework(engine, "langchain", "LangChain"), [(20, 200)] * 4 + [(44, 200)])
    p = expected_p(44, 200, 80, 800)
    assert p < 1e-4  # the test clearly decides: a jump from 10 % to 22 % on 200 postings is real
    fired = fire(engine, CHANGE)
    assert len(fired) == 1
    alert = fired[0]
    assert (alert.subject, alert.period_start, alert.direction) == ("langchain", week(4), "up")
    assert alert.value == pytest.approx(0.22) and alert.threshold == pytest.approx(0.10)
    assert alert.details["p_value"] == pytest.approx(p, rel=1e-6)
    assert alert.details["change"] == pytest.approx(0.12)
    assert (alert.details["trailing_postings"], alert.details["trailing_mentioning"]) == (800, 80)
    assert alert.title == "LangChain share up 12.0 points to 22.0% of AI-role postings (n=200) in 2026-W06"


def test_change_ignores_noise_on_small_weeks(engine):
    # 10 % -> 23.3 % is 13 points, but on 30 postings a week that is p ~ 0.05: noise at alpha 0.01.
    add_points(engine, add_framework(engine, "langchain"), [(3, 30)] * 4 + [(7, 30)])
    p = expected_p(7, 30, 12, 120)
    assert 0.03 < p < 0.07
    assert fire(engine, CHANGE) == []
    # The week expects 3.8 mentions (< 5): the exact test decides, p = 0.065 (the z-test's 0.05 is too sure).
    exact = fisher_exact([[7, 23], [12, 108]]).pvalue
    assert exact == pytest.approx(0.0651, abs=1e-4)
    loose = ChangeRule("moved-loose", "langchain", min_change=0.05, alpha=0.07, trailing_weeks=4)
    [alert] = fire(engine, loose)
    assert alert.details["test"] == "fisher_exact" and alert.details["p_value"] == pytest.approx(exact, rel=1e-9)
    assert fire(engine, ChangeRule("moved-06", "langchain", min_change=0.05, alpha=0.06, trailing_weeks=4)) == []


def test_a_rare_framework_is_judged_by_the_exact_test(engine):
    # 4 of 50 after 0 of 200: the z-test says p = 6e-5, far past alpha 0.001; 0.8 mentions were expected in the
    # week, and the exact test's p = 1.4e-3 does not pass it.
    add_points(engine, add_framework(engine, "dspy"), [(0, 50)] * 4 + [(4, 50)])
    assert expected_p(4, 50, 0, 200) < 1e-4
    assert proportion_change_test(4, 50, 0, 200)[1:] == (pytest.approx(0.0014495, rel=1e-4), "fisher_exact")
    strict = ChangeRule("moved", "*", min_change=0.05, alpha=0.001, trailing_weeks=4, min_postings=50)
    assert fire(engine, strict) == []
    [alert] = fire(engine, ChangeRule("moved-01", "*", min_change=0.05, alpha=0.01, min_postings=50))
    assert alert.details["test"] == "fisher_exact" and alert.subject == "dspy"


def test_large_counts_keep_the_z_test(engine):
    z, p_value, test = proportion_change_test(44, 200, 80, 800)
    assert test == "two_proportion_z" and p_value == pytest.approx(expected_p(44, 200, 80, 800), rel=1e-9)


def test_change_needs_the_minimum_size_and_the_trailing_weeks(engine):
    # A significant but small move (10 % -> 13.5 % on 2,000 a week) is below min_change.
    add_points(engine, add_framework(engine, "pytorch"), [(200, 2000)] * 4 + [(270, 2000)])
    assert expected_p(270, 2000, 800, 8000) < 1e-4
    assert fire(engine, CHANGE) == []
    # Fewer trailing weeks than asked for: nothing to compare against yet.
    add_points(engine, add_framework(engine, "jax"), [(20, 200)] * 3 + [(60, 200)])
    assert fire(engine, ChangeRule("jax", "jax", trailing_weeks=4)) == []
    assert [a.direction for a in fire(engine, ChangeRule("jax3", "jax", trailing_weeks=3))] == ["up"]


def test_change_down_and_direction_filter(engine):
    add_points(engine, add_framework(engine, "langchain"), [(60, 200)] * 4 + [(30, 200)])
    assert [a.direction for a in fire(engine, CHANGE)] == ["down"]
    assert fire(engine, ChangeRule("up-only", "langchain", direction="up")) == []


# --- source health -----------------------------------------------------------------------------------------

def add_source(engine, key: str, health: str, since: dt.datetime | None, enabled: bool = True,
               error: str | None = None, failures: int = 0) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Source), {"kind": "ashby", "key": key, "company": key.title(), "enabled": enabled,
                                      "health": health, "health_since": since, "last_error": error,
                                      "consecutive_failures": failures})


HEALTH = SourceHealthRule("source-broken")


def test_source_health_fires_once_per_episode(engine):
    add_source(engine, "acme", "zero_yield", dt.datetime(2026, 2, 18, 6, 0, tzinfo=dt.UTC))
    add_source(engine, "fine", "ok", dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    add_source(engine, "off", "failing", dt.datetime(2026, 2, 1, tzinfo=dt.UTC), enabled=False)
    add_source(engine, "broken", "failing", dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC),
               error="http_503\n<html>oops</html>", failures=3)
    fired = fire(engine, HEALTH)
    assert [(a.subject, a.period_start) for a in fired] == [("ashby:acme", dt.date(2026, 2, 16)),
                                                           ("ashby:broken", dt.date(2026, 3, 2))]
    assert fired[0].details["health"] == "zero_yield" and fired[0].direction is None
    assert fired[0].title == "source ashby:acme is zero_yield since 2026-02-18"
    assert fired[1].value == 3 and fired[1].details["last_error"] == "http_503 <html>oops</html>"
    again = fire(engine, HEALTH, now=NOW + dt.timedelta(days=14))
    assert [a.new for a in again] == [False, False] and stored_count(engine) == 2
    only_gone = SourceHealthRule("gone", states=("gone",))
    assert fire(engine, only_gone) == []


# --- classifier drift --------------------------------------------------------------------------------------

DRIFT = ClassifierDriftRule("classifier-drift")
THIS_WEEK = dt.date(2026, 3, 2)  # NOW's week, still running


def test_a_jump_in_the_ai_share_fires_once_and_a_rerun_fires_nothing_new(engine):
    board = add_board(engine, "ashby", "acme")
    for i in range(10, 2, -1):  # 8 weeks of 20 % AI roles
        add_week(engine, board, THIS_WEEK - dt.timedelta(weeks=i), 100, ai=20, ml=10)
    jump = THIS_WEEK - dt.timedelta(weeks=2)
    add_week(engine, board, jump, 100, ai=45, ml=22)
    add_week(engine, board, THIS_WEEK - dt.timedelta(weeks=1), 100, ai=21, ml=10)  # 21 % against 23.1 %: inside
    add_week(engine, board, THIS_WEEK, 100, ai=60, ml=30)  # the running week is not judged
    fired = fire(engine, DRIFT)
    assert [(a.rule, a.subject, a.period_start, a.direction, a.new) for a in fired] == [
        ("classifier-drift", "ashby", jump, "up", True)]
    alert = fired[0]
    assert alert.value == pytest.approx(0.45) and alert.threshold == pytest.approx(0.2)
    assert alert.details["flags"] == ["ai_share up"] and alert.details["model_version"] == "v1"
    assert alert.details["trailing_postings"] == 800 and alert.details["ai_share_p_value"] < 0.001
    assert alert.title == "classifier AI share up 25.0 points to 45.0% (n=100) in 2026-W08 [ashby]"
    assert "Left the band: AI share outside" in alert.body and "2025-W52 to 2026-W07" in alert.body
    assert alert.dedupe_key == f"alert:classifier-drift:ashby:{jump.isoformat()}"
    with engine.connect() as conn:
        row = conn.execute(select(Alert)).one()
    assert (row.rule, row.subject, row.period_start, row.direction) == ("classifier-drift", "ashby", jump, "up")
    assert row.details["title"] == alert.title
    again = fire(engine, DRIFT, now=NOW + dt.timedelta(hours=1))
    assert [(a.key, a.new) for a in again] == [(alert.key, False)] and stored_count(engine) == 1
    combined = fire(engine, ClassifierDriftRule("drift-all", sources=("all",)), dry_run=True)
    assert [(a.subject, a.period_start) for a in combined] == [("all", jump)]  # "all" only when named
    assert fire(engine, ClassifierDriftRule("drift-hn", sources=("hackernews",))) == []


def test_classifier_drift_without_classifications_fires_nothing(engine):
    assert fire(engine, DRIFT) == []


# --- storage -----------------------------------------------------------------------------------------------

def test_rerun_is_idempotent(engine):
    shares(engine, [5, 12, 5, 12])
    add_source(engine, "acme", "gone", dt.datetime(2026, 2, 18, tzinfo=dt.UTC), failures=2)
    rules = [UP, HEALTH]
    first = fire(engine, *rules)
    assert len(first) == 3 and all(a.new for a in first)
    with engine.connect() as conn:
        before = conn.execute(select(Alert.id, Alert.fired_at).order_by(Alert.id)).all()
    second = fire(engine, *rules, now=NOW + dt.timedelta(hours=1))
    assert [a.key for a in second] == [a.key for a in first] and not any(a.new for a in second)
    with engine.connect() as conn:
        assert conn.execute(select(Alert.id, Alert.fired_at).order_by(Alert.id)).all() == before


def test_dry_run_writes_nothing(engine):
    shares(engine, [5, 12])
    dry = fire(engine, UP, dry_run=True)
    assert [(a.period_start, a.new) for a in dry] == [(week(1), True)]
    assert stored_count(engine) == 0
    fire(engine, UP)
    assert [a.new for a in fire(engine, UP, dry_run=True)] == [False]
    assert stored_count(engine) == 1


def test_new_alerts_are_queued_once(engine):
    from jobtrend.config import NotifySettings
    from jobtrend.models import Outbox

    settings = NotifySettings(webhooks=("https://hooks.example.org/jobtrend",))
    shares(engine, [5, 12])
    fired = fire(engine, UP, notify_settings=settings)
    with engine.connect() as conn:
        rows = conn.execute(select(Outbox.dedupe_key, Outbox.subject, Outbox.body)).all()
    assert len(rows) == 1
    assert rows[0].dedupe_key.startswith(f"alert:pgvector-10:pgvector:{week(1).isoformat()}")
    assert rows[0].subject == fired[0].title
    assert json.loads(rows[0].body)["period_start"] == week(1).isoformat()
    fire(engine, UP, notify_settings=settings)  # nothing new: nothing queued
    assert notify_new_alerts(engine, settings, fired) == 1  # queueing again is absorbed by the dedupe key
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Outbox)) == 1


def test_a_run_killed_while_queueing_loses_no_notification_and_sends_none_twice(engine, monkeypatch):
    import analysis.notify
    from jobtrend.config import NotifySettings
    from jobtrend.models import Outbox

    settings = NotifySettings(webhooks=("https://hooks.example.org/jobtrend",))
    shares(engine, [5, 12], slug="pgvector")
    shares(engine, [5, 15], slug="qdrant")
    every = ThresholdRule("any-10", "*", level=0.10, direction="up")
    real, calls = analysis.notify.queue_for_recipients, []

    def dies_on_the_second(*args, **kwargs):
        calls.append(kwargs["dedupe_key"])
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")  # the process dies here: nothing after it runs
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis.notify, "queue_for_recipients", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        fire(engine, every, notify_settings=settings)
    assert stored_count(engine) == 0  # nothing stored that was not queued
    monkeypatch.setattr(analysis.notify, "queue_for_recipients", real)
    fired = fire(engine, every, notify_settings=settings)
    assert [a.subject for a in fired if a.new] == ["pgvector", "qdrant"] and stored_count(engine) == 2
    with engine.connect() as conn:
        keys = conn.scalars(select(Outbox.dedupe_key).order_by(Outbox.dedupe_key)).all()
    assert len(keys) == 2 and [k.split(":")[2] for k in keys] == ["pgvector", "qdrant"]  # each once
    fire(engine, every, notify_settings=settings)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Outbox)) == 2


# --- configuration -----------------------------------------------------------------------------------------

def write_rules(tmp_path, text: str):
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    return path


def test_shipped_rules_load_against_the_shipped_taxonomy():
    config = load_config(REPO_ROOT / "config")
    rules = load_alert_rules(rules_path(config.config_dir), frameworks=[f.slug for f in config.frameworks])
    assert {r.kind for r in rules} == {"threshold", "change", "source_health", "classifier_drift"}
    assert len({r.name for r in rules}) == len(rules)


def test_rules_take_their_defaults(tmp_path):
    path = write_rules(tmp_path, '[[rules]]\nkind = "threshold"\nname = "a"\nframework = "mcp"\nlevel = 0.1\n'
                                 '[[rules]]\nkind = "change"\nname = "b"\nframework = "*"\n'
                                 '[[rules]]\nkind = "source_health"\nname = "c"\n'
                                 '[[rules]]\nkind = "source_health"\nname = "d"\nenabled = false\n'
                                 '[[rules]]\nkind = "classifier_drift"\nname = "e"\n'
                                 '[[rules]]\nkind = "classifier_drift"\nname = "f"\nsources = ["all", "lever"]\n')
    assert load_alert_rules(path) == (
        ThresholdRule("a", "mcp", 0.1, "both", "all", 30, 0.02),
        ChangeRule("b", "*", 0.05, "both", "all", 4, 0.01, 30),
        SourceHealthRule("c", ("zero_yield", "failing", "gone")),
        ClassifierDriftRule("e", ("ashby", "greenhouse", "lever", "hackernews", "jsonld"), 30, 0.001, 0.10, 0.05, 8),
        ClassifierDriftRule("f", ("all", "lever")),
    )


def test_a_missing_file_means_no_rules(tmp_path):
    assert load_alert_rules(tmp_path / "alerts.toml") == ()
    with pytest.raises(ConfigError, match="alerts.toml: \\(file\\)"):
        load_alert_rules(tmp_path / "alerts.toml", missing_ok=False)


THRESHOLD = '[[rules]]\nkind = "threshold"\nname = "r"\nframework = "mcp"\nlevel = 0.1\n'
DRIFT_RULE = '[[rules]]\nkind = "classifier_drift"\nname = "d"\n'


@pytest.mark.parametrize(("text", "key", "expected"), [
    ('[rules]\nkind = "x"\n', "rules", "a list"),
    ('[[rule]]\nkind = "threshold"\n', "rule", "one of max_messages, rules"),
    (THRESHOLD + "levle = 0.2\n", "rules[0].levle", "one of"),
    (THRESHOLD.replace("threshold", "treshold"), "rules[0].kind", "one of threshold, change, source_health"),
    (THRESHOLD.replace("0.1", "10"), "rules[0].level", "a share between 0 and 1"),
    (THRESHOLD.replace("0.1", "true"), "rules[0].level", "an integer or a number"),
    (THRESHOLD + 'direction = "sideways"\n', "rules[0].direction", "one of up, down, both"),
    (THRESHOLD + 'cohort = "everyone"\n', "rules[0].cohort", "one of all, ai_swe, ml_engineer"),
    (THRESHOLD + "min_postings = 0\n", "rules[0].min_postings", "at least 1"),
    (THRESHOLD + "hysteresis = -0.1\n", "rules[0].hysteresis", "0 or more"),
    (THRESHOLD.replace('name = "r"', 'name = "Has Spaces"'), "rules[0].name", "a lower-case id"),
    (THRESHOLD + THRESHOLD, "rules[1].name", "a name not used by another rule"),
    (THRESHOLD.replace('"mcp"', '"nope"'), "rules[0].framework", "the slug of an entry in frameworks.toml"),
    ('[[rules]]\nkind = "change"\nname = "c"\nframework = "*"\nalpha = 1.5\n', "rules[0].alpha", "between 0"),
    ('[[rules]]\nkind = "change"\nname = "c"\nframework = "*"\ntrailing_weeks = 0\n', "rules[0].trailing_weeks",
     "at least 1"),
    ('[[rules]]\nkind = "change"\nname = "c"\nframework = "*"\nlevel = 0.1\n', "rules[0].level", "one of"),
    ('[[rules]]\nkind = "source_health"\nname = "s"\nstates = ["broken"]\n', "rules[0].states[0]", "one of new"),
    ('[[rules]]\nkind = "source_health"\nname = "s"\nstates = []\n', "rules[0].states", "at least one"),
    (DRIFT_RULE + 'sources = ["ashby", "monster"]\n', "rules[0].sources[1]", "one of ashby, greenhouse"),
    (DRIFT_RULE + 'sources = ["ashby", "ashby"]\n', "rules[0].sources[1]", "each once"),
    (DRIFT_RULE + 'sources = "ashby"\n', "rules[0].sources", '"*" or a list of source kinds'),
    (DRIFT_RULE + "sources = []\n", "rules[0].sources", '"*" or a list of source kinds'),
    (DRIFT_RULE + "sources = 3\n", "rules[0].sources", "a string or a list"),
    (DRIFT_RULE + "confidence_drop = 0.5\n", "rules[0].confidence_drop", "between 0 and 0.5"),
    (DRIFT_RULE + "min_change = 10\n", "rules[0].min_change", "share points between 0 and 1"),
    (DRIFT_RULE + "alpha = 0\n", "rules[0].alpha", "a significance level"),
    (DRIFT_RULE + "trailing_weeks = 0\n", "rules[0].trailing_weeks", "at least 1"),
    (DRIFT_RULE + "min_postings = 0\n", "rules[0].min_postings", "at least 1"),
    (DRIFT_RULE + 'framework = "*"\n', "rules[0].framework", "one of alpha, confidence_drop"),
    ("[[rules]\n", "(syntax)", "valid TOML"),
])
def test_config_errors_name_file_and_key(tmp_path, text, key, expected):
    path = write_rules(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_alert_rules(path, frameworks=["mcp"])
    assert info.value.path == path and info.value.key == key
    assert str(info.value).startswith(f"{path}: {key}: expected ") and expected in str(info.value)


# --- CLI ---------------------------------------------------------------------------------------------------

def invoke(config_dir, db_url, args):
    env = {"JOBTREND_CONFIG_DIR": str(config_dir), "JOBTREND_DATABASE_URL": db_url}
    return CliRunner().invoke(main, ["alerts", *args], env=env)


def test_cli_dry_run_prints_the_table_and_stores_nothing(tmp_path, db_url, engine):
    config_dir = write_config(tmp_path / "config")
    (config_dir / "alerts.toml").write_text('[[rules]]\nkind = "threshold"\nname = "pytorch-10"\n'
                                            'framework = "pytorch"\nlevel = 0.1\ndirection = "up"\n')
    this_monday = dt.date.today() - dt.timedelta(days=dt.date.today().weekday())
    start = this_monday - dt.timedelta(weeks=3)
    add_points(engine, add_framework(engine, "pytorch", "PyTorch"), [(5, 100), (15, 100), (16, 100)], start=start)
    result = invoke(config_dir, db_url, ["--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["new", "rule", "subject", "week", "direction", "value", "threshold"]
    assert lines[2].split() == ["new", "pytorch-10", "pytorch", _label(start + dt.timedelta(weeks=1)), "up", "0.15",
                                "0.1"]
    assert lines[-1] == "1 alerts from 1 rules, 1 new (dry run: nothing stored)"
    assert stored_count(engine) == 0
    stored = invoke(config_dir, db_url, [])
    assert stored.exit_code == 0 and stored_count(engine) == 1
    again = json.loads(invoke(config_dir, db_url, ["--format", "json"]).output)
    assert [(a["rule"], a["new"]) for a in again] == [("pytorch-10", False)]


def test_cli_reports_rule_errors_and_missing_rules(tmp_path, db_url):
    config_dir = write_config(tmp_path / "config")
    result = invoke(config_dir, db_url, [])
    assert result.exit_code == 0 and "no alert rules in" in result.output
    bad = write_rules(tmp_path, THRESHOLD)  # "mcp" is not in this config's taxonomy
    result = invoke(config_dir, db_url, ["--rules", str(bad)])
    assert result.exit_code == 1
    assert f"configuration error: {bad}: rules[0].framework" in result.output


def _label(day: dt.date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


# --- docs --------------------------------------------------------------------------------------------------

DOCS_SQL = re.findall(r"```sql\n(.*?)```", (REPO_ROOT / "docs" / "alerts.md").read_text(), re.S)


def test_docs_have_sql_examples():
    assert len(DOCS_SQL) >= 3


@pytest.mark.parametrize("query", DOCS_SQL)
def test_documented_sql_runs_on_stored_alerts(db_url, engine, query):
    shares(engine, [5, 12])
    add_source(engine, "acme", "gone", dt.datetime(2026, 2, 18, tzinfo=dt.UTC), failures=2)
    fire(engine, UP, SourceHealthRule("source-broken"))
    columns, rows, _cut = run_read_only(db_url, query.strip().rstrip(";"), {}, 100, allow_superuser=True)
    assert columns and rows
