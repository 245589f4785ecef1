"""The role classifier: weak labelling, training and classification speed on the bundled corpus.

Example:
    .venv/bin/python benchmarks/bench_classifier.py

Times the weak-label rules and the training of both pipelines on the bundled corpus (data/training/, real
postings), then classification in batches of 500, with the evidence (as `jobtrend analyze` runs it) and
without it, over the whole corpus, best of three (CPU time of this process). The reference, in the same run, is
the TF-IDF transforms alone (the relevance pipeline's title and body vectorizers and the role pipeline's body
vectorizer on the same batches): the feature extraction every prediction needs. Target: at least 1,000
postings/s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis.classifier import _rows, body_without_title, train, weak_examples  # noqa: E402
from analysis.classify import bundled_training_postings  # noqa: E402
from benchmarks._figures import figure  # noqa: E402

BATCH = 500


def classify_rate(model, items, *, evidence: bool) -> float:
    return best_rate(items, lambda batch: model.predict(batch, evidence=evidence))


def transform_rate(model, items) -> float:
    """Postings/s of the three TF-IDF transforms :meth:`RoleModel.predict` runs, and nothing else."""
    features, role_tfidf = model.relevance.named_steps["features"], model.role.named_steps["tfidf"]

    def transform(batch):
        titles = [title or "" for title, _ in batch]
        bodies = [body_without_title(title, text or "") for title, text in batch]
        features.transform(_rows(list(zip(titles, bodies, strict=True))))
        role_tfidf.transform(bodies)
    return best_rate(items, transform)


def best_rate(items, work) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for i in range(0, len(items), BATCH):
            work(items[i:i + BATCH])
        best = min(best, time.process_time() - started)
    return len(items) / best


def main() -> int:
    postings = bundled_training_postings()
    started = time.perf_counter()
    examples = weak_examples(postings)
    labelled = time.perf_counter()
    model = train(examples)
    trained = time.perf_counter()
    mb = sum(len(text.encode()) for _, _, text in postings) / 1e6
    print(f"corpus: {len(postings)} postings, {mb:.1f} MB of text")
    print(f"weak labels: {labelled - started:.1f} s ({len(postings) / (labelled - started):.0f} postings/s)")
    print(f"training both pipelines: {trained - labelled:.1f} s (model {model.version})")
    items = [(title, text) for _, title, text in postings]
    tfidf = transform_rate(model, items)
    print(f"TF-IDF transforms alone: {tfidf:.0f} postings/s")
    for evidence in (True, False):
        rate = classify_rate(model, items, evidence=evidence)
        label = "with evidence (as analyze runs it)" if evidence else "without evidence"
        print(f"classification {label}: {rate:.0f} postings/s")
        figure("classification", f"RoleModel.predict {label}, batches of {BATCH}", rate, "postings/s",
               reference="TF-IDF transforms alone", reference_value=tfidf, target=">= 1,000 postings/s",
               met=rate >= 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
