"""The bundled demo corpus: every board listed in data/demo/sources.toml is served by the replay server."""

from __future__ import annotations

import urllib.request

from crawler.replay import ReplayServer
from crawler.run import SPIDERS
from jobtrend.config import REPO_ROOT, load_sources
from tests.crawler.conftest import make_spider

DEMO = REPO_ROOT / "data" / "demo"


def test_demo_sources_list_all_bundled_boards_with_companies():
    sources = load_sources(DEMO / "sources.toml")
    kinds = [s.kind for s in sources]
    assert (kinds.count("ashby"), kinds.count("greenhouse")) == (72, 13)
    assert all(s.company for s in sources)
    assert "Forward Financing" in {s.key for s in sources}


def test_every_demo_board_is_served_at_the_url_its_spider_requests():
    sources = load_sources(DEMO / "sources.toml")
    spiders = {kind: make_spider(cls, []) for kind, cls in SPIDERS.items()}
    with ReplayServer(DEMO) as server:
        for source in sources:
            if source.kind == "jsonld":  # career sites, no board API: crawled in test_jsonld_end_to_end.py
                continue
            if source.kind == "hackernews":  # a thread list, then threads: test_hackernews_end_to_end.py
                continue
            url = spiders[source.kind].board_url(server.url, source.key)
            with urllib.request.urlopen(url, timeout=5) as response:
                jobs, reason = spiders[source.kind].decode(response.read())  # Lever pages are bare arrays
            assert jobs and reason is None, source.label


def test_demo_readme_keeps_origin_and_licence():
    readme = (DEMO / "README.md").read_text()
    for origin in ("stapply-ai/ats-scrapers @ 43ece6fd", "Gurram-Sowmya/jobsxplo @ 07d272fb", "MIT",
                   "without `content=true`"):
        assert origin in readme
