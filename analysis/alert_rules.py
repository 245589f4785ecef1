"""Alert rules: the rule kinds and loading ``config/alerts.toml`` with every value checked (docs/alerts.md).

A missing file is no rules; every problem is a :class:`~jobtrend.config.ConfigError` naming the file, the key
(``rules[2].level``) and what was expected. Unknown keys are errors, so a typo never silences a rule.

Beside the rules, the file's top-level ``max_messages`` caps the notifications one run queues
(:func:`load_alert_limits`).

Cohorts: a rule's ``cohort`` is any cohort trend points are computed for (:func:`analysis.trends.is_cohort`):
``all`` (every AI role), each role, ``market`` (every posting) and ``market:<source kind>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from analysis.drift import ALL, DEFAULTS, DriftSettings
from analysis.role_rules import COHORTS as ROLE_COHORTS
from analysis.trends import cohort_names, is_cohort
from jobtrend.config import SLUG_RE, SOURCE_KINDS, ConfigError, read_toml, reject_unknown, typed
from jobtrend.health import FAILURE_STATES, STATES

COHORTS = cohort_names()  # the cohorts trend points are computed for: a rule may watch any of them

RULES_FILE = "alerts.toml"
KINDS = ("threshold", "change", "source_health", "classifier_drift", "pay_change")
PAY_COMPONENTS = ("base", "ote", "total")  # analysis.pay_stats.COMPONENT_GROUPS
DIRECTIONS = ("up", "down", "both")
DEFAULT_HEALTH_STATES = ("zero_yield", "failing", "gone")
DEFAULT_MIN_FAILURES = 2  # one failed crawl is usually transient (docs/operations.md)
DEFAULT_MAX_MESSAGES = 20  # notifications one alerts run may queue, the last one a summary of the rest


@dataclass(frozen=True)
class ThresholdRule:
    """The share of ``framework`` in ``cohort`` crosses ``level``; re-armed only past ``hysteresis``."""

    name: str
    framework: str  # a slug, or "*" for every framework
    level: float
    direction: str = "both"
    cohort: str = "all"
    min_postings: int = 30
    hysteresis: float = 0.02
    kind: str = "threshold"


@dataclass(frozen=True)
class ChangeRule:
    """A week's share moves by ``min_change`` or more against the pooled trailing weeks, with p < ``alpha``."""

    name: str
    framework: str
    min_change: float = 0.05
    direction: str = "both"
    cohort: str = "all"
    trailing_weeks: int = 4
    alpha: float = 0.01
    min_postings: int = 30
    kind: str = "change"


@dataclass(frozen=True)
class SourceHealthRule:
    """An enabled source's health is one of ``states``; for a failure state (``failing``, ``gone``) only once it
    has failed ``min_failures`` crawls in a row."""

    name: str
    states: tuple[str, ...] = DEFAULT_HEALTH_STATES
    min_failures: int = DEFAULT_MIN_FAILURES
    kind: str = "source_health"

    def fires_for(self, health: str, consecutive_failures: int | None) -> bool:
        """Whether a source in ``health`` after ``consecutive_failures`` failed crawls in a row is broken enough."""
        if health not in self.states:
            return False
        return health not in FAILURE_STATES or (consecutive_failures or 0) >= self.min_failures


@dataclass(frozen=True)
class AlertLimits:
    """The file's top-level settings: at most ``max_messages`` notifications per run (the last summarises the
    rest)."""

    max_messages: int = DEFAULT_MAX_MESSAGES


@dataclass(frozen=True)
class ClassifierDriftRule:
    """A week of a source kind whose role-classifier output leaves its band (analysis.drift, docs/drift.md)."""

    name: str
    sources: tuple[str, ...] = SOURCE_KINDS  # source kinds, and "all" for every kind together; "*" = every kind
    min_postings: int = DEFAULTS.min_postings
    alpha: float = DEFAULTS.alpha
    min_change: float = DEFAULTS.min_change
    confidence_drop: float = DEFAULTS.confidence_drop
    trailing_weeks: int = DEFAULTS.trailing_weeks
    kind: str = "classifier_drift"

    @property
    def settings(self) -> DriftSettings:
        return DriftSettings(self.min_postings, self.alpha, self.min_change, self.confidence_drop,
                             self.trailing_weeks)


@dataclass(frozen=True)
class PayChangeRule:
    """A month's median annualised pay of ``cohort`` (USD midpoint of the ``component`` group) moves by
    ``min_change`` (relative) or more against the pooled ``trailing_months`` before it, and the (1 - ``alpha``)
    bootstrap interval of the difference of medians excludes 0; both sides need ``min_postings`` postings."""

    name: str
    cohort: str = "all"
    component: str = "base"
    trailing_months: int = 3
    min_change: float = 0.10
    alpha: float = 0.05
    min_postings: int = 30
    direction: str = "both"
    kind: str = "pay_change"


AlertRule = ThresholdRule | ChangeRule | SourceHealthRule | ClassifierDriftRule | PayChangeRule


COMMON_KEYS = {"kind", "name", "enabled"}
RULE_KEYS = {
    "threshold": {"framework", "cohort", "level", "direction", "min_postings", "hysteresis"},
    "change": {"framework", "cohort", "trailing_weeks", "min_change", "alpha", "min_postings", "direction"},
    "source_health": {"states", "min_failures"},
    "classifier_drift": {"sources", "min_postings", "alpha", "min_change", "confidence_drop", "trailing_weeks"},
    "pay_change": {"cohort", "component", "trailing_months", "min_change", "alpha", "min_postings", "direction"},
}


TOP_LEVEL_KEYS = {"rules", "max_messages"}


def rules_path(config_dir: Path | str) -> Path:
    return Path(config_dir) / RULES_FILE


def load_alert_limits(path: Path | str) -> AlertLimits:
    """The top-level settings of alerts.toml (defaults when the file or the key is missing)."""
    path = Path(path)
    if not path.exists():
        return AlertLimits()
    data = read_toml(path)
    reject_unknown(path, data, TOP_LEVEL_KEYS, "")
    max_messages = typed(path, data, "max_messages", int, DEFAULT_MAX_MESSAGES, "")
    if max_messages < 1:
        raise ConfigError(path, "max_messages", "a number of messages per run, at least 1, e.g. 20", max_messages)
    return AlertLimits(max_messages)


def load_alert_rules(path: Path | str, *, frameworks: Iterable[str] | None = None,
                     missing_ok: bool = True) -> tuple[AlertRule, ...]:
    """Read and validate alerts.toml: ``[[rules]]`` tables. A missing file is no rules when ``missing_ok``.

    ``frameworks``: the known slugs; when given, a rule naming another framework is an error.
    """
    path = Path(path)
    if missing_ok and not path.exists():
        return ()
    data = read_toml(path)
    reject_unknown(path, data, TOP_LEVEL_KEYS, "")
    entries = typed(path, data, "rules", list, [], "")
    known = set(frameworks) if frameworks is not None else None
    rules, names = [], set()
    for i, entry in enumerate(entries):
        prefix = f"rules[{i}]."
        if not isinstance(entry, dict):
            raise ConfigError(path, f"rules[{i}]", "a table with kind and name", entry)
        kind = typed(path, entry, "kind", str, None, prefix)
        if kind not in KINDS:
            raise ConfigError(path, prefix + "kind", "one of " + ", ".join(KINDS), kind)
        reject_unknown(path, entry, COMMON_KEYS | RULE_KEYS[kind], prefix)
        name = typed(path, entry, "name", str, None, prefix)
        if name is None or not SLUG_RE.match(name) or len(name) > 100:
            raise ConfigError(path, prefix + "name", "a lower-case id such as 'pgvector-up' (at most 100 "
                              "characters), stored as alerts.rule", name)
        if name in names:
            raise ConfigError(path, prefix + "name", "a name not used by another rule", name)
        names.add(name)
        rule = _BUILDERS[kind](path, entry, prefix, name, known)
        if typed(path, entry, "enabled", bool, True, prefix):
            rules.append(rule)
    return tuple(rules)


def _threshold(path: Path, entry: dict, prefix: str, name: str, known: set[str] | None) -> ThresholdRule:
    level = typed(path, entry, "level", (int, float), None, prefix)
    if level is None or not 0 < level < 1:
        raise ConfigError(path, prefix + "level", "a share between 0 and 1 (exclusive), e.g. 0.10", level)
    hysteresis = typed(path, entry, "hysteresis", (int, float), ThresholdRule.hysteresis, prefix)
    if not 0 <= hysteresis < 1:
        raise ConfigError(path, prefix + "hysteresis", "a share of 0 or more, below 1, e.g. 0.02", hysteresis)
    return ThresholdRule(name, _framework(path, entry, prefix, known), float(level),
                         _direction(path, entry, prefix), _cohort(path, entry, prefix),
                         _min_postings(path, entry, prefix), float(hysteresis))


def _change(path: Path, entry: dict, prefix: str, name: str, known: set[str] | None) -> ChangeRule:
    min_change, alpha, trailing = _change_test(path, entry, prefix, ChangeRule, ("0.05", "0.01"))
    return ChangeRule(name, _framework(path, entry, prefix, known), min_change,
                      _direction(path, entry, prefix), _cohort(path, entry, prefix), trailing, alpha,
                      _min_postings(path, entry, prefix))


def _change_test(path: Path, entry: dict, prefix: str, rule: type,
                 examples: tuple[str, str]) -> tuple[float, float, int]:
    """``min_change``, ``alpha`` and ``trailing_weeks`` of a rule that tests a share against its trailing weeks
    (defaults: the class attributes of ``rule``; ``examples``: the values the messages suggest)."""
    min_change = typed(path, entry, "min_change", (int, float), rule.min_change, prefix)
    if not 0 < min_change < 1:
        raise ConfigError(path, prefix + "min_change", f"share points between 0 and 1, e.g. {examples[0]}",
                          min_change)
    alpha = typed(path, entry, "alpha", (int, float), rule.alpha, prefix)
    if not 0 < alpha < 1:
        raise ConfigError(path, prefix + "alpha", f"a significance level between 0 and 1, e.g. {examples[1]}",
                          alpha)
    trailing = typed(path, entry, "trailing_weeks", int, rule.trailing_weeks, prefix)
    if trailing < 1:
        raise ConfigError(path, prefix + "trailing_weeks", "a number of weeks, at least 1", trailing)
    return float(min_change), float(alpha), trailing


def _source_health(path: Path, entry: dict, prefix: str, name: str, _known: set[str] | None) -> SourceHealthRule:
    states = typed(path, entry, "states", list, list(DEFAULT_HEALTH_STATES), prefix)
    if not states:
        raise ConfigError(path, prefix + "states", "at least one health state", states)
    for j, state in enumerate(states):
        if state not in STATES:
            raise ConfigError(path, f"{prefix}states[{j}]", "one of " + ", ".join(STATES), state)
    min_failures = typed(path, entry, "min_failures", int, DEFAULT_MIN_FAILURES, prefix)
    if min_failures < 1:
        raise ConfigError(path, prefix + "min_failures", "a number of failed crawls in a row, at least 1, e.g. 2",
                          min_failures)
    return SourceHealthRule(name, tuple(states), min_failures)


def _classifier_drift(path: Path, entry: dict, prefix: str, name: str,
                      _known: set[str] | None) -> ClassifierDriftRule:
    min_change, alpha, trailing = _change_test(path, entry, prefix, ClassifierDriftRule, ("0.10", "0.001"))
    drop = typed(path, entry, "confidence_drop", (int, float), ClassifierDriftRule.confidence_drop, prefix)
    if not 0 < drop < 0.5:
        raise ConfigError(path, prefix + "confidence_drop", "a fall in mean confidence between 0 and 0.5 "
                          "(exclusive), e.g. 0.05", drop)
    return ClassifierDriftRule(name, _sources(path, entry, prefix), _min_postings(path, entry, prefix),
                               alpha, min_change, float(drop), trailing)


def _pay_change(path: Path, entry: dict, prefix: str, name: str, _known: set[str] | None) -> PayChangeRule:
    component = typed(path, entry, "component", str, PayChangeRule.component, prefix)
    if component not in PAY_COMPONENTS:
        raise ConfigError(path, prefix + "component", "one of " + ", ".join(PAY_COMPONENTS), component)
    trailing = typed(path, entry, "trailing_months", int, PayChangeRule.trailing_months, prefix)
    if trailing < 1:
        raise ConfigError(path, prefix + "trailing_months", "a number of months, at least 1", trailing)
    min_change = typed(path, entry, "min_change", (int, float), PayChangeRule.min_change, prefix)
    if not 0 < min_change < 1:
        raise ConfigError(path, prefix + "min_change", "a relative change of the median between 0 and 1, e.g. 0.10",
                          min_change)
    alpha = typed(path, entry, "alpha", (int, float), PayChangeRule.alpha, prefix)
    if not 0 < alpha < 1:
        raise ConfigError(path, prefix + "alpha", "a significance level between 0 and 1, e.g. 0.05", alpha)
    return PayChangeRule(name, _cohort(path, entry, prefix), component, trailing, float(min_change), float(alpha),
                         _min_postings(path, entry, prefix), _direction(path, entry, prefix))


_BUILDERS = {"threshold": _threshold, "change": _change, "source_health": _source_health,
             "classifier_drift": _classifier_drift, "pay_change": _pay_change}


def _sources(path: Path, entry: dict, prefix: str) -> tuple[str, ...]:
    """``"*"`` (every source kind, each its own subject) or a list of source kinds and ``"all"``."""
    expected = f'"*" or a list of source kinds ({", ".join(SOURCE_KINDS)}) and "{ALL}"'
    value = typed(path, entry, "sources", (str, list), "*", prefix)
    if value == "*":
        return SOURCE_KINDS
    if isinstance(value, str) or not value:
        raise ConfigError(path, prefix + "sources", expected, value)
    for j, kind in enumerate(value):
        if kind not in (ALL, *SOURCE_KINDS) or kind in value[:j]:
            raise ConfigError(path, f"{prefix}sources[{j}]", f'one of {", ".join(SOURCE_KINDS)}, {ALL}, each once',
                              kind)
    return tuple(value)


def _framework(path: Path, entry: dict, prefix: str, known: set[str] | None) -> str:
    slug = typed(path, entry, "framework", str, None, prefix)
    if slug == "*":
        return slug
    if slug is None or not SLUG_RE.match(slug):
        raise ConfigError(path, prefix + "framework", 'a framework slug such as "pgvector", or "*" for all', slug)
    if known is not None and slug not in known:
        raise ConfigError(path, prefix + "framework", "the slug of an entry in frameworks.toml", slug)
    return slug


def _direction(path: Path, entry: dict, prefix: str) -> str:
    value = typed(path, entry, "direction", str, "both", prefix)
    if value not in DIRECTIONS:
        raise ConfigError(path, prefix + "direction", "one of " + ", ".join(DIRECTIONS), value)
    return value


def _cohort(path: Path, entry: dict, prefix: str) -> str:
    value = typed(path, entry, "cohort", str, "all", prefix)
    if not is_cohort(value):
        raise ConfigError(path, prefix + "cohort", f"one of {', '.join(ROLE_COHORTS)}, market, or market:<source "
                          f"kind> (one of {', '.join(SOURCE_KINDS)})", value)
    return value


def _min_postings(path: Path, entry: dict, prefix: str) -> int:
    value = typed(path, entry, "min_postings", int, 30, prefix)
    if value < 1:
        raise ConfigError(path, prefix + "min_postings", "a number of postings, at least 1", value)
    return value
