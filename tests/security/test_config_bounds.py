"""Every number of ``[crawl]`` and of a source has an upper bound: an absurd value (``download_timeout = 1e9``,
``max_pages = 1e12``) is a configuration error naming the file, the key and the range, not a crawl that waits for
ever or never ends. The defaults and the bounds themselves are accepted."""

from __future__ import annotations

import pytest

from jobtrend.config import ConfigError, CrawlSettings, load_config, load_main, load_sources
from tests.jobtrend.test_config import write_config

UA = 'user_agent = "bot/1 (+https://example.org/bot)"\n'
# key -> (largest accepted, first refused, what the message says)
CRAWL_BOUNDS = {
    "download_delay": (120, 120.5, "a number of seconds, 0 or more and at most 120"),
    "concurrent_requests_per_domain": (16, 17, "an integer of at least 1 and at most 16"),
    "download_timeout": (600, 1_000_000_000, "an integer of at least 1 and at most 600 (seconds)"),
    "download_maxsize": (1024 ** 3, 10 ** 12, "an integer of at least 1 and at most 1073741824 (bytes)"),
    "batch_size": (10_000, 10_001, "an integer of at least 1 and at most 10000"),
    "max_board_pages": (1000, 10 ** 12, "an integer of at least 1 and at most 1000 (pages)"),
    "max_board_postings": (100_000, 100_001, "an integer of at least 1 and at most 100000 (postings)"),
    "max_listing_pages": (100, 101, "an integer of at least 1 and at most 100 (pages)"),
}


@pytest.mark.parametrize("key", CRAWL_BOUNDS)
def test_a_crawl_number_over_its_bound_is_refused(tmp_path, key):
    largest, refused, expected = CRAWL_BOUNDS[key]
    path = tmp_path / "jobtrend.toml"
    path.write_text(f"[crawl]\n{UA}{key} = {refused}\n")
    with pytest.raises(ConfigError) as err:
        load_main(path)
    assert str(err.value) == f"{path}: crawl.{key}: expected {expected}, got {refused!r}"
    path.write_text(f"[crawl]\n{UA}{key} = {largest}\n")
    assert getattr(load_main(path)[1], key) == largest


def test_a_float_timeout_is_no_integer(tmp_path):
    path = tmp_path / "jobtrend.toml"
    path.write_text(f"[crawl]\n{UA}download_timeout = 1e9\n")
    with pytest.raises(ConfigError, match=r"crawl\.download_timeout: expected an integer, got 1000000000\.0"):
        load_main(path)


def test_the_defaults_are_within_the_bounds(tmp_path):
    config = load_config(write_config(tmp_path / "config"))
    assert config.crawl == CrawlSettings()
    for key, (largest, _, _) in CRAWL_BOUNDS.items():
        assert 0 <= getattr(CrawlSettings(), key) <= largest


@pytest.mark.parametrize(("value", "ok"), [(1, True), (10_000, True), (0, False), (10_001, False),
                                           (1_000_000_000_000, False)])
def test_max_pages_of_a_career_site_is_bounded(tmp_path, value, ok):
    path = tmp_path / "sources.toml"
    path.write_text(f'[[sources]]\nkind = "jsonld"\nkey = "https://careers.example.org/jobs"\nmax_pages = {value}\n')
    if ok:
        assert load_sources(path)[0].options["max_pages"] == value
        return
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert err.value.key == "sources[0].max_pages"
    assert "an integer of at least 1 and at most 10000" in str(err.value) and str(value) in str(err.value)
