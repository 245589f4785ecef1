"""The ``--remote/--no-remote``, ``--location`` and ``--company`` options of the commands that count or list
postings (`trends`, `pay`, `report`, `export postings`), handed to the command as one
:class:`~analysis.filters.PostingFilter` argument, ``posting_filter``."""

from __future__ import annotations

import functools
from collections.abc import Callable

import click

from analysis.filters import PostingFilter


def posting_filter_options(lead: str = "Count only postings") -> Callable[[Callable], Callable]:
    """Add the three filter options to a command; ``lead`` begins their help ("Count only postings marked
    remote ...")."""

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def with_filter(*args, remote: bool | None, location: str | None, company: str | None, **kwargs):
            only = PostingFilter(remote=remote, location=location, company=company)
            return command(*args, posting_filter=only, **kwargs)

        options = (
            click.option("--remote/--no-remote", default=None,
                         help=f"{lead} marked remote (--no-remote: marked not remote; unknown is neither)."),
            click.option("--location", metavar="TEXT", help=f"{lead} whose location contains TEXT (any case)."),
            click.option("--company", metavar="TEXT", help=f"{lead} whose company contains TEXT (any case)."),
        )
        for option in reversed(options):
            with_filter = option(with_filter)
        return with_filter

    return decorate
