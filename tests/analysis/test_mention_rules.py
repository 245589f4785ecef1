"""The taxonomy's rules on real phrasing: technology lists, lower case, names that are also companies, new entries.

Each text is (a shortened form of) what a real Ashby or Hacker News posting writes; the counts behind each rule are
in the comments of config/frameworks.toml and in docs/annotating-mentions.md.
"""

from __future__ import annotations

import pytest

from analysis import mentions
from analysis.mentions import Matcher
from jobtrend.config import REPO_ROOT, load_frameworks


@pytest.fixture(scope="module")
def matcher():
    return Matcher(load_frameworks(REPO_ROOT / "config" / "frameworks.toml"))


@pytest.mark.parametrize(("text", "slug"), [
    ("The backend is written in Go and hosted on AWS.", "go"),
    ("We use Jenkins for continuous integration.", "jenkins"),
    ("Stack: Python, Go, Postgres", "go"),
    ("Engineers who like Rust/C++ and low latency.", "rust"),
    ("C++23, Qt 6.9, CMake, git, OpenGL, CUDA, Boost, Jenkins. Windows and Linux", "jenkins"),
    ("Stack: [python, typescript, rust], [redis, postgresql], [aws, terraform]", "rust"),
    ("Senior Data Engineer (Python, airflow, duckdb, s3, bigquery)", "airflow"),
    ("popular data engineering tools such as snowflake, dbt, Dagster etc", "snowflake"),
    ("we train models in jax and pytorch", "jax"),
    ("numpy, keras, scikit-learn", "keras"),
    ("The primary technologies we work with are Swift, Node, Google Cloud, BigQuery", "swift"),
    ("in distributed training frameworks (e.g., vLLM, sglang, Ray, Accelerate).", "hf-accelerate"),
    ("foundation models (e.g. Whisper, GPT, BERT) and traditional ML", "whisper"),
    ("a model we fine tuned on support tickets", "fine-tuning"),
])
def test_technology_lists_and_lower_case_forms_count(matcher, text, slug):
    assert slug in matcher.find(text)


@pytest.mark.parametrize(("text", "slug"), [
    ("Go ahead, apply and let's discover your potential together.", "go"),
    ("Guide teams toward swift, effective remediation.", "swift"),
    ("ensuring it's sealed correctly for optimal airflow.", "airflow"),
    ("scalable data models (e.g., star/snowflake schemas) in SQL", "snowflake"),
    ("Accelerate your career with ownership based on impact", "hf-accelerate"),
    ("Fine-tuned understanding of Agile delivery", "fine-tuning"),
    ("When the numbers whisper instead of shout, you still make the call.", "whisper"),
    ("Ms Jenkins will be your recruiter.", "jenkins"),
])
def test_words_that_are_not_the_technology_do_not_count(matcher, text, slug):
    assert slug not in matcher.find(text)


@pytest.mark.parametrize(("text", "slug"), [
    ("Companies like OpenAI, Uber and Airbnb rely on us.", "openai"),
    ("strategic partnerships with Anthropic, McKinsey, AWS", "anthropic"),
    ("strategic partnerships with Anthropic, McKinsey, AWS", "aws"),
    ("our customers include Hugging Face, Lucid, and LG.", "hugging-face"),
    ("serving customers like Perplexity, Guru, Together.AI, Flock Safety", "together-ai"),
    ("800 companies including Linear, Cognition, Modal Labs, and Incident.io use us", "modal"),
    ("Small team from Meta FAIR, Pinecone, and AWS.", "pinecone"),
    ("current and target partners: GCP, Databricks, Snowflake, AWS, Azure.", "databricks"),
    ("trusted by CoreWeave, Synthesia, Groq, PayPal and Mistral AI to manage their billing", "mistral"),
    ("backed by founders of OpenAI, Meta AI Research, MotherDuck, dbt Labs.", "dbt"),
    ("We're building Tempo with design partners who are global leaders in AI, e-commerce, and financial services: "
     "Anthropic, Coupang, Deutsche Bank, DoorDash, Mercury, Nubank, OpenAI, Revolut.", "openai"),
    ("General Catalyst, SV Angel, Databricks and others.", "databricks"),
])
def test_a_company_named_as_customer_partner_or_backer_does_not_count(matcher, text, slug):
    assert slug not in matcher.find(text)
    assert any(e.slug == slug and not e.counted and e.reason.startswith("organisation context")
               for e in matcher.explain(text))


@pytest.mark.parametrize(("text", "slug"), [
    ("You will call the OpenAI and Anthropic APIs from Python.", "openai"),
    ("Experience with Databricks deployments for government clients.", "databricks"),
    ("Partner with data engineers to ensure data flows into Databricks.", "databricks"),
    ("Experience with cloud platforms (AWS, GCP, Azure)", "azure"),
])
def test_the_same_companies_as_technology_count(matcher, text, slug):
    assert slug in matcher.find(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("Java, Kotlin and JavaScript", {"java": 1, "javascript": 1}),
    ("HTML/CSS/JS and React.JS", {"javascript": 1, "react": 1}),
    ("React Native and TypeScript", {"react-native": 1, "typescript": 1}),
    ("AWS Bedrock, Azure ML and Google Cloud Platform", {"bedrock": 1, "azure-ml": 1, "gcp": 1}),
    ("machine learning, deep learning, NLP and computer vision",
     {"machine-learning": 1, "deep-learning": 1, "nlp": 1, "computer-vision": 1}),
    ("ML Engineer", {}),
])
def test_new_entries(matcher, text, expected):
    assert matcher.find(text) == expected


def test_react_native_also_counts_for_react(matcher):
    assert matcher.find_with_parents("React Native") == {"react-native": 1, "react": 1}


@pytest.mark.parametrize("text", [
    "Backed by Sequoia and trusted by teams at OpenAI; our customers include Hugging Face.",
    "İstanbul: companies like OpenAI, then CO-FOUNDER of x, backed  by\nus",
    "no phrase here at all",
])
def test_organisation_phrases_are_the_patterns_matches(text):
    expected = [m.span() for m in mentions._ORGANISATION_PATTERN.finditer(text)]
    assert [m.span() for m in mentions.organisation_phrases(text)] == expected
