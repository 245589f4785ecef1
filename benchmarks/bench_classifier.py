"""The role classifier: weak labelling, training and classification speed on the bundled corpus.

Example:
    .venv/bin/python benchmarks/bench_classifier.py

Times the weak-label rules and the training of both pipelines on the bundled corpus (data/training/, real
postings), then classification in batches of 500, with the evidence (as `jobtrend analyze` runs it) and
without it, over the whole corpus, best of three.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analysis.classifier import train, weak_examples  # noqa: E402
from analysis.classify import bundled_training_postings  # noqa: E402

BATCH = 500


def classify_rate(model, items, *, evidence: bool) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for i in range(0, len(items), BATCH):
            model.predict(items[i:i + BATCH], evidence=evidence)
        best = min(best, time.perf_counter() - started)
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
    print(f"classification with evidence: {classify_rate(model, items, evidence=True):.0f} postings/s")
    print(f"classification without evidence: {classify_rate(model, items, evidence=False):.0f} postings/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
