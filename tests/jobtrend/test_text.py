"""html_to_text: one line per block, list items as "- ", no scripts, entities decoded, whitespace tidied; the fast
lxml path gives the same text as the BeautifulSoup path on every demo page, which takes over when lxml gives up."""

from __future__ import annotations

import contextlib
import gzip
import html
import json
import re
from pathlib import Path

import pytest

from jobtrend.text import _flatten_lxml, _lxml_tree, _tidy, bs4_text, html_to_text


def test_paragraphs_and_headings_are_separate_lines():
    assert html_to_text("<h2>About</h2><p>We build <b>models</b>.</p><p>Join us.</p>") == (
        "About\nWe build models.\nJoin us.")


def test_list_items_are_prefixed_lines():
    source = "<p>You have:</p><ul><li>Python</li><li>Py<em>Torch</em></li></ul><ol><li>SQL</li></ol>"
    assert html_to_text(source) == "You have:\n- Python\n- PyTorch\n- SQL"


def test_nested_lists_and_paragraphs_inside_items():
    source = "<ul><li><p>Outer</p><ul><li>Inner</li></ul></li></ul>"
    assert html_to_text(source) == "- Outer\n- Inner"


def test_br_and_div_break_lines():
    assert html_to_text("<div>one<br>two<br/><br>three</div><div>four</div>") == "one\ntwo\nthree\nfour"


def test_scripts_styles_noscript_and_comments_are_dropped():
    source = ("<p>Keep</p><script>alert('x')</script><style>p{color:red}</style>"
              "<noscript>enable js</noscript><!-- hidden --><p>this</p>")
    assert html_to_text(source) == "Keep\nthis"


def test_entities_are_decoded():
    assert html_to_text("<p>R&amp;D&nbsp;team &ndash; caf&eacute; &lt;3 &#8364;5</p>") == "R&D team – café <3 €5"


def test_whitespace_collapses_within_lines_and_blank_lines_disappear():
    source = "<p>  lots   of\n\n   space\t here </p>\n\n\n<p>\n</p><p>&nbsp;</p><div>   </div><p>end</p>"
    assert html_to_text(source) == "lots of space here\nend"


def test_greenhouse_double_escaping_needs_one_unescape():
    recorded = "&lt;p&gt;Build &lt;strong&gt;training&lt;/strong&gt; pipelines &amp;amp; evals.&lt;/p&gt;"
    assert html_to_text(html.unescape(recorded)) == "Build training pipelines & evals."


def test_table_cells_share_their_row_line():
    assert html_to_text("<table><tr><td>Base</td><td>$100k</td></tr><tr><td>Equity</td></tr></table>") == (
        "Base $100k\nEquity")


def test_plain_text_passes_through():
    assert html_to_text("just text, no tags") == "just text, no tags"


@pytest.mark.parametrize("empty", [None, "", "   ", "<p></p>", "<script>x()</script>"])
def test_empty_input_gives_empty_text(empty):
    assert html_to_text(empty) == ""


def test_broken_markup_is_tolerated():
    assert html_to_text("<p>unclosed <b>bold<li>item</p></div>") == "unclosed bold\n- item"


def test_deep_nesting_does_not_overflow_the_stack():
    assert html_to_text("<div>" * 3000 + "deep" + "</div>" * 3000) == "deep"


# --- the lxml path against the BeautifulSoup path ------------------------------------------------------------

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
LINKED_DATA = re.compile(r"<script[^>]*application/ld\+json[^>]*>(.*?)</script>", re.S | re.I)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def demo_pages() -> list[str]:
    """Every HTML string in the bundled demo corpus: the JSON fields holding markup (Greenhouse's escaped markup
    unescaped once), the career-site pages themselves and the JSON-LD descriptions inside them."""
    pages = []
    for path in sorted(DEMO.rglob("*")):
        if not path.is_file() or path.suffix in (".md", ".toml"):
            continue
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
        if path.name.removesuffix(".gz").endswith(".json"):
            values = list(_strings(json.loads(text)))
        else:
            values = [text]
            for block in LINKED_DATA.findall(text):
                with contextlib.suppress(ValueError):
                    values += _strings(json.loads(block))
        for value in values:
            if "<" in value and ">" in value:
                pages.append(value)
            elif "&lt;" in value:
                pages.append(html.unescape(value))
    return pages


def test_lxml_and_beautifulsoup_give_the_same_text_on_every_demo_page():
    pages = demo_pages()
    assert len(pages) > 3000
    parsed_by_lxml = 0
    for page in pages:
        expected = bs4_text(page)
        assert html_to_text(page) == expected
        root = _lxml_tree(page)
        if root is not None:  # the Python walk over the lxml tree, for pages holding the stylesheet's markers
            assert _tidy(_flatten_lxml(root)) == expected
            parsed_by_lxml += 1
    assert parsed_by_lxml >= len(pages) - 5  # the fast path is the one taken


def test_private_use_characters_in_the_page_stay_text():
    assert html_to_text("<p>a\ue000b</p><ul><li>c\ue001</li></ul>") == "a\ue000b\n- c\ue001"


def test_nesting_deeper_than_libxml2_allows_goes_to_beautifulsoup():
    deep = "<p>top</p>" + "<div>" * 300 + "deep" + "</div>" * 300 + "<p>after</p>"
    assert _lxml_tree(deep) is None
    assert html_to_text(deep) == "top\ndeep\nafter"


def test_an_xml_declaration_in_a_string_goes_to_beautifulsoup():
    page = '<?xml version="1.0" encoding="utf-8"?><div><p>One</p><ul><li>two</li></ul></div>'
    assert _lxml_tree(page) is None
    assert html_to_text(page) == "One\n- two"


def test_lone_surrogates_become_replacement_characters_and_lose_no_text():
    page = "<p>before \ud800 after</p><p>next</p>"
    assert _lxml_tree(page) is None
    assert html_to_text(page) == bs4_text(page) == "before \ufffd after\nnext"


def test_tails_of_dropped_and_inline_elements_are_kept():
    source = "<div>a<script>x()</script>b<!-- c --><b>d</b>e<br>f<span>g</span></div>h"
    assert html_to_text(source) == bs4_text(source) == "abde\nfg\nh"
