"""The role classifier in the product: training sets, the ``classifications`` table, and incremental runs.

- :func:`stored_training_postings` reads the database's canonical postings with a description, and
  :func:`bundled_training_postings` the corpus shipped in ``data/training/`` (real postings of the demo
  boards); both leave out every posting of the dev and test sets (:func:`gold_exclusion`), by id and by text.
  :func:`training_examples` labels them with the weak rules and adds the hand-labelled postings
  (``data/training/roles_hand.jsonl.gz`` and the dev set), whose labels win.
- :func:`classify_postings` classifies every posting with a description whose classification is missing, was
  made for other content (``content_hash``) or by another model version, and replaces its row. Each batch is
  one transaction, so an interrupted run leaves whole batches done and the rest pending.
- :func:`ensure_default_model` trains the default model from the bundled data when no model file exists;
  :func:`holds_bundled_model` tells that model (of the current version: :func:`bundled_model_version`) from one a
  user trained, reading only the file's header, so the demo can share it rather than keep a copy.
"""

from __future__ import annotations

import functools
import gzip
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine, and_, delete, func, insert, select

from analysis.role_rules import AI_SWE, ML_ENGINEER
from jobtrend.config import REPO_ROOT
from jobtrend.db import session_factory
from jobtrend.models import Classification, Posting, Source
from jobtrend.weeks import utcnow

# analysis.classifier loads scikit-learn: importing it here would take `import analysis.classify` from 0.35 s to
# 1.30 s (measured with /usr/bin/time), paid by `jobtrend status` (pending_count) and `jobtrend init`
# (ensure_default_model, when a model exists), which never train. Only the two functions that train import it.
if TYPE_CHECKING:
    from analysis.classifier import RoleModel

BUNDLED_TRAINING = REPO_ROOT / "data" / "training" / "postings.jsonl.gz"
HAND_TRAINING = REPO_ROOT / "data" / "training" / "roles_hand.jsonl.gz"
ROLES_TEST = REPO_ROOT / "tests" / "data" / "roles_test.jsonl.gz"
HELD_OUT = REPO_ROOT / "tests" / "data" / "roles_heldout.json"
ROLES_GOLD = REPO_ROOT / "tests" / "data" / "roles_gold.jsonl.gz"
GOLD_SOURCE_KINDS = {"hn": "hackernews"}
BATCH_SIZE = 500


@dataclass(frozen=True)
class RoleGoldPosting:
    """One labelled posting of the role gold set (docs/labelling-roles.md)."""

    id: str
    source: str  # "ashby:<board>" or "hn:<month>"
    external_id: str
    title: str
    text: str
    label: str
    confidence: str

    @property
    def source_kind(self) -> str:
        """The ``sources.kind`` it was read from."""
        prefix, _, rest = self.source.partition(":")
        if prefix == "board":  # "board:greenhouse": a posting of another job board, by its kind
            return rest
        return GOLD_SOURCE_KINDS.get(prefix, prefix)


def load_role_gold(path: Path = ROLES_GOLD) -> list[RoleGoldPosting]:
    """Read a labelled set (gzip or plain JSON lines): the dev set by default."""
    if not Path(path).exists():
        raise FileNotFoundError(path)
    return [RoleGoldPosting(r["id"], r["source"], str(r["external_id"]), r["title"], r["text"], r["label"],
                        r.get("confidence", "clear")) for r in load_labelled(path)]


def gold_exclusion(*paths: Path) -> Callable[[str, str, str], bool]:
    """A test ``(source kind, external id, text) -> bool``: True for a posting of the labelled sets ``paths``
    (default: the dev set and the frozen test set), which are never weakly labelled for training. Matches by id
    and by text (the same body on another board is the same posting). A missing file (an installed package)
    excludes nothing."""
    postings = [g for path in (paths or (ROLES_GOLD, ROLES_TEST)) if Path(path).exists() for g in load_role_gold(path)]
    ids = {(g.source_kind, g.external_id) for g in postings}
    texts = {g.text.strip() for g in postings}
    return lambda kind, external_id, text: (kind, str(external_id)) in ids or (text or "").strip() in texts


def held_out_exclusion(path: Path = HELD_OUT) -> Callable[[str, str, str], bool]:
    """A test ``(source kind, source key, external id) -> bool``: True for a posting of a company held out for the
    test set (an Ashby board, or a Hacker News company by its post ids), which no training set may hold, so
    that the test set measures companies the model never saw. A missing file excludes nothing."""
    if not Path(path).exists():
        return lambda kind, key, external_id: False
    held = json.loads(Path(path).read_text(encoding="utf-8"))
    boards, hn_ids = set(held["ashby_boards"]), set(held["hackernews_ids"])
    return lambda kind, key, external_id: ((kind == "ashby" and key in boards)
                                           or (kind == "hackernews" and str(external_id) in hn_ids))


def load_labelled(path: Path) -> list[dict]:
    """The records of a hand-labelled JSON-lines file (gzip or plain); none when it does not exist."""
    if not Path(path).exists():
        return []
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def hand_labelled_records() -> list[dict]:
    """Every hand-labelled posting the model may learn from: the training set and the dev set (the dev set chose
    the design; the final model learns from it too). Never the test set."""
    return load_labelled(HAND_TRAINING) + load_labelled(ROLES_GOLD)


def training_examples(postings: list[tuple[str, str, str]], progress: Callable[[int, int], None] | None = None):
    """Weak-labelled ``postings`` plus the hand-labelled ones (a posting read by a person keeps that label)."""
    from analysis.classifier import combine, hand_examples, weak_examples  # scikit-learn: ~0.95 s, see the top

    return combine(hand_examples(hand_labelled_records()), weak_examples(postings, progress=progress))


def stored_training_postings(engine: Engine, gold_path: Path = ROLES_GOLD) -> list[tuple[str, str, str]]:
    """``(key, title, text)`` of the database's canonical postings with a description, gold set left out."""
    excluded, held_out = gold_exclusion(gold_path, ROLES_TEST), held_out_exclusion()
    query = (
        select(Source.kind, Source.key, Posting.external_id, Posting.title, Posting.description_text)
        .join(Source, Source.id == Posting.source_id)
        .where(Posting.duplicate_of_id.is_(None), func.trim(Posting.description_text) != "")
    )
    with engine.connect() as conn:
        return [(f"{kind}:{key}:{external_id}", title, text)
                for kind, key, external_id, title, text in conn.execute(query)
                if not excluded(kind, external_id, text) and not held_out(kind, key, external_id)]


def bundled_training_postings(path: Path = BUNDLED_TRAINING) -> list[tuple[str, str, str]]:
    """``(key, title, text)`` of the bundled training corpus (built by ``scripts/build-role-training``)."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [(r["key"], r["title"], r["text"]) for r in map(json.loads, fh)]


@functools.cache
def bundled_examples() -> tuple:
    """The labelled examples of the bundled corpus, in training order (read and weakly labelled once per process:
    about 4 s)."""
    return tuple(sorted(training_examples(bundled_training_postings()), key=lambda example: example.key))


def bundled_model_version() -> str:
    """The version a model trained from the bundled corpus has with this code and scikit-learn."""
    from analysis.classifier import model_version  # scikit-learn: ~0.95 s, see the top

    return model_version(bundled_examples())


def stored_model_version(model_path: Path) -> str | None:
    """The version written in the model file at ``model_path`` (its header only is read), or None when there is
    no file or it is not a readable model."""
    try:
        with np.load(model_path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None
    version = header.get("version") if isinstance(header, dict) else None
    return version if isinstance(version, str) else None


def holds_bundled_model(model_path: Path) -> bool:
    """Whether ``model_path`` holds the model the bundled corpus trains with this code: the file `jobtrend init`
    and the demo would write, never one a user trained on their own postings."""
    version = stored_model_version(model_path)
    return version is not None and version == bundled_model_version()


def ensure_default_model(model_path: Path) -> RoleModel | None:
    """Train and save the default model from the bundled corpus when ``model_path`` does not exist; return the
    new model, or None when one was already there (whatever it holds: a model a user trained is never
    replaced)."""
    if Path(model_path).exists():
        return None
    from analysis.classifier import train  # scikit-learn: ~0.95 s, see the top

    model = train(bundled_examples())
    model.save(model_path)
    return model


@dataclass(frozen=True)
class ClassifyResult:
    """What one :func:`classify_postings` run did."""

    classified: int
    ai_roles: int
    ai_swe: int
    ml_engineer: int
    model_version: str


def _pending(model_version: str):
    """Postings with a description whose classification is missing or stale."""
    current = and_(Classification.posting_id == Posting.id, Classification.content_hash == Posting.content_hash,
                   Classification.model_version == model_version)
    return (
        select(Posting.id, Posting.title, Posting.description_text, Posting.content_hash)
        .outerjoin(Classification, current)
        .where(Classification.posting_id.is_(None), func.trim(Posting.description_text) != "")
        .order_by(Posting.id)
    )


def pending_count(engine: Engine, model_version: str) -> int:
    """How many postings :func:`classify_postings` would classify."""
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(_pending(model_version).subquery()))


def classify_postings(engine: Engine, model: RoleModel, *, batch_size: int = BATCH_SIZE,
                      progress: Callable[[int, int], None] | None = None) -> ClassifyResult:
    """Classify every pending posting (new, changed, or classified by another model version);
    ``progress(done, total)`` is called before the first batch and after each one."""
    counts = {"classified": 0, "ai_roles": 0, AI_SWE: 0, ML_ENGINEER: 0}
    total = 0
    if progress is not None:
        total = pending_count(engine, model.version)
        progress(0, total)
    for batch in _batches(engine, model.version, batch_size):
        predictions = model.predict([(title, text) for _, title, text, _ in batch])
        now = utcnow()
        rows = [{"posting_id": posting_id, "model_version": model.version, "content_hash": content_hash,
                 "is_ai_role": p.is_ai_role, "relevance_probability": p.relevance_probability, "role": p.role,
                 "probability": p.probability, "evidence": p.evidence, "classified_at": now}
                for (posting_id, _, _, content_hash), p in zip(batch, predictions, strict=True)]
        with engine.begin() as conn:
            conn.execute(delete(Classification).where(Classification.posting_id.in_([r["posting_id"] for r in rows])))
            conn.execute(insert(Classification), rows)
        counts["classified"] += len(rows)
        counts["ai_roles"] += sum(p.is_ai_role for p in predictions)
        for role in (AI_SWE, ML_ENGINEER):
            counts[role] += sum(p.role == role for p in predictions)
        if progress is not None:
            progress(counts["classified"], max(total, counts["classified"]))
    return ClassifyResult(counts["classified"], counts["ai_roles"], counts[AI_SWE], counts[ML_ENGINEER],
                          model.version)


def _batches(engine: Engine, model_version: str, batch_size: int) -> Iterator[list[tuple]]:
    """Pending postings in id order, ``batch_size`` at a time; each batch is read after the last was written."""
    last_id = 0
    while True:
        with engine.connect() as conn:
            batch = conn.execute(_pending(model_version).where(Posting.id > last_id).limit(batch_size)).all()
        if not batch:
            return
        yield [tuple(row) for row in batch]
        last_id = batch[-1][0]


def stored_classification(engine: Engine, posting_id: int) -> Classification | None:
    """The stored classification of one posting, if any."""
    with session_factory(engine)() as session:
        row = session.get(Classification, posting_id)
        if row is not None:
            session.expunge(row)
        return row


def role_split(engine: Engine) -> dict[str, int]:
    """Classified postings by outcome: ai_swe, ml_engineer, not_ai."""
    with engine.connect() as conn:
        rows = conn.execute(select(Classification.role, func.count()).group_by(Classification.role)).all()
    return {(role or "not_ai"): n for role, n in rows}

