"""Measure mention extraction on labelled real postings (``tests/data/mentions_gold.jsonl.gz``) and on labelled
occurrences of names in them (the context gold, ``tests/data/mention_contexts_{dev,heldout}.jsonl.gz``).

The file's first line is a header whose ``taxonomy_slugs`` lists the entries that existed when the postings were
labelled; every other line is one posting (its source, id, title, the full text the matcher reads, and ``labels``,
the sorted slugs a person reading it found really mentioned; ``unlisted``, tools it mentions that had no entry).
``docs/annotating-mentions.md`` is the labelling guide.

Only slugs both in ``taxonomy_slugs`` and in the current taxonomy are scored: an entry added later has no labels,
so counting its hits as false positives would be wrong. When the taxonomy rolls children up to parents (an entry's
``parent``), a reported parent implied by a labelled child is accepted (neither a hit nor a false positive), and
the labels stay what the text says.

The context gold scores single occurrences: each line is one candidate (an entry's name found by a broad,
case-insensitive search in a real posting, at ``start:end``), labelled true when it really mentions that entry
(docs/annotating-mentions.md, "Context gold"). The matcher predicts true when it counts a match of that entry (or
of one of its children) overlapping the candidate, given the posting's company. Precision and recall, with Wilson
95 % intervals, are reported overall and per ``group`` (``organisation``: names that are also companies;
``other``), beside a baseline that counts every candidate. The dev file may be read to improve the matcher; the
held-back file is scored as it is and never used to change anything.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.mentions import Matcher, ancestors
from jobtrend.config import REPO_ROOT, FrameworkConfig, load_sources
from jobtrend.hn_first_line import parse_first_line

GOLD_PATH = REPO_ROOT / "tests" / "data" / "mentions_gold.jsonl.gz"
CONTEXTS_DEV_PATH = REPO_ROOT / "tests" / "data" / "mention_contexts_dev.jsonl.gz"
CONTEXTS_HELDOUT_PATH = REPO_ROOT / "tests" / "data" / "mention_contexts_heldout.jsonl.gz"
CONTEXT_CHARS = 60
CONTEXT_GROUPS = ("organisation", "other")
Z_95 = 1.959963984540054  # two-sided 95 % normal quantile, for Wilson intervals


@dataclass(frozen=True)
class MentionGoldPosting:
    """One labelled posting: the text the matcher reads and the entries it really mentions."""

    id: str
    source: str
    external_id: str
    title: str
    text: str
    labels: frozenset[str]
    unlisted: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class GoldSet:
    """The labelled postings and the taxonomy slugs that existed when they were labelled."""

    taxonomy_slugs: frozenset[str]
    postings: tuple[MentionGoldPosting, ...]


@dataclass(frozen=True)
class Disagreement:
    """A slug the matcher reported without a label (``fp``) or a label it missed (``fn``), with context."""

    posting: MentionGoldPosting
    slug: str
    kind: str  # "fp" or "fn"
    context: str


@dataclass(frozen=True)
class Evaluation:
    """Per-slug confusion counts over the scored slugs, and every disagreement."""

    scored_slugs: frozenset[str]
    counts: dict[str, tuple[int, int, int]]  # slug -> (tp, fp, fn)
    disagreements: tuple[Disagreement, ...]
    postings: int
    accepted_parents: int  # reported parents implied by a labelled child, not scored

    def micro(self) -> tuple[float, float, float]:
        """Micro-averaged (precision, recall, F1) over all scored slugs."""
        tp, fp, fn = (sum(c[i] for c in self.counts.values()) for i in range(3))
        return scores(tp, fp, fn)

    def totals(self) -> tuple[int, int, int]:
        """(tp, fp, fn) summed over the scored slugs."""
        return tuple(sum(c[i] for c in self.counts.values()) for i in range(3))

    def per_entry(self) -> list[tuple[str, int, int, int, float, float, float]]:
        """(slug, tp, fp, fn, precision, recall, F1) of every slug labelled or reported at least once, worst first."""
        rows = [(slug, tp, fp, fn, *scores(tp, fp, fn)) for slug, (tp, fp, fn) in self.counts.items() if tp + fp + fn]
        return sorted(rows, key=lambda r: (r[6], -(r[2] + r[3]), r[0]))


def scores(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1; a ratio with nothing to count is 1."""
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _open(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def load_mention_gold(path: Path = GOLD_PATH) -> GoldSet:
    """The labelled set in ``path`` (``.jsonl`` or ``.jsonl.gz``): a header line, then one posting per line."""
    slugs: frozenset[str] | None = None
    postings = []
    with _open(path) as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("kind") == "header":
                slugs = frozenset(row["taxonomy_slugs"])
                continue
            postings.append(MentionGoldPosting(str(row["id"]), row["source"], str(row["external_id"]),
                                               row["title"], row["text"], frozenset(row["labels"]),
                                               tuple(row.get("unlisted", ())), row.get("note")))
    if slugs is None:
        raise ValueError(f"{path}: no header line with taxonomy_slugs")
    unknown = sorted({s for p in postings for s in p.labels} - slugs)
    if unknown:
        raise ValueError(f"{path}: labels not in taxonomy_slugs: {', '.join(unknown)}")
    return GoldSet(slugs, tuple(postings))


def reported(matcher: Matcher, text: str, company: str | None = None) -> set[str]:
    """The slugs the pipeline stores for ``text`` posted by ``company``: rolled up to parents, without the
    employer's own entry (see :meth:`Matcher.find_with_parents`)."""
    return set(matcher.find_with_parents(text, company))


def posting_company(posting: MentionGoldPosting, board_companies: dict[str, str]) -> str | None:
    """The company the pipeline would store for a gold posting: the board's configured company (Ashby), or
    the company named on an HN post's first line."""
    kind, _, key = posting.source.partition(":")
    if kind == "ashby":
        return board_companies.get(key, key)
    if kind == "hn":
        lines = posting.text.split("\n")
        return parse_first_line(lines[1] if len(lines) > 1 else lines[0]).company
    return None


def demo_board_companies() -> dict[str, str]:
    """Company names of the bundled Ashby boards, as the crawler stores them."""
    return {s.key: s.company for s in load_sources(REPO_ROOT / "data" / "demo" / "sources.toml")
            if s.kind == "ashby" and s.company}


def evaluate(gold: GoldSet, frameworks: Sequence[FrameworkConfig]) -> Evaluation:
    """Score ``Matcher(frameworks)`` on ``gold`` over the slugs both in the gold header and in ``frameworks``."""
    matcher = Matcher(frameworks)
    scored = gold.taxonomy_slugs & {f.slug for f in frameworks}
    chains = ancestors(frameworks)
    counts = {slug: [0, 0, 0] for slug in sorted(scored)}
    disagreements = []
    accepted = 0
    companies = demo_board_companies()
    for posting in gold.postings:
        truth = posting.labels & scored
        implied = {parent for slug in truth for parent in chains.get(slug, ())} - truth
        found = reported(matcher, posting.text, posting_company(posting, companies)) & scored
        accepted += len(found & implied)
        found -= implied
        for slug in truth & found:
            counts[slug][0] += 1
        for slug in sorted(found - truth):
            counts[slug][1] += 1
            disagreements.append(Disagreement(posting, slug, "fp", _matcher_context(matcher, posting.text, slug)))
        for slug in sorted(truth - found):
            counts[slug][2] += 1
            disagreements.append(Disagreement(posting, slug, "fn", _label_context(frameworks, posting.text, slug)))
    return Evaluation(frozenset(scored), {s: tuple(c) for s, c in counts.items()}, tuple(disagreements),
                      len(gold.postings), accepted)


def _snippet(text: str, start: int, end: int) -> str:
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    inner = text[lo:start] + "[" + text[start:end] + "]" + text[end:hi]
    return ("…" if lo else "") + " ".join(inner.split()) + ("…" if hi < len(text) else "")


def _matcher_context(matcher: Matcher, text: str, slug: str) -> str:
    """Where the matcher found ``slug`` (or one of its children, for a rolled-up parent)."""
    chains = ancestors(matcher.frameworks)
    explain = getattr(matcher, "explain", None)  # a matcher with gates: only the matches that counted
    if explain is not None:
        for hit in explain(text):
            if hit.counted and (hit.slug == slug or slug in chains.get(hit.slug, ())):
                return _snippet(text, hit.start, hit.end)
    for match in matcher.pattern.finditer(text):
        found = matcher.slug_of(match.group())
        if found == slug or slug in chains.get(found or "", ()):
            return _snippet(text, match.start(), match.end())
    return "(no single match: reported through a roll-up or a gate)"


def _label_context(frameworks: Sequence[FrameworkConfig], text: str, slug: str) -> str:
    """A likely place of the labelled mention: the first case-insensitive hit of the entry's forms or name."""
    entry = next((f for f in frameworks if f.slug == slug), None)
    forms = [*entry.aliases, *entry.exact, entry.name] if entry else []
    forms += [slug.replace("-", " "), slug]
    for form in sorted({f for f in forms if f}, key=len, reverse=True):
        pattern = r"(?<![\w])" + r"\s*[-\s]?".join(re.escape(word) for word in form.split()) + r"(?!\w)"
        hit = re.search(pattern, text, re.IGNORECASE)
        if hit:
            return _snippet(text, hit.start(), hit.end())
    return "(written differently: see the posting's note or text)"


def unlisted_counts(gold: GoldSet) -> Counter[str]:
    """How many postings mention each tool that had no taxonomy entry when labelled."""
    return Counter(name for posting in gold.postings for name in posting.unlisted)


def report(evaluation: Evaluation, *, show: int = 20, top: int = 15) -> str:
    """Micro and per-entry precision/recall/F1, and up to ``show`` disagreements (all with ``show`` < 0)."""
    tp, fp, fn = evaluation.totals()
    precision, recall, f1 = evaluation.micro()
    lines = [
        f"{evaluation.postings} postings, {len(evaluation.scored_slugs)} entries scored "
        f"(labelled taxonomy ∩ current taxonomy)",
        f"micro: precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  (tp {tp}, fp {fp}, fn {fn})",
    ]
    if evaluation.accepted_parents:
        lines.append(f"{evaluation.accepted_parents} reported parents implied by labelled children accepted")
    lines += ["", f"{'entry':<26} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'rec':>6} {'F1':>6}"]
    for slug, etp, efp, efn, p, r, f in evaluation.per_entry():
        lines.append(f"{slug:<26} {etp:>4} {efp:>4} {efn:>4} {p:>6.3f} {r:>6.3f} {f:>6.3f}")
    shown = evaluation.disagreements if show < 0 else evaluation.disagreements[:show]
    lines += ["", f"disagreements: {len(evaluation.disagreements)}"
              + (f" (first {len(shown)}; --show N for more)" if len(shown) < len(evaluation.disagreements) else "")]
    for d in shown:
        what = "reported, not labelled" if d.kind == "fp" else "labelled, not reported"
        lines.append(f"{d.kind.upper()} {d.slug} ({what}) in {d.posting.id} {d.posting.source} "
                     f"{d.posting.external_id} {d.posting.title[:60]!r}")
        lines.append(f"    {d.context}")
        if d.posting.note:
            lines.append(f"    note: {d.posting.note}")
    return "\n".join(lines)


# --- the context gold -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MentionContext:
    """One candidate occurrence of an entry's name in a real posting, and whether it really mentions the entry."""

    id: str
    source: str
    external_id: str
    company: str | None  # the employer, as the pipeline stores it
    title: str
    text: str  # the whole posting text the matcher reads
    slug: str
    start: int
    end: int
    group: str  # "organisation" (a name that is also a company) or "other"
    label: bool
    evidence: str = ""
    note: str | None = None


def load_mention_contexts(path: Path) -> tuple[MentionContext, ...]:
    """The labelled contexts in ``path`` (``.jsonl`` or ``.jsonl.gz``; a header line is skipped).

    Raises ValueError, naming the line, for a line that is not a context (bad JSON, a missing key), a context
    whose span is outside its text, whose group is unknown or that has no true/false label."""
    contexts = []
    with _open(path) as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if row.get("kind") == "header":
                    continue
                context = MentionContext(str(row["id"]), row["source"], str(row["external_id"]), row.get("company"),
                                         row["title"], row["text"], row["slug"], int(row["start"]), int(row["end"]),
                                         row["group"], row["label"], row.get("evidence") or "", row.get("note"))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ValueError(f"{path}:{number}: not a context line ({type(exc).__name__}: {exc})") from None
            problem = _context_problem(context)
            if problem:
                raise ValueError(f"{path}:{number}: context {context.id}: {problem}")
            contexts.append(context)
    return tuple(contexts)


def _context_problem(context: MentionContext) -> str | None:
    if not 0 <= context.start < context.end <= len(context.text):
        return f"span {context.start}:{context.end} is outside its text"
    if context.group not in CONTEXT_GROUPS:
        return f"group {context.group!r} is not one of {', '.join(CONTEXT_GROUPS)}"
    if not isinstance(context.label, bool):
        return f"label {context.label!r} is not true or false (unlabelled?)"
    return None


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``successes / n``; (0, 1) when ``n`` is 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ContextCounts:
    """Confusion counts of one predictor on a set of contexts."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: ContextCounts) -> ContextCounts:
        return ContextCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    @property
    def contexts(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def precision(self) -> float:
        return scores(self.tp, self.fp, self.fn)[0]

    def recall(self) -> float:
        return scores(self.tp, self.fp, self.fn)[1]

    def precision_interval(self) -> tuple[float, float]:
        return wilson_interval(self.tp, self.tp + self.fp)

    def recall_interval(self) -> tuple[float, float]:
        return wilson_interval(self.tp, self.tp + self.fn)


def _count(predicted: bool, label: bool) -> ContextCounts:
    return ContextCounts(int(predicted and label), int(predicted and not label), int(label and not predicted),
                         int(not predicted and not label))


@dataclass(frozen=True)
class ContextEvaluation:
    """The matcher and the baseline on a context set, per group, with the matcher's disagreements."""

    matcher: dict[str, ContextCounts]  # group -> counts
    baseline: dict[str, ContextCounts]  # every candidate counted as a mention
    disagreements: tuple[tuple[MentionContext, str], ...]  # (context, "fp" or "fn")
    not_in_taxonomy: dict[str, int]  # slug -> contexts of entries the taxonomy lacks (not scored)

    def overall(self, which: str = "matcher") -> ContextCounts:
        counts = self.matcher if which == "matcher" else self.baseline
        return sum(counts.values(), ContextCounts())


def counted_at(matcher: Matcher, context: MentionContext) -> bool:
    """Whether the matcher counts a match of the context's entry (or of a child of it) overlapping its span,
    reading the posting with its company as :func:`analysis.mentions.analyze` does."""
    for hit in matcher.explain(context.text, company=context.company):
        if (hit.counted and (hit.slug == context.slug or context.slug in hit.parents)
                and hit.start < context.end and context.start < hit.end):
            return True
    return False


def evaluate_contexts(contexts: Sequence[MentionContext], frameworks: Sequence[FrameworkConfig]) -> ContextEvaluation:
    """Score ``Matcher(frameworks)`` and the every-candidate baseline on the contexts of entries in ``frameworks``."""
    matcher = Matcher(frameworks)
    known = {f.slug for f in frameworks}
    found = {group: ContextCounts() for group in CONTEXT_GROUPS}
    baseline = {group: ContextCounts() for group in CONTEXT_GROUPS}
    disagreements = []
    missing: Counter[str] = Counter()
    for context in contexts:
        if context.slug not in known:
            missing[context.slug] += 1
            continue
        predicted = counted_at(matcher, context)
        found[context.group] += _count(predicted, context.label)
        baseline[context.group] += _count(True, context.label)
        if predicted != context.label:
            disagreements.append((context, "fp" if predicted else "fn"))
    return ContextEvaluation(found, baseline, tuple(disagreements), dict(sorted(missing.items())))


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, to see at a glance whether a frozen file changed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _figures(counts: ContextCounts) -> str:
    (plo, phi), (rlo, rhi) = counts.precision_interval(), counts.recall_interval()
    return (f"{counts.contexts:>5} {counts.tp + counts.fn:>5}   {counts.precision():.3f} [{plo:.3f}, {phi:.3f}]"
            f"   {counts.recall():.3f} [{rlo:.3f}, {rhi:.3f}]   tp {counts.tp} fp {counts.fp} fn {counts.fn}")


def context_report(evaluation: ContextEvaluation, name: str, *, show: int = 0) -> str:
    """Precision and recall (Wilson 95 % intervals) per group and overall, for the matcher and the baseline;
    then up to ``show`` disagreements (all with ``show`` < 0, none with 0)."""
    lines = [f"{name}", f"  {'':<22} {'ctx':>5} {'true':>5}   {'precision [95% CI]':<22}   "
                        f"{'recall [95% CI]':<22}"]
    for which, counts in (("matcher", evaluation.matcher), ("baseline", evaluation.baseline)):
        for group in CONTEXT_GROUPS:
            lines.append(f"  {which + ' ' + group:<22} {_figures(counts[group])}")
        lines.append(f"  {which + ' all':<22} {_figures(evaluation.overall(which))}")
    if evaluation.not_in_taxonomy:
        lines.append("  not in taxonomy (not scored): "
                     + ", ".join(f"{slug} {n}" for slug, n in evaluation.not_in_taxonomy.items()))
    shown = evaluation.disagreements if show < 0 else evaluation.disagreements[:show]
    if show:
        lines.append(f"  disagreements: {len(evaluation.disagreements)}"
                     + (f" (first {len(shown)})" if len(shown) < len(evaluation.disagreements) else ""))
    for context, kind in shown:
        what = "counted, not a mention" if kind == "fp" else "a mention, not counted"
        lines.append(f"  {kind.upper()} {context.slug} ({what}) {context.id} {context.source} "
                     f"{context.company or '(no company)'}: {_snippet(context.text, context.start, context.end)}")
        if context.note:
            lines.append(f"      note: {context.note}")
    return "\n".join(lines)
