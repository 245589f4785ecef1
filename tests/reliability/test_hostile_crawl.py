"""One crawl of every hostile case at once, with production politeness, on SQLite and PostgreSQL (`make soak`).

A replay server on 127.0.0.1 (:class:`HostileServer`) first answers every board honestly; the postings are
stored. It then turns hostile, board by board, as the fault campaign of issue 17 found real servers can:

- ``greenhouse:nulls``: NUL bytes and other C0 controls in ids, titles and locations;
- ``ashby:moved``: a 302 to another host name; ``ashby:metadata``: a 302 to the cloud metadata address;
- ``ashby:deep``: one job nested 1,000 levels deep among good jobs;
- ``lever:endless``: a full page of new ids for every ``skip``, for ever;
- ``hackernews:whoishiring``: an Algolia search answering new hits for ever;
- ``ashby:slow``: a body dribbled out a chunk every four seconds, longer than ``download_timeout``;
- ``jsonld:https://big.example/careers``: a career page whose JSON-LD ``@graph`` grows from 5 to 5,000 postings
  (about 12 MB, past libxml2's default 10 MB text node);
- ``jsonld:https://links.example/jobs``: a career page with three links of 5,000 characters, under the ``follow``
  pattern ``(a+)+b`` (catastrophic for a backtracking engine);
- ``ashby:clean-a``/``clean-b``: honest boards that must not suffer from their neighbours.

The crawl runs with the shipped politeness (1 s between requests per host, AutoThrottle on, one request per
host at a time). Checked: every clean board is stored whole (the ids and titles with control characters
cleaned), no posting of any board is closed (each hostile board
ends failed or partial with its reason recorded in ``crawl_runs``), no request leaves 127.0.0.1, and the crawl
ends in bounded memory (the child's peak RSS). The child's timeout only catches a hang; nothing asserts on time.
"""

from __future__ import annotations

import gzip
import json
import resource
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from crawler.replay import ReplayResponse
from jobtrend.config import REPO_ROOT
from tests.crawler.conftest import TEST_USER_AGENT, read_database
from tests.reliability.test_budgets import STORY, STORY_TIME, EndlessServer
from tests.reliability.test_large_json_ld import N_BIG, big_block, page, posting
from tests.security.hostile import crawl, tripped

pytestmark = pytest.mark.soak

DEMO = REPO_ROOT / "data" / "demo"
ASHBY = "/posting-api/job-board/{}"
CLEAN = {"clean-a": "revic", "clean-b": "yutori", "moved": "root-access", "metadata": "integrationapp",
         "deep": "SecondDinner", "slow": "revic"}  # our board -> the recorded Ashby board it serves
GREENHOUSE = "/v1/boards/nulls/jobs"
SITES = {"https://big.example/careers": "", "https://links.example/jobs": 'follow = "(a+)+b"\n'}
HTML = {"Content-Type": "text/html; charset=utf-8"}
MAX_RSS_MB = 1500  # a crawl of this size peaks at a few hundred MB; the unbounded listing grew to 10.5 GB


def recorded(board: str) -> dict:
    return json.loads(gzip.decompress((DEMO / "posting-api" / "job-board" / f"{board}.json.gz").read_bytes()))


def nested(depth: int) -> str:
    """A JSON object nested ``depth`` levels deep, as text (json.dumps itself gives up near 1,000 levels)."""
    return '{"inner": ' * depth + "{}" + "}" * depth


class HostileServer(EndlessServer):
    """Honest until :attr:`hostile` is set; then each board misbehaves as the module docstring says (Lever and
    the Algolia search through :class:`EndlessServer`)."""

    hostile = False

    def respond(self, path: str, query: str = "") -> ReplayResponse:
        board = path.removeprefix("/posting-api/job-board/")
        if board in CLEAN:
            return self.ashby(board)
        if path == GREENHOUSE:
            return ReplayResponse(200, {"jobs": greenhouse_jobs(nulls=self.hostile)})
        if path == "/sites/big.example/careers":
            block = big_block() if self.hostile else json.dumps(
                {"@context": "https://schema.org", "@graph": [posting(i) for i in range(5)]})
            return ReplayResponse(200, page(block), HTML)
        if path == "/sites/links.example/jobs":
            links = "".join(f'<a href="/{"a" * 5000}{n}">more</a>' for n in range(3))
            block = json.dumps({"@context": "https://schema.org", **posting(1, "links.example")})
            return ReplayResponse(200, page(block, links), HTML)
        if path == "/api/v1/search_by_date" and not self.hostile:  # honest: one page holding the one thread
            first = f"created_at_i<={STORY_TIME}" in unquote(query) or "numericFilters" not in query
            return ReplayResponse(200, {"hits": [{"objectID": str(STORY), "created_at_i": STORY_TIME,
                                                  "title": "Ask HN: Who is hiring? (January 2026)"}] if first else []})
        return super().respond(path, query)

    def ashby(self, board: str) -> ReplayResponse:
        payload = recorded(CLEAN[board])
        if not self.hostile or board.startswith("clean"):
            return ReplayResponse(200, payload)
        if board == "moved":
            port = self.url.rsplit(":", 1)[1]  # the same server under another host name
            return ReplayResponse(302, b"", {"Location": f"http://localhost:{port}{ASHBY.format('clean-a')}"})
        if board == "metadata":
            return ReplayResponse(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})
        if board == "deep":
            payload["jobs"][0]["descriptionPlain"] = "DEEP"
            return ReplayResponse(200, json.dumps(payload).replace('"DEEP"', nested(1000)).encode())
        return ReplayResponse(200, payload, slow_body=40.0)  # "slow": ten chunks, four seconds apart


def greenhouse_jobs(*, nulls: bool) -> list[dict]:
    dirty = "\x00\x1b[2J\x07" if nulls else ""
    return [{"id": 1000 + n, "title": f"ML Engineer{dirty} {n}", "absolute_url": f"https://boards.greenhouse.io/"
             f"nulls/jobs/{1000 + n}", "location": {"name": f"Berlin{dirty}"}, "updated_at": "2026-01-05T10:00:00Z",
             "first_published": "2026-01-05T10:00:00Z", "content": f"&lt;p&gt;Train models.{dirty}&lt;/p&gt;"}
            for n in range(5)]


def write_config(directory: Path) -> Path:
    """The shipped politeness: 1 s between requests per host, one at a time (AutoThrottle is on in the crawl)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "jobtrend.toml").write_text(
        f'[database]\nurl = "sqlite:///unused.db"\n\n[crawl]\nuser_agent = {json.dumps(TEST_USER_AGENT)}\n'
        "download_delay = 1.0\nconcurrent_requests_per_domain = 1\ndownload_timeout = 20\n"
        "max_board_pages = 20\nmax_listing_pages = 5\n")
    boards = [("ashby", key) for key in CLEAN] + [("greenhouse", "nulls"), ("lever", "endless")]
    text = "".join(f'[[sources]]\nkind = "{kind}"\nkey = "{key}"\n\n' for kind, key in boards)
    text += "".join(f'[[sources]]\nkind = "jsonld"\nkey = "{key}"\n{extra}\n' for key, extra in SITES.items())
    text += '[[sources]]\nkind = "hackernews"\nkey = "whoishiring"\nsince = "2011-04"\n'
    (directory / "sources.toml").write_text(text)
    (directory / "frameworks.toml").write_text("")
    return directory


def test_a_crawl_of_hostile_servers_stores_every_clean_board_and_closes_nothing(db_url, tmp_path):
    config_dir = write_config(tmp_path / "config")
    kinds = ["ashby", "greenhouse", "lever", "hackernews", "jsonld"]
    root = tmp_path / "replay"
    shutil.copytree(REPO_ROOT / "tests" / "fixtures" / "replay", root)
    with HostileServer(root) as server:
        # career sites through the replay server's /sites/<host>/ (a replayed crawl: no address check to pass)
        settings = {"AUTOTHROTTLE_ENABLED": True, "LEVER_PAGE_SIZE": 50, "REPLAY_HOSTS_URL": f"{server.url}/sites"}
        honest, _, _ = crawl(config_dir, db_url, tmp_path, kinds=kinds, api_base=server.url, settings=settings,
                             timeout=900)
        assert {label: s["status"] for label, s in honest["sources"].items() if s["status"] != "ok"} == {}
        before, first_runs = read_database(db_url, 0)
        server.hostile, server.endless = True, True
        server.requests.clear()
        summary, stats, log = crawl(config_dir, db_url, tmp_path, kinds=kinds, api_base=server.url,
                                    settings=settings, timeout=900)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    after, runs = read_database(db_url, max(r["id"] for r in first_runs.values()))
    outcome = {label: (s["status"], s["reason"]) for label, s in summary["sources"].items()}

    # the honest boards, and the boards whose hostility is only in their bytes, are read whole
    for label in ("ashby:clean-a", "ashby:clean-b", "greenhouse:nulls", *(f"jsonld:{key}" for key in SITES)):
        assert outcome[label] == ("ok", None), (label, outcome[label])
    assert all("\x00" not in row["title"] and "\x1b" not in row["title"]
               for (key, _), row in after.items() if key == "nulls")
    # the others end with their reason, and none of them is read as empty
    assert outcome["ashby:moved"][0] == "failed" and "redirect" in outcome["ashby:moved"][1]
    assert outcome["ashby:metadata"][0] == "failed" and "redirect" in outcome["ashby:metadata"][1]
    assert outcome["ashby:slow"] == ("failed", "download_error:DownloadTimeoutError")  # cut at download_timeout
    assert outcome["lever:endless"] == ("partial", "page_limit_reached")
    assert outcome["hackernews:whoishiring"] == ("partial", "listing_limit_reached")
    assert outcome["ashby:deep"][0] in ("ok", "partial") and runs["deep"]["stats"].get("item_error/too_deep") == 1
    for key, run in runs.items():  # every reason is in crawl_runs as in the summary
        label = next(label for label in summary["sources"] if label.endswith(f":{key}"))
        assert (run["status"], run["error"]) == outcome[label], key

    # nothing stored before was lost or closed; the deep board's good jobs are still there
    assert before.keys() <= after.keys()
    assert [key for key, row in after.items() if row["closed_at"] is not None] == []
    assert sum(1 for key, _ in after if key == "deep") == len(recorded(CLEAN["deep"])["jobs"])
    assert sum(1 for key, _ in after if key == "https://big.example/careers") == N_BIG  # the 12 MB block, whole
    # nothing left 127.0.0.1, and the crawl's memory stayed bounded
    assert tripped(stats) == {}
    assert not any(r.path.startswith("/latest/meta-data") for r in server.requests)
    assert peak_mb < MAX_RSS_MB, peak_mb
    assert "Traceback" not in log
