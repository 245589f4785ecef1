"""Scrapy settings for jobtrend's crawler, taken from ``jobtrend.toml`` (``[crawl]`` and ``[database]``).

Only ``jobtrend.toml`` is read here (through :func:`jobtrend.config.load_main`), so ``scrapy list`` works before
any board is configured; the spiders read ``sources.toml`` when they start. ``JOBTREND_CONFIG_DIR`` moves the
configuration directory and ``JOBTREND_DATABASE_URL`` overrides the database. :func:`crawler.run.run_crawl`
overrides these values from the :class:`~jobtrend.config.Config` it is given.
"""

from jobtrend.config import default_config_dir, load_main, resolve_sqlite_path

_config_dir = default_config_dir()
_database_url, _crawl, _ = load_main(_config_dir / "jobtrend.toml")

# --- Project ------------------------------------------------------------------------------------------------
BOT_NAME = "jobtrend"
NEWSPIDER_MODULE = "crawler.spiders"
SPIDER_MODULES = ["crawler.spiders"]

# --- Identity and robots.txt: say who we are, and obey the host's rules ----------------------------------------
ROBOTSTXT_OBEY = _crawl.obey_robots_txt
USER_AGENT = _crawl.user_agent

# --- Politeness: one request at a time per host, AutoThrottle adapts the delay upwards ------------------------
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_START_DELAY = _crawl.download_delay
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = _crawl.concurrent_requests_per_domain
COOKIES_ENABLED = False
DOWNLOAD_DELAY = _crawl.download_delay

# --- Downloads: one board is one response, up to ~14 MB for the largest Ashby boards --------------------------
DOWNLOAD_MAXSIZE = _crawl.download_maxsize
DOWNLOAD_TIMEOUT = _crawl.download_timeout
DOWNLOAD_WARNSIZE = 0

# --- Retries: rate limiting and server errors are retried, then reported as failed sources -------------------
RETRY_ENABLED = True
RETRY_AFTER_MAX = 120  # seconds; a longer Retry-After is not waited for and the board fails
CRAWL_DELAY_MAX = 120  # seconds; a host whose robots.txt Crawl-delay is longer is not crawled (crawl_delay.py)
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524]
RETRY_TIMES = 2

# --- Off: no cache (every crawl must see the live board); no telnet console and no remote-control HTTP server
# (Scrapy 2.19 starts one by default: it runs code sent to it), so a crawl listens on no port at all ----------
HTTPCACHE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

# --- Logging --------------------------------------------------------------------------------------------------
LOG_LEVEL = "INFO"

# --- Job-board APIs: spiders append the real paths (tests and the demo point these at the replay server) ------
ASHBY_API_BASE = "https://api.ashbyhq.com"
GREENHOUSE_API_BASE = "https://boards-api.greenhouse.io"
HN_ALGOLIA_API_BASE = "https://hn.algolia.com"  # Hacker News "Who is hiring?" threads (Algolia HN Search API)
LEVER_API_BASE = "https://api.lever.co"
LEVER_EU_API_BASE = "https://api.eu.lever.co"  # sites with region = "eu"
LEVER_PAGE_SIZE = 100  # postings per page (the API's limit parameter)

# --- Career sites (jsonld) keep their own hosts; a replayed crawl maps them all to one replay server ----------
REPLAY_HOSTS_URL = ""  # e.g. "http://127.0.0.1:8765/sites": crawler/middlewares/replay_hosts.py (off when empty)

# --- Storage --------------------------------------------------------------------------------------------------
JOBTREND_BATCH_SIZE = _crawl.batch_size
JOBTREND_DATABASE_URL = resolve_sqlite_path(_database_url, _config_dir)

# --- Components: robots.txt middleware, pipelines in order with gaps, the crawl-run recorder -----------------
DOWNLOADER_MIDDLEWARES = {
    # Scrapy's own lets through requests sent while robots.txt downloads: crawler/middlewares/robotstxt.py
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.robotstxt.RobotsTxtMiddleware": 100,
    # robots.txt Crawl-delay raises its host's download-slot delay: crawler/middlewares/crawl_delay.py
    "crawler.middlewares.crawl_delay.CrawlDelayMiddleware": 110,
    # Scrapy's retry, waiting as long as a Retry-After header asks: crawler/middlewares/retry_after.py
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.retry_after.RetryAfterMiddleware": 550,
    # replayed crawls only: any host's request goes to REPLAY_HOSTS_URL; after robots.txt, which sees real hosts
    "crawler.middlewares.replay_hosts.ReplayHostsMiddleware": 950,
}
EXTENSIONS = {
    "crawler.extensions.crawl_run.CrawlRunExtension": 500,
    "crawler.extensions.response_size.ResponseSizeExtension": 510,
}
ITEM_PIPELINES = {
    "crawler.pipelines.clean_html.CleanHtmlPipeline": 100,
    "crawler.pipelines.validate_posting.ValidatePostingPipeline": 200,
    "crawler.pipelines.store_posting.StorePostingPipeline": 300,
}
