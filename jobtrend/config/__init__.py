"""Load and validate jobtrend's TOML configuration, with environment overrides.

Three files live in the configuration directory (``config/`` by default, ``JOBTREND_CONFIG_DIR`` to move it):

- ``jobtrend.toml``: database URL, crawl politeness, trend output, the role classifier, email and webhook
  delivery, the scheduler, the weekly report, retention and the log file;
- ``sources.toml``: the job boards to crawl;
- ``frameworks.toml``: the framework taxonomy the mention matcher looks for.

:func:`load_config` reads each file once. Every problem is reported as a :class:`ConfigError` naming the file,
the key and what was expected, so a user can fix the file without reading code. ``JOBTREND_DATABASE_URL``
overrides ``[database] url``; the SMTP password comes only from ``JOBTREND_SMTP_PASSWORD`` (a ``password`` key
in ``[email]`` is an error).

The package:

- :mod:`~jobtrend.config.errors`: :class:`ConfigError`;
- :mod:`~jobtrend.config.fields`: the checks every file is read with (:func:`typed`, :func:`reject_unknown`,
  and the declaration of a table, key -> :class:`Key`, read by :func:`read_table`), also used for alerts.toml;
- :mod:`~jobtrend.config.files`: where the files are (:func:`default_config_dir`) and :func:`read_toml`;
- :mod:`~jobtrend.config.settings`: the frozen dataclasses, :class:`Config` holding them all;
- :mod:`~jobtrend.config.main`, :mod:`~jobtrend.config.sources`, :mod:`~jobtrend.config.frameworks`: one file
  each;
- :mod:`~jobtrend.config.load`: :func:`load_config`.
"""

from jobtrend.config.errors import ConfigError
from jobtrend.config.fields import (
    REQUIRED,
    Key,
    Table,
    array_of_tables,
    at_least,
    between,
    check_items,
    more_than,
    nonblank,
    one_of,
    read_fields,
    read_table,
    reject_unknown,
    sub_table,
    typed,
)
from jobtrend.config.files import REPO_ROOT, default_config_dir, read_toml
from jobtrend.config.frameworks import SLUG_RE, load_frameworks
from jobtrend.config.load import load_config
from jobtrend.config.main import (
    CONTACT_RE,
    DATABASE_URL_ENV,
    EMAIL_RE,
    load_main,
    load_notify,
    read_main,
    resolve_sqlite_path,
)
from jobtrend.config.settings import (
    AVOID_WINDOW,
    DEFAULT_SCHEDULE,
    NEAR_WINDOW,
    SCHEDULER_JOBS,
    SMTP_PASSWORD_ENV,
    SMTP_SECURITY,
    ClassifierSettings,
    Config,
    CrawlSettings,
    EmailSettings,
    FrameworkConfig,
    LoggingSettings,
    NotifySettings,
    ReportSettings,
    RetentionSettings,
    SchedulerSettings,
    SourceConfig,
    TrendSettings,
)
from jobtrend.config.sources import SOURCE_KINDS, SOURCE_OPTIONS, load_sources

__all__ = [
    "AVOID_WINDOW", "CONTACT_RE", "DATABASE_URL_ENV", "DEFAULT_SCHEDULE", "EMAIL_RE", "NEAR_WINDOW", "REPO_ROOT",
    "REQUIRED", "SCHEDULER_JOBS", "SLUG_RE", "SMTP_PASSWORD_ENV", "SMTP_SECURITY", "SOURCE_KINDS", "SOURCE_OPTIONS",
    "ClassifierSettings", "Config", "ConfigError", "CrawlSettings", "EmailSettings", "FrameworkConfig", "Key",
    "LoggingSettings", "NotifySettings", "ReportSettings", "RetentionSettings", "SchedulerSettings", "SourceConfig",
    "Table", "TrendSettings", "array_of_tables", "at_least", "between", "check_items", "default_config_dir",
    "load_config", "load_frameworks", "load_main", "load_notify", "load_sources", "more_than", "nonblank", "one_of",
    "read_fields", "read_main", "read_table", "read_toml", "reject_unknown", "resolve_sqlite_path", "sub_table", "typed"
]
