"""Hostile job-board servers on 127.0.0.1, on SQLite and PostgreSQL: crawls in a child process (tests/security/
hostile.py) whose every request is counted, and stopped by a tripwire before it could leave 127.0.0.1.

- **Redirects off the host** (crawler/middlewares/redirect_guard.py). An Ashby board answering ``302`` to
  another host (``localhost`` on another port, serving another company's board) had that host's jobs stored under
  the board and its own three postings closed; one answering ``302`` to ``169.254.169.254`` sent requests to the
  metadata address. Now both fail with ``redirect_off_host`` before any request is made for the target (the
  tripwire and the other server count none, and ``downloader/request_count`` equals the requests our server
  received), and nothing is closed. A redirect on the same host (another path, a trailing slash) is followed.
- **A slow board** (crawler/middlewares/retry_after.py). A board dribbling its body past ``download_timeout`` was
  retried twice, holding its host's only download slot three timeouts long; now it is asked for once, fails with
  the timeout, and the other boards of the host are read.
- **JSON nested 1,000 levels deep** (crawler/spiders/source.py, ``decode_json``). It raised ``RecursionError``
  out of the callback: the board and the Hacker News thread ended ``no_response`` with a traceback in the log, and
  their good jobs were lost. Now the good jobs are stored, the deep one is skipped and counted (``too_deep``), and
  the log holds no traceback.
"""

from __future__ import annotations

import json

import pytest

from crawler.replay import ReplayResponse, ReplayServer
from tests.crawler.conftest import REPLAY, board_jobs, read_database
from tests.security.hostile import crawl, job_page, tripped, write_config

BOARD = "/posting-api/job-board/{}"
QUERY = "?includeCompensation=true"


def ashby_job(external_id: str, title: str = "ML Engineer", **extra) -> dict:
    return {"id": external_id, "title": title, "jobUrl": f"https://jobs.ashbyhq.com/acme/{external_id}",
            "descriptionHtml": "<p>Train models.</p>", "publishedAt": "2026-01-05T10:00:00.000+00:00",
            "isListed": True, **extra}


ACME_JOBS = [ashby_job("acme-1"), ashby_job("acme-2", "Data Engineer"), ashby_job("acme-3", "Researcher")]


def sources(*keys: str) -> str:
    return "".join(f'[[sources]]\nkind = "ashby"\nkey = "{key}"\n\n' for key in keys)



def open_postings(postings: dict, key: str) -> set[str]:
    return {ext for (k, ext), row in postings.items() if k == key and row["closed_at"] is None}


# --- 1. redirects -----------------------------------------------------------------------------------------------

def test_a_redirect_off_the_board_host_is_refused_and_closes_nothing(db_url, tmp_path):
    keys = ("acme", "metadata", "moved", "slashed")
    config_dir = write_config(tmp_path / "config", sources(*keys),
                              crawl="allow_private_addresses = true\n")  # the redirect guard alone is on trial
    boards = {BOARD.format(key): ReplayResponse(200, {"jobs": ACME_JOBS}) for key in ("acme", "metadata")}
    with ReplayServer(REPLAY) as other, ReplayServer(REPLAY, boards) as board:
        # REPLAY_HOSTS_URL off: localhost:<other> must be reachable as it is live, not mapped to the replay server
        fast = {"REPLAY_HOSTS_URL": "", "CONCURRENT_REQUESTS_PER_DOMAIN": 4}
        first, _, _ = crawl(config_dir, db_url, tmp_path, kinds=["ashby"], api_base=board.url, settings=fast)
        assert {first["sources"][f"ashby:{k}"]["status"] for k in ("acme", "metadata")} == {"ok"}

        board.overrides.update({
            BOARD.format("acme"): ReplayResponse(302, b"", {
                "Location": f"http://localhost:{other.url.rsplit(':', 1)[1]}{BOARD.format('SecondDinner')}{QUERY}"}),
            BOARD.format("metadata"): ReplayResponse(302, b"", {
                "Location": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"}),
            BOARD.format("moved"): ReplayResponse(301, b"", {"Location": f"{BOARD.format('SecondDinner')}{QUERY}"}),
            BOARD.format("slashed"): ReplayResponse(301, b"", {
                "Location": f"{board.url}{BOARD.format('slashed')}/{QUERY}"}),
            BOARD.format("slashed") + "/": ReplayResponse(200, {"jobs": [ashby_job("slash-1")]}),
        })
        before = len(board.requests)
        summary, stats, log = crawl(config_dir, db_url, tmp_path, kinds=["ashby"], api_base=board.url,
                                    settings=fast)
        served = len(board.requests) - before
        assert other.requests == []  # the other host was never asked for anything
    postings, runs = read_database(db_url, 0)
    for key in ("acme", "metadata"):
        run = summary["sources"][f"ashby:{key}"]
        assert (run["status"], run["reason"], run["closed"]) == ("failed", "redirect_off_host", 0), run
        assert open_postings(postings, key) == {"acme-1", "acme-2", "acme-3"}  # nothing closed
    assert not {ext for (k, ext) in postings if k == "acme"} & {j["id"] for j in board_jobs("ashby", "SecondDinner")}
    # same host: followed
    assert summary["sources"]["ashby:moved"]["status"] == "ok"
    assert open_postings(postings, "moved") == {j["id"] for j in board_jobs("ashby", "SecondDinner")}
    assert summary["sources"]["ashby:slashed"]["status"] == "ok" and open_postings(postings, "slashed") == {"slash-1"}
    # no connection attempted anywhere else: every request the downloader sent reached our server
    ashby = stats["ashby"]
    assert tripped(stats) == {}
    assert ashby["downloader/request_count"] == served
    assert ashby["redirect_guard/refused"] == 2
    assert not [key for key in ashby if "169.254" in key]
    assert "169.254.169.254/latest" in log  # the refusal is logged with its target


def test_a_career_site_follows_a_redirect_on_its_host_only(db_url, tmp_path):
    """Replayed (every request goes to the replay server): the key page moved to ``/jobs/`` is followed, on the
    replay server too (a redirected request used to keep its replay mapping and go out to the real host); a key page
    redirecting to another host fails with ``redirect_off_host`` and nothing is asked of that host."""
    moved, evil = "https://careers.moved.example/jobs", "https://careers.evil.example/jobs"
    overrides = {
        "/sites/careers.moved.example/jobs": ReplayResponse(301, b"", {"Location": "/jobs/"}),
        "/sites/careers.moved.example/jobs/index": ReplayResponse(200, job_page("moved-1", "Moved"),
                                                                   {"Content-Type": "text/html"}),
        "/sites/careers.evil.example/jobs": ReplayResponse(302, b"", {"Location": "https://tracker.example/jobs"}),
    }
    config_dir = write_config(tmp_path / "config", "".join(f'[[sources]]\nkind = "jsonld"\nkey = "{key}"\n\n'
                                                           for key in (moved, evil)))
    with ReplayServer(REPLAY, overrides) as server:
        summary, stats, _ = crawl(config_dir, db_url, tmp_path, kinds=["jsonld"], api_base=server.url)
        asked = [r.path for r in server.requests]
    assert summary["sources"][f"jsonld:{moved}"]["status"] == "ok", summary
    run = summary["sources"][f"jsonld:{evil}"]
    assert (run["status"], run["reason"]) == ("failed", "redirect_off_host")
    assert not [path for path in asked if "tracker.example" in path] and tripped(stats) == {}
    postings, _ = read_database(db_url, 0)
    assert set(postings) == {(moved, "moved-1")}


# --- 7. a slow board --------------------------------------------------------------------------------------------

def test_a_board_dribbling_past_the_timeout_is_asked_for_once_and_its_host_goes_on(db_url, tmp_path):
    """``download_timeout`` is 1 s and the board sends its body over 50 s: one request, not three."""
    slow, others = "slowco", ("SecondDinner", "character", "emptyco")
    config_dir = write_config(tmp_path / "config", sources(slow, *others), crawl="download_timeout = 1\n")
    body = {"jobs": ACME_JOBS}
    with ReplayServer(REPLAY, {BOARD.format(slow): ReplayResponse(200, body, slow_body=50)}) as board:
        summary, _, _ = crawl(config_dir, db_url, tmp_path, kinds=["ashby"], api_base=board.url,
                              settings={"CONCURRENT_REQUESTS_PER_DOMAIN": 1})
        asked = [r.path for r in board.requests if r.path != "/robots.txt"]
    assert asked.count(BOARD.format(slow)) == 1  # not retried: before, 3 (RETRY_TIMES = 2)
    assert sorted(asked) == sorted(BOARD.format(key) for key in (slow, *others))
    run = summary["sources"][f"ashby:{slow}"]
    assert (run["status"], run["reason"]) == ("failed", "download_error:DownloadTimeoutError")
    for key in others:
        assert summary["sources"][f"ashby:{key}"]["status"] == "ok"


# --- 5. JSON nested too deep ------------------------------------------------------------------------------------

DEEP = '{"levels": ' + "[" * 1000 + '"bottom"' + "]" * 1000 + "}"  # json.dumps itself could not write it


def with_deep(document) -> bytes:
    """``document`` as JSON, each "DEEP" string in it replaced by an object nested 1,000 levels deep."""
    return json.dumps(document).replace('"DEEP"', DEEP).encode()


HN_STORY = 4_700_001
HN_LISTING = {"hits": [{"objectID": str(HN_STORY), "title": "Ask HN: Who is hiring? (January 2026)",
                        "created_at_i": 1767276000, "author": "whoishiring"}], "nbHits": 1}


def hn_comment(comment_id: int, text: str, **extra) -> dict:
    return {"id": comment_id, "author": f"user{comment_id}", "text": text, "type": "comment",
            "parent_id": HN_STORY, "created_at": "2026-01-02T10:00:00.000Z", "children": [], **extra}


def test_json_nested_a_thousand_levels_deep_loses_only_its_own_job(db_url, tmp_path):
    deep_job = ashby_job("acme-deep", compensation="DEEP")
    thread = {"id": HN_STORY, "type": "story", "children": [
        hn_comment(1, "Acme | ML Engineer | Berlin | ONSITE"),
        hn_comment(2, "Deepco | Engineer | Remote", metadata="DEEP"),
        hn_comment(3, "Other | Data Scientist | Paris | REMOTE", children=["DEEP"]),  # deep replies: never read
    ]}
    config_dir = write_config(tmp_path / "config", sources("acme") + '[[sources]]\nkind = "hackernews"\n'
                              'key = "whoishiring"\n')
    overrides = {BOARD.format("acme"): ReplayResponse(200, with_deep({"jobs": [*ACME_JOBS[:2], deep_job,
                                                                             ACME_JOBS[2]]})),
                 "/api/v1/search_by_date": ReplayResponse(200, HN_LISTING),
                 f"/api/v1/items/{HN_STORY}": ReplayResponse(200, with_deep(thread))}
    with ReplayServer(REPLAY, overrides) as server:
        summary, stats, log = crawl(config_dir, db_url, tmp_path, kinds=["ashby", "hackernews"],
                                    api_base=server.url)
    postings, runs = read_database(db_url, 0)
    board = runs["acme"]
    assert (board["status"], board["error"]) == ("ok", None)
    assert board["stats"]["item_error/too_deep"] == 1 and board["errors"] == 1
    assert open_postings(postings, "acme") == {"acme-1", "acme-2", "acme-3"}
    hn = runs["whoishiring"]
    assert (hn["status"], hn["error"]) == ("ok", None)
    assert hn["stats"]["item_error/too_deep"] == 1
    assert {ext for (k, ext) in postings if k == "whoishiring"} == {"1", "3"}
    assert "RecursionError" not in log and "Traceback" not in log
    assert stats["ashby"]["jobtrend/item_error/too_deep"] == 1


def test_the_deep_documents_are_what_the_test_claims():
    with pytest.raises(RecursionError):
        json.loads(with_deep({"jobs": ["DEEP"]}))
