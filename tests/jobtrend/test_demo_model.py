"""Where the demo keeps its role model: the documented path for the default demo database, a temporary folder
of its own for any other, so that demos on two databases at once never share a file and none is left behind."""

from pathlib import Path

from jobtrend.cli.demo import DEMO_DB, DEMO_MODEL, demo_config, demo_model
from jobtrend.config import load_config


def test_the_default_demo_database_keeps_the_documented_model_path():
    with demo_model(f"sqlite:///{DEMO_DB}") as path:
        assert path == DEMO_MODEL


def test_another_database_gets_a_folder_of_its_own_removed_after_the_demo():
    urls = ["sqlite:////tmp/a/demo.db", "postgresql+psycopg://u@/demo?host=/tmp/pg"]
    with demo_model(urls[0]) as first, demo_model(urls[1]) as second:
        assert len({first, second, DEMO_MODEL}) == 3
        assert first.parent.is_dir() and DEMO_MODEL.parent not in (first.parent, second.parent)
        first.write_bytes(b"model")
    assert not Path(first).parent.exists() and not Path(second).parent.exists()


def test_the_demo_config_uses_the_given_model(tmp_path):
    config = demo_config(load_config(), "sqlite:////tmp/a/demo.db", tmp_path / "m.npz")
    assert config.model_path == tmp_path / "m.npz"
