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


# --- late, slow and unsized answers; chaos mode ------------------------------------------------------------------

def raw_get(server: ReplayServer, path: str) -> tuple[bytes, list[int]]:
    """The raw HTTP answer to GET ``path`` and the sizes of the reads it came in (to see a slow body arrive)."""
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks), [len(c) for c in chunks]


def test_a_response_can_come_late_slowly_or_without_a_length(root):
    body = json.dumps({"jobs": list(range(2000))}).encode()
    overrides = {"/late": ReplayResponse(200, b"{}", delay=0.3),
                 "/slow": ReplayResponse(200, body, slow_body=0.5),
                 "/unsized": ReplayResponse(200, body, content_length=False)}
    with ReplayServer(root, overrides) as server:
        assert get(server.url + "/late")[2] == b"{}"
        answer, reads = raw_get(server, "/slow")
        assert answer.endswith(body) and len(reads) >= 5  # the body came in pieces
        answer, _ = raw_get(server, "/unsized")
        head, _, rest = answer.partition(b"\r\n\r\n")
        assert b"content-length" not in head.lower() and rest == body


def test_chaos_picks_one_fault_per_path_from_the_seed_alone():
    from crawler.replay import FAULTS, Chaos

    paths = [f"/posting-api/job-board/board{i}" for i in range(400)]
    chaos = Chaos(seed=3, rate=0.5)
    faults = [chaos.fault_for(p) for p in paths]
    assert faults == [Chaos(seed=3, rate=0.5).fault_for(p) for p in paths]  # reproducible
    assert faults != [Chaos(seed=4, rate=0.5).fault_for(p) for p in paths]  # the seed matters
    assert set(faults) == {None, *FAULTS} and 150 < faults.count(None) < 250
    assert chaos.fault_for("/robots.txt") is None
    assert {Chaos(seed=3, rate=0).fault_for(p) for p in paths} == {None}


def test_chaos_faults_distort_the_recorded_answer(root):
    from crawler.replay import Chaos

    good = ReplayResponse(200, json.dumps({"jobs": list(range(50))}))
    cases = {fault: Chaos(seed=1, faults=(fault,), rate=1.0, oversize_bytes=10_000) for fault in
             ("http_429", "http_500", "http_503", "flaky_503", "slow_body", "truncated", "oversized")}
    assert cases["http_429"].apply("/b", good, 1).status == 429
    assert cases["http_429"].apply("/b", good, 1).headers == {"Retry-After": "1"}
    assert [cases["http_503"].apply("/b", good, n).status for n in (1, 2)] == [503, 503]
    assert [cases["flaky_503"].apply("/b", good, n).status for n in (1, 2)] == [503, 200]
    assert cases["slow_body"].apply("/b", good, 1).slow_body > 0
    truncated = cases["truncated"].apply("/b", good, 1).payload()
    with pytest.raises(ValueError):
        json.loads(truncated)
    oversized = cases["oversized"].apply("/b", good, 1).payload()
    assert len(oversized) > 10_000 and json.loads(oversized) == json.loads(good.payload())  # only padded
    with ReplayServer(root, chaos=cases["flaky_503"]) as server:
        assert [get(server.url + "/posting-api/job-board/plain")[0] for _ in range(2)] == [503, 200]
        assert get(server.url + "/robots.txt")[0] == 200  # robots.txt is never broken


def test_command_line_chaos_mode(root):
    proc = subprocess.Popen([sys.executable, "-m", "crawler.replay", str(root), "--chaos", "5", "--chaos-rate", "1"],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "with chaos" in line
        url = line.split(" at ")[1].split()[0]
        statuses = {get(f"{url}/posting-api/job-board/b{i}")[0] for i in range(30)}
        assert statuses - {200, 404}  # some answers are broken on purpose
    finally:
        proc.terminate()
        proc.wait(10)
