"""The one exception every configuration problem is reported as."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A configuration file is missing, unreadable or holds a bad value."""

    def __init__(self, path: Path | str, key: str, expected: str, got: Any = None):
        self.path, self.key, self.expected = Path(path), key, expected
        detail = f"{self.path}: {key}: expected {expected}"
        if got is not None:
            detail += f", got {got!r}"
        super().__init__(detail)
