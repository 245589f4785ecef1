"""The mention matcher, the shipped taxonomy, and incremental analysis on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select

from analysis import mentions
from analysis.mentions import Matcher, analyze, taxonomy_version
from jobtrend.config import REPO_ROOT, FrameworkConfig, load_frameworks
from jobtrend.models import Framework, Mention, Posting
from tests.analysis.factories import SMALL_TAXONOMY, add_posting, add_source, edit_posting

TAXONOMY_PATH = REPO_ROOT / "config" / "frameworks.toml"


@pytest.fixture(scope="module")
def taxonomy() -> tuple[FrameworkConfig, ...]:
    return load_frameworks(TAXONOMY_PATH)


@pytest.fixture(scope="module")
def matcher(taxonomy) -> Matcher:
    return Matcher(taxonomy)


# --- the shipped taxonomy --------------------------------------------------------------------------------


def test_taxonomy_has_at_least_60_entries(taxonomy):
    assert len(taxonomy) >= 60


def test_taxonomy_forms_are_unique_across_entries(taxonomy):
    aliases = [" ".join(a.split()).lower() for f in taxonomy for a in f.aliases]
    exact = [" ".join(e.split()) for f in taxonomy for e in f.exact]
    assert len(aliases) == len(set(aliases))
    assert len(exact) == len(set(exact))


def test_every_form_matches_its_own_entry(matcher):
    assert matcher.unreachable_forms() == []


@pytest.mark.parametrize("slug", [
    "pytorch", "tensorflow", "jax", "keras", "scikit-learn", "xgboost", "hf-transformers", "langchain",
    "langgraph", "llamaindex", "dspy", "haystack", "semantic-kernel", "crewai", "autogen", "pgvector",
    "pinecone", "weaviate", "chroma", "qdrant", "milvus", "faiss", "openai", "anthropic", "gemini", "llama",
    "mistral", "vllm", "tgi", "tensorrt", "triton-inference-server", "torchserve", "ray-serve", "kserve",
    "bentoml", "onnx-runtime", "deepspeed", "fsdp", "megatron", "ray", "mlflow", "wandb", "kubeflow",
    "airflow", "dvc", "feast", "delta-lake", "spark", "dbt", "sagemaker", "vertex-ai", "azure-ml", "bedrock",
    "docker", "kubernetes", "rag", "fine-tuning", "lora",
])
def test_taxonomy_covers(taxonomy, slug):
    assert slug in {f.slug for f in taxonomy}


# --- matching: what must be found, and what must not ----------------------------------------------------

POSITIVES = [
    ("Experience with PyTorch", {"pytorch": 1}),
    ("pytorch, PYTORCH and PyTorch", {"pytorch": 3}),
    ("PyTorch-based training stack", {"pytorch": 1}),
    ("PyTorch/JAX", {"pytorch": 1, "jax": 1}),
    ("frameworks (LangChain)", {"langchain": 1}),
    ("We use LangChain.", {"langchain": 1}),
    ("LangChain's agents", {"langchain": 1}),
    ("LangGraph and LangChain", {"langgraph": 1, "langchain": 1}),
    ("Llama Index for retrieval", {"llamaindex": 1}),
    ("LlamaIndex, Llama 3 and llama.cpp", {"llamaindex": 1, "llama": 1, "llama-cpp": 1}),
    ("serving with Ray Serve", {"ray-serve": 1}),
    ("distributed with Ray", {"ray": 1}),
    ("Ray Tune sweeps", {"ray": 1}),
    ("Apache Spark, PySpark, Spark SQL", {"spark": 3}),
    ("Spark and Airflow", {"spark": 1, "airflow": 1}),
    ("Apache\n  Spark", {"spark": 1}),
    ("stores such as Chroma or ChromaDB", {"chroma": 2}),
    ("feature stores (Feast, Tecton)", {"feast": 1}),
    ("Vertex AI and Amazon Bedrock", {"vertex-ai": 1, "bedrock": 1}),
    ("NVIDIA Triton, TensorRT-LLM", {"triton-inference-server": 1, "tensorrt": 1}),
    ("Triton Inference Server", {"triton-inference-server": 1}),
    ("vLLM, TGI, Ray Serve", {"vllm": 1, "tgi": 1, "ray-serve": 1}),
    ("Weights & Biases, W&B, wandb", {"wandb": 3}),
    ("GPT-4o and Claude", {"openai": 1, "anthropic": 1}),
    ("Claude Code and Cursor", {"claude-code": 1, "cursor": 1}),
    ("Gemini 2.5 Flash", {"gemini": 1}),
    ("Keras and tf.keras", {"keras": 2}),
    ("scikit-learn (sklearn)", {"scikit-learn": 2}),
    ("Hugging Face Transformers", {"hf-transformers": 1}),
    ("HuggingFace Hub", {"hugging-face": 1}),
    ("retrieval-augmented generation (RAG)", {"rag": 2}),
    ("fine-tuning with LoRA/QLoRA", {"fine-tuning": 1, "lora": 2}),
    ("Docker and k8s", {"docker": 1, "kubernetes": 1}),
    ("dbt models in Snowflake", {"dbt": 1}),
    ("Megatron-LM and DeepSpeed", {"megatron": 1, "deepspeed": 1}),
    ("PyTorch FSDP", {"pytorch": 1, "fsdp": 1}),
    ("Model Context Protocol (MCP) servers", {"mcp": 2}),
    ("deepset Haystack pipelines", {"haystack": 1}),
]


@pytest.mark.parametrize(("text", "expected"), POSITIVES)
def test_finds(matcher, text, expected):
    assert matcher.find(text) == expected


NEGATIVES = [
    "X-ray imaging",
    "an array of options",
    "spray paint",
    "Sparkling water, and a spark of joy",
    "spark curiosity",
    "ray of sunshine",
    "a chroma key",
    "a team feast",
    "good airflow in the data centre",
    "mouse cursor",
    "Transformers and attention",  # the architecture, not the library
    "just Triton",  # bare Triton is the server or the kernel language: ambiguous
    "Bedrock of our culture",
    "vertex of a graph",
    "LoRa radio",
    "DBT therapy",
    "investors Lightspeed, GV and Haystack VC",
    "TensorFlow.js in the browser",
    "pytorch_lightning_utils",
    "mypytorch",
    "langchainx",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_does_not_invent(matcher, text):
    assert matcher.find(text) == {}


def test_triton_kernels_count_as_the_kernel_language_only(matcher):
    assert matcher.find("Triton kernels? no: just Triton") == {"openai-triton": 1}


# --- boundaries next to +, #, . on a synthetic taxonomy --------------------------------------------------

LANGUAGES = (
    FrameworkConfig("c", "C", "language", exact=("C",)),
    FrameworkConfig("cpp", "C++", "language", aliases=("c++",)),
    FrameworkConfig("csharp", "C#", "language", aliases=("c#",)),
    FrameworkConfig("dotnet", ".NET", "language", aliases=(".net",)),
    FrameworkConfig("node", "Node.js", "language", aliases=("node.js",)),
    FrameworkConfig("go", "Go", "language", exact=("Go",)),
)


@pytest.mark.parametrize(("text", "expected"), [
    ("C++ and C#", {"cpp": 1, "csharp": 1}),
    ("C, C++, C#.", {"c": 1, "cpp": 1, "csharp": 1}),
    ("(C++)", {"cpp": 1}),
    ("C++17", {}),
    ("on .NET and Node.js.", {"dotnet": 1, "node": 1}),
    ("ASP.NET", {}),
    ("Node.jsx", {}),
    ("Go, not go", {"go": 1}),
    ("Go-based services", {"go": 1}),
    ("Golang", {}),
    ("C.D", {}),
])
def test_boundaries_next_to_symbols(text, expected):
    assert Matcher(LANGUAGES).find(text) == expected


def test_longest_form_wins_within_a_group():
    frameworks = (FrameworkConfig("a", "A", "x", aliases=("aws",)),
                  FrameworkConfig("b", "B", "x", aliases=("aws lambda",)))
    assert Matcher(frameworks).find("AWS Lambda and AWS") == {"b": 1, "a": 1}


def test_unreachable_forms_reports_a_shadowed_exact_form():
    frameworks = (FrameworkConfig("jax", "JAX", "x", aliases=("jax",)),
                  FrameworkConfig("jaxrs", "JAX-RS", "x", exact=("JAX-RS",)))
    assert Matcher(frameworks).unreachable_forms() == [("jaxrs", "JAX-RS")]


def test_the_matcher_is_one_compiled_regex(matcher):
    assert isinstance(matcher.pattern, re.Pattern)
    assert "(?i:" in matcher.pattern.pattern


def test_empty_taxonomy_matches_nothing():
    assert Matcher(()).find("PyTorch") == {}


# --- taxonomy version ------------------------------------------------------------------------------------


def test_taxonomy_version_is_12_hex_characters(taxonomy):
    assert re.fullmatch(r"[0-9a-f]{12}", taxonomy_version(taxonomy))


def test_taxonomy_version_ignores_order_and_display_fields(taxonomy):
    renamed = [dataclasses.replace(f, name=f.name + "!", category="other") for f in reversed(taxonomy)]
    assert taxonomy_version(renamed) == taxonomy_version(taxonomy)


@pytest.mark.parametrize("change", [
    lambda f: dataclasses.replace(f, aliases=(*f.aliases, "torchy")),
    lambda f: dataclasses.replace(f, exact=("Torch",)),
    lambda f: dataclasses.replace(f, slug="pytorch2"),
])
def test_taxonomy_version_changes_with_matching_rules(change):
    changed = (change(SMALL_TAXONOMY[0]), *SMALL_TAXONOMY[1:])
    assert taxonomy_version(changed) != taxonomy_version(SMALL_TAXONOMY)


def test_taxonomy_version_changes_when_an_entry_is_added():
    added = (*SMALL_TAXONOMY, FrameworkConfig("dspy", "DSPy", "llm-framework", aliases=("dspy",)))
    assert taxonomy_version(added) != taxonomy_version(SMALL_TAXONOMY)


# --- analyze on both databases ---------------------------------------------------------------------------


def _mentions(engine) -> dict[int, dict[str, int]]:
    query = select(Mention.posting_id, Framework.slug, Mention.count).join(Framework)
    with engine.connect() as conn:
        found: dict[int, dict[str, int]] = {}
        for posting_id, slug, count in conn.execute(query):
            found.setdefault(posting_id, {})[slug] = count
        return found


def _analyzed_hashes(engine) -> dict[int, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Posting.id, Posting.analyzed_hash)).all())


@pytest.fixture
def postings(engine) -> list[int]:
    source = add_source(engine)
    return [
        add_posting(engine, source, title="ML Engineer", text="PyTorch and pytorch, plus LangChain."),
        add_posting(engine, source, title="JAX researcher", text="We train in JAX."),
        add_posting(engine, source, title="Accountant", text="Spreadsheets."),
    ]


def test_analyze_stores_mentions_with_counts_and_version(engine, postings):
    result = analyze(engine, SMALL_TAXONOMY)
    version = taxonomy_version(SMALL_TAXONOMY)
    assert result == mentions.AnalyzeResult(analyzed=3, with_mentions=2, mentions=3, taxonomy_version=version)
    assert _mentions(engine) == {postings[0]: {"pytorch": 2, "langchain": 1}, postings[1]: {"jax": 2}}
    with engine.connect() as conn:
        assert set(conn.scalars(select(Mention.taxonomy_version))) == {version}
        assert conn.scalar(select(Posting.analyzed_at).where(Posting.id == postings[2])) is not None


def test_analyze_syncs_the_frameworks_table(engine):
    analyze(engine, SMALL_TAXONOMY)
    with engine.connect() as conn:
        assert set(conn.scalars(select(Framework.slug))) == {"pytorch", "langchain", "jax"}


def test_second_run_analyses_nothing(engine, postings):
    analyze(engine, SMALL_TAXONOMY)
    before = _analyzed_hashes(engine)
    assert analyze(engine, SMALL_TAXONOMY).analyzed == 0
    assert _analyzed_hashes(engine) == before


def test_changed_content_is_analysed_again(engine, postings):
    analyze(engine, SMALL_TAXONOMY)
    edit_posting(engine, postings[0], text="Now only JAX.")
    result = analyze(engine, SMALL_TAXONOMY)
    assert (result.analyzed, result.mentions) == (1, 1)
    assert _mentions(engine)[postings[0]] == {"jax": 1}


def test_changed_taxonomy_reanalyses_everything(engine, postings):
    analyze(engine, SMALL_TAXONOMY)
    without_langchain = (SMALL_TAXONOMY[0], SMALL_TAXONOMY[2])
    result = analyze(engine, without_langchain)
    assert result.analyzed == 3
    assert _mentions(engine)[postings[0]] == {"pytorch": 2}
    assert analyze(engine, without_langchain).analyzed == 0


def test_analyzed_hash_is_version_and_content_hash_prefix(engine, postings):
    analyze(engine, SMALL_TAXONOMY)
    with engine.connect() as conn:
        stored, content = conn.execute(select(Posting.analyzed_hash, Posting.content_hash)
                                       .where(Posting.id == postings[0])).one()
    assert stored == f"{taxonomy_version(SMALL_TAXONOMY)}:{content[:51]}"
    assert len(stored) == 64


def test_small_batches_cover_every_posting(engine, postings):
    assert analyze(engine, SMALL_TAXONOMY, batch_size=1).analyzed == 3
    assert analyze(engine, SMALL_TAXONOMY, batch_size=1).analyzed == 0


def test_a_crash_loses_at_most_the_failing_batch(engine, postings, monkeypatch):
    analyze(engine, SMALL_TAXONOMY)
    old_hashes, old_mentions = _analyzed_hashes(engine), _mentions(engine)
    edit_posting(engine, postings[0], text="LangChain only")
    edit_posting(engine, postings[1], text="PyTorch now")
    real_hash = mentions.analyzed_hash

    def fail_on_second(version, content_hash):
        if content_hash == _content_hash(engine, postings[1]):
            raise RuntimeError("crash while writing")
        return real_hash(version, content_hash)

    monkeypatch.setattr(mentions, "analyzed_hash", fail_on_second)
    with pytest.raises(RuntimeError):
        analyze(engine, SMALL_TAXONOMY, batch_size=1)
    assert _mentions(engine)[postings[0]] == {"langchain": 1}  # first batch committed
    assert _mentions(engine)[postings[1]] == old_mentions[postings[1]]  # second batch rolled back whole
    assert _analyzed_hashes(engine)[postings[1]] == old_hashes[postings[1]]
    monkeypatch.setattr(mentions, "analyzed_hash", real_hash)
    assert analyze(engine, SMALL_TAXONOMY).analyzed == 1


def _content_hash(engine, posting_id: int) -> str:
    with engine.connect() as conn:
        return conn.scalar(select(Posting.content_hash).where(Posting.id == posting_id))
