"""The configuration loader accepts the shipped files and names file, key and expectation on every error."""

from pathlib import Path

import pytest

from jobtrend.config import REPO_ROOT, ConfigError, load_config, load_frameworks, load_main, load_sources

MAIN = '[database]\nurl = "sqlite:///x.db"\n'
SOURCES = '[[sources]]\nkind = "ashby"\nkey = "cohere"\ncompany = "Cohere"\n'
FRAMEWORKS = '[[frameworks]]\nslug = "pytorch"\nname = "PyTorch"\ncategory = "deep_learning"\naliases = ["pytorch"]\n'


def write_config(directory: Path, main: str = MAIN, sources: str = SOURCES, frameworks: str = FRAMEWORKS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "jobtrend.toml").write_text(main)
    (directory / "sources.toml").write_text(sources)
    (directory / "frameworks.toml").write_text(frameworks)
    return directory


def invoke_cli(config_dir: Path, args: list[str], database_url: str | None = None):
    """Run the `jobtrend` CLI in-process with ``config_dir`` (and ``database_url``, when given); the click Result."""
    from click.testing import CliRunner

    from jobtrend.cli import main

    env = {"JOBTREND_CONFIG_DIR": str(config_dir)}
    if database_url:
        env["JOBTREND_DATABASE_URL"] = database_url
    return CliRunner().invoke(main, args, env=env)


def test_shipped_config_loads():
    config = load_config(REPO_ROOT / "config")
    assert config.database_url.startswith("sqlite:///")
    assert len(config.sources_of("ashby")) >= 15
    assert len(config.sources_of("greenhouse")) >= 10
    assert len(config.frameworks) >= 40
    assert "jobtrend" in config.crawl.user_agent


def test_relative_sqlite_path_is_resolved_next_to_the_config_folder(tmp_path):
    config = load_config(write_config(tmp_path / "config"))
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'x.db'}"


def test_environment_overrides_database_url_and_config_dir(tmp_path, monkeypatch):
    directory = write_config(tmp_path / "elsewhere")
    monkeypatch.setenv("JOBTREND_CONFIG_DIR", str(directory))
    monkeypatch.setenv("JOBTREND_DATABASE_URL", "postgresql+psycopg://u@h/db")
    config = load_config()
    assert config.config_dir == directory
    assert config.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[database\nurl=1", "(syntax)", "valid TOML"),
        ('[database]\nurl = 5\n', "database.url", "a string"),
        ('[database]\nurl = "nonsense"\n', "database.url", "SQLAlchemy URL"),
        ('[crawl]\ndownload_delay = -1\n', "crawl.download_delay", "0 or more"),
        ('[crawl]\nbatch_size = true\n', "crawl.batch_size", "an integer"),
        ('[crawl]\nspeed = 3\n', "crawl.speed", "one of"),
        ('[reports]\n', "reports", "one of"),
        ('[crawl]\nuser_agent = "Mozilla/5.0"\n', "crawl.user_agent", "contact URL or email"),
    ],
)
def test_bad_main_file_names_file_key_and_expectation(tmp_path, text, key, expected):
    path = tmp_path / "jobtrend.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_main(path)
    assert err.value.key == key
    assert str(path) in str(err.value) and key in str(err.value) and expected in str(err.value)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[[sources]]\nkind = "monster"\nkey = "x"\n', "sources[0].kind", "one of ashby"),
        ('[[sources]]\nkind = "ashby"\n', "sources[0].key", "the board token"),
        ('[[sources]]\nkind = "ashby"\nkey = "a"\n[[sources]]\nkind = "ashby"\nkey = "a"\n', "sources[1].key",
         "not already listed"),
        ('[[sources]]\nkind = "ashby"\nkey = "a"\nenabled = "yes"\n', "sources[0].enabled", "true or false"),
        ('sources = "cohere"\n', "sources", "a list"),
    ],
)
def test_bad_sources_file(tmp_path, text, key, expected):
    path = tmp_path / "sources.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert err.value.key == key and expected in str(err.value) and str(path) in str(err.value)


def _entry(slug: str, extra: str = "") -> str:
    return f'[[frameworks]]\nslug = "{slug}"\nname = "N"\ncategory = "c"\naliases = ["{slug}"]\n{extra}\n'


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[[frameworks]]\nslug = "Py Torch"\nname = "x"\ncategory = "c"\naliases = ["x"]\n', "frameworks[0].slug",
         "lower-case slug"),
        ('[[frameworks]]\nslug = "a"\nname = "A"\ncategory = "c"\n', "frameworks[0].aliases", "at least one"),
        ('[[frameworks]]\nslug = "a"\nname = "A"\ncategory = "c"\naliases = [""]\n', "frameworks[0].aliases[0]",
         "non-empty"),
        ('[[frameworks]]\nslug = "a"\nname = "A"\ncategory = "c"\naliases = ["ray"]\n'
         '[[frameworks]]\nslug = "b"\nname = "B"\ncategory = "c"\naliases = ["Ray"]\n', "frameworks[1].aliases",
         "already used by 'a'"),
        ('[[frameworks]]\nslug = "a"\nname = "A"\ncategory = "c"\naliases = ["x"]\ncolour = "red"\n',
         "frameworks[0].colour", "one of"),
        (_entry("a", 'parent = "b"'), "frameworks[0].parent", "the slug of another entry"),
        (_entry("a", 'parent = "a"'), "frameworks[0].parent", "the slug of another entry"),
        (_entry("a", 'parent = "b"') + _entry("b", 'parent = "c"') + _entry("c", 'parent = "a"'),
         "frameworks[0].parent", "without a cycle"),
        (_entry("a", 'near = ["gpu"]'), "frameworks[0].gated", "no exact forms"),
        (_entry("a", 'gated = ["a"]'), "frameworks[0].near", "gated forms"),
        (_entry("a", 'gated = ["b"]\nnear = ["gpu"]'), "frameworks[0].gated[0]", "aliases or exact forms"),
        (_entry("a", 'exact = ["A"]\nnear = ["gpu"]\nnear_window = 0'), "frameworks[0].near_window", "at least 1"),
        (_entry("a", 'near_window = 5'), "frameworks[0].near", "near_window"),
        (_entry("a", 'near = [""]\ngated = ["a"]'), "frameworks[0].near[0]", "non-empty"),
        (_entry("a", 'exclude = ["feast for"]'), "frameworks[0].exclude[0]", "containing one of this entry's forms"),
        (_entry("a", 'exclude = "a b"'), "frameworks[0].exclude", "a list"),
        (_entry("a", 'avoid = ["fund"]\navoid_window = 0'), "frameworks[0].avoid_window", "at least 1"),
        (_entry("a", 'avoid_window = 3'), "frameworks[0].avoid", "avoid_window"),
    ],
)
def test_bad_frameworks_file(tmp_path, text, key, expected):
    path = tmp_path / "frameworks.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_frameworks(path)
    assert err.value.key == key and expected in str(err.value)


def test_gates_and_parent_load(tmp_path):
    path = tmp_path / "frameworks.toml"
    path.write_text(_entry("ray", 'exact = ["Ray"]\nnear = ["cluster"]\nexclude = ["ray tracing"]')
                    + _entry("ray-serve", 'parent = "ray"'))
    ray, serve = load_frameworks(path)
    assert (ray.gated_forms, ray.near, ray.near_window, ray.exclude) == (("Ray",), ("cluster",), 30, ("ray tracing",))
    assert serve.parent == "ray" and serve.gated_forms == ()


def test_missing_file_is_named(tmp_path):
    directory = write_config(tmp_path / "c")
    (directory / "sources.toml").unlink()
    with pytest.raises(ConfigError, match=r"sources\.toml: \(file\): expected an existing TOML file"):
        load_config(directory)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[[sources]]\nkind = "ashby"\nkey = "a"\nregion = "eu"\n', "sources[0].region", "for a ashby source"),
        ('[[sources]]\nkind = "lever"\nkey = "a"\nregion = 1\n', "sources[0].region", '"global" or "eu"'),
        ('[[sources]]\nkind = "jsonld"\nkey = "https://x.test/jobs"\nsitemap = "yes"\n', "sources[0].sitemap",
         "true when key is a sitemap"),
    ],
)
def test_source_options_are_checked_per_kind(tmp_path, text, key, expected):
    path = tmp_path / "sources.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert err.value.key == key and expected in str(err.value)


def test_source_options_are_kept(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text('[[sources]]\nkind = "lever"\nkey = "mistral"\nregion = "eu"\n')
    assert load_sources(path)[0].options == {"region": "eu"}
