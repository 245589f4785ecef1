"""Classifying stored postings: incremental, re-run on changed content or a new model, one row per posting."""

import json

import pytest
from sqlalchemy import func, select

from analysis.classifier import RoleModel
from analysis.classify import classify_postings, pending_count, role_split, stored_training_postings
from analysis.role_rules import AI_SWE, ML_ENGINEER
from jobtrend.models import Classification
from tests.analysis.factories import add_posting, add_source, edit_posting
from tests.analysis.test_role_rules import ML_BODY, PLAIN_BODY, SWE_BODY


def _rows(engine):
    with engine.connect() as conn:
        return {r.posting_id: r for r in conn.execute(select(Classification))}


def _seed(engine):
    source = add_source(engine)
    return {
        "ml": add_posting(engine, source, title="Software Engineer", text=ML_BODY),
        "swe": add_posting(engine, source, title="Software Engineer", text=SWE_BODY),
        "plain": add_posting(engine, source, title="Software Engineer", text=PLAIN_BODY),
        "sales": add_posting(engine, source, title="Account Executive", text=SWE_BODY),
        "empty": add_posting(engine, source, title="ML Engineer", text="   "),
    }


def test_classifies_each_posting_with_a_description_once(engine, role_model):
    ids = _seed(engine)
    result = classify_postings(engine, role_model, batch_size=2)  # several batches
    assert (result.classified, result.ai_roles, result.ai_swe, result.ml_engineer) == (4, 2, 1, 1)
    rows = _rows(engine)
    assert set(rows) == {ids["ml"], ids["swe"], ids["plain"], ids["sales"]}  # no text, nothing to classify
    assert rows[ids["ml"]].role == ML_ENGINEER and rows[ids["swe"]].role == AI_SWE
    assert not rows[ids["plain"]].is_ai_role and rows[ids["plain"]].role is None
    assert not rows[ids["sales"]].is_ai_role
    assert rows[ids["ml"]].model_version == role_model.version
    evidence = rows[ids["ml"]].evidence
    evidence = json.loads(evidence) if isinstance(evidence, str) else evidence
    assert evidence["role"][ML_ENGINEER]
    assert role_split(engine) == {AI_SWE: 1, ML_ENGINEER: 1, "not_ai": 2}
    assert classify_postings(engine, role_model).classified == 0  # nothing new
    assert pending_count(engine, role_model.version) == 0


def test_changed_content_is_classified_again(engine, role_model):
    ids = _seed(engine)
    classify_postings(engine, role_model)
    edit_posting(engine, ids["plain"], text=ML_BODY)
    assert pending_count(engine, role_model.version) == 1
    result = classify_postings(engine, role_model)
    assert result.classified == 1 and result.ml_engineer == 1
    assert _rows(engine)[ids["plain"]].role == ML_ENGINEER
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Classification)) == 4  # replaced, not added


def test_a_new_model_version_reclassifies_everything(engine, role_model):
    _seed(engine)
    classify_postings(engine, role_model)
    newer = RoleModel(role_model.space, role_model.relevance, role_model.role, "newversion01", role_model.meta)
    assert pending_count(engine, newer.version) == 4
    assert classify_postings(engine, newer).classified == 4
    assert {r.model_version for r in _rows(engine).values()} == {"newversion01"}


def test_training_postings_from_the_database_leave_out_duplicates_and_empty_texts(engine):
    source = add_source(engine)
    canonical = add_posting(engine, source, title="ML Engineer", text=ML_BODY)
    add_posting(engine, source, title="ML Engineer", text=ML_BODY, duplicate_of=canonical)
    add_posting(engine, source, title="ML Engineer", text="")
    postings = stored_training_postings(engine)
    assert [(title, text) for _, title, text in postings] == [("ML Engineer", ML_BODY)]
    assert postings[0][0].startswith("ashby:acme:")


def test_gold_postings_in_the_database_are_not_trained_on(engine):
    from analysis.classify import load_role_gold

    gold = load_role_gold()[0]
    source = add_source(engine)
    add_posting(engine, source, title=gold.title, text=gold.text)
    add_posting(engine, source, title="ML Engineer", text=ML_BODY)
    assert [title for _, title, _ in stored_training_postings(engine)] == ["ML Engineer"]


class FailsOnSecondBatch:
    """The real model, except that its second call raises, as a crash in the middle of a run would."""

    def __init__(self, model):
        self.model, self.version, self.calls = model, model.version, 0

    def predict(self, items, **kwargs):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("killed mid-run")
        return self.model.predict(items, **kwargs)


def test_an_interrupted_run_keeps_whole_batches_and_the_next_run_finishes(engine, role_model):
    _seed(engine)
    with pytest.raises(RuntimeError, match="killed mid-run"):
        classify_postings(engine, FailsOnSecondBatch(role_model), batch_size=2)
    assert len(_rows(engine)) == 2  # the first batch, whole; nothing of the second
    assert pending_count(engine, role_model.version) == 2
    assert classify_postings(engine, role_model).classified == 2
    assert len(_rows(engine)) == 4


def test_a_title_with_control_characters_is_classified_and_stored_without_them(engine, role_model):
    hostile = "LLM Engineer\x1b]0;pwned\x07 \x1b[2J\u202e"
    posting = add_posting(engine, add_source(engine), title=hostile, text="We are hiring. Apply on our website.")
    assert classify_postings(engine, role_model).classified == 1
    evidence = _rows(engine)[posting].evidence
    terms = [term for section in evidence.values() for side, items in section.items() if side != "rule"
             for term, _ in items]
    assert any(term.startswith('title "LLM Engineer') for term in terms)
    assert all(ch.isprintable() for term in terms for ch in term)
