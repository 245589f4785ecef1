"""The role classifier: measured on the frozen test set, deterministic, versioned, saved safely, and explained."""

import gzip
import json
import zipfile

import numpy as np
import pytest

from analysis.classifier import MODEL_FORMAT, ModelError, RoleModel, combine, hand_examples, model_version, train
from analysis.classifier_eval import bootstrap, ece, evaluate, report
from analysis.classify import (
    BUNDLED_TRAINING,
    HAND_TRAINING,
    ROLES_GOLD,
    ROLES_TEST,
    bundled_training_postings,
    gold_exclusion,
    load_labelled,
    load_role_gold,
    training_examples,
)
from analysis.role_rules import AI_SWE, ML_ENGINEER
from jobtrend.app.status import model_version as stored_version
from tests.analysis.test_role_rules import ML_BODY, SWE_BODY

# Floors on the frozen test set, set after its one scoring below what the shipped model measured (macro-F1 0.769,
# relevance F1 0.754, role macro-F1 0.886, ECE 0.028; docs/classifier.md): a regression guard, not a target.
MIN_MACRO_F1 = 0.74
MIN_RELEVANCE_F1 = 0.72
MIN_ROLE_MACRO_F1 = 0.85
MAX_ECE = 0.05


@pytest.fixture(scope="module")
def test_set_scores(role_model):
    return evaluate(role_model, load_role_gold(ROLES_TEST), draws=200)


def model_figures(scores):
    return next(iter(scores.figures.values()))


def test_test_set_figures_are_at_least_the_floors(test_set_scores):
    figures = model_figures(test_set_scores)
    assert figures["macro_f1"] >= MIN_MACRO_F1, report(test_set_scores)
    assert figures["relevance_f1"] >= MIN_RELEVANCE_F1, report(test_set_scores)
    assert figures["role_macro_f1"] >= MIN_ROLE_MACRO_F1, report(test_set_scores)
    assert figures["ece"] <= MAX_ECE, report(test_set_scores)


def test_the_model_beats_the_title_only_rule_on_the_test_set(test_set_scores):
    value, (low, _) = test_set_scores.gain["macro-F1 over the title rule"]
    assert value > 0 and low > 0, report(test_set_scores)


def test_report_prints_every_figure_with_intervals(test_set_scores):
    text = report(test_set_scores)
    for figure in ("macro-F1", "relevance P", "relevance F1", "role macro-F1", "recall ai_swe", "title-only rule",
                   "weak rules", "expected calibration error", "paired 95 % interval", "confusion"):
        assert figure in text
    assert "(0." in text  # intervals printed beside the figures


def test_ece_and_the_bootstrap_on_known_numbers():
    assert ece(np.array([0.9, 0.9, 0.9, 0.9]), np.array([1.0, 1.0, 1.0, 0.0])) == pytest.approx(0.15)
    assert ece(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == pytest.approx(0.0)
    spread = bootstrap(["a", "a", "b", "c"], lambda rows: {"n": float(len(rows))}, draws=200)
    low, high = spread["n"]
    assert 3 <= low <= high <= 6  # whole clusters are drawn: sizes move in steps of one cluster


def test_no_dev_or_test_posting_is_in_the_bundled_training_corpus():
    is_labelled_set = gold_exclusion()
    texts = {g.text.strip() for path in (ROLES_GOLD, ROLES_TEST) for g in load_role_gold(path)}
    corpus = bundled_training_postings()
    assert len(corpus) > 1500
    assert not any(text.strip() in texts for _, _, text in corpus)
    assert not any(is_labelled_set(key.split(":")[0], key.rsplit(":", 1)[1], text) for key, _, text in corpus)


def test_hand_labels_win_over_weak_labels_and_the_test_set_is_never_trained_on():
    examples = training_examples(bundled_training_postings())
    hand = [e for e in examples if e.hand]
    assert len(hand) >= 2300  # the hand-labelled training set and the dev set
    test_bodies = {" ".join(g.text.split()) for g in load_role_gold(ROLES_TEST)}
    assert not any(" ".join(e.body.split()) in test_bodies for e in examples)
    read = {" ".join(e.body.split()) for e in hand}
    assert not any(not e.hand and " ".join(e.body.split()) in read for e in examples)


def test_a_weak_example_with_a_hand_labelled_body_is_dropped():
    (hand,) = hand_examples([{"id": "x", "title": "Engineer", "text": ML_BODY, "label": "ai_swe"}])
    weak = [type(hand)("w", "Engineer", hand.body, True, ML_ENGINEER), type(hand)("v", "Engineer", SWE_BODY, False,
                                                                                   None)]
    combined = combine([hand], weak)
    assert [e.key for e in combined] == ["hand:x", "v"] and combined[0].role == AI_SWE


def test_training_twice_gives_the_same_version_and_predictions(role_model):
    again = train(training_examples(bundled_training_postings()))
    assert again.version == role_model.version
    items = [(g.title, g.text) for g in load_role_gold()[:60]]
    first, second = role_model.predict(items), again.predict(items)
    assert [p.ml_probability for p in first] == [p.ml_probability for p in second]
    assert [p.relevance_probability for p in first] == [p.relevance_probability for p in second]


def test_version_changes_with_the_training_data():
    examples = training_examples(bundled_training_postings())
    assert model_version(examples) != model_version(examples[1:])


def test_too_little_data_is_a_clear_error():
    examples = hand_examples(load_labelled(HAND_TRAINING)[:40])
    with pytest.raises(ModelError, match="too little training data"):
        train(examples)


def test_saved_model_loads_fast_with_identical_predictions_and_its_version_is_readable(role_model, tmp_path):
    path = tmp_path / "m.npz"
    role_model.save(path)
    loaded = RoleModel.load(path)
    assert loaded.version == role_model.version == stored_version(path)
    items = [("Engineer", ML_BODY), ("Engineer", SWE_BODY), ("LLM Engineer", SWE_BODY)]
    assert np.allclose([p.ml_probability for p in loaded.predict(items)],
                       [p.ml_probability for p in role_model.predict(items)])
    assert np.allclose([p.relevance_probability for p in loaded.predict(items)],
                       [p.relevance_probability for p in role_model.predict(items)])
    assert [p.evidence for p in loaded.predict(items)] == [p.evidence for p in role_model.predict(items)]
    assert path.stat().st_size <= 10 * 1024 * 1024


def test_a_missing_or_broken_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="jobtrend classifier train"):
        RoleModel.load(tmp_path / "none.npz")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(ModelError, match="not a readable jobtrend model"):
        RoleModel.load(broken)


def test_a_model_of_another_format_asks_for_a_retrain(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, header=np.array(json.dumps({"format": MODEL_FORMAT - 1})))
    with pytest.raises(ModelError, match="retrain"):
        RoleModel.load(path)
    skops_like = tmp_path / "roles.skops"  # the first models were skops zip files
    with zipfile.ZipFile(skops_like, "w") as archive:
        archive.writestr("schema.json", "{}")
    with pytest.raises(ModelError, match="retrain"):
        RoleModel.load(skops_like)


def test_a_model_file_holding_a_pickled_object_is_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, header=np.array([{"format": MODEL_FORMAT}], dtype=object))
    with pytest.raises(ModelError, match="not a readable jobtrend model"):
        RoleModel.load(path)


def test_the_body_decides_the_role_and_the_evidence_says_why(role_model):
    ml, swe = role_model.predict([("Software Engineer", ML_BODY), ("Software Engineer", SWE_BODY)])
    assert ml.is_ai_role and ml.role == ML_ENGINEER and ml.probability > 0.5
    assert swe.is_ai_role and swe.role == AI_SWE and swe.probability > 0.5
    pushing_ml = [term for term, _ in ml.evidence["role"][ML_ENGINEER]]
    assert pushing_ml and all(weight > 0 for _, weight in ml.evidence["role"][ML_ENGINEER])
    scores = (":distinct", ":density", "app-minus-model", "log-words")  # emphasis scores, not words of the body
    words = [term.removeprefix("lex:") for term in pushing_ml if not term.endswith(scores)]
    assert words and all(word in ML_BODY.lower() for word in words)
    assert all(weight < 0 for _, weight in swe.evidence["role"][AI_SWE])
    json.dumps(ml.evidence)  # stored as JSON


def test_the_title_is_one_evidence_item_for_relevance(role_model):
    (p,) = role_model.predict([("LLM Engineer", "We are hiring. Apply on our website.")])
    items = [term for side in p.evidence["relevance"].values() for term, _ in side]
    assert items.count('title "LLM Engineer"') == 1  # its character n-grams summed into one item
    assert not any(term.startswith("title:") for term in items)


def test_a_non_engineering_title_is_never_an_ai_role(role_model):
    (p,) = role_model.predict([("Account Executive, AI Platform", ML_BODY)])
    assert not p.is_ai_role and p.role is None and p.probability is None
    assert p.evidence["relevance"]["rule"] == "non-engineering job title"


def test_the_title_is_not_what_the_role_model_reads(role_model):
    with_title, other_title = role_model.predict([("Applied AI Engineer", ML_BODY), ("ML Engineer", ML_BODY)])
    assert with_title.ml_probability == other_title.ml_probability


def test_hostile_text_gets_a_verdict_with_finite_probabilities(role_model):
    items = [
        ("", ""),
        ("\x00\x00", "\x00" * 1000),
        ("AI Engineer\x1b[2J\x07", "Build LLM agents with RAG. " * 80_000),  # 2.2 MB
        ("\u0130STANBUL ML", "\u0130" * 5000 + " PyTorch training"),  # lower() makes the text longer
        ("Engineer", "{" * 20_000 + "distributed training" + "}" * 20_000),  # deeply nested brackets
    ]
    predictions = role_model.predict(items)
    assert len(predictions) == len(items)
    for p in predictions:
        assert 0 <= p.relevance_probability <= 1 and 0 <= p.ml_probability <= 1
        assert np.isfinite([p.relevance_probability, p.ml_probability]).all()
        json.dumps(p.evidence)  # storable
        terms = [term for section in p.evidence.values() for side, items in section.items() if side != "rule"
                 for term, _ in items]
        assert all(ch.isprintable() for term in terms for ch in term)


def test_bundled_files_exist():
    assert BUNDLED_TRAINING.exists() and HAND_TRAINING.exists() and ROLES_GOLD.exists() and ROLES_TEST.exists()
    with gzip.open(BUNDLED_TRAINING, "rt") as fh:
        assert set(json.loads(fh.readline())) == {"key", "title", "text"}
