"""Fixtures of the security tests."""

import pytest

from tests.jobtrend.test_config import invoke_cli, write_config
from tests.security.sql_logins import query_login


@pytest.fixture
def query_url(db_kind, db_url):
    """SQLite: the test database; PostgreSQL: the least-privilege login of docs/querying.md on it."""
    with query_login(db_kind, db_url) as url:
        yield url


@pytest.fixture
def config_dir(tmp_path):
    """A temporary config folder (tests/jobtrend/test_config.py's minimal one)."""
    return write_config(tmp_path / "config")


@pytest.fixture
def run(config_dir):
    """Invoke the CLI in-process with ``config_dir`` and the given database URL."""
    return lambda args, database_url=None: invoke_cli(config_dir, args, database_url)
