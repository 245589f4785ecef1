"""Progress bars for long commands: a rich bar on stderr for a person at a terminal, nothing in logs or CI.

Library loops take an optional callback ``progress(done, total)`` and call it after each batch; the CLI passes
the one this module yields::

    with progress_bar("mentions") as update:
        analyze(engine, frameworks, progress=update)

The bar is shown only when its console is a terminal, ``CI`` is not set, logging is not verbose (``-v``
writes log lines that a redrawn bar would garble) and the code does not run as a scheduler job (inside
:func:`bars_off`: a scheduler in a terminal writes log lines too); otherwise the callback does nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

ProgressCallback = Callable[[int, int], None]


def _quiet(_done: int, _total: int) -> None:
    """The callback when no bar is shown."""


_bars_off: ContextVar[bool] = ContextVar("jobtrend_bars_off", default=False)


@contextmanager
def bars_off() -> Iterator[None]:
    """No bar inside this block (in this thread or task): scheduler jobs run in it."""
    token = _bars_off.set(True)
    try:
        yield
    finally:
        _bars_off.reset(token)


def bars_wanted(console: Console) -> bool:
    """Whether a bar belongs on ``console``: a terminal, not CI, logging not verbose, not in :func:`bars_off`."""
    if _bars_off.get():
        return False
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
