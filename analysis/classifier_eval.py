"""Measure the role classifier on a labelled set, next to the title-only rule and the weak rules, with intervals.

Every posting of the sets was labelled ``ai_swe``, ``ml_engineer`` or ``not_ai`` by reading its whole body
(``docs/labelling-roles.md``). Figures:

- **three-way**: accuracy, macro-F1 over the three labels and the confusion matrix (rows: labelled, columns:
  predicted), where a prediction is ``not_ai`` unless the posting is an AI role, else its role;
- **relevance**: precision, recall and F1 of "is an AI/ML engineering role";
- **role**: on the labelled AI postings only, macro-F1 and each role's recall from the role head (whatever the
  relevance said), and the Brier score of P(ml_engineer);
- **calibration**: expected calibration error (10 equal-width bins) of the three-way confidence (the probability
  of the label predicted, against whether it was right), of P(AI role) against being an AI role, and of
  P(ml_engineer) against being an ML Engineer posting, on AI postings;
- **baselines**: :func:`analysis.role_rules.title_rule` (the title alone) and the weak rules
  (:func:`analysis.role_rules.weak_label`; where they abstain the title rule answers), plus the weak rules'
  accuracy where they commit, beside the model's on the same postings.

Intervals are 95 % percentile bootstrap intervals over **companies** (a company's postings are drawn together: a
Hacker News company reposts nearly the same text every month, so postings are not independent), 2,000 draws,
fixed seed; the model's gain over the title rule is bootstrapped paired (both on each draw).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.classifier import RoleModel
from analysis.classify import RoleGoldPosting
from analysis.role_rules import AI_SWE, LABELS, ML_ENGINEER, NOT_AI, title_rule, weak_label
from jobtrend.output import render

DRAWS = 2000
SEED = 0
BINS = 10


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 (0 where undefined)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def macro_f1(pairs: Sequence[tuple[str, str]], labels) -> float:
    """Mean F1 over ``labels`` of (gold, predicted) pairs."""
    values = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in pairs)
        fp = sum(g != label and p == label for g, p in pairs)
        fn = sum(g == label and p != label for g, p in pairs)
        values.append(f1(tp, fp, fn)[2])
    return sum(values) / len(values)


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error: the bin-weighted mean gap between confidence and accuracy."""
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(confidence[mask].mean() - correct[mask].mean())
    return total / len(confidence)


@dataclass(frozen=True)
class Predictions:
    """One predictor's answers on a labelled set: three-way labels, role labels for every posting (used on the
    labelled AI ones), and, for the model, its probabilities."""

    name: str
    labels: list[str]
    roles: list[str]
    p_ai: np.ndarray | None = None
    p_ml: np.ndarray | None = None


def figures(gold: Sequence[str], p: Predictions, rows: np.ndarray | None = None) -> dict[str, float]:
    """Every figure of one predictor on the postings ``rows`` (all when None)."""
    rows = np.arange(len(gold)) if rows is None else rows
    g = [gold[i] for i in rows]
    pred = [p.labels[i] for i in rows]
    pairs = list(zip(g, pred, strict=True))
    relevant = [(a != NOT_AI, b != NOT_AI) for a, b in pairs]
    precision, recall, relevance_f1 = f1(sum(a and b for a, b in relevant), sum(b and not a for a, b in relevant),
                                         sum(a and not b for a, b in relevant))
    ai = [i for i in rows if gold[i] != NOT_AI]
    role_pairs = [(gold[i], p.roles[i]) for i in ai]
    out = {"accuracy": sum(a == b for a, b in pairs) / max(1, len(pairs)), "macro_f1": macro_f1(pairs, LABELS),
           "relevance_p": precision, "relevance_r": recall, "relevance_f1": relevance_f1,
           "role_macro_f1": macro_f1(role_pairs, (AI_SWE, ML_ENGINEER)) if role_pairs else 0.0}
    for role in (AI_SWE, ML_ENGINEER):
        of_role = [(a, b) for a, b in role_pairs if a == role]
        out[f"recall_{role}"] = sum(a == b for a, b in of_role) / max(1, len(of_role))
    if p.p_ai is not None and p.p_ml is not None:
        p_ai, p_ml = p.p_ai[rows], p.p_ml[rows]
        confidence = np.where(np.array(pred) == NOT_AI, 1 - p_ai,
                              p_ai * np.where(np.array(pred) == ML_ENGINEER, p_ml, 1 - p_ml))
        out["ece"] = ece(confidence, np.array([a == b for a, b in pairs], dtype=float))
        out["ece_relevance"] = ece(p_ai, np.array([a != NOT_AI for a in g], dtype=float))
        ai_mask = np.array([a != NOT_AI for a in g])
        if ai_mask.any():
            is_ml = np.array([a == ML_ENGINEER for a in g])[ai_mask]
            out["brier"] = float(np.mean((p_ml[ai_mask] - is_ml) ** 2))
            out["ece_role"] = ece(p_ml[ai_mask], is_ml.astype(float))
    return out


def company_of(posting: RoleGoldPosting) -> str:
    """The company a posting belongs to, for the cluster bootstrap: the board, or the Hacker News poster's first
    words (a company's monthly reposts share them)."""
    if posting.source.startswith("hn:"):
        return "hn:" + " ".join(posting.title.lower().split()[:2])
    return posting.source if not posting.source.startswith("board:") else f"{posting.source}:{posting.external_id}"


def bootstrap(clusters: Sequence[str], statistic: Callable[[np.ndarray], dict[str, float]],
              draws: int = DRAWS, seed: int = SEED) -> dict[str, tuple[float, float]]:
    """95 % percentile intervals of each figure ``statistic(rows)`` returns, resampling whole clusters."""
    names = sorted(set(clusters))
    members = {name: [] for name in names}
    for i, c in enumerate(clusters):
        members[c].append(i)
    groups = [np.array(members[n]) for n in names]
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(draws):
        picked = rng.integers(0, len(groups), len(groups))
        rows = np.concatenate([groups[k] for k in picked])
        for key, value in statistic(rows).items():
            samples.setdefault(key, []).append(value)
    return {k: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) for k, v in samples.items()}


@dataclass(frozen=True)
class Evaluation:
    """Figures with intervals for each predictor on one labelled set, and the model's paired gains."""

    postings: int
    label_counts: dict[str, int]
    figures: dict[str, dict[str, float]]  # predictor -> figure -> value
    intervals: dict[str, dict[str, tuple[float, float]]]  # predictor -> figure -> (low, high)
    gain: dict[str, tuple[float, tuple[float, float]]]  # "macro_f1 over title rule" -> (value, interval)
    confusion: dict[str, dict[tuple[str, str], int]]
    weak_committed: tuple[int, float, float]  # postings where the weak rules commit; their accuracy, the model's


def model_predictions(model: RoleModel, gold: Sequence[RoleGoldPosting]) -> Predictions:
    """The model's answers on ``gold``, with its probabilities."""
    predicted = model.predict([(g.title, g.text) for g in gold], evidence=False)
    return Predictions(f"model {model.version}", [p.role if p.is_ai_role else NOT_AI for p in predicted],
                       [ML_ENGINEER if p.ml_probability >= 0.5 else AI_SWE for p in predicted],
                       np.array([p.relevance_probability for p in predicted]),
                       np.array([p.ml_probability for p in predicted]))


def baseline_predictions(gold: Sequence[RoleGoldPosting], weak: Sequence[str | None]) -> list[Predictions]:
    """The title rule's answers on ``gold``, and the weak rules' (``weak``, None where they abstain, when the
    title rule answers)."""
    titles = [title_rule(g.title) for g in gold]
    roles = [t if t != NOT_AI else AI_SWE for t in titles]
    return [Predictions("title-only rule", titles, roles),
            Predictions("weak rules (title rule where they abstain)",
                        [w if w is not None else t for w, t in zip(weak, titles, strict=True)], roles)]


def weak_three_way(posting: RoleGoldPosting) -> str | None:
    """The weak rules' three-way label, or None where they abstain."""
    label = weak_label(posting.title, posting.text)
    if label.relevant is None:
        return None
    if not label.relevant:
        return NOT_AI
    return label.role


def evaluate(model: RoleModel, gold: Sequence[RoleGoldPosting], draws: int = DRAWS) -> Evaluation:
    """Every figure of the model and the baselines on ``gold``, with company-bootstrap intervals."""
    truth = [g.label for g in gold]
    weak = [weak_three_way(g) for g in gold]
    answers = [model_predictions(model, gold), *baseline_predictions(gold, weak)]
    clusters = [company_of(g) for g in gold]
    values = {p.name: figures(truth, p) for p in answers}
    model_p, title_p = answers[0], answers[1]

    def paired(rows: np.ndarray) -> dict[str, float]:
        out = {}
        for p in answers:
            for key, value in figures(truth, p, rows).items():
                out[f"{p.name}|{key}"] = value
        out["gain|macro_f1"] = out[f"{model_p.name}|macro_f1"] - out[f"{title_p.name}|macro_f1"]
        return out

    spread = bootstrap(clusters, paired, draws)
    intervals: dict[str, dict[str, tuple[float, float]]] = {}
    for key, interval in spread.items():
        name, figure = key.split("|", 1)
        intervals.setdefault(name, {})[figure] = interval
    gain = {"macro-F1 over the title rule": (values[model_p.name]["macro_f1"] - values[title_p.name]["macro_f1"],
                                             intervals["gain"]["macro_f1"])}
    confusion = {p.name: {(a, b): sum(1 for t, q in zip(truth, p.labels, strict=True) if (t, q) == (a, b))
                          for a in LABELS for b in LABELS} for p in answers}
    committed = [i for i, w in enumerate(weak) if w is not None]
    weak_accuracy = sum(weak[i] == truth[i] for i in committed) / max(1, len(committed))
    model_accuracy = sum(model_p.labels[i] == truth[i] for i in committed) / max(1, len(committed))
    counts = {label: truth.count(label) for label in LABELS}
    return Evaluation(len(gold), counts, values, intervals, gain, confusion,
                      (len(committed), weak_accuracy, model_accuracy))


COLUMNS = (("macro_f1", "macro-F1"), ("accuracy", "accuracy"), ("relevance_p", "relevance P"),
           ("relevance_r", "relevance R"), ("relevance_f1", "relevance F1"), ("role_macro_f1", "role macro-F1"),
           ("recall_ai_swe", "recall ai_swe"), ("recall_ml_engineer", "recall ml_engineer"))


def report(evaluation: Evaluation, title: str = "labelled set") -> str:
    """The figures with intervals, predictors as rows, then calibration, the gains and the confusion matrices."""
    e = evaluation
    lines = [f"{title}: {e.postings} postings ({', '.join(f'{k} {v}' for k, v in e.label_counts.items())}); "
             "95 % company-bootstrap intervals", ""]
    rows = []
    for name, values in e.figures.items():
        spread = e.intervals.get(name, {})
        rows.append((name, *(_with_interval(values[key], spread.get(key)) for key, _ in COLUMNS)))
    lines.append(render(("predictor", *(label for _, label in COLUMNS)), rows))
    model_name = next(iter(e.figures))
    model = e.figures[model_name]
    spread = e.intervals.get(model_name, {})
    if "ece" in model:
        lines += ["", "calibration of the model: expected calibration error (10 bins) "
                  f"three-way {_with_interval(model['ece'], spread.get('ece'))}, "
                  f"relevance {_with_interval(model['ece_relevance'], spread.get('ece_relevance'))}, "
                  f"role {_with_interval(model.get('ece_role', 0.0), spread.get('ece_role'))}; "
                  f"role Brier {_with_interval(model.get('brier', 0.0), spread.get('brier'))}"]
    for name, (value, (low, high)) in e.gain.items():
        lines.append(f"model gain, {name}: {value:+.3f} (paired 95 % interval {low:+.3f} to {high:+.3f})")
    n, weak_accuracy, model_accuracy = e.weak_committed
    lines.append(f"where the weak rules commit ({n} of {e.postings}): weak rules accuracy {weak_accuracy:.3f}, "
                 f"model {model_accuracy:.3f}")
    for name, confusion in e.confusion.items():
        lines += ["", f"confusion, {name} (rows: labelled, columns: predicted)",
                  render(("labelled", *LABELS), [(a, *(confusion[(a, b)] for b in LABELS)) for a in LABELS])]
    return "\n".join(lines)


def _with_interval(value: float, interval: tuple[float, float] | None) -> str:
    return f"{value:.3f}" if interval is None else f"{value:.3f} ({interval[0]:.2f}-{interval[1]:.2f})"


def reliability_png(model: RoleModel, gold: Sequence[RoleGoldPosting], title: str) -> bytes:
    """A reliability diagram (PNG) of the model's three-way confidence and of P(AI role) on ``gold``."""
    # matplotlib adds 0.43 s to `import analysis.classifier_eval` (1.31 s to 1.74 s, measured with /usr/bin/time),
    # paid by every `jobtrend classify` / `jobtrend classifier` command; only `classifier evaluate --reliability` draws.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    model_p = model_predictions(model, gold)
    truth = [g.label for g in gold]
    labels = np.array(model_p.labels)
    p_ai, p_ml = model_p.p_ai, model_p.p_ml
    confidence = np.where(labels == NOT_AI, 1 - p_ai, p_ai * np.where(labels == ML_ENGINEER, p_ml, 1 - p_ml))
    correct = np.array([a == b for a, b in zip(truth, labels, strict=True)], dtype=float)
    is_ai = np.array([t != NOT_AI for t in truth], dtype=float)
    figure = Figure(figsize=(9, 4.2), dpi=110)  # no pyplot: no global backend, nothing to close
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2)
    for axis, (x, y, name) in zip(axes, ((confidence, correct, "three-way confidence"),
                                         (p_ai, is_ai, "P(AI/ML engineering role)")), strict=True):
        edges = np.linspace(0, 1, BINS + 1)
        which = np.clip(np.digitize(x, edges[1:-1]), 0, BINS - 1)
        centres, observed, sizes = [], [], []
        for b in range(BINS):
            mask = which == b
            if mask.any():
                centres.append(x[mask].mean())
                observed.append(y[mask].mean())
                sizes.append(int(mask.sum()))
        axis.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="perfectly calibrated")
        axis.plot(centres, observed, marker="o", color="#1f5fa8", label="model")
        for cx, oy, n in zip(centres, observed, sizes, strict=True):
            axis.annotate(str(n), (cx, oy), textcoords="offset points", xytext=(4, -10), fontsize=7)
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
        axis.set_xlabel(f"predicted {name}")
        axis.set_ylabel("observed frequency")
        axis.set_title(f"{name}: ECE {ece(x, y):.3f}", fontsize=10)
        axis.legend(loc="upper left", fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
