"""Loading the whole configuration: jobtrend.toml, sources.toml and frameworks.toml, each read once."""

from __future__ import annotations

from pathlib import Path

from jobtrend.config.errors import ConfigError
from jobtrend.config.files import default_config_dir
from jobtrend.config.frameworks import load_frameworks
from jobtrend.config.main import read_main, resolve_sqlite_path
from jobtrend.config.settings import Config
from jobtrend.config.sources import load_sources


def load_config(config_dir: Path | str | None = None) -> Config:
    """Load and validate all configuration files from ``config_dir`` (see :func:`default_config_dir`)."""
    directory = Path(config_dir) if config_dir else default_config_dir()
    if not directory.is_dir():
        raise ConfigError(directory, "(directory)", "a directory holding jobtrend.toml, sources.toml, frameworks.toml")
    main = read_main(directory / "jobtrend.toml")
    main["database_url"] = resolve_sqlite_path(main["database_url"], directory)
    return Config(
        config_dir=directory,
        sources=load_sources(directory / "sources.toml",
                             allow_private_addresses=main["crawl"].allow_private_addresses),
        frameworks=load_frameworks(directory / "frameworks.toml"),
        **main,
    )
