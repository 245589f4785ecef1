"""Run every benchmark script in this folder, one child process each, and print their output.

Example:
    .venv/bin/python -m benchmarks            # all
    .venv/bin/python -m benchmarks mentions   # only bench_mentions.py
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or "?"
    return f"{platform.machine()}, {cpus} cores, Python {platform.python_version()}, {platform.platform()}"


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(name in s.stem for name in argv)]
    print(f"machine: {machine()}\n")
    failed = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        failed += subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode != 0
        print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
