"""jobtrend: watch public job boards for AI engineering roles and the frameworks they mention."""

__version__ = "0.1.0"
