"""ReplayServer: recorded files at real paths, gzip, robots.txt, 404s, overrides, request log, quiet."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from crawler.replay import ReplayResponse, ReplayServer
from jobtrend.config import REPO_ROOT


def get(url: str, user_agent: str = "test-agent/1.0") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.fixture
def root(tmp_path) -> Path:
    board = tmp_path / "posting-api" / "job-board"
    board.mkdir(parents=True)
    (board / "plain.json").write_text('{"jobs": [1]}')
    (board / "Forward Financing.json.gz").write_bytes(gzip.compress(b'{"jobs": [2]}'))
    (tmp_path / "v1" / "boards" / "acme").mkdir(parents=True)
    (tmp_path / "v1" / "boards" / "acme" / "jobs").write_text('{"jobs": [3]}')
    (tmp_path.parent / "secret.json").write_text("{}")
    return tmp_path


def test_serves_recorded_files_at_their_paths_ignoring_the_query(root):
    with ReplayServer(root) as server:
        status, headers, body = get(server.url + "/posting-api/job-board/plain?includeCompensation=true")
        assert (status, headers["Content-Type"], json.loads(body)) == (200, "application/json", {"jobs": [1]})
        assert json.loads(get(server.url + "/v1/boards/acme/jobs?content=true")[2]) == {"jobs": [3]}


def test_gzip_is_decoded_and_escaped_paths_are_decoded(root):
    with ReplayServer(root) as server:
        status, _, body = get(server.url + "/posting-api/job-board/Forward%20Financing")
        assert (status, json.loads(body)) == (200, {"jobs": [2]})


def test_unknown_paths_and_paths_outside_the_root_are_404_like_the_api(root):
    with ReplayServer(root) as server:
        for path in ("/posting-api/job-board/nobody", "/../secret", "/%2e%2e/secret", "/"):
            status, _, body = get(server.url + path)
            assert (status, json.loads(body)) == (404, {"status": 404, "error": "Job not found"})


def test_robots_txt_is_permissive_unless_recorded(root):
    with ReplayServer(root) as server:
        assert get(server.url + "/robots.txt")[2] == b"User-agent: *\nAllow: /\n"
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    with ReplayServer(root) as server:
        assert b"Disallow: /private/" in get(server.url + "/robots.txt")[2]


def test_overrides_force_status_body_and_headers(root):
    overrides = {
        "/posting-api/job-board/plain": ReplayResponse(500, "<html>oops</html>", {"Content-Type": "text/html"}),
        "/v1/boards/ghost/jobs": ReplayResponse(200, {"jobs": []}),
    }
    with ReplayServer(root, overrides) as server:
        status, headers, body = get(server.url + "/posting-api/job-board/plain")
        assert (status, headers["Content-Type"], body) == (500, "text/html", b"<html>oops</html>")
        assert json.loads(get(server.url + "/v1/boards/ghost/jobs")[2]) == {"jobs": []}
        server.overrides["/v1/boards/acme/jobs"] = ReplayResponse(200, b'{"jobs": [')
        assert get(server.url + "/v1/boards/acme/jobs")[2] == b'{"jobs": ['


def test_requests_are_logged_and_nothing_is_printed(root, capfd):
    with ReplayServer(root) as server:
        get(server.url + "/posting-api/job-board/plain?x=1", user_agent="jobtrend/0.1 (+https://example.org)")
        get(server.url + "/posting-api/job-board/plain")
        get(server.url + "/nothing")
        assert server.hits("/posting-api/job-board/plain") == 2
        first = server.requests[0]
        assert (first.method, first.query, first.user_agent) == ("GET", "x=1", "jobtrend/0.1 (+https://example.org)")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_binds_to_localhost_on_a_free_port(root):
    with ReplayServer(root) as one, ReplayServer(root) as two:
        assert one.url.startswith("http://127.0.0.1:") and one.url != two.url


def test_command_line_serves_a_directory(root):
    command = [sys.executable, "-m", "crawler.replay", str(root)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = line.split(" at ")[1].split()[0]
        assert json.loads(get(url + "/posting-api/job-board/plain")[2]) == {"jobs": [1]}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_query_specific_recordings_and_content_types(tmp_path):
    import urllib.request

    api = tmp_path / "api" / "v1"
    api.mkdir(parents=True)
    (api / "search.json").write_text('{"any": true}')
    (api / "search@page=1&tags=story%2Cauthor_whoishiring.json").write_text('{"page": 1}')
    (tmp_path / "careers").mkdir()
    (tmp_path / "careers" / "ml-engineer.html").write_text("<html>job</html>")
    with ReplayServer(tmp_path) as server:
        def get(path):
            with urllib.request.urlopen(server.url + path) as response:
                return response.headers["Content-Type"], response.read().decode()

        assert get("/api/v1/search?tags=story,author_whoishiring&page=1")[1] == '{"page": 1}'
        assert get("/api/v1/search?tags=story%2Cauthor_whoishiring&page=1")[1] == '{"page": 1}'
        assert get("/api/v1/search?page=2")[1] == '{"any": true}'
        assert get("/careers/ml-engineer") == ("text/html; charset=utf-8", "<html>job</html>")
