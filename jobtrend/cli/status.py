"""`jobtrend status`: a one-screen summary of the database, crawls, model, report, outbox and scheduler."""

from __future__ import annotations

import datetime as dt
import json

import click

from jobtrend.app.status import Status
from jobtrend.app.status import status as collect
from jobtrend.cli import AppContext, pass_app
from jobtrend.db import read_only_engines
from jobtrend.output import render as render_table


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def status(app: AppContext, fmt: str) -> None:
    """Show what the system is doing: database (password hidden) and schema revision, postings by source kind,
    the last crawl and health of each source kind and the worst sources, model and taxonomy versions with the
    postings waiting for them, the last report, the outbox and the scheduler's jobs. Reads only.

    \b
    Example:
        jobtrend status
        jobtrend status --format json | jq .outbox
    """
    with read_only_engines():  # reads only: works on a database it cannot write
        result = collect(app.config)
    click.echo(json.dumps(result.as_dict(), indent=2) if fmt == "json" else render(result))


def _when(value) -> str:
    if value is None:
        return "never"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def scheduler_line(state: dict) -> str:
    """"running (pid 1234 on host, since ...)", "not running since ..." or "never started", from the heartbeat
    (:func:`jobtrend.app.status.scheduler_state`)."""
    if state.get("running"):
        return f"running (pid {state['pid']} on {state['host']}, since {_when(state['since'])})"
    if state.get("since") is None:
        return "not running (never started against this database)"
    how = "" if state.get("stopped") else ", no heartbeat: killed or its host is down"
    return f"not running since {_when(state['since'])} (was pid {state['pid']} on {state['host']}{how})"


def render(status: Status) -> str:
    """One screen of text."""
    db = status.database
    revision = db["revision"] or "none"
    if db["revision"] and db["head"] and db["revision"] != db["head"]:
        revision += f" (behind: latest is {db['head']}; run `jobtrend init`)"
    lines = [f"database   {db['url']}  ({db['dialect']}, schema {revision})"]
    if not status.initialised:
        lines.append("           no jobtrend tables: run `jobtrend init` first")
        return "\n".join(lines)
    postings = {p["source_kind"]: p for p in status.postings}
    crawls = {c["source_kind"]: c for c in status.crawls}
    rows = []
    for kind in sorted(set(postings) | set(crawls)):
        p, c = postings.get(kind, {}), crawls.get(kind, {})
        health = ", ".join(f"{state} {n}" for state, n in c.get("health", {}).items())
        rows.append((kind, p.get("total", 0), p.get("open", 0), p.get("last_7_days", 0),
                     _when(c.get("last_crawl")), health))
    if rows:
        table = render_table(("source kind", "postings", "open", "new 7d", "last crawl", "sources by health"), rows)
        lines += ["", table, ""]
    else:
        lines.append("postings   none yet (run `jobtrend crawl`)")
    if status.worst_sources:
        lines.append("worst sources")
        for s in status.worst_sources:
            error = f"  {s['last_error']}" if s["last_error"] else ""
            lines.append(f"  {s['source']:<32} {s['health']:<10} since {_when(s['since'])}, "
                         f"{s['failures'] or 0} failures{error}")
    model, taxonomy = status.model, status.taxonomy
    awaiting = model.get("awaiting_classification")
    lines.append(f"model      {model.get('version') or 'missing (run `jobtrend init`)'}"
                 + (f"  ({awaiting} postings await classification)" if awaiting is not None else ""))
    others = {v: n for v, n in (model.get("classified_by_version") or {}).items() if v != model.get("version")}
    if others:
        lines.append("           stored classifications by other models: "
                     + ", ".join(f"{v} {n}" for v, n in sorted(others.items()))
                     + " (`jobtrend classify` replaces them)")
    lines.append(f"taxonomy   {taxonomy.get('version')}  ({taxonomy.get('frameworks')} frameworks, "
                 f"{taxonomy.get('awaiting_analysis')} postings await analysis)")
    report = status.last_report
    lines.append("report     " + (f"{report['week']} generated {_when(report['generated_at'])}" if report
                                  else "none yet"))
    box = status.outbox
    lines.append(f"outbox     {box.get('pending', 0)} pending, {box.get('failed', 0)} failed"
                 + (f" (oldest pending {_when(box['oldest_pending'])})" if box.get("oldest_pending") else ""))
    jobs, runs = status.scheduler.get("jobs", []), {r["job"]: r for r in status.scheduler.get("last_runs", [])}
    lines.append("scheduler  " + scheduler_line(status.scheduler.get("state") or {})
                 + ("" if jobs else "; no stored jobs (start it with `jobtrend scheduler run`)"))
    for job in jobs:
        run = runs.pop(job["id"], None)
        last = f"; last run {_when(run['started_at'])} {run['status']}" if run else ""
        overdue = "  OVERDUE" if job.get("overdue") else ""
        lines.append(f"  {job['id']:<12} next {_when(job['next_run_time'])}{overdue}{last}")
    for name, run in sorted(runs.items()):
        lines.append(f"  {name:<12} last run {_when(run['started_at'])} {run['status']}")
    return "\n".join(lines)
