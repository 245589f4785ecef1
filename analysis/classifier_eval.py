"""Measure the role classifier on the gold set (``tests/data/roles_gold.jsonl.gz``), next to the title-only rule.

Every gold posting was labelled ``ai_swe``, ``ml_engineer`` or ``not_ai`` by reading its whole body
(``docs/labelling-roles.md``); none is ever trained on. Figures:

- **three-way**: accuracy, macro-F1 over the three labels, and the confusion matrix (rows: gold, columns:
  predicted), where a prediction is ``not_ai`` unless the posting is an AI role, else its role;
- **relevance**: precision, recall and F1 of "is an AI/ML engineering role" (``ai_swe`` or ``ml_engineer``);
- **role**: on the gold AI postings only, accuracy and macro-F1 of ai_swe vs ml_engineer from the role model
  (whatever the relevance model said), and the Brier score of its probability of ``ml_engineer``;
- the same figures for :func:`analysis.role_rules.title_rule`, the title-only baseline, so the gain is visible.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.classifier import RoleModel
from analysis.classify import GoldPosting, load_gold  # noqa: F401  (load_gold: the gold set this module scores)
from analysis.role_rules import AI_SWE, LABELS, ML_ENGINEER, NOT_AI, title_rule
from jobtrend.output import render


@dataclass(frozen=True)
class Scores:
    """The figures of one predictor on the gold set."""

    name: str
    accuracy: float
    macro_f1: float
    confusion: dict[tuple[str, str], int]  # (gold, predicted) -> count
    relevance: tuple[float, float, float]  # precision, recall, F1
    role_accuracy: float
    role_macro_f1: float
    brier: float | None  # role model only: mean squared error of P(ml_engineer) on gold AI postings
    postings: int


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 (0 where undefined)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def macro_f1(pairs: list[tuple[str, str]], labels) -> float:
    """Mean F1 over ``labels`` of (gold, predicted) pairs."""
    values = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in pairs)
        fp = sum(g != label and p == label for g, p in pairs)
        fn = sum(g == label and p != label for g, p in pairs)
        values.append(f1(tp, fp, fn)[2])
    return sum(values) / len(values)


def score(name: str, gold: list[GoldPosting], predicted: list[str], role_predicted: list[str],
          ml_probability: list[float] | None = None) -> Scores:
    """Figures for three-way predictions, plus role predictions for every posting (used on gold AI ones)."""
    pairs = list(zip([g.label for g in gold], predicted, strict=True))
    confusion = {(g, p): sum(1 for pair in pairs if pair == (g, p)) for g in LABELS for p in LABELS}
    relevant = [(g != NOT_AI, p != NOT_AI) for g, p in pairs]
    relevance = f1(sum(g and p for g, p in relevant), sum(p and not g for g, p in relevant),
                   sum(g and not p for g, p in relevant))
    ai = [i for i, g in enumerate(gold) if g.label != NOT_AI]
    role_pairs = [(gold[i].label, role_predicted[i]) for i in ai]
    brier = None
    if ml_probability is not None and ai:
        brier = sum((ml_probability[i] - (gold[i].label == ML_ENGINEER)) ** 2 for i in ai) / len(ai)
    return Scores(name, sum(g == p for g, p in pairs) / len(pairs), macro_f1(pairs, LABELS), confusion,
                  relevance, sum(g == p for g, p in role_pairs) / max(1, len(role_pairs)),
                  macro_f1(role_pairs, (AI_SWE, ML_ENGINEER)), brier, len(pairs))


def evaluate(model: RoleModel, gold: list[GoldPosting]) -> tuple[Scores, Scores]:
    """The model's figures and the title-only rule's, on the same postings."""
    predictions = model.predict([(g.title, g.text) for g in gold], evidence=False)
    model_scores = score(f"model {model.version}", gold,
                         [p.role if p.is_ai_role else NOT_AI for p in predictions],
                         [ML_ENGINEER if p.ml_probability >= 0.5 else AI_SWE for p in predictions],
                         [p.ml_probability for p in predictions])
    titles = [title_rule(g.title) for g in gold]
    title_scores = score("title-only rule", gold, titles, [t if t != NOT_AI else AI_SWE for t in titles])
    return model_scores, title_scores


def report(results: tuple[Scores, ...]) -> str:
    """The figures side by side, then each predictor's confusion matrix."""
    rows = []
    for s in results:
        p, r, f = s.relevance
        rows.append((s.name, f"{s.accuracy:.3f}", f"{s.macro_f1:.3f}", f"{p:.3f}", f"{r:.3f}", f"{f:.3f}",
                     f"{s.role_accuracy:.3f}", f"{s.role_macro_f1:.3f}", "" if s.brier is None else f"{s.brier:.3f}"))
    per_label = {label: sum(v for (g, _), v in results[0].confusion.items() if g == label) for label in LABELS}
    lines = [f"gold set: {results[0].postings} postings ({', '.join(f'{k} {v}' for k, v in per_label.items())})",
             "",
             render(("predictor", "accuracy", "macro-F1", "relevance P", "relevance R", "relevance F1",
                     "role accuracy", "role macro-F1", "role Brier"), rows)]
    for s in results:
        lines += ["", f"confusion, {s.name} (rows: gold, columns: predicted)",
                  render(("gold", *LABELS), [(g, *(s.confusion[(g, p)] for p in LABELS)) for g in LABELS])]
    return "\n".join(lines)
