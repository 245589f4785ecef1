"""The role classifier: training time, model size, load time and classification speed on the bundled data.

Example:
    .venv/bin/python benchmarks/bench_classifier.py

Trains the shipped design on the bundled data (hand labels and the weakly labelled corpus in data/training/),
saves it, and measures, each beside a reference taken in the same run:

- **model file size** (target at most 10 MB) beside the bundled training data it was made from;
- **load time** (target at most 0.5 s; median of 5 loads) beside reading the file's bytes alone;
- **classification speed** over the weakly labelled corpus (real postings) in batches of 500, best of three (CPU
  time of this process), with the evidence (as `jobtrend analyze` stores it) and without; target at least
  3,000 postings/s. The reference is the TF-IDF transforms alone (the body's words and the title's character
  n-grams on the same batches): the part of the feature extraction every text classifier of this kind pays.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis.classifier import RoleModel, body_without_title, train  # noqa: E402
from analysis.classify import BUNDLED_TRAINING, HAND_TRAINING, bundled_training_postings, training_examples  # noqa: E402
from benchmarks._figures import figure  # noqa: E402

BATCH = 500
MAX_MB = 10.0
MAX_LOAD_S = 0.5
MIN_RATE = 3000


def classify_rate(model, items, *, evidence: bool) -> float:
    return best_rate(items, lambda batch: model.predict(batch, evidence=evidence))


def transform_rate(model, items) -> float:
    """Postings/s of the two TF-IDF transforms :meth:`RoleModel.predict` runs, and nothing else."""
    def transform(batch):
        titles = [title or "" for title, _ in batch]
        bodies = [body_without_title(title, text or "") for title, text in batch]
        model.space.body.transform(bodies)
        model.space.title.transform(titles)
    return best_rate(items, transform)


def best_rate(items, work) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for i in range(0, len(items), BATCH):
            work(items[i:i + BATCH])
        best = min(best, time.process_time() - started)
    return len(items) / best


def median_seconds(work, times: int = 5) -> float:
    spans = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        spans.append(time.perf_counter() - started)
    return statistics.median(spans)


def main() -> int:
    postings = bundled_training_postings()
    started = time.perf_counter()
    examples = training_examples(postings)
    labelled = time.perf_counter()
    model = train(examples)
    trained = time.perf_counter()
    mb = sum(len(text.encode()) for _, _, text in postings) / 1e6
    print(f"training data: {model.meta['hand_labelled']} hand-labelled and {model.meta['weakly_labelled']} weakly "
          f"labelled postings; the corpus is {len(postings)} postings, {mb:.1f} MB of text")
    print(f"weak labels: {labelled - started:.1f} s; training both heads: {trained - labelled:.1f} s "
          f"(model {model.version})")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roles.npz"
        model.save(path)
        size = path.stat().st_size / 1e6
        data_size = (BUNDLED_TRAINING.stat().st_size + HAND_TRAINING.stat().st_size) / 1e6
        figure("classification", "model file size", size, "MB", reference="bundled training data (gzip)",
               reference_value=data_size, target=f"<= {MAX_MB:g} MB", met=size <= MAX_MB)
        load = median_seconds(lambda: RoleModel.load(path))
        read = median_seconds(path.read_bytes)
        figure("classification", "model load time (median of 5)", load, "s", reference="reading the file's bytes",
               reference_value=read, target=f"<= {MAX_LOAD_S:g} s", met=load <= MAX_LOAD_S)
    items = [(title, text) for _, title, text in postings]
    tfidf = transform_rate(model, items)
    print(f"TF-IDF transforms alone: {tfidf:.0f} postings/s")
    for evidence in (True, False):
        rate = classify_rate(model, items, evidence=evidence)
        label = "with evidence (as analyze runs it)" if evidence else "without evidence"
        print(f"classification {label}: {rate:.0f} postings/s")
        figure("classification", f"RoleModel.predict {label}, batches of {BATCH}", rate, "postings/s",
               reference="TF-IDF transforms alone", reference_value=tfidf, target=f">= {MIN_RATE:,} postings/s",
               met=rate >= MIN_RATE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
