"""Progress bars for long commands: a rich bar on stderr for a person at a terminal, nothing in logs or CI.

Library loops take an optional callback ``progress(done, total)`` and call it after each batch. A use case of
:mod:`jobtrend.app` takes a :data:`Stages` factory, ``progress(description)`` -> a context manager yielding
that callback, and opens one stage per loop; the CLI passes :func:`progress_bar`, the scheduler nothing
(:func:`no_bars`)::

    with progress("mentions") as update:
        analyze(engine, frameworks, progress=update)

The bar is shown only when its console is a terminal, ``CI`` is not set and logging is not verbose (``-v``
writes log lines that a redrawn bar would garble); otherwise the callback does nothing. A scheduler job asks
for no bar at all: it passes no progress factory, so its use cases get :func:`no_bars`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

ProgressCallback = Callable[[int, int], None]
Stages = Callable[[str], AbstractContextManager[ProgressCallback]]


def _quiet(_done: int, _total: int) -> None:
    """The callback when no bar is shown."""


@contextmanager
def no_bars(_description: str) -> Iterator[ProgressCallback]:
    """The :data:`Stages` of a caller that shows no progress (the scheduler, a test): every callback is quiet."""
    yield _quiet


def bars_wanted(console: Console) -> bool:
    """Whether a bar belongs on ``console``: a terminal, not CI, logging not verbose."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    if logging.getLogger().getEffectiveLevel() < logging.WARNING:
        return False
    return console.is_terminal


@contextmanager
def progress_bar(description: str, *, console: Console | None = None) -> Iterator[ProgressCallback]:
    """Yield ``update(done, total)`` that draws one bar on ``console`` (stderr by default), or does nothing
    when :func:`bars_wanted` says no. The bar keeps its last state on screen when the block ends."""
    console = console or Console(stderr=True)
    if not bars_wanted(console):
        yield _quiet
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
