"""The pay gold set loads, holds consistent labels, is split by employer, and matches its README."""

import gzip
import hashlib
import json
import re
from collections import Counter

import pytest

from analysis.pay_gold import (
    DATA_DIR,
    DEV_PATH,
    HELDOUT_PATH,
    INTERVALS,
    ISO_4217,
    PAY_COMPONENTS,
    PayGoldError,
    load_pay_gold,
    range_problem,
)

README = DATA_DIR / "pay_gold.README.md"
SECOND_PATH = DATA_DIR / "pay_gold_second.jsonl.gz"


@pytest.fixture(scope="module")
def dev():
    return load_pay_gold(DEV_PATH)


@pytest.fixture(scope="module")
def heldout():
    return load_pay_gold(HELDOUT_PATH)


@pytest.fixture(scope="module")
def postings(dev, heldout):
    return dev.postings + heldout.postings


def test_both_files_load_with_their_headers(dev, heldout):
    assert dev.header["split"] == "dev" and heldout.header["split"] == "heldout"
    assert dev.header["postings"] == len(dev.postings)
    assert heldout.header["postings"] == len(heldout.postings)
    assert len(dev.postings) + len(heldout.postings) >= 300


def test_ids_and_postings_are_unique(postings):
    assert len({p.id for p in postings}) == len(postings)
    assert len({(p.source, p.external_id) for p in postings}) == len(postings)


def test_every_range_is_consistent(postings):
    ranges = [r for p in postings for r in p.labels.ranges]
    assert ranges
    assert [range_problem(r) for r in ranges if range_problem(r)] == []
    for pay in ranges:
        if pay.minimum is not None and pay.maximum is not None:
            assert pay.minimum <= pay.maximum
        if pay.unit == "money":
            assert pay.currency in ISO_4217
            assert pay.interval in INTERVALS


def test_has_pay_agrees_with_the_ranges_and_one_is_primary(postings):
    for posting in postings:
        labels = posting.labels
        assert labels.has_pay == any(r.component in PAY_COMPONENTS for r in labels.ranges), posting.id
        assert (labels.primary is not None) == labels.has_pay, posting.id


def test_text_evidence_is_quoted_from_the_text(postings):
    for posting in postings:
        for pay in posting.labels.ranges:
            if pay.origin == "text":
                assert pay.evidence in posting.text, posting.id
        for trap in posting.labels.not_pay:
            structured = json.dumps(posting.structured, ensure_ascii=False)
            assert trap.evidence in posting.text or trap.evidence in structured, posting.id


def test_the_set_holds_what_the_extractor_must_be_tested_on(postings):
    origins = Counter(r.origin for p in postings for r in p.labels.ranges if r.component in PAY_COMPONENTS)
    assert origins["structured"] >= 50 and origins["text"] >= 50
    assert sum(not p.labels.has_pay for p in postings) >= 100
    assert sum(p.region == "non-US" for p in postings) >= 100
    assert sum(len(p.labels.not_pay) for p in postings) >= 50
    assert {r.currency for p in postings for r in p.labels.ranges} >= {"USD", "EUR", "GBP", "CAD"}


def test_no_employer_is_on_both_sides(dev, heldout):
    def employers(gold):
        return {p.source for p in gold.postings if p.source_kind != "hn"} | {
            f"hn:{p.company}" for p in gold.postings if p.source_kind == "hn" and p.company}
    assert employers(dev).isdisjoint(employers(heldout))


def _count_row(name, postings):
    def origin_kind(posting):
        origins = {r.origin for r in posting.labels.ranges if r.component in PAY_COMPONENTS}
        return "both" if len(origins) == 2 else f"{next(iter(origins))} only"
    kinds = Counter(origin_kind(p) for p in postings if p.labels.has_pay)

    def split_by(key):
        total, paid = Counter(key(p) for p in postings), Counter(key(p) for p in postings if p.labels.has_pay)
        return total, paid
    source, source_paid = split_by(lambda p: p.source_kind)
    region, region_paid = split_by(lambda p: p.region)
    cells = [name, len(postings), sum(p.labels.has_pay for p in postings), kinds["structured only"],
             kinds["text only"], kinds["both"]]
    cells += [f"{source[k]} ({source_paid[k]})" for k in ("ashby", "hn", "lever")]
    cells += [f"{region[k]} ({region_paid[k]})" for k in ("US", "non-US", "unknown")]
    cells += [sum(len(p.labels.ranges) for p in postings), sum(len(p.labels.not_pay) for p in postings)]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def test_the_readme_counts_match_the_files(dev, heldout):
    text = README.read_text(encoding="utf-8")
    for row in (_count_row("dev", dev.postings), _count_row("held-back", heldout.postings),
                _count_row("all", dev.postings + heldout.postings)):
        assert row in text


def test_the_readme_records_each_files_hash():
    text = README.read_text(encoding="utf-8")
    for path in (DEV_PATH, HELDOUT_PATH):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert re.search(rf"`{re.escape(path.name)}` \| `{digest}`", text), path.name


def test_the_blind_second_labelling_covers_every_sixth_posting(postings):
    second = load_pay_gold(SECOND_PATH)
    assert [p.id for p in second.postings] == [p.id for p in postings[::6]]
    first = {p.id: p for p in postings}
    assert all(p.text == first[p.id].text for p in second.postings)


def test_the_readme_agreement_counts_match_the_second_labelling(postings):
    first = {p.id: p for p in postings}
    second = load_pay_gold(SECOND_PATH).postings
    has_pay = sum(p.labels.has_pay == first[p.id].labels.has_pay for p in second)
    both = [p for p in second if p.labels.has_pay and first[p.id].labels.has_pay]
    exact = sum((p.labels.primary.minimum, p.labels.primary.maximum)
                == (first[p.id].labels.primary.minimum, first[p.id].labels.primary.maximum) for p in both)
    text = README.read_text(encoding="utf-8")
    assert f"| `has_pay` | {has_pay} / {len(second)} |" in text
    assert f"| min and max of the primary range | {exact} / {len(both)} |" in text


# --- bad files are refused with one line ----------------------------------------------------------------------------

def _write(tmp_path, rows, header=True):
    path = tmp_path / "gold.jsonl.gz"
    lines = ([json.dumps({"kind": "header", "split": "dev", "postings": len(rows)})] if header else [])
    lines += [json.dumps(row) if isinstance(row, dict) else row for row in rows]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))
    return path


def _posting_with_text_range(postings):
    posting = next(p for p in postings if any(r.origin == "text" for r in p.labels.ranges))
    with gzip.open(DEV_PATH if posting.id.startswith("d") else HELDOUT_PATH, "rt", encoding="utf-8") as lines:
        return next(json.loads(line) for line in lines if json.loads(line).get("id") == posting.id)


def _first_text_range(row):
    return next(r for r in row["labels"]["ranges"] if r["from"] == "text")


@pytest.mark.parametrize(("break_it", "message"), [
    (lambda row: _first_text_range(row).update({"min": 10**9}), "is above max"),
    (lambda row: _first_text_range(row).update({"currency": "XYZ"}), "not an ISO 4217 code"),
    (lambda row: _first_text_range(row).update({"interval": "fortnight"}), "interval 'fortnight'"),
    (lambda row: _first_text_range(row).update({"component": "salary"}), "component 'salary'"),
    (lambda row: _first_text_range(row).update({"evidence": "not in this posting at all"}), "is not in the posting"),
    (lambda row: row["labels"].update({"has_pay": False}), "has_pay is False"),
    (lambda row: row["labels"].update({"seniority": "ninja"}), "seniority 'ninja'"),
    (lambda row: row["labels"].pop("ranges"), "missing key 'ranges'"),
])
def test_a_broken_label_is_refused_with_one_line(tmp_path, postings, break_it, message):
    row = _posting_with_text_range(postings)
    break_it(row)
    with pytest.raises(PayGoldError) as refused:
        load_pay_gold(_write(tmp_path, [row]))
    assert message in str(refused.value)
    assert ":2:" in str(refused.value) and "\n" not in str(refused.value)


def test_a_duplicate_id_a_missing_header_and_bad_json_are_refused(tmp_path, postings):
    row = _posting_with_text_range(postings)
    with pytest.raises(PayGoldError, match="occurs twice"):
        load_pay_gold(_write(tmp_path, [row, row]))
    with pytest.raises(PayGoldError, match="no header line"):
        load_pay_gold(_write(tmp_path, [row], header=False))
    with pytest.raises(PayGoldError, match=r":2: not JSON"):
        load_pay_gold(_write(tmp_path, ["{not json"]))
    with pytest.raises(PayGoldError, match="cannot read"):
        load_pay_gold(tmp_path / "missing.jsonl.gz")
