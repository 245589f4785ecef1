"""Measure the pay extractor and the title seniority rules on the pay gold set (analysis/pay_gold.py).

Per posting the extractor reads the stored text and the source's structured object, as ``analyze`` does. Scored:

- **has pay**: precision and recall of "the posting states what this job pays" (a base, hourly, OTE or total
  range), with Wilson 95 % intervals;
- **exact values**: over the postings where both the labels and the extractor find pay, the share whose primary
  range has exactly the labelled primary minimum, maximum (and currency);
- **structured vs text**: over the postings where the extractor finds a pay range in both, the share where a text
  range states the structured summary's figures;
- **seniority**: accuracy of :func:`analysis.seniority.seniority` against the labels, with its interval.

Each beside a baseline: "any currency amount counts" for has-pay, the first two currency amounts of the text for
the values, "senior when the title says so, else mid" for seniority.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from analysis.pay import PayExtraction, extract_pay
from analysis.pay_gold import PayPosting
from analysis.seniority import seniority
from analysis.trends import wilson_interval
from jobtrend.currency import shipped_rates

ANY_AMOUNT = re.compile(r"(?:[$£€₹₱]|\b(?:USD|EUR|GBP|CAD)\s?)\s?(\d[\d,.]*)\s?([kK])?")


@dataclass(frozen=True)
class Ratio:
    """``k`` of ``n``, with the Wilson 95 % interval."""

    k: int
    n: int

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    def __str__(self) -> str:
        if not self.n:
            return "n/a (n=0)"
        low, high = wilson_interval(self.k, self.n)
        return f"{self.value:.3f} [{low:.3f}, {high:.3f}] ({self.k}/{self.n})"


@dataclass
class PayScores:
    """The figures of one gold file, the baseline's beside them, and the disagreements to read."""

    postings: int
    precision: Ratio
    recall: Ratio
    exact_min: Ratio
    exact_max: Ratio
    exact_currency: Ratio
    agreement: Ratio
    seniority: Ratio
    baseline_precision: Ratio
    baseline_recall: Ratio
    baseline_exact_min: Ratio
    baseline_exact_max: Ratio
    baseline_seniority: Ratio
    refusals: Counter = field(default_factory=Counter)
    disagreements: list[str] = field(default_factory=list)


def evaluate(postings: tuple[PayPosting, ...]) -> PayScores:
    """Score the extractor and the seniority rules on ``postings``."""
    counts: Counter = Counter()
    refusals: Counter = Counter()
    disagreements: list[str] = []
    for posting in postings:
        found = extract_pay(posting.text, posting.structured, posting.location)
        refusals.update(found.refusal_counts())
        _score_pay(posting, found, counts, disagreements)
        _score_seniority(posting, counts, disagreements)
    return PayScores(
        postings=len(postings),
        precision=Ratio(counts["tp"], counts["tp"] + counts["fp"]),
        recall=Ratio(counts["tp"], counts["tp"] + counts["fn"]),
        exact_min=Ratio(counts["min_ok"], counts["tp"]),
        exact_max=Ratio(counts["max_ok"], counts["tp"]),
        exact_currency=Ratio(counts["currency_ok"], counts["tp"]),
        agreement=Ratio(counts["agree"], counts["both"]),
        seniority=Ratio(counts["seniority_ok"], len(postings)),
        baseline_precision=Ratio(counts["b_tp"], counts["b_tp"] + counts["b_fp"]),
        baseline_recall=Ratio(counts["b_tp"], counts["b_tp"] + counts["b_fn"]),
        baseline_exact_min=Ratio(counts["b_min_ok"], counts["b_tp"]),
        baseline_exact_max=Ratio(counts["b_max_ok"], counts["b_tp"]),
        baseline_seniority=Ratio(counts["b_seniority_ok"], len(postings)),
        refusals=refusals, disagreements=disagreements)


def _score_pay(posting: PayPosting, found: PayExtraction, counts: Counter, disagreements: list[str]) -> None:
    gold, primary = posting.labels.primary, found.primary
    outcome = {(True, True): "tp", (False, True): "fp", (True, False): "fn"}.get((gold is not None,
                                                                                primary is not None))
    if outcome:
        counts[outcome] += 1
    if outcome == "fp":
        disagreements.append(f"{posting.id} false pay: {_show(primary)}")
    elif outcome == "fn":
        disagreements.append(f"{posting.id} missed: {gold.minimum}-{gold.maximum} {gold.currency} "
                             f"{gold.interval} ({gold.evidence[:80]!r})")
    elif outcome == "tp":
        counts["min_ok"] += primary.minimum == gold.minimum
        counts["max_ok"] += primary.maximum == gold.maximum
        counts["currency_ok"] += primary.currency == gold.currency
        if (primary.minimum, primary.maximum, primary.currency) != (gold.minimum, gold.maximum, gold.currency):
            disagreements.append(f"{posting.id} values: found {_show(primary)}; labelled {gold.component} "
                                 f"{gold.minimum}-{gold.maximum} {gold.currency} {gold.interval}")
    _score_agreement(found, counts)
    _score_baseline(posting, counts)


def _score_agreement(found: PayExtraction, counts: Counter) -> None:
    structured = next((r for r in found.ranges if r.is_pay and r.source == "structured" and r.summary), None)
    texts = [r for r in found.ranges if r.is_pay and r.source == "text"]
    if structured is None or not texts:
        return
    counts["both"] += 1
    counts["agree"] += any((t.minimum, t.maximum, t.currency) == (structured.minimum, structured.maximum,
                                                                   structured.currency) for t in texts)


def _score_baseline(posting: PayPosting, counts: Counter) -> None:
    amounts = [float(m.group(1).replace(",", "")) * (1000 if m.group(2) else 1)
               for m in ANY_AMOUNT.finditer(posting.text) if _is_number(m.group(1).replace(",", ""))]
    says_pay = bool(amounts) or posting.structured is not None
    gold = posting.labels.primary
    if says_pay and gold is not None:
        counts["b_tp"] += 1
        counts["b_min_ok"] += bool(amounts) and amounts[0] == gold.minimum
        counts["b_max_ok"] += len(amounts) > 1 and amounts[1] == gold.maximum
    elif says_pay:
        counts["b_fp"] += 1
    elif gold is not None:
        counts["b_fn"] += 1


def _score_seniority(posting: PayPosting, counts: Counter, disagreements: list[str]) -> None:
    found = seniority(posting.title, posting.source_kind)
    labelled = posting.labels.seniority
    counts["seniority_ok"] += found == labelled
    baseline = "senior" if re.search(r"\bsenior\b|\bsr\b", posting.title, re.I) else "mid"
    counts["b_seniority_ok"] += baseline == labelled
    if found != labelled:
        disagreements.append(f"{posting.id} seniority: {found} for {labelled} ({posting.title[:70]!r})")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _show(pay) -> str:
    return f"{pay.component} {pay.minimum}-{pay.maximum} {pay.currency} {pay.interval} ({pay.source}: " \
           f"{pay.evidence[:60]!r})"


def report(scores: PayScores, name: str, *, show: int = 20) -> str:
    """The figures as text: each beside its baseline, the refusals by reason, then ``show`` disagreements."""
    rates = shipped_rates()
    lines = [
        f"{name}: {scores.postings} postings; currency table of {rates.date}",
        f"{'':28}{'extractor':38}baseline",
        f"{'has pay: precision':28}{scores.precision!s:38}{scores.baseline_precision}   (any currency amount)",
        f"{'has pay: recall':28}{scores.recall!s:38}{scores.baseline_recall}",
        f"{'exact min (found ranges)':28}{scores.exact_min!s:38}{scores.baseline_exact_min}   (first two amounts)",
        f"{'exact max (found ranges)':28}{scores.exact_max!s:38}{scores.baseline_exact_max}",
        f"{'currency (found ranges)':28}{scores.exact_currency!s:38}",
        f"{'structured = text':28}{scores.agreement!s:38}   (postings with both)",
        f"{'seniority accuracy':28}{scores.seniority!s:38}{scores.baseline_seniority}   (senior if said, else mid)",
        "refused: " + (", ".join(f"{reason} {n}" for reason, n in scores.refusals.most_common()) or "none"),
    ]
    shown = scores.disagreements if show < 0 else scores.disagreements[:show]
    if shown:
        lines += [f"disagreements ({len(scores.disagreements)}):", *(f"  {d}" for d in shown)]
    return "\n".join(lines)
