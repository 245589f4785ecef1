"""The mention matcher, the shipped taxonomy, and incremental analysis on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from sqlalchemy import select

from analysis import mentions
from analysis.mentions import Matcher, analyze, taxonomy_version
from analysis.trends import compute_trends
from jobtrend.config import REPO_ROOT, FrameworkConfig, load_frameworks
from jobtrend.models import Framework, Mention, Posting, TrendPoint
from tests.analysis.factories import SMALL_TAXONOMY, add_posting, add_source, classify_posting, edit_posting

TAXONOMY_PATH = REPO_ROOT / "config" / "frameworks.toml"


@pytest.fixture(scope="module")
def taxonomy() -> tuple[FrameworkConfig, ...]:
    return load_frameworks(TAXONOMY_PATH)


@pytest.fixture(scope="module")
def matcher(taxonomy) -> Matcher:
    return Matcher(taxonomy)


# --- the shipped taxonomy --------------------------------------------------------------------------------


def test_taxonomy_has_at_least_120_entries(taxonomy):
    assert len(taxonomy) >= 120


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
    ("feature stores (Feast, Tecton)", {"feast": 1, "tecton": 1}),
    ("Vertex AI and Amazon Bedrock", {"vertex-ai": 1, "bedrock": 1}),
    ("NVIDIA Triton, TensorRT-LLM", {"triton-inference-server": 1, "tensorrt-llm": 1}),
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
    ("dbt models in Snowflake", {"dbt": 1, "snowflake": 1}),
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


# --- gates: near terms and excluded phrases, on the shipped taxonomy -------------------------------------

GATE_NEGATIVES = [  # the issue's list, then real sentences from the Ashby and HN samples
    "X-ray imaging",
    "ray tracing",
    "Ray tracing on the GPU",
    "a feast for the eyes",
    "A Feast for the senses",
    "spark curiosity",
    "Spark curiosity in every child",
    "bedrock of our culture",
    "Trust is the bedrock of our culture.",
    "Founders Ray Fitzgerald Founder",
    "backed by investors including BOND, IVP, Spark Capital, Greylock and Conviction.",
    "Web Servers: Jetty with Spark framework (thread pools, tuning JVM, load balancing).",
    "manage our Go-to-Market activities in Germany",
    "2. Go to the office every day",
    "Familiarity with Triton is a bonus",
    "digital asset environments (Coinbase, Paxos, Circle, Binance, OKX, Gemini, BitGo)",
    "Graphite is joining Cursor!",
    "a vertex of the polygon",
    "Claude Shannon founded information theory",
    "Our Data Protection Officer (DPO) reviews every vendor.",
    "Move the mouse Cursor over the button",
    "steady hands at the Helm of the company",
    "Modal dialogs and toasts in the web app",
    "The company is backed by top-tier investors, including OpenAI, Thrive Capital, Dimension",
    "Trusted by Google, OpenAI, Meta, xAI, and more",
    "experts from Tesla, Google DeepMind, NVIDIA, and Databricks",
]


@pytest.mark.parametrize("text", GATE_NEGATIVES)
def test_gates_reject(matcher, text):
    assert matcher.find(text) == {}


GATE_POSITIVES = [
    ("Ray Serve", {"ray-serve": 1}),
    ("Amazon Bedrock", {"bedrock": 1}),
    ("Spark/Databricks pipelines", {"spark": 1, "databricks": 1}),
    ("Kafka, Hive, Trino, Spark and Airflow", {"kafka": 1, "spark": 1, "airflow": 1}),
    ("infrastructures (Kubernetes, Slurm) and associated frameworks (Ray).", {"kubernetes": 1, "slurm": 1, "ray": 1}),
    ("LLMs (OpenAI, Claude, Gemini) into native mobile apps", {"openai": 1, "anthropic": 1, "gemini": 1}),
    ("AI coding tools (Cursor, Windsurf, etc.)", {"cursor": 1, "windsurf": 1}),
    ("Serving: vLLM, TGI, Triton, Ray Serve", {"vllm": 1, "tgi": 1, "triton-inference-server": 1, "ray-serve": 1}),
    ("Build foundation-model agents on Bedrock with Claude", {"bedrock": 1, "anthropic": 1}),
    ("languages like Kotlin, Java, Go, Python or similar", {"go": 1, "java": 1, "python": 1}),
    ("services using Rust and Typescript", {"rust": 1, "typescript": 1}),
    ("iOS development with Swift", {"swift": 1}),
    ("feature store (Feast)", {"feast": 1}),
    ("vector databases (Weaviate, Qdrant, FAISS, Chroma)", {"weaviate": 1, "qdrant": 1, "faiss": 1, "chroma": 1}),
    ("LlamaIndex is not Llama 3", {"llamaindex": 1, "llama": 1}),
    ("post-training with DPO and RLHF", {"dpo": 1, "rlhf": 1}),
    ("We call the OpenAI and Anthropic APIs from Databricks jobs", {"openai": 1, "anthropic": 1, "databricks": 1}),
]


@pytest.mark.parametrize(("text", "expected"), GATE_POSITIVES)
def test_gates_pass(matcher, text, expected):
    assert matcher.find(text) == expected


@pytest.mark.parametrize(("slug", "phrase"), [(f.slug, p) for f in load_frameworks(TAXONOMY_PATH) for p in f.exclude])
def test_every_excluded_phrase_excludes(matcher, slug, phrase):
    for variant in (phrase, phrase[:1].upper() + phrase[1:], phrase.title()):
        assert slug not in matcher.find(f"We value {variant} here."), variant


def test_near_terms_count_within_the_window_only():
    ray = FrameworkConfig("ray", "Ray", "x", exact=("Ray",), near=("cluster",), near_window=3)
    assert Matcher([ray]).find("Ray on a cluster") == {"ray": 1}
    assert Matcher([ray]).find("a cluster running Ray") == {"ray": 1}
    assert Matcher([ray]).find("Ray is one two three four cluster") == {}


def test_only_gated_forms_need_a_near_term():
    ray = FrameworkConfig("ray", "Ray", "x", aliases=("ray.io",), exact=("Ray", "Ray Tune"), near=("gpu",),
                          gated=("Ray",))
    assert Matcher([ray]).find("Ray Tune and ray.io, and Ray") == {"ray": 2}


def test_avoid_terms_reject_any_form_within_the_window():
    openai = FrameworkConfig("openai", "OpenAI", "x", aliases=("openai",), avoid=("investors",), avoid_window=3)
    assert Matcher([openai]).find("investors include OpenAI") == {}
    assert Matcher([openai]).find("investors: one two three four OpenAI") == {"openai": 1}


def test_exclude_applies_to_every_form():
    spark = FrameworkConfig("spark", "Spark", "x", aliases=("spark",), exclude=("spark joy",))
    assert Matcher([spark]).find("things that spark joy; Spark jobs") == {"spark": 1}


# --- roll-up to parents ----------------------------------------------------------------------------------

FAMILY = (
    FrameworkConfig("ray", "Ray", "x", exact=("Ray",)),
    FrameworkConfig("ray-serve", "Ray Serve", "x", aliases=("ray serve",), parent="ray"),
    FrameworkConfig("ray-serve-llm", "Ray Serve LLM", "x", aliases=("ray serve llm",), parent="ray-serve"),
)


def test_find_counts_the_matched_entry_only():
    assert Matcher(FAMILY).find("Ray Serve") == {"ray-serve": 1}


def test_roll_up_adds_children_to_parents_transitively():
    found = Matcher(FAMILY).find_with_parents("Ray Serve, Ray Serve LLM and Ray")
    assert found == {"ray-serve": 2, "ray-serve-llm": 1, "ray": 3}


@pytest.mark.parametrize(("text", "parent"), [
    ("Ray Serve", "ray"), ("TensorRT-LLM", "tensorrt"), ("Claude Code", "anthropic"),
    ("PyTorch Lightning", "pytorch"), ("Hugging Face Transformers", "hugging-face"), ("ONNX Runtime", "onnx"),
])
def test_shipped_roll_ups(matcher, text, parent):
    assert matcher.find_with_parents(text)[parent] == 1


def test_llamaindex_does_not_roll_up_to_llama(matcher):
    assert matcher.find_with_parents("LlamaIndex") == {"llamaindex": 1}


# --- explain ---------------------------------------------------------------------------------------------


def test_explain_shows_counted_and_rejected_matches_with_context(matcher):
    text = "Trust is the bedrock of our culture. We build on Amazon Bedrock and Ray Serve for serving."
    found = {(e.form, e.slug): e for e in matcher.explain(text)}
    assert set(found) == {("Amazon Bedrock", "bedrock"), ("Ray Serve", "ray-serve")}  # "bedrock" is lower-case
    serve = found[("Ray Serve", "ray-serve")]
    assert serve.counted and serve.parents == ("ray",)
    assert serve.context == "our culture. We build on Amazon Bedrock and Ray Serve for serving."  # 8 words before
    assert text[serve.start:serve.end] == "Ray Serve"


def test_explain_gives_the_gate_that_rejected_a_match(matcher):
    [rejected] = mentions.explain("Trust is the Bedrock of our culture.", matcher.frameworks)
    assert (rejected.slug, rejected.counted) == ("bedrock", False)
    assert rejected.reason == 'excluded phrase "bedrock of"'
    [alone] = matcher.explain("Founders Ray Fitzgerald")
    assert alone.reason == "no near term within 20 words"


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
    renamed = [dataclasses.replace(f, name=f.name + "!", category="field" if f.category == "field" else "other")
               for f in reversed(taxonomy)]
    assert taxonomy_version(renamed) == taxonomy_version(taxonomy)


def test_taxonomy_version_changes_when_an_entry_becomes_a_field(taxonomy):
    """A field (machine learning) is no technology context for near_technology gates, so it decides matching."""
    moved = [dataclasses.replace(f, category="field") if f.slug == "python" else f for f in taxonomy]
    assert taxonomy_version(moved) != taxonomy_version(taxonomy)


@pytest.mark.parametrize("change", [
    lambda f: dataclasses.replace(f, aliases=(*f.aliases, "torchy")),
    lambda f: dataclasses.replace(f, exclude=("pytorch fire",)),
    lambda f: dataclasses.replace(f, near=("gpu",), gated=("pytorch",)),
    lambda f: dataclasses.replace(f, parent="jax"),
    lambda f: dataclasses.replace(f, avoid=("investors",)),
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


# --- versioning: a gate change re-extracts exactly the postings of the old version ------------------------

RAY_V1 = (FrameworkConfig("ray", "Ray", "training", exact=("Ray",)),)
RAY_V2 = (FrameworkConfig("ray", "Ray", "training", exact=("Ray",), near=("cluster",), exclude=("ray tracing",)),)
WEEKS = [dt.date(2025, 10, 6), dt.date(2025, 10, 13), dt.date(2025, 10, 20)]


def _analyzed_at(engine) -> dict[int, dt.datetime]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Posting.id, Posting.analyzed_at)).all())


def test_a_gate_change_re_extracts_old_version_postings_and_their_weeks(engine, monkeypatch):
    source = add_source(engine)
    ids = [add_posting(engine, source, text=text, week=week) for text, week in
           zip(["Ray on a cluster", "Ray tracing on a cluster", "Ray is great"], WEEKS, strict=True)]
    for posting in ids:  # trends count AI-role postings only
        classify_posting(engine, posting, "ml_engineer")
    analyze(engine, RAY_V1)
    compute_trends(engine)
    assert _mentions(engine) == {posting: {"ray": 1} for posting in ids}
    v1_hash = _content_hash(engine, ids[1])
    real_hash = mentions.analyzed_hash

    def crash_on_second(version, content_hash):  # the new version reaches the first posting only
        if version == taxonomy_version(RAY_V2) and content_hash == v1_hash:
            raise RuntimeError("crash")
        return real_hash(version, content_hash)

    monkeypatch.setattr(mentions, "analyzed_hash", crash_on_second)
    with pytest.raises(RuntimeError):
        analyze(engine, RAY_V2, batch_size=1)
    monkeypatch.setattr(mentions, "analyzed_hash", real_hash)
    assert compute_trends(engine).weeks == (WEEKS[0],)
    before = _analyzed_at(engine)

    result = analyze(engine, RAY_V2)

    assert result.analyzed == 2  # the two postings still under the old version, not the first
    after = _analyzed_at(engine)
    assert after[ids[0]] == before[ids[0]] and all(after[i] != before[i] for i in ids[1:])
    assert _mentions(engine) == {ids[0]: {"ray": 1}}  # "Ray tracing" excluded, "Ray is great" has no near term
    assert compute_trends(engine).weeks == tuple(WEEKS[1:])
    with engine.connect() as conn:
        shares = dict(conn.execute(select(TrendPoint.period_start, TrendPoint.n_mentioning)
                                   .where(TrendPoint.cohort == "all", TrendPoint.grain == "week")).all())
        month = conn.scalar(select(TrendPoint.n_mentioning).where(TrendPoint.cohort == "all",
                                                                 TrendPoint.grain == "month"))
    assert shares == {WEEKS[0]: 1, WEEKS[1]: 0, WEEKS[2]: 0}
    assert month == 1  # the three weeks are one month, recounted with them


def test_analyze_stores_a_row_for_the_parent_too(engine):
    source = add_source(engine)
    posting = add_posting(engine, source, text="Ray Serve, Ray Serve and Ray on a GPU")
    family = (FrameworkConfig("ray", "Ray", "x", exact=("Ray",)),
              FrameworkConfig("ray-serve", "Ray Serve", "x", aliases=("ray serve",), parent="ray"))
    assert analyze(engine, family).mentions == 2
    assert _mentions(engine) == {posting: {"ray-serve": 2, "ray": 3}}


def test_the_employers_own_name_is_not_a_mention_when_it_names_the_company():
    matcher = Matcher(load_frameworks(REPO_ROOT / "config" / "frameworks.toml"))
    text = "Cohere is building enterprise AI. You will fine-tune Command models with PyTorch at Cohere's labs."
    assert "cohere" in matcher.find_with_parents(text)
    assert "cohere" not in matcher.find_with_parents(text, company="Cohere")
    assert "cohere" not in matcher.find_with_parents(text, company="Cohere Inc.")
    assert "pytorch" in matcher.find_with_parents(text, company="Cohere")
    assert "cohere" in matcher.find_with_parents(text, company="Cohere Health Partners")


@pytest.mark.parametrize("text", [
    "At LangChain, we build tools for agents.",
    "LangChain is hiring a founding engineer.",
    "Come join LangChain in San Francisco.",
    "LangChain's mission is to make agents reliable.",
    "We build agents. LangChain (YC W23) is hiring | San Francisco",
])
def test_the_employers_name_used_as_the_company_is_dropped(text):
    matcher = Matcher(load_frameworks(REPO_ROOT / "config" / "frameworks.toml"))
    assert "langchain" in matcher.find_with_parents(text)
    assert "langchain" not in matcher.find_with_parents(text, company="LangChain")
    found = matcher.explain(text, company="LangChain")
    assert [e.reason for e in found if e.slug == "langchain"] == [
        "the employer's own name (LangChain)"]


@pytest.mark.parametrize("company", [None, "LangChain"])
def test_a_name_heading_a_hacker_news_post_is_the_company(company):
    matcher = Matcher(load_frameworks(REPO_ROOT / "config" / "frameworks.toml"))
    for text in ("LangChain (YC W23) | San Francisco | Full-time", "Title\nLangChain | SF | Build agents"):
        assert "langchain" not in matcher.find_with_parents(text, company=company)
    assert "langchain" in matcher.find_with_parents("Title\nLangChain, LlamaIndex | DSPy", company=company)


@pytest.mark.parametrize(("text", "company", "slug"), [
    ("Build LangChain-powered agents for our largest customers.", "LangChain", "langchain"),
    ("You will ship agents with LangChain and LangGraph.", "LangChain", "langchain"),
    ("Join Anyscale to scale Ray clusters for the largest training workloads.", "Anyscale, Inc.", "ray"),
    ("People use Modal for inference, training and sandboxes.", "Modal Labs", "modal"),
])
def test_the_employers_product_used_by_the_work_counts(text, company, slug):
    matcher = Matcher(load_frameworks(REPO_ROOT / "config" / "frameworks.toml"))
    assert slug in matcher.find_with_parents(text, company=company)


def test_a_child_of_the_employers_entry_counts_and_rolls_up():
    matcher = Matcher(load_frameworks(REPO_ROOT / "config" / "frameworks.toml"))
    claude = matcher.find_with_parents("You will build with Claude Code every day.", company="Anthropic")
    assert claude == {"claude-code": 1, "anthropic": 1}
