"""Find which frameworks each posting mentions and store them in the ``mentions`` table.

The :class:`Matcher` compiles the whole taxonomy into ONE regular expression that scans a text once: the
case-insensitive aliases as a trie inside a scoped ``(?i:...)`` group, then the case-sensitive exact forms as a
second trie. A trie tries longer forms before their prefixes, so at each position the longest form of a group
wins; the alias group is tried before the exact group, so "Ray Serve" (an alias) beats "Ray" (an exact form).
Matches are whole tokens, with boundaries that also work next to ``+``, ``#`` and ``.`` (``TOKEN_START``,
``TOKEN_END``). Counts are occurrences; the trends count a posting once however often it names a framework.
The pattern is tried only where an Aho-Corasick automaton (ahocorasick-rs, in Rust) finds some form's first word
in the lower-cased text: the same matches as scanning every position, about four times faster.

Gates are checked only on the pattern's matches, never by another scan of the text: a match inside one of its
entry's ``exclude`` phrases is rejected, and a match of a gated form (``FrameworkConfig.gated_forms``) needs one
of the entry's ``near`` terms within ``near_window`` words; a match with an ``avoid`` term within
``avoid_window`` words is rejected whatever its form. :meth:`Matcher.find` counts the matching entries;
:meth:`Matcher.find_with_parents` (what :func:`analyze` stores) also adds each count to the entry's parents.
:func:`explain` lists every match with its context, counted or with the gate that rejected it.

:func:`analyze` re-analyses only what is stale. A posting is up to date when its ``analyzed_hash`` equals
``"<taxonomy version>:<first 51 characters of content_hash>"`` (64 characters, the column's width): a new
posting (``NULL``), a changed title or text (new ``content_hash``) and a changed taxonomy (new version) all
break the equality. The test runs in SQL, so it works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import ahocorasick_rs
from sqlalchemy import Connection, Engine, String, bindparam, delete, func, insert, literal, or_, select, update

from jobtrend.config import FrameworkConfig
from jobtrend.db import session_factory, sync_frameworks
from jobtrend.models import Mention, Posting

# Bump when the matching rules change, so stored mentions are recomputed under the new rules.
MATCHER_VERSION = 3
VERSION_LENGTH = 12
ANALYZED_HASH_LENGTH = 64  # width of postings.analyzed_hash
CONTENT_HASH_PREFIX = ANALYZED_HASH_LENGTH - VERSION_LENGTH - 1

TOKEN_START = r"(?<![\w-])"  # not inside a word, and not after "-" ("X-ray" is not Ray)
# not inside a word; "Node.js" and "C++17" continue the token, "LangChain." ends it
TOKEN_END = r"(?!\w|[.+#]+\w)"
_WHITESPACE = r"\s+"
_END = ""  # trie key marking that a form ends at this node
# The non-ASCII characters that re's IGNORECASE equates with an ASCII letter although str.lower() does not map
# them to it (dotted capital I also changes length when lowered, which the prefilter checks separately).
_FOLD_ODD = ("\u0131", "\u017f")


def normalize_form(form: str) -> str:
    """Collapse internal whitespace to single spaces, as matched text is normalised before lookup."""
    return " ".join(form.split())


def taxonomy_version(frameworks: Iterable[FrameworkConfig]) -> str:
    """12 hex characters of SHA-256 over the canonical JSON of everything that decides matching.

    That is each entry's slug, its normalised aliases (lower-case) and exact forms, its gates (gated forms,
    ``near`` terms and window, ``exclude`` phrases), its parent, and ``MATCHER_VERSION``. Names and categories
    are display data: changing them does not force a re-analysis.
    """
    entries = sorted(
        (
            {
                "slug": f.slug,
                "aliases": sorted({normalize_form(a).lower() for a in f.aliases}),
                "exact": sorted({normalize_form(e) for e in f.exact}),
                "gated": sorted({normalize_form(g) for g in f.gated_forms}),
                "near": sorted({normalize_form(n).lower() for n in f.near}),
                "near_window": f.near_window if f.near else None,
                "exclude": sorted({normalize_form(x).lower() for x in f.exclude}),
                "avoid": sorted({normalize_form(x).lower() for x in f.avoid}),
                "avoid_window": f.avoid_window if f.avoid else None,
                "parent": f.parent,
            }
            for f in frameworks
        ),
        key=lambda entry: entry["slug"],
    )
    canonical = json.dumps({"matcher": MATCHER_VERSION, "frameworks": entries}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:VERSION_LENGTH]


def _tokens(form: str) -> list[str]:
    """Regex pieces of a form: one escaped character each, internal whitespace as one ``\\s+``."""
    tokens: list[str] = []
    for i, word in enumerate(form.split()):
        if i:
            tokens.append(_WHITESPACE)
        tokens.extend(re.escape(ch) for ch in word)
    return tokens


def trie_pattern(forms: Iterable[str]) -> str:
    """An alternation of ``forms`` packed as a trie, trying longer forms before their prefixes."""
    root: dict = {}
    for form in forms:
        node = root
        for token in _tokens(form):
            node = node.setdefault(token, {})
        node[_END] = {}
    return _node_pattern(root)


def _node_pattern(node: dict) -> str:
    branches = [token + _node_pattern(child) for token, child in sorted(node.items()) if token != _END]
    if not branches:
        return ""
    if _END in node:  # a form ends here: the longer continuations are optional, tried first (greedy)
        return "(?:" + "|".join(branches) + ")?"
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


@dataclass(frozen=True)
class Explanation:
    """One candidate match in a text: what it counted for, or which gate rejected it (``reason``)."""

    slug: str
    form: str  # the text as it appears
    start: int
    end: int
    before: str  # about 8 words before the match, whitespace collapsed
    after: str  # and after it
    counted: bool
    reason: str | None = None  # why a gate rejected it
    parents: tuple[str, ...] = ()  # entries it also counts for, nearest first

    @property
    def context(self) -> str:
        return " ".join(part for part in (self.before, " ".join(self.form.split()), self.after) if part)


class _Gate:
    """The ``near`` and ``exclude`` rules of one entry, checked only on that entry's candidate matches."""

    def __init__(self, framework: FrameworkConfig):
        self.gated = {normalize_form(f) for f in framework.gated_forms}
        self.gated_lower = {form.lower() for form in self.gated}
        self.window = framework.near_window
        self.near = _phrase_pattern(framework.near) if framework.near else None
        self.exclude = [(phrase, _phrase_pattern([phrase])) for phrase in framework.exclude]
        self.reach = max((len(p) + 8 for p in framework.exclude), default=0)
        self.avoid = _phrase_pattern(framework.avoid) if framework.avoid else None
        self.avoid_window = framework.avoid_window

    def is_gated(self, key: str, exact: bool) -> bool:
        return key in self.gated if exact else key.lower() in self.gated_lower

    def reason(self, text: str, start: int, end: int, gated: bool) -> str | None:
        """Why the match ``text[start:end]`` does not count, or None when it does."""
        lo, hi = max(0, start - self.reach), end + self.reach
        for phrase, pattern in self.exclude:
            for hit in pattern.finditer(text, lo, hi):
                if hit.start() <= start and end <= hit.end():
                    return f'excluded phrase "{phrase}"'
        if self.avoid is not None:
            before, after = word_window(text, start, end, self.avoid_window)
            hit = self.avoid.search(text, before, start) or self.avoid.search(text, end, after)
            if hit:
                return f'avoided term "{" ".join(hit.group().split())}" within {self.avoid_window} words'
        if gated and self.near is not None:
            before, after = word_window(text, start, end, self.window)
            if not (self.near.search(text, before, start) or self.near.search(text, end, after)):
                return f"no near term within {self.window} words"
        return None


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern:
    """Case-insensitive whole-token alternation of ``phrases``, internal whitespace matching any run."""
    return re.compile(r"(?<!\w)(?i:" + trie_pattern(normalize_form(p).lower() for p in phrases) + r")(?!\w)")


_WORD = re.compile(r"\S+")
_CHARS_PER_WORD = 40  # look-behind budget per word; longer "words" (URLs) just shorten the window


def word_window(text: str, start: int, end: int, words: int) -> tuple[int, int]:
    """Offsets spanning ``words`` whitespace-separated words before ``start`` and after ``end``."""
    lo = max(0, start - words * _CHARS_PER_WORD)
    before = [m.start() for m in _WORD.finditer(text, lo, start)][-words:]
    after = [m.end() for m, _ in zip(_WORD.finditer(text, end, end + words * _CHARS_PER_WORD), range(words),
                                     strict=False)]
    return (before[0] if before else start), (after[-1] if after else end)


class Matcher:
    """Counts taxonomy mentions in a text with one compiled regular expression, then checks gates on its hits."""

    def __init__(self, frameworks: Iterable[FrameworkConfig]):
        self.frameworks = tuple(frameworks)
        self._exact = {normalize_form(e): f.slug for f in self.frameworks for e in f.exact}
        self._alias = {normalize_form(a).lower(): f.slug for f in self.frameworks for a in f.aliases}
        self._gates = {f.slug: _Gate(f) for f in self.frameworks if f.gated_forms or f.exclude or f.avoid}
        self._parents = ancestors(self.frameworks)
        self._by_name = {}  # normalised name or form -> slug, to recognise the employer's own entry
        for f in self.frameworks:
            for name in (f.name, *f.aliases, *f.exact):
                self._by_name.setdefault(squashed_name(name), f.slug)
        self.pattern = re.compile(self._pattern_source())
        self._starts = self._start_automaton()

    def _start_automaton(self):
        """An Aho-Corasick automaton of every form's first word, lower-cased (None for a non-ASCII taxonomy).

        Python's ``re`` has no multi-literal search: scanning with :attr:`pattern` tries the whole trie at every
        word start (~15 MB/s). The automaton finds, in C, every place where some form's first word occurs in the
        lower-cased text, a superset of where :attr:`pattern` can match; the pattern is then tried only there.
        """
        forms = [*self._alias, *self._exact]
        if not forms or not all(form.isascii() for form in forms):
            return None
        return ahocorasick_rs.AhoCorasick(sorted({form.split()[0].lower() for form in forms}))

    def _matches(self, text: str) -> Iterator[re.Match]:
        """Exactly ``self.pattern.finditer(text)``, tried only where the automaton finds a first word."""
        lower = text.lower()
        if (self._starts is None or len(lower) != len(text)
                or (not text.isascii() and any(odd in text for odd in _FOLD_ODD))):
            yield from self.pattern.finditer(text)  # lower() is not char-for-char what IGNORECASE compares
            return
        match = self.pattern.match  # its look-behind sees the text before ``pos``
        resume = 0
        for start in sorted({start for _, start, _ in self._starts.find_matches_as_indexes(lower, overlapping=True)}):
            if start >= resume:
                found = match(text, start)
                if found:
                    resume = found.end()
                    yield found

    def _pattern_source(self) -> str:
        groups = []
        if self._alias:
            groups.append("(?i:" + trie_pattern(self._alias) + ")")
        if self._exact:
            groups.append(trie_pattern(self._exact))
        if not groups:
            return r"(?!)"  # an empty taxonomy matches nothing
        return TOKEN_START + self._first_char_check() + "(?:" + "|".join(groups) + ")" + TOKEN_END

    def _first_char_check(self) -> str:
        """A lookahead rejecting, with one set test, positions where no form can start (~20 % faster)."""
        firsts = {form[0] for form in self._exact}
        firsts |= {ch for form in self._alias for ch in (form[0].lower(), form[0].upper())}
        return "(?=[" + "".join(re.escape(ch) for ch in sorted(firsts)) + "])"

    def slug_of(self, matched: str) -> str | None:
        """The slug a matched text stands for: exact forms first, then aliases."""
        key = normalize_form(matched)
        return self._exact.get(key) or self._alias.get(key.lower())

    def _candidates(self, text: str, *, gates: bool = True) -> Iterator[tuple[re.Match, str, str | None]]:
        """Every match of the one pattern, as (match, slug, reason it is rejected or None)."""
        for match in self._matches(text):
            key = normalize_form(match.group())
            exact = key in self._exact
            slug = self._exact.get(key) if exact else self._alias.get(key.lower())
            if slug is None:
                continue
            gate = self._gates.get(slug) if gates else None
            reason = gate.reason(text, match.start(), match.end(), gate.is_gated(key, exact)) if gate else None
            yield match, slug, reason

    def find(self, text: str) -> dict[str, int]:
        """Occurrences of each framework in ``text`` that pass the gates, by slug (no roll-up to parents)."""
        counts: Counter[str] = Counter(slug for _, slug, reason in self._candidates(text) if reason is None)
        return dict(counts)

    def roll_up(self, counts: dict[str, int]) -> dict[str, int]:
        """``counts`` with each entry's count also added to its parent, grandparent, ..."""
        total: Counter[str] = Counter(counts)
        for slug, count in counts.items():
            for parent in self._parents.get(slug, ()):
                total[parent] += count
        return dict(total)

    def find_with_parents(self, text: str, company: str | None = None) -> dict[str, int]:
        """:meth:`find`, rolled up to parents, without the employer's own entry: what :func:`analyze` stores.

        A posting naming its own employer (Cohere's boilerplate saying "Cohere is ...") is not a mention of a
        tool the role uses, so the entry that *is* ``company`` is dropped (after the roll-up, so a child such as
        Claude Code in an Anthropic posting still counts for itself but does not bring Anthropic back).
        """
        found = self.roll_up(self.find(text))
        own = self.own_entry(company)
        return {slug: n for slug, n in found.items() if slug != own}

    def own_entry(self, company: str | None) -> str | None:
        """The slug of the entry that is the employer ``company`` itself ("Cohere", "Databricks, Inc."), if any."""
        return self._by_name.get(squashed_name(company)) if company else None

    def explain(self, text: str, context_words: int = 8) -> list[Explanation]:
        """Every candidate match with its surrounding words: what it counted for, or why a gate rejected it."""
        result = []
        for match, slug, reason in self._candidates(text):
            lo, hi = word_window(text, match.start(), match.end(), context_words)
            before, after = " ".join(text[lo:match.start()].split()), " ".join(text[match.end():hi].split())
            result.append(Explanation(slug, match.group(), match.start(), match.end(), before, after,
                                      reason is None, reason, self._parents.get(slug, ())))
        return result

    def unreachable_forms(self) -> list[tuple[str, str]]:
        """(slug, form) pairs that, standing alone, do not match as exactly their own entry (gates aside).

        A form is shadowed when a form of the other group matches a shorter prefix of it first (an alias
        "jax" would hide an exact "JAX-RS"); the taxonomy tests require this list to be empty.
        """
        forms = [(f.slug, form) for f in self.frameworks for form in (*f.aliases, *f.exact)]
        return [(slug, form) for slug, form in forms
                if [(m.group(), s) for m, s, _ in self._candidates(form, gates=False)] != [(form, slug)]]


def ancestors(frameworks: Iterable[FrameworkConfig]) -> dict[str, tuple[str, ...]]:
    """Each entry's chain of parents, nearest first (unknown parents and cycles end the chain)."""
    parent_of = {f.slug: f.parent for f in frameworks}
    chains = {}
    for slug in parent_of:
        chain: list[str] = []
        parent = parent_of[slug]
        while parent in parent_of and parent != slug and parent not in chain:
            chain.append(parent)
            parent = parent_of[parent]
        if chain:
            chains[slug] = tuple(chain)
    return chains


LEGAL_SUFFIXES = re.compile(r"\b(inc|llc|ltd|gmbh|corp|corporation|co|sa|sas|bv|plc|limited)\b\.?", re.I)


def squashed_name(name: str | None) -> str:
    """A company or entry name squashed for comparison: lower case, no legal suffix, letters and digits only
    ("Hugging Face, Inc." is "huggingface"). Not :func:`analysis.duplicates.company_block_key`, which keeps words
    and drops more ("the", a domain suffix, a trailing "AI") to group one company's postings."""
    if not name:
        return ""
    return re.sub(r"[^a-z0-9]+", "", LEGAL_SUFFIXES.sub("", name.lower()))


def explain(text: str, frameworks: Iterable[FrameworkConfig]) -> list[Explanation]:
    """Each candidate match of ``frameworks`` in ``text``, counted or rejected, with its context."""
    return Matcher(frameworks).explain(text)


class PostingNotFound(LookupError):
    """No posting has the requested id."""


def explain_posting(engine: Engine, posting_id: int, frameworks: Sequence[FrameworkConfig]):
    """(posting row with id, title, company; :func:`explain` of its text) for the posting ``posting_id``."""
    query = select(Posting.id, Posting.title, Posting.company, Posting.description_text).where(Posting.id == posting_id)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise PostingNotFound(f"no posting with id {posting_id}")
    matcher = Matcher(frameworks)
    own = matcher.own_entry(row.company)
    found = matcher.explain(posting_text(row.title, row.description_text))
    return row, [dataclasses.replace(e, counted=False, reason=f"the employer's own name ({row.company})")
                 if e.counted and e.slug == own else e for e in found]


@dataclass(frozen=True)
class AnalyzeResult:
    """What one :func:`analyze` run did."""

    analyzed: int  # postings (re-)analysed
    with_mentions: int  # of those, how many mention at least one framework
    mentions: int  # mention rows written
    taxonomy_version: str


def analyzed_hash(version: str, content_hash: str) -> str:
    """The ``analyzed_hash`` of a posting analysed under ``version`` with this ``content_hash``."""
    return f"{version}:{content_hash[:CONTENT_HASH_PREFIX]}"


def _stale_postings(version: str, after_id: int, limit: int | None):
    """The next ``limit`` postings after ``after_id`` whose mentions are missing or out of date."""
    expected = literal(version + ":", String) + func.substr(Posting.content_hash, 1, CONTENT_HASH_PREFIX)
    stale = or_(Posting.analyzed_hash.is_(None), Posting.analyzed_hash != expected)
    columns = (Posting.id, Posting.title, Posting.company, Posting.description_text, Posting.content_hash)
    return select(*columns).where(stale, Posting.id > after_id).order_by(Posting.id).limit(limit)


def stale_count(engine: Engine, version: str) -> int:
    """How many postings :func:`analyze` would (re-)analyse under taxonomy ``version``."""
    with engine.connect() as conn:
        stale = _stale_postings(version, 0, None).order_by(None).subquery()
        return conn.scalar(select(func.count()).select_from(stale))


def posting_text(title: str | None, description: str | None) -> str:
    """The text the matcher reads: title, newline, description."""
    return (title or "") + "\n" + (description or "")


def analyze(engine: Engine, frameworks: Sequence[FrameworkConfig], *, batch_size: int = 1000,
            progress: Callable[[int, int], None] | None = None) -> AnalyzeResult:
    """Sync the ``frameworks`` table, then (re-)analyse every stale posting, one transaction per batch;
    ``progress(done, total)`` is called before the first batch and after each one."""
    version = taxonomy_version(frameworks)
    matcher = Matcher(frameworks)
    with session_factory(engine).begin() as session:
        framework_ids = sync_frameworks(session, frameworks)
    analyzed = with_mentions = mentions = 0
    last_id = 0
    total = 0
    if progress is not None:
        total = stale_count(engine, version)
        progress(0, total)
    while True:
        with engine.begin() as conn:
            batch = conn.execute(_stale_postings(version, last_id, batch_size)).all()
            if not batch:
                break
            found = _write_batch(conn, batch, matcher, framework_ids, version)
        last_id = batch[-1].id
        analyzed += len(batch)
        with_mentions += sum(1 for slugs in found if slugs)
        mentions += sum(len(slugs) for slugs in found)
        if progress is not None:
            progress(analyzed, max(total, analyzed))
    return AnalyzeResult(analyzed, with_mentions, mentions, version)


def _write_batch(conn: Connection, batch: Sequence, matcher: Matcher, framework_ids: dict[str, int],
                 version: str) -> list[dict[str, int]]:
    """Replace the batch's mentions and mark its postings analysed; return what was found per posting."""
    found = [matcher.find_with_parents(posting_text(row.title, row.description_text), row.company) for row in batch]
    rows = [
        {"posting_id": row.id, "framework_id": framework_ids[slug], "count": count, "taxonomy_version": version}
        for row, counts in zip(batch, found, strict=True)
        for slug, count in counts.items()
    ]
    conn.execute(delete(Mention).where(Mention.posting_id.in_([row.id for row in batch])))
    if rows:
        conn.execute(insert(Mention), rows)
    mark_analyzed = (
        update(Posting.__table__)
        .where(Posting.__table__.c.id == bindparam("posting_id"))
        .values(analyzed_hash=bindparam("new_hash"), analyzed_at=dt.datetime.now(dt.UTC))
    )
    conn.execute(mark_analyzed, [{"posting_id": row.id, "new_hash": analyzed_hash(version, row.content_hash)}
                                 for row in batch])
    return found
