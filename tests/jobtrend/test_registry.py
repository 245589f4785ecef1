"""The board registry: board URLs recognised, public lists normalised, the shipped registry read, and registry
boards loaded and synced like configured ones (on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from jobtrend.config import REPO_ROOT, ConfigError, SourceConfig, load_config, load_sources
from jobtrend.db import session_factory, sync_sources
from jobtrend.models import Source
from jobtrend.registry import Board, RegistryError, parse_board, read_board_list, read_registry, registry_text
from tests.conftest import FIXTURES

PUBLIC_LIST = FIXTURES / "boards" / "public-list.csv"
SHIPPED = REPO_ROOT / "config" / "registry"


@pytest.mark.parametrize(("text", "expected"), [
    ("https://jobs.ashbyhq.com/openai", ("ashby", "openai", None)),
    ("https://jobs.ashbyhq.com/DeepL/3f2a-uuid?utm_source=x", ("ashby", "DeepL", None)),
    ("https://jobs.ashbyhq.com/applied%20compute", ("ashby", "applied compute", None)),
    ("https://jobs.ashbyhq.com/acme/embed?version=2", ("ashby", "acme", None)),
    ("https://api.ashbyhq.com/posting-api/job-board/acme", ("ashby", "acme", None)),
    ("https://boards.greenhouse.io/anthropic", ("greenhouse", "anthropic", None)),
    ("https://job-boards.greenhouse.io/anthropic/jobs/123", ("greenhouse", "anthropic", None)),
    ("https://boards-api.greenhouse.io/v1/boards/anthropic/jobs", ("greenhouse", "anthropic", None)),
    ("https://boards.greenhouse.io/embed/job_board?for=acme&b=https%3A%2F%2Fx", ("greenhouse", "acme", None)),
    ("https://boards.greenhouse.io/embed/job_board/js?for=acme", ("greenhouse", "acme", None)),
    ("https://jobs.lever.co/mistral", ("lever", "mistral", None)),
    ("https://jobs.eu.lever.co/mobileye/uuid", ("lever", "mobileye", "eu")),
    ("api.lever.co/v0/postings/shieldai?mode=json", ("lever", "shieldai", None)),
    ("jobs.lever.co/1840%26company", ("lever", "1840&company", None)),
    ("ashby:Lightfield", ("ashby", "Lightfield", None)),
    ("Greenhouse: scaleai ", ("greenhouse", "scaleai", None)),
])
def test_board_urls_and_kind_token_forms_are_recognised(text, expected):
    board = parse_board(text)
    assert (board.kind, board.token, board.region) == expected


@pytest.mark.parametrize("text", [
    "https://careers.example.com/jobs", "https://job-boards.greenhouse.io/embed", "https://jobs.ashbyhq.com/",
    "https://boards.greenhouse.io/embed/job_board", "ftp://jobs.lever.co/acme", "workday:acme", "ashby:",
    "https://api.lever.co/v1/other/acme", "ashby:a/b", "",
])
def test_what_is_not_a_board_is_refused(text):
    assert parse_board(text) is None


def test_a_public_list_is_normalised_deduplicated_and_its_other_rows_counted():
    found = read_board_list(PUBLIC_LIST, origin="test", known={("lever", "15five")})
    assert [b.label for b in found.boards] == ["ashby:0g", "ashby:applied compute", "greenhouse:10alabs",
                                               "lever:1840&company", "lever:xpansiv"]
    assert found.boards[0] == Board("ashby", "0g", "0G", "test")
    assert found.unrecognised == [5, 9]  # the embed page, a careers page (the header is line 1)
    assert found.duplicates == [7, 10]  # 1840&company again; 15five already known


def test_registry_files_round_trip_and_bad_rows_name_their_line(tmp_path):
    boards = read_board_list(PUBLIC_LIST, origin="x (MIT)").boards
    path = tmp_path / "r.csv"
    path.write_text(registry_text(boards))
    assert read_registry(path) == boards
    path.write_text(registry_text(boards) + "workday,acme,Acme,,x\n")
    with pytest.raises(RegistryError, match=r"r\.csv, line 8: kind must be one of ashby, greenhouse, lever"):
        read_registry(path)
    path.write_text(registry_text(boards) + "ashby,0G,,,x\n")
    with pytest.raises(RegistryError, match="line 8: ashby:0G is listed already on line 2"):
        read_registry(path)


def test_the_shipped_registry_holds_thousands_of_boards_with_their_origin():
    counts = {kind: read_registry(SHIPPED / f"{kind}.csv") for kind in ("ashby", "greenhouse", "lever")}
    assert {kind: len(boards) for kind, boards in counts.items()} == {"ashby": 1590, "greenhouse": 2541,
                                                                       "lever": 1790}
    origins = {b.origin for boards in counts.values() for b in boards}
    assert origins == {"stapply-ai/ats-scrapers@7202096c (MIT)"}
    readme = (SHIPPED / "README.md").read_text()
    assert "7202096c4e08d4b132837bb22206a09fb0149ba2" in readme and "MIT" in readme


def write_sources(directory: Path, text: str, registry: dict[str, str]) -> Path:
    (directory / "registry").mkdir(parents=True)
    for name, content in registry.items():
        (directory / "registry" / f"{name}.csv").write_text(content)
    path = directory / "sources.toml"
    path.write_text(text)
    return path


REGISTRY_ASHBY = ("kind,token,company,url,origin\nashby,deepl,Deepl,https://jobs.ashbyhq.com/deepl,list\n"
                  "ashby,0g,0G,https://jobs.ashbyhq.com/0g,list\n")


def test_included_registry_boards_load_after_configured_ones_which_win_ignoring_case(tmp_path):
    path = write_sources(tmp_path, '[[sources]]\nkind = "ashby"\nkey = "DeepL"\ncompany = "DeepL"\n\n'
                                   '[registry]\ninclude = ["ashby"]\n', {"ashby": REGISTRY_ASHBY})
    sources = load_sources(path)
    assert [(s.kind, s.key, s.company) for s in sources] == [("ashby", "DeepL", "DeepL"), ("ashby", "0g", "0G")]
    path.write_text('[[sources]]\nkind = "ashby"\nkey = "DeepL"\n')  # no [registry]: only the table
    assert [s.key for s in load_sources(path)] == ["DeepL"]


@pytest.mark.parametrize(("registry", "error"), [
    ('include = ["workday"]', r"registry\.include\[0\]: expected the name of a file .*registry/<name>\.csv, "
                              r"got 'workday'"),
    ('include = ["../x"]', r"registry\.include\[0\]: expected a registry file name"),
    ("include = \"ashby\"", r"registry\.include: expected a list"),
    ('kinds = ["ashby"]', r"registry\.kinds: expected one of include"),
])
def test_a_bad_registry_table_is_one_clear_configuration_error(tmp_path, registry, error):
    path = write_sources(tmp_path, f"[registry]\n{registry}\n", {"ashby": REGISTRY_ASHBY})
    with pytest.raises(ConfigError, match=error):
        load_sources(path)


def test_a_bad_registry_row_names_the_file_and_line(tmp_path):
    path = write_sources(tmp_path, '[registry]\ninclude = ["ashby"]\n',
                         {"ashby": REGISTRY_ASHBY + "ashby,,Nobody,,list\n"})
    with pytest.raises(ConfigError, match=r"ashby\.csv: line 4: expected token '' is not a board token"):
        load_sources(path)


def test_the_repository_config_switched_to_the_whole_registry_loads_every_board(tmp_path):
    directory = tmp_path / "config"
    directory.mkdir()
    for name in ("jobtrend.toml", "frameworks.toml"):
        (directory / name).write_bytes((REPO_ROOT / "config" / name).read_bytes())
    (directory / "registry").symlink_to(SHIPPED)
    configured = (REPO_ROOT / "config" / "sources.toml").read_text()
    (directory / "sources.toml").write_text(configured + '\n[registry]\ninclude = ["ashby", "greenhouse", "lever"]\n')
    config = load_config(directory)
    kinds = [s.kind for s in config.sources]
    assert len(config.sources) > 5800
    assert {kind: kinds.count(kind) for kind in ("ashby", "greenhouse", "lever")}.keys() == {"ashby", "greenhouse",
                                                                                              "lever"}
    labels = [s.label for s in config.sources]
    assert len({label.casefold() for label in labels}) == len(labels)  # DeepL and deepl are one board


def test_sync_of_thousands_of_sources_inserts_updates_and_disables_in_sets(engine):
    boards = [SourceConfig("greenhouse", f"board{i}", f"Company {i}") for i in range(6000)]
    with session_factory(engine).begin() as session:
        ids = sync_sources(session, boards)
    assert len(ids) == 6000
    changed = [SourceConfig("greenhouse", "board0", "Renamed"), SourceConfig("greenhouse", "board1", enabled=False),
               *boards[2:5999], SourceConfig("ashby", "new")]
    with session_factory(engine).begin() as session:
        again = sync_sources(session, changed)
    assert again[("greenhouse", "board0")] == ids[("greenhouse", "board0")] and len(again) == 6001
    with engine.connect() as conn:
        rows = {r.key: (r.company, r.enabled) for r in conn.execute(
            select(Source.key, Source.company, Source.enabled).where(Source.key.in_(
                ["board0", "board1", "board2", "board5999", "new"])))}
    assert rows == {"board0": ("Renamed", True), "board1": ("Company 1", False), "board2": ("Company 2", True),
                    "board5999": ("Company 5999", False), "new": (None, True)}
