"""Pay views: posting_pay (one row per measured posting with pay: its primary range) and monthly_pay.

- ``posting_pay``: the measured postings (canonical, analysed, with a description: the postings every trend
  counts, and ``jobtrend pay`` reads) that have a primary ``compensation`` row; its component, currency,
  interval, stated, annualised and USD figures, midpoints (NULL unless both ends are known), ``rates_date``,
  the role as ``posting_facts`` has it, ``seniority``, ``region`` (below) and the framework slugs.
  ``component_group`` compares like with like: ``base`` (base and hourly), ``ote``, ``total``.
- ``monthly_pay``: per month, role, seniority and component group, n, and the count, mean, min and max of the
  USD midpoint. Medians and quartiles are not in the view: SQLite has no portable percentile, so they come from
  ``jobtrend pay --grain month`` (analysis/pay_stats.py), with bootstrap intervals.

``region`` is ``analysis.pay_stats.region_of`` written in SQL, with this revision's frozen copy of its terms:
the location lower-cased, ``, ( ) / - | ; .`` replaced by spaces and padded with a space each side, then the
first region in order whose term appears as a whole word (``US`` becomes ``remote-US`` when the posting is marked
remote or says "remote"); no location: ``unknown``; no term: ``other``. SQLite's ``lower()`` folds ASCII only,
so a location in capitals with accents ("MÜNCHEN") can differ from Python's reading; tests/jobtrend/test_views.py
checks the two agree on ordinary locations.

A later migration that rebuilds ``postings``, ``compensation``, ``classifications``, ``mentions`` or
``frameworks`` on SQLite must drop these views first and create them again (:func:`drop_views`,
:func:`create_views`; see revision 0004's docstring).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = ("monthly_pay", "posting_pay")  # dropped in this order (monthly_pay reads posting_pay)

REGION_TERMS = {
    "US": ("us", "usa", "united states", "u s", "san francisco", "sf", "bay area", "new york", "nyc", "seattle",
           "boston", "austin", "los angeles", "palo alto", "mountain view", "menlo park", "sunnyvale", "san jose",
           "san mateo", "redwood city", "chicago", "denver", "washington dc", "atlanta", "miami", "pittsburgh",
           "ca", "ny", "wa", "ma", "tx", "co", "il", "ga", "nc", "va", "pa", "nj", "fl", "az", "ut", "md", "mn",
           "mi", "oh", "dc", "wi", "california", "texas", "colorado", "massachusetts", "washington",
           "new jersey", "ohio", "arizona", "utah", "nevada", "hawaii", "kansas", "wisconsin", "oregon",
           "illinois", "florida", "virginia", "pennsylvania", "michigan", "minnesota", "north carolina",
           "berkeley", "santa monica", "san diego", "el segundo", "portland", "philadelphia", "detroit"),
    "Canada": ("canada", "toronto", "vancouver", "montreal", "montréal", "ottawa", "waterloo", "calgary", "on",
               "bc", "qc"),
    "UK": ("uk", "united kingdom", "england", "scotland", "london", "manchester", "edinburgh", "bristol",
           "oxford"),
    "EU": ("eu", "europe", "germany", "berlin", "munich", "münchen", "hamburg", "france", "paris",
           "netherlands", "amsterdam", "spain", "madrid", "barcelona", "ireland", "dublin", "italy", "milan",
           "poland", "warsaw", "krakow", "sweden", "stockholm", "denmark", "copenhagen", "portugal", "lisbon",
           "belgium", "brussels", "austria", "vienna", "finland", "helsinki", "czech republic", "czechia",
           "prague", "romania", "greece", "estonia", "zurich"),
    "India": ("india", "bangalore", "bengaluru", "hyderabad", "pune", "mumbai", "delhi", "new delhi", "gurgaon",
              "gurugram", "noida", "chennai"),
}
SEPARATORS = ",()/-|;."


def _normalised_location(column: str) -> str:
    text = f"lower({column})"
    for sep in SEPARATORS:
        text = f"replace({text}, '{sep}', ' ')"
    return f"(' ' || {text} || ' ')"


def region_sql(location: str, remote: str) -> str:
    """The CASE expression of ``region``."""
    norm = _normalised_location(location)

    def any_term(terms) -> str:
        return "(" + " or ".join(f"{norm} like '% {term} %'" for term in terms) + ")"

    says_remote = f"({remote} or {norm} like '% remote %')"
    whens = [f"when {location} is null or trim({location}) = '' then 'unknown'",
             f"when {any_term(REGION_TERMS['US'])} and {says_remote} then 'remote-US'"]
    whens += [f"when {any_term(terms)} then '{region}'" for region, terms in REGION_TERMS.items()]
    return "case " + "\n            ".join(whens) + " else 'other' end"


def view_sql(dialect: str) -> dict[str, str]:
    """The ``select`` of both views for ``dialect``, with revision 0004's dialect SQL."""
    views = context.script.get_revision("0004").module
    if dialect not in views.DIALECT_SQL:
        raise RuntimeError(f"unsupported database dialect {dialect}: jobtrend runs on SQLite and PostgreSQL")
    d = views.DIALECT_SQL[dialect]
    return {
        "posting_pay": f"""
select p.id as posting_id,
       s.kind as source_kind,
       p.company,
       p.title,
       case when cl.posting_id is null then null when cl.is_ai_role then cl.role else 'not_ai' end as role,
       p.seniority,
       {region_sql("p.location", "p.remote")} as region,
       p.location,
       p.posted_week,
       {d["month_of_date"]("p.posted_month")} as posted_month,
       c.component,
       case when c.component in ('base', 'hourly') then 'base' else c.component end as component_group,
       c.currency,
       c.interval,
       c.minimum,
       c.maximum,
       c.annual_min,
       c.annual_max,
       (c.annual_min + c.annual_max) / 2.0 as annual_midpoint,
       c.usd_min,
       c.usd_max,
       (c.usd_min + c.usd_max) / 2.0 as usd_midpoint,
       c.rates_date,
       c.source,
       coalesce({d["framework_list"]}, '') as frameworks
from postings p
join compensation c on c.posting_id = p.id and c.is_primary
join sources s on s.id = p.source_id
left join classifications cl on cl.posting_id = p.id
where p.duplicate_of_id is null and p.analyzed_at is not null and trim(p.description_text) <> ''""",
        "monthly_pay": """
select posted_month as month,
       role,
       seniority,
       component_group,
       count(*) as n,
       count(usd_midpoint) as n_usd,
       avg(usd_midpoint) as mean_usd_midpoint,
       min(usd_midpoint) as min_usd_midpoint,
       max(usd_midpoint) as max_usd_midpoint,
       max(rates_date) as rates_date
from posting_pay
group by posted_month, role, seniority, component_group""",
    }


def create_views() -> None:
    """Create both views with this revision's SQL."""
    sql = view_sql(op.get_context().dialect.name)
    for name in reversed(VIEWS):
        op.execute(f"create view {name} as {sql[name].strip()}")


def drop_views() -> None:
    for name in VIEWS:
        op.execute(f"drop view if exists {name}")


def upgrade() -> None:
    create_views()


def downgrade() -> None:
    drop_views()
