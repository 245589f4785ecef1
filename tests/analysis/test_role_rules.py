"""The weak-label rules and the title-only baseline: each rule on small real-style texts."""

import pytest

from analysis.role_rules import (
    AI_SWE,
    ML_ENGINEER,
    NOT_AI,
    body_without_title,
    emphasis,
    title_family,
    title_rule,
    weak_label,
    weak_relevance,
    weak_role,
)

ML_BODY = ("You will build distributed training infrastructure for large models: pre-training and post-training "
           "runs on GPU clusters, CUDA and Triton kernels, quantization, PyTorch and FSDP, experiment tracking. "
           "Research experience and publications at NeurIPS are a plus.")
SWE_BODY = ("You will ship AI product features on LLM APIs: RAG pipelines over a vector database, prompt engineering, "
            "agents with tool calling and guardrails, built full-stack in TypeScript and React for our customers.")
PLAIN_BODY = ("You will build our billing backend in Go and Postgres, own the CI/CD pipelines and on-call rotation, "
              "and work with product managers on payments features.")


@pytest.mark.parametrize("title, family", [
    ("Senior Machine Learning Engineer", "engineering"),
    ("Account Executive, Enterprise", "non_engineering"),
    ("Senior Product Manager, AI/ML", "non_engineering"),
    ("Solutions Engineer", "non_engineering"),
    ("AI Data Trainer, English Language", "non_engineering"),
    ("Research Scientist", "engineering"),
    ("Acme | Berlin | REMOTE", "unknown"),
])
def test_title_family(title, family):
    assert title_family(title) == family


@pytest.mark.parametrize("title, label", [
    ("Machine Learning Engineer", ML_ENGINEER),
    ("Research Engineer, Post-Training", ML_ENGINEER),
    ("Applied AI Engineer", AI_SWE),
    ("AI Engineer", AI_SWE),  # names AI without saying which: the rule's default
    ("Software Engineer, Android", NOT_AI),
    ("Recruiter, Research", NOT_AI),
])
def test_title_rule(title, label):
    assert title_rule(title) == label


def test_emphasis_counts_each_distinct_term_at_most_twice():
    counts = emphasis("PyTorch PyTorch PyTorch PyTorch")
    assert counts.ml == 2 and counts.ai_swe == 0


def test_emphasis_tells_the_two_vocabularies_apart():
    ml, swe = emphasis(ML_BODY), emphasis(SWE_BODY)
    assert ml.ml > ml.ai_swe and swe.ai_swe > swe.ml


def test_weak_role_follows_the_body_not_the_title():
    assert weak_role("AI Engineer", ML_BODY) == ML_ENGINEER  # the title's vote is outweighed
    assert weak_role("Machine Learning Engineer", SWE_BODY) == AI_SWE


def test_weak_role_abstains_on_a_balanced_body():
    assert weak_role("Software Engineer", "PyTorch and RAG.") is None


def test_weak_relevance():
    assert weak_relevance("Account Executive", SWE_BODY) is False  # job family decides
    assert weak_relevance("Software Engineer", ML_BODY) is True
    assert weak_relevance("Software Engineer", PLAIN_BODY) is False
    assert weak_relevance("Machine Learning Engineer", PLAIN_BODY) is None  # AI title, body says nothing


def test_weak_label_gives_no_role_to_an_irrelevant_posting():
    assert weak_label("Recruiter", ML_BODY).role is None
    assert weak_label("Software Engineer", ML_BODY).role == ML_ENGINEER


def test_body_without_title_removes_a_repeated_title():
    title = "Acme | ML Engineer | Remote"
    assert body_without_title(title, f"{title}\nWe train models.") == "We train models."
    assert body_without_title("", " text ") == "text"
