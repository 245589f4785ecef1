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
of the entry's ``near`` terms within ``near_window`` words (with ``near_technology``, another technology's name
there also counts: a form of another entry that needs no context, or one of :data:`TECHNOLOGY_WORDS`); a match
with an ``avoid`` term within ``avoid_window`` words is rejected whatever its form, and so is a match of an
``organisation`` entry led into by one of :data:`ORGANISATION_CONTEXT` (a customer, partner, investor or former
employer: "Companies like OpenAI, Uber", :func:`organisation_context`). Given the employer's company name, a
match whose text *is* that name and reads as the company ("At LangChain, we", "join Anyscale", "Cohere's
mission", :func:`reads_as_company`) is rejected too, and so is a name heading a Hacker News post ("LiteLLM (YC
W23)"); the same name used as the product ("LangChain-powered agents") counts. :meth:`Matcher.find` counts the
matching entries;
:meth:`Matcher.find_with_parents` (what :func:`analyze` stores) also adds each count to the entry's parents.
:func:`explain` lists every match with its context, counted or with the gate that rejected it.

:func:`analyze` re-analyses only what is stale. A posting is up to date when its ``analyzed_hash`` equals
``"<taxonomy version>:<first 51 characters of content_hash>"`` (64 characters, the column's width): a new
posting (``NULL``), a changed title or text (new ``content_hash``) and a changed taxonomy (new version) all
break the equality. The test runs in SQL, so it works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

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
MATCHER_VERSION = 4
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

# Technology names outside the taxonomy that, like any context-free form of another entry, make a gated form
# with ``near_technology`` a technology too: Hacker News writes stacks as lists ("Stack: Python, Go, Postgres",
# "Rust/C++", "Qt, CMake, git, Jenkins"). Case-insensitive whole words; no English words ("rest", "spring", "boost").
TECHNOLOGY_WORDS = (
    "c++", "c#", ".net", "objective-c", "kotlin", "ruby", "rails", "php", "perl", "elixir", "erlang", "haskell",
    "clojure", "ocaml", "f#", "zig", "lua", "dart", "flutter", "node.js", "nodejs", "deno", "django", "flask",
    "fastapi", "graphql", "grpc", "postgres", "postgresql", "mysql", "sqlite", "redis", "mongodb", "cassandra",
    "dynamodb", "clickhouse", "duckdb", "sql", "nosql", "linux", "bash", "git", "nginx", "html", "css", "vue",
    "angular", "svelte", "next.js", "nextjs", "ios", "android", "webassembly", "wasm", "llvm", "cmake", "qt",
    "opengl", "selenium", "rspec", "jquery", "ansible", "pulumi", "bazel", "gradle", "maven", "microservices",
    "s3", "ec2", "eks", "gke", "cloudflare", "heroku", "kubectl", "nix",
)
# Entries of this category name a field of work, not a technology: they are no context for near_technology.
FIELD_CATEGORY = "field"
# Said near a name that is also a company (an entry with ``organisation = true``), these make it the company:
# an investor, backer, customer, partner, or the former employer of the team, not a technology the job uses.
ORGANISATION_CONTEXT = (
    "investors", "investor", "investment from", "backed by", "backers", "funded by", "trusted by", "ventures",
    "venture", "fund", "capital", "angels", "experts from", "alumni", "formerly", "formerly at", "previously at",
    "worked at", "founders from", "founders of", "founded by", "cofounder", "co-founder", "team from",
    "leaders from", "engineers from", "researchers from", "companies like", "companies such as",
    "companies including", "organizations like", "organisations like", "customers like", "customers include",
    "customers such as", "clients like", "clients include", "clients such as", "partnerships with",
    "partnership with", "partners include", "partners like", "partners such as", "technology partners",
    "target partners", "strategic partners", "design partners", "logos", "angel", "veterans from", "officer of",
    "ceo of", "cto of", "founder of", "creator of", "backing from", "leaders at",
)
# Of those, the words that are common on their own ("Donor-Advised Fund", "venture into"): they count only within
# the entry's ``avoid_window`` words, not anywhere earlier in the sentence.
NEAR_ONLY_CONTEXT = frozenset({"fund", "capital", "venture", "ventures", "angel", "angels", "formerly"})
# Of those, the ones that also follow the names they are about ("Benchmark, Anthropic and other investors").
TRAILING_CONTEXT = frozenset({"investors", "investor", "backers", "angels", "alumni"})
# The employer's own name reads as the company, not its product, after these words ("At LangChain, we",
# "join Anyscale", "the success of Cohere") and before these ("Cohere is", "LangChain's mission", "Cursor team").
COMPANY_BEFORE = frozenset({"at", "join", "joining", "joined", "about", "of", "for", "to", "welcome", "inside",
                            "within", "across", "why", "behind", "positions", "differentiate", "evangelize"})
COMPANY_AFTER = frozenset({"is", "was", "are", "has", "have", "had", "we", "inc", "team", "teams", "employees",
                           "offers", "provides", "helps", "builds", "believes", "values", "culture", "benefits",
                           "careers", "hiring", "raised", "founded", "headquarters", "hq", "mission", "solutions",
                           "products", "offerings", "customers", "roadmap", "leadership", "project", "does", "will",
                           "may", "can", "reserves", "requires", "seeks", "operates", "needs", "be", "researchers",
                           "research", "intern", "interns"})
_SENTENCE_BREAK = re.compile(r"[.!?]\s|\n")
LIST_REACH = 30  # words before a name searched back to the sentence start for an organisation context


def organisation_context(text: str, start: int, end: int, window: int,
                         hits: Sequence[re.Match] | None = None) -> str | None:
    """The :data:`ORGANISATION_CONTEXT` phrase that makes the name ``text[start:end]`` a company, or None.

    A phrase counts within ``window`` words before the name; further back in its sentence (at most
    :data:`LIST_REACH` words) only when what lies between is a list the name ends ("design partners who are
    global leaders in AI, e-commerce, and financial services: Anthropic, Coupang, ..."), not a new clause
    ("Backed by Techstars, we power startups ... with built-in support for AWS"). After the name, only
    :data:`TRAILING_CONTEXT` counts, within ``window`` words in its sentence ("Benchmark, Anthropic, and other
    investors"). A word of :data:`NEAR_ONLY_CONTEXT` counts only within ``window`` words before.

    ``hits`` are the pattern's matches in the whole ``text`` (:func:`organisation_phrases`), found once per text
    by a caller checking many names."""
    if hits is None:
        hits = organisation_phrases(text)
    reach_lo, reach_hi = start - LIST_REACH * _CHARS_PER_WORD, end + window * _CHARS_PER_WORD
    hits = [hit for hit in hits if reach_lo <= hit.start() and hit.end() <= reach_hi]
    if not hits:
        return None  # the common case, decided without counting words
    lo, _ = word_window(text, start, end, LIST_REACH)
    breaks = [m.end() for m in _SENTENCE_BREAK.finditer(text, lo, start)]
    lo = breaks[-1] if breaks else lo
    near_lo, hi = word_window(text, start, end, window)
    for hit in (hit for hit in hits if lo <= hit.start() and hit.end() <= start):
        phrase = " ".join(hit.group().split())
        if near_lo <= hit.start() or (phrase.lower() not in NEAR_ONLY_CONTEXT
                                      and _is_list_lead(text[hit.end():start])):
            return phrase
    stop = _SENTENCE_BREAK.search(text, end, hi)
    stop_at = stop.start() if stop else hi
    for hit in (hit for hit in hits if end <= hit.start() and hit.end() <= stop_at):
        phrase = " ".join(hit.group().split())
        if phrase.lower() in TRAILING_CONTEXT:
            return phrase
    return None


_ORGANISATION_STARTS = ahocorasick_rs.AhoCorasick(sorted({p.split()[0] for p in ORGANISATION_CONTEXT}))


def organisation_phrases(text: str) -> list[re.Match]:
    """Every :data:`ORGANISATION_CONTEXT` phrase in ``text``, the pattern tried only where an Aho-Corasick
    automaton finds a phrase's first word (a whole-text scan with the pattern costs ~3 ms per posting)."""
    lower = text.lower()
    if len(lower) != len(text):
        return list(_ORGANISATION_PATTERN.finditer(text))
    hits = []
    found = _ORGANISATION_STARTS.find_matches_as_indexes(lower, overlapping=True)
    for start in sorted({start for _, start, _ in found}):
        hit = _ORGANISATION_PATTERN.match(text, start)
        if hit and (not hits or hit.start() >= hits[-1].end()):
            hits.append(hit)
    return hits


_LIST_SEPARATOR = re.compile(r"[,;:()/&]|\b(?:and|or|including|such as)\b", re.I)


def _is_list_lead(between: str) -> bool:
    """Whether ``between`` (the text from a lead-in phrase to a name) reads as the start of a list the name is
    in: a short lead-in clause, then short items, the name's own item starting with at most three words."""
    chunks = [len(chunk.split()) for chunk in _LIST_SEPARATOR.split(between)]
    if len(chunks) == 1:
        return chunks[0] <= 8
    return chunks[0] <= 8 and all(n <= 5 for n in chunks[1:-1]) and chunks[-1] <= 3


_POSSESSIVE = re.compile(r"['\u2019]s\b")
_WORD_AROUND = re.compile(r"[\w']+")
# After a company name on a Hacker News post's first line: "LiteLLM (YC W23): ...", "Modal | NYC | ..."
_HEADER = re.compile(r"[ \t]*(?:\||\((?:YC|yc)\b)")


def normalize_form(form: str) -> str:
    """Collapse internal whitespace to single spaces, as matched text is normalised before lookup."""
    return " ".join(form.split())


def taxonomy_version(frameworks: Iterable[FrameworkConfig]) -> str:
    """12 hex characters of SHA-256 over the canonical JSON of everything that decides matching.

    That is each entry's slug, its normalised aliases (lower-case) and exact forms, its gates (gated forms,
    ``near`` terms and window, ``near_technology``, ``exclude`` and ``avoid`` phrases, ``organisation``), its
    parent, ``MATCHER_VERSION`` and the word lists the shared rules use. Names and categories
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
                "avoid_window": f.avoid_window if f.avoid or f.organisation else None,
                "near_technology": f.near_technology,
                "organisation": f.organisation,
                "field": f.category == FIELD_CATEGORY,  # the one category that changes matching
                "parent": f.parent,
            }
            for f in frameworks
        ),
        key=lambda entry: entry["slug"],
    )
    rules = {"matcher": MATCHER_VERSION, "technology_words": TECHNOLOGY_WORDS,
             "organisation_context": ORGANISATION_CONTEXT, "near_only_context": sorted(NEAR_ONLY_CONTEXT),
             "trailing_context": sorted(TRAILING_CONTEXT), "list_reach": LIST_REACH,
             "company_before": sorted(COMPANY_BEFORE), "company_after": sorted(COMPANY_AFTER)}
    canonical = json.dumps({**rules, "frameworks": entries}, sort_keys=True,
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


class _TextContext:
    """What the gates of the matches in one text share: where other technologies are named (for
    ``near_technology``) and the text's organisation phrases (found on first use)."""

    def __init__(self, text: str, technologies: Sequence[tuple[int, int, str]], technology_words: re.Pattern):
        self.text = text
        self._technologies = technologies  # (start, end, slug) of forms that need no context of their own
        self._technology_words = technology_words
        self._organisation_phrases: list[re.Match] | None = None

    def names_technology(self, lo: int, hi: int, slug: str) -> bool:
        """Whether ``text[lo:hi]`` names a technology other than ``slug``."""
        return (any(lo <= s and e <= hi and other != slug for s, e, other in self._technologies)
                or self._technology_words.search(self.text, lo, hi) is not None)

    def organisation_phrases(self) -> list[re.Match]:
        if self._organisation_phrases is None:
            self._organisation_phrases = organisation_phrases(self.text)
        return self._organisation_phrases


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
        self.organisation = framework.organisation
        self.near_technology = framework.near_technology
        self.slug = framework.slug

    def is_gated(self, key: str, exact: bool) -> bool:
        return key in self.gated if exact else key.lower() in self.gated_lower

    def reason(self, context: _TextContext, start: int, end: int, gated: bool) -> str | None:
        """Why the match ``context.text[start:end]`` does not count, or None when it does."""
        text = context.text
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
        if self.organisation:
            hit = organisation_context(text, start, end, self.avoid_window, context.organisation_phrases())
            if hit:
                return f'organisation context "{hit}"'
        if gated:
            before, after = word_window(text, start, end, self.window)
            if self._near(text, before, start, end, after):
                return None
            if self.near_technology and (context.names_technology(before, start, self.slug)
                                         or context.names_technology(end, after, self.slug)):
                return None
            return f"no near term{' or technology' if self.near_technology else ''} within {self.window} words"
        return None

    def _near(self, text: str, before: int, start: int, end: int, after: int) -> bool:
        return self.near is not None and bool(self.near.search(text, before, start)
                                              or self.near.search(text, end, after))


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern:
    """Case-insensitive whole-token alternation of ``phrases``, internal whitespace matching any run."""
    return re.compile(r"(?<!\w)(?i:" + trie_pattern(normalize_form(p).lower() for p in phrases) + r")(?!\w)")


_ORGANISATION_PATTERN = _phrase_pattern(ORGANISATION_CONTEXT)
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
        self._gates = {f.slug: _Gate(f) for f in self.frameworks
                       if f.gated_forms or f.exclude or f.avoid or f.organisation}
        self._parents = ancestors(self.frameworks)
        self._technology_words = _phrase_pattern(TECHNOLOGY_WORDS)
        self._fields = {f.slug for f in self.frameworks if f.category == FIELD_CATEGORY}
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

    def _candidates(self, text: str, *, gates: bool = True,
                    company: str | None = None) -> Iterator[tuple[re.Match, str, str | None]]:
        """Every match of the one pattern, as (match, slug, reason it is rejected or None)."""
        found = []
        for match in self._matches(text):
            key = normalize_form(match.group())
            exact = key in self._exact
            slug = self._exact.get(key) if exact else self._alias.get(key.lower())
            if slug is not None:
                gate = self._gates.get(slug) if gates else None
                found.append((match, slug, gate, gate is not None and gate.is_gated(key, exact)))
        # forms that need no context of their own name a technology for the near_technology gates (a field
        # such as machine learning is not a technology: "the Copilot of healthcare, with machine learning")
        technologies = [(match.start(), match.end(), slug) for match, slug, _, gated in found
                        if not gated and slug not in self._fields]
        context = _TextContext(text, technologies, self._technology_words)
        own_names = company_names(company)
        for match, slug, gate, gated in found:
            reason = gate.reason(context, match.start(), match.end(), gated) if gate else None
            if reason is None and gates:
                reason = self._own_company_reason(text, match, company, own_names)
            yield match, slug, reason

    @staticmethod
    def _own_company_reason(text: str, match: re.Match, company: str | None,
                            own_names: frozenset[str]) -> str | None:
        """Why ``match`` is the employer's own name used as the company, or None."""
        start, end = match.start(), match.end()
        if own_names and squashed_name(match.group()) in own_names and reads_as_company(text, start, end):
            return f"the employer's own name ({company})"
        if is_header_name(text, start, end):
            return "the employer's own name (the post's first line)"
        return None

    def find(self, text: str, company: str | None = None) -> dict[str, int]:
        """Occurrences of each framework in ``text`` that pass the gates, by slug (no roll-up to parents);
        with ``company``, the employer's own name used as the company is not counted."""
        counts: Counter[str] = Counter(slug for _, slug, reason in self._candidates(text, company=company)
                                       if reason is None)
        return dict(counts)

    def roll_up(self, counts: dict[str, int]) -> dict[str, int]:
        """``counts`` with each entry's count also added to its parent, grandparent, ..."""
        total: Counter[str] = Counter(counts)
        for slug, count in counts.items():
            for parent in self._parents.get(slug, ()):
                total[parent] += count
        return dict(total)

    def find_with_parents(self, text: str, company: str | None = None) -> dict[str, int]:
        """:meth:`find`, rolled up to parents: what :func:`analyze` stores.

        A posting naming its own employer as the company ("Cohere is ...", "At LangChain, we") does not mention
        a tool the role uses, so those matches are dropped (:func:`reads_as_company`); the same name used as the
        product ("Build LangChain-powered agents") and the employer's other forms (Ray in Anyscale's postings,
        Claude Code in Anthropic's) count, and roll up to their parents as anywhere else.
        """
        return self.roll_up(self.find(text, company))

    def explain(self, text: str, context_words: int = 8, company: str | None = None) -> list[Explanation]:
        """Every candidate match with its surrounding words: what it counted for, or why a gate rejected it."""
        result = []
        for match, slug, reason in self._candidates(text, company=company):
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


# A trailing word a company name often carries that its product name does not ("Modal Labs", "Lightning AI").
COMPANY_NAME_TAILS = frozenset({"ai", "labs", "hq", "io", "technologies", "software"})


def company_names(company: str | None) -> frozenset[str]:
    """The squashed names the employer ``company`` goes by: itself, and without a trailing "Labs", "AI", ..."""
    if not company:
        return frozenset()
    words = LEGAL_SUFFIXES.sub("", company).replace(",", " ").split()
    names = {squashed_name(company)}
    if len(words) > 1 and words[-1].lower() in COMPANY_NAME_TAILS:
        names.add(squashed_name(" ".join(words[:-1])))
    return frozenset(name for name in names if name)


def reads_as_company(text: str, start: int, end: int) -> bool:
    """Whether the name ``text[start:end]`` reads as the company: possessive ("Cohere's"), a header ("LiteLLM
    (YC W23)", "Modal | NYC"), after one of
    :data:`COMPANY_BEFORE` ("At LangChain", "join Anyscale") or before one of :data:`COMPANY_AFTER`
    ("LangChain is hiring", "Cohere solutions"). "LangChain-powered" and "build with LangChain" do not."""
    if _POSSESSIVE.match(text, end) or _HEADER.match(text, end):
        return True
    before = _WORD_AROUND.findall(text, max(0, start - 40), start)
    after = _WORD_AROUND.search(text, end, end + 40)
    if before and before[-1].lower() in COMPANY_BEFORE:
        return True
    return bool(after and text[end:after.start()].strip(" ,") == "" and after.group().lower() in COMPANY_AFTER)


def is_header_name(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` opens a line near the top and is followed by "|" or "(YC": a Hacker News
    post's company header ("LiteLLM (YC W23): Founding Engineer", "Modal | NYC"), even when the company was
    not parsed."""
    return start < HEADER_REACH and (start == 0 or text[start - 1] == "\n") and bool(_HEADER.match(text, end))


HEADER_REACH = 200  # characters from the top of the text where a line can be a post's header


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
    return row, Matcher(frameworks).explain(posting_text(row.title, row.description_text), company=row.company)


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
