"""The use cases: what jobtrend does, written once, called by the command line and by the scheduler.

Each use case is a function that takes the :class:`~jobtrend.config.Config` (and, for long loops, a
:data:`~jobtrend.progress.Stages` factory for progress bars), opens and closes its own database engine, and
returns a small result object. A CLI command reads its options, makes one call and prints the result; a
scheduler job makes the same call and records the result's counts in ``job_runs``.

- :mod:`jobtrend.app.setup`: ``init`` (schema, sources, taxonomy, a role model when there is none).
- :mod:`jobtrend.app.crawl`: ``crawl`` (every enabled source, one crawl per database at a time).
- :mod:`jobtrend.app.analyze`: ``analyze`` = framework mentions + roles + duplicate links, and each step alone,
  ``explain`` (one posting's role and its evidence), ``train``.
- :mod:`jobtrend.app.trends`: ``trends`` (weekly shares of every cohort) and the latest table.
- :mod:`jobtrend.app.pay`: ``pay`` (medians of posted pay with bootstrap intervals, read-only).
- :mod:`jobtrend.app.alerts`: ``alerts`` (evaluate the rules, store and queue what fired).
- :mod:`jobtrend.app.report`: ``weekly_report`` (build, queue, store), ``stored_report``.
- :mod:`jobtrend.app.deliver`: ``deliver`` (send the outbox rows that are due), ``outbox``.
- :mod:`jobtrend.app.prune`: ``prune`` (thin out the service's own history).
- :mod:`jobtrend.app.status`: ``status`` (one read-only pass over everything).

The modules are imported one by one (``from jobtrend.app.report import weekly_report``), never all at once: a
command loads only what it runs (the crawler alone is ~0.7 s of imports, the classifier ~1.2 s).
"""

from __future__ import annotations


class AppError(RuntimeError):
    """A use case cannot run as asked (no model, a bad rules file, nobody to send to, a job already running):
    its message is the one line the operator sees."""
