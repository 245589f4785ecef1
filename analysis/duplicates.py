"""Cross-source duplicates: link every copy of a job to one canonical posting through ``duplicate_of_id``.

Two postings are the same job when one of these holds (``docs/duplicates.md`` has the evidence and figures):

- **link**: a Hacker News comment links to the other posting: the posting's external id appears as a whole
  path segment or query value of a URL in the comment's text (HN shortens long link text with ``...``, so a
  cut-off last segment of at least ``MIN_PREFIX`` characters matching the start of the id also counts);
- **board text**: two board postings (any source but HN) of the same company (:func:`company_block_key`) with the
  same role (:func:`title_key`: case, punctuation, abbreviations, plurals and location qualifiers such as
  "(US/CAN)" or "- Shanghai" ignored; seniority, team and shift kept) whose descriptions share at least
  ``Thresholds.board`` of their word 3-shingles (Jaccard);
- **HN text**: two HN comments of the same company whose texts share at least ``Thresholds.hn`` of their
  shingles (HN titles are free text, so only the text decides).

Postings without a description are matched by links only: on the recorded boards, same company, title and
location without text is a different requisition more often than not. The canonical posting of a group is the
first in :func:`canonical_order`: one with text, then a company board over HN, then the earliest ``posted_at``,
then a board API's posting over a career page's, then the smaller external id. Postings are assigned in that
order, each joining the group of its best match among those already assigned, so ``duplicate_of_id`` always names
a canonical posting (no chains) and a comment linking two board postings cannot merge them. :func:`dedupe`
recomputes everything from the stored postings (only blocks of two or more postings need their text) and writes
only the rows that change, in one transaction: a second run changes nothing, and an earlier copy crawled later
becomes the canonical of all.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from jobtrend.models import Posting, Source
from jobtrend.weeks import utcnow


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


AGGREGATORS = frozenset({"hackernews"})  # sources whose postings are comments about jobs, not job pages
SHINGLE_WORDS = 3
MIN_ID_LENGTH = 6  # shorter external ids are not looked for in links
MIN_PREFIX = 12  # a link cut off with "..." must keep this much of the id
LINK_SCORE = 2.0  # a link beats any text similarity
NO_LINKS: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
TEXT_CHUNK = 500  # ids per query when loading descriptions

LEGAL_SUFFIXES = _words("inc incorporated llc ltd limited gmbh corp corporation co company plc sa sas ag bv nv se "
                        "oy ab pty srl spa kk")
DOMAIN_SUFFIX = re.compile(r"\.(?:ai|io|com|co|dev|app|xyz|tech|health|so|org|net)\b")
HN_HEADER_SPLIT = re.compile(r"\s+[|\-·–—]\s+|\||\s+is\s+hiring\b", re.I)
TITLE_SEGMENTS = re.compile(r"\s+[-–—|:/]\s+|[()\[\],|:/]")
WORDS = re.compile(r"[a-z0-9]+")
URL = re.compile(r"https?://\S+")
ABBREVIATIONS = {"sr": "senior", "snr": "senior", "jr": "junior", "mgr": "manager", "eng": "engineer",
                 "engr": "engineer", "ml": "machine learning", "swe": "software engineer",
                 "sde": "software development engineer", "fullstack": "full stack", "frontend": "front end",
                 "backend": "back end", "devops": "dev ops"}
TITLE_STOPWORDS = _words("and of the for a an in at to with")
# Words that only say where a job is (or who may apply): a title segment made of these alone is dropped.
REGION_WORDS = _words(
    "remote hybrid onsite on site office in based only anywhere worldwide global international us usa u s united "
    "states uk kingdom eu europe european emea apac latam amer americas america north south east west central "
    "middle na can canada asia pacific africa australia anz dach nordics hq headquarters city region time zone "
    "timezone est cst mst pst et ct mt pt gmt utc cet "
    "al ak az ar ca co ct de fl ga hi id il ia ks ky la me md ma mi mn ms mo nv nh nj nm ny nc nd oh ok or pa ri "
    "sc sd tn tx ut vt va wa wv wi wy dc "
    "m f d w x all gender genders "
    # countries and cities that qualify job titles ("Country Manager - France", "(NYC)")
    "argentina austria belgium brazil bulgaria chile china colombia czechia denmark egypt estonia finland france "
    "germany greece hungary india indonesia ireland israel italy japan kenya korea ksa latvia lithuania malaysia "
    "mexico netherlands nigeria norway pakistan peru philippines poland portugal romania saudi arabia singapore "
    "spain sweden switzerland taiwan thailand turkey uae ukraine vietnam zealand new york nyc sf bay area london "
    "paris berlin munich amsterdam dublin madrid barcelona lisbon milan zurich stockholm warsaw tokyo seoul sydney "
    "melbourne toronto vancouver montreal bengaluru bangalore hyderabad mumbai delhi dubai riyadh shanghai beijing "
    "hong kong san francisco seattle austin boston chicago denver atlanta miami los angeles")

# Of those, the ones also dropped from the end of a segment ("Account Executive US", "Eating Disorder PST").
TRAILING_PLACE_WORDS = _words("remote hybrid onsite us usa uk eu emea apac latam amer na est cst mst pst et ct mt pt "
                              "region")


@dataclass(frozen=True)
class Thresholds:
    """Minimum Jaccard similarity of word 3-shingles for a text match (measured: docs/duplicates.md)."""

    board: float = 0.65
    hn: float = 0.5


DEFAULT_THRESHOLDS = Thresholds()


def fold(text: str) -> str:
    """Lower-case ASCII: accents removed, other non-ASCII characters dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def company_block_key(name: str | None) -> str:
    """The company's blocking key: "Sully.ai", "Sully AI" and "Sully, Inc." are all "sully". Looser than
    :func:`analysis.mentions.squashed_name` (which only compares a name with taxonomy entries)."""
    text = fold(name or "")
    text = re.sub(r"\(.*?\)|https?://\S+", " ", text)  # "(YC W23)", "(formerly X)", links
    text = DOMAIN_SUFFIX.sub(" ", text).replace("&", " and ")
    words = WORDS.findall(text)
    if len(words) > 1 and words[0] == "the":
        words.pop(0)
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    if len(words) > 1 and words[-1] == "ai":
        words.pop()
    return " ".join(words)


def hn_company(text: str) -> str:
    """The company an HN comment names: the first field of its first line ("Acme | Role | Place")."""
    first_line = text.strip().split("\n", 1)[0]
    first_line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", first_line)  # markdown link: keep its text
    return HN_HEADER_SPLIT.split(first_line, maxsplit=1)[0].strip()


def title_key(title: str | None, location: str | None = None) -> str:
    """The role a title names, for comparing titles of one company.

    Segments that only say where ("(US/CAN)", "- Shanghai", words of the posting's own location) are dropped;
    abbreviations are expanded ("Sr." is "senior"), plurals and small words ignored. Seniority, team, level
    ("II") and shift stay: a Senior and a Staff engineer are different jobs.
    """
    own_place = set(WORDS.findall(fold(location or "")))
    segments = [WORDS.findall(segment) for segment in TITLE_SEGMENTS.split(fold(title or ""))]
    segments = [words for words in segments if words]
    kept = [words for words in segments if not set(words) <= REGION_WORDS | own_place] or segments[:1]
    kept = [_strip_trailing(words, TRAILING_PLACE_WORDS | own_place) for words in kept]
    words = [ABBREVIATIONS.get(word, word) for segment in kept for word in segment]
    words = [_singular(word) for phrase in words for word in phrase.split() if word not in TITLE_STOPWORDS]
    return " ".join(words)


def _strip_trailing(words: list[str], place_words: set[str]) -> list[str]:
    """Drop the words at the end of a segment that name a place or a way of working ("Disorder PST")."""
    end = len(words)
    while end > 1 and words[end - 1] in place_words:
        end -= 1
    return words[:end]


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[str]:
    """The set of ``size``-word sequences of the lower-cased text (the whole text when it is shorter)."""
    words = re.findall(r"\w+", text.lower())
    if len(words) <= size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i:i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|A ∩ B| / |A ∪ B|; 0 when both are empty."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def link_references(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """Ids a text links to: (whole path segments and query values, cut-off prefixes of ids)."""
    whole: set[str] = set()
    prefixes: set[str] = set()
    for raw in URL.findall(text):
        url = raw.rstrip(".,;:!?)]}>'\"")
        cut = raw.rstrip(")]}>'\"").endswith(("...", "…"))
        try:
            parts = urlsplit(url)
        except ValueError:  # "http://[oops": not a URL after all
            continue
        path = [p for p in parts.path.split("/") if p]
        query = [v or k for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        if cut:  # the last piece is cut short: the last query value when there is a query, else the path's
            pieces = query if parts.query or parts.fragment else path
            last = pieces.pop() if pieces else ""
            if len(last) >= MIN_PREFIX:
                prefixes.add(last)
        whole.update(p for p in path + query if len(p) >= MIN_ID_LENGTH)
    return frozenset(whole), frozenset(prefixes)


@dataclass(eq=False)
class JobRecord:
    """What duplicate detection reads of one posting; the derived keys are computed on first use."""

    id: int | str
    source_id: int | str
    kind: str
    external_id: str
    company: str | None
    title: str
    location: str | None
    posted_at: dt.datetime
    text: str = ""
    has_text: bool = False
    _cache: dict = field(default_factory=dict, repr=False)  # (functools.cached_property locks: too slow here)

    def __post_init__(self) -> None:
        self.has_text = self.has_text or bool(self.text.strip())

    def set_text(self, text: str) -> None:
        """Give the record its description (read late) and forget the keys derived without it."""
        self.text = text
        self._cache.clear()

    @property
    def aggregated(self) -> bool:
        return self.kind in AGGREGATORS

    @property
    def company_block_key(self) -> str:
        if "company" not in self._cache:
            name = self.company or (hn_company(self.text) if self.aggregated else "")
            self._cache["company"] = company_block_key(name)
        return self._cache["company"]

    @property
    def title_key(self) -> str:
        if "title" not in self._cache:
            self._cache["title"] = title_key(self.title, self.location)
        return self._cache["title"]

    @property
    def shingles(self) -> frozenset[str]:
        if "shingles" not in self._cache:
            self._cache["shingles"] = shingles(self.text)
        return self._cache["shingles"]

    @property
    def links(self) -> tuple[frozenset[str], frozenset[str]]:
        if not self.aggregated:
            return NO_LINKS
        if "links" not in self._cache:
            self._cache["links"] = link_references(self.text)
        return self._cache["links"]

    def links_to(self, other: JobRecord) -> bool:
        """Whether this posting's text links to ``other`` (a posting of another source)."""
        if other.source_id == self.source_id or len(other.external_id) < MIN_ID_LENGTH:
            return False
        whole, prefixes = self.links
        return other.external_id in whole or any(other.external_id.startswith(p) for p in prefixes)

    def block(self) -> tuple[str, ...] | None:
        """Postings can match on text only within one block; None when this one cannot match on text."""
        if not self.has_text or not self.company_block_key:
            return None
        if self.aggregated:
            return ("hn", self.company_block_key)
        return ("board", self.company_block_key, self.title_key)


# On a tie in posted_at (a career page's JSON-LD often copies the board API's timestamp to the millisecond),
# the board API's posting wins over the career page's, then the smaller external id: never the row id, which
# follows the order the concurrent spiders happened to store their postings in.
KIND_RANK = {"jsonld": 1}  # any other kind (the board APIs) ranks 0; HN comments already sort after boards


def canonical_order(record: JobRecord) -> tuple:
    """Sort key: the first posting of a group in this order is its canonical posting. Every term but the last
    is a property of the posting itself, so two crawls of the same boards pick the same canonical postings."""
    return (not record.has_text, record.aggregated, record.posted_at, KIND_RANK.get(record.kind, 0),
            record.external_id, record.id)


def match(a: JobRecord, b: JobRecord, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> tuple[float, str] | None:
    """(score, reason) when ``a`` and ``b`` are the same job, else None. Reasons: ``link``, ``text``."""
    if a.links_to(b) or b.links_to(a):
        return (LINK_SCORE, "link")
    if a.block() is None or a.block() != b.block():
        return None
    similarity = jaccard(a.shingles, b.shingles)
    threshold = thresholds.hn if a.aggregated else thresholds.board
    return (similarity, "text") if similarity >= threshold else None


def assign_canonicals(records: Iterable[JobRecord],
                      thresholds: Thresholds = DEFAULT_THRESHOLDS) -> dict[int | str, int | str | None]:
    """The canonical posting's id of every record (None for a canonical posting itself)."""
    ordered = sorted(records, key=canonical_order)
    linked = _link_neighbours(ordered)
    canonical: dict[int | str, int | str] = {}
    position: dict[int | str, int] = {}
    blocks: dict[tuple, list[JobRecord]] = defaultdict(list)
    for index, record in enumerate(ordered):
        candidates = [q for q in linked.get(record.id, ()) if q.id in canonical]
        key = record.block()
        if key is not None:
            candidates += blocks[key]
            blocks[key].append(record)
        best = _best(record, candidates, position, thresholds)
        canonical[record.id] = canonical[best.id] if best is not None else record.id
        position[record.id] = index
    return {rid: (None if cid == rid else cid) for rid, cid in canonical.items()}


def _best(record: JobRecord, candidates: Sequence[JobRecord], position: dict,
          thresholds: Thresholds) -> JobRecord | None:
    """The candidate ``record`` matches most strongly; the earliest one on a tie."""
    scored = []
    for candidate in candidates:
        found = match(record, candidate, thresholds)
        if found is not None:
            scored.append((-found[0], position[candidate.id], candidate))
    return min(scored, key=lambda item: item[:2])[2] if scored else None


def _link_neighbours(records: Sequence[JobRecord]) -> dict[int | str, list[JobRecord]]:
    """For every record, the records it links to or is linked from (aggregated comments only link)."""
    by_external: dict[str, list[JobRecord]] = defaultdict(list)
    for record in records:
        if not record.aggregated and len(record.external_id) >= MIN_ID_LENGTH:
            by_external[record.external_id].append(record)
    ordered_ids = sorted(by_external)
    neighbours: dict[int | str, list[JobRecord]] = defaultdict(list)
    for record in records:
        whole, prefixes = record.links
        targets = [t for ext in whole for t in by_external.get(ext, ())]
        targets += [t for prefix in prefixes for ext in _starting_with(ordered_ids, prefix) for t in by_external[ext]]
        for target in targets:
            if target.source_id != record.source_id:
                neighbours[record.id].append(target)
                neighbours[target.id].append(record)
    return neighbours


def _starting_with(ordered: list[str], prefix: str) -> list[str]:
    """The values of the sorted list ``ordered`` that start with ``prefix``."""
    start = bisect_left(ordered, prefix)
    found = []
    for value in ordered[start:]:
        if not value.startswith(prefix):
            break
        found.append(value)
    return found


# --- the pipeline stage ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DedupeResult:
    """What one :func:`dedupe` run found and changed."""

    postings: int  # postings read
    texts_read: int  # descriptions read: every HN comment's, and those of board postings sharing a block
    duplicates: int  # postings that are duplicates after the run
    groups: int  # canonical postings with at least one duplicate
    changed: int  # rows whose duplicate_of_id this run changed
    seconds: float


def dedupe(engine: Engine, thresholds: Thresholds = DEFAULT_THRESHOLDS, *, batch_size: int = 1000) -> DedupeResult:
    """Recompute every posting's canonical posting and write the changes in one transaction."""
    started = time.perf_counter()
    with engine.connect() as conn:
        records, current = _load_records(conn)
    wanted = assign_canonicals(records, thresholds)
    changes = [{"posting_id": pid, "canonical": cid} for pid, cid in sorted(wanted.items(), key=lambda i: i[0])
               if current[pid] != cid]
    if changes:
        with engine.begin() as conn:  # all at once: a half-written run could leave a chain behind
            # the time marks the changed postings' weeks for the next incremental trend recompute
            statement = (update(Posting.__table__).where(Posting.__table__.c.id == bindparam("posting_id"))
                         .values(duplicate_of_id=bindparam("canonical"), duplicate_changed_at=utcnow()))
            for start in range(0, len(changes), batch_size):
                conn.execute(statement, changes[start:start + batch_size])
    duplicates = [cid for cid in wanted.values() if cid is not None]
    texts_read = sum(1 for r in records if r.text)
    return DedupeResult(len(records), texts_read, len(duplicates), len(set(duplicates)), len(changes),
                        time.perf_counter() - started)


def _load_records(conn: Connection) -> tuple[list[JobRecord], dict[int, int | None]]:
    """Every posting without its text, then the text of those that may have a match."""
    has_text = (func.trim(Posting.description_text) != "").label("has_text")
    query = (select(Posting.id, Posting.source_id, Source.kind, Posting.external_id, Posting.company,
                    Posting.title, Posting.location, Posting.posted_at, Posting.duplicate_of_id, has_text)
             .join(Source, Source.id == Posting.source_id))
    records, current = [], {}
    for row in conn.execute(query):
        records.append(JobRecord(row.id, row.source_id, row.kind, row.external_id, row.company, row.title,
                                 row.location, row.posted_at, has_text=bool(row.has_text)))
        current[row.id] = row.duplicate_of_id
    _load_texts(conn, [r for r in records if r.has_text and r.aggregated])  # company, links and text
    sizes: dict[tuple, int] = defaultdict(int)
    for record in records:
        if record.has_text and not record.aggregated and record.block() is not None:
            sizes[record.block()] += 1
    _load_texts(conn, [r for r in records if not r.aggregated and r.has_text and sizes.get(r.block(), 0) > 1])
    return records, current


def _load_texts(conn: Connection, records: Sequence[JobRecord]) -> None:
    by_id = {r.id: r for r in records}
    ids = sorted(by_id)
    for start in range(0, len(ids), TEXT_CHUNK):
        chunk = ids[start:start + TEXT_CHUNK]
        for pid, text in conn.execute(select(Posting.id, Posting.description_text).where(Posting.id.in_(chunk))):
            by_id[pid].set_text(text or "")  # an HN posting's company may come from its text
