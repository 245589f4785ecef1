"""``crawl --plan``: the politeness budget of a crawl, per host, without crawling (:mod:`crawler.plan`)."""

from __future__ import annotations

from collections.abc import Sequence

from crawler.plan import CrawlPlan, crawl_budget_s, plan_crawl
from crawler.run import SPIDERS, InvalidRequest, crawl_settings, plan_sources
from jobtrend.app.crawl import InvalidCrawl
from jobtrend.config import Config


def crawl_plan(config: Config, *, kinds: Sequence[str] | None = None,
               keys: Sequence[str] | None = None) -> CrawlPlan:
    """The plan of the crawl ``jobtrend crawl`` would run with these options: its hosts, their requests and delay,
    the estimate, and how the scheduler's crawls split the sources when a full crawl does not fit their interval.
    :class:`InvalidCrawl` for a request the crawl would refuse."""
    try:
        plan = plan_sources(config, tuple(kinds or SPIDERS), list(keys) if keys else None)
    except InvalidRequest as exc:
        raise InvalidCrawl(str(exc)) from None
    return plan_crawl(crawl_settings(config), plan, crawl_budget_s(config))
