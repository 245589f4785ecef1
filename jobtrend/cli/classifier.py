"""`jobtrend classifier train|evaluate|drift` and `jobtrend classify [--explain ID]`: the role classifier."""

from __future__ import annotations

from pathlib import Path

import click

from analysis.classifier_eval import evaluate as score
from analysis.classifier_eval import reliability_png, report
from analysis.classify import ROLES_GOLD, ROLES_TEST, load_role_gold
from jobtrend.app.analyze import Explanation, explain, load_model
from jobtrend.app.analyze import classify as classify_postings
from jobtrend.app.analyze import train as train_model
from jobtrend.cli import AppContext, pass_app
from jobtrend.cli.drift import drift
from jobtrend.cli.lines import classify_line
from jobtrend.files import WriteFailed, atomic_write, check_writable
from jobtrend.messages import terminal_text
from jobtrend.progress import progress_bar

MODEL_OPTION = click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False),
                            help="Model file [default: config classifier.model].")


@click.group()
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
    config = app.config if bundled else app.db_config
    try:
        check_writable(model_path or config.model_path)  # before minutes of training, not after
        result = train_model(config, bundled=bundled, model_path=model_path, progress=progress_bar)
    except WriteFailed as exc:  # the model file (written atomically: a previous model is kept)
        raise click.ClickException(str(exc)) from None
    model = result.model
    click.echo(f"model {model.version} saved to {result.path}")
    labelled, meta = model.meta["labelled"], model.meta
    click.echo(f"trained on {result.examples} postings in {result.seconds:.1f} s: {meta['hand_labelled']} labelled "
               "by hand, "
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
    model = load_model(model_path or app.config.model_path)
    path = gold or {"test": ROLES_TEST, "dev": ROLES_GOLD}[which]
    title = f"{path.name}" if gold else LABELLED_SETS[which]
    postings = load_role_gold(path)
    click.echo(report(score(model, postings, draws=draws), title))
    if reliability:
        png = reliability_png(model, postings, f"model {model.version} on {path.name}")
        try:
            atomic_write(reliability, png)  # a reader never sees half a file
        except WriteFailed as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"reliability diagram written to {reliability}")


@click.command()
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
    if posting_id is None:
        click.echo(classify_line(classify_postings(config, progress=progress_bar)))
        return
    click.echo("\n".join(explanation_lines(explain(config, posting_id))))


def explanation_lines(found: Explanation) -> list[str]:
    """The posting's verdict now, its stored classification, and the evidence each way (made safe for a terminal:
    the title and the terms come from scraped text)."""
    p, stored = found.prediction, found.stored
    verdict = f"{p.role} (probability {p.probability:.2f})" if p.is_ai_role else "not an AI engineering role"
    lines = [f"posting {found.posting_id}: {found.title}" + (f" ({found.company})" if found.company else ""),
             f"verdict: {verdict}; P(AI/ML engineering role) {p.relevance_probability:.2f}, "
             f"P(ml_engineer | body) {p.ml_probability:.2f}; model {found.model_version}"]
    if "rule" in p.evidence.get("relevance", {}):
        lines.append(f"relevance overruled: {p.evidence['relevance']['rule']}")
    if stored is not None and stored.model_version != found.model_version:
        lines.append(f"stored classification is from model {stored.model_version}: {stored.role or 'not_ai'}")
    for section, title in (("role", "role (from the body, title removed)"), ("relevance", "relevance")):
        lines.append(f"{title}:")
        for side, terms in p.evidence[section].items():
            if side == "rule":
                continue
            shown = ", ".join(f"{term} {weight:+.3f}" for term, weight in terms) or "(none)"
            lines.append(f"  towards {side}: {shown}")
    return [terminal_text(line) for line in lines]


classifier.add_command(drift)
