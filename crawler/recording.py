"""Which sources a recording holds: a replayed crawl (``jobtrend crawl --replay DIR``) crawls only those.

A recording is a folder of responses laid out at their URL paths (:mod:`crawler.replay`). A configured source the
folder has no response for would meet the replay server's 404 and be marked ``gone``, which is false: the board was
simply not recorded. :func:`split_by_recording` therefore leaves such sources out of the crawl altogether, so a
replay never touches (crawls, closes, marks gone or failing) what the recording does not hold.

A source is held when the replay server would answer the first request its spider sends with a recorded file:
the board listing of Ashby, Greenhouse and Lever, Hacker News' story search, or a career site's first page.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

from crawler.middlewares.replay_hosts import SITES_DIR, replayed_url
from crawler.replay import ReplayServer
from crawler.spiders.lever import DEFAULT_PAGE_SIZE
from jobtrend.config import SourceConfig


def _board(template: str, query: str) -> Callable[[SourceConfig], tuple[str, str]]:
    return lambda source: (template.format(key=source.key), query.format(key=source.key))


def _career_site(source: SourceConfig) -> tuple[str, str]:
    parts = urlsplit(replayed_url(f"/{SITES_DIR}", source.key))
    return parts.path, parts.query


# kind -> the path (decoded, as the replay server reads it) and query of a source's first request, as the spiders
# of crawler/spiders/ build it (board_url; career sites through crawler/middlewares/replay_hosts.py)
FIRST_REQUEST: dict[str, Callable[[SourceConfig], tuple[str, str]]] = {
    "ashby": _board("/posting-api/job-board/{key}", "includeCompensation=true"),
    "greenhouse": _board("/v1/boards/{key}/jobs", "content=true"),
    "lever": _board("/v0/postings/{key}", f"mode=json&skip=0&limit={DEFAULT_PAGE_SIZE}"),
    "hackernews": _board("/api/v1/search_by_date", "tags=story,author_{key}&hitsPerPage=1000"),
    "jsonld": _career_site,
}


def holds(recording: ReplayServer, source: SourceConfig) -> bool:
    """Whether ``recording`` answers ``source``'s first request with a recorded response (not a 404), or holds
    a response for its path under another query (a Lever page size set with ``-s LEVER_PAGE_SIZE``)."""
    first_request = FIRST_REQUEST.get(source.kind)
    if first_request is None:
        return False
    path, query = first_request(source)
    if recording.respond(path, quote(query, safe="=&,")).status == 200:
        return True
    relative = path.lstrip("/")
    return bool(relative) and any(found.resolve().is_relative_to(recording.root)
                                  for found in recording.root.glob(glob.escape(relative) + "@*"))


def split_by_recording(root: Path, plan: dict[str, list[SourceConfig]]
                       ) -> tuple[dict[str, list[SourceConfig]], list[str]]:
    """``plan`` narrowed to the sources the recording in ``root`` holds, and the labels (``kind:key``) of those
    left out."""
    recording = ReplayServer(root)  # never started: only its file lookup is used
    held: dict[str, list[SourceConfig]] = {}
    left_out: list[str] = []
    for kind, sources in plan.items():
        held[kind] = [s for s in sources if holds(recording, s)]
        left_out += [s.label for s in sources if s not in held[kind]]
    return held, left_out
