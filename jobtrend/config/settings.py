"""The validated configuration: one frozen dataclass per table of jobtrend.toml, one per source and framework
entry, and :class:`Config` holding them all. Their defaults are the defaults of the files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CrawlSettings:
    """Politeness, batching, the budgets of one source and the address check for the crawler."""

    user_agent: str = "jobtrend/0.1 (+https://github.com/jobtrend/jobtrend)"
    download_delay: float = 1.0
    concurrent_requests_per_domain: int = 1
    download_timeout: int = 60
    download_maxsize: int = 64 * 1024 * 1024
    batch_size: int = 500
    obey_robots_txt: bool = True
    # budgets: a paginated board's pages, one board's (or Hacker News thread's) postings, the HN listing's pages
    max_board_pages: int = 50  # Lever pages of 100: 5,000 postings; the largest real boards list ~1,000
    max_board_postings: int = 5000
    max_listing_pages: int = 10  # Algolia pages of 1,000 stories; the whoishiring account has ~170 stories
    allow_private_addresses: bool = False  # crawl private, loopback and link-local addresses (jobtrend.addresses)


@dataclass(frozen=True)
class TrendSettings:
    """How `jobtrend trends` prints its table."""

    weeks: int = 8
    top: int = 15
    min_postings: int = 20


@dataclass(frozen=True)
class ClassifierSettings:
    """Where the role classifier's model file lives (a relative path is relative to the project root)."""

    model: str = "data/models/roles.npz"

    def model_path(self, config_dir: Path) -> Path:
        path = Path(self.model)
        return path if path.is_absolute() else (config_dir.resolve().parent / path).resolve()


SMTP_SECURITY = ("starttls", "ssl", "none")
SMTP_PASSWORD_ENV = "JOBTREND_SMTP_PASSWORD"


@dataclass(frozen=True, kw_only=True)
class EmailSettings:
    """The ``[email]`` table: the SMTP server and who gets the mail (keyword arguments only).

    The password is never here: it comes from the environment variable ``JOBTREND_SMTP_PASSWORD``.
    """

    host: str
    port: int = 587
    security: str = "starttls"  # starttls / ssl / none
    username: str | None = None
    sender: str
    recipients: tuple[str, ...]
    timeout: float = 30


@dataclass(frozen=True)
class NotifySettings:
    """Delivery of the outbox: the email channel (None: no ``[email]`` table), webhook URLs and the retry policy."""

    email: EmailSettings | None = None
    webhooks: tuple[str, ...] = ()
    max_attempts: int = 8
    backoff_seconds: float = 60
    backoff_max_seconds: float = 3600
    webhook_timeout: float = 30
    allow_private_addresses: bool = False  # post to webhooks on private, loopback or link-local addresses


SCHEDULER_JOBS = ("crawl", "analyze", "trends", "alerts", "deliver", "report", "prune")
DEFAULT_SCHEDULE = {"crawl": "0 */6 * * *", "analyze": "20 */6 * * *", "trends": "40 */6 * * *",
                    "alerts": "50 */6 * * *", "deliver": "*/5 * * * *", "report": "0 7 * * mon",
                    "prune": "30 3 * * *"}


def _default_schedule() -> dict[str, str | None]:
    return dict(DEFAULT_SCHEDULE)


@dataclass(frozen=True)
class SchedulerSettings:
    """The ``[scheduler]`` table: when each job runs (a 5-field cron expression, None: disabled), in which time
    zone, how late a missed run may still start, and how long a crawl may take."""

    timezone: str = "UTC"
    misfire_grace_seconds: int = 3600
    crawl_timeout_seconds: int = 3 * 3600
    heartbeat_seconds: int = 30  # how often the running scheduler writes its heartbeat (scheduler_heartbeat)
    jobs: dict[str, str | None] = field(default_factory=_default_schedule)

    def enabled_jobs(self) -> dict[str, str]:
        """Job name to cron expression, disabled jobs left out, in pipeline order."""
        return {name: cron for name in SCHEDULER_JOBS if (cron := self.jobs.get(name))}


@dataclass(frozen=True)
class RetentionSettings:
    """The ``[retention]`` table: after how many days the service's own history is thinned out
    (``jobtrend prune``, the scheduler's ``prune`` job; see :mod:`jobtrend.retention`)."""

    days: int = 90


@dataclass(frozen=True)
class ReportSettings:
    """The ``[report]`` table: how many frameworks the weekly report lists, and how many weeks before the
    report's week its movers and new entries are compared with."""

    top: int = 15
    trailing_weeks: int = 4


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class LoggingSettings:
    """The ``[logging]`` table: the log file (a relative path is relative to the project root; "" none), the level
    it records at whatever the console's, and its rotation by size (``max_bytes`` 0: left to logrotate). The
    scheduler writes it; any command does with ``jobtrend --log-file PATH``."""

    file: str = "data/logs/jobtrend.log"
    level: str = "INFO"
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 5

    def file_path(self, config_dir: Path) -> Path | None:
        """The log file, or None when ``file`` is ""."""
        if not self.file:
            return None
        path = Path(self.file)
        return path if path.is_absolute() else (config_dir.resolve().parent / path).resolve()


@dataclass(frozen=True)
class SourceConfig:
    """One board or site to crawl, as listed in sources.toml."""

    kind: str
    key: str
    company: str | None = None
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.key}"


NEAR_WINDOW = 30  # default words either side of a gated form searched for a ``near`` term
AVOID_WINDOW = 8  # default words either side of any form searched for an ``avoid`` term


@dataclass(frozen=True)
class FrameworkConfig:
    """One taxonomy entry: aliases match case-insensitively, ``exact`` forms case-sensitively.

    Gates (see config/frameworks.toml): a match of a :attr:`gated_forms` form counts only with a ``near`` term
    within ``near_window`` words (or, with ``near_technology``, another technology's name); a match inside an
    ``exclude`` phrase, or with an ``avoid`` term within ``avoid_window`` words (for an ``organisation``, also an
    organisation-context phrase), never counts. A match also counts for ``parent``.
    """

    slug: str
    name: str
    category: str
    aliases: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    parent: str | None = None
    near: tuple[str, ...] = ()
    near_window: int = NEAR_WINDOW
    gated: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    avoid_window: int = AVOID_WINDOW
    near_technology: bool = False  # another technology named within ``near_window`` words also counts as near
    organisation: bool = False  # also a company: not counted in customer, partner or investor contexts

    @property
    def gated_forms(self) -> tuple[str, ...]:
        """The forms that need a ``near`` term: ``gated`` when given, else every exact form when ``near`` is."""
        if self.gated:
            return self.gated
        return self.exact if self.near or self.near_technology else ()


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    config_dir: Path
    database_url: str
    crawl: CrawlSettings
    trends: TrendSettings
    sources: tuple[SourceConfig, ...]
    frameworks: tuple[FrameworkConfig, ...]
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)

    @property
    def model_path(self) -> Path:
        """The role classifier's model file."""
        return self.classifier.model_path(self.config_dir)

    def sources_of(self, kind: str, enabled_only: bool = True) -> list[SourceConfig]:
        return [s for s in self.sources if s.kind == kind and (s.enabled or not enabled_only)]
