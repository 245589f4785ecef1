"""The role classifier's labelled sets are well formed, the test set is frozen, and no training set holds a
posting of the test set or of a company held out for it."""

import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from analysis.classify import (
    BUNDLED_TRAINING,
    HAND_TRAINING,
    HELD_OUT,
    ROLES_GOLD,
    ROLES_TEST,
    held_out_exclusion,
    load_labelled,
)

LABELS = {"ai_swe", "ml_engineer", "not_ai"}
# Written down before any model work (docs/classifier.md, tests/data/roles_test.README.md): the test set is frozen.
TEST_SET_SHA256 = "cae1cec85597e3811e15ca03bb4d6e58b1edb4bc6b52fc2a00b34e0f872b93c4"
DEV, TEST, HAND = load_labelled(ROLES_GOLD), load_labelled(ROLES_TEST), load_labelled(HAND_TRAINING)
SETS = {"dev": DEV, "test": TEST, "hand": HAND}
SOURCES = {"ashby", "hn", "board"}


CURLY_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": "'", "\u201d": "'"})


def normalised(text: str) -> str:
    return " ".join(text.lower().split())


def quoted_form(text: str) -> str:
    """``text`` normalised with curly quotes made straight, as a labeller may have typed them."""
    return normalised(text.translate(CURLY_QUOTES))


def test_the_test_set_is_the_frozen_one():
    with gzip.open(ROLES_TEST, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == TEST_SET_SHA256


@pytest.mark.parametrize(("name", "minimum", "per_role"), [("dev", 300, 40), ("test", 600, 60), ("hand", 2000, 150)])
def test_each_set_is_large_enough_and_covers_every_label(name, minimum, per_role):
    counts = Counter(r["label"] for r in SETS[name])
    assert len(SETS[name]) >= minimum
    assert set(counts) == LABELS
    assert counts["ai_swe"] >= per_role and counts["ml_engineer"] >= per_role


@pytest.mark.parametrize("name", sorted(SETS))
def test_ids_and_texts_are_unique_within_a_set(name):
    records = SETS[name]
    assert len({r["id"] for r in records}) == len(records)
    if name != "dev":  # the dev set holds a few postings listed twice (two offices), labelled independently
        assert len({normalised(r["text"]) for r in records}) == len(records)


@pytest.mark.parametrize("name", sorted(SETS))
def test_each_label_was_read_from_its_body(name):
    problems = []
    for r in SETS[name]:
        body = quoted_form(r["text"])
        if r["label"] not in LABELS or r["confidence"] not in {"clear", "mixed"}:
            problems.append((r["id"], "label or confidence"))
        if r["source"].split(":")[0] not in SOURCES or len(r["text"]) < 80:
            problems.append((r["id"], "source or text"))
        if not r["evidence"]:
            problems.append((r["id"], "no evidence"))
        for phrase in r["evidence"]:
            if quoted_form(phrase) not in body:
                problems.append((r["id"], phrase))
    assert problems == []


def test_the_sets_share_no_posting():
    texts = {name: {normalised(r["text"]) for r in records} for name, records in SETS.items()}
    assert not texts["test"] & texts["dev"]
    assert not texts["test"] & texts["hand"]
    assert not texts["dev"] & texts["hand"]


# The first labels of the three postings the two labellers disagreed on, as recorded when they were settled (the
# file keeps the settled label and the second label; tests/data/roles_test.README.md).
FIRST_LABELS_OF_DISAGREEMENTS = {
    "ashby:sagelabs.ai:c1365513-9418-4c3b-b532-e44b23737335": "not_ai",
    "hn:2026-03:47232351": "not_ai",
    "ashby:scribd:d08c6f80-bcc3-47aa-93c5-505435c24c5e": "not_ai",
}


def test_agreement_of_the_twice_labelled_test_postings():
    twice = [r for r in TEST if "second_label" in r]
    assert len(twice) >= 150
    assert {r["id"] for r in twice if "settled" in r} == set(FIRST_LABELS_OF_DISAGREEMENTS)
    assert all(r["settled"] == r["label"] and r["confidence"] == "mixed" for r in twice if "settled" in r)
    first = [FIRST_LABELS_OF_DISAGREEMENTS.get(r["id"], r["label"]) for r in twice]
    second = [r["second_label"] for r in twice]
    assert [a != b for a, b in zip(first, second, strict=True)] == ["settled" in r for r in twice]
    kappa = cohen_kappa(first, second)
    assert round(kappa, 3) == 0.951  # the figure docs/classifier.md and the README of the set report


def cohen_kappa(a: list[str], b: list[str]) -> float:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[label] * cb[label] for label in LABELS) / n / n
    return (observed - expected) / (1 - expected)


def test_no_training_posting_is_of_the_test_set_or_a_held_out_company():
    held = json.loads(Path(HELD_OUT).read_text())
    boards, hn_ids = set(held["ashby_boards"]), set(held["hackernews_ids"])
    test_texts = {normalised(r["text"]) for r in TEST} | {normalised(r["text"]) for r in DEV}
    assert all(r["source"].split(":", 1)[1] in boards for r in TEST if r["source"].startswith("ashby:"))
    assert all(r["external_id"] in hn_ids for r in TEST if r["source"].startswith("hn:"))
    assert not any(r["source"].startswith("ashby:") and r["source"].split(":", 1)[1] in boards for r in HAND)
    assert not any(r["source"].startswith("hn:") and r["external_id"] in hn_ids for r in HAND)
    is_held_out = held_out_exclusion()
    with gzip.open(BUNDLED_TRAINING, "rt", encoding="utf-8") as fh:
        corpus = [json.loads(line) for line in fh]
    assert len(corpus) > 1500
    for posting in corpus:
        kind, *key, external_id = posting["key"].split(":")
        assert not is_held_out(kind, ":".join(key), external_id), posting["key"]
        assert normalised(posting["text"]) not in test_texts, posting["key"]
