"""Run every benchmark script in this folder, one child process each, and print one table of their figures.

Example:
    .venv/bin/python -m benchmarks                   # all (what `make bench` runs)
    .venv/bin/python -m benchmarks crawl mentions    # only the scripts whose name contains "crawl" or "mentions"
    .venv/bin/python -m benchmarks --write-results   # all, then rewrite benchmarks/RESULTS.md

Each ``bench_*.py`` prints its own lines as it goes (streamed through) and one ``BENCH {json}`` line per figure
(benchmarks/_figures.py). At the end comes one table: stage | figure | value unit | reference (value) | ratio |
target | met. A script that fails is reported and makes the exit status 1; a missed target does not.

``--write-results`` (only with every script) rewrites benchmarks/RESULTS.md: the machine (CPU model, cores, RAM,
Python, SQLite and PostgreSQL versions, load average, date), the table, and the "What limits each figure" section.
That section is prose written by people from what they measured: it is kept as it stands in RESULTS.md, between
the ``<!-- limits -->`` and ``<!-- /limits -->`` markers, from one run to the next (``LIMITS_TEMPLATE`` below only
starts a RESULTS.md that has none). Edit the prose in RESULTS.md when a figure's limit changes. A run started
while the 1-minute load average exceeds half the cores writes a "provisional figures" warning at the top.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from benchmarks._figures import parse  # noqa: E402

RESULTS = HERE / "RESULTS.md"
LIMITS_START, LIMITS_END = "<!-- limits -->", "<!-- /limits -->"
LIMITS_TEMPLATE = """## What limits each figure

(Write here, per stage, what bounds the figure on this machine, from what you measured.)
"""
HEADER = ("stage", "figure", "value", "reference (value)", "ratio", "target", "met")


def machine() -> dict[str, str]:
    """CPU model, cores, RAM, Python, SQLite and PostgreSQL versions, load average and date of this run."""
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    load = _read("/proc/loadavg").split()[:3]
    return {
        "CPU": model.group(1).strip() if model else platform.processor() or platform.machine(),
        "cores": str(os.cpu_count() or "?"),
        "RAM": f"{int(mem.group(1)) / 2**20:.1f} GiB" if mem else "?",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": _command_version(["postgres", "--version"]) or _command_version(["pg_config", "--version"])
        or "not found",
        "load average (1, 5, 15 min) at start": " ".join(load) or "?",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _command_version(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def run_script(script: Path) -> tuple[int, list[dict]]:
    """Run one script in a child process, streaming its output; return its exit status and its figures."""
    figures = []
    with subprocess.Popen([sys.executable, str(script)], cwd=REPO, stdout=subprocess.PIPE, text=True,
                          bufsize=1) as child:
        for line in child.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            record = parse(line.rstrip("\n"))
            if record is not None:
                figures.append(record)
    return child.returncode, figures


def rows(figures: list[dict]) -> list[tuple[str, ...]]:
    """The table's cells, one tuple per figure."""
    table = []
    for f in figures:
        unit = f.get("unit") or ""
        reference = f.get("reference") or ""
        if f.get("reference_value") is not None:
            reference += f" ({_number(f['reference_value'])} {unit})"
        ratio = "" if f.get("ratio") is None else f"{_number(f['ratio'])}x"
        met = {True: "yes", False: "NO", None: ""}[f.get("met")]
        table.append((f["stage"], f["figure"], f"{_number(f['value'])} {unit}".strip(), reference, ratio,
                      f.get("target") or "", met))
    return table


def _number(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and abs(value) >= 100:
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def minutes(seconds: float) -> str:
    """``seconds`` as "12 min 05 s"."""
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60:02d} s"


def text_table(table: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *table]) for i in range(len(HEADER))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [HEADER, *table]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(table: list[tuple[str, ...]]) -> str:
    def line(cells):
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
    return "\n".join([line(HEADER), "|" + "---|" * len(HEADER), *(line(row) for row in table)])


def busy_note() -> str | None:
    """A warning for RESULTS.md when the machine was busy as the run started (1-minute load > half the cores)."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load <= 0.5 * cores:
        return None
    return (f"**Provisional figures**: the load average was {load:.1f} on {cores} cores when this run started (other "
            "work shared the machine). Re-run `make bench BENCH_ARGS=--write-results` on an idle machine.")


def results_markdown(info: dict[str, str], table: list[tuple[str, ...]], failed: list[str], limits: str,
                     note: str | None = None) -> str:
    """The whole RESULTS.md."""
    parts = [
        "# Benchmark results",
        "",
        "Written by `.venv/bin/python -m benchmarks --write-results` (`make bench` prints the same table). Each",
        "figure is measured side by side with its reference in the same run, so the ratio matters more than the",
        "absolute value, which moves with the machine's load.",
        "",
        *([note, ""] if note else []),
        "## Machine",
        "",
        *(f"- {name}: {value}" for name, value in info.items()),
        "",
        "## Figures",
        "",
        markdown_table(table),
        "",
    ]
    if failed:
        parts += [f"Scripts that failed in this run (no figures from them): {', '.join(failed)}.", ""]
    parts += [LIMITS_START, limits.strip(), LIMITS_END, ""]
    return "\n".join(parts)


def kept_limits(path: Path) -> str:
    """The "What limits each figure" section of an existing RESULTS.md, else the template."""
    if path.exists():
        text = path.read_text()
        start, end = text.find(LIMITS_START), text.find(LIMITS_END)
        if 0 <= start < end:
            return text[start + len(LIMITS_START):end]
    return LIMITS_TEMPLATE


def main(argv: list[str]) -> int:
    write = "--write-results" in argv
    names = [a for a in argv if a != "--write-results"]
    unknown = [a for a in names if a.startswith("-")]
    if unknown:
        print(f"unknown option {' '.join(unknown)}; usage: python -m benchmarks [--write-results] [NAME ...]")
        return 2
    if write and names:
        print("--write-results runs every script: RESULTS.md holds all the figures of one run")
        return 2
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(name in s.stem for name in names)]
        if not scripts:
            print(f"no benchmark script matches {' '.join(names)}")
            return 2
    info = machine()
    note = busy_note()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + "\n", flush=True)
    figures, failed = [], []
    started = time.monotonic()
    for script in scripts:
        print(f"== {script.name}", flush=True)
        script_started = time.monotonic()
        status, found = run_script(script)
        figures += found
        if status != 0:
            failed.append(script.name)
            print(f"!! {script.name} exited with status {status}")
        print(f"== {script.name}: {minutes(time.monotonic() - script_started)}\n", flush=True)
    table = rows(figures)
    print(text_table(table))
    print(f"\n{len(scripts)} scripts in {minutes(time.monotonic() - started)}")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    if write:
        RESULTS.write_text(results_markdown(info, table, failed, kept_limits(RESULTS), note))
        print(f"\nwrote {RESULTS.relative_to(REPO)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
