"""A synthetic replay of many job boards: real Ashby, Greenhouse and Lever response shapes, generated text.

Example:
    .venv/bin/python benchmarks/synthetic_boards.py /tmp/boards --boards 6000 --postings 200000

Each board is one recorded response at the path its spider asks (:mod:`crawler.recording`), laid out for
:class:`crawler.replay.ReplayServer`: ``posting-api/job-board/<key>.json.gz`` (Ashby),
``v1/boards/<key>/jobs.json.gz`` (Greenhouse) and ``v0/postings/<key>.json.gz`` (Lever, at most 99 postings so
one page of 100 holds them). The boards are split between the kinds as the shipped registry is (1,590 Ashby,
2,541 Greenhouse, 1,790 Lever); each posting copies one real posting of tests/fixtures/replay (its fields and
nesting) with its own id, title, URLs and a description of filler sentences (about 1,500 characters). Seeded: the
same arguments give the same files. ``sources.toml`` beside them lists every board.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import html
import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "replay"
KIND_SHARES = (("ashby", 1590), ("greenhouse", 2541), ("lever", 1790))
LEVER_MAX = 99  # postings of one Lever board: one page of LEVER_PAGE_SIZE (100)
BOARD_MAX = 2000  # postings of one Ashby or Greenhouse board (the largest real ones list ~1,000 to 2,000)
TITLES = ("Machine Learning Engineer", "Senior Software Engineer", "Data Scientist", "Account Executive",
          "Product Designer", "Staff Backend Engineer", "AI Research Scientist", "Site Reliability Engineer",
          "Recruiter", "Solutions Architect", "Applied Scientist, LLM", "Frontend Engineer (React)")
WORDS = ("we", "build", "models", "platform", "python", "pytorch", "kubernetes", "customers", "data", "team",
         "ship", "reliable", "systems", "inference", "latency", "product", "design", "sales", "growth", "care",
         "postgres", "react", "golang", "rust", "evaluate", "training", "pipelines", "scale", "remote", "hybrid")


def templates() -> dict[str, dict]:
    """One real posting per kind, from the recorded fixtures."""
    ashby = json.loads((FIXTURES / "posting-api" / "job-board" / "render.json").read_text())
    greenhouse = json.loads((FIXTURES / "v1" / "boards" / "dropbox" / "jobs.json").read_text())
    lever_file = sorted((FIXTURES / "v0" / "postings").glob("AcmeAI@*skip=0.json"))[0]
    return {"ashby": {"board": {k: v for k, v in ashby.items() if k != "jobs"}, "job": ashby["jobs"][0]},
            "greenhouse": {"board": {"meta": {"total": 0}}, "job": greenhouse["jobs"][0]},
            "lever": {"board": None, "job": json.loads(lever_file.read_text())[0]}}


def boards(count: int) -> list[tuple[str, str]]:
    """``count`` (kind, key) pairs, the kinds in the registry's shares."""
    total = sum(n for _, n in KIND_SHARES)
    out: list[tuple[str, str]] = []
    for kind, share in KIND_SHARES:
        out += [(kind, f"synth-{kind}-{i:05d}") for i in range(round(count * share / total))]
    while len(out) < count:
        out.append(("greenhouse", f"synth-greenhouse-{len(out):05d}"))
    return out[:count]


def posting_counts(rng: random.Random, listed: list[tuple[str, str]], postings: int) -> list[int]:
    """Postings per board summing to ``postings``: a skewed spread, each board between 1 and its cap."""
    caps = [LEVER_MAX if kind == "lever" else BOARD_MAX for kind, _ in listed]
    weights = [rng.paretovariate(1.5) for _ in listed]
    scale = postings / sum(weights)
    counts = [min(cap, max(1, round(w * scale))) for w, cap in zip(weights, caps, strict=True)]
    i = 0
    while sum(counts) < postings:  # top up what the caps cut, one posting per board in turn
        j = i % len(counts)
        counts[j] += counts[j] < caps[j]
        i += 1
    while sum(counts) > postings:
        counts[counts.index(max(counts))] -= 1
    return counts


def description(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(12, 22)):
        words = rng.choices(WORDS, k=rng.randint(8, 16))
        sentences.append(" ".join(words).capitalize() + ".")
    return "<p>" + "</p><p>".join(" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4)) + "</p>"


def job(kind: str, template: dict, key: str, n: int, rng: random.Random) -> dict:
    """A copy of ``template`` with its own id, title, URLs and description."""
    out = copy.deepcopy(template)
    ident = f"{key}-{n:05d}"
    title = f"{rng.choice(TITLES)} {n}"
    text = description(rng)
    if kind == "ashby":
        url = f"https://jobs.ashbyhq.com/{key}/{ident}"
        out |= {"id": ident, "title": title, "jobUrl": url, "applyUrl": url, "descriptionHtml": text,
                "descriptionPlain": text}
    elif kind == "greenhouse":
        out |= {"id": 10_000_000 + n, "internal_job_id": n, "title": title, "content": html.escape(text),
                "absolute_url": f"https://boards.greenhouse.io/{key}/jobs/{10_000_000 + n}"}
    else:
        url = f"https://jobs.lever.co/{key}/{ident}"
        out |= {"id": ident, "text": title, "hostedUrl": url, "applyUrl": url, "description": text,
                "descriptionPlain": text, "descriptionBody": text, "descriptionBodyPlain": text}
    return out


def write_replay(root: Path, board_count: int, postings: int, seed: int = 0) -> list[tuple[str, str]]:
    """Write the replay of ``board_count`` boards holding ``postings`` postings under ``root``, and
    ``root/sources.toml``; return the (kind, key) pairs."""
    rng = random.Random(seed)
    shapes = templates()
    listed = boards(board_count)
    for (kind, key), count in zip(listed, posting_counts(rng, listed, postings), strict=True):
        jobs = [job(kind, shapes[kind]["job"], key, n, rng) for n in range(count)]
        body = jobs if kind == "lever" else shapes[kind]["board"] | {"jobs": jobs}
        path = root / {"ashby": f"posting-api/job-board/{key}", "greenhouse": f"v1/boards/{key}/jobs",
                       "lever": f"v0/postings/{key}"}[kind]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_name(path.name + ".json.gz").write_bytes(gzip.compress(json.dumps(body).encode(), 1))
    (root / "sources.toml").write_text("".join(
        f'[[sources]]\nkind = "{kind}"\nkey = "{key}"\ncompany = "{key}"\n\n' for kind, key in listed))
    return listed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--boards", type=int, default=300)
    parser.add_argument("--postings", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    listed = write_replay(args.root, args.boards, args.postings, args.seed)
    print(f"{len(listed)} boards, {args.postings} postings under {args.root}")


if __name__ == "__main__":
    main()
