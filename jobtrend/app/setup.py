"""``init``: create or upgrade the schema, sync sources and the framework taxonomy from the configuration, and
make sure a role model exists (trained from the bundled corpus when there is none)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analysis.classify import ensure_default_model
from jobtrend.config import Config
from jobtrend.db import migrate, open_engine, session_factory, sync_frameworks, sync_sources


@dataclass(frozen=True)
class InitResult:
    """What ``init`` did: rows synced, and the model it trained (None: the model file was kept)."""

    sources: int
    frameworks: int
    model_path: Path
    trained_model: str | None


def init(config: Config) -> InitResult:
    """Migrate the database to the latest schema, sync sources and frameworks, and train the default role model
    when ``config.model_path`` does not exist. Safe to run again."""
    migrate(config.database_url)
    with open_engine(config.database_url) as engine, session_factory(engine).begin() as session:
        sources = sync_sources(session, config.sources)
        frameworks = sync_frameworks(session, config.frameworks)
    model = ensure_default_model(config.model_path)
    return InitResult(sources=len(sources), frameworks=len(frameworks), model_path=config.model_path,
                      trained_model=None if model is None else model.version)
