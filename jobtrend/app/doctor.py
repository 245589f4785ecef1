"""``doctor``: check that everything jobtrend needs is in place, one line per check, each with its fix.

:func:`doctor` runs the checks in order and returns a :class:`Check` per check: the configuration (it loads), the
database (reachable, migrated to the latest revision, writable: an insert rolled back), the role model (present,
loads), the disk space of the data folder, and, unless ``offline``, the network: the SMTP server (connect and
EHLO, STARTTLS when configured; no login, no mail; only when ``[email]`` is configured), each webhook's host (DNS
only: nothing is posted) and one source per kind (robots.txt, then one GET with the configured User-Agent and
politeness: :mod:`crawler.probe`). A failed configuration stops there: the other checks need it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import make_url

from analysis.classifier import ModelError, RoleModel
from crawler.preflight import resolve_host
from crawler.probe import first_url, probe
from crawler.run import SPIDERS, crawl_settings
from jobtrend.config import Config, ConfigError, EmailSettings, load_config
from jobtrend.db import alembic_config, open_engine
from jobtrend.messages import error_message
from jobtrend.models import JobRun
from jobtrend.redact import redact_url

DISK_WARN_BYTES = 1 << 30  # under 1 GiB free: warn
DISK_FAIL_BYTES = 100 << 20  # under 100 MiB free: fail (SQLite and the crawl need room to write)
LEVELS = ("ok", "warn", "fail")


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``level`` ok, warn or fail; what was found; how to fix it (None when ok)."""

    level: str
    name: str
    detail: str
    fix: str | None = None

    def line(self) -> str:
        return f"{self.level} {self.name}: {self.detail}" + (f" [fix: {self.fix}]" if self.fix else "")


def doctor(config_dir: Path | None, *, offline: bool = False, api_base: str | None = None) -> Iterator[Check]:
    """Run every check, yielding each as it is done (``api_base``: send the source checks there, as `jobtrend
    crawl --api-base` does)."""
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        yield Check("fail", "configuration", str(exc), "correct the file and key named")
        return
    yield Check("ok", "configuration", f"{config.config_dir} ({len(config.sources)} sources, "
                f"{len(config.frameworks)} frameworks)")
    yield from database_checks(config)
    yield model_check(config)
    yield disk_check(config)
    if offline:
        return
    if config.notify.email is not None:
        yield smtp_check(config.notify.email)
    for url in config.notify.webhooks:
        yield webhook_check(url)
    yield from source_checks(config, api_base)


# --- the database -----------------------------------------------------------------------------------------


def database_checks(config: Config) -> Iterator[Check]:
    """Reachable, migrated to the latest revision, writable; stop at the first that fails."""
    shown = redact_url(config.database_url)
    try:
        with open_engine(config.database_url) as engine, engine.connect() as conn:
            conn.execute(text("select 1"))
            tables = set(inspect(conn).get_table_names())
            revision = conn.scalar(text("select version_num from alembic_version")) \
                if "alembic_version" in tables else None
    except Exception as exc:  # noqa: BLE001 - any driver's error is this check's finding
        yield Check("fail", "database", f"{shown} cannot be reached: {error_message(exc)}",
                    "check [database] url (or JOBTREND_DATABASE_URL) and that the server is up")
        return
    yield Check("ok", "database", f"{shown} reachable ({make_url(config.database_url).get_backend_name()})")
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if revision != head:
        found = f"at revision {revision}" if revision else "not initialised"
        yield Check("fail", "database schema", f"{found}, the latest is {head}", "run `jobtrend init`")
        return
    yield Check("ok", "database schema", f"at the latest revision {head}")
    yield writable_check(config)


def writable_check(config: Config) -> Check:
    """Insert a row into job_runs and roll it back: the write a crawl or a job makes first."""
    try:
        with open_engine(config.database_url) as engine, engine.connect() as conn, conn.begin() as transaction:
            conn.execute(insert(JobRun).values(job="doctor", status="running",
                                               started_at=dt.datetime.now(dt.UTC)))
            transaction.rollback()
    except Exception as exc:  # noqa: BLE001
        return Check("fail", "database writable", error_message(exc),
                     "give this user write access to the database (SQLite: to its file and its folder)")
    return Check("ok", "database writable", "an insert into job_runs succeeded (rolled back)")


# --- the model and the disk -------------------------------------------------------------------------------


def model_check(config: Config) -> Check:
    path = Path(config.model_path)
    if not path.exists():
        return Check("fail", "role model", f"no file at {path}", "run `jobtrend init` or `jobtrend classifier train`")
    try:
        model = RoleModel.load(path)
    except ModelError as exc:
        return Check("fail", "role model", str(exc), "run `jobtrend classifier train`")
    return Check("ok", "role model", f"{path} loads (version {model.version})")


def data_folder(config: Config) -> Path:
    """Where jobtrend writes: the SQLite file's folder, else the role model's."""
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent
    return Path(config.model_path).resolve().parent


def disk_check(config: Config, usage: Callable[[Path], tuple] = shutil.disk_usage) -> Check:
    folder = data_folder(config)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    free = usage(existing).free
    detail = f"{free / (1 << 30):.1f} GiB free in {folder}"
    if free < DISK_FAIL_BYTES:
        return Check("fail", "disk space", detail, "free disk space: SQLite and the crawl cannot write on a full disk")
    if free < DISK_WARN_BYTES:
        return Check("warn", "disk space", detail, "free some disk space before the next crawl")
    return Check("ok", "disk space", detail)


# --- the network ------------------------------------------------------------------------------------------


def smtp_check(email: EmailSettings) -> Check:
    """Connect and EHLO (STARTTLS when configured); no login, no mail."""
    where = f"{email.host}:{email.port}"
    try:
        if email.security == "ssl":
            client = smtplib.SMTP_SSL(email.host, email.port, timeout=email.timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(email.host, email.port, timeout=email.timeout)
        with client:
            code, _ = client.ehlo()
            if email.security == "starttls":
                if not client.has_extn("starttls"):
                    return Check("fail", "smtp", f"{where} answers but offers no STARTTLS",
                                 'set email.security = "none" (a local relay) or "ssl" (port 465), or use the '
                                 "server's STARTTLS port (587)")
                client.starttls(context=ssl.create_default_context())
                code, _ = client.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        return Check("fail", "smtp", f"{where}: {error_message(exc) or type(exc).__name__}",
                     f"check email.host and email.port ({where}) and that the server is up; "
                     "email.security: ssl for port 465, starttls for 587, none for a local relay")
    return Check("ok", "smtp", f"{where} answers EHLO ({code}, security {email.security}); no mail sent")


def webhook_check(url: str) -> Check:
    """DNS resolution of the webhook's host: nothing is posted."""
    host = urlsplit(url).hostname or ""
    try:
        resolve_host(host)
    except (OSError, UnicodeError) as exc:
        return Check("fail", "webhook", f"{host}: DNS lookup failed ({error_message(exc)})",
                     "check the URL in notify.webhooks and the network")
    return Check("ok", "webhook", f"{host} resolves; nothing posted")


def source_checks(config: Config, api_base: str | None) -> Iterator[Check]:
    """The first enabled source of each kind: robots.txt and one GET, as the crawl would."""
    settings = crawl_settings(config, api_base=api_base)
    crawl = config.crawl
    for kind in SPIDERS:
        sources = config.sources_of(kind)
        if not sources:
            continue
        source = sources[0]
        url = first_url(settings, source, SPIDERS)
        result = probe(url, user_agent=crawl.user_agent, timeout=crawl.download_timeout, delay=crawl.download_delay,
                       obey_robots=crawl.obey_robots_txt)
        if result.ok:
            yield Check("ok", f"source {source.label}", result.detail)
        else:
            yield Check("fail", f"source {source.label}", result.detail,
                        "check the network" if result.reason and result.reason.startswith("download_error")
                        else f"check {source.label} in sources.toml (`jobtrend sources` shows its history)")
