"""``analyze``: framework mentions, then roles, then duplicate links, then pay (compensation rows and seniority,
docs/pay.md), for postings new or changed since their last analysis; each step alone (``find_mentions``,
``classify``, ``link_duplicates``, ``read_pay``); ``explain`` (one posting's role now, its stored classification
and the terms that pushed each way), ``explain_mentions`` (every framework match in one posting and why it
counted), ``train`` (the role model).

``analyze`` means the same steps wherever it is called (`jobtrend analyze`, the scheduler's ``analyze``
job, `jobtrend demo`): trends count canonical postings only, so duplicates are linked before trends run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.classifier import ModelError, RoleModel
from analysis.classifier import train as fit_model
from analysis.classify import (
    ClassifyResult,
    bundled_training_postings,
    classify_postings,
    stored_classification,
    stored_training_postings,
    training_examples,
)
from analysis.duplicates import DedupeResult, dedupe
from analysis.mentions import AnalyzeResult as MentionsResult
from analysis.mentions import PostingNotFound, explain_posting
from analysis.mentions import analyze as analyze_mentions
from analysis.pay.store import PayResult, derive_pay
from jobtrend.app import AppError
from jobtrend.config import Config
from jobtrend.db import open_engine
from jobtrend.models import Posting
from jobtrend.progress import Stages, no_bars


@dataclass(frozen=True)
class AnalyzeResult:
    """The steps of ``analyze``."""

    mentions: MentionsResult
    roles: ClassifyResult
    duplicates: DedupeResult
    pay: PayResult | None = None

    def counts(self) -> dict[str, Any]:
        """The totals kept in ``job_runs.details``."""
        return {"analyzed": self.mentions.analyzed, "mentions": self.mentions.mentions,
                "classified": self.roles.classified, "ai_roles": self.roles.ai_roles,
                "duplicates": self.duplicates.duplicates, "duplicates_changed": self.duplicates.changed,
                **({"pay_read": self.pay.postings, "with_pay": self.pay.with_pay,
                    "pay_refused": dict(self.pay.refused)} if self.pay else {})}


def load_model(path: Path) -> RoleModel:
    """The saved role model; AppError saying how to get one when it is missing or unreadable."""
    try:
        return RoleModel.load(path)
    except ModelError as exc:
        raise AppError(str(exc)) from None


def analyze(config: Config, *, progress: Stages = no_bars) -> AnalyzeResult:
    """Mentions, roles (needs the role model: AppError without one), duplicate links and pay."""
    model = load_model(config.model_path)  # before any work: no model, nothing half done
    return AnalyzeResult(mentions=find_mentions(config, progress=progress),
                         roles=classify(config, model, progress=progress),
                         duplicates=link_duplicates(config),
                         pay=read_pay(config, progress=progress))


def find_mentions(config: Config, *, progress: Stages = no_bars) -> MentionsResult:
    """Find framework mentions in postings new, changed or analysed under another taxonomy version."""
    with open_engine(config.database_url) as engine, progress("mentions") as update:
        return analyze_mentions(engine, config.frameworks, progress=update)


def classify(config: Config, model: RoleModel | None = None, *, progress: Stages = no_bars) -> ClassifyResult:
    """Classify postings new, changed or classified by another model version (``model``: the configured one)."""
    model = model or load_model(config.model_path)
    with open_engine(config.database_url) as engine, progress("classifying") as update:
        return classify_postings(engine, model, progress=update)


def read_pay(config: Config, *, progress: Stages = no_bars) -> PayResult:
    """Derive the pay ranges and seniority of postings new, changed or read by another extractor version
    (analysis/pay/store.py)."""
    with open_engine(config.database_url) as engine, progress("pay") as update:
        return derive_pay(engine, progress=update)


def link_duplicates(config: Config) -> DedupeResult:
    """Link postings that are the same job to their canonical posting; writes only what changed."""
    with open_engine(config.database_url) as engine:
        return dedupe(engine)


@dataclass(frozen=True)
class Explanation:
    """One posting's verdict now, with the model's evidence, and its stored classification (None: none)."""

    posting_id: int
    title: str
    company: str | None
    prediction: Any  # analysis.classifier.Prediction
    model_version: str
    stored: Any | None


def explain(config: Config, posting_id: int, model: RoleModel | None = None) -> Explanation:
    """Classify posting ``posting_id`` now; AppError when there is no such posting."""
    model = model or load_model(config.model_path)
    with open_engine(config.database_url) as engine:
        with engine.connect() as conn:
            posting = conn.execute(Posting.__table__.select().where(Posting.__table__.c.id == posting_id)).first()
        if posting is None:
            raise AppError(f"no posting with id {posting_id} "
                           "(list ids with: jobtrend sql \"SELECT id, title FROM postings\")")
        stored = stored_classification(engine, posting_id)
    prediction = model.predict([(posting.title, posting.description_text)])[0]
    return Explanation(posting_id, posting.title, posting.company, prediction, model.version, stored)


@dataclass(frozen=True)
class TrainResult:
    """A trained and saved model, and how many postings taught it."""

    model: RoleModel
    path: Path
    examples: int
    seconds: float


def train(config: Config, *, bundled: bool = False, model_path: Path | None = None,
          progress: Stages = no_bars) -> TrainResult:
    """Weak-label the stored postings (``bundled``: the bundled corpus), add the hand labels, fit both heads and
    save the model to ``model_path`` (default: the configured one). AppError when there is too little to learn."""
    path = model_path or config.model_path
    started = time.perf_counter()
    if bundled:
        postings = bundled_training_postings()
    else:
        with open_engine(config.database_url) as engine:
            postings = stored_training_postings(engine)
    with progress("weak labels") as update:
        examples = training_examples(postings, progress=update)
    try:
        with progress("fitting models") as update:
            model = fit_model(examples, progress=update)
    except ModelError as exc:
        raise AppError(str(exc)) from None
    model.save(path)
    return TrainResult(model=model, path=path, examples=len(examples), seconds=time.perf_counter() - started)



def explain_mentions(config: Config, posting_id: int) -> tuple[Any, list[Any]]:
    """The posting and every framework match in it, counted or rejected with the gate's reason, under the
    taxonomy as configured now; AppError when there is no such posting."""
    with open_engine(config.database_url) as engine:
        try:
            return explain_posting(engine, posting_id, config.frameworks)
        except PostingNotFound as exc:
            raise AppError(f"{exc} (list ids with: jobtrend sql \"SELECT id, title FROM postings\")") from None
