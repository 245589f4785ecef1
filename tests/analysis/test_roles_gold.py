"""The role gold set is well formed: enough postings, one valid label each, evidence quoted from the body."""

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

GOLD = Path(__file__).resolve().parent.parent / "data" / "roles_gold.jsonl.gz"
LABELS = {"ai_swe", "ml_engineer", "not_ai"}


def load():
    with gzip.open(GOLD, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


RECORDS = load()


def test_the_set_is_large_enough_and_covers_every_label():
    counts = Counter(r["label"] for r in RECORDS)
    assert len(RECORDS) >= 300
    assert set(counts) == LABELS
    assert counts["ai_swe"] >= 40 and counts["ml_engineer"] >= 40


def test_ids_and_postings_are_unique():
    assert len({r["id"] for r in RECORDS}) == len(RECORDS)
    assert len({(r["source"], r["external_id"]) for r in RECORDS}) == len(RECORDS)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r["id"])
def test_each_record_has_a_label_read_from_its_body(record):
    assert record["label"] in LABELS
    assert record["confidence"] in {"clear", "mixed"}
    assert record["source"].split(":")[0] in {"ashby", "hn"}
    assert len(record["text"]) > 100
    body = " ".join(record["text"].lower().split())
    assert record["evidence"], "every label quotes the phrases that decided it"
    for phrase in record["evidence"]:
        assert " ".join(phrase.lower().split()) in body, phrase
