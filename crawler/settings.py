"""Static Scrapy settings for jobtrend's crawler: components, defaults, API hosts. No configuration is read here.

What comes from jobtrend's configuration (``jobtrend.toml``'s ``[crawl]`` and ``[database]``, ``sources.toml``)
is set by :func:`crawler.run.crawl_settings` only, on top of this module:

- ``USER_AGENT``, ``ROBOTSTXT_OBEY``, ``DOWNLOAD_DELAY`` and ``AUTOTHROTTLE_START_DELAY``,
  ``CONCURRENT_REQUESTS_PER_DOMAIN``, ``DOWNLOAD_TIMEOUT``, ``DOWNLOAD_MAXSIZE``, the budgets
  ``JOBTREND_MAX_BOARD_PAGES``, ``JOBTREND_MAX_BOARD_POSTINGS``, ``JOBTREND_MAX_LISTING_PAGES`` and
  ``JOBTREND_ALLOW_PRIVATE_ADDRESSES`` (from ``[crawl]``; their defaults here are CrawlSettings');
- ``JOBTREND_DATABASE_URL``, ``JOBTREND_BATCH_SIZE``, ``JOBTREND_SOURCES`` (every configured source: the spiders
  read theirs from it) and ``JOBTREND_CONFIGURED_FROM`` (the configuration directory).

:func:`crawler.run.run_crawl` builds its settings with it; the Scrapy command line (``scrapy crawl``, through
scrapy.cfg) gets the same values from the one hook below, ``ADDONS``: crawler/addons.py loads the configuration
(``JOBTREND_CONFIG_DIR``, ``JOBTREND_DATABASE_URL``) and calls crawl_settings.
"""

from jobtrend.config.settings import CrawlSettings as _crawl  # the defaults of [crawl] (lower case: no setting)

# --- Project ------------------------------------------------------------------------------------------------
BOT_NAME = "jobtrend"
NEWSPIDER_MODULE = "crawler.spiders"
SPIDER_MODULES = ["crawler.spiders"]

# --- The Scrapy command line's door to the configuration: crawler/addons.py calls crawler.run.crawl_settings ----
ADDONS = {"crawler.addons.ConfigAddon": 0}

# --- Politeness: one request at a time per host, AutoThrottle adapts the delay upwards ------------------------
# (crawl_settings sets the first two from [crawl]; until then, robots.txt is obeyed and one request per host)
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 1
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CONCURRENT_REQUESTS = 8
COOKIES_ENABLED = False

# --- Downloads: one board is one response, up to ~14 MB for the largest Ashby boards --------------------------
DOWNLOAD_WARNSIZE = 0

# --- Retries: rate limiting and server errors are retried, then reported as failed sources -------------------
RETRY_ENABLED = True
RETRY_AFTER_MAX = 120  # seconds; a longer Retry-After is not waited for and the board fails
CRAWL_DELAY_MAX = 120  # seconds; a host whose robots.txt Crawl-delay is longer is not crawled (crawl_delay.py)
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524]
RETRY_TIMES = 2
# a download that timed out (DOWNLOAD_TIMEOUT: the whole download) is not retried: a server dribbling its answer
# would hold its host's only download slot for another timeout each time (crawler/middlewares/retry_after.py)
TIMEOUT_RETRY_TIMES = 0

# --- Budgets of one source and the address check: crawl_settings sets them from [crawl] (CrawlSettings) ------
JOBTREND_MAX_BOARD_PAGES = _crawl.max_board_pages  # pages of one paginated board (Lever)
JOBTREND_MAX_BOARD_POSTINGS = _crawl.max_board_postings  # postings of one board, or of one Hacker News thread
JOBTREND_MAX_LISTING_PAGES = _crawl.max_listing_pages  # Algolia listing pages of one Hacker News source
JOBTREND_ALLOW_PRIVATE_ADDRESSES = _crawl.allow_private_addresses  # crawler/middlewares/address_guard.py

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

# --- Components: robots.txt middleware, pipelines in order with gaps, the crawl-run recorder -----------------
DOWNLOADER_MIDDLEWARES = {
    # first of all, before robots.txt is fetched for a new host: a redirect off its host is not followed
    # (crawler/middlewares/redirect_guard.py), a private, loopback or link-local address is not requested
    # (crawler/middlewares/address_guard.py)
    "crawler.middlewares.redirect_guard.RedirectGuardMiddleware": 20,
    "crawler.middlewares.address_guard.AddressGuardMiddleware": 30,
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
SPIDER_MIDDLEWARES = {
    # closest to the spider: a posting stored exactly as listed goes no further (its row is marked seen when its
    # source's crawl is recorded): crawler/middlewares/unchanged_postings.py
    "crawler.middlewares.unchanged_postings.UnchangedPostingsMiddleware": 1000,
}
EXTENSIONS = {
    "crawler.extensions.crawl_run.CrawlRunExtension": 500,
    "crawler.extensions.response_size.ResponseSizeExtension": 510,
    # one line per source as its outcome is recorded: crawler/extensions/source_lines.py
    "crawler.extensions.source_lines.SourceLinesExtension": 520,
}
JOBTREND_SOURCE_LINES = "log"  # "stderr" (jobtrend crawl), "log" (crawler.sources logger) or "off"
ITEM_PIPELINES = {
    # first: NUL and other control characters out of every field (PostgreSQL refuses NUL in text)
    "crawler.pipelines.strip_control_chars.StripControlCharsPipeline": 50,
    "crawler.pipelines.clean_html.CleanHtmlPipeline": 100,
    "crawler.pipelines.validate_posting.ValidatePostingPipeline": 200,
    "crawler.pipelines.store_posting.StorePostingPipeline": 300,
}
