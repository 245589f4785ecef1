"""`jobtrend browse`: the SQLite database in Datasette, read-only, with the cookbook as canned queries.

Datasette runs in this process through its own ``datasette serve`` command (so it starts exactly as the
documented CLI does), with a metadata file written to a temporary folder that is removed when the server stops.
Uvicorn stops cleanly on Ctrl-C and SIGTERM, so no server and no temporary file is left behind.
"""

from __future__ import annotations

import json
import signal
import socket
import tempfile
from pathlib import Path

import click

from jobtrend.browse import (
    DEFAULT_SQL_TIME_LIMIT_MS,
    BrowseError,
    build_metadata,
    database_name,
    is_loopback,
    read_docs,
    serve_arguments,
    sqlite_path,
)
from jobtrend.cli import AppContext, pass_app
from jobtrend.cookbook import SCHEMA_DOC
from jobtrend.db import folder_writable

INSTALL_HINT = "pip install -e '.[browse]'"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback exposes the data with no login: see docs/browse.md.")
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True)
@click.option("--open/--no-open", "open_browser", default=False, show_default=True,
              help="Open the page in a web browser once the server starts.")
@click.option("--sql-time-limit-ms", type=click.IntRange(min=1), default=DEFAULT_SQL_TIME_LIMIT_MS,
              show_default=True, help="Datasette stops any query that runs longer than this.")
@click.option("--schema-doc", type=click.Path(path_type=Path, dir_okay=False), default=SCHEMA_DOC,
              show_default="docs/schema.md", help="Where the cookbook queries and column meanings are read from.")
@pass_app
def browse(app: AppContext, host: str, port: int, open_browser: bool, sql_time_limit_ms: int,
           schema_doc: Path) -> None:
    """Explore the SQLite database in Datasette (web UI and JSON API), read-only.

    Every recipe of the cookbook in docs/schema.md is a canned query, and every column shows its meaning. Queries
    run on connections opened with mode=ro, so nothing can be changed from the browser; a crawl or the scheduler
    may keep writing meanwhile. Needs the browse extra (pip install -e '.[browse]'), and SQLite: for
    PostgreSQL use `jobtrend sql` or a PostgreSQL client. Stop it with Ctrl-C.

    \b
    Example:
        jobtrend browse --open
        JOBTREND_DATABASE_URL=sqlite:///data/demo.db jobtrend browse --port 8002
        curl 'http://127.0.0.1:8001/jobtrend.json?sql=select+count(*)+from+postings&_shape=array'
    """
    try:
        path = sqlite_path(app.config.database_url)
    except BrowseError as exc:
        raise click.ClickException(str(exc)) from None
    try:  # the optional [browse] extra: imported here so that its absence is one line, not an import error
        from datasette.cli import cli as datasette_cli
    except ImportError:
        raise click.ClickException(f"jobtrend browse needs Datasette, which is not installed: {INSTALL_HINT}") from None

    try:
        recipes, columns = read_docs(schema_doc)
    except FileNotFoundError:
        click.echo(f"warning: {schema_doc} not found: serving without cookbook queries and column meanings",
                   err=True)
        recipes, columns = [], {}
    except ValueError as exc:
        raise click.ClickException(f"cannot read the cookbook: {exc}") from None
    name = database_name(path)
    metadata = build_metadata(name, recipes, columns, db_description=f"{path} (read-only)")

    _check_port(host, port)
    if not is_loopback(host):
        click.echo(f"warning: listening on {host} lets anyone who can reach this machine read the whole database, "
                   "with no login; put it behind a proxy with authentication (docs/browse.md)", err=True)
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"serving {path} read-only at http://{shown_host}:{port}/{name} with {len(recipes)} cookbook "
               "queries; Ctrl-C stops")
    with tempfile.TemporaryDirectory(prefix="jobtrend-browse-") as folder:
        metadata_file = Path(folder) / "metadata.json"
        metadata_file.write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        args = serve_arguments(path, metadata_file, host=host, port=port, open_browser=open_browser,
                               sql_time_limit_ms=sql_time_limit_ms, immutable=not folder_writable(path))
        _quiet_rejected_queries()
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            datasette_cli.main(args=args, prog_name="datasette", standalone_mode=False)
        finally:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum, _frame) -> None:
    """Uvicorn shuts down gracefully on SIGTERM, then raises the signal again; ending with SystemExit instead of
    the default handler lets the temporary metadata folder be removed."""
    raise SystemExit(128 + signum)


def _check_port(host: str, port: int) -> None:
    """Fail with a clear message when the port is taken (uvicorn would only log it and exit with status 3)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port "
                                       "or stop what uses it") from None


def _quiet_rejected_queries() -> None:
    """With rich installed, Datasette 0.65 prints a full traceback with local variables to the terminal for every
    error page, a mistyped query included (datasette/handle_exception.py); the error page already says what went
    wrong, so keep the terminal to the request log."""
    import datasette.handle_exception as handler  # the optional [browse] extra, present once browse runs

    if getattr(handler, "rich", None) is not None:
        handler.rich = None
