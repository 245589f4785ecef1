"""Hypothesis strategies for fuzzing the parsers: JSON-ish values, huge and odd strings, job-like payloads.

Payloads come in three flavours: real recorded jobs with some fields replaced by values of the wrong type or
deleted (structurally valid-ish), dicts over the right keys with arbitrary values, and garbage (random bytes, a
JSON document cut short, JSON of the wrong shape).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# 1,000 examples per fuzz test, derandomised so that CI runs the same examples every time.
FUZZ = settings(max_examples=1000, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ODD_TEXT = st.sampled_from([
    "", " ", "\x00", "\u202e", "\ufeff", "🦀" * 3, "null", "NaN", "<script>alert(1)</script>", "&lt;p&gt;x&lt;/p&gt;",
    "2026-13-45", "2026-04-20T13:30:00Z", "1700000000000", "-1", "http://[x", "https://example.org/job/1",
    "Remote", "on-site", "\\n\\n", "</script>", "]]>", "<!--", "\ud7ff", "Ǆ" * 5,
])
HUGE_TEXT = st.builds(lambda chunk, n: chunk * n, st.sampled_from(["a", "é", "🦀", "<p>", " ", "x y "]),
                      st.integers(1_000, 20_000))
TEXT = st.one_of(st.text(max_size=40), ODD_TEXT, HUGE_TEXT)
NUMBERS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
                    st.sampled_from([0, -1, 1e308, 2**63, 1.5e12]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=8), ODD_TEXT), inner, max_size=4)),
    max_leaves=8)


def jobs_like(keys: tuple[str, ...], real_jobs: list[dict], extra: dict | None = None) -> st.SearchStrategy:
    """One job: a real one with fields replaced or deleted, or a dict over ``keys`` with arbitrary values."""
    special = extra or {}
    value_for = {key: st.one_of(special.get(key, st.nothing()), VALUES) for key in keys}
    real = [job for job in real_jobs if isinstance(job, dict)]
    mutated = st.builds(_mutate, st.sampled_from(real), st.fixed_dictionaries({}, optional=value_for),
                        st.sets(st.sampled_from(keys), max_size=3))
    arbitrary = st.fixed_dictionaries({}, optional=value_for)
    return st.one_of(mutated, arbitrary, VALUES)


def _mutate(job: dict, changes: dict, deleted: set) -> dict:
    return {k: v for k, v in (job | changes).items() if k not in deleted}


def json_body(document: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    """``document`` as a JSON body, sometimes cut short, or garbage bytes, or JSON of another shape."""
    encoded = document.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    truncated = st.tuples(encoded, st.floats(0, 1)).map(lambda t: t[0][:int(len(t[0]) * t[1])])
    other = VALUES.map(lambda d: json.dumps(d).encode())
    return st.one_of(encoded, encoded, encoded, truncated, other, st.binary(max_size=300))


# --- schema.org JobPosting markup ------------------------------------------------------------------------------

POSTING_KEYS = ("title", "name", "identifier", "url", "hiringOrganization", "jobLocation", "jobLocationType",
                "employmentType", "description", "datePosted", "validThrough", "baseSalary", "@id", "@context")
NODE = st.fixed_dictionaries(
    {"@type": st.one_of(st.sampled_from(["JobPosting", "schema:JobPosting", "http://schema.org/JobPosting",
                                         ["JobPosting", "Thing"]]), VALUES)},
    optional={key: VALUES for key in POSTING_KEYS})
IDS = st.sampled_from(["#org", "#job", "https://careers.example.test/jobs#org", "", "#a"])
REFERENCED = st.fixed_dictionaries({"@id": IDS}, optional={
    "@type": st.sampled_from(["Organization", "Place", "JobPosting"]), "name": VALUES,
    "address": st.one_of(VALUES, st.fixed_dictionaries({"@id": IDS})), "hiringOrganization": st.fixed_dictionaries(
        {"@id": IDS})})  # references to each other, and to themselves: cycles
REF_GRAPH = st.tuples(st.lists(REFERENCED, max_size=4), NODE, IDS).map(lambda t: json.dumps({
    "@context": "https://schema.org",
    "@graph": [*t[0], t[1] | {"hiringOrganization": {"@id": t[2]}, "jobLocation": [{"@id": t[2]}]}]}))
BLOCK = st.one_of(
    NODE.map(json.dumps), REF_GRAPH,
    st.lists(NODE, max_size=3).map(lambda nodes: json.dumps({"@context": "https://schema.org", "@graph": nodes})),
    st.tuples(NODE.map(json.dumps), st.floats(0, 1)).map(lambda t: t[0][:int(len(t[0]) * t[1])]),
    NODE.map(lambda n: "<!--" + json.dumps(n).replace('"', "&quot;") + ",//x\n-->"),
    VALUES.map(json.dumps), TEXT)
MICRODATA = st.builds(
    lambda title, desc, date: ('<div itemscope itemtype="http://schema.org/JobPosting">'
                               f'<h1 itemprop="title">{title}</h1><div itemprop="description">{desc}</div>'
                               f'<time itemprop="datePosted" datetime="{date}">x</time>'
                               '<span itemprop="hiringOrganization" itemscope><b itemprop="name">X</b></span></div>'),
    TEXT, TEXT, TEXT)


def page_markup(blocks: list[str], microdata: list[str], links: list[str]) -> str:
    scripts = "".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
    anchors = "".join(f'<a href="{h}">x</a>' for h in links)
    return f"<html><head>{scripts}</head><body>{''.join(microdata)}{anchors}</body></html>"
