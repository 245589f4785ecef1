"""Load and validate jobtrend's TOML configuration, with environment overrides.

Three files live in the configuration directory (``config/`` by default, ``JOBTREND_CONFIG_DIR`` to move it):

- ``jobtrend.toml``: database URL, crawl politeness, trend output, email and webhook delivery;
- ``sources.toml``: the job boards to crawl;
- ``frameworks.toml``: the framework taxonomy the mention matcher looks for.

Every problem is reported as a :class:`ConfigError` naming the file, the key and what was expected, so a user
can fix the file without reading code. ``JOBTREND_DATABASE_URL`` overrides ``[database] url``; the SMTP password
comes only from ``JOBTREND_SMTP_PASSWORD`` (a ``password`` key in ``[email]`` is an error).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobtrend.redact import redact_url

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_KINDS = ("ashby", "greenhouse", "lever", "hackernews", "jsonld")
# Extra keys a [[sources]] table of each kind may have, with their type and what is expected.
SOURCE_OPTIONS: dict[str, dict[str, tuple[type, str]]] = {
    "ashby": {},
    "greenhouse": {},
    "lever": {"region": (str, '"global" or "eu" (the EU instance api.eu.lever.co)')},
    "hackernews": {"since": (str, 'the first month to backfill, "YYYY-MM" (threads start in 2011-04)')},
    "jsonld": {
        "sitemap": (bool, "true when key is a sitemap.xml listing career pages"),
        "follow": (str, "a regular expression; only links (or sitemap URLs) whose absolute URL it matches are "
                        'fetched as job pages, on any host, e.g. "/jobs/[0-9]+$"'),
        "max_pages": (int, "the most pages fetched per crawl besides the key page, an integer of at least 1 "
                           "(default 200)"),
    },
}
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
CONTACT_RE = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.-]+")


class ConfigError(Exception):
    """A configuration file is missing, unreadable or holds a bad value."""

    def __init__(self, path: Path | str, key: str, expected: str, got: Any = None):
        self.path, self.key, self.expected = Path(path), key, expected
        detail = f"{self.path}: {key}: expected {expected}"
        if got is not None:
            detail += f", got {got!r}"
        super().__init__(detail)


@dataclass(frozen=True)
class CrawlSettings:
    """Politeness and batching for the crawler."""

    user_agent: str = "jobtrend/0.1 (+https://github.com/jobtrend/jobtrend)"
    download_delay: float = 1.0
    concurrent_requests_per_domain: int = 1
    download_timeout: int = 60
    download_maxsize: int = 64 * 1024 * 1024
    batch_size: int = 500
    obey_robots_txt: bool = True


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
EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")


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
    within ``near_window`` words; a match inside an ``exclude`` phrase, or with an ``avoid`` term within
    ``avoid_window`` words, never counts. A match also counts for ``parent``.
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

    @property
    def gated_forms(self) -> tuple[str, ...]:
        """The forms that need a ``near`` term: ``gated`` when given, else every exact form when ``near`` is."""
        if self.gated:
            return self.gated
        return self.exact if self.near else ()


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

    @property
    def model_path(self) -> Path:
        """The role classifier's model file."""
        return self.classifier.model_path(self.config_dir)

    def sources_of(self, kind: str, enabled_only: bool = True) -> list[SourceConfig]:
        return [s for s in self.sources if s.kind == kind and (s.enabled or not enabled_only)]


def default_config_dir() -> Path:
    """``JOBTREND_CONFIG_DIR``, else ``./config`` when it exists, else the repository's ``config/``."""
    env = os.environ.get("JOBTREND_CONFIG_DIR")
    if env:
        return Path(env)
    local = Path.cwd() / "config"
    if (local / "jobtrend.toml").exists():
        return local
    return REPO_ROOT / "config"


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file, turning a missing file or a syntax error into a ConfigError."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "an existing TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(syntax)", f"valid TOML ({exc})") from None


def _typed(path: Path, table: dict, key: str, kind: type | tuple, default: Any, prefix: str) -> Any:
    """Return ``table[key]`` checked against ``kind``, or ``default`` when absent."""
    if key not in table:
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int subclass: never accept it where a number is expected.
    if isinstance(value, bool) and bool not in kinds:
        raise ConfigError(path, prefix + key, _type_names(kinds), value)
    if not isinstance(value, kinds):
        raise ConfigError(path, prefix + key, _type_names(kinds), value)
    return value


def _type_names(kinds: tuple) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
             dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _reject_unknown(path: Path, table: dict, allowed: set[str], prefix: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(path, prefix + key, "one of " + ", ".join(sorted(allowed)), "unknown key")


def load_main(path: Path) -> tuple[str, CrawlSettings, TrendSettings]:
    """Read jobtrend.toml: database URL, crawl settings and trend settings (see :func:`load_classifier`)."""
    data = read_toml(path)
    _reject_unknown(path, data, {"database", "crawl", "trends", "classifier", "email", "notify", "scheduler",
                                 "report", "retention"}, "")
    db = _typed(path, data, "database", dict, {}, "")
    _reject_unknown(path, db, {"url"}, "database.")
    url = _typed(path, db, "url", str, "sqlite:///jobtrend.db", "database.")
    url = os.environ.get("JOBTREND_DATABASE_URL") or url
    if "://" not in url or not _parses_as_database_url(url):
        raise ConfigError(path, "database.url", "a SQLAlchemy URL such as sqlite:///jobtrend.db",
                          redact_url(url))

    crawl_t = _typed(path, data, "crawl", dict, {}, "")
    defaults = CrawlSettings()
    fields = {"user_agent": str, "download_delay": (int, float), "concurrent_requests_per_domain": int,
              "download_timeout": int, "download_maxsize": int, "batch_size": int, "obey_robots_txt": bool}
    _reject_unknown(path, crawl_t, set(fields), "crawl.")
    values = {k: _typed(path, crawl_t, k, t, getattr(defaults, k), "crawl.") for k, t in fields.items()}
    # download_maxsize 0 would switch Scrapy's limit off, and with it the gzip-bomb guard of decompression
    for key in ("concurrent_requests_per_domain", "download_timeout", "download_maxsize", "batch_size"):
        if values[key] < 1:
            raise ConfigError(path, f"crawl.{key}", "an integer of at least 1", values[key])
    if values["download_delay"] < 0:
        raise ConfigError(path, "crawl.download_delay", "a number of seconds, 0 or more", values["download_delay"])
    if not CONTACT_RE.search(values["user_agent"]):
        raise ConfigError(path, "crawl.user_agent",
                          "an honest User-Agent with a contact URL or email, e.g. 'mybot/1.0 (+https://example.org/bot)'",
                          values["user_agent"])
    crawl = CrawlSettings(**values)

    trends_t = _typed(path, data, "trends", dict, {}, "")
    _reject_unknown(path, trends_t, {"weeks", "top", "min_postings"}, "trends.")
    trends = TrendSettings(
        weeks=_typed(path, trends_t, "weeks", int, TrendSettings.weeks, "trends."),
        top=_typed(path, trends_t, "top", int, TrendSettings.top, "trends."),
        min_postings=_typed(path, trends_t, "min_postings", int, TrendSettings.min_postings, "trends."),
    )
    return url, crawl, trends


def load_classifier(path: Path) -> ClassifierSettings:
    """Read the ``[classifier]`` table of jobtrend.toml."""
    table = _typed(path, read_toml(path), "classifier", dict, {}, "")
    _reject_unknown(path, table, {"model"}, "classifier.")
    model = _typed(path, table, "model", str, ClassifierSettings.model, "classifier.")
    if not model.strip():
        raise ConfigError(path, "classifier.model", "a file path such as data/models/roles.npz", model)
    return ClassifierSettings(model=model)


def load_notify(path: Path) -> NotifySettings:
    """Read the ``[email]`` and ``[notify]`` tables of jobtrend.toml (no ``[email]`` table: no email channel)."""
    data = read_toml(path)
    email = _load_email(path, _typed(path, data, "email", dict, None, "")) if "email" in data else None
    table = _typed(path, data, "notify", dict, {}, "")
    _reject_unknown(path, table, {"webhooks", "max_attempts", "backoff_seconds", "backoff_max_seconds",
                                  "webhook_timeout"}, "notify.")
    webhooks = _typed(path, table, "webhooks", list, [], "notify.")
    for i, url in enumerate(webhooks):
        if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+\S*$", url):
            raise ConfigError(path, f"notify.webhooks[{i}]", "an http:// or https:// URL",
                              redact_url(url, keep_path=False))
    if len(set(webhooks)) != len(webhooks):
        raise ConfigError(path, "notify.webhooks", "URLs listed once each")
    max_attempts = _typed(path, table, "max_attempts", int, NotifySettings.max_attempts, "notify.")
    if max_attempts < 1:
        raise ConfigError(path, "notify.max_attempts", "an integer of at least 1", max_attempts)
    numbers = {}
    for key in ("backoff_seconds", "backoff_max_seconds", "webhook_timeout"):
        numbers[key] = _typed(path, table, key, (int, float), getattr(NotifySettings, key), "notify.")
        if numbers[key] <= 0:
            raise ConfigError(path, f"notify.{key}", "a number of seconds, more than 0", numbers[key])
    if numbers["backoff_max_seconds"] < numbers["backoff_seconds"]:
        raise ConfigError(path, "notify.backoff_max_seconds",
                          f"a number of seconds, at least backoff_seconds ({numbers['backoff_seconds']})",
                          numbers["backoff_max_seconds"])
    return NotifySettings(email=email, webhooks=tuple(webhooks), max_attempts=max_attempts, **numbers)


def load_scheduler(path: Path) -> SchedulerSettings:
    """Read the ``[scheduler]`` table of jobtrend.toml and its ``[scheduler.jobs]`` table of cron expressions."""
    table = _typed(path, read_toml(path), "scheduler", dict, {}, "")
    _reject_unknown(path, table, {"timezone", "misfire_grace_seconds", "crawl_timeout_seconds", "jobs"},
                    "scheduler.")
    timezone = _typed(path, table, "timezone", str, SchedulerSettings.timezone, "scheduler.")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise ConfigError(path, "scheduler.timezone", 'an IANA time zone name such as "UTC" or "Europe/Berlin"',
                          timezone) from None
    numbers = {}
    for key in ("misfire_grace_seconds", "crawl_timeout_seconds"):
        numbers[key] = _typed(path, table, key, int, getattr(SchedulerSettings, key), "scheduler.")
        if numbers[key] < 1:
            raise ConfigError(path, f"scheduler.{key}", "a number of seconds, an integer of at least 1", numbers[key])
    jobs_t = _typed(path, table, "jobs", dict, {}, "scheduler.")
    _reject_unknown(path, jobs_t, set(SCHEDULER_JOBS), "scheduler.jobs.")
    jobs = _default_schedule()
    for name, value in jobs_t.items():
        key = f"scheduler.jobs.{name}"
        expected = 'a 5-field cron expression such as "0 */6 * * *", or "" or false to disable the job'
        if value is False or value == "":
            jobs[name] = None
            continue
        if not isinstance(value, str):
            raise ConfigError(path, key, expected, value)
        jobs[name] = " ".join(value.split())
        fields = jobs[name].split(" ")
        if len(fields) == 5 and re.search(r"\d", fields[4]):
            # APScheduler 3 numbers weekdays from Monday = 0, cron from Sunday = 0: names avoid the trap.
            raise ConfigError(path, key, "day-of-week names (mon, tue, ... sun, or ranges like mon-fri), not "
                              "numbers", value)
        try:
            from apscheduler.triggers.cron import CronTrigger

            CronTrigger.from_crontab(jobs[name], timezone=timezone)
        except ValueError as exc:
            raise ConfigError(path, key, f"{expected} ({exc})", value) from None
    return SchedulerSettings(timezone=timezone, jobs=jobs, **numbers)


def load_retention(path: Path) -> RetentionSettings:
    """Read the ``[retention]`` table of jobtrend.toml."""
    table = _typed(path, read_toml(path), "retention", dict, {}, "")
    _reject_unknown(path, table, {"days"}, "retention.")
    days = _typed(path, table, "days", int, RetentionSettings.days, "retention.")
    if days < 1:
        raise ConfigError(path, "retention.days", "a number of days, an integer of at least 1", days)
    return RetentionSettings(days=days)


def _load_email(path: Path, table: dict) -> EmailSettings:
    if "password" in table:
        raise ConfigError(path, "email.password",
                          f"no password in the file: set the environment variable {SMTP_PASSWORD_ENV}")
    _reject_unknown(path, table, {"host", "port", "security", "username", "sender", "recipients", "timeout"},
                    "email.")
    host = _typed(path, table, "host", str, None, "email.")
    if not host or not host.strip() or any(c.isspace() for c in host):
        raise ConfigError(path, "email.host", "the SMTP server's host name, e.g. smtp.example.org", host)
    security = _typed(path, table, "security", str, EmailSettings.security, "email.")
    if security not in SMTP_SECURITY:
        raise ConfigError(path, "email.security", "one of " + ", ".join(SMTP_SECURITY), security)
    port = _typed(path, table, "port", int, 465 if security == "ssl" else EmailSettings.port, "email.")
    if not 1 <= port <= 65535:
        raise ConfigError(path, "email.port", "a TCP port, 1 to 65535", port)
    username = _typed(path, table, "username", str, None, "email.")
    if username is not None and (not username.strip() or "\n" in username or "\r" in username):
        raise ConfigError(path, "email.username", "a non-empty user name (or no key: no SMTP login)", username)
    sender = _typed(path, table, "sender", str, None, "email.")
    if sender is None or not EMAIL_RE.match(_address_of(sender)):
        raise ConfigError(path, "email.sender",
                          'an email address, e.g. "jobtrend@example.org" or "jobtrend <jobtrend@example.org>"',
                          sender)
    recipients = _typed(path, table, "recipients", list, None, "email.")
    if not recipients:
        raise ConfigError(path, "email.recipients", 'a list of at least one email address, e.g. ["me@example.org"]',
                          recipients)
    for i, address in enumerate(recipients):
        if not isinstance(address, str) or not EMAIL_RE.match(address):
            raise ConfigError(path, f"email.recipients[{i}]", "an email address such as me@example.org", address)
    if len(set(recipients)) != len(recipients):
        raise ConfigError(path, "email.recipients", "addresses listed once each", recipients)
    timeout = _typed(path, table, "timeout", (int, float), EmailSettings.timeout, "email.")
    if timeout <= 0:
        raise ConfigError(path, "email.timeout", "a number of seconds, more than 0", timeout)
    return EmailSettings(host=host, port=port, security=security, username=username, sender=sender,
                         recipients=tuple(recipients), timeout=timeout)


def _address_of(value: str) -> str:
    """The address of ``"Name <addr>"`` or of a bare ``addr`` ("" when it has line breaks)."""
    from email.utils import parseaddr

    if "\n" in value or "\r" in value:
        return ""
    return parseaddr(value)[1]


def _parses_as_database_url(url: str) -> bool:
    """Whether SQLAlchemy can read ``url`` (a port that is not a number, for one, it cannot)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except (ArgumentError, ValueError):
        return False
    return True




def load_sources(path: Path) -> tuple[SourceConfig, ...]:
    """Read sources.toml: a list of ``[[sources]]`` tables with kind, key, company, enabled."""
    data = read_toml(path)
    _reject_unknown(path, data, {"sources"}, "")
    entries = _typed(path, data, "sources", list, [], "")
    seen: set[tuple[str, str]] = set()
    sources = []
    for i, entry in enumerate(entries):
        prefix = f"sources[{i}]."
        if not isinstance(entry, dict):
            raise ConfigError(path, f"sources[{i}]", "a table with kind and key", entry)
        kind = _typed(path, entry, "kind", str, None, prefix)
        if kind not in SOURCE_KINDS:
            raise ConfigError(path, prefix + "kind", "one of " + ", ".join(SOURCE_KINDS), kind)
        key = _typed(path, entry, "key", str, None, prefix)
        if not key or not key.strip():
            raise ConfigError(path, prefix + "key", "the board token, site name or URL", key)
        if (kind, key) in seen:
            raise ConfigError(path, prefix + "key", f"a key not already listed for {kind}", key)
        seen.add((kind, key))
        company = _typed(path, entry, "company", str, None, prefix)
        enabled = _typed(path, entry, "enabled", bool, True, prefix)
        options = {k: v for k, v in entry.items() if k not in {"kind", "key", "company", "enabled"}}
        _check_options(path, kind, options, prefix)
        sources.append(SourceConfig(kind=kind, key=key, company=company, enabled=enabled, options=options))
    return tuple(sources)


def _check_options(path: Path, kind: str, options: dict, prefix: str) -> None:
    allowed = SOURCE_OPTIONS.get(kind, {})
    for key, value in options.items():
        if key not in allowed:
            names = ", ".join(["kind", "key", "company", "enabled", *allowed])
            raise ConfigError(path, prefix + key, f"one of {names} for a {kind} source", "unknown key")
        kind_of, expected = allowed[key]
        if not isinstance(value, kind_of) or isinstance(value, bool) != (kind_of is bool):
            raise ConfigError(path, prefix + key, expected, value)


FRAMEWORK_KEYS = {"slug", "name", "category", "aliases", "exact", "parent", "near", "near_window", "gated",
                  "exclude", "avoid", "avoid_window"}


def load_frameworks(path: Path) -> tuple[FrameworkConfig, ...]:
    """Read frameworks.toml: ``[[frameworks]]`` tables with slug, name, category, forms, gates and parent."""
    data = read_toml(path)
    _reject_unknown(path, data, {"frameworks"}, "")
    entries = _typed(path, data, "frameworks", list, [], "")
    slugs: set[str] = set()
    owner: dict[str, str] = {}
    result = []
    for i, entry in enumerate(entries):
        prefix = f"frameworks[{i}]."
        if not isinstance(entry, dict):
            raise ConfigError(path, f"frameworks[{i}]", "a table with slug, name, category", entry)
        _reject_unknown(path, entry, FRAMEWORK_KEYS, prefix)
        slug = _typed(path, entry, "slug", str, None, prefix)
        if slug is None or not SLUG_RE.match(slug):
            raise ConfigError(path, prefix + "slug", "a lower-case slug such as 'pytorch'", slug)
        if slug in slugs:
            raise ConfigError(path, prefix + "slug", "a slug not used by another entry", slug)
        slugs.add(slug)
        name = _typed(path, entry, "name", str, None, prefix)
        category = _typed(path, entry, "category", str, None, prefix)
        for key, value in (("name", name), ("category", category)):
            if not value:
                raise ConfigError(path, prefix + key, "a non-empty string", value)
        aliases = _string_list(path, entry, "aliases", prefix)
        exact = _string_list(path, entry, "exact", prefix)
        if not aliases and not exact:
            raise ConfigError(path, prefix + "aliases", "at least one alias or exact form", [])
        for form in [a.lower() for a in aliases] + exact:
            if owner.setdefault(form, slug) != slug:
                raise ConfigError(path, prefix + "aliases", f"forms not already used by '{owner[form]}'", form)
        framework = FrameworkConfig(slug, name, category, tuple(aliases), tuple(exact),
                                    **_gates(path, entry, prefix, aliases, exact))
        result.append(framework)
    _check_parents(path, result)
    return tuple(result)


def _gates(path: Path, entry: dict, prefix: str, aliases: list[str], exact: list[str]) -> dict[str, Any]:
    """The optional keys parent, near, near_window, gated, exclude, avoid and avoid_window of one entry."""
    parent = _typed(path, entry, "parent", str, None, prefix)
    near = _string_list(path, entry, "near", prefix)
    window = _typed(path, entry, "near_window", int, NEAR_WINDOW, prefix)
    if window < 1:
        raise ConfigError(path, prefix + "near_window", "a number of words, at least 1", window)
    gated = _string_list(path, entry, "gated", prefix)
    alias_forms, exact_forms = {_squash(a).lower() for a in aliases}, {_squash(e) for e in exact}
    for j, form in enumerate(gated):
        if _squash(form) not in exact_forms and _squash(form).lower() not in alias_forms:
            raise ConfigError(path, f"{prefix}gated[{j}]", "one of this entry's aliases or exact forms", form)
    if gated and not near:
        raise ConfigError(path, prefix + "near", "at least one word or phrase, as the entry has gated forms", [])
    if near and not gated and not exact:
        raise ConfigError(path, prefix + "gated", "the forms `near` applies to (the entry has no exact forms)",
                          [])
    if "near_window" in entry and not near:
        raise ConfigError(path, prefix + "near", "words or phrases for near_window to apply to", [])
    exclude = _string_list(path, entry, "exclude", prefix)
    lowered = alias_forms | {form.lower() for form in exact_forms}
    for j, phrase in enumerate(exclude):
        if not any(re.search(rf"(?<!\w){re.escape(form)}(?!\w)", _squash(phrase).lower()) for form in lowered):
            raise ConfigError(path, f"{prefix}exclude[{j}]", "a phrase containing one of this entry's forms",
                              phrase)
    avoid = _string_list(path, entry, "avoid", prefix)
    avoid_window = _typed(path, entry, "avoid_window", int, AVOID_WINDOW, prefix)
    if avoid_window < 1:
        raise ConfigError(path, prefix + "avoid_window", "a number of words, at least 1", avoid_window)
    if "avoid_window" in entry and not avoid:
        raise ConfigError(path, prefix + "avoid", "words or phrases for avoid_window to apply to", [])
    return {"parent": parent, "near": tuple(near), "near_window": window, "gated": tuple(gated),
            "exclude": tuple(exclude), "avoid": tuple(avoid), "avoid_window": avoid_window}


def _squash(form: str) -> str:
    return " ".join(form.split())


def _check_parents(path: Path, frameworks: list[FrameworkConfig]) -> None:
    """Every ``parent`` names another entry, and following parents never comes back to an entry."""
    index = {f.slug: i for i, f in enumerate(frameworks)}
    for i, framework in enumerate(frameworks):
        key = f"frameworks[{i}].parent"
        if framework.parent is None:
            continue
        if framework.parent not in index or framework.parent == framework.slug:
            raise ConfigError(path, key, "the slug of another entry", framework.parent)
        chain, slug = [framework.slug], framework.parent
        while slug is not None:
            if slug in chain:
                raise ConfigError(path, key, "a parent chain without a cycle", " -> ".join([*chain, slug]))
            chain.append(slug)
            slug = frameworks[index[slug]].parent


def _string_list(path: Path, entry: dict, key: str, prefix: str) -> list[str]:
    values = _typed(path, entry, key, list, [], prefix)
    for j, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(path, f"{prefix}{key}[{j}]", "a non-empty string", value)
    return values


def load_config(config_dir: Path | str | None = None) -> Config:
    """Load and validate all configuration files from ``config_dir`` (see :func:`default_config_dir`)."""
    directory = Path(config_dir) if config_dir else default_config_dir()
    if not directory.is_dir():
        raise ConfigError(directory, "(directory)", "a directory holding jobtrend.toml, sources.toml, frameworks.toml")
    url, crawl, trends = load_main(directory / "jobtrend.toml")
    return Config(
        config_dir=directory,
        database_url=resolve_sqlite_path(url, directory),
        crawl=crawl,
        trends=trends,
        sources=load_sources(directory / "sources.toml"),
        frameworks=load_frameworks(directory / "frameworks.toml"),
        classifier=load_classifier(directory / "jobtrend.toml"),
        notify=load_notify(directory / "jobtrend.toml"),
        scheduler=load_scheduler(directory / "jobtrend.toml"),
        retention=load_retention(directory / "jobtrend.toml"),
    )


def resolve_sqlite_path(url: str, config_dir: Path) -> str:
    """Make a relative SQLite path relative to the directory above the config directory (the project root)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/") or url == "sqlite://" or ":memory:" in url:
        return url
    rest = url[len(prefix):]
    if rest.startswith("file:"):
        return url
    return prefix + str((config_dir.resolve().parent / rest).resolve())
