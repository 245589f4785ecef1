"""`jobtrend evaluate`: measure analysis steps on labelled real data (``evaluate mentions``, ``evaluate pay``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from analysis.mentions_eval import (
    CONTEXTS_DEV_PATH,
    CONTEXTS_HELDOUT_PATH,
    GOLD_PATH,
    context_report,
    evaluate_contexts,
    file_sha256,
    load_mention_contexts,
    load_mention_gold,
    report,
    unlisted_counts,
)
from analysis.mentions_eval import evaluate as score
from analysis.pay_eval import evaluate as score_pay
from analysis.pay_eval import report as pay_report
from analysis.pay_gold import DEV_PATH as PAY_DEV_PATH
from analysis.pay_gold import HELDOUT_PATH as PAY_HELDOUT_PATH
from analysis.pay_gold import load_pay_gold
from jobtrend.cli import AppContext, pass_app
from jobtrend.config import REPO_ROOT, load_frameworks

T = TypeVar("T")


@click.group()
def evaluate() -> None:
    """Measure an analysis step on labelled real postings; the database is not touched.

    \b
    Example:
        jobtrend evaluate mentions              # precision/recall of the mention matcher
        jobtrend evaluate mentions --show 100   # and the first 100 disagreements (postings and dev contexts)
        jobtrend evaluate pay                   # the pay extractor and title seniority on the dev pay labels
    """


@evaluate.command()
@click.option("--show", type=int, default=20, show_default=True, metavar="N",
              help="How many disagreements to print (-1: all).")
@click.option("--gold", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Labelled postings [default: tests/data/mentions_gold.jsonl.gz].")
@click.option("--taxonomy", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Taxonomy to score [default: the configured frameworks.toml].")
@click.option("--unlisted", "show_unlisted", is_flag=True,
              help="Also list the tools the postings mention that had no taxonomy entry, most frequent first.")
@pass_app
def mentions(app: AppContext, show: int, gold: Path | None, taxonomy: Path | None, show_unlisted: bool) -> None:
    """Precision and recall of the mention matcher on labelled real postings, then on labelled contexts.

    Postings: micro and per-entry precision, recall and F1 over the entries that existed when the set was
    labelled and still exist (a parent reported for a labelled child is accepted), worst first, then the
    disagreements with their context. Contexts (single occurrences of a name, tests/data/mention_contexts_*):
    precision and recall with Wilson 95 % intervals per group (names that are also companies, other) and
    overall, beside a baseline counting every occurrence: the dev part with its disagreements, then the
    held-back part (figures only; it is never used to tune). Each file's SHA-256 is printed, so a change to a
    frozen file shows. The labelling rules are in docs/annotating-mentions.md.

    \b
    Example:
        jobtrend evaluate mentions
        jobtrend evaluate mentions --show -1 --unlisted
    """
    frameworks = load_frameworks(taxonomy) if taxonomy else app.config.frameworks
    gold_set = _read(load_mention_gold, gold or GOLD_PATH)
    click.echo(report(score(gold_set, frameworks), show=show))
    if show_unlisted:
        click.echo("\nunlisted (postings): " + ", ".join(f"{name} {n}" for name, n in
                                                        unlisted_counts(gold_set).most_common()))
    for path, name, disagreements in ((CONTEXTS_DEV_PATH, "dev", show), (CONTEXTS_HELDOUT_PATH, "held-back", 0)):
        contexts = _read(load_mention_contexts, path)
        click.echo(f"\ncontexts, {name}: {path.relative_to(REPO_ROOT)} (sha256 {file_sha256(path)})")
        click.echo(context_report(evaluate_contexts(contexts, frameworks), f"{len(contexts)} contexts",
                                  show=disagreements))


@evaluate.command()
@click.option("--heldout", is_flag=True,
              help="Score the held-back file instead of dev (figures only; it is never used to tune).")
@click.option("--show", type=int, default=20, show_default=True, metavar="N",
              help="How many dev disagreements to print (-1: all).")
@click.option("--gold", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Another labelled file [default: tests/data/pay_gold_dev.jsonl.gz].")
def pay(heldout: bool, show: int, gold: Path | None) -> None:
    """Precision and recall of "has pay", exact min and max, structured-vs-text agreement and title seniority on
    the pay gold set, each with Wilson 95 % intervals and beside a simple baseline.

    Dev (tests/data/pay_gold_dev.jsonl.gz) by default, with its disagreements; --heldout scores the held-back
    file once, figures only. The file's SHA-256 and the currency table's date are printed. How pay is read:
    docs/pay.md; how the labels were made: docs/labelling-pay.md.

    \b
    Example:
        jobtrend evaluate pay
        jobtrend evaluate pay --show -1
    """
    path = gold or (PAY_HELDOUT_PATH if heldout else PAY_DEV_PATH)
    gold_set = _read(load_pay_gold, path)
    name = "held-back" if heldout and gold is None else "dev" if gold is None else path.name
    click.echo(f"file: {_shown_path(path)} (sha256 {file_sha256(path)})")
    click.echo(pay_report(score_pay(gold_set.postings), name, show=0 if heldout else show))


def _shown_path(path: Path) -> Path:
    try:
        return path.resolve().relative_to(REPO_ROOT)
    except ValueError:
        return path


def _read(loader: Callable[[Path], T], path: Path) -> T:
    """``loader(path)``, or one clear line when the file is missing or not what it should be."""
    try:
        return loader(path)
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
