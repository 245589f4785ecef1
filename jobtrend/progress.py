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

The callback also takes two optional fields: ``note``, a few words shown after the count (a crawl's ``2 not
ok``), and ``estimate_s``, a lower bound of the whole run in seconds (a crawl's politeness estimate,
crawler/plan.py): the time left shown is never less than what it leaves, nor than the pace so far says. While a
bar is drawn, lines written to ``sys.stderr`` (a crawl's line per source) and the log records of the console's
handlers are printed above it, not through it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn
from rich.text import Text

from jobtrend.logs import console_level

ProgressCallback = Callable[..., None]  # update(done, total, *, note="...", estimate_s=...)
Stages = Callable[[str], AbstractContextManager[ProgressCallback]]


def _quiet(_done: int, _total: int, **_fields: object) -> None:
    """The callback when no bar is shown."""


@contextmanager
def no_bars(_description: str) -> Iterator[ProgressCallback]:
    """The :data:`Stages` of a caller that shows no progress (the scheduler, a test): every callback is quiet."""
    yield _quiet


def bars_wanted(console: Console) -> bool:
    """Whether a bar belongs on ``console``: a terminal, not CI, logging not verbose."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    if console_level() < logging.WARNING:  # the console's own level: a log file may take INFO
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
               TextColumn("{task.fields[note]}"), TimeColumn())
    with Progress(*columns, console=console, transient=False) as bar, _logs_above():
        task = bar.add_task(description, total=None, note="", estimate_s=None)

        def update(done: int, total: int, **fields: object) -> None:
            # redrawn now, so a line printed next shows the bar as it is under it (not at the last timed refresh)
            bar.update(task, completed=done, total=total, refresh=True, **fields)

        yield update


class TimeColumn(ProgressColumn):
    """``0:00:12 elapsed, ~0:03:20 left``: the time left is the larger of the pace so far and what the task's
    ``estimate_s`` (a lower bound of the whole run) leaves; unknown (``-:--:--``) before either says."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        left = None if task.finished else time_left(task.time_remaining, task.fields.get("estimate_s"), elapsed)
        shown = "-:--:--" if left is None else f"~{_clock(left)}"
        return Text(f"{_clock(elapsed or 0)} elapsed" + ("" if task.finished else f", {shown} left"),
                    style="progress.remaining")


def time_left(measured: float | None, estimate_s: float | None, elapsed: float | None) -> float | None:
    """Seconds left: the most of the pace so far (``measured``) and what the lower bound ``estimate_s`` leaves
    after ``elapsed``; None when neither is known."""
    bound = max(estimate_s - (elapsed or 0), 0.0) if estimate_s else None
    known = [value for value in (measured, bound) if value is not None]
    return max(known) if known else None


def _clock(seconds: float) -> str:
    return str(dt.timedelta(seconds=int(seconds)))


@contextmanager
def _logs_above() -> Iterator[None]:
    """For the block: the root handlers that write to the stderr a live bar replaced (with rich's proxy, which
    prints above the bar) write to the proxy too; restored afterwards. Nothing changes when the bar did not
    replace stderr (not a terminal)."""
    proxy = sys.stderr
    real = getattr(proxy, "rich_proxied_file", None)
    moved = [h for h in logging.getLogger().handlers
             if real is not None and isinstance(h, logging.StreamHandler) and h.stream is real]
    for handler in moved:
        handler.setStream(proxy)
    try:
        yield
    finally:
        for handler in moved:
            handler.setStream(real)
