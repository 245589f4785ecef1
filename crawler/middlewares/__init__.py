"""Downloader middlewares of jobtrend's crawler."""
