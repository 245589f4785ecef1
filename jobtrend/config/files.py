"""Where the configuration files are, and reading one of them."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from jobtrend.config.errors import ConfigError

# jobtrend/config/files.py -> the repository root, three levels up
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


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
