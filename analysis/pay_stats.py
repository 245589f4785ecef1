"""Pay statistics on the stored pay: medians and quartiles of the annualised midpoint, with bootstrap intervals and
n, by role, seniority, region, framework or specialisation, and by month (docs/pay-analysis.md).

The unit is a posting's **primary** pay (``compensation.is_primary``, docs/pay.md), of a measured posting
(canonical, analysed, with a description: :func:`analysis.trends.measured_postings_clause`) in a cohort
(:func:`analysis.trends.in_cohort`; default ``all``, every AI role). Its figure is the annualised midpoint,
``(annual_min + annual_max) / 2``: a range without both ends ("up to X") has none and is left out.

- **Like with like**: one component group at a time (:data:`COMPONENT_GROUPS`): ``base`` is base salary and
  hourly pay annualised (the default), ``ote`` on-target earnings, ``total`` pay including equity.
- **Currency**: ``USD`` (default) converts with the shipped table (``rates_date`` goes with every figure);
  ``own`` keeps each posting's currency and groups by it (figures of two currencies are never pooled); a code
  (``EUR``) keeps the postings in that currency, in it.
- **Intervals**: a percentile bootstrap of the median, :data:`RESAMPLES` resamples drawn with a fixed seed
  (:data:`SEED`), so the same data prints the same interval. A group with fewer than :data:`MIN_N` postings is
  printed but marked: its median moves by tens of thousands when one posting comes or goes.
- **Regions** (:func:`region_of`): from the location text, see :data:`REGION_TERMS`.
- **Specialisations** (:data:`SPECIALISATIONS`): postings mentioning any entry of a group, against every posting
  of the same seniority in the cohort (group members included): the difference of medians with a bootstrap
  interval (both samples resampled independently).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy import Engine, and_, select

from analysis.filters import PostingFilter
from analysis.trends import in_cohort, measured_postings_clause
from jobtrend.currency import shipped_rates
from jobtrend.models import Classification, Compensation, Mention, Posting, Source
from jobtrend.models import Framework as FrameworkRow

COMPONENT_GROUPS = {"base": ("base", "hourly"), "ote": ("ote",), "total": ("total",)}
BY = ("role", "seniority", "framework", "region", "specialisation")
RESAMPLES = 2000
SEED = 20261207
MIN_N = 20  # fewer postings: printed, marked "low n"
LEVELS = ("intern", "junior", "mid", "senior", "staff", "principal", "manager", "director", "executive")
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")

# Regions, tried in this order; a location naming two ("San Francisco or London") takes the first that matches.
# Terms are matched as whole words of the lower-cased location with , ( ) / - | ; . replaced by spaces. Migration
# 0010 holds a frozen copy for the view posting_pay: change both (tests/jobtrend/test_views.py compares them).
# "remote-US" is a US location on a posting marked remote or saying "remote". No location: "unknown"; a location
# none of these name ("Remote", "Singapore", "Tel Aviv"): "other".
REGION_TERMS: dict[str, tuple[str, ...]] = {
    "US": ("us", "usa", "united states", "u s", "san francisco", "sf", "bay area", "new york", "nyc", "seattle",
           "boston", "austin", "los angeles", "palo alto", "mountain view", "menlo park", "sunnyvale", "san jose",
           "san mateo", "redwood city", "chicago", "denver", "washington dc", "atlanta", "miami", "pittsburgh",
           "ca", "ny", "wa", "ma", "tx", "co", "il", "ga", "nc", "va", "pa", "nj", "fl", "az", "ut", "md", "mn",
           "mi", "oh", "dc", "wi", "california", "texas", "colorado", "massachusetts", "washington",
           "new jersey", "ohio", "arizona", "utah", "nevada", "hawaii", "kansas", "wisconsin", "oregon",
           "illinois", "florida", "virginia", "pennsylvania", "michigan", "minnesota", "north carolina",
           "berkeley", "santa monica", "san diego", "el segundo", "portland", "philadelphia", "detroit"),
    "Canada": ("canada", "toronto", "vancouver", "montreal", "montréal", "ottawa", "waterloo", "calgary", "on",
               "bc", "qc"),
    "UK": ("uk", "united kingdom", "england", "scotland", "london", "manchester", "edinburgh", "bristol",
           "oxford"),
    "EU": ("eu", "europe", "germany", "berlin", "munich", "münchen", "hamburg", "france", "paris",
           "netherlands", "amsterdam", "spain", "madrid", "barcelona", "ireland", "dublin", "italy", "milan",
           "poland", "warsaw", "krakow", "sweden", "stockholm", "denmark", "copenhagen", "portugal", "lisbon",
           "belgium", "brussels", "austria", "vienna", "finland", "helsinki", "czech republic", "czechia",
           "prague", "romania", "greece", "estonia", "zurich"),
    "India": ("india", "bangalore", "bengaluru", "hyderabad", "pune", "mumbai", "delhi", "new delhi", "gurgaon",
              "gurugram", "noida", "chennai"),
}
REGIONS = ("US", "remote-US", "Canada", "UK", "EU", "India", "other", "unknown")
SEPARATORS = ",()/-|;."

# Specialisations: framework slugs of config/frameworks.toml (tests/analysis/test_pay_stats.py checks each).
# The taxonomy has no safety entry: "evals" is the evaluation tooling a safety or evals job names.
SPECIALISATIONS: dict[str, tuple[str, ...]] = {
    "inference": ("quantization", "tensorrt", "tensorrt-llm", "vllm", "sglang", "onnx-runtime", "cuda",
                  "openai-triton", "distillation", "tgi", "triton-inference-server", "llama-cpp"),
    "fine-tuning": ("fine-tuning", "lora", "rlhf", "dpo", "peft", "trl", "unsloth"),
    "evals": ("evals", "ragas", "arize", "langsmith", "langfuse"),
    "rag-agents": ("rag", "langchain", "langgraph", "llamaindex", "haystack", "dspy", "crewai", "autogen",
                   "smolagents", "pydantic-ai", "openai-agents-sdk", "mcp", "pgvector", "pinecone", "weaviate",
                   "chroma", "qdrant", "milvus", "faiss", "lancedb", "turbopuffer"),
}


class PayQueryError(ValueError):
    """An option the pay statistics cannot take; the message is one line."""


def normalise_location(location: str | None) -> str:
    """`` san francisco  ca `` for "San Francisco, CA": lower case, separators as spaces, padded with a space each
    side (the view ``posting_pay`` of migration 0010 does the same in SQL)."""
    text = (location or "").lower()
    for sep in SEPARATORS:
        text = text.replace(sep, " ")
    return f" {text} "


def region_of(location: str | None, remote: bool | None = None) -> str:
    """The region of a posting's location text (:data:`REGION_TERMS`)."""
    if not (location or "").strip():
        return "unknown"
    text = normalise_location(location)
    for region, terms in REGION_TERMS.items():
        if any(f" {term} " in text for term in terms):
            if region == "US" and (remote or " remote " in text):
                return "remote-US"
            return region
    return "other"


@dataclass(frozen=True)
class PayRecord:
    """One posting's primary pay: the figure (annualised midpoint, in ``currency``) and what it is grouped by."""

    posting_id: int
    value: float
    currency: str
    role: str
    seniority: str
    region: str
    month: dt.date | None
    frameworks: frozenset[str]


def check_options(by: str, component: str, currency: str, grain: str | None) -> None:
    """:class:`PayQueryError` for an option outside the choices."""
    if by not in BY:
        raise PayQueryError(f"unknown --by {by!r}: expected one of {', '.join(BY)}")
    if component not in COMPONENT_GROUPS:
        raise PayQueryError(f"unknown component {component!r}: expected one of {', '.join(COMPONENT_GROUPS)}")
    if currency not in ("USD", "own") and not CURRENCY_CODE.match(currency):
        raise PayQueryError(f"unknown currency {currency!r}: expected USD, own, or a 3-letter code such as EUR")
    if grain not in (None, "month"):
        raise PayQueryError(f"unknown grain {grain!r}: expected month")


def pay_records(engine: Engine, *, cohort: str = "all", component: str = "base", currency: str = "USD",
                posting_filter: PostingFilter | None = None, since: dt.date | None = None,
                until: dt.date | None = None) -> list[PayRecord]:
    """The primary pay of every measured posting of ``cohort`` with a midpoint in the component group (of the
    months from ``since`` on, a 1st, and the weeks up to ``until``, a Monday, when given)."""
    try:
        cohort_condition = in_cohort(cohort)
    except ValueError as exc:
        raise PayQueryError(str(exc)) from None
    query = (
        select(Posting.id, Posting.location, Posting.remote, Posting.seniority, Posting.posted_month,
               Classification.is_ai_role, Classification.role, Classification.posting_id.label("classified"),
               Compensation.currency, Compensation.annual_min, Compensation.annual_max, Compensation.usd_min,
               Compensation.usd_max)
        .join(Compensation, and_(Compensation.posting_id == Posting.id, Compensation.is_primary.is_(True)))
        .join(Source, Source.id == Posting.source_id)
        .outerjoin(Classification, Classification.posting_id == Posting.id)
        .where(measured_postings_clause(), cohort_condition,
               Compensation.component.in_(COMPONENT_GROUPS[component]),
               *(posting_filter or PostingFilter()).clauses(Posting))
        .order_by(Posting.id))
    if since is not None:
        query = query.where(Posting.posted_month >= since)
    if until is not None:
        query = query.where(Posting.posted_week <= until)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        frameworks = _frameworks_of(conn, [row.id for row in rows])
    records = []
    for row in rows:
        value, code = _figure(row, currency)
        if value is None:
            continue
        records.append(PayRecord(row.id, value, code, _role(row), row.seniority or "unknown",
                                 region_of(row.location, row.remote), row.posted_month,
                                 frameworks.get(row.id, frozenset())))
    return records


def _figure(row, currency: str) -> tuple[float | None, str]:
    """The midpoint in USD, or in the posting's currency (``own``, or when it is the code asked for)."""
    if currency == "USD":
        both = row.usd_min is not None and row.usd_max is not None
        return ((row.usd_min + row.usd_max) / 2 if both else None), "USD"
    if currency != "own" and row.currency != currency:
        return None, currency
    both = row.annual_min is not None and row.annual_max is not None and row.currency
    return ((row.annual_min + row.annual_max) / 2 if both else None), row.currency or ""


def _role(row) -> str:
    if row.classified is None:
        return "unclassified"
    return row.role if row.is_ai_role else "not_ai"


def _frameworks_of(conn, ids: Sequence[int]) -> dict[int, frozenset[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        query = (select(Mention.posting_id, FrameworkRow.slug)
                 .join(FrameworkRow, FrameworkRow.id == Mention.framework_id).where(Mention.posting_id.in_(chunk)))
        for posting_id, slug in conn.execute(query):
            found[posting_id].add(slug)
    return {pid: frozenset(slugs) for pid, slugs in found.items()}


# --- statistics --------------------------------------------------------------------------------------------


def bootstrap_medians(values: Sequence[float], *, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """The medians of ``resamples`` resamples (with replacement) of ``values``, seeded."""
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data), size=(resamples, len(data)))
    return np.median(data[picks], axis=1)


def median_interval(values: Sequence[float], *, level: float = 0.95, resamples: int = RESAMPLES,
                    seed: int = SEED) -> tuple[float, float]:
    """A percentile bootstrap interval of the median."""
    medians = bootstrap_medians(values, resamples=resamples, seed=seed)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return float(low), float(high)


def difference_interval(group: Sequence[float], reference: Sequence[float], *, level: float = 0.95,
                        resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float]:
    """A percentile bootstrap interval of median(group) - median(reference), each resampled on its own."""
    diffs = (bootstrap_medians(group, resamples=resamples, seed=seed)
             - bootstrap_medians(reference, resamples=resamples, seed=seed + 1))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class PayGroup:
    """The figures of one group: n, median, quartiles and the median's 95 % interval."""

    key: tuple[str, ...]
    currency: str
    n: int
    median: float
    q1: float
    q3: float
    ci_low: float
    ci_high: float

    @property
    def low_n(self) -> bool:
        return self.n < MIN_N


def summarise(key: tuple[str, ...], currency: str, values: Sequence[float]) -> PayGroup:
    q1, median, q3 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    low, high = median_interval(values)
    return PayGroup(key, currency, len(values), float(median), float(q1), float(q3), low, high)


@dataclass(frozen=True)
class SpecialisationRow:
    """A specialisation's median against every posting of the same seniority, and the difference."""

    specialisation: str
    seniority: str
    currency: str
    n: int
    median: float
    n_reference: int
    median_reference: float
    difference: float
    ci_low: float
    ci_high: float

    @property
    def low_n(self) -> bool:
        return self.n < MIN_N


def _keys(record: PayRecord, by: str) -> Iterable[str]:
    if by == "framework":
        return sorted(record.frameworks)
    if by == "specialisation":
        return [name for name, slugs in SPECIALISATIONS.items() if record.frameworks & set(slugs)]
    return [getattr(record, by)]


def group_table(records: Sequence[PayRecord], by: str, *, grain: str | None = None) -> list[PayGroup]:
    """One :class:`PayGroup` per value of ``by`` (a posting may count in several frameworks or
    specialisations), per month with ``grain="month"``, per currency: sorted by month, then the group's n."""
    groups: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for record in records:
        month = (record.month.strftime("%Y-%m") if record.month else "?",) if grain == "month" else ()
        for key in _keys(record, by):
            groups[(*month, key, record.currency)].append(record.value)
    out = [summarise(key[:-1], key[-1], values) for key, values in groups.items()]
    if grain == "month":
        return sorted(out, key=lambda g: (g.key[0], -g.n, g.key[1:]))
    return sorted(out, key=lambda g: (-g.n, g.key, g.currency))


def specialisation_table(records: Sequence[PayRecord]) -> list[SpecialisationRow]:
    """Each specialisation against every posting of the same seniority (and of every seniority pooled, ``all
    levels``), per currency; levels with no posting of the specialisation are left out."""
    by_level: dict[tuple[str, str], list[PayRecord]] = defaultdict(list)
    for record in records:
        by_level[(record.seniority, record.currency)].append(record)
        by_level[("all levels", record.currency)].append(record)
    rows = []
    for name, slugs in SPECIALISATIONS.items():
        wanted = set(slugs)
        for (level, currency), members in by_level.items():
            group = [r.value for r in members if r.frameworks & wanted]
            if not group:
                continue
            reference = [r.value for r in members]
            low, high = difference_interval(group, reference)
            median, ref_median = float(np.median(group)), float(np.median(reference))
            rows.append(SpecialisationRow(name, level, currency, len(group), median, len(reference), ref_median,
                                          median - ref_median, low, high))
    order = {level: i for i, level in enumerate((*LEVELS, "unknown", "all levels"))}
    return sorted(rows, key=lambda r: (list(SPECIALISATIONS).index(r.specialisation),
                                       order.get(r.seniority, 99), r.currency))


# --- the whole answer and its formats ----------------------------------------------------------------------


@dataclass(frozen=True)
class PayStats:
    """What ``jobtrend pay`` prints: the groups (or specialisation rows), and how they were chosen."""

    by: str
    grain: str | None
    cohort: str
    component: str
    currency: str
    rates_date: str
    postings: int
    groups: tuple[PayGroup, ...] = ()
    specialisations: tuple[SpecialisationRow, ...] = ()
    filter_text: str = ""


def pay_stats(engine: Engine, *, by: str = "role", grain: str | None = None, cohort: str = "all",
              component: str = "base", currency: str = "USD", posting_filter: PostingFilter | None = None,
              top: int | None = None) -> PayStats:
    """The pay statistics asked for (see the module docstring); ``top`` keeps the largest groups (frameworks)."""
    check_options(by, component, currency, grain)
    records = pay_records(engine, cohort=cohort, component=component, currency=currency,
                          posting_filter=posting_filter)
    common = {"by": by, "grain": grain, "cohort": cohort, "component": component, "currency": currency,
              "rates_date": shipped_rates().date, "postings": len(records),
              "filter_text": (posting_filter or PostingFilter()).describe()}
    if by == "specialisation":
        return PayStats(**common, specialisations=tuple(specialisation_table(records)))
    groups = group_table(records, by, grain=grain)
    if top is not None and grain is None:
        groups = groups[:top]
    return PayStats(**common, groups=tuple(groups))


def money(value: float) -> str:
    """``201k`` for 201,000; small figures in full."""
    return _money(value)


def _money(value: float) -> str:
    return f"{value / 1000:,.0f}k" if abs(value) >= 1000 else f"{value:,.0f}"


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + _money(abs(value))


def format_text(stats: PayStats) -> str:
    """The terminal table, with a header saying what the figures are and the rates date."""
    figure = "USD (rates of " + stats.rates_date + ")" if stats.currency == "USD" else (
        "the posting's own currency" if stats.currency == "own" else stats.currency)
    header = [f"Annualised midpoint of posted {stats.component} pay ({', '.join(COMPONENT_GROUPS[stats.component])}"
              f"), {figure}; cohort {stats.cohort}; {stats.postings} postings with a midpoint.",
              f"Median [95% bootstrap interval, {RESAMPLES} resamples, seed {SEED}], quartiles; "
              f"* = n below {MIN_N}, too few to read."]
    if stats.filter_text:
        header.insert(1, f"postings: {stats.filter_text}")
    if stats.postings == 0:
        return "\n".join([*header, "", "No posting with this pay yet: run `jobtrend analyze` (reads pay), or widen "
                          "the cohort or component."])
    body = _specialisation_grid(stats.specialisations) if stats.by == "specialisation" else _group_grid(stats)
    return "\n".join([*header, "", body])


def _group_grid(stats: PayStats) -> str:
    names = (["month"] if stats.grain == "month" else []) + [stats.by]
    header = [*names, "currency", "n", "median", "95% interval", "q1", "q3", ""]
    rows = [[*g.key, g.currency, str(g.n), _money(g.median), f"{_money(g.ci_low)}-{_money(g.ci_high)}",
             _money(g.q1), _money(g.q3), "*" if g.low_n else ""] for g in stats.groups]
    return grid(header, rows)


def _specialisation_grid(rows: Sequence[SpecialisationRow]) -> str:
    header = ["specialisation", "seniority", "currency", "n", "median", "all n", "all median", "difference",
              "95% interval", ""]
    body = [[r.specialisation, r.seniority, r.currency, str(r.n), _money(r.median), str(r.n_reference),
             _money(r.median_reference), _signed(r.difference), f"{_signed(r.ci_low)} to {_signed(r.ci_high)}",
             "*" if r.low_n else ""] for r in rows]
    return grid(header, body) + ("\n\nall = every posting of the cohort at that seniority (the specialisation's "
                                 "own included).")


def grid(header: list[str], rows: list[list[str]]) -> str:
    """A left-aligned text table."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in [header, *rows])


def _records_as_dicts(stats: PayStats) -> list[dict]:
    common = {"component": stats.component, "cohort": stats.cohort, "rates_date": stats.rates_date}
    if stats.by == "specialisation":
        return [asdict(r) | {"low_n": r.low_n} | common for r in stats.specialisations]
    names = (["month"] if stats.grain == "month" else []) + [stats.by]
    out = []
    for g in stats.groups:
        row = dict(zip(names, g.key, strict=True))
        row |= {k: v for k, v in asdict(g).items() if k != "key"} | {"low_n": g.low_n} | common
        out.append(row)
    return out


def format_csv(stats: PayStats) -> str:
    rows = _records_as_dicts(stats)
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def format_json(stats: PayStats) -> str:
    meta = {k: v for k, v in asdict(stats).items() if k not in ("groups", "specialisations")}
    return json.dumps(meta | {"resamples": RESAMPLES, "seed": SEED, "min_n": MIN_N,
                              "rows": _records_as_dicts(stats)}, indent=2)


FORMATS: dict[str, Callable[[PayStats], str]] = {"text": format_text, "csv": format_csv, "json": format_json}
