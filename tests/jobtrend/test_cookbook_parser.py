"""jobtrend.cookbook reads recipes and column meanings from a schema document in the docs/schema.md format."""

import pytest

from jobtrend.cookbook import column_descriptions, load_cookbook, slugify

DOC = """# Database schema

## Tables

### `postings`: every posting

| column | type | meaning |
|---|---|---|
| `id` | integer | primary key |
| `started_at`, `finished_at` | timestamp | when it ran \\| or not |

## Views

### `posting_facts` (view): one row per canonical posting

| column | type | meaning |
|---|---|---|
| `frameworks` | text | slugs, comma-separated |

## Cookbook

### Which vector databases grew most?

Read the top rows.

```sql
select 1 as one;
```

### Median age of open postings by source?

```sql
select 2 as two
```

## Changing the schema

```sql
select 3
```
"""


@pytest.fixture
def doc(tmp_path):
    path = tmp_path / "schema.md"
    path.write_text(DOC)
    return path


def test_recipes_are_read_in_order_with_description_and_sql(doc):
    recipes = load_cookbook(doc)
    assert [r.slug for r in recipes] == ["which-vector-databases-grew-most", "median-age-of-open-postings-by-source"]
    assert recipes[0].title == "Which vector databases grew most?"
    assert recipes[0].description == "Read the top rows."
    assert recipes[0].sql == "select 1 as one"
    assert recipes[1].description == ""
    assert recipes[1].sql == "select 2 as two"  # the section ends at the next "## " heading


def test_a_recipe_without_exactly_one_query_is_an_error(doc):
    doc.write_text(DOC.replace("```sql\nselect 2 as two\n```", "no query here"))
    with pytest.raises(ValueError, match="Median age.*0 sql blocks"):
        load_cookbook(doc)


def test_a_document_without_cookbook_is_an_error(tmp_path):
    path = tmp_path / "schema.md"
    path.write_text("# nothing\n")
    with pytest.raises(ValueError, match="no '## Cookbook' section"):
        load_cookbook(path)


def test_column_descriptions_cover_tables_views_and_multi_column_rows(doc):
    described = column_descriptions(doc)
    assert described["postings"]["id"] == "primary key"
    assert described["postings"]["finished_at"] == described["postings"]["started_at"] == "when it ran | or not"
    assert described["posting_facts"] == {"frameworks": "slugs, comma-separated"}


def test_slugs_are_short_and_url_safe():
    slug = slugify("What share of ML Engineer postings mention DeepSpeed, by month? " * 3)
    assert len(slug) <= 60 and slug.startswith("what-share-of-ml-engineer") and "?" not in slug
