"""`jobtrend browse`: Datasette on the SQLite database, read-only, with the cookbook as canned queries.

The end-to-end test starts the real command in a child process on 127.0.0.1 against the demo database and reads
every cookbook recipe of docs/schema.md through Datasette's JSON API, comparing it with the recipe's SQL run
directly. Browsing is SQLite-only: with PostgreSQL the command must refuse before connecting.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from jobtrend.browse import (
    HIDDEN_TABLES,
    SETTINGS,
    BrowseError,
    build_metadata,
    database_name,
    is_loopback,
    read_docs,
    serve_arguments,
    sqlite_path,
)
from jobtrend.cli import main
from jobtrend.cookbook import SCHEMA_DOC, load_cookbook
from tests.local_servers import free_port

REPO = Path(__file__).resolve().parents[2]
JOBTREND = Path(sys.executable).parent / "jobtrend"
COOKBOOK = SCHEMA_DOC

DOC = """# schema

## Tables

### `postings`: every posting

| column | type | meaning |
|---|---|---|
| `id` | integer | primary key |
| `title`, `company` | text | as the source gives them |

### `posting_facts` (view): one row per canonical posting

| column | type | meaning |
|---|---|---|
| `frameworks` | text | `frameworks.slug` values, comma-separated ([schema.md](schema.md)) |

## Cookbook

### How many postings per source?

Most postings first.

```sql
select source_id, count(*) as n from postings group by source_id order by n desc;
```

### Which titles mention :word?

```sql
select title from postings where title like '%' || :word || '%'
```
"""


@pytest.fixture
def doc(tmp_path) -> Path:
    path = tmp_path / "schema.md"
    path.write_text(DOC)
    return path


# --- the metadata ---------------------------------------------------------------------------------------------

def test_every_recipe_becomes_a_read_only_canned_query(doc):
    recipes, columns = read_docs(doc)
    metadata = build_metadata("jobtrend", recipes, columns)
    queries = metadata["databases"]["jobtrend"]["queries"]
    assert list(queries) == ["how-many-postings-per-source", "which-titles-mention-word"]
    first = queries["how-many-postings-per-source"]
    assert first == {"title": "How many postings per source?", "description": "Most postings first.",
                     "sql": "select source_id, count(*) as n from postings group by source_id order by n desc"}
    assert queries["which-titles-mention-word"]["sql"].endswith(":word || '%'")
    assert not any("write" in query for query in queries.values())
    assert metadata["title"] == "jobtrend" and metadata["description"] and metadata["source"] and metadata["license"]


def test_tables_and_views_carry_their_column_descriptions(doc):
    recipes, columns = read_docs(doc)
    tables = build_metadata("demo", recipes, columns, db_description="x.db (read-only)")["databases"]["demo"]
    assert tables["description"] == "x.db (read-only)"
    assert tables["tables"]["postings"]["columns"] == {
        "id": "primary key", "title": "as the source gives them", "company": "as the source gives them"}
    # markdown code and links read as plain text
    assert tables["tables"]["posting_facts"]["columns"] == {"frameworks": "frameworks.slug values, comma-separated "
                                                                          "(schema.md)"}
    for hidden in HIDDEN_TABLES:
        assert tables["tables"][hidden]["hidden"] is True


def test_the_metadata_is_plain_json(doc):
    metadata = build_metadata("demo", *read_docs(doc))
    assert json.loads(json.dumps(metadata)) == metadata


def test_the_real_cookbook_builds_metadata():
    recipes, columns = read_docs(SCHEMA_DOC)
    metadata = build_metadata("jobtrend", recipes, columns)["databases"]["jobtrend"]
    assert len(metadata["queries"]) == len(recipes) >= 12
    assert {"posting_facts", "weekly_framework_share", "postings"} <= set(metadata["tables"])


def test_datasette_is_started_mutable_read_only_local_and_time_limited(tmp_path):
    args = serve_arguments(tmp_path / "demo.db", tmp_path / "m.json", host="127.0.0.1", port=8001,
                           open_browser=False, sql_time_limit_ms=1234)
    assert args[:2] == ["serve", str(tmp_path / "demo.db")]
    for unsafe in ("-i", "--immutable", "--root", "--cors", "--crossdb", "--open", "--reload", "--nolock"):
        assert unsafe not in args
    settings = {args[i + 1]: args[i + 2] for i, arg in enumerate(args) if arg == "--setting"}
    assert settings == SETTINGS | {"sql_time_limit_ms": "1234"}
    assert args[args.index("--host") + 1] == "127.0.0.1" and args[args.index("--metadata") + 1].endswith("m.json")
    assert "--open" in serve_arguments(tmp_path / "a.db", tmp_path / "m.json", host="127.0.0.1", port=1,
                                       open_browser=True)


@pytest.mark.parametrize(("host", "local"), [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                             ("0.0.0.0", False), ("192.168.1.5", False), ("example.org", False)])
def test_loopback_hosts(host, local):
    assert is_loopback(host) is local


# --- refusing what cannot be browsed --------------------------------------------------------------------------

@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_postgresql_is_refused_with_a_clear_error(db_url):
    result = CliRunner().invoke(main, ["browse", "--no-open"], env={"JOBTREND_DATABASE_URL": db_url})
    assert result.exit_code == 1
    assert "jobtrend browse needs SQLite" in result.output
    assert "use jobtrend sql or a PostgreSQL client" in result.output


def test_postgresql_is_refused_before_connecting():
    # nothing listens on port 1: a connection attempt would fail with a different, connection error
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
    result = CliRunner().invoke(main, ["browse"], env={"JOBTREND_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "jobtrend browse needs SQLite" in result.output and "secret" not in result.output


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path):
    path = tmp_path / "nothing" / "here.db"
    with pytest.raises(BrowseError, match="no SQLite database at .*run `jobtrend init`"):
        sqlite_path(f"sqlite:///{path}")
    assert not path.exists() and not path.parent.exists()
    with pytest.raises(BrowseError, match="needs a SQLite file"):
        sqlite_path("sqlite://")


def test_a_database_without_the_schema_is_an_error(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    result = CliRunner().invoke(main, ["browse"], env={"JOBTREND_DATABASE_URL": f"sqlite:///{path}"})
    assert result.exit_code == 1 and "has no jobtrend tables: run `jobtrend init` first" in result.output


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_missing_datasette_names_the_extra(db_url, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasette", None)  # what `import datasette` sees when it is not installed
    monkeypatch.setitem(sys.modules, "datasette.cli", None)
    result = CliRunner().invoke(main, ["browse"], env={"JOBTREND_DATABASE_URL": db_url})
    assert result.exit_code == 1
    assert "pip install -e '.[browse]'" in result.output
    assert sqlite_path(db_url) == Path(make_url(db_url).database).resolve()


# --- the server -----------------------------------------------------------------------------------------------

def _get(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Browse:
    """One `jobtrend browse` child process on 127.0.0.1 with its own TMPDIR and log."""

    def __init__(self, db_path: Path, folder: Path):
        self.path, self.port, self.tmpdir = db_path, free_port(), folder / "tmp"
        self.tmpdir.mkdir()
        self.log = folder / "browse.log"
        self.base = f"http://127.0.0.1:{self.port}"
        self.name = database_name(db_path.resolve())
        env = os.environ | {"JOBTREND_DATABASE_URL": f"sqlite:///{db_path}", "TMPDIR": str(self.tmpdir)}
        command = [str(JOBTREND), "browse", "--no-open", "--port", str(self.port), "--schema-doc", str(COOKBOOK)]
        with self.log.open("w") as out:
            self.child = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)

    def wait_until_answering(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            assert self.child.poll() is None, f"jobtrend browse exited:\n{self.log.read_text()}"
            try:
                if _get(f"{self.base}/-/versions.json")[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, f"jobtrend browse did not answer:\n{self.log.read_text()}"
            time.sleep(0.2)

    def stop(self) -> int:
        self.child.terminate()
        try:
            return self.child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.child.kill()
            return self.child.wait()


@pytest.fixture(scope="module")
def demo_path(demo_databases) -> Path:
    return Path(make_url(demo_databases("sqlite")).database)


@pytest.fixture(scope="module")
def server(demo_path, tmp_path_factory):
    """`jobtrend browse` on the session's demo database (SQLite) in a child process; yields the base URL, the
    database's name in Datasette, its path and the port."""
    browse = Browse(demo_path, tmp_path_factory.mktemp("browse"))
    try:
        browse.wait_until_answering()
        yield browse.base, browse.name, browse.path, browse.port
    finally:
        browse.stop()


def _direct(path: Path, sql: str) -> list[dict]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cursor = conn.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        conn.close()


def test_every_cookbook_recipe_is_served_as_a_canned_query(server):
    base, name, path, _ = server
    recipes = load_cookbook(COOKBOOK)
    assert len(recipes) >= 12
    limit = int(SETTINGS["max_returned_rows"])
    for recipe in recipes:
        status, rows = _get(f"{base}/{name}/{recipe.slug}.json?_shape=array")
        assert status == 200, (recipe.slug, rows)
        expected = _direct(path, recipe.sql)
        assert rows == expected[:limit], recipe.slug
        assert rows, f"{recipe.slug} returned no rows on the demo database"
    status, listed = _get(f"{base}/{name}.json")
    assert status == 200
    assert {q["name"] for q in listed["queries"]} == {r.slug for r in recipes}
    assert not any(q.get("write") for q in listed["queries"])


def test_column_descriptions_are_in_the_metadata(server):
    base, name, _, _ = server
    status, metadata = _get(f"{base}/-/metadata.json")
    assert status == 200
    tables = metadata["databases"][name]["tables"]
    assert tables["postings"]["columns"]["external_id"]
    assert tables["posting_facts"]["columns"]  # a view
    assert metadata["title"] == "jobtrend"


def test_writes_through_the_sql_api_fail_and_change_nothing(server):
    base, name, path, _ = server
    before = _direct(path, "select id, title from postings order by id")
    statements = [
        "update postings set title = 'x'",  # refused by Datasette's check that a query is a SELECT
        "with t as (select 1) update postings set title = 'x'",  # passes that check; the mode=ro connection refuses
        "with t as (select 1) delete from postings",
    ]
    for sql in statements:
        status, body = _get(f"{base}/{name}.json?" + urllib.parse.urlencode({"sql": sql}))
        assert status >= 400 and body["ok"] is False, (sql, body)
    status, body = _get(f"{base}/{name}.json?" + urllib.parse.urlencode({"sql": statements[1]}))
    assert "readonly" in body["error"]
    assert _direct(path, "select id, title from postings order by id") == before


def test_it_listens_on_loopback_127_0_0_1_only(server):
    _, _, _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    others = ["127.0.0.2"]  # also the loopback interface, but not the address it was told to bind
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; this picks the machine's outward address
            outward = probe.getsockname()[0]
        if not outward.startswith("127.") and outward != "0.0.0.0":
            others.append(outward)
    except OSError:
        pass
    for address in others:
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=5):
            pass


def test_sigterm_stops_it_and_leaves_no_temporary_file(demo_path, tmp_path):
    browse = Browse(demo_path, tmp_path)
    try:
        browse.wait_until_answering()
        assert [p.name for p in browse.tmpdir.iterdir()][0].startswith("jobtrend-browse-")  # the metadata folder
    finally:
        status = browse.stop()
    assert status == 128 + signal.SIGTERM, browse.log.read_text()
    assert list(browse.tmpdir.iterdir()) == []
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", browse.port), timeout=5):
        pass


def test_a_port_in_use_is_a_clear_error(demo_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["browse", "--port", str(port)],
                                    env={"JOBTREND_DATABASE_URL": f"sqlite:///{demo_path}"})
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "choose another --port" in result.output
