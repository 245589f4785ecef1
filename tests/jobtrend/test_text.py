"""html_to_text: one line per block, list items as "- ", no scripts, entities decoded, whitespace tidied."""

from __future__ import annotations

import html

import pytest

from jobtrend.text import html_to_text


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
