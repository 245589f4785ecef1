"""The `jobtrend` command line: a click group whose commands are thin wrappers over library functions.

Commands live in one module per area (``database``, ``pipeline``, ``demo``); each has a docstring with an
``Example:`` block, which is its ``--help``.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from jobtrend import __version__
from jobtrend.config import Config, ConfigError, load_config
from jobtrend.messages import error_message


@dataclass
class AppContext:
    """What every command may need: the configuration, loaded on first use."""

    config_dir: Path | None = None
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_dir)
            except ConfigError as exc:
                raise click.ClickException(f"configuration error: {exc}") from None
        return self._config

    @property
    def db_config(self) -> Config:
        """The configuration, after checking its database has been initialised."""
        from jobtrend.db import require_schema

        config = self.config
        require_schema(config.database_url)
        return config


class JobtrendGroup(click.Group):
    """The command group: a missing schema or a database error ends the command with one clear line."""

    def invoke(self, ctx: click.Context):
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        from jobtrend.db import SchemaMissing

        try:
            return super().invoke(ctx)
        except SchemaMissing as exc:
            raise click.ClickException(str(exc)) from None
        except SQLAlchemyError as exc:
            detail = exc.orig if isinstance(exc, DBAPIError) else exc
            raise click.ClickException(f"database error: {error_message(detail)}") from None
        except Exception as exc:
            if not is_driver_error(exc):
                raise
            raise click.ClickException(f"database error: {error_message(exc)}") from None


def is_driver_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a DB-API error raised by the driver itself, not wrapped by SQLAlchemy (a COPY or a
    cursor used directly, as the trend writer on PostgreSQL does)."""
    import sqlite3

    psycopg = sys.modules.get("psycopg")
    return isinstance(exc, sqlite3.Error) or (psycopg is not None and isinstance(exc, psycopg.Error))


pass_app = click.make_pass_decorator(AppContext, ensure=True)


@click.group(cls=JobtrendGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="jobtrend")
@click.option("--config-dir", type=click.Path(path_type=Path, file_okay=False), envvar="JOBTREND_CONFIG_DIR",
              help="Folder with jobtrend.toml, sources.toml and frameworks.toml [env: JOBTREND_CONFIG_DIR].")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.pass_context
def main(ctx: click.Context, config_dir: Path | None, verbose: int) -> None:
    """Watch public job boards for AI engineering roles and the frameworks they mention.

    \b
    Example:
        jobtrend init && jobtrend crawl && jobtrend analyze && jobtrend trends
        jobtrend demo        # the whole pipeline on bundled data, offline
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = AppContext(config_dir=config_dir)


from jobtrend.cli import (  # noqa: E402  (commands register on `main`)
    alerts,
    browse,
    classifier,
    database,
    dedupe,
    demo,
    drift,
    evaluate,
    export,
    mentions,
    notify,
    pipeline,
    prune,
    report,
    scheduler,
    sources,
    status,
)

__all__ = ["main", "AppContext", "pass_app", "alerts", "browse", "classifier", "database", "dedupe", "demo",
           "drift", "evaluate", "export", "mentions", "notify", "pipeline", "prune", "report", "scheduler",
           "sources", "status"]
