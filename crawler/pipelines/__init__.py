"""Item pipelines, one per file, named ``<verb_noun>.py`` and ordered with gaps in ``ITEM_PIPELINES``.

Per-source figures go to Scrapy stats under ``jobtrend/source/<kind>:<key>/<name>``; the crawl-run extension
copies them into ``crawl_runs``.
"""
