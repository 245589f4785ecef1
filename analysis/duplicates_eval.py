"""Measure duplicate detection on labelled real pairs (``tests/data/duplicate_pairs.jsonl``).

Each line holds two real postings and a person's verdict (``duplicate`` / ``not_duplicate``, with the reason);
``tests/data/README.md`` gives the labelling rule. Hacker News comments carry their text; board postings point
at the recorded response in ``data/demo`` they come from, and their text is rebuilt as the spiders build it
(``html_to_text`` of the description HTML) and checked against the SHA-256 recorded when they were labelled.
:func:`evaluate` runs the pairwise decision :func:`analysis.duplicates.match` on every pair; grouping, canonical
choice and the database stage are covered by the unit tests.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import html
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.duplicates import AGGREGATORS, DEFAULT_THRESHOLDS, JobRecord, Thresholds, jaccard, match
from jobtrend.config import REPO_ROOT
from jobtrend.text import html_to_text

PAIRS_PATH = REPO_ROOT / "tests" / "data" / "duplicate_pairs.jsonl"
SWEEP = tuple(round(0.3 + 0.05 * i, 2) for i in range(13))  # 0.30 ... 0.90


@dataclass(frozen=True)
class LabelledPair:
    """Two real postings and whether a person reading them judged them the same job."""

    name: str
    category: str
    duplicate: bool
    why: str
    a: JobRecord
    b: JobRecord


@dataclass(frozen=True)
class Evaluation:
    """Confusion counts of :func:`match` on labelled pairs, per category, and the pairs it got wrong."""

    thresholds: Thresholds
    counts: dict[str, tuple[int, int, int, int]]  # category -> (tp, fp, fn, tn)
    disagreements: tuple[tuple[LabelledPair, float], ...]  # (pair, text similarity)

    def total(self, prefix: str = "") -> tuple[int, int, int, int]:
        """(tp, fp, fn, tn) summed over the categories starting with ``prefix`` (all by default)."""
        rows = [c for name, c in self.counts.items() if name.startswith(prefix)]
        return tuple(sum(column) for column in zip(*rows, strict=True)) if rows else (0, 0, 0, 0)

    def scores(self, prefix: str = "") -> tuple[float, float, float]:
        """(precision, recall, F1) over the categories starting with ``prefix`` (all by default)."""
        tp, fp, fn, _ = self.total(prefix)
        return scores(tp, fp, fn)


def scores(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1; a ratio with nothing to count is 1."""
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def load_pairs(path: Path = PAIRS_PATH, root: Path = REPO_ROOT) -> list[LabelledPair]:
    """The labelled pairs of ``path``; board texts are read from the recorded responses they reference."""
    boards = _RecordedBoards(root)
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            pairs.append(LabelledPair(row["pair"], row["category"], row["label"] == "duplicate", row["why"],
                                      boards.record(row["a"]), boards.record(row["b"])))
    return pairs


class _RecordedBoards:
    """Recorded board responses, each read once, turned into records as the spiders and pipelines would."""

    def __init__(self, root: Path):
        self.root = root
        self.jobs: dict[str, dict[str, dict]] = {}

    def record(self, side: dict) -> JobRecord:
        text = side["text"] if "text" in side else self._text(side)
        source = side["source"] if side["source"] in AGGREGATORS else f"{side['source']}:{side['board']}"
        return JobRecord(f"{side['source']}:{side['external_id']}", source, side["source"], side["external_id"],
                         side["company"], side["title"], side["location"],
                         dt.datetime.fromisoformat(side["posted_at"]), text=text)

    def _text(self, side: dict) -> str:
        ref = side["text_ref"]
        if ref not in self.jobs:
            with gzip.open(self.root / ref, "rt", encoding="utf-8") as handle:
                self.jobs[ref] = {str(job["id"]): job for job in json.load(handle)["jobs"]}
        job = self.jobs[ref][side["external_id"]]
        raw = job.get("descriptionHtml") if side["source"] == "ashby" else html.unescape(job.get("content") or "")
        text = html_to_text(raw or "")
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != side["text_sha256"]:
            raise ValueError(f"{ref}, job {side['external_id']}: the text is not the one that was labelled")
        return text


def evaluate(pairs: Sequence[LabelledPair], thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Evaluation:
    """Run :func:`match` on every pair and count agreements with the labels."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    wrong = []
    for pair in pairs:
        predicted = match(pair.a, pair.b, thresholds) is not None
        cell = {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}[(predicted, pair.duplicate)]
        counts[pair.category][cell] += 1
        if predicted != pair.duplicate:
            wrong.append((pair, jaccard(pair.a.shingles, pair.b.shingles)))
    return Evaluation(thresholds, {name: tuple(c) for name, c in sorted(counts.items())}, tuple(wrong))


def report(pairs: Sequence[LabelledPair], thresholds: Thresholds = DEFAULT_THRESHOLDS) -> str:
    """Precision, recall and F1 overall and per category, a threshold sweep, and every disagreement."""
    result = evaluate(pairs, thresholds)
    lines = [f"{len(pairs)} labelled pairs; thresholds: board {thresholds.board}, hn {thresholds.hn}", "",
             f"{'category':30} {'pairs':>5} {'tp':>4} {'fp':>4} {'fn':>4} {'tn':>4} {'precision':>9} "
             f"{'recall':>6} {'F1':>6}"]
    for name, (tp, fp, fn, tn) in [*result.counts.items(), ("all", result.total())]:
        lines.append(f"{name:30} {tp + fp + fn + tn:5} {tp:4} {fp:4} {fn:4} {tn:4} "
                     + "{:9.3f} {:6.3f} {:6.3f}".format(*scores(tp, fp, fn)))
    lines += ["", "threshold sweep: precision recall F1 of the pairs each threshold decides",
              f"{'threshold':>9}  {'board-* pairs':>19}  {'hn-* pairs':>19}"]
    for value in SWEEP:
        swept = evaluate(pairs, Thresholds(board=value, hn=value))
        cells = ["{:.3f} {:.3f} {:.3f}".format(*swept.scores(prefix)) for prefix in ("board", "hn")]
        lines.append(f"{value:9.2f}  {cells[0]:>19}  {cells[1]:>19}")
    lines += ["", f"disagreements ({len(result.disagreements)}):"]
    for pair, similarity in result.disagreements:
        verdict = "missed duplicate" if pair.duplicate else "false duplicate"
        lines.append(f"- {pair.name}: {verdict} (text similarity {similarity:.2f}); label: {pair.why}")
        lines += [f"    {r.kind} {r.external_id}: {r.company} | {r.title[:70]}" for r in (pair.a, pair.b)]
    return "\n".join(lines)
