"""Downloader and spider middlewares of jobtrend's crawler."""
