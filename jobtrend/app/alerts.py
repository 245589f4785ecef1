"""``alerts``: evaluate the rules of ``alerts.toml`` over the weekly shares and source health, store each new
alert once and queue its notification for every recipient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.alerts import evaluate_alerts, load_alert_rules, rules_path
from jobtrend.app import AppError
from jobtrend.config import Config, NotifySettings
from jobtrend.db import open_engine

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
    notify = None if dry_run else config.notify
    if not rules:
        return AlertsResult(path, 0, (), dry_run, has_recipients(notify))
    with open_engine(config.database_url) as engine:
        try:
            fired = evaluate_alerts(engine, rules, weeks=weeks, dry_run=dry_run, notify_settings=notify)
        except ImportError as exc:
            raise AppError(f"cannot queue notifications: {exc}") from None
    return AlertsResult(path, len(rules), fired, dry_run, has_recipients(notify))
