"""The role classifier: is a posting an AI/ML engineering role, and is it an AI Software Engineer or an ML Engineer?

Two logistic-regression heads over one feature space (:class:`FeatureSpace`):

- **relevance** (AI/ML engineering role or not): the body's word TF-IDF, the body's lexicon phrases and emphasis
  scores (:mod:`analysis.role_features`), and the title as character n-grams, lexicon phrases, and the
  title-only rule's verdict and job family. A title from a non-engineering job family (sales, design, product
  management, ...) is never an AI engineering role, whatever the model says: the job family is a title question.
- **role** (``ml_engineer`` against ``ai_swe``): the body only (title removed), so the label comes from what the
  text emphasises and changing the title alone never changes the role.

Each head is trained on hand-labelled postings (``data/training/roles_hand.jsonl.gz`` and the dev set) and on
weak labels of many more (:mod:`analysis.role_rules`), the weak ones weighted ``weak_weight``; a posting labelled
by hand is never also weakly labelled. Probabilities are calibrated by Platt scaling fitted on out-of-fold scores
of the hand-labelled postings only, so ``P = 0.8`` means right about 8 times in 10 on postings read by people.

Training is deterministic (sorted examples, fixed folds and seeds); the model's ``version`` is a hash of the
training examples, the parameters and the scikit-learn version. The model file is a NumPy ``.npz`` archive of
plain arrays and one JSON header, read with ``allow_pickle=False``: nothing in it can run code, and it loads in
milliseconds.

Evidence: a linear head's decision is a sum of (feature value x coefficient); :meth:`RoleModel.predict` keeps the
strongest contributions each way (words, ``lex:`` phrases, ``title`` as one item, emphasis scores).
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np
import sklearn
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from analysis.role_features import LexiconFeatures, lexicon_phrases, title_flags
from analysis.role_rules import AI_SWE, ML_ENGINEER, NOT_AI, body_without_title, title_family, weak_label
from jobtrend.files import atomic_write
from jobtrend.messages import one_line

MODEL_FORMAT = 2
SEED = 0
PARAMS = {
    "body_tfidf": {"ngram_range": [1, 1], "min_df": 2, "max_df": 0.9, "max_features": 30000},
    "title_tfidf": {"analyzer": "char_wb", "ngram_range": [2, 4], "min_df": 2},
    "relevance_blocks": ["body", "lex", "lex_dense", "title", "title_lex", "title_dense", "title_flags"],
    "role_blocks": ["body", "lex", "lex_dense"],
    "relevance_C": 1.0,
    "role_C": 1.0,
    "weak_weight": 0.3,
    "calibration_folds": 5,
}
EVIDENCE_TERMS = 8
EVIDENCE_MIN = 0.005  # a feature pushing by less is never shown as evidence
MIN_RELEVANCE_EXAMPLES = 50  # per class
MIN_ROLE_EXAMPLES = 30  # per class
DENSE_BLOCKS = ("lex_dense", "title_dense", "title_flags")


class ModelError(Exception):
    """No usable model: missing, unreadable, of another format, or not enough training data."""


@dataclass(frozen=True)
class Example:
    """One training posting: a stable key, its title and body (title removed), and its labels; ``hand`` when a
    person read it (docs/labelling-roles.md), else the labels are the weak rules' (None: the rule abstained)."""

    key: str
    title: str
    body: str
    relevant: bool | None
    role: str | None
    hand: bool = False


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


def hand_examples(records: Iterable[dict]) -> list[Example]:
    """Examples of hand-labelled records (``id``, ``title``, ``text``, ``label``), sorted by key."""
    examples = []
    for r in records:
        body = body_without_title(r["title"], r["text"] or "")
        if body:
            relevant = r["label"] != NOT_AI
            examples.append(Example(f"hand:{r['id']}", r["title"] or "", body, relevant,
                                    r["label"] if relevant else None, hand=True))
    return sorted(examples, key=lambda e: e.key)


def combine(hand: Sequence[Example], weak: Sequence[Example]) -> list[Example]:
    """Hand-labelled examples plus the weak ones whose body no person labelled (a hand label wins)."""
    read = {" ".join(e.body.split()) for e in hand}
    return sorted([*hand, *(e for e in weak if " ".join(e.body.split()) not in read)], key=lambda e: e.key)


@dataclass(frozen=True)
class Prediction:
    """The classifier's verdict on one posting, with the terms that drove it."""

    is_ai_role: bool
    relevance_probability: float
    role: str | None  # None when not an AI role
    probability: float | None  # P(role) of the chosen role
    ml_probability: float  # P(ml_engineer) from the body, whatever the relevance
    evidence: dict = field(default_factory=dict)


class Tfidf:
    """Sublinear TF-IDF with a fixed vocabulary: fitted with scikit-learn, applied with a CountVectorizer, and
    saved as two arrays (terms, idf), so a saved model needs no pickled vectorizer."""

    def __init__(self, terms: Sequence[str], idf: np.ndarray, options: dict):
        self.terms = np.asarray(terms, dtype=str)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.options = dict(options)
        counting = {k: v for k, v in self.options.items() if k in ("analyzer", "ngram_range", "lowercase")}
        counting["ngram_range"] = tuple(counting.get("ngram_range", (1, 1)))
        self._index = {t: i for i, t in enumerate(self.terms.tolist())}
        self._words = counting.get("analyzer", "word") == "word" and counting["ngram_range"] == (1, 1)
        self._counter = CountVectorizer(vocabulary=self._index, dtype=np.float64, **counting)

    @classmethod
    def fit(cls, texts: Sequence[str], options: dict) -> Tfidf:
        settings = dict(options)
        settings["ngram_range"] = tuple(settings.get("ngram_range", (1, 1)))
        vectorizer = TfidfVectorizer(sublinear_tf=True, dtype=np.float64, **settings).fit(texts)
        return cls(vectorizer.get_feature_names_out(), vectorizer.idf_, options)

    def transform(self, texts: Sequence[str], *, lowered: bool = False) -> sparse.csr_matrix:
        """TF-IDF rows of ``texts`` (``lowered``: they are lower-cased already, as the vectorizer would)."""
        counts = self._count_words(texts, lowered) if self._words else self._counter.transform(texts).tocsr()
        counts.data = (np.log(counts.data) + 1.0) * self.idf[counts.indices]
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags(1.0 / norms) @ counts)


    def _count_words(self, texts: Sequence[str], lowered: bool = False) -> sparse.csr_matrix:
        """Word counts as scikit-learn's analyzer makes them (lower case, tokens of 2+ word characters), counted
        with :class:`collections.Counter` and looked up with ``map`` (both in C): about twice as fast as the
        CountVectorizer loop, and the same matrix."""
        lookup, find = self._index.get, TOKEN.findall
        rows, columns, values = [], [], []
        for row, text in enumerate(texts):
            counts = Counter(find(text if lowered else text.lower()))
            ids = np.fromiter(map(lookup, counts, repeat(-1)), dtype=np.int64, count=len(counts))
            known = ids >= 0
            columns.append(ids[known])
            values.append(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))[known])
            rows.append(np.full(int(known.sum()), row, dtype=np.int64))
        if not texts:
            return sparse.csr_matrix((0, len(self.terms)))
        matrix = sparse.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
                                   shape=(len(texts), len(self.terms)))
        matrix.sort_indices()
        return matrix


TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern


class FeatureSpace:
    """Every feature block of a posting; :meth:`blocks` returns them by name (see :data:`PARAMS`)."""

    def __init__(self, body: Tfidf, title: Tfidf, phrases: Sequence[tuple[str, str]], dense_scale: dict):
        self.body, self.title = body, title
        self.phrases = [tuple(p) for p in phrases]
        self.lexicon = LexiconFeatures(self.phrases, "lex:")
        self.title_lexicon = LexiconFeatures(self.phrases, "title-lex:")
        self.dense_scale = dense_scale
        _, flag_names = title_flags([])
        self.names = {
            "body": list(body.terms), "title": [f"title:{t}" for t in title.terms],
            "lex": self.lexicon.phrase_names, "lex_dense": self.lexicon.dense_names,
            "title_lex": self.title_lexicon.phrase_names, "title_dense": self.title_lexicon.dense_names,
            "title_flags": flag_names,
        }

    @classmethod
    def fit(cls, titles: Sequence[str], bodies: Sequence[str]) -> tuple[FeatureSpace, dict]:
        """The feature space of the training postings, and their blocks (computed once, for both heads)."""
        space = cls(Tfidf.fit(bodies, PARAMS["body_tfidf"]), Tfidf.fit(titles, PARAMS["title_tfidf"]),
                    lexicon_phrases(), {})
        blocks = space.blocks(titles, bodies, scaled=False)
        for name in DENSE_BLOCKS:  # scaled, not centred: a score of 0 (no such words) pushes nothing
            scale = np.sqrt((blocks[name] ** 2).mean(axis=0))
            space.dense_scale[name] = np.where(scale > 1e-9, scale, 1.0)
            blocks[name] = blocks[name] / space.dense_scale[name]
        return space, blocks

    def blocks(self, titles: Sequence[str], bodies: Sequence[str], *, scaled: bool = True) -> dict:
        lowered = [body.lower() for body in bodies]
        lex, lex_dense = self.lexicon.transform(lowered, lowered=True)
        title_lex, title_dense = self.title_lexicon.transform(titles)
        flags, _ = title_flags(titles)
        blocks = {"body": self.body.transform(lowered, lowered=True), "title": self.title.transform(titles), "lex": lex,
                  "lex_dense": lex_dense, "title_lex": title_lex, "title_dense": title_dense, "title_flags": flags}
        if scaled:
            for name in DENSE_BLOCKS:
                blocks[name] = blocks[name] / self.dense_scale[name]
        return blocks


def stack(blocks: dict, names: Sequence[str]) -> sparse.csr_matrix:
    """The named blocks side by side, as one sparse matrix."""
    return sparse.hstack([sparse.csr_matrix(blocks[n]) for n in names], format="csr")


class LinearHead:
    """One logistic regression over some feature blocks, with Platt calibration of its decision value."""

    def __init__(self, blocks: Sequence[str], coef: np.ndarray, intercept: float, platt: tuple[float, float]):
        self.blocks, self.coef, self.intercept, self.platt = list(blocks), np.asarray(coef), float(intercept), platt

    @classmethod
    def fit(cls, blocks: dict, names: Sequence[str], y: np.ndarray, weight: np.ndarray, hand: np.ndarray,
            C: float) -> LinearHead:
        x = stack(blocks, names)
        fitted = _logistic(C).fit(x, y, sample_weight=weight)
        folds = StratifiedKFold(PARAMS["calibration_folds"], shuffle=True, random_state=SEED)
        out_of_fold = np.zeros(len(y))
        for train_rows, test_rows in folds.split(np.zeros(len(y)), y):
            model = _logistic(C).fit(x[train_rows], y[train_rows], sample_weight=weight[train_rows])
            out_of_fold[test_rows] = model.decision_function(x[test_rows])
        platt = LogisticRegression(C=1e4).fit(out_of_fold[hand].reshape(-1, 1), y[hand])
        return cls(names, fitted.coef_.ravel(), fitted.intercept_[0],
                   (float(platt.coef_[0, 0]), float(platt.intercept_[0])))

    def decision(self, x: sparse.csr_matrix) -> np.ndarray:
        return x @ self.coef + self.intercept

    def probability(self, x: sparse.csr_matrix) -> np.ndarray:
        a, b = self.platt
        return 1.0 / (1.0 + np.exp(-(a * self.decision(x) + b)))


def _logistic(C: float) -> LogisticRegression:
    return LogisticRegression(C=C, class_weight="balanced", solver="liblinear", random_state=SEED)


def model_version(examples: Sequence[Example], params: dict | None = None) -> str:
    """A hash of the training examples, the parameters, the seed and the scikit-learn version."""
    digest = hashlib.sha256()
    header = {"format": MODEL_FORMAT, "params": params or PARAMS, "seed": SEED, "sklearn": sklearn.__version__,
              "lexicon": lexicon_phrases()}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for e in examples:
        digest.update(json.dumps([e.key, e.title, e.body, e.relevant, e.role, e.hand]).encode())
    return digest.hexdigest()[:12]


def train(examples: Sequence[Example], progress: Callable[[int, int], None] | None = None) -> RoleModel:
    """Fit both heads on the labelled ``examples`` (abstentions are left out); raise ModelError when a class has
    too few examples to learn from. ``progress(done, 3)`` follows the features and the two fits."""
    progress = progress or (lambda _done, _total: None)
    examples = sorted(examples, key=lambda e: e.key)
    relevance = [e for e in examples if e.relevant is not None]
    roles = [e for e in examples if e.relevant and e.role is not None]
    counts = {"relevant": sum(e.relevant for e in relevance), "not_relevant": sum(not e.relevant for e in relevance),
              AI_SWE: sum(e.role == AI_SWE for e in roles), ML_ENGINEER: sum(e.role == ML_ENGINEER for e in roles)}
    for name, n in counts.items():
        minimum = MIN_RELEVANCE_EXAMPLES if name in ("relevant", "not_relevant") else MIN_ROLE_EXAMPLES
        if n < minimum:
            raise ModelError(f"too little training data: {n} labelled '{name}' postings, need {minimum}; "
                             "crawl more boards or train on the bundled data (jobtrend classifier train --bundled)")
    progress(0, 3)
    space, blocks = FeatureSpace.fit([e.title for e in examples], [e.body for e in examples])
    progress(1, 3)
    relevance_head = _fit_head(blocks, examples, lambda e: e.relevant is not None, lambda e: e.relevant,
                               "relevance")
    progress(2, 3)
    role_head = _fit_head(blocks, examples, lambda e: e.relevant and e.role is not None,
                          lambda e: e.role == ML_ENGINEER, "role")
    progress(3, 3)
    hand = sum(e.hand for e in examples)
    meta = {"examples": len(examples), "hand_labelled": hand, "weakly_labelled": len(examples) - hand,
            "labelled": counts, "abstained_relevance": len(examples) - len(relevance),
            "sklearn": sklearn.__version__, "python": platform.python_version(), "params": PARAMS}
    return RoleModel(space, relevance_head, role_head, model_version(examples), meta)


def _fit_head(all_blocks: dict, all_examples: Sequence[Example], takes: Callable[[Example], bool],
              label: Callable[[Example], bool], name: str) -> LinearHead:
    """One head, fitted on the examples it ``takes`` (their rows of the training blocks)."""
    rows = np.array([i for i, e in enumerate(all_examples) if takes(e)], dtype=np.int64)
    examples = [all_examples[i] for i in rows]
    blocks = {block: matrix[rows] for block, matrix in all_blocks.items()}
    labels = [label(e) for e in examples]
    weight = np.array([1.0 if e.hand else PARAMS["weak_weight"] for e in examples])
    hand = np.array([e.hand for e in examples])
    if hand.sum() < 2 * PARAMS["calibration_folds"] or len(set(np.array(labels)[hand])) < 2:
        hand = np.ones(len(examples), dtype=bool)  # no hand labels to calibrate on: calibrate on all
    return LinearHead.fit(blocks, PARAMS[f"{name}_blocks"], np.array(labels, dtype=int), weight, hand,
                          PARAMS[f"{name}_C"])


class RoleModel:
    """The feature space, the two heads, the model version and what it was trained on."""

    def __init__(self, space: FeatureSpace, relevance: LinearHead, role: LinearHead, version: str, meta: dict):
        self.space, self.relevance, self.role, self.version, self.meta = space, relevance, role, version, meta
        self._names = {head: np.array([n for b in h.blocks for n in space.names[b]], dtype=object)
                       for head, h in (("relevance", relevance), ("role", role))}
        self._masks = {head: _masks(h.blocks, space) for head, h in (("relevance", relevance), ("role", role))}

    def predict(self, items: Sequence[tuple[str, str]], *, evidence: bool = True) -> list[Prediction]:
        """Classify ``(title, text)`` pairs; ``text`` is the stored description (its title is removed here)."""
        if not items:
            return []
        titles = [title or "" for title, _ in items]
        bodies = [body_without_title(title, text or "") for title, text in items]
        blocks = self.space.blocks(titles, bodies)
        relevance_x, role_x = stack(blocks, self.relevance.blocks), stack(blocks, self.role.blocks)
        relevance_p, ml_p = self.relevance.probability(relevance_x), self.role.probability(role_x)
        if evidence:
            role_evidence = self._evidence("role", role_x, titles, ML_ENGINEER, AI_SWE)
            relevance_evidence = self._evidence("relevance", relevance_x, titles, "ai_role", "not_ai_role")
        results = []
        for i, title in enumerate(titles):
            non_engineering = title_family(title) == "non_engineering"
            relevant = bool(relevance_p[i] >= 0.5) and not non_engineering
            role = (ML_ENGINEER if ml_p[i] >= 0.5 else AI_SWE) if relevant else None
            probability = (float(ml_p[i]) if role == ML_ENGINEER else float(1 - ml_p[i])) if role else None
            detail = {}
            if evidence:
                detail = {"role": role_evidence[i], "relevance": relevance_evidence[i]}
                if non_engineering:
                    detail["relevance"]["rule"] = "non-engineering job title"
            results.append(Prediction(relevant, float(relevance_p[i]), role, probability, float(ml_p[i]), detail))
        return results

    def _evidence(self, head: str, x: sparse.csr_matrix, titles: Sequence[str], positive: str,
                  negative: str) -> list[dict]:
        """For each row, the features that pushed most towards ``positive`` and ``negative``: the title's character
        n-grams summed into one item (``title "..."``), an emphasis score only when it pushes by more than 0.05, any
        other feature when it pushes by at least ``EVIDENCE_MIN``. The strongest terms of every row are found at
        once (one sort of the batch by row, side and size of the push)."""
        coef, names, is_title, is_score = (getattr(self, head).coef, self._names[head], *self._masks[head])
        rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
        values = x.data * coef[x.indices]
        title_total = np.bincount(rows[is_title[x.indices]], weights=values[is_title[x.indices]],
                                  minlength=x.shape[0])
        keep = ~is_title[x.indices] & ~(is_score[x.indices] & (np.abs(values) <= 0.05)) & (values != 0)
        rows, columns, values = rows[keep], x.indices[keep], values[keep]
        keep = np.abs(values) >= EVIDENCE_MIN  # far too small to be among a row's strongest: not sorted
        rows, columns, values = rows[keep], columns[keep], values[keep]
        group = rows * 2 + (values < 0)  # (row, side): the positive side first
        order = np.lexsort((-np.abs(values), group))
        group, columns, values = group[order], columns[order], values[order]
        top = (np.arange(len(group)) - np.searchsorted(group, group)) < EVIDENCE_TERMS  # strongest of each
        pairs = list(zip(names[columns[top]].tolist(), np.round(values[top], 4).tolist(), strict=True))
        ends = np.cumsum(np.bincount(group[top], minlength=2 * x.shape[0])).tolist()
        chunks = [pairs[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]
        per_side = {positive: chunks[0::2], negative: chunks[1::2]}
        result = [{positive: per_side[positive][row], negative: per_side[negative][row]}
                  for row in range(x.shape[0])]
        for row in np.flatnonzero(title_total).tolist():
            total = float(title_total[row])
            items = result[row][positive if total > 0 else negative]
            items.append((f'title "{one_line(titles[row])[:60]}"', round(total, 4)))  # no control characters
            items.sort(key=lambda item: -abs(item[1]))
            del items[EVIDENCE_TERMS:]
        return result

    def save(self, path: Path) -> None:
        """Write the model as an ``.npz`` archive, atomically (:func:`jobtrend.files.atomic_write`: a temporary
        file, fsynced, then renamed into place); :class:`jobtrend.files.WriteFailed` when it cannot be written."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"format": MODEL_FORMAT, "version": self.version, "meta": self.meta,
                  "phrases": self.space.phrases, "body_options": self.space.body.options,
                  "title_options": self.space.title.options,
                  "heads": {n: {"blocks": h.blocks, "intercept": h.intercept, "platt": list(h.platt)}
                            for n, h in (("relevance", self.relevance), ("role", self.role))}}
        arrays = {"header": np.array(json.dumps(header)),
                  "body_terms": self.space.body.terms, "body_idf": self.space.body.idf,
                  "title_terms": self.space.title.terms, "title_idf": self.space.title.idf,
                  "relevance_coef": self.relevance.coef, "role_coef": self.role.coef}
        for name in DENSE_BLOCKS:
            arrays[f"scale_{name}"] = self.space.dense_scale[name]
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        atomic_write(path, buffer.getvalue())  # a unique temporary name: two processes saving never share one

    @classmethod
    def load(cls, path: Path) -> RoleModel:
        """Read a model written by :meth:`save` (plain arrays only: ``allow_pickle=False``)."""
        path = Path(path)
        if not path.exists():
            raise ModelError(f"no role model at {path}: run `jobtrend classifier train` (or `jobtrend init`)")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            header = json.loads(str(arrays["header"]))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise ModelError(f"{path}: not a readable jobtrend model ({type(exc).__name__}: {exc}); retrain it "
                             "with `jobtrend classifier train`") from None
        if not isinstance(header, dict) or header.get("format") != MODEL_FORMAT:
            found = header.get("format") if isinstance(header, dict) else "?"
            raise ModelError(f"{path}: model format {found}, expected {MODEL_FORMAT}: retrain with "
                             "`jobtrend classifier train`")
        space = FeatureSpace(Tfidf(arrays["body_terms"], arrays["body_idf"], header["body_options"]),
                             Tfidf(arrays["title_terms"], arrays["title_idf"], header["title_options"]),
                             header["phrases"], {n: arrays[f"scale_{n}"] for n in DENSE_BLOCKS})
        heads = {name: LinearHead(h["blocks"], arrays[f"{name}_coef"], h["intercept"], tuple(h["platt"]))
                 for name, h in header["heads"].items()}
        return cls(space, heads["relevance"], heads["role"], header["version"], header["meta"])


def _masks(blocks: Sequence[str], space: FeatureSpace) -> tuple[np.ndarray, np.ndarray]:
    """Which columns of a head's stacked blocks are the title's character n-grams, and which are dense scores."""
    is_title, is_score = [], []
    for name in blocks:
        width = len(space.names[name])
        is_title += [name == "title"] * width
        is_score += [name in DENSE_BLOCKS and name != "title_flags"] * width
    return np.array(is_title, dtype=bool), np.array(is_score, dtype=bool)
