"""Scoring mention extraction on labelled postings and contexts: the scorers on tiny crafted sets, then the
committed sets (the held-back contexts are checked for form only, never for figures)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import re

import pytest
from click.testing import CliRunner

from analysis.mentions import Explanation
from analysis.mentions_eval import (
    CONTEXTS_DEV_PATH,
    CONTEXTS_HELDOUT_PATH,
    GOLD_PATH,
    ContextCounts,
    GoldSet,
    MentionContext,
    MentionGoldPosting,
    context_report,
    counted_at,
    evaluate,
    evaluate_contexts,
    load_mention_contexts,
    load_mention_gold,
    report,
    scores,
    unlisted_counts,
    wilson_interval,
)
from jobtrend.cli import main
from jobtrend.config import REPO_ROOT, FrameworkConfig, load_frameworks

TAXONOMY_PATH = REPO_ROOT / "config" / "frameworks.toml"
MIN_PRECISION, MIN_RECALL = 0.95, 0.93  # the floor on the committed set (target: 0.97 / 0.95)
# Floors on the dev contexts, a few points under the figures measured when they were labelled (2026-12-07:
# organisation 0.905 / 0.985, other 0.926 / 0.984, all 0.919 / 0.985), so a regression fails but the
# matcher being tuned on dev does not; (precision, recall) per group.
CONTEXT_FLOORS = {"organisation": (0.85, 0.93), "other": (0.88, 0.95), "all": (0.88, 0.95)}
CONTEXTS_README = REPO_ROOT / "tests" / "data" / "mention_contexts.README.md"

PYTORCH = FrameworkConfig("pytorch", "PyTorch", "deep-learning", aliases=("pytorch",))
SPARK = FrameworkConfig("spark", "Apache Spark", "data", aliases=("apache spark",), exact=("Spark",))
RAY = FrameworkConfig("ray", "Ray", "training", exact=("Ray",))
RAY_SERVE = FrameworkConfig("ray-serve", "Ray Serve", "serving", aliases=("ray serve",))
TINY = (PYTORCH, SPARK, RAY, RAY_SERVE)


def posting(pid: str, text: str, labels=(), unlisted=()) -> MentionGoldPosting:
    return MentionGoldPosting(pid, "test:tiny", pid, text.split("\n")[0], text, frozenset(labels), tuple(unlisted))


def gold(*postings: MentionGoldPosting, slugs=("pytorch", "spark", "ray", "ray-serve")) -> GoldSet:
    return GoldSet(frozenset(slugs), postings)


# --- the scorer ----------------------------------------------------------------------------------------------


def test_counts_hits_false_positives_and_misses():
    evaluation = evaluate(gold(
        posting("a", "ML Engineer\nWe use PyTorch and Spark.", {"pytorch", "spark"}),
        posting("b", "Investor\nBacked by Spark Capital.", set()),  # the matcher's Spark: a false positive
        posting("c", "Engineer\nPy Torch models.", {"pytorch"}),  # a variant the matcher misses
    ), TINY)
    assert evaluation.counts["pytorch"] == (1, 0, 1)
    assert evaluation.counts["spark"] == (1, 1, 0)
    assert evaluation.totals() == (2, 1, 1)
    assert evaluation.micro() == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    kinds = {(d.posting.id, d.slug, d.kind) for d in evaluation.disagreements}
    assert kinds == {("b", "spark", "fp"), ("c", "pytorch", "fn")}
    fp = next(d for d in evaluation.disagreements if d.kind == "fp")
    assert "[Spark] Capital" in fp.context


def test_entries_added_after_labelling_are_not_scored():
    """A slug missing from the gold header has no labels: its hits must not count as false positives."""
    evaluation = evaluate(gold(posting("a", "Engineer\nPyTorch on Ray.", {"pytorch"}), slugs=("pytorch",)), TINY)
    assert evaluation.scored_slugs == {"pytorch"}
    assert evaluation.totals() == (1, 0, 0)


def test_entries_removed_from_the_taxonomy_are_not_scored():
    evaluation = evaluate(gold(posting("a", "Engineer\nPyTorch and Spark.", {"pytorch", "spark"})), (PYTORCH,))
    assert evaluation.scored_slugs == {"pytorch"}
    assert evaluation.totals() == (1, 0, 0)


def test_a_parent_implied_by_a_labelled_child_is_accepted():
    serve = dataclasses.replace(RAY_SERVE, parent="ray")
    taxonomy = (PYTORCH, SPARK, RAY, serve)
    evaluation = evaluate(gold(
        posting("a", "Engineer\nWe deploy with Ray Serve.", {"ray-serve"}),
        posting("b", "Engineer\nRay Serve and Ray Tune... and Ray.", {"ray-serve", "ray"}),
    ), taxonomy)
    assert evaluation.counts["ray-serve"] == (2, 0, 0)
    assert evaluation.counts["ray"] == (1, 0, 0)  # labelled itself in b: scored; implied in a: accepted
    assert evaluation.totals()[1] == 0


def test_empty_ratios_are_one():
    assert scores(0, 0, 0) == (1.0, 1.0, 1.0)
    assert scores(0, 1, 1) == (0.0, 0.0, 0.0)


def test_report_prints_micro_per_entry_and_disagreements():
    evaluation = evaluate(gold(
        posting("a", "Engineer\nSpark Capital backs us.", set()),
        posting("b", "Engineer\nPyTorch.", {"pytorch"}),
    ), TINY)
    text = report(evaluation, show=5)
    assert "micro: precision 0.500  recall 1.000" in text
    assert "spark" in text and "FP spark" in text and "[Spark]" in text
    assert "disagreements: 1" in text


def _write(path, rows, header=True):
    lines = ([json.dumps({"kind": "header", "taxonomy_slugs": ["pytorch", "spark"]})] if header else [])
    lines += [json.dumps(r) for r in rows]
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


def test_load_gold_reads_header_and_postings(tmp_path):
    path = tmp_path / "gold.jsonl.gz"
    _write(path, [{"id": "a", "source": "hn:2026-01", "external_id": 1, "title": "T", "text": "T\nPyTorch",
                   "labels": ["pytorch"], "unlisted": ["jupyter"]}])
    loaded = load_mention_gold(path)
    assert loaded.taxonomy_slugs == {"pytorch", "spark"}
    assert loaded.postings[0].labels == {"pytorch"} and loaded.postings[0].external_id == "1"
    assert unlisted_counts(loaded) == {"jupyter": 1}


def test_load_gold_rejects_labels_outside_the_header_and_a_missing_header(tmp_path):
    path = tmp_path / "gold.jsonl.gz"
    row = {"id": "a", "source": "s", "external_id": "1", "title": "T", "text": "T", "labels": ["keras"]}
    _write(path, [row])
    with pytest.raises(ValueError, match="keras"):
        load_mention_gold(path)
    _write(path, [dict(row, labels=[])], header=False)
    with pytest.raises(ValueError, match="header"):
        load_mention_gold(path)


# --- the committed set ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def committed() -> GoldSet:
    return load_mention_gold(GOLD_PATH)


def test_committed_set_is_large_enough_and_well_formed(committed):
    postings = committed.postings
    assert len(postings) >= 300
    assert len({p.id for p in postings}) == len(postings)
    assert len({(p.source, p.external_id) for p in postings}) == len(postings)
    assert sum(p.source.startswith("ashby:") for p in postings) >= 150
    assert sum(p.source.startswith("hn:") for p in postings) >= 100
    assert all(p.text.startswith(p.title + "\n") for p in postings)
    assert sum(len(p.labels) for p in postings) >= 300


def test_matcher_meets_the_floor_on_the_committed_set(committed):
    evaluation = evaluate(committed, load_frameworks(TAXONOMY_PATH))
    precision, recall, _ = evaluation.micro()
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, report(evaluation, show=-1)


def test_evaluate_mentions_command_prints_precision_and_recall():
    result = CliRunner().invoke(main, ["evaluate", "mentions", "--taxonomy", str(TAXONOMY_PATH), "--show", "2",
                                       "--unlisted"])
    assert result.exit_code == 0, result.output
    assert "micro: precision" in result.output and "recall" in result.output
    assert "unlisted (postings):" in result.output


# --- the context scorer ----------------------------------------------------------------------------------------


def context(cid: str, text: str, slug: str, found: str, label: bool, group: str = "other", *, nth: int = 0,
            company: str | None = None) -> MentionContext:
    """A context on the ``nth`` occurrence of ``found`` in ``text``."""
    start = [m.start() for m in re.finditer(re.escape(found), text)][nth]
    return MentionContext(cid, "test:tiny", cid, company, text.split("\n")[0], text, slug, start,
                          start + len(found), group, label)


def test_wilson_interval_of_known_proportions():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 4) == pytest.approx((0.0, 0.4899), abs=1e-4)


def test_contexts_are_scored_by_a_counted_match_overlapping_their_span():
    serve = dataclasses.replace(RAY_SERVE, parent="ray")
    taxonomy = (PYTORCH, SPARK, RAY, serve)
    evaluation = evaluate_contexts([
        context("a", "ML Engineer\nWe use PyTorch.", "pytorch", "PyTorch", True),  # tp
        context("b", "Investor\nBacked by Spark Capital.", "spark", "Spark", False, "organisation"),  # fp
        context("c", "Engineer\nPy Torch and PyTorch.", "pytorch", "Py Torch", True),  # fn: the hit is elsewhere
        context("d", "Engineer\nthe spark of an idea", "spark", "spark", False),  # tn: lower case, no match
        context("e", "Engineer\nWe deploy with Ray Serve.", "ray", "Ray Serve", True),  # a child counts for ray
        context("f", "Engineer\nKeras models.", "keras", "Keras", True),  # no such entry: not scored
    ], taxonomy)
    assert evaluation.matcher["other"] == ContextCounts(tp=2, fp=0, fn=1, tn=1)
    assert evaluation.matcher["organisation"] == ContextCounts(fp=1)
    assert evaluation.baseline["other"] == ContextCounts(tp=3, fp=1)
    assert evaluation.overall() == ContextCounts(tp=2, fp=1, fn=1, tn=1)
    assert evaluation.overall("baseline").precision() == pytest.approx(3 / 5)
    assert evaluation.not_in_taxonomy == {"keras": 1}
    assert [(c.id, kind) for c, kind in evaluation.disagreements] == [("b", "fp"), ("c", "fn")]


class _RecordingMatcher:
    """Stands in for the matcher to check what ``counted_at`` asks and how it reads the answer."""

    def __init__(self, hits):
        self.hits, self.companies = hits, []

    def explain(self, text, company=None):
        self.companies.append(company)
        return self.hits


def _hit(slug, start, end, counted=True, parents=()):
    return Explanation(slug, "x" * (end - start), start, end, "", "", counted, None if counted else "gate", parents)


def test_counted_at_passes_the_company_and_needs_a_counted_overlapping_hit_of_the_entry():
    ctx = context("a", "T\nAt Cohere we use Cohere models.", "cohere", "Cohere", True, nth=1, company="Cohere")
    start, end = ctx.start, ctx.end
    matcher = _RecordingMatcher([_hit("cohere", start, end)])
    assert counted_at(matcher, ctx) and matcher.companies == ["Cohere"]
    assert not counted_at(_RecordingMatcher([_hit("cohere", start, end, counted=False)]), ctx)
    assert not counted_at(_RecordingMatcher([_hit("cohere", 5, 11)]), ctx)  # the first "Cohere", not this one
    assert not counted_at(_RecordingMatcher([_hit("openai", start, end)]), ctx)
    assert counted_at(_RecordingMatcher([_hit("command-r", start - 2, start + 1, parents=("cohere",))]), ctx)


def test_context_report_prints_groups_intervals_baseline_and_disagreements():
    evaluation = evaluate_contexts([
        context("a", "T\nWe use PyTorch.", "pytorch", "PyTorch", True),
        context("b", "T\nBacked by Spark Capital.", "spark", "Spark", False, "organisation"),
        context("c", "T\nKeras.", "keras", "Keras", True),
    ], TINY)
    text = context_report(evaluation, "tiny", show=-1)
    assert "matcher organisation" in text and "baseline all" in text
    assert "1.000 [0.207, 1.000]" in text  # the other group's precision: 1 of 1, with its Wilson interval
    assert "not in taxonomy (not scored): keras 1" in text
    assert "FP spark (counted, not a mention) b" in text and "[Spark] Capital" in text
    assert "disagreements" not in context_report(evaluation, "tiny", show=0)


def _write_contexts(path, rows):
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("\n".join(json.dumps(r) for r in [{"kind": "header", "split": "dev"}, *rows]) + "\n")


CONTEXT_ROW = {"id": "d1", "source": "hn:2026-01", "external_id": 7, "company": "Acme", "title": "T",
               "text": "T\nWe use PyTorch.", "slug": "pytorch", "start": 9, "end": 16, "group": "other",
               "label": True, "evidence": "We use PyTorch.", "note": None}


def test_load_contexts_skips_the_header_and_rejects_broken_lines(tmp_path):
    path = tmp_path / "contexts.jsonl.gz"
    _write_contexts(path, [CONTEXT_ROW])
    (loaded,) = load_mention_contexts(path)
    assert loaded.text[loaded.start:loaded.end] == "PyTorch" and loaded.external_id == "7" and loaded.label
    for change, message in (({"end": 99}, "outside its text"), ({"group": "company"}, "group"),
                            ({"label": None}, "unlabelled")):
        _write_contexts(path, [dict(CONTEXT_ROW, **change)])
        with pytest.raises(ValueError, match=message):
            load_mention_contexts(path)
    _write_contexts(path, [{key: value for key, value in CONTEXT_ROW.items() if key != "slug"}])
    with pytest.raises(ValueError, match=r":2: not a context line \(KeyError"):
        load_mention_contexts(path)


def test_evaluate_mentions_command_ends_a_broken_file_with_one_line(tmp_path):
    path = tmp_path / "gold.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("not json\n")
    result = CliRunner().invoke(main, ["evaluate", "mentions", "--taxonomy", str(TAXONOMY_PATH), "--gold", str(path)])
    assert result.exit_code == 1 and result.output.startswith(f"Error: cannot read {path}")
    assert "Traceback" not in result.output


# --- the committed context gold ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_contexts() -> tuple[MentionContext, ...]:
    return load_mention_contexts(CONTEXTS_DEV_PATH)


def test_committed_contexts_are_large_enough_and_split_by_employer(dev_contexts):
    heldout = load_mention_contexts(CONTEXTS_HELDOUT_PATH)  # its form only: its figures are never asserted
    both = (*dev_contexts, *heldout)
    assert len(both) >= 400 and len(dev_contexts) >= 200 and len(heldout) >= 150
    assert len({c.id for c in both}) == len(both)
    assert sum(c.group == "organisation" for c in both) >= 100
    assert all(c.text.startswith(c.title + "\n") for c in both)
    assert all(" ".join(c.text[c.start:c.end].split()).lower() in c.evidence.lower() for c in both)

    def employers(contexts):
        return ({c.source for c in contexts if c.source.startswith("ashby:")}
                | {c.company.lower() for c in contexts if c.source.startswith("hn:") and c.company})

    assert not employers(dev_contexts) & employers(heldout)


def test_context_files_are_the_ones_their_readme_describes():
    """A changed (re-labelled, re-sampled) context file must come with its new hash in the README."""
    readme = CONTEXTS_README.read_text(encoding="utf-8")
    for path in (CONTEXTS_DEV_PATH, CONTEXTS_HELDOUT_PATH):
        assert hashlib.sha256(path.read_bytes()).hexdigest() in readme, path.name


def test_matcher_meets_the_floors_on_the_dev_contexts(dev_contexts):
    evaluation = evaluate_contexts(dev_contexts, load_frameworks(TAXONOMY_PATH))
    groups = {**evaluation.matcher, "all": evaluation.overall()}
    for group, (min_precision, min_recall) in CONTEXT_FLOORS.items():
        counts = groups[group]
        assert counts.precision() >= min_precision and counts.recall() >= min_recall, \
            (group, context_report(evaluation, "dev", show=-1))
    assert evaluation.overall().precision() > evaluation.overall("baseline").precision() + 0.1


def test_evaluate_mentions_command_prints_dev_and_heldout_contexts_with_hashes():
    result = CliRunner().invoke(main, ["evaluate", "mentions", "--taxonomy", str(TAXONOMY_PATH), "--show", "1"])
    assert result.exit_code == 0, result.output
    dev, _, heldout = result.output.partition("contexts, held-back:")
    assert "contexts, dev:" in dev and "matcher organisation" in heldout and "matcher other" in heldout
    assert hashlib.sha256(CONTEXTS_HELDOUT_PATH.read_bytes()).hexdigest() in heldout
    assert "disagreements" not in heldout  # the held-back part prints figures only
