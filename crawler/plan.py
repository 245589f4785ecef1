"""Crawl planning: how long a crawl takes at the politeness budget, and how to split the boards when it is too long.

Scrapy keeps one *download slot* per host (by default a request's slot is its URL's host) and applies
``DOWNLOAD_DELAY`` and ``CONCURRENT_REQUESTS_PER_DOMAIN`` per slot; AutoThrottle adjusts each slot's delay on its
own and never below ``DOWNLOAD_DELAY``. So the hosts of one crawl run in parallel, each at its own delay, and a
crawl lasts as long as its slowest host: ``requests x delay``. Every Ashby, Greenhouse and Lever board is one
request on its API host (Lever: one more per 100 postings past the first 100), so 1,590 Ashby boards at the
default delay of 1 s are about 27 minutes on api.ashbyhq.com whatever the other hosts do. Each host also gets
its robots.txt once. The estimate is a lower bound: a host answering slower than the delay is paced by its
latency (AutoThrottle), and a Retry-After or robots.txt Crawl-delay lengthens it.

When the slowest host does not fit the time a scheduled crawl has (the interval between two ``crawl`` runs of
the scheduler, and at most ``scheduler.crawl_timeout_seconds``), :func:`plan_crawl` splits the sources into
``slices`` by a stable hash of ``kind:key`` (:func:`part_of`): each scheduled crawl takes one slice
(``python -m crawler.run --slice auto``: the slice numbered by the scheduled interval the crawl starts in,
:func:`slice_now`), so every board is crawled once every ``slices`` runs. The same hash, with another salt,
shards the sources between crawler processes (``--shard K/N``): every board in exactly one shard.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger
from scrapy.settings import Settings

from crawler.preflight import source_host
from jobtrend.config import Config, SourceConfig

# requests one source makes on its host in a plain crawl (the spiders in crawler/spiders/): one listing of a board
# (Ashby: ?includeCompensation=true, Greenhouse: ?content=true, Lever: a page of LEVER_PAGE_SIZE); Hacker News:
# the story search and the latest thread; a career site: its page (the job pages it links are not known ahead)
REQUESTS_PER_SOURCE = {"ashby": 1, "greenhouse": 1, "lever": 1, "hackernews": 2, "jsonld": 1}
ROBOTS_TXT_REQUESTS = 1  # per host, before its first request
HEADROOM = 0.8  # a crawl is planned to fill at most this share of the time it has
ANNOUNCE_SECONDS = 60  # a crawl estimated longer than this prints its estimate first
SLICE_SALT, SHARD_SALT = "slice", "shard"

logger = logging.getLogger(__name__)

Plan = dict[str, list[SourceConfig]]  # kind -> the sources of that kind to crawl (crawler.run.plan_sources)


@dataclass(frozen=True)
class HostPlan:
    """One host's share of a crawl: its sources, requests (robots.txt included) and the delay between them."""

    host: str
    sources: int
    requests: int
    delay: float

    @property
    def seconds(self) -> float:
        return self.requests * self.delay


@dataclass(frozen=True)
class CrawlPlan:
    """A crawl's hosts, its estimate (the slowest host) and the slices it is split into to fit ``budget_s``."""

    hosts: tuple[HostPlan, ...]
    budget_s: float | None = None  # the time one scheduled crawl has; None: no schedule, never sliced

    @property
    def seconds(self) -> float:
        return max((h.seconds for h in self.hosts), default=0.0)

    @property
    def sources(self) -> int:
        return sum(h.sources for h in self.hosts)

    @property
    def requests(self) -> int:
        return sum(h.requests for h in self.hosts)

    @property
    def slices(self) -> int:
        """How many scheduled crawls share the sources so that each fits its budget (1: a full crawl fits)."""
        if not self.budget_s or self.seconds <= self.budget_s * HEADROOM:
            return 1
        return math.ceil(self.seconds / (self.budget_s * HEADROOM))

    def lines(self) -> list[str]:
        """The plan as a table, one line per host (slowest first), then the total and the slicing."""
        rows = [f"{'host':<32} {'sources':>8} {'requests':>9} {'delay s':>8} {'minutes':>8}"]
        for h in sorted(self.hosts, key=lambda h: (-h.seconds, h.host)):
            rows.append(f"{h.host:<32} {h.sources:>8,} {h.requests:>9,} {h.delay:>8.2f} {h.seconds / 60:>8.1f}")
        rows.append(f"{'total (hosts in parallel)':<32} {self.sources:>8,} {self.requests:>9,} {'':>8} "
                    f"{self.seconds / 60:>8.1f}")
        rows.append(self.slicing_line())
        return rows

    def slicing_line(self) -> str:
        if not self.budget_s:
            return "no scheduled crawl: a crawl takes every source"
        budget = f"a scheduled crawl has {self.budget_s / 60:.0f} min"
        if self.slices == 1:
            return f"{budget}: a full crawl fits, every source every run"
        return (f"{budget}: the sources are split into {self.slices} slices (stable hash), one per scheduled crawl, "
                f"every source once every {self.slices} runs (~{self.seconds / self.slices / 60:.0f} min each)")

    def estimate_line(self) -> str:
        """One line for a crawl about to start."""
        return (f"estimated at least {self.seconds / 60:.1f} min: {self.sources:,} sources, {self.requests:,} "
                f"requests on {len(self.hosts)} hosts in parallel (slowest {self.slowest}); "
                "`jobtrend crawl --plan` shows each host")

    @property
    def slowest(self) -> str:
        return max(self.hosts, key=lambda h: h.seconds).host if self.hosts else "-"


def plan_crawl(settings: Settings, plan: dict[str, list[SourceConfig]], budget_s: float | None = None) -> CrawlPlan:
    """Group the sources of ``plan`` (kind -> sources) by the host they are crawled on and estimate each host."""
    sources: dict[str, int] = defaultdict(int)
    requests: dict[str, int] = defaultdict(int)
    for kind, listed in plan.items():
        for source in listed:
            host = source_host(settings, source) or "?"
            sources[host] += 1
            requests[host] += REQUESTS_PER_SOURCE.get(kind, 1)
    delay = host_delay(settings)
    hosts = tuple(HostPlan(host, sources[host], requests[host] + ROBOTS_TXT_REQUESTS * robots(settings), delay)
                  for host in sources)
    return CrawlPlan(hosts, budget_s)


def host_delay(settings: Settings) -> float:
    """The least delay between two requests to one host: DOWNLOAD_DELAY (``crawl.download_delay``; AutoThrottle,
    on by default, starts at the same value and never goes below it)."""
    return settings.getfloat("DOWNLOAD_DELAY")


def robots(settings: Settings) -> int:
    return 1 if settings.getbool("ROBOTSTXT_OBEY") else 0


def crawl_budget_s(config: Config, now: dt.datetime | None = None) -> float | None:
    """The time one scheduled crawl has: the gap between the scheduler's next two ``crawl`` runs, at most
    ``scheduler.crawl_timeout_seconds``; None when the crawl job is not scheduled."""
    interval = crawl_interval_s(config, now)
    if interval is None:
        return None
    return min(interval, float(config.scheduler.crawl_timeout_seconds))


def crawl_interval_s(config: Config, now: dt.datetime | None = None) -> float | None:
    """Seconds between the scheduler's next two ``crawl`` runs (its cron), None when the job is disabled."""
    cron = config.scheduler.enabled_jobs().get("crawl")
    if not cron:
        return None
    trigger = CronTrigger.from_crontab(cron, timezone=config.scheduler.timezone)
    now = now or dt.datetime.now(dt.UTC)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + dt.timedelta(seconds=1))
    return (second - first).total_seconds() if first and second else None


def part_of(label: str, parts: int, salt: str) -> int:
    """The part (0 .. parts-1) ``kind:key`` falls in: a stable hash, the same in every process and run."""
    digest = hashlib.sha256(f"{salt}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % parts


def take_part(plan: dict[str, list[SourceConfig]], index: int, parts: int, salt: str
              ) -> dict[str, list[SourceConfig]]:
    """``plan`` narrowed to the sources in part ``index`` (0-based) of ``parts``."""
    return {kind: [s for s in listed if part_of(s.label, parts, salt) == index] for kind, listed in plan.items()}


def slice_now(slices: int, interval_s: float, now: dt.datetime | None = None) -> int:
    """The slice a scheduled crawl starting at ``now`` takes: the number of the scheduler interval it starts in,
    modulo ``slices``, so consecutive runs of a regular cron take consecutive slices and need no stored state."""
    now = now or dt.datetime.now(dt.UTC)
    return int(now.timestamp() // interval_s) % slices


def parse_part(text: str) -> tuple[int, int]:
    """``K/N`` (1 <= K <= N) as (K - 1, N); ValueError with the reason otherwise."""
    k, sep, n = text.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n):
        raise ValueError(f"expected K/N with 1 <= K <= N (e.g. 1/2), got {text!r}")
    return int(k) - 1, int(n)


def narrower(config: Config, settings: Settings, *, shard: tuple[int, int] | None = None, scheduled: bool = False,
             now: dt.datetime | None = None) -> Callable[[Plan], Plan]:
    """What ``python -m crawler.run --slice auto --shard K/N`` crawls of a plan: this scheduled run's slice when a
    full crawl does not fit the scheduler's interval (``scheduled``), then this process's shard."""

    def narrow(plan: Plan) -> Plan:
        if scheduled:
            interval = crawl_interval_s(config, now)
            slices = plan_crawl(settings, plan, crawl_budget_s(config, now)).slices
            if interval and slices > 1:
                index = slice_now(slices, interval, now)
                plan = take_part(plan, index, slices, SLICE_SALT)
                logger.info("scheduled crawl: slice %d of %d (a full crawl does not fit the interval)",
                            index + 1, slices)
        if shard is not None:
            plan = take_part(plan, shard[0], shard[1], SHARD_SALT)
        return plan

    return narrow
