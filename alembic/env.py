"""Alembic environment: jobtrend's models are the target; SQLite migrations run in batch mode."""

from __future__ import annotations

import logging.config
import os

from alembic import context

from jobtrend.config import load_config
from jobtrend.db import make_engine
from jobtrend.models import Base, UTCDateTime

config = context.config
if config.config_file_name is not None:
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Tables in the same database that other libraries own (APScheduler's job store).
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001 - Alembic's hook signature
    return not (type_ == "table" and name in FOREIGN_TABLES)


def render_item(type_, obj, autogen_context):  # noqa: ANN001 - Alembic's hook signature
    """Render jobtrend's UTCDateTime as a plain DateTime(timezone=True): migrations never import the models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def database_url() -> str:
    """The URL `jobtrend` set, else JOBTREND_DATABASE_URL, else the one in config/jobtrend.toml."""
    return (config.get_main_option("sqlalchemy.url") or os.environ.get("JOBTREND_DATABASE_URL")
            or load_config().database_url)


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      include_object=include_object, compare_type=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
