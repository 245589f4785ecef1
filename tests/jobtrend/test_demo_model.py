"""Where the demo keeps its role model: the configured model when it is the bundled one of this version (or, for
the default demo database, when there is none yet), so `make demo` and `jobtrend init` leave one model file; a
model the user trained is never touched, and the demo then keeps its own (the documented path for the default
demo database, a temporary folder for any other, so that demos on two databases at once never share a file)."""

import shutil
from pathlib import Path

import pytest

import jobtrend.cli.demo
from analysis.classifier import RoleModel
from analysis.classify import holds_bundled_model, stored_model_version
from jobtrend.app.setup import init
from jobtrend.cli.demo import demo_config, demo_model
from jobtrend.config import load_config
from tests.crawler.conftest import write_config


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder of its own: config/ (classifier.model: data/models/roles.npz) and data/, where the
    default demo database and the demo's own model live too."""
    monkeypatch.setattr(jobtrend.cli.demo, "DEMO_DB", tmp_path / "data" / "demo.db")
    monkeypatch.setattr(jobtrend.cli.demo, "DEMO_MODEL", tmp_path / "data" / "models" / "demo-roles.npz")
    config_dir = write_config(tmp_path / "config", [])
    (tmp_path / "data" / "models").mkdir(parents=True)
    return config_dir


def default_demo_url() -> str:
    return f"sqlite:///{jobtrend.cli.demo.DEMO_DB}"


def user_trained_model(source: Path, target: Path) -> bytes:
    """A model of another version than the bundled one at ``target`` (as `classifier train` on stored postings
    leaves), returned as bytes."""
    model = RoleModel.load(source)
    model.version = "user00000000"
    model.save(target)
    return target.read_bytes()


def models_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_demo_then_init_leave_one_model_file_and_init_does_not_train(project, monkeypatch):
    # SQLite only (the default demo database is a SQLite file): it trains a model once, which is slow; init on
    # PostgreSQL beside a model it must keep is in the test of a user-trained model below
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)
    config = load_config(project)
    models = config.model_path.parent
    with demo_model(default_demo_url(), config.model_path) as model:
        assert model == config.model_path  # none yet: the demo trains the configured model
        demo_setup = init(demo_config(config, default_demo_url(), model))
    assert demo_setup.trained_model is not None and holds_bundled_model(config.model_path)
    trained = config.model_path.read_bytes()
    setup = init(config)
    assert setup.trained_model is None  # init found the demo's model and kept it
    assert models_in(models) == ["roles.npz"] and config.model_path.read_bytes() == trained


def test_a_demo_after_init_uses_the_bundled_model_as_it_is(project, role_model_path):
    config = load_config(project)
    shutil.copyfile(role_model_path, config.model_path)  # what `jobtrend init` trained
    before = config.model_path.read_bytes()
    for url in (default_demo_url(), "postgresql+psycopg://u@/demo?host=/tmp/pg"):
        with demo_model(url, config.model_path) as model:
            assert model == config.model_path
    assert config.model_path.read_bytes() == before and models_in(config.model_path.parent) == ["roles.npz"]


def test_a_user_trained_model_is_left_byte_identical_and_the_demo_keeps_its_own(project, db_url, role_model_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("JOBTREND_DATABASE_URL", db_url)
    config = load_config(project)
    users = user_trained_model(role_model_path, config.model_path)
    assert stored_model_version(config.model_path) == "user00000000" and not holds_bundled_model(config.model_path)
    own = jobtrend.cli.demo.DEMO_MODEL
    shutil.copyfile(role_model_path, own)  # the demo's own model from an earlier run, of this version: kept
    with demo_model(default_demo_url(), config.model_path) as model:
        assert model == own
        assert init(demo_config(config, default_demo_url(), model)).trained_model is None
    with demo_model("sqlite:////tmp/elsewhere/demo.db", config.model_path) as model:
        assert model.parent not in (own.parent,) and model != config.model_path
    assert init(config).trained_model is None  # init never overwrites a user's model
    assert config.model_path.read_bytes() == users


def test_the_demos_own_model_of_an_older_version_is_removed_for_init_to_retrain(project, role_model_path):
    config = load_config(project)
    user_trained_model(role_model_path, config.model_path)
    own = jobtrend.cli.demo.DEMO_MODEL
    user_trained_model(role_model_path, own)  # not of this version
    with demo_model(default_demo_url(), config.model_path) as model:
        assert model == own and not own.exists()


def test_another_database_gets_a_folder_of_its_own_removed_after_the_demo(project):
    config = load_config(project)  # no model at the configured path: only the default demo database trains it
    urls = ["sqlite:////tmp/a/demo.db", "postgresql+psycopg://u@/demo?host=/tmp/pg"]
    with demo_model(urls[0], config.model_path) as first, demo_model(urls[1], config.model_path) as second:
        assert len({first, second, config.model_path, jobtrend.cli.demo.DEMO_MODEL}) == 4
        assert first.parent.is_dir() and config.model_path.parent not in (first.parent, second.parent)
        first.write_bytes(b"model")
    assert not Path(first).parent.exists() and not Path(second).parent.exists()
    assert not config.model_path.exists()


def test_the_demo_config_uses_the_given_model(tmp_path):
    config = demo_config(load_config(), "sqlite:////tmp/a/demo.db", tmp_path / "m.npz")
    assert config.model_path == tmp_path / "m.npz"
