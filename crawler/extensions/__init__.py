"""Scrapy extensions: ``crawl_run`` records one ``crawl_runs`` row per source and closes vanished postings."""
