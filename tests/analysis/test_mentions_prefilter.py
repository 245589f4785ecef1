"""The matcher's Aho-Corasick prefilter finds exactly what scanning every position with the one pattern finds."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from analysis.mentions import Matcher, posting_text
from jobtrend.config import FrameworkConfig, load_frameworks

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_frameworks(REPO / "config" / "frameworks.toml"))


def spans(matches) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in matches]


def demo_texts() -> list[str]:
    texts = []
    for path in sorted((REPO / "data" / "demo" / "posting-api" / "job-board").glob("*.json.gz")):
        for job in json.loads(gzip.decompress(path.read_bytes()))["jobs"]:
            texts.append(posting_text(job.get("title"), job.get("descriptionPlain")))
    return texts


def test_prefilter_is_in_use(matcher):
    assert matcher._starts is not None


def test_same_matches_as_the_full_scan_on_every_demo_posting(matcher):
    texts = demo_texts()
    assert len(texts) > 1000
    found = 0
    for text in texts:
        expected = spans(matcher.pattern.finditer(text))
        assert spans(matcher._matches(text)) == expected
        found += len(expected)
    assert found > 1000


@pytest.mark.parametrize("text", [
    "PyTorch at the very start",
    "ends with PyTorch",
    "X-ray and x-PyTorch are not mentions, (PyTorch) is",
    "pytorch PYTORCH PyTorch pyTorch",
    "Ray Serve, Ray Tune and Ray;ray serve\n\tRAY  serve",
    "Go, Google, go, GO and Golang",
    "Node.js C++17 LangChain. scikit-learn",
    "kubernetesk8s k8s k8s-operator",
    "\u0130stanbul PyTorch team",  # dotted capital I: lower() lengthens the text
    "py\u017fpark and k\u0131bana",  # long s and dotless i: IGNORECASE equates them with s and i
    "caf\u00e9 PyTorch \u201cTensorFlow\u201d \u2014 JAX\u00a0Flax",
    "",
])
def test_same_matches_on_edge_cases(matcher, text):
    assert spans(matcher._matches(text)) == spans(matcher.pattern.finditer(text))


def test_ignorecase_oddities_take_the_full_scan():
    entry = FrameworkConfig(slug="pyspark", name="PySpark", category="library", aliases=("pyspark", "kibana"))
    matcher = Matcher([entry])
    text = "py\u017fpark, PySpark, k\u0131bana"  # IGNORECASE takes long s for s, dotless i for i; lower() does not
    assert [m.group() for m in matcher._matches(text)] == ["py\u017fpark", "PySpark", "k\u0131bana"]


def test_non_ascii_taxonomy_falls_back_to_the_full_scan():
    entry = FrameworkConfig(slug="numpy", name="NumPy", category="library", aliases=("numpy", "n\u00fcmpy"))
    matcher = Matcher([entry])
    assert matcher._starts is None
    assert matcher.find("N\u00dcMPY and numpy") == {"numpy": 2}
