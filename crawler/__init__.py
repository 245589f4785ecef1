"""The Scrapy project: one spider per source, one pipeline per file, a crawl-run extension, a replay server."""
