"""`jobtrend classifier train|evaluate` and `jobtrend classify [--explain ID]`: the role classifier."""

from __future__ import annotations

import time
from pathlib import Path

import click

from jobtrend.cli import AppContext, main, pass_app

MODEL_OPTION = click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False),
                            help="Model file [default: config classifier.model].")


@main.group()
def classifier() -> None:
    """Train the role classifier, or measure it on the gold set.

    \b
    Example:
        jobtrend classifier train              # on your stored postings
        jobtrend classifier train --bundled    # on the corpus bundled in data/training/
        jobtrend classifier evaluate           # accuracy, macro-F1, confusion, Brier, title-only baseline
    """


@classifier.command()
@click.option("--bundled", is_flag=True, help="Train on the bundled corpus (data/training/) instead of the database.")
@MODEL_OPTION
@pass_app
def train(app: AppContext, bundled: bool, model_path: Path | None) -> None:
    """Weak-label the postings, train both models, and save them (skops) with their version.

    Postings of the gold set are never trained on. The next `jobtrend analyze` re-classifies every posting
    classified by another model version.

    \b
    Example:
        jobtrend classifier train
        jobtrend classifier train --bundled --model /tmp/roles.skops
    """
    from analysis.classifier import ModelError, weak_examples
    from analysis.classifier import train as fit
    from analysis.classify import bundled_training_postings, stored_training_postings
    from jobtrend.db import make_engine
    from jobtrend.progress import progress_bar

    path = model_path or app.config.model_path
    if bundled:
        postings = bundled_training_postings()
    else:
        engine = make_engine(app.db_config.database_url)
        try:
            postings = stored_training_postings(engine)
        finally:
            engine.dispose()
    started = time.perf_counter()
    with progress_bar("weak labels") as update:
        examples = weak_examples(postings, progress=update)
    try:
        with progress_bar("fitting models") as update:
            model = fit(examples, progress=update)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    elapsed = time.perf_counter() - started
    model.save(path)
    labelled = model.meta["labelled"]
    click.echo(f"model {model.version} saved to {path}")
    click.echo(f"trained on {len(examples)} postings in {elapsed:.1f} s; weak labels: relevant "
               f"{labelled['relevant']}, not relevant {labelled['not_relevant']} "
               f"(abstained {model.meta['abstained_relevance']}); ai_swe {labelled['ai_swe']}, "
               f"ml_engineer {labelled['ml_engineer']}")


@classifier.command()
@click.option("--gold", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Labelled postings [default: tests/data/roles_gold.jsonl.gz].")
@MODEL_OPTION
@pass_app
def evaluate(app: AppContext, gold: Path | None, model_path: Path | None) -> None:
    """Accuracy, macro-F1, confusion matrix, relevance F1 and Brier score on the gold set, next to the
    title-only rule. The gold set was labelled by reading each body (docs/labelling-roles.md).

    \b
    Example:
        jobtrend classifier evaluate
    """
    from analysis.classifier_eval import evaluate as score
    from analysis.classifier_eval import load_gold, report
    from analysis.classify import ROLES_GOLD

    model = load_model(model_path or app.config.model_path)
    click.echo(report(score(model, load_gold(gold or ROLES_GOLD))))


def load_model(path: Path):
    """The saved model, or a ClickException saying how to get one."""
    from analysis.classifier import ModelError, RoleModel

    try:
        return RoleModel.load(path)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--explain", "posting_id", type=int, metavar="ID",
              help="Classify this posting now and print the terms that pushed each way.")
@pass_app
def classify(app: AppContext, posting_id: int | None) -> None:
    """Classify new and changed postings (also part of `jobtrend analyze`), or explain one posting.

    \b
    Example:
        jobtrend classify
        jobtrend classify --explain 1234
    """
    config = app.db_config
    model = load_model(config.model_path)
    if posting_id is None:
        click.echo(classify_line(run_classify(config, model)))
        return
    click.echo("\n".join(explain_lines(config, model, posting_id)))


def run_classify(config, model):
    """Classify pending postings, with a progress bar on a terminal."""
    from analysis.classify import classify_postings
    from jobtrend.db import make_engine
    from jobtrend.progress import progress_bar

    engine = make_engine(config.database_url)
    try:
        with progress_bar("classifying") as update:
            return classify_postings(engine, model, progress=update)
    finally:
        engine.dispose()


def classify_line(result) -> str:
    return (f"classified {result.classified} postings: {result.ai_roles} AI roles (ai_swe {result.ai_swe}, "
            f"ml_engineer {result.ml_engineer}); model {result.model_version}")


def explain_lines(config, model, posting_id: int) -> list[str]:
    """The posting's verdict now, its stored classification, and the evidence each way."""
    from analysis.classify import stored_classification
    from jobtrend.db import make_engine
    from jobtrend.models import Posting

    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            posting = conn.execute(
                Posting.__table__.select().where(Posting.__table__.c.id == posting_id)).first()
        if posting is None:
            raise click.ClickException(f"no posting with id {posting_id} "
                                       "(list ids with: jobtrend sql \"SELECT id, title FROM postings\")")
        stored = stored_classification(engine, posting_id)
    finally:
        engine.dispose()
    p = model.predict([(posting.title, posting.description_text)])[0]
    verdict = f"{p.role} (probability {p.probability:.2f})" if p.is_ai_role else "not an AI engineering role"
    lines = [f"posting {posting_id}: {posting.title}" + (f" ({posting.company})" if posting.company else ""),
             f"verdict: {verdict}; P(AI/ML engineering role) {p.relevance_probability:.2f}, "
             f"P(ml_engineer | body) {p.ml_probability:.2f}; model {model.version}"]
    if "rule" in p.evidence.get("relevance", {}):
        lines.append(f"relevance overruled: {p.evidence['relevance']['rule']}")
    if stored is not None and stored.model_version != model.version:
        lines.append(f"stored classification is from model {stored.model_version}: {stored.role or 'not_ai'}")
    for section, title in (("role", "role (from the body, title removed)"), ("relevance", "relevance")):
        lines.append(f"{title}:")
        for side, terms in p.evidence[section].items():
            if side == "rule":
                continue
            shown = ", ".join(f"{term} {weight:+.3f}" for term, weight in terms) or "(none)"
            lines.append(f"  towards {side}: {shown}")
    return lines
