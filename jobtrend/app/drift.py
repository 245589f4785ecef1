"""``drift``: the deployed role classifier's output per week and source kind, judged against its band."""

from __future__ import annotations

from analysis.drift import DriftResult, classifier_drift
from jobtrend.config import Config
from jobtrend.db import open_engine


def drift(config: Config, *, weeks: int = 8, source: str | None = None) -> DriftResult:
    """The latest ``weeks`` weeks with classified postings, of one source kind (None: all, then each kind)."""
    with open_engine(config.database_url) as engine:
        return classifier_drift(engine, weeks=weeks, source=source)
