"""`jobtrend sources`: the health of every source, and adding, importing, enabling and disabling boards
(:mod:`jobtrend.app.sources`)."""

from __future__ import annotations

from pathlib import Path

import click

from jobtrend.app.sources import (
    LIST_COLUMNS,
    add_board,
    compact_rows,
    find_boards,
    import_boards,
    list_sources,
    registry_names,
    set_enabled,
    use_registry,
)
from jobtrend.cli import AppContext, pass_app
from jobtrend.config import SOURCE_KINDS
from jobtrend.health import HEALTH_COLUMNS, STATES
from jobtrend.output import FORMATS, render
from jobtrend.registry import REGISTRY_KINDS


@click.group(invoke_without_command=True)
@click.option("--all", "include_disabled", is_flag=True, help="Include disabled sources.")
@click.option("--kind", "kinds", type=click.Choice(SOURCE_KINDS), multiple=True, help="Only this kind (repeatable).")
@click.option("--health", "states", type=click.Choice(STATES), multiple=True,
              help="Only sources in this state (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most N sources (troubled first).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_context
def sources(ctx: click.Context, include_disabled: bool, kinds: tuple[str, ...], states: tuple[str, ...],
            limit: int | None, fmt: str) -> None:
    """Show each source's health, troubled first, and a summary line of counts by kind and health; add, import,
    enable and disable boards (the subcommands below, docs/sources.md).

    States: ok, empty (never listed anything), zero_yield (lists nothing after listing postings: flagged),
    gone (404/410: nothing is closed), failing (other errors), new (never crawled). The table fits 100 columns;
    csv and json give every column (company, since, last crawl, the error code).

    \b
    Example:
        jobtrend sources --health gone --health failing
        jobtrend sources --kind lever --limit 20
        jobtrend sources --format json | jq '.[] | select(.health != "ok")'
    """
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(AppContext) or ctx.ensure_object(AppContext)
    listed = list_sources(app.read_only_config, kinds=kinds, health=states, limit=limit,
                          include_disabled=include_disabled)
    if fmt != "table":
        click.echo(render(HEALTH_COLUMNS, listed.rows, fmt))
        return
    click.echo(render(LIST_COLUMNS, compact_rows(listed.rows), fmt))
    click.echo(listed.summary())


@sources.command()
@click.argument("board")
@click.option("--company", help="The company's name, as reports show it.")
@click.option("--offline", is_flag=True, help="Add it without asking the board's API whether it exists.")
@click.option("--api-base", help="Ask this base URL instead of the real API (a replay server), as `crawl --api-base`.")
@pass_app
def add(app: AppContext, board: str, company: str | None, offline: bool, api_base: str | None) -> None:
    """Add one board by its URL or as KIND:TOKEN, after checking once that its API knows it.

    Recognised: jobs.ashbyhq.com/TOKEN, boards.greenhouse.io/TOKEN, job-boards.greenhouse.io/TOKEN,
    boards-api.greenhouse.io/v1/boards/TOKEN/jobs, jobs.lever.co/TOKEN, jobs.eu.lever.co/TOKEN,
    api.lever.co/v0/postings/TOKEN, and ashby:TOKEN, greenhouse:TOKEN, lever:TOKEN. The board is appended to
    sources.toml as a [[sources]] table (the file's comments stay), so `init` keeps it. A board the API does not
    know (404) is refused; when the API cannot be reached, retry or add it unchecked with --offline.

    \b
    Example:
        jobtrend sources add https://jobs.ashbyhq.com/cohere --company Cohere
        jobtrend sources add greenhouse:anthropic
    """
    click.echo(add_board(app.config, board, company=company, offline=offline, api_base=api_base).line())


@sources.command(name="import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def import_(app: AppContext, csv_file: Path) -> None:
    """Add every board URL of a CSV file with the columns name,url (as public board lists have them).

    Boards already configured and repeated rows are counted as duplicates, rows that are not a board URL as
    unrecognised (with their line numbers); nothing is checked online. The boards go to registry/imported.csv
    beside sources.toml, written whole or not at all.

    \b
    Example:
        jobtrend sources import boards.csv
    """
    click.echo(import_boards(app.config, csv_file).line())


@sources.command()
@click.argument("key")
@pass_app
def disable(app: AppContext, key: str) -> None:
    """Stop crawling one source (KIND:KEY as `jobtrend sources` shows it, or a board URL); its postings stay.

    \b
    Example:
        jobtrend sources disable greenhouse:perplexityai
    """
    click.echo(set_enabled(app.config, key, False).line())


@sources.command()
@click.argument("key")
@pass_app
def enable(app: AppContext, key: str) -> None:
    """Crawl a disabled source again (KIND:KEY or a board URL).

    \b
    Example:
        jobtrend sources enable greenhouse:perplexityai
    """
    click.echo(set_enabled(app.config, key, True).line())


@sources.command(name="use-registry")
@click.option("--kind", "kinds", type=click.Choice(REGISTRY_KINDS), multiple=True,
              help="A registry file to crawl (repeatable; default: all three).")
@click.option("--off", is_flag=True, help="Crawl no registry board again (only sources.toml and imports).")
@pass_app
def use_registry_(app: AppContext, kinds: tuple[str, ...], off: bool) -> None:
    """Crawl the shipped registry of public boards too: [registry] include in sources.toml.

    The registry (config/registry/*.csv) lists about 1,590 Ashby, 2,540 Greenhouse and 1,790 Lever boards; a
    crawl of all of them takes hours at the polite 1 request/s per host (docs/sources.md).

    \b
    Example:
        jobtrend sources use-registry --kind ashby
        jobtrend sources use-registry          # all three
        jobtrend sources use-registry --off
    """
    if off and kinds:
        raise click.UsageError("--off takes no --kind")
    names = () if off else tuple(dict.fromkeys(kinds or REGISTRY_KINDS))
    if not off:  # keep files already included that are not one of the kinds (a registry of the user's own)
        names = tuple(dict.fromkeys(names + tuple(n for n in registry_names(app.config) if n not in REGISTRY_KINDS)))
    click.echo(use_registry(app.config, names).line())


@sources.command()
@click.argument("url")
@pass_app
def find(app: AppContext, url: str) -> None:
    """Read a company's careers page once (robots.txt respected) and report the job board it embeds: Ashby,
    Greenhouse or Lever links and embed scripts, or schema.org JobPosting markup (a jsonld source).

    \b
    Example:
        jobtrend sources find https://www.example.ai/careers
    """
    found = find_boards(app.config, url)
    for board, mentions in found.boards:
        click.echo(f"{board.label}  ({mentions} link{'s' if mentions != 1 else ''}; add it: "
                   f"jobtrend sources add {board.label})")
    if found.job_posting_markup:
        click.echo(f'jsonld: the page has schema.org JobPosting markup; add to sources.toml: [[sources]] kind = '
                   f'"jsonld", key = "{url}"')
    if not found.boards and not found.job_posting_markup:
        raise click.ClickException(f"no Ashby, Greenhouse or Lever board and no JobPosting markup found on {url}")
