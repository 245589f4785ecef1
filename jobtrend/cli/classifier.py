"""`jobtrend classifier train|evaluate` and `jobtrend classify [--explain ID]`: the role classifier."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from jobtrend.cli import AppContext, main, pass_app

MODEL_OPTION = click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False),
                            help="Model file [default: config classifier.model].")


@main.group()
def classifier() -> None:
    """Train the role classifier, measure it, or watch it.

    \b
    Example:
        jobtrend classifier train              # on your stored postings and the bundled hand labels
        jobtrend classifier train --bundled    # on the data bundled in data/training/
        jobtrend classifier evaluate           # the frozen test set, with intervals, beside two baselines
    """


@classifier.command()
@click.option("--bundled", is_flag=True, help="Train on the bundled corpus (data/training/) instead of the database.")
@MODEL_OPTION
@pass_app
def train(app: AppContext, bundled: bool, model_path: Path | None) -> None:
    """Label the postings with the weak rules, add the hand-labelled postings, train both heads, and save the
    model (a .npz archive) with its version.

    Postings of the dev and test sets, and of the companies held out for the test set, are never trained on.
    The next `jobtrend analyze` re-classifies every posting classified by another model version.

    \b
    Example:
        jobtrend classifier train
        jobtrend classifier train --bundled --model /tmp/roles.npz
    """
    from analysis.classifier import ModelError
    from analysis.classifier import train as fit
    from analysis.classify import bundled_training_postings, stored_training_postings, training_examples
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
        examples = training_examples(postings, progress=update)
    try:
        with progress_bar("fitting models") as update:
            model = fit(examples, progress=update)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    elapsed = time.perf_counter() - started
    model.save(path)
    labelled, meta = model.meta["labelled"], model.meta
    click.echo(f"model {model.version} saved to {path}")
    click.echo(f"trained on {len(examples)} postings in {elapsed:.1f} s: {meta['hand_labelled']} labelled by hand, "
               f"{meta['weakly_labelled']} by the weak rules (abstained on relevance {meta['abstained_relevance']}); "
               f"AI roles {labelled['relevant']}, not {labelled['not_relevant']}; ai_swe {labelled['ai_swe']}, "
               f"ml_engineer {labelled['ml_engineer']}")


LABELLED_SETS = {"test": "frozen test set (roles_test.jsonl.gz): companies never trained on",
                 "dev": "dev set (roles_gold.jsonl.gz): it chose the design, so its figures are optimistic"}


@classifier.command()
@click.option("--set", "which", type=click.Choice(sorted(LABELLED_SETS)), default="test", show_default=True,
              help="The labelled set to score.")
@click.option("--gold", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Another labelled file (same format) instead of --set.")
@click.option("--reliability", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a reliability diagram (PNG) of the model's probabilities on the set.")
@click.option("--draws", type=click.IntRange(100, 100_000), default=2000, show_default=True,
              help="Bootstrap draws for the 95 % intervals.")
@MODEL_OPTION
@pass_app
def evaluate(app: AppContext, which: str, gold: Path | None, reliability: Path | None, draws: int,
             model_path: Path | None) -> None:
    """Macro-F1, relevance precision/recall/F1, role macro-F1 and each role's recall, calibration (ECE) and the
    confusion matrix on a labelled set, with 95 % company-bootstrap intervals, beside the title-only rule and
    the weak rules. Every posting was labelled by reading its body (docs/labelling-roles.md).

    \b
    Example:
        jobtrend classifier evaluate                     # the frozen test set
        jobtrend classifier evaluate --set dev --reliability /tmp/dev.png
    """
    from analysis.classifier_eval import evaluate as score
    from analysis.classifier_eval import load_gold, reliability_png, report
    from analysis.classify import ROLES_GOLD, ROLES_TEST

    model = load_model(model_path or app.config.model_path)
    path = gold or {"test": ROLES_TEST, "dev": ROLES_GOLD}[which]
    title = f"{path.name}" if gold else LABELLED_SETS[which]
    postings = load_gold(path)
    click.echo(report(score(model, postings, draws=draws), title))
    if reliability:
        png = reliability_png(model, postings, f"model {model.version} on {path.name}")
        partial = reliability.with_name(f".{reliability.name}.{os.getpid()}.tmp")
        try:
            partial.write_bytes(png)
            partial.replace(reliability)  # a reader never sees half a file
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise click.ClickException(f"cannot write {reliability}: {exc.strerror or exc}") from None
        click.echo(f"reliability diagram written to {reliability}")


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
