"""``jobtrend.toml``: read once, every table validated from that one dict.

Each table is declared once below (key -> :class:`~jobtrend.config.fields.Key`) and read by
:func:`~jobtrend.config.fields.read_table`; what involves several keys (the database URL and its environment
override, the email port's default, the webhook URLs, the retry backoff, the cron expressions) is checked by
a small function after that read.
"""

from __future__ import annotations

import os
import re
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from jobtrend.addresses import url_refusal
from jobtrend.config.errors import ConfigError
from jobtrend.config.fields import (
    REQUIRED,
    Key,
    Table,
    at_least,
    between,
    check_items,
    more_than,
    nonblank,
    one_of,
    read_table,
    reject_unknown,
    sub_table,
)
from jobtrend.config.files import read_toml
from jobtrend.config.settings import (
    DEFAULT_SCHEDULE,
    LOG_LEVELS,
    SCHEDULER_JOBS,
    SMTP_PASSWORD_ENV,
    SMTP_SECURITY,
    ClassifierSettings,
    CrawlSettings,
    EmailSettings,
    LoggingSettings,
    NotifySettings,
    ReportSettings,
    RetentionSettings,
    SchedulerSettings,
    TrendSettings,
)
from jobtrend.redact import redact_url

DATABASE_URL_ENV = "JOBTREND_DATABASE_URL"
CONTACT_RE = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.-]+")
EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")
WEBHOOK_RE = re.compile(r"^https?://[^\s/]+\S*$")

AT_LEAST_1 = "an integer of at least 1"
SECONDS = "a number of seconds, more than 0"
CRON = 'a 5-field cron expression such as "0 */6 * * *", or "" or false to disable the job'


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def _address_of(value: str) -> str:
    """The address of ``"Name <addr>"`` or of a bare ``addr`` ("" when it has line breaks)."""
    if "\n" in value or "\r" in value:
        return ""
    return parseaddr(value)[1]


DATABASE: Table = {"url": Key(str, "sqlite:///jobtrend.db")}
# Every number of [crawl] has an upper bound besides its lower one: a typo (1e9 seconds, a page budget of 10^12)
# is a configuration error, not a crawl that never ends. docs/configuration.md gives the bounds.
MAX_DELAY = 120  # seconds between requests to one host: robots.txt Crawl-delays over CRAWL_DELAY_MAX are refused
MAX_CONCURRENCY = 16  # parallel requests to one host
MAX_TIMEOUT = 600  # seconds for one download, from connecting to its last byte
MAX_MAXSIZE = 1024 * 1024 * 1024  # bytes: the largest real boards are ~14 MB
MAX_BATCH = 10_000  # postings per transaction (SQLite allows 32,766 parameters a statement)
MAX_BOARD_PAGES = 1000
MAX_BOARD_POSTINGS = 100_000
MAX_LISTING_PAGES = 100


def _integer(low: int, high: int, unit: str = "") -> str:
    """What an integer key between ``low`` and ``high`` expects: "an integer of at least 1 and at most 600
    (seconds)"."""
    return f"an integer of at least {low} and at most {high}" + (f" ({unit})" if unit else "")


CRAWL: Table = {
    "user_agent": Key(str, CrawlSettings.user_agent, "an honest User-Agent with a contact URL or email, e.g. "
                      "'mybot/1.0 (+https://example.org/bot)'", CONTACT_RE.search),
    "download_delay": Key((int, float), CrawlSettings.download_delay,
                          f"a number of seconds, 0 or more and at most {MAX_DELAY}", between(0, MAX_DELAY)),
    "concurrent_requests_per_domain": Key(int, CrawlSettings.concurrent_requests_per_domain,
                                          _integer(1, MAX_CONCURRENCY), between(1, MAX_CONCURRENCY)),
    "download_timeout": Key(int, CrawlSettings.download_timeout, _integer(1, MAX_TIMEOUT, "seconds"),
                            between(1, MAX_TIMEOUT)),
    # 0 would switch Scrapy's limit off, and with it the gzip-bomb guard of decompression
    "download_maxsize": Key(int, CrawlSettings.download_maxsize, _integer(1, MAX_MAXSIZE, "bytes"),
                            between(1, MAX_MAXSIZE)),
    "batch_size": Key(int, CrawlSettings.batch_size, _integer(1, MAX_BATCH), between(1, MAX_BATCH)),
    "obey_robots_txt": Key(bool, CrawlSettings.obey_robots_txt),
    "max_board_pages": Key(int, CrawlSettings.max_board_pages, _integer(1, MAX_BOARD_PAGES, "pages"),
                           between(1, MAX_BOARD_PAGES)),
    "max_board_postings": Key(int, CrawlSettings.max_board_postings,
                              _integer(1, MAX_BOARD_POSTINGS, "postings"),
                              between(1, MAX_BOARD_POSTINGS)),
    "max_listing_pages": Key(int, CrawlSettings.max_listing_pages,
                             _integer(1, MAX_LISTING_PAGES, "pages"), between(1, MAX_LISTING_PAGES)),
    "allow_private_addresses": Key(bool, CrawlSettings.allow_private_addresses),
}
TRENDS: Table = {
    "weeks": Key(int, TrendSettings.weeks),
    "top": Key(int, TrendSettings.top),
    "min_postings": Key(int, TrendSettings.min_postings),
}
CLASSIFIER: Table = {
    "model": Key(str, ClassifierSettings.model, "a file path such as data/models/roles.npz", nonblank),
}
EMAIL: Table = {
    "host": Key(str, REQUIRED, "the SMTP server's host name, e.g. smtp.example.org",
                lambda host: host.strip() and not any(c.isspace() for c in host)),
    "security": Key(str, EmailSettings.security, "one of " + ", ".join(SMTP_SECURITY), one_of(SMTP_SECURITY)),
    "port": Key(int, None, "a TCP port, 1 to 65535", lambda port: 1 <= port <= 65535),  # None: by security
    "username": Key(str, None, "a non-empty user name (or no key: no SMTP login)",
                    lambda name: name.strip() and "\n" not in name and "\r" not in name),
    "sender": Key(str, REQUIRED, 'an email address, e.g. "jobtrend@example.org" or "jobtrend <jobtrend@example.org>"',
                  lambda sender: EMAIL_RE.match(_address_of(sender))),
    "recipients": Key(list, REQUIRED, 'a list of at least one email address, e.g. ["me@example.org"]', bool),
    "timeout": Key((int, float), EmailSettings.timeout, SECONDS, more_than(0)),
}
NOTIFY: Table = {
    "webhooks": Key(list, []),
    "max_attempts": Key(int, NotifySettings.max_attempts, AT_LEAST_1, at_least(1)),
    "backoff_seconds": Key((int, float), NotifySettings.backoff_seconds, SECONDS, more_than(0)),
    "backoff_max_seconds": Key((int, float), NotifySettings.backoff_max_seconds, SECONDS, more_than(0)),
    "webhook_timeout": Key((int, float), NotifySettings.webhook_timeout, SECONDS, more_than(0)),
    "allow_private_addresses": Key(bool, NotifySettings.allow_private_addresses),
}
SCHEDULER: Table = {
    "timezone": Key(str, SchedulerSettings.timezone, 'an IANA time zone name such as "UTC" or "Europe/Berlin"',
                    _is_timezone),
    "misfire_grace_seconds": Key(int, SchedulerSettings.misfire_grace_seconds,
                                 "a number of seconds, an integer of at least 1", at_least(1)),
    "crawl_timeout_seconds": Key(int, SchedulerSettings.crawl_timeout_seconds,
                                 "a number of seconds, an integer of at least 1", at_least(1)),
    "heartbeat_seconds": Key(int, SchedulerSettings.heartbeat_seconds,
                             "a number of seconds, an integer of at least 1", at_least(1)),
    "jobs": Key(dict, {}),  # job name -> cron expression, checked by _scheduler_jobs
}
RETENTION: Table = {
    "days": Key(int, RetentionSettings.days, "a number of days, an integer of at least 1", at_least(1)),
}
REPORT: Table = {
    "top": Key(int, ReportSettings.top, "a number of frameworks, an integer of at least 1", at_least(1)),
    "trailing_weeks": Key(int, ReportSettings.trailing_weeks, "a number of weeks, an integer of at least 1",
                          at_least(1)),
}
LOGGING: Table = {
    "file": Key(str, LoggingSettings.file, 'a file path such as "data/logs/jobtrend.log", or "" for no log file',
                lambda path: "\n" not in path and "\0" not in path),
    "level": Key(str, LoggingSettings.level, "one of " + ", ".join(LOG_LEVELS), one_of(LOG_LEVELS)),
    "max_bytes": Key(int, LoggingSettings.max_bytes,
                     "a size in bytes, an integer of at least 0 (0: no rotation by jobtrend, e.g. under logrotate)",
                     at_least(0)),
    "backups": Key(int, LoggingSettings.backups, "a number of rotated files kept, an integer of at least 1",
                   at_least(1)),
}
TABLES = ("database", "crawl", "trends", "classifier", "email", "notify", "scheduler", "report", "retention",
          "logging")


def read_main(path: Path) -> dict[str, Any]:
    """Read jobtrend.toml once and validate every table: the keyword arguments of
    :class:`~jobtrend.config.Config` it gives (``database_url`` as written, a relative SQLite path unresolved)."""
    data = read_toml(path)
    database_url, crawl, trends = _main_tables(path, data)
    return {
        "database_url": database_url,
        "crawl": crawl,
        "trends": trends,
        "classifier": read_table(path, sub_table(path, data, "classifier"), CLASSIFIER, "classifier.",
                                 ClassifierSettings),
        "notify": _notify(path, data),
        "scheduler": _scheduler(path, sub_table(path, data, "scheduler")),
        "retention": read_table(path, sub_table(path, data, "retention"), RETENTION, "retention.", RetentionSettings),
        "report": read_table(path, sub_table(path, data, "report"), REPORT, "report.", ReportSettings),
        "logging": read_table(path, sub_table(path, data, "logging"), LOGGING, "logging.", LoggingSettings),
    }


def load_main(path: Path) -> tuple[str, CrawlSettings, TrendSettings]:
    """Read jobtrend.toml's database URL, crawl settings and trend settings only (what the crawler's Scrapy
    settings need before any other table matters); :func:`read_main` reads every table."""
    return _main_tables(path, read_toml(path))


def load_notify(path: Path) -> NotifySettings:
    """Read the ``[email]`` and ``[notify]`` tables of jobtrend.toml (no ``[email]`` table: no email channel)."""
    return _notify(path, read_toml(path))


def _main_tables(path: Path, data: dict) -> tuple[str, CrawlSettings, TrendSettings]:
    reject_unknown(path, data, TABLES, "")
    url = read_table(path, sub_table(path, data, "database"), DATABASE, "database.")["url"]
    from_env = os.environ.get(DATABASE_URL_ENV)
    url = database_url(from_env or url, DATABASE_URL_ENV if from_env else path)
    crawl = read_table(path, sub_table(path, data, "crawl"), CRAWL, "crawl.", CrawlSettings)
    trends = read_table(path, sub_table(path, data, "trends"), TRENDS, "trends.", TrendSettings)
    return url, crawl, trends


# Schemes without jobtrend's PostgreSQL driver (psycopg 3, the `postgres` extra): Heroku-style postgres://, which
# SQLAlchemy does not know, and postgresql://, for which it would load psycopg2
URL_SCHEME_ALIASES = {"postgres://": "postgresql+psycopg://", "postgresql://": "postgresql+psycopg://"}
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def database_url(url: str, origin: Path | str) -> str:
    """``url`` checked and normalised (``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://``); a
    bad one is a ConfigError blamed on ``origin``: jobtrend.toml (a path), or the environment variable (its name)
    that set it."""
    for alias, scheme in URL_SCHEME_ALIASES.items():
        if url.startswith(alias):
            url = scheme + url[len(alias):]
            break
    if "://" not in url or not _parses_as_database_url(url) \
            or make_url(url).get_backend_name() not in SUPPORTED_BACKENDS:
        expected = ("a SQLAlchemy URL of SQLite or PostgreSQL such as sqlite:///jobtrend.db or "
                    "postgresql+psycopg://user@host/dbname")
        if isinstance(origin, str):
            raise ConfigError("environment", origin, expected, redact_url(url))
        raise ConfigError(origin, "database.url", expected, redact_url(url))
    return url


def _parses_as_database_url(url: str) -> bool:
    """Whether SQLAlchemy can read ``url`` (a port that is not a number, for one, it cannot)."""
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        return False
    return True


def _notify(path: Path, data: dict) -> NotifySettings:
    email = _email(path, sub_table(path, data, "email")) if "email" in data else None
    values = read_table(path, sub_table(path, data, "notify"), NOTIFY, "notify.")
    webhooks = values.pop("webhooks")
    check_items(path, webhooks, "webhooks", "notify.", lambda url: isinstance(url, str) and WEBHOOK_RE.match(url),
                "an http:// or https:// URL", lambda url: redact_url(url, keep_path=False))
    if not values["allow_private_addresses"]:
        check_items(path, webhooks, "webhooks", "notify.", lambda url: url_refusal(url) is None,
                    "an http:// or https:// URL on a public host, not a private, loopback or link-local address "
                    "(allow_private_addresses = true permits them)", lambda url: redact_url(url, keep_path=False))
    if len(set(webhooks)) != len(webhooks):
        raise ConfigError(path, "notify.webhooks", "URLs listed once each")
    if values["backoff_max_seconds"] < values["backoff_seconds"]:
        raise ConfigError(path, "notify.backoff_max_seconds",
                          f"a number of seconds, at least backoff_seconds ({values['backoff_seconds']})",
                          values["backoff_max_seconds"])
    return NotifySettings(email=email, webhooks=tuple(webhooks), **values)


def _email(path: Path, table: dict) -> EmailSettings:
    if "password" in table:
        raise ConfigError(path, "email.password",
                          f"no password in the file: set the environment variable {SMTP_PASSWORD_ENV}")
    values = read_table(path, table, EMAIL, "email.")
    if values["port"] is None:
        values["port"] = 465 if values["security"] == "ssl" else EmailSettings.port
    recipients = values.pop("recipients")
    check_items(path, recipients, "recipients", "email.",
                lambda address: isinstance(address, str) and EMAIL_RE.match(address),
                "an email address such as me@example.org")
    if len(set(recipients)) != len(recipients):
        raise ConfigError(path, "email.recipients", "addresses listed once each", recipients)
    return EmailSettings(recipients=tuple(recipients), **values)


def _scheduler(path: Path, table: dict) -> SchedulerSettings:
    values = read_table(path, table, SCHEDULER, "scheduler.")
    return SchedulerSettings(**{**values, "jobs": _scheduler_jobs(path, values["jobs"], values["timezone"])})


def _scheduler_jobs(path: Path, table: dict, timezone: str) -> dict[str, str | None]:
    """``[scheduler.jobs]``: each job's cron expression read in ``timezone`` ("" or false: None, disabled)."""
    reject_unknown(path, table, SCHEDULER_JOBS, "scheduler.jobs.")
    jobs: dict[str, str | None] = dict(DEFAULT_SCHEDULE)
    for name, value in table.items():
        key = f"scheduler.jobs.{name}"
        if value is False or value == "":
            jobs[name] = None
            continue
        if not isinstance(value, str):
            raise ConfigError(path, key, CRON, value)
        cron = jobs[name] = " ".join(value.split())
        fields = cron.split(" ")
        if len(fields) == 5 and re.search(r"\d", fields[4]):
            # APScheduler 3 numbers weekdays from Monday = 0, cron from Sunday = 0: names avoid the trap.
            raise ConfigError(path, key, "day-of-week names (mon, tue, ... sun, or ranges like mon-fri), not "
                              "numbers", value)
        try:
            CronTrigger.from_crontab(cron, timezone=timezone)
        except ValueError as exc:
            raise ConfigError(path, key, f"{CRON} ({exc})", value) from None
    return jobs


def resolve_sqlite_path(url: str, config_dir: Path) -> str:
    """Make a relative SQLite path relative to the directory above the config directory (the project root)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/") or url == "sqlite://" or ":memory:" in url:
        return url
    rest = url[len(prefix):]
    if rest.startswith("file:"):
        return url
    return prefix + str((config_dir.resolve().parent / rest).resolve())
