"""``trends``: recompute the weekly framework shares of every cohort (the weeks touched since the last run, or
all), and read the latest weeks of one cohort as a table."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.trends import compute_trends, latest_table
from jobtrend.config import Config
from jobtrend.db import open_engine


@dataclass(frozen=True)
class TrendsResult:
    """Weeks and trend points recomputed, and (when asked for) the table of one cohort's latest weeks."""

    weeks: int
    rows: int
    cohort: str | None = None
    table: str | None = None

    def counts(self) -> dict[str, int]:
        return {"weeks": self.weeks, "rows": self.rows}


def trends(config: Config, *, full: bool = False, cohort: str | None = None, weeks: int | None = None,
           top: int | None = None, min_postings: int | None = None) -> TrendsResult:
    """Recompute the trend points (``full``: every week), then, when ``cohort`` is given, the table of its latest
    ``weeks`` weeks and ``top`` frameworks (defaults from ``[trends]``)."""
    settings = config.trends
    with open_engine(config.database_url) as engine:
        result = compute_trends(engine, full=full)
        table = None if cohort is None else latest_table(
            engine, weeks=weeks or settings.weeks, top=top or settings.top, cohort=cohort,
            min_postings=settings.min_postings if min_postings is None else min_postings)
    return TrendsResult(weeks=len(result.weeks), rows=result.rows, cohort=cohort, table=table)
