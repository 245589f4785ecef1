"""``alerts``: evaluate the rules of ``alerts.toml`` over the weekly shares and source health, store each new
alert once and queue its notification for every recipient (the failing sources of a run as one digest, at most
``max_messages`` messages a run); ``stored_alerts``: the alerts stored so far, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from analysis.alerts import evaluate_alerts, load_alert_limits, load_alert_rules, rules_path
from crawler import settings as crawler_settings
from jobtrend.app import AppError
from jobtrend.config import Config, NotifySettings
from jobtrend.db import open_engine
from jobtrend.models import Alert

SCHEDULED_WEEKS = 2  # the scheduler looks at the current week and the two before it: a first run notifies no history


@dataclass(frozen=True)
class AlertsResult:
    """The rules read (from ``path``), the alerts that fired (``new`` on those stored by this run), and whether
    new alerts were queued for anyone."""

    path: Path
    rules: int
    fired: Sequence[Any]
    dry_run: bool
    notifying: bool

    @property
    def new(self) -> int:
        return sum(1 for alert in self.fired if alert.new)

    def counts(self) -> dict[str, int]:
        return {"rules": self.rules, "fired": len(self.fired), "new": self.new}


def has_recipients(settings: NotifySettings | None) -> bool:
    """Whether anything would be queued: an ``[email]`` table or a ``[notify]`` webhook."""
    return settings is not None and (settings.email is not None or bool(settings.webhooks))


def alerts(config: Config, *, rules_file: Path | None = None, weeks: int | None = None,
           dry_run: bool = False) -> AlertsResult:
    """Evaluate the rules (``rules_file``, default ``alerts.toml`` in the config folder) over the current week and
    ``weeks`` before it (None: every week); ``dry_run`` stores and queues nothing. ConfigError on a bad rules
    file."""
    path = rules_file or rules_path(config.config_dir)
    rules = load_alert_rules(path, frameworks=[f.slug for f in config.frameworks])
    limits = load_alert_limits(path)
    notify = None if dry_run else config.notify
    if not rules:
        return AlertsResult(path, 0, (), dry_run, has_recipients(notify))
    with open_engine(config.database_url) as engine:
        try:
            fired = evaluate_alerts(engine, rules, weeks=weeks, dry_run=dry_run, notify_settings=notify,
                                    max_messages=limits.max_messages, hosts=source_hosts())
        except ImportError as exc:
            raise AppError(f"cannot queue notifications: {exc}") from None
    return AlertsResult(path, len(rules), fired, dry_run, has_recipients(notify))


API_BASES = {"ashby": "ASHBY_API_BASE", "greenhouse": "GREENHOUSE_API_BASE", "lever": "LEVER_API_BASE",
             "hackernews": "HN_ALGOLIA_API_BASE"}


def source_hosts() -> dict[str, str]:
    """Source kind -> the host the crawler reads its boards from (``ashby`` -> ``api.ashbyhq.com``), named in
    a digest of network failures. Career sites (jsonld) are read from their own hosts."""
    hosts = {}
    for kind, setting in API_BASES.items():
        host = urlsplit(getattr(crawler_settings, setting, "") or "").hostname
        if host:
            hosts[kind] = host
    return hosts


LIST_COLUMNS = ("fired_at", "rule", "subject", "week", "title")


def stored_alerts(config: Config, *, limit: int = 50) -> list[tuple]:
    """The newest ``limit`` stored alerts (``jobtrend alerts --list``): fired_at, rule, subject, week, title."""
    query = (select(Alert.fired_at, Alert.rule, Alert.subject, Alert.period_start, Alert.details)
             .order_by(Alert.fired_at.desc(), Alert.id.desc()).limit(limit))
    with open_engine(config.database_url, read_only=True) as engine, engine.connect() as conn:
        rows = conn.execute(query).all()
    return [(row.fired_at, row.rule, row.subject, (row.details or {}).get("week") or row.period_start,
             (row.details or {}).get("title")) for row in rows]
