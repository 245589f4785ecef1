"""The `jobtrend` command line: thin commands over the use cases of :mod:`jobtrend.app`.

A command reads its options, makes one call and prints the result. Commands live in one module per area
(``database``, ``pipeline``, ``report``, ...); each has a docstring with an ``Example:`` block, which is its
``--help``. The group loads a command's module only when that command runs (:data:`COMMANDS`): every module
imports what it needs at its top, and `jobtrend sql` does not pay for the crawler's and the classifier's imports
(about 1.7 s together, measured with ``python -X importtime``).
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from jobtrend import __version__
from jobtrend.app import AppError
from jobtrend.config import Config, ConfigError, load_config
from jobtrend.db import (
    DatabaseReadOnly,
    DatabaseUnavailable,
    SchemaMissing,
    is_read_only_error,
    read_only_engines,
    read_only_message,
    require_schema,
)
from jobtrend.logs import LogFile, close_log_file, log_file_path, log_to_file, open_log_file, shown_path
from jobtrend.messages import error_line, error_message, terminal_text

# command name -> module under jobtrend.cli that defines it (a click command or group of that name)
COMMANDS = {
    "alerts": "alerts", "analyze": "pipeline", "browse": "browse", "classifier": "classifier",
    "classify": "classifier", "crawl": "pipeline", "dedupe": "dedupe", "deliver": "notify", "demo": "demo",
    "doctor": "doctor", "evaluate": "evaluate", "export": "export", "init": "init", "mentions": "mentions",
    "outbox": "notify", "pay": "pay",
    "prune": "prune", "report": "report", "scheduler": "scheduler", "sources": "sources", "sql": "database",
    "status": "status", "trends": "pipeline",
}


# Exit statuses: 0 done, 1 an error (one line on stderr), 2 a usage mistake (click's usage error: nothing ran),
# 130 interrupted by Ctrl-C (128 + SIGINT, as a shell reports it; a crawl stopped by SIGTERM exits 143)
INTERRUPTED_EXIT = 130


@dataclass
class AppContext:
    """What every command may need: the configuration, loaded on first use, which opens the log file: the one
    ``--log-file`` names, else, for the service (``service``: `scheduler run` and `run-job`), ``[logging] file``."""

    config_dir: Path | None = None
    log_file: Path | None = None
    service: bool = False
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_dir)
            except ConfigError as exc:
                raise click.ClickException(f"configuration error: {exc}") from None
            self._open_log_file(self._config)
        return self._config

    def _open_log_file(self, config: Config) -> None:
        """Open the log file this command writes, if any, with ``[logging]``'s level and rotation."""
        settings = config.logging
        path = self.log_file or (settings.file_path(config.config_dir) if self.service else None)
        if path is not None:
            open_log_file(LogFile(path, settings.level, settings.max_bytes, settings.backups))

    @property
    def db_config(self) -> Config:
        """The configuration, after checking its database has been initialised."""
        config = self.config
        require_schema(config.database_url)
        return config

    @property
    def read_only_config(self) -> Config:
        """:attr:`db_config` for a command that only reads: for the rest of the command every engine is read-only
        (:func:`jobtrend.db.read_only_engines`), so it works on a database it cannot write (a read-only folder)."""
        click.get_current_context().with_resource(read_only_engines())
        return self.db_config


class JobtrendGroup(click.Group):
    """The command group: loads each command's module on first use (:data:`COMMANDS`), and ends a command that
    meets a use-case error, a missing schema, a database or file error with one clear line (exit status 1), and
    one interrupted by Ctrl-C with ``Error: interrupted (SIGINT)`` and exit status 130."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:  # a command added with main.add_command (a plugin, a test)
            return super().get_command(ctx, cmd_name)
        return getattr(importlib.import_module(f"jobtrend.cli.{module}"), cmd_name.replace("-", "_"))

    def invoke(self, ctx: click.Context):
        try:
            return self._invoke(ctx)
        except click.ClickException as exc:
            if not isinstance(exc, click.UsageError):  # the line the operator saw, in the log file too
                log_to_file(__name__, f"{command_name(ctx)}: {exc.format_message()}")
            raise

    def _invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (AppError, SchemaMissing, DatabaseUnavailable, DatabaseReadOnly) as exc:
            raise click.ClickException(str(exc)) from None
        except ConfigError as exc:  # a file a command reads besides jobtrend.toml (alerts.toml, --rules)
            raise click.ClickException(f"configuration error: {exc}") from None
        except SQLAlchemyError as exc:
            detail = exc.orig if isinstance(exc, DBAPIError) else exc
            raise click.ClickException(database_error(ctx, detail)) from None
        except OSError as exc:  # a file or folder the command needed (a lock beside the database, an output)
            logging.getLogger(__name__).debug("%s failed", ctx.info_name, exc_info=True)  # the traceback with -vv
            log_to_file(__name__, f"{command_name(ctx)} failed", exc)
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or error_message(exc)}{where}") from None
        except KeyboardInterrupt:  # Ctrl-C outside a crawl (which stops gracefully and reports it itself)
            click.echo("Error: interrupted (SIGINT)", err=True)
            ctx.exit(INTERRUPTED_EXIT)
        except Exception as exc:
            if is_driver_error(exc):
                raise click.ClickException(database_error(ctx, exc)) from None
            if isinstance(exc, click.ClickException | click.exceptions.Exit | click.Abort):
                raise
            if not log_to_file(__name__, f"{command_name(ctx)} failed", exc):
                raise  # no log file: the traceback on the console, as Python prints it
            raise click.ClickException(unexpected_error_line(exc)) from None


def database_error(ctx: click.Context, exc: BaseException) -> str:
    """The one line for a database error: the database's own words, or, for a write SQLite refused because the file
    or its folder is read-only, which and what still works."""
    app = ctx.find_object(AppContext)
    url = make_url(app.config.database_url) if app is not None and app._config is not None else None
    if is_read_only_error(exc) and url is not None and url.get_backend_name() == "sqlite" and url.database:
        return read_only_message(url.database)
    return f"database error: {error_message(exc)}"


def command_name(ctx: click.Context) -> str:
    """The command the group ran ("crawl"), for the log file."""
    return ctx.invoked_subcommand or ctx.info_name or "jobtrend"


def unexpected_error_line(exc: BaseException) -> str:
    """The one line for an error no command expected (a bug) once its traceback is in the log file."""
    return f"unexpected error: {terminal_text(error_line(exc))} (traceback in {shown_path(log_file_path())})"


def is_driver_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a DB-API error raised by the driver itself, not wrapped by SQLAlchemy (a COPY or a
    cursor used directly, as the trend writer on PostgreSQL does)."""
    psycopg = sys.modules.get("psycopg")  # loaded only when a PostgreSQL URL is used
    return isinstance(exc, sqlite3.Error) or (psycopg is not None and isinstance(exc, psycopg.Error))


pass_app = click.make_pass_decorator(AppContext, ensure=True)


@click.group(cls=JobtrendGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="jobtrend")
@click.option("--config-dir", type=click.Path(path_type=Path, file_okay=False), envvar="JOBTREND_CONFIG_DIR",
              help="Folder with jobtrend.toml, sources.toml and frameworks.toml [env: JOBTREND_CONFIG_DIR].")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.option("--log-file", type=click.Path(path_type=Path, dir_okay=False), envvar="JOBTREND_LOG_FILE",
              help="Also log to this file, with tracebacks, at [logging] level (the scheduler writes [logging] file "
                   "without it) [env: JOBTREND_LOG_FILE].")
@click.pass_context
def main(ctx: click.Context, config_dir: Path | None, verbose: int, log_file: Path | None) -> None:
    """Watch public job boards for AI engineering roles and the frameworks they mention.

    \b
    Example:
        jobtrend init && jobtrend crawl && jobtrend analyze && jobtrend trends
        jobtrend demo        # the whole pipeline on bundled data, offline
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = AppContext(config_dir=config_dir, log_file=log_file)
    ctx.call_on_close(close_log_file)


__all__ = ["main", "AppContext", "pass_app", "COMMANDS"]
