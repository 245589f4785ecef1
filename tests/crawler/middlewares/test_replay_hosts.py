"""ReplayHostsMiddleware: any host's URL is fetched from the replay server's sites/ folder, invisibly to spiders.

The crawl through it (robots.txt per original host, responses under their original URLs) runs end to end in
tests/crawler/test_jsonld_end_to_end.py.
"""

from __future__ import annotations

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.middlewares.replay_hosts import (
    ORIGINAL_URL,
    REPLAYED_URL,
    ReplayHostsMiddleware,
    replay_hosts_url,
    replayed_url,
)
from crawler.run import crawl_settings
from jobtrend.config import load_config
from tests.crawler.conftest import write_config

PREFIX = "http://127.0.0.1:8765/sites"


@pytest.mark.parametrize(("url", "replayed"), [
    ("https://careers.example.ai/jobs/42", f"{PREFIX}/careers.example.ai/jobs/42"),
    ("https://careers.example.ai/jobs?page=2&q=ml", f"{PREFIX}/careers.example.ai/jobs?page=2&q=ml"),
    ("https://www.example.ai/careers/", f"{PREFIX}/www.example.ai/careers/index"),
    ("https://example.ai", f"{PREFIX}/example.ai/index"),
    ("https://Careers.Example.AI:443/Jobs/ML%20Engineer", f"{PREFIX}/careers.example.ai/Jobs/ML%20Engineer"),
    ("http://example.ai:8080/jobs", f"{PREFIX}/example.ai:8080/jobs"),
    ("https://careers.example.ai/robots.txt", f"{PREFIX}/careers.example.ai/robots.txt"),
    ("https://careers.example.ai/jobs/42#apply", f"{PREFIX}/careers.example.ai/jobs/42"),
])
def test_urls_map_to_host_folders(url, replayed):
    assert replayed_url(PREFIX, url) == replayed


def test_request_is_rewritten_once_with_its_callback_and_without_a_second_robots_check():
    middleware = ReplayHostsMiddleware(PREFIX + "/")
    request = Request("https://careers.example.ai/jobs/42", cb_kwargs={"key": "k"}, meta={"depth": 1})
    rewritten = middleware.process_request(request)
    assert rewritten.url == f"{PREFIX}/careers.example.ai/jobs/42"
    assert rewritten.cb_kwargs == {"key": "k"} and rewritten.dont_filter
    assert rewritten.meta == {"depth": 1, ORIGINAL_URL: request.url, REPLAYED_URL: rewritten.url,
                              "dont_obey_robotstxt": True}
    assert middleware.process_request(rewritten) is None


def test_a_redirect_of_a_rewritten_request_is_rewritten_too():
    """A redirect keeps the meta of the request it came from, ORIGINAL_URL included: it used to pass unchanged,
    out to the real host. The redirect's Location is read against the original URL, as it would be live."""
    middleware = ReplayHostsMiddleware(PREFIX)
    rewritten = middleware.process_request(Request("https://careers.example.ai/jobs"))
    response = HtmlResponse(rewritten.url, status=301, headers={"Location": "/jobs/"}, request=rewritten)
    restored = middleware.process_response(rewritten, response)
    assert restored.url == "https://careers.example.ai/jobs"
    assert restored.headers["Location"] == b"https://careers.example.ai/jobs/"
    redirected = rewritten.replace(url="https://careers.example.ai/jobs/")  # what RedirectMiddleware makes
    again = middleware.process_request(redirected)
    assert again.url == f"{PREFIX}/careers.example.ai/jobs/index"
    assert again.meta[ORIGINAL_URL] == "https://careers.example.ai/jobs/"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765/posting-api/job-board/cohere", "data:text/plain,hello"])
def test_requests_for_the_replay_server_itself_and_other_schemes_pass(url):
    assert ReplayHostsMiddleware(PREFIX).process_request(Request(url)) is None


def test_response_gets_its_original_url_back():
    middleware = ReplayHostsMiddleware(PREFIX)
    rewritten = middleware.process_request(Request("https://careers.example.ai/jobs/"))
    response = HtmlResponse(rewritten.url, body=b"<a href='42'>job</a>", request=rewritten)
    restored = middleware.process_response(rewritten, response)
    assert restored.url == "https://careers.example.ai/jobs/"
    assert restored.urljoin("42") == "https://careers.example.ai/jobs/42"


def test_other_responses_pass_unchanged():
    request = Request("http://127.0.0.1:8765/v1/boards/acme/jobs")
    response = HtmlResponse(request.url, body=b"", request=request)
    assert ReplayHostsMiddleware(PREFIX).process_response(request, response) is response


def test_off_unless_configured():
    with pytest.raises(NotConfigured):
        ReplayHostsMiddleware.from_crawler(get_crawler(settings_dict={"REPLAY_HOSTS_URL": ""}))
    assert ReplayHostsMiddleware.from_crawler(get_crawler(settings_dict={"REPLAY_HOSTS_URL": PREFIX})).prefix == PREFIX


def test_api_base_sets_the_sites_folder_of_the_same_server(tmp_path, monkeypatch):
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)
    config = load_config(write_config(tmp_path / "config", []))
    assert crawl_settings(config).get("REPLAY_HOSTS_URL") == ""
    settings = crawl_settings(config, api_base="http://127.0.0.1:9/", replay=True)
    assert settings.get("REPLAY_HOSTS_URL") == replay_hosts_url("http://127.0.0.1:9") == "http://127.0.0.1:9/sites"
    assert settings.getdict("DOWNLOADER_MIDDLEWARES")["crawler.middlewares.replay_hosts.ReplayHostsMiddleware"] > \
        settings.getdict("DOWNLOADER_MIDDLEWARES")["crawler.middlewares.robotstxt.RobotsTxtMiddleware"]
