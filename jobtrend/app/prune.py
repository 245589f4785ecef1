"""``prune``: thin out the service's own history older than ``[retention] days`` (see
:mod:`jobtrend.retention`): sent outbox rows lose their content, finished job runs go, each job's latest stays."""

from __future__ import annotations

from jobtrend.config import Config
from jobtrend.db import open_engine
from jobtrend.retention import PruneResult, prune_history


def prune(config: Config, *, days: int | None = None, dry_run: bool = False) -> PruneResult:
    """Prune history older than ``days`` (default ``[retention] days``); ``dry_run`` counts and changes nothing."""
    with open_engine(config.database_url) as engine:
        return prune_history(engine, days or config.retention.days, dry_run=dry_run)
