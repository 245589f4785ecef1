"""The Scrapy command line's door to jobtrend's configuration (``scrapy crawl ashby -a boards=cohere``).

:class:`ConfigAddon` is listed in ``ADDONS`` (crawler/settings.py). Scrapy calls its
:meth:`~ConfigAddon.update_pre_crawler_settings` once, when the command creates its CrawlerProcess and before any
crawler or spider exists: it loads the configuration (:func:`jobtrend.config.load_config`: ``JOBTREND_CONFIG_DIR``,
``JOBTREND_DATABASE_URL``) and applies what :func:`crawler.run.crawl_settings` makes of it, with "project" priority,
so that ``-s NAME=VALUE`` and a spider's ``custom_settings`` still win over it. ``scrapy list`` creates no
CrawlerProcess and reads no configuration.

Settings made by :func:`~crawler.run.crawl_settings` already hold the configuration
(``JOBTREND_CONFIGURED_FROM`` is set): :func:`crawler.run.run_crawl` and ``python -m crawler.run`` go through here
too, and nothing is loaded again.
"""

from __future__ import annotations

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from crawler.run import CONFIGURED_FROM_SETTING, crawl_settings
from jobtrend.config import load_config


class ConfigAddon:
    """Apply jobtrend's configuration to settings that do not hold it yet (the Scrapy command line's)."""

    @classmethod
    def update_pre_crawler_settings(cls, settings: BaseSettings) -> None:
        if settings.get(CONFIGURED_FROM_SETTING):
            return
        configured = crawl_settings(load_config())
        for name, value in configured.items():
            # crawl_settings gives the config's values a priority above the static crawler.settings ones
            if configured.getpriority(name) > SETTINGS_PRIORITIES["project"]:
                settings.set(name, value, priority="project")
