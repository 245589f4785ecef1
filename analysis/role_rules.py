"""Weak labels for the role classifier, and the title-only rule it is measured against.

Nobody labels thousands of postings by hand, so the classifier (``analysis/classifier.py``) trains on *weak*
labels: rules that read the title and count the emphasis vocabulary of the body, and abstain when they are not
sure. The model then sees only the body (the title removed), so it learns which words go with each emphasis
and can label the postings the rules abstained on. ``docs/classifier.md`` states the rules in prose.

Two questions, each with its own rule:

1. **Relevance** (:func:`weak_relevance`): is this an AI/ML engineering role at all? A title from a
   non-engineering job family (sales, recruiting, design, product management, ...) says no. An engineering title
   that names AI/ML work says yes unless the body barely mentions it. Any other engineering title is decided by
   how much role vocabulary (both lists below) the body uses for its length (a short Hacker News comment needs
   fewer terms than a long board posting), with an undecided band in between where the rule abstains.
2. **Role** (:func:`weak_role`), for relevant postings: *AI Software Engineer* vocabulary (LLM APIs, RAG,
   prompts, agents, vector stores, product features, full-stack work) against *ML Engineer* vocabulary
   (training, fine-tuning, distributed training, GPUs and kernels, quantisation, MLOps, model evaluation,
   research). Each distinct term counts once or twice (a term repeated ten times is still one emphasis); the
   title adds a vote of its own. The rule labels only when one side wins by a margin, else it abstains.

:func:`title_rule` is the baseline the model must beat: the same title patterns, the body ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

AI_SWE = "ai_swe"
ML_ENGINEER = "ml_engineer"
NOT_AI = "not_ai"
ROLES = (AI_SWE, ML_ENGINEER)
COHORTS = ("all", *ROLES)  # trend cohorts: every AI role, then each role
LABELS = (AI_SWE, ML_ENGINEER, NOT_AI)


def _terms(*patterns: str) -> re.Pattern[str]:
    """One case-insensitive regex matching any of ``patterns`` as whole words; group names are not needed."""
    return re.compile(r"(?<![\w-])(?:" + "|".join(patterns) + r")(?![\w-])", re.IGNORECASE)


# Vocabulary of an AI Software Engineer posting: software built on models.
AI_SWE_TERMS = _terms(
    r"llm[- ]?(?:powered|based|apps?|applications?|features?|products?|integrations?|apis?|calls?|workflows?)",
    r"(?:openai|anthropic|gemini|claude|gpt|llm|model) apis?", r"gpt-?[345](?:\.\d)?o?", r"claude", r"chatgpt",
    r"rag", r"retrieval[- ]augmented(?: generation)?", r"retrieval pipelines?", r"semantic search",
    r"vector (?:databases?|stores?|search|dbs?|indexes?)", r"embeddings?", r"pgvector", r"pinecone", r"weaviate",
    r"qdrant", r"chroma(?:db)?", r"milvus", r"langchain", r"langgraph", r"llama ?index", r"dspy",
    r"prompts?", r"prompt(?:ing| engineering| design)", r"context (?:engineering|management|windows?)",
    r"(?:ai |llm |autonomous )?agents?", r"agentic", r"multi-agent", r"tool (?:use|calling)", r"function calling",
    r"mcp", r"model context protocol", r"guardrails?", r"copilots?", r"chatbots?", r"assistants?",
    r"conversational", r"structured outputs?", r"ai[- ](?:powered|driven|native) (?:features?|products?|apps?)",
    r"ai (?:features?|products?|applications?|integrations?|workflows?)", r"generative ai applications?",
    r"integrat(?:e|ing|ion) (?:llms?|ai|models?)", r"forward[- ]deployed",
    r"evals? (?:for|of) (?:our )?(?:product|features?|agents?)", r"hallucinations?",
)

# Product-engineering words: they point to an AI Software Engineer among AI roles, but say nothing about AI.
SWE_GENERIC_TERMS = _terms(
    r"product (?:features?|engineering|engineers?)", r"full[- ]?stack", r"front[- ]?end", r"react", r"typescript",
    r"next\.?js", r"node(?:\.js)?", r"api design", r"rest(?:ful)? apis?", r"graphql", r"customers?",
    r"user experiences?", r"end[- ]users?", r"ship(?:ping)?", r"web applications?", r"microservices",
)

# Vocabulary of an ML Engineer posting: the models and the machinery that makes them.
ML_TERMS = _terms(
    r"train(?:ing)? (?:pipelines?|infrastructure|runs?|jobs?|data|clusters?|loops?|stack)",
    r"(?:model|distributed|large[- ]scale) training", r"train(?:ing)? (?:and|&) (?:fine-?tun\w+|deploy\w*)",
    r"train(?:s|ed|ing)? (?:ml |machine learning |deep learning |our |large |new )?models", r"pre-?training",
    r"post-?training", r"fine-?tun(?:e|es|ed|ing)", r"rlhf", r"rlaif", r"reinforcement learning", r"sft", r"dpo",
    r"distillation", r"quantiz(?:ation|ed|e)", r"quantis(?:ation|ed|e)", r"pruning", r"sparsity",
    r"cuda", r"triton", r"kernels?", r"gpus?", r"tpus?", r"accelerators?", r"nccl", r"multi-?(?:gpu|node)",
    r"inference (?:optimi[sz]ation|efficiency|performance|engines?|stack|servers?)", r"tensorrt(?:-llm)?",
    r"vllm", r"sglang", r"throughput", r"pytorch", r"jax", r"tensorflow", r"deepspeed", r"megatron", r"fsdp",
    r"ray", r"kubeflow", r"mlflow", r"weights (?:&|and) biases", r"wandb", r"feature (?:stores?|engineering)",
    r"experiment tracking", r"mlops", r"ml ?ops", r"model (?:registry|serving|evaluation|"
    r"architectures?|performance|quality|development|optimi[sz]ation|compression|monitoring|drift)",
    r"data (?:pipelines? for training|curation|mixtures?)", r"synthetic data", r"neurips", r"icml", r"iclr",
    r"cvpr", r"transformers?", r"architectures?", r"loss functions?", r"hyperparameters?", r"scaling laws?",
    r"deep learning", r"neural (?:networks?|nets?)", r"computer vision", r"speech recognition", r"asr", r"tts",
    r"recommend(?:ation|er)(?: systems?| models?)?", r"ranking(?: models?)?", r"personali[sz]ation",
    r"forecasting", r"fraud models?", r"statistical model(?:l)?ing", r"scikit-learn", r"sklearn", r"xgboost",
    r"lightgbm", r"predictive models?", r"classifiers?", r"supervised", r"unsupervised", r"multimodal",
    r"foundation models?", r"diffusion", r"generative models?",
)

# Research and data words: they point to an ML Engineer among AI roles, but say little about AI on their own.
ML_GENERIC_TERMS = _terms(
    r"benchmarks?", r"evals?", r"datasets?", r"research(?:ers?)?", r"papers?", r"publications?", r"throughput",
    r"numpy", r"pandas", r"spark", r"statistics", r"experiments?", r"phd", r"math(?:ematics)?",
)

# Words that make a posting about AI/ML at all (used for relevance together with both lists above).
AI_GENERAL_TERMS = _terms(
    r"machine learning", r"ml", r"a\.?i\.?", r"artificial intelligence", r"llms?", r"large language models?",
    r"genai", r"generative ai", r"nlp", r"natural language processing", r"deep learning", r"models?",
    r"data scien(?:ce|tists?)",
)

# Job families that are not engineering, whatever the company builds.
NON_ENGINEERING_TITLE = re.compile(
    r"\b(?:sales|account (?:executive|manager|director)|business development|bdr|sdr|recruit\w*|sourcer|"
    r"talent|people|hr|human resources|marketing|growth marketer|brand|content|copywriter|writer|"
    r"scriptwriter|communications?|pr|designer|design lead|art director|illustrator|product manager|"
    r"program manager|project manager|product owner|counsel|legal|lawyer|attorney|paralegal|compliance|"
    r"finance|financial|accountant|accounting|controller|tax|payroll|treasury|fp&a|analyst|operations|"
    r"ops manager|revenue|customer success|customer support|support (?:specialist|agent|representative)|"
    r"customer experience|agent\b(?! (?:engineer|developer))|representative|office|executive assistant|"
    r"assistant|coordinator|administrator|receptionist|chief of staff|strategist|partnerships?|partner|"
    r"community|events?|social media|editor|tutor|teacher|instructor|trainer|annotator|nurse|therapist|"
    r"physician|pharmacist|clinician|driver|technician|warehouse|fulfillment|associate|intern\w* "
    r"(?:sales|marketing)|video|producer|photographer|buyer|procurement|facilities|security officer|"
    r"solutions? consultant|consultant|advisor|specialist)\b",
    re.IGNORECASE,
)

ENGINEERING_TITLE = re.compile(
    r"\b(?:engineer\w*|engeneer|developer|programmer|scientist|researcher|research|member of (?:the )?technical "
    r"staff|mts|architect|swe|sde|tech lead|cto|hacker|coder|devs?|mle|phd|resident|fellow)\b",
    re.IGNORECASE,
)

AI_TITLE = re.compile(
    r"\b(?:ai|a\.i\.|ml|machine learning|llms?|genai|generative|deep learning|nlp|computer vision|"
    r"vision|inference|mlops|data scien\w+|research\w*|applied scientist|perception|autonomy|robotics learning|"
    r"speech|voice ai|multimodal|agents?|agentic|conversational|model\w*|training|post-training|"
    r"pre-training|evals?|evaluation|alignment|interpretability|rl|reinforcement|foundation|neural|mle)\b",
    re.IGNORECASE,
)

ML_TITLE = re.compile(
    r"\b(?:machine learning|ml|mle|research\w*|scientist|deep learning|computer vision|vision|inference|"
    r"mlops|training|post-training|pre-training|model\w*|evals?|evaluation|alignment|interpretability|"
    r"perception|rl|reinforcement|foundation|neural|speech|audio|multimodal|gpu|kernels?|performance|"
    r"recommend\w*|ranking|personali[sz]ation|data scien\w+)\b",
    re.IGNORECASE,
)

AI_SWE_TITLE = re.compile(
    r"\b(?:ai engineer\w*|applied ai|ai product|ai applications?|ai (?:software|platform|integrations?)|llm "
    r"(?:engineer|applications?|apps?)|agents?|agentic|conversational|forward[- ]deployed|full[- ]?stack|"
    r"front[- ]?end|product engineer\w*|gateway|copilot|genai|generative ai|ai solutions?|prompt)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Emphasis:
    """How much of each vocabulary a body uses: distinct terms, each counted at most twice."""

    ai_swe: int  # AI application terms
    ml: int  # model-building terms
    swe_generic: int
    ml_generic: int
    general: int

    @property
    def role_terms(self) -> int:
        """The AI-specific vocabulary of both roles: what makes a posting an AI/ML engineering role."""
        return self.ai_swe + self.ml


def _capped_count(pattern: re.Pattern[str], text: str, cap: int = 2) -> int:
    seen: dict[str, int] = {}
    for match in pattern.finditer(text):
        term = match.group(0).lower()
        seen[term] = min(cap, seen.get(term, 0) + 1)
    return sum(seen.values())


def emphasis(body: str) -> Emphasis:
    """Count the role vocabularies in ``body``."""
    return Emphasis(_capped_count(AI_SWE_TERMS, body), _capped_count(ML_TERMS, body),
                    _capped_count(SWE_GENERIC_TERMS, body), _capped_count(ML_GENERIC_TERMS, body),
                    _capped_count(AI_GENERAL_TERMS, body))


def body_without_title(title: str, text: str) -> str:
    """The text the model sees: ``text`` with every occurrence of the title (and a first line repeating it) gone.

    Hacker News postings begin with their first line, which is also their title; board postings sometimes
    repeat the title in a heading.
    """
    body = text
    title = (title or "").strip()
    if title:
        body = body.replace(title, " ")
    return body.strip()


ENGINEER_NOUN = re.compile(r"\b(?:engineer\w*|engeneer|developer|programmer|scientist|researcher|member of (?:the )?"
                           r"technical staff|mts|architect|swe|sde|mle)\b", re.IGNORECASE)
CUSTOMER_FACING_ENGINEER = re.compile(r"\b(?:sales|solutions?|support|customer|field|pre-?sales|success|"
                                      r"implementation)\s+engineer", re.IGNORECASE)


@lru_cache(maxsize=65536)  # a pure function of the title; titles repeat across postings and calls
def title_family(title: str) -> str:
    """``engineering``, ``non_engineering`` or ``unknown``, from the title words alone.

    A title with an engineer noun (engineer, developer, scientist, researcher, ...) is engineering even when it
    also has a non-engineering word ("ML Operations Engineer"), except the customer-facing engineers (sales,
    solutions, support). A non-engineering job noun beats the weaker engineering words ("Technical Recruiter,
    Research" is recruiting).
    """
    title = title or ""
    if CUSTOMER_FACING_ENGINEER.search(title):
        return "non_engineering"
    if NON_ENGINEERING_TITLE.search(title) and not ENGINEER_NOUN.search(title):
        return "non_engineering"
    return "engineering" if ENGINEERING_TITLE.search(title) else "unknown"


def title_role(title: str) -> str | None:
    """The role the title alone suggests, or None when it names neither or both equally."""
    ml = bool(ML_TITLE.search(title or ""))
    swe = bool(AI_SWE_TITLE.search(title or ""))
    if ml and not swe:
        return ML_ENGINEER
    if swe and not ml:
        return AI_SWE
    return None


@lru_cache(maxsize=65536)
def title_rule(title: str) -> str:
    """The title-only baseline: ``not_ai`` unless an engineering title names AI/ML; then the title's role,
    ``ai_swe`` when the title names AI without saying which (the common "AI Engineer")."""
    if title_family(title) != "engineering" or not AI_TITLE.search(title or ""):
        return NOT_AI
    return title_role(title) or AI_SWE


# Thresholds of the weak rules (docs/classifier.md explains them).
RELEVANT_MIN_ROLE_TERMS = 6  # an engineering title without AI words needs this much role vocabulary ...
SHORT_RELEVANT_MIN_ROLE_TERMS = 3  # ... or this much in a short posting (a Hacker News comment)
WORDS_PER_ROLE_TERM = 120  # between the two: one term per this many words
NOT_RELEVANT_MAX_ROLE_TERMS = 2  # at most this much to be labelled not relevant (1 in a short posting)
SHORT_POSTING_WORDS = 400
AI_TITLE_MIN_ROLE_TERMS = 2  # an AI title whose body has less than this is left undecided
ROLE_MARGIN = 3  # the winning vocabulary must lead by this many (title vote included)
TITLE_VOTE = 2


def weak_relevance(title: str, body: str, counts: Emphasis | None = None) -> bool | None:
    """True (AI/ML engineering), False (not), or None (abstain)."""
    counts = counts or emphasis(body)
    family = title_family(title)
    if family == "non_engineering":
        return False
    ai_title = bool(AI_TITLE.search(title or ""))
    if family == "engineering" and ai_title:
        return True if counts.role_terms >= AI_TITLE_MIN_ROLE_TERMS else None
    words = len(body.split())
    needed = min(RELEVANT_MIN_ROLE_TERMS, max(SHORT_RELEVANT_MIN_ROLE_TERMS, words // WORDS_PER_ROLE_TERM))
    if counts.role_terms >= needed + (2 if family == "unknown" else 0):
        return True
    at_most = NOT_RELEVANT_MAX_ROLE_TERMS if words >= SHORT_POSTING_WORDS else NOT_RELEVANT_MAX_ROLE_TERMS - 1
    if counts.role_terms <= at_most and counts.general <= 3:
        return False
    return None


def weak_role(title: str, body: str, counts: Emphasis | None = None) -> str | None:
    """``ai_swe``, ``ml_engineer`` or None (abstain) for a relevant posting."""
    counts = counts or emphasis(body)
    score = (counts.ml + counts.ml_generic / 2) - (counts.ai_swe + counts.swe_generic / 2)
    hint = title_role(title)
    if hint == ML_ENGINEER:
        score += TITLE_VOTE
    elif hint == AI_SWE:
        score -= TITLE_VOTE
    if score >= ROLE_MARGIN:
        return ML_ENGINEER
    if score <= -ROLE_MARGIN:
        return AI_SWE
    return None


@dataclass(frozen=True)
class WeakLabel:
    """The weak rules' verdict on one posting: relevance and role, each None where the rules abstain."""

    relevant: bool | None
    role: str | None


def weak_label(title: str, body: str) -> WeakLabel:
    """Both weak labels for one posting (``body`` already without its title)."""
    counts = emphasis(body)
    relevant = weak_relevance(title, body, counts)
    return WeakLabel(relevant, weak_role(title, body, counts) if relevant else None)
