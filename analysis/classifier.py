"""The role classifier: is a posting an AI/ML engineering role, and is it an AI Software Engineer or an ML Engineer?

Two scikit-learn pipelines, trained on weak labels (:mod:`analysis.role_rules`):

- **relevance**: TF-IDF of the title and, separately, of the body (title removed), a linear SVM, calibrated with
  Platt scaling over five folds. A title from a non-engineering job family (sales, design, product management, ...)
  is never an AI engineering role, whatever the model says: the job family is a title question.
- **role**: TF-IDF word 1-2-grams of the body only (title removed), so the label comes from what the text
  emphasises, then the same calibrated linear SVM. ``probability`` is the calibrated probability of the chosen
  role: near 0.5 means a mixed posting.

Training is deterministic (fixed seeds, unshuffled folds, sorted examples), takes seconds, and the model's
``version`` is a hash of the training examples, the parameters and the scikit-learn version, so the same data
gives the same version and the same predictions. Models are saved with skops (no pickle); loading checks every
type in the file against a fixed allow-list of scikit-learn, NumPy and SciPy types.

Evidence: for a linear model, each term present in a text pushes the decision by (its TF-IDF weight x its
coefficient). :meth:`RoleModel.predict` keeps the strongest terms each way.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from analysis.role_rules import AI_SWE, ML_ENGINEER, body_without_title, title_family, weak_label

MODEL_FORMAT = 1
SEED = 0
PARAMS = {
    "body_tfidf": {"ngram_range": [1, 2], "min_df": 2, "max_df": 0.9, "sublinear_tf": True,
                   "stop_words": "english"},
    "title_tfidf": {"ngram_range": [1, 2]},
    "svm_C": 0.5,
    "calibration": {"method": "sigmoid", "cv": 5},
}
EVIDENCE_TERMS = 8
MIN_RELEVANCE_EXAMPLES = 50  # per class
MIN_ROLE_EXAMPLES = 30  # per class


class ModelError(Exception):
    """No usable model: missing, unreadable, of another format, or not enough training data."""


@dataclass(frozen=True)
class Example:
    """One training posting: a stable key, its title and body (title removed), and its weak labels."""

    key: str
    title: str
    body: str
    relevant: bool | None
    role: str | None


def weak_examples(postings: Iterable[tuple[str, str, str]],
                  progress: Callable[[int, int], None] | None = None) -> list[Example]:
    """Weak-label ``(key, title, text)`` triples; the result is sorted by key (training order is fixed).
    ``progress(done, total)`` is called every 500 postings and at the end when ``postings`` has a length."""
    examples = []
    total = len(postings) if progress is not None and isinstance(postings, Sized) else 0
    for done, (key, title, text) in enumerate(postings, start=1):
        if progress is not None and (done % 500 == 0 or done == total):
            progress(done, max(total, done))
        body = body_without_title(title, text or "")
        if not body:
            continue
        label = weak_label(title, body)
        examples.append(Example(key, title or "", body, label.relevant, label.role))
    return sorted(examples, key=lambda e: e.key)


@dataclass(frozen=True)
class Prediction:
    """The classifier's verdict on one posting, with the terms that drove it."""

    is_ai_role: bool
    relevance_probability: float
    role: str | None  # None when not an AI role
    probability: float | None  # P(role) of the chosen role
    ml_probability: float  # P(ml_engineer) from the body, whatever the relevance
    evidence: dict = field(default_factory=dict)


def _tfidf(params: dict) -> TfidfVectorizer:
    options = dict(params)
    options["ngram_range"] = tuple(options["ngram_range"])
    return TfidfVectorizer(dtype=np.float32, **options)


def _svm() -> CalibratedClassifierCV:
    calibration = PARAMS["calibration"]
    return CalibratedClassifierCV(LinearSVC(C=PARAMS["svm_C"], class_weight="balanced", random_state=SEED),
                                  method=calibration["method"], cv=calibration["cv"], ensemble=False)


def _relevance_pipeline() -> Pipeline:
    features = ColumnTransformer([("title", _tfidf(PARAMS["title_tfidf"]), 0),
                                 ("body", _tfidf(PARAMS["body_tfidf"]), 1)])
    return Pipeline([("features", features), ("svm", _svm())])


def _role_pipeline() -> Pipeline:
    return Pipeline([("tfidf", _tfidf(PARAMS["body_tfidf"])), ("svm", _svm())])


def _rows(pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    array = np.empty((len(pairs), 2), dtype=object)
    for i, (title, body) in enumerate(pairs):
        array[i, 0], array[i, 1] = title, body
    return array


def model_version(examples: Sequence[Example]) -> str:
    """A hash of the training examples, the parameters, the seed and the scikit-learn version."""
    digest = hashlib.sha256()
    header = {"format": MODEL_FORMAT, "params": PARAMS, "seed": SEED, "sklearn": sklearn.__version__}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for e in examples:
        digest.update(json.dumps([e.key, e.title, e.body, e.relevant, e.role]).encode())
    return digest.hexdigest()[:12]


def train(examples: Sequence[Example], progress: Callable[[int, int], None] | None = None) -> RoleModel:
    """Fit both pipelines on the labelled ``examples`` (abstentions are left out); raise ModelError when a
    class has too few examples to learn from. ``progress(done, 2)`` follows the two fits."""
    progress = progress or (lambda _done, _total: None)
    examples = sorted(examples, key=lambda e: e.key)
    relevance = [e for e in examples if e.relevant is not None]
    roles = [e for e in examples if e.relevant and e.role is not None]
    counts = {"relevant": sum(e.relevant for e in relevance), "not_relevant": sum(not e.relevant for e in relevance),
              AI_SWE: sum(e.role == AI_SWE for e in roles), ML_ENGINEER: sum(e.role == ML_ENGINEER for e in roles)}
    for name, n in counts.items():
        minimum = MIN_RELEVANCE_EXAMPLES if name in ("relevant", "not_relevant") else MIN_ROLE_EXAMPLES
        if n < minimum:
            raise ModelError(f"too little training data: {n} weakly labelled '{name}' postings, need {minimum}; "
                             "crawl more boards or train on the bundled data (jobtrend classifier train --bundled)")
    progress(0, 2)
    relevance_model = _relevance_pipeline().fit(_rows([(e.title, e.body) for e in relevance]),
                                                np.array([int(e.relevant) for e in relevance]))
    progress(1, 2)
    role_model = _role_pipeline().fit([e.body for e in roles], np.array([int(e.role == ML_ENGINEER) for e in roles]))
    progress(2, 2)
    meta = {"examples": len(examples), "labelled": counts, "abstained_relevance": len(examples) - len(relevance),
            "sklearn": sklearn.__version__, "python": platform.python_version(), "params": PARAMS}
    return RoleModel(relevance_model, role_model, model_version(examples), meta)


class RoleModel:
    """The two fitted pipelines, the model version and what it was trained on."""

    def __init__(self, relevance: Pipeline, role: Pipeline, version: str, meta: dict):
        self.relevance, self.role, self.version, self.meta = relevance, role, version, meta
        self._relevance_terms = np.array(
            [f"title:{t}" for t in relevance.named_steps["features"].named_transformers_["title"]
             .get_feature_names_out()]
            + list(relevance.named_steps["features"].named_transformers_["body"].get_feature_names_out()),
            dtype=object)
        self._relevance_coef = _coefficients(relevance.named_steps["svm"])
        self._role_terms = np.asarray(role.named_steps["tfidf"].get_feature_names_out(), dtype=object)
        self._role_coef = _coefficients(role.named_steps["svm"])

    def predict(self, items: Sequence[tuple[str, str]], *, evidence: bool = True) -> list[Prediction]:
        """Classify ``(title, text)`` pairs; ``text`` is the stored description (its title is removed here)."""
        if not items:
            return []
        titles = [title or "" for title, _ in items]
        bodies = [body_without_title(title, text or "") for title, text in items]
        relevance_x = self.relevance.named_steps["features"].transform(_rows(list(zip(titles, bodies, strict=True))))
        relevance_p = self.relevance.named_steps["svm"].predict_proba(relevance_x)[:, 1]
        relevance_x = relevance_x.tocsr()
        role_x = self.role.named_steps["tfidf"].transform(bodies).tocsr()
        ml_p = self.role.named_steps["svm"].predict_proba(role_x)[:, 1]
        results = []
        for i, title in enumerate(titles):
            non_engineering = title_family(title) == "non_engineering"
            relevant = bool(relevance_p[i] >= 0.5) and not non_engineering
            role = (ML_ENGINEER if ml_p[i] >= 0.5 else AI_SWE) if relevant else None
            probability = (float(ml_p[i]) if role == ML_ENGINEER else float(1 - ml_p[i])) if role else None
            detail = {}
            if evidence:
                detail = {"role": _pushes(role_x, i, self._role_coef, self._role_terms, ML_ENGINEER, AI_SWE),
                          "relevance": _pushes(relevance_x, i, self._relevance_coef, self._relevance_terms,
                                               "ai_role", "not_ai_role")}
                if non_engineering:
                    detail["relevance"]["rule"] = "non-engineering job title"
            results.append(Prediction(relevant, float(relevance_p[i]), role, probability, float(ml_p[i]), detail))
        return results

    def save(self, path: Path) -> None:
        """Write the model with skops (written to a temporary file, then renamed into place)."""
        import skops.io

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # two processes saving never share one
        skops.io.dump({"format": MODEL_FORMAT, "version": self.version, "meta": json.dumps(self.meta),
                       "relevance": self.relevance, "role": self.role}, tmp)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> RoleModel:
        """Read a model written by :meth:`save`, refusing any type outside the allow-list."""
        import skops.io

        path = Path(path)
        if not path.exists():
            raise ModelError(f"no role model at {path}: run `jobtrend classifier train` (or `jobtrend init`)")
        try:
            untrusted = skops.io.get_untrusted_types(file=path)
            refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
            if refused:
                raise ModelError(f"{path}: refusing to load types {', '.join(sorted(refused))}")
            data = skops.io.load(path, trusted=untrusted)
        except ModelError:
            raise
        except Exception as exc:  # a truncated or foreign file: skops raises many kinds
            raise ModelError(f"{path}: not a readable jobtrend model ({type(exc).__name__}: {exc})") from None
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise ModelError(f"{path}: model format {data.get('format') if isinstance(data, dict) else '?'}, "
                             f"expected {MODEL_FORMAT}: retrain with `jobtrend classifier train`")
        return cls(data["relevance"], data["role"], data["version"], json.loads(data["meta"]))


TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


def _coefficients(calibrated: CalibratedClassifierCV) -> np.ndarray:
    """The linear SVM's coefficients (one fitted estimator: the model is calibrated with ``ensemble=False``)."""
    return np.asarray(calibrated.calibrated_classifiers_[0].estimator.coef_).ravel()


def _pushes(matrix, i: int, coef: np.ndarray, terms: np.ndarray, positive: str, negative: str) -> dict:
    """The terms of row ``i`` of a CSR TF-IDF matrix that pushed most towards ``positive`` and ``negative``."""
    start, end = matrix.indptr[i], matrix.indptr[i + 1]
    indices = matrix.indices[start:end]
    contributions = matrix.data[start:end] * coef[indices]
    order = np.argsort(contributions)
    towards_negative = [(str(terms[indices[j]]), round(float(contributions[j]), 4))
                        for j in order[:EVIDENCE_TERMS] if contributions[j] < 0]
    towards_positive = [(str(terms[indices[j]]), round(float(contributions[j]), 4))
                        for j in order[::-1][:EVIDENCE_TERMS] if contributions[j] > 0]
    return {positive: towards_positive, negative: towards_negative}
