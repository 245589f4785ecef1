"""Features of the role classifier that survive words it never saw in training.

The first model read word n-grams only, so its relevance call rested on title tokens it had seen ("LLM Engineer"
scored 0.10 because two training titles held "LLM"). These features describe *what the work is* in a way a small
training set cannot unlearn:

- **A lexicon of emphasis phrases** (:data:`LEXICON`), grouped by what they point to: AI application work (RAG,
  LangChain, vector stores, LLM APIs, agents), model work (PyTorch, CUDA, distributed training, fine-tuning,
  MLOps), generic product engineering, generic research and data words, general AI words, analytics, hardware
  design and customer-facing work. Each phrase found in the body is a sparse feature of its own (``lex:cuda``)
  and each group gives dense counts (distinct phrases, their density per 100 words), the rules' emphasis scores
  in a form a linear model can weigh.
- **The title, normalised**: character 2-4-grams (so "GenAI" and "LLM" share grams with "AI" and "ML" titles
  the model has seen), the title's phrases of the same lexicon, and the title-only rule's verdict and job family.

Phrases are found with one Aho-Corasick automaton over the lower-cased text (in C) and a word-boundary check
per hit, so the lexicon costs a few microseconds a posting; the TF-IDF of the body stays the main cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ahocorasick_rs
import numpy as np
from scipy import sparse

from analysis.role_rules import title_family, title_rule

APP = "app"
MODEL = "model"
SWE = "swe"
RESEARCH = "research"
GENERAL = "general"
ANALYTICS = "analytics"
HARDWARE = "hardware"
CUSTOMER = "customer"
GROUPS = (APP, MODEL, SWE, RESEARCH, GENERAL, ANALYTICS, HARDWARE, CUSTOMER)

LEXICON: dict[str, tuple[str, ...]] = {
    APP: (
        "llm api", "llm apis", "openai api", "anthropic api", "model apis", "gpt-4", "gpt-4o", "gpt-3.5", "gpt-5",
        "chatgpt", "claude", "gemini", "openai", "anthropic", "rag", "retrieval-augmented generation",
        "retrieval augmented generation", "retrieval pipelines", "semantic search", "vector database",
        "vector databases", "vector store", "vector stores", "vector search", "vector db", "embeddings",
        "pgvector", "pinecone", "weaviate", "qdrant", "chroma", "milvus", "langchain", "langgraph", "llamaindex",
        "llama index", "dspy", "crewai", "autogen", "semantic kernel", "vercel ai sdk", "prompt engineering",
        "prompts", "prompting", "prompt design", "context engineering", "context management", "context window",
        "ai agents", "llm agents", "agents", "agentic", "agentic workflows", "multi-agent", "tool calling",
        "tool use", "function calling", "mcp", "model context protocol", "guardrails", "copilot", "copilots",
        "chatbot", "chatbots", "ai assistant", "assistants", "conversational ai", "structured outputs",
        "llm-powered", "llm-based", "llm applications", "llm apps", "llm features", "llm integrations",
        "ai-powered", "ai features", "ai products", "ai product", "ai applications", "ai-native",
        "generative ai applications", "genai applications", "integrate llms", "integrating llms",
        "forward deployed", "forward-deployed", "hallucinations", "voice agents", "ai workflows",
        "llm evaluation", "llm observability", "langsmith", "prompt injection", "ai engineer", "ai engineering",
    ),
    MODEL: (
        "training pipelines", "training infrastructure", "training runs", "training jobs", "training data",
        "training clusters", "model training", "distributed training", "large-scale training", "pre-training",
        "pretraining", "post-training", "posttraining", "fine-tuning", "fine-tune", "fine-tuned", "finetuning",
        "finetune", "fine tuning", "rlhf", "rlaif", "reinforcement learning", "sft", "dpo", "ppo", "grpo",
        "distillation", "quantization", "quantisation", "quantized", "pruning", "sparsity", "cuda", "triton",
        "kernels", "gpu", "gpus", "tpu", "tpus", "accelerators", "nccl", "multi-gpu", "multi-node",
        "inference optimization", "inference optimisation", "inference efficiency", "inference performance",
        "inference engine", "inference stack", "inference servers", "tensorrt", "tensorrt-llm", "vllm", "sglang",
        "pytorch", "jax", "tensorflow", "keras", "deepspeed", "megatron", "fsdp", "ray", "kubeflow", "mlflow",
        "weights & biases", "wandb", "feature store", "feature stores", "feature engineering",
        "experiment tracking", "mlops", "ml ops", "model registry", "model serving", "model evaluation",
        "model architecture", "model architectures", "model performance", "model optimization",
        "model compression", "model monitoring", "model drift", "model development", "data curation",
        "synthetic data", "neurips", "icml", "iclr", "cvpr", "emnlp", "transformers", "transformer",
        "loss functions", "hyperparameter", "hyperparameters", "scaling laws", "deep learning",
        "neural networks", "neural network", "computer vision", "speech recognition", "asr", "tts",
        "text-to-speech", "recommendation systems", "recommender systems", "recommendation models",
        "ranking models", "personalization", "forecasting", "fraud models", "scikit-learn", "sklearn", "xgboost",
        "lightgbm", "predictive models", "predictive modeling", "classifiers", "supervised", "unsupervised",
        "multimodal", "foundation models", "diffusion models", "generative models", "train models",
        "training models", "gpu clusters", "sagemaker", "vertex ai", "onnx", "hugging face", "huggingface",
        "lora", "peft", "model weights", "evals", "benchmarking models", "ml pipelines", "ml infrastructure",
        "ml platform", "ml systems", "ml models", "machine learning models", "build models", "statistical models",
        "time series", "anomaly detection", "embedding models", "retrieval models", "language modeling",
        "model inference", "serving infrastructure", "latency and throughput", "ml engineer", "ml engineering",
    ),
    SWE: (
        "product features", "product engineering", "full-stack", "full stack", "fullstack", "frontend",
        "front-end", "front end", "react", "typescript", "next.js", "node.js", "nodejs", "api design",
        "rest apis", "restful apis", "graphql", "user experience", "end users", "web applications",
        "microservices", "backend", "back-end", "postgres", "postgresql", "ruby on rails", "django", "fastapi",
        "javascript", "mobile", "ios", "android", "ship features", "production code", "web app",
    ),
    RESEARCH: (
        "benchmarks", "datasets", "research", "researchers", "papers", "publications", "phd", "statistics",
        "experiments", "mathematics", "numpy", "pandas", "spark", "publish", "state-of-the-art", "novel",
    ),
    GENERAL: (
        "machine learning", "ml", "ai", "a.i.", "artificial intelligence", "llm", "llms", "large language model",
        "large language models", "genai", "gen ai", "generative ai", "nlp", "natural language processing",
        "models", "model", "data science", "data scientist", "data scientists", "neural", "intelligence",
    ),
    ANALYTICS: (
        "dashboards", "dashboard", "sql", "tableau", "looker", "power bi", "a/b tests", "a/b testing",
        "business intelligence", "metrics", "kpis", "stakeholders", "reporting", "product analytics",
        "experimentation", "excel", "insights", "analytics", "dbt", "data warehouse", "etl", "causal inference",
        "business questions", "data visualization",
    ),
    HARDWARE: (
        "asic", "rtl", "verilog", "systemverilog", "fpga", "chip design", "silicon", "physical design", "pcb",
        "design verification", "soc", "firmware", "embedded", "analog", "circuit", "tape-out", "tapeout",
        "hardware design", "microarchitecture", "uvm", "mechanical", "electrical engineering",
    ),
    CUSTOMER: (
        "pre-sales", "presales", "sales", "quota", "customer-facing", "clients", "demos", "proof of concept",
        "proofs of concept", "onboarding", "account executives", "deal", "deals", "pipeline generation",
        "solution design", "technical sales", "customer success", "implementation", "consulting", "consultative",
        "rfp", "prospects", "revenue", "partners",
    ),
}

TITLE_RULE_VALUES = ("ai_swe", "ml_engineer", "not_ai", "ai")
TITLE_FAMILIES = ("non_engineering", "ai_engineering", "engineering", "other")


class PhraseMatcher:
    """Finds the lexicon's phrases as whole words in a text: one Aho-Corasick pass, then a boundary check."""

    def __init__(self, phrases: Sequence[str]):
        self.phrases = tuple(phrases)
        self._automaton = ahocorasick_rs.AhoCorasick(list(self.phrases),
                                                     matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)

    def find(self, text: str, *, lowered: bool = False) -> dict[int, int]:
        """Occurrences of each phrase (by index) in ``text``, whole words only (case-insensitive; ``lowered``:
        the text is lower-cased already). The longest phrase at a place wins ("vector database" holds no
        "database"); a hit inside a word ("rag" in "storage") is dropped."""
        lower = text if lowered else text.lower()
        size = len(lower)
        found: dict[int, int] = {}
        for index, start, end in self._automaton.find_matches_as_indexes(lower):
            if start > 0 and (lower[start - 1].isalnum() or lower[start - 1] in "_-"):
                continue
            if end < size and (lower[end].isalnum() or lower[end] == "_"
                               or (lower[end] == "-" and end + 1 < size and lower[end + 1].isalnum())):
                continue
            found[index] = found.get(index, 0) + 1
        return found


def lexicon_phrases(lexicon: dict[str, Sequence[str]] = LEXICON) -> list[tuple[str, str]]:
    """``(phrase, group)`` pairs, each phrase once (its first group), in a fixed order."""
    pairs, seen = [], set()
    for group in GROUPS:
        for phrase in lexicon.get(group, ()):
            if phrase not in seen:
                seen.add(phrase)
                pairs.append((phrase, group))
    return pairs


class LexiconFeatures:
    """Sparse phrase indicators and dense per-group emphasis scores of a body or a title."""

    def __init__(self, pairs: Sequence[tuple[str, str]], prefix: str):
        self.pairs = tuple((str(p), str(g)) for p, g in pairs)
        self.prefix = prefix
        self._matcher = PhraseMatcher([p for p, _ in self.pairs])
        self._group_of = np.array([GROUPS.index(g) for _, g in self.pairs], dtype=np.int64)

    @property
    def phrase_names(self) -> list[str]:
        return [f"{self.prefix}{p}" for p, _ in self.pairs]

    @property
    def dense_names(self) -> list[str]:
        names = [f"{self.prefix}{g}:{kind}" for g in GROUPS for kind in ("distinct", "density")]
        return names + [f"{self.prefix}app-minus-model", f"{self.prefix}log-words"]

    def transform(self, texts: Sequence[str], *, lowered: bool = False) -> tuple[sparse.csr_matrix, np.ndarray]:
        rows, cols = [], []
        dense = np.zeros((len(texts), len(self.dense_names)), dtype=np.float64)
        groups = len(GROUPS)
        for i, text in enumerate(texts):
            found = self._matcher.find(text, lowered=lowered)
            words = max(1, text.count(" ") + 1)
            distinct = np.bincount(self._group_of[list(found)], minlength=groups) if found else np.zeros(groups)
            for index in found:
                rows.append(i)
                cols.append(index)
            dense[i, 0:2 * groups:2] = np.log1p(distinct)
            dense[i, 1:2 * groups:2] = np.minimum(distinct * 100.0 / (words + 50), 5.0)
            dense[i, 2 * groups] = math.log1p(distinct[0]) - math.log1p(distinct[1])
            dense[i, 2 * groups + 1] = math.log10(words + 10)
        indicators = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(self.pairs)))
        return indicators, dense


def title_flags(titles: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """One-hot of the title-only rule's verdict and of the title's job family (each distinct title read once)."""
    names = [f"title-rule:{v}" for v in TITLE_RULE_VALUES] + [f"title-family:{f}" for f in TITLE_FAMILIES]
    flags = np.zeros((len(titles), len(names)))
    columns: dict[str, tuple[int | None, int]] = {}
    for i, title in enumerate(titles):
        if title not in columns:
            verdict, family = title_rule(title), title_family(title)
            columns[title] = (TITLE_RULE_VALUES.index(verdict) if verdict in TITLE_RULE_VALUES else None,
                              len(TITLE_RULE_VALUES) + (TITLE_FAMILIES.index(family) if family in TITLE_FAMILIES
                                                        else 3))
        verdict_column, family_column = columns[title]
        if verdict_column is not None:
            flags[i, verdict_column] = 1
        flags[i, family_column] = 1
    return flags, names
