"""The demo's role model path: one per database, so demos on two databases at once do not share a file."""

from jobtrend.cli.demo import DEMO_DB, DEMO_MODEL, demo_config, demo_model
from jobtrend.config import load_config


def test_the_default_demo_database_keeps_the_documented_model_path():
    assert demo_model(f"sqlite:///{DEMO_DB}") == DEMO_MODEL


def test_each_other_database_gets_a_model_file_of_its_own():
    urls = ["sqlite:////tmp/a/demo.db", "sqlite:////tmp/b/demo.db", "postgresql+psycopg://u@/demo?host=/tmp/pg"]
    paths = [demo_model(url) for url in urls]
    assert len(set(paths) | {DEMO_MODEL}) == 4
    assert all(path.parent == DEMO_MODEL.parent and path.suffix == ".skops" for path in paths)
    assert paths == [demo_model(url) for url in urls]  # the same database, the same file on every run


def test_the_demo_config_uses_the_database_s_model():
    config = demo_config(load_config(), "sqlite:////tmp/a/demo.db")
    assert config.model_path == demo_model("sqlite:////tmp/a/demo.db")
