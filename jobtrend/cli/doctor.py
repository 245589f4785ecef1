"""`jobtrend doctor`: check the configuration, database, role model, disk, SMTP, webhooks and one source per kind."""

from __future__ import annotations

import click

from jobtrend.app.doctor import doctor as run_checks
from jobtrend.cli import AppContext, pass_app


@click.command()
@click.option("--offline", is_flag=True,
              help="Skip the network checks (SMTP, webhooks, sources): configuration, database, model and disk only.")
@click.option("--api-base", metavar="URL",
              help="Send the source checks' requests to this base URL (a replay server), as `crawl --api-base`.")
@pass_app
def doctor(app: AppContext, offline: bool, api_base: str | None) -> None:
    """Check that everything jobtrend needs is in place; one line per check: "ok|warn|fail <check>: <detail>
    [fix: ...]". Exit status 1 when any check fails.

    Checks the configuration (loads), the database (reachable, migrated to the latest revision, writable: an
    insert rolled back), the role model (present, loads), the free disk space of the data folder and, unless
    --offline, the SMTP server (connect and EHLO, STARTTLS when configured; no login, no mail), each webhook's
    host (DNS only) and the first source of each kind (robots.txt, then one GET with the configured User-Agent
    and delay).

    \b
    Example:
        jobtrend doctor
        jobtrend doctor --offline
    """
    failed = 0
    for check in run_checks(app.config_dir, offline=offline, api_base=api_base):
        click.echo(check.line())
        failed += check.level == "fail"
    if failed:
        raise click.ClickException(f"{failed} check{'s' if failed > 1 else ''} failed")
