"""Private, loopback and link-local addresses are refused as crawl targets and as webhook URLs, unless allowed.

One check (jobtrend/addresses.py) at two moments:

- **configuration**: a jsonld key or a webhook naming such a host literally (``127.0.0.1``, ``[::1]``, ``10/8``,
  ``172.16/12``, ``192.168/16``, ``169.254/16``, ``fe80::/10``, ``fc00::/7``, ``0.0.0.0``, ``localhost``), and a
  jsonld key on another scheme than http(s) (``file:``, ``gopher:``), is refused by ``load_config`` with the file,
  the key and what was expected; ``crawl.allow_private_addresses`` / ``notify.allow_private_addresses`` permit
  the addresses (never the schemes);
- **request**: a host *name* that resolves to such an address is refused before any connection, ``private_address``
  (crawler/middlewares/address_guard.py; for webhooks, the connection of analysis/notify.py resolves once and
  connects only to the addresses it checked). The names come from a fake resolver (tests/security/hostile.py,
  ``*.rebind.test`` -> 127.0.0.1) or a patched ``getaddrinfo``: nothing is asked of a DNS server, and no test ever
  connects anywhere but 127.0.0.1 (a link-local address is proven refused by the reason and zero requests).

The local modes stay exempt: the replay server (every request of a replayed crawl goes to it) and API bases that
name a private address themselves (``--api-base http://127.0.0.1:PORT``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.http import Request
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from analysis.notify import PRIVATE_WEBHOOK, DeliveryError, deliver_pending, enqueue, post_webhook
from crawler.middlewares.address_guard import AddressGuardMiddleware, PrivateAddressRefused
from crawler.middlewares.redirect_guard import RedirectOffHost
from crawler.replay import ReplayResponse, ReplayServer
from crawler.run import crawl_settings
from crawler.spiders.source import failure_reason
from jobtrend.addresses import ip_literal, is_private_host, url_refusal
from jobtrend.config import ConfigError, NotifySettings, load_config, load_notify, load_sources
from jobtrend.weeks import utcnow
from tests.crawler.conftest import REPLAY, read_database
from tests.jobtrend.test_config import write_config as write_plain_config
from tests.security.hostile import crawl, job_page, tripped, write_config

PRIVATE = ["127.0.0.1", "127.255.0.9", "127.1", "2130706433", "0x7f.0.0.1", "::1", "[::1]", "10.0.0.5",
           "172.16.0.1", "172.31.255.254", "192.168.1.10", "169.254.169.254", "fe80::1", "[fe80::1%25eth0]",
           "fc00::1", "fd12:3456::1", "0.0.0.0", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "localhost",
           "LOCALHOST.", "api.localhost"]
PUBLIC = ["8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1", "169.255.0.1", "2001:db8::1", "fec0::1",
          "example.org", "127.example.org", "localhost.example.org", "1.face"]


@pytest.mark.parametrize("host", PRIVATE)
def test_private_hosts(host):
    assert is_private_host(host.replace("%25", "%"))


@pytest.mark.parametrize("host", PUBLIC)
def test_public_hosts(host):
    assert not is_private_host(host)


@pytest.mark.parametrize(("url", "refusal"), [
    ("file:///etc/passwd", "scheme"), ("gopher://example.org:70/_x", "scheme"), ("ftp://example.org/x", "scheme"),
    ("dict://example.org/", "scheme"), ("javascript:alert(1)", "scheme"), ("http:///jobs", "host"),
    ("http://example.org:port/", "host"), ("http://169.254.169.254/latest/meta-data/", "private_address"),
    ("https://[fd00::1]/careers", "private_address"), ("http://127.1:8080/", "private_address"),
    ("https://careers.example.org/jobs", None),
])
def test_url_refusal(url, refusal):
    assert url_refusal(url) == refusal


# --- configuration ----------------------------------------------------------------------------------------------

def jsonld(key: str) -> str:
    return f'[[sources]]\nkind = "jsonld"\nkey = "{key}"\n'


@pytest.mark.parametrize("key", [f"http://{host}/jobs" for host in ("127.0.0.1", "[::1]", "10.1.2.3", "172.20.0.1",
                                                                  "192.168.0.10", "169.254.169.254", "[fe80::1]",
                                                                  "[fc00::1]", "0.0.0.0", "localhost:8080")])
def test_a_jsonld_key_on_a_private_address_is_a_configuration_error(tmp_path, key):
    directory = write_plain_config(tmp_path / "config", sources=jsonld(key))
    with pytest.raises(ConfigError) as err:
        load_config(directory)
    assert err.value.key == "sources[0].key" and err.value.path == directory / "sources.toml"
    assert "not a private, loopback or link-local address" in str(err.value) and key in str(err.value)
    (directory / "jobtrend.toml").write_text("[crawl]\nallow_private_addresses = true\n")
    assert load_config(directory).sources[0].key == key  # allowed when asked for


@pytest.mark.parametrize("key", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_FLUSHALL", "ftp://example.org/jobs",
                                 "careers.example.org/jobs"])
def test_a_jsonld_key_that_is_not_http_is_a_configuration_error_even_when_private_ones_are_allowed(tmp_path, key):
    directory = write_plain_config(tmp_path / "config", main="[crawl]\nallow_private_addresses = true\n",
                                   sources=jsonld(key))
    with pytest.raises(ConfigError, match=r"sources\[0\]\.key: expected an http:// or https:// URL"):
        load_config(directory)


def test_board_tokens_are_not_urls(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text('[[sources]]\nkind = "ashby"\nkey = "localhost"\n')
    assert load_sources(path)[0].key == "localhost"  # a token: the host is Ashby's


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "https://[::1]/hook", "http://169.254.169.254/x",
                                 "https://10.0.0.2/hooks/T0KEN", "http://localhost/hook"])
def test_a_webhook_on_a_private_address_is_a_configuration_error(tmp_path, url):
    path = tmp_path / "jobtrend.toml"
    path.write_text(f'[notify]\nwebhooks = ["{url}"]\n')
    with pytest.raises(ConfigError, match=r"notify\.webhooks\[0\]: expected an http:// or https:// URL on a "
                                          r"public host") as err:
        load_notify(path)
    assert "T0KEN" not in str(err.value)
    path.write_text(f'[notify]\nwebhooks = ["{url}"]\nallow_private_addresses = true\n')
    assert load_notify(path).webhooks == (url,)


# --- request time: the crawler ----------------------------------------------------------------------------------

def guard(settings: dict | None = None) -> AddressGuardMiddleware:
    return AddressGuardMiddleware.from_crawler(get_crawler(settings_dict=settings or {}))


def refused(middleware: AddressGuardMiddleware, url: str) -> bool:
    try:
        asyncio.run(middleware.process_request(Request(url)))
    except PrivateAddressRefused:
        return True
    return False


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/", "http://127.1/",
                                 "https://10.0.0.1/jobs", "http://[fe80::1]/", "http://localhost/x",
                                 "file:///etc/passwd", "s3://bucket/key", "data:text/html,<a>"])
def test_a_private_address_or_another_scheme_is_refused_without_resolving(url, monkeypatch):
    middleware = guard()

    async def no_dns(host):
        raise AssertionError(f"resolved {host}")

    monkeypatch.setattr(middleware, "resolve", no_dns)
    assert refused(middleware, url)
    assert middleware.crawler.stats.get_value("address_guard/refused") == 1


@pytest.mark.parametrize(("addresses", "refuse"), [
    (["127.0.0.1"], True), (["93.184.215.14", "10.0.0.7"], True), (["169.254.169.254"], True),
    (["93.184.215.14"], False), ([], False)])
def test_a_host_name_is_refused_by_what_it_resolves_to(addresses, refuse, monkeypatch):
    middleware = guard()

    async def fake_dns(host):
        assert host == "careers.example.org"
        return [ip_literal(a) for a in addresses]

    monkeypatch.setattr(middleware, "resolve", fake_dns)
    assert refused(middleware, "https://careers.example.org/jobs") is refuse


def test_the_switch_and_the_local_modes(tmp_path, monkeypatch):
    with pytest.raises(NotConfigured):
        guard({"JOBTREND_ALLOW_PRIVATE_ADDRESSES": True})
    with pytest.raises(NotConfigured):  # a replayed crawl: every request goes to the replay server
        guard({"REPLAY_HOSTS_URL": "http://127.0.0.1:9/sites"})
    monkeypatch.delenv("JOBTREND_DATABASE_URL", raising=False)
    config = load_config(write_plain_config(tmp_path / "config"))
    settings = crawl_settings(config, api_base="http://127.0.0.1:8765", extra={"REPLAY_HOSTS_URL": "",
                                                                             "LEVER_EU_API_BASE": "http://[::1]:9"})
    middleware = guard({name: settings[name] for name in settings if name.endswith("_API_BASE")}
                       | {"REPLAY_HOSTS_URL": settings["REPLAY_HOSTS_URL"]})
    assert not refused(middleware, "http://127.0.0.1:8765/posting-api/job-board/acme")  # the API base itself
    assert not refused(middleware, "http://[::1]:9/v0/postings/x")
    assert refused(middleware, "http://127.0.0.1:8766/other-port")
    assert refused(middleware, "http://169.254.169.254/")
    assert guard({"ASHBY_API_BASE": "https://api.ashbyhq.com"}).exempt == set()  # a name is no local mode


@pytest.mark.parametrize(("exception", "reason"), [(PrivateAddressRefused("x"), "private_address"),
                                                   (RedirectOffHost("x"), "redirect_off_host")])
def test_the_refusals_are_recorded_with_their_reason(exception, reason):
    failure = Failure(exception)
    failure.request = Request("https://example.org/")
    assert failure_reason(failure) == reason


def test_a_career_site_whose_name_resolves_to_a_private_address_is_not_requested(db_url, tmp_path):
    page = ReplayResponse(200, job_page("rebind-1", "Rebind"), {"Content-Type": "text/html; charset=utf-8"})
    with ReplayServer(REPLAY, {"/careers": page}) as site:
        key = f"http://careers.rebind.test:{site.url.rsplit(':', 1)[1]}/careers"
        config_dir = write_config(tmp_path / "config", jsonld(key))  # a host name: the file cannot tell
        summary, stats, _ = crawl(config_dir, db_url, tmp_path, kinds=["jsonld"], fake_dns=True)
        assert site.requests == []  # not even robots.txt
        run = summary["sources"][f"jsonld:{key}"]
        assert (run["status"], run["reason"], run["seen"]) == ("failed", "private_address", 0)
        assert stats["jsonld"]["address_guard/refused"] >= 1 and tripped(stats) == {}
        assert "downloader/request_count" not in stats["jsonld"]

        # the same site with the switch on: the fake name does lead to the server (127.0.0.1)
        allowed = write_config(tmp_path / "allowed", jsonld(key), crawl="allow_private_addresses = true\n")
        summary, stats, _ = crawl(allowed, db_url, tmp_path, kinds=["jsonld"], fake_dns=True)
        assert summary["sources"][f"jsonld:{key}"]["status"] == "ok"
        assert site.hits("/careers") == 1 and tripped(stats) == {}
    postings, _ = read_database(db_url, 0)
    assert {ext for (_, ext) in postings} == {"rebind-1"}


# --- request time: webhooks -------------------------------------------------------------------------------------

class Receiver:
    """http.server on 127.0.0.1 counting POSTs."""

    def __init__(self):
        self.posts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver(monkeypatch):
    """A receiver on 127.0.0.1 and a getaddrinfo that answers ``hooks.rebind.test`` with its address (and
    ``mixed.rebind.test`` with a public address first, then it), asking no DNS server for them."""
    real = socket.getaddrinfo
    server = Receiver()

    def fake(host, port, *args, **kwargs):
        local = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", server.port))
        if host == "hooks.rebind.test":
            return [local]
        if host == "mixed.rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("203.0.113.7", server.port)), local]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield server
    server.close()


@pytest.mark.parametrize("name", ["hooks.rebind.test", "mixed.rebind.test"])
def test_a_webhook_host_resolving_to_a_private_address_is_refused_before_connecting(receiver, name):
    url = f"http://{name}:{receiver.port}/hooks/T0KEN"
    with pytest.raises(DeliveryError) as err:
        post_webhook(url, "{}")
    assert str(err.value) == PRIVATE_WEBHOOK and "T0KEN" not in str(err.value)
    assert receiver.posts == 0


def test_a_webhook_resolving_to_a_private_address_is_posted_to_when_allowed(receiver):
    assert post_webhook(f"http://hooks.rebind.test:{receiver.port}/hook", "{}", allow_private=True) == 204
    assert receiver.posts == 1


def test_delivery_records_the_refusal_and_retries_later(engine, receiver):
    enqueue(engine, channel="webhook", recipient=f"http://hooks.rebind.test:{receiver.port}/hook", subject="s",
            body="{}", dedupe_key="k")
    enqueue(engine, channel="webhook", recipient=f"http://127.0.0.1:{receiver.port}/hook", subject="s", body="{}",
            dedupe_key="k2")  # queued by other means than the configuration: refused as written
    result = deliver_pending(engine, NotifySettings())
    assert (result.sent, result.retried) == (0, 2) and receiver.posts == 0
    later = utcnow() + dt.timedelta(days=1)  # past the backoff
    allowed = deliver_pending(engine, NotifySettings(allow_private_addresses=True), now=later)
    assert allowed.sent == 2 and receiver.posts == 2
