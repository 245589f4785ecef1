"""CleanHtmlPipeline fills description_text from description_html."""

from crawler.items import JobPosting
from crawler.pipelines.clean_html import CleanHtmlPipeline


def test_description_text_is_filled_from_html():
    item = CleanHtmlPipeline().process_item(JobPosting(description_html="<p>A &amp; B</p><ul><li>C</li></ul>"))
    assert item["description_text"] == "A & B\n- C"


def test_missing_html_gives_empty_text():
    assert CleanHtmlPipeline().process_item(JobPosting(title="x"))["description_text"] == ""
