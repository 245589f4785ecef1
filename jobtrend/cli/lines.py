"""What the commands print about a use case's result, shared by the single commands and `jobtrend demo`."""

from __future__ import annotations

import os

from jobtrend.app.setup import InitResult
from jobtrend.output import render

SUMMARY_COLUMNS = ("source", "status", "seen", "new", "updated", "dropped", "closed", "reason")


def crawl_table(sources: dict) -> str:
    """The per-source lines of a crawl summary as a text table."""
    rows = [(label, s.get("status"), s.get("seen"), s.get("new"), s.get("updated"), s.get("dropped"),
             s.get("closed"), s.get("reason") or "") for label, s in sorted(sources.items())]
    return render(SUMMARY_COLUMNS, rows)


def crawl_totals(summary: dict) -> str:
    """One line: sources, postings seen and stored, time and rate."""
    sources = summary["sources"].values()
    stored = sum((s.get("new") or 0) + (s.get("updated") or 0) for s in sources)
    seen = sum(s.get("seen") or 0 for s in sources)
    failed = sum(1 for s in sources if s.get("status") != "ok")
    return (f"{len(summary['sources'])} sources ({failed} not ok), {seen} postings seen, {stored} new or updated, "
            f"{summary['elapsed_s']:.1f} s, {summary['postings_per_s']:.0f} postings/s")


def mentions_line(result) -> str:
    return (f"analysed {result.analyzed} postings ({result.with_mentions} mention a framework, "
            f"{result.mentions} mentions); taxonomy {result.taxonomy_version}")


def classify_line(result) -> str:
    return (f"classified {result.classified} postings: {result.ai_roles} AI roles (ai_swe {result.ai_swe}, "
            f"ml_engineer {result.ml_engineer}); model {result.model_version}")


def dedupe_line(result) -> str:
    """One line: what the duplicate linking found and changed."""
    return (f"{result.duplicates} of {result.postings} postings are duplicates of {result.groups} canonical "
            f"postings ({result.changed} changed; {result.texts_read} descriptions read), {result.seconds:.1f} s")


def model_line(result: InitResult) -> str:
    """Which role model `init` left in place."""
    path = result.model_path
    shown = os.path.relpath(path) if str(path).startswith(os.getcwd()) else path
    if result.trained_model is None:
        return f"role model: {shown} (kept; retrain with `jobtrend classifier train`)"
    return f"role model: trained {result.trained_model} from the bundled corpus, saved to {shown}"


def trends_lines(result) -> str:
    """The recompute summary (or, on a read-only database, why nothing was recomputed) and the cohort's table."""
    return f"{result.summary}\n\ncohort: {result.cohort}\n{result.table}"
