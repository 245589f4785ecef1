"""The first-line parser of Hacker News "Who is hiring?" posts, over real first lines from the recorded threads.

Each case is (HN comment id, its first line as :func:`first_line_of` reads it, and the expected company, title,
location, remote, employment type). The comments are in tests/fixtures/replay/api/v1/items/: 23960xx-23983xx from
the April 2011 thread (which asked to lead with the location), 46xxxxxx-48xxxxxx from the January-May 2026 threads.
"""

from __future__ import annotations

import gzip
import json

import pytest

from crawler.spiders.hackernews import comment_html
from jobtrend.hn_first_line import FirstLine, first_line_of, parse_first_line, remote_flag, split_fields
from tests.crawler.conftest import REPLAY

REAL_LINES = [
    (2396109, 'Montreal - PHP/MySQL Developer',
     (None, 'PHP/MySQL Developer', 'Montreal', None, None)),
    (2396433, 'Raleigh, NC - Generalist engineer (development/operations)',
     (None, 'Generalist engineer (development/operations)', 'Raleigh, NC', None, None)),
    (2397552, 'Academia.edu is hiring engineers in San Francisco.',
     ('Academia.edu', 'engineers', 'San Francisco', None, None)),
    (2396194, 'Boston, MA and remote',
     (None, None, 'Boston, MA and remote', True, None)),
    (2396134, 'Chicago, IL (or anywhere) - Rails Programmer @ 37signals',
     ('37signals', 'Rails Programmer', 'Chicago, IL (or anywhere)', None, None)),
    (2396672, 'Manhattan, NY',
     (None, None, 'Manhattan, NY', None, None)),
    (2396316, 'London (UK) and Boston US - youDevise, Ltd.',
     ('youDevise, Ltd', None, 'London (UK) and Boston US', None, None)),
    (2397044, 'Mountain View, CA (INTERN and FULLTIME)',
     (None, None, 'Mountain View, CA (INTERN and FULLTIME)', None, 'Full-time, Internship')),
    (2396439, 'Bangalore, India (Sorry, no remote).',
     (None, None, 'Bangalore, India (Sorry, no remote)', False, None)),
    (2396956, 'New York City, Seattle, and San Francisco - iSEC Partners - Application Security Consultants',
     ('iSEC Partners', 'Application Security Consultants', 'New York City, Seattle, and San Francisco', None, None)),
    (2396436, 'San Francisco, CA - (Remote considered for the right fit)',
     (None, None, 'San Francisco, CA; (Remote considered for the right fit)', True, None)),
    (2397988, 'Everlane - San Francisco, CA (FULLTIME, H1B, INTERNS)',
     ('Everlane', None, 'San Francisco, CA (FULLTIME, H1B, INTERNS)', None, 'Full-time, Internship')),
    (2396219, 'Portland, OR - Rails Developer - Kongregate',
     ('Kongregate', 'Rails Developer', 'Portland, OR', None, None)),
    (2396715, 'Boulder, CO - Gnip ( http://gnip.com ) - Two engineering positions, multiple sales/marketing '
              'positions:',
     ('Gnip', 'Two engineering positions, multiple sales/marketing positions', 'Boulder, CO', None, None)),
    (2396111, 'Google - Autocompleter',
     ('Google', None, None, None, None)),
    (2396215, "I don't give it much chances here, but what the hell:",
     (None, None, None, None, None)),
    (2397533, 'Tasty Labs is hiring frontend and backend engineers in Sillicon Valley. We use Python and Java. We '
              'are building a way to help people use their social networks to get things done.',
     ('Tasty Labs', 'frontend and backend engineers', 'Sillicon Valley', None, None)),
    (2396485, 'Palo Alto, CA - Flipboard',
     ('Flipboard', None, 'Palo Alto, CA', None, None)),
    (46467610, 'MiLaboratories | Bilbao, Spain | ONSITE | VISA SPONSORSHIP | RELOCATION SUPPORT',
     ('MiLaboratories', None, 'Bilbao, Spain', False, None)),
    (46869101, 'eventfirst | Senior Full-Stack Engineer | Berlin, Germany | REMOTE (CET) | Full-time',
     ('eventfirst', 'Senior Full-Stack Engineer', 'Berlin, Germany; REMOTE (CET)', True, 'Full-time')),
    (46469625, 'Redpanda Data | REMOTE | Full-time | https://www.redpanda.com/careers',
     ('Redpanda Data', None, None, True, 'Full-time')),
    (46467076, 'Hatchet | Founding Engineer | NYC or REMOTE (US and EU) | https://hatchet.run',
     ('Hatchet', 'Founding Engineer', 'NYC or REMOTE (US and EU)', True, None)),
    (46470899, 'OpenRent | London, UK | Full-Time | ONSITE+PART REMOTE | https://www.openrent.co.uk',
     ('OpenRent', None, 'London, UK', True, 'Full-time')),
    (46860113, 'thelab | New York, NY (Hybrid) | Senior Backend Developer | https://thelab.co | Full-Time | '
              '$160-165K + benefits',
     ('thelab', 'Senior Backend Developer', 'New York, NY (Hybrid)', False, 'Full-time')),
    (46869122, 'ChainSecurity | Blockchain Security Engineer | Full-time | INTERNS , HYBRID/REMOTE, Zurich, '
              'Switzerland | VISA possible | https://chainsecurity.com/',
     ('ChainSecurity',
      'Blockchain Security Engineer',
      'INTERNS , HYBRID/REMOTE, Zurich, Switzerland',
      True,
      'Full-time, Internship')),
    (46466830, 'Founding Engineer @ Conductor (San Francisco, ONSITE)',
     ('Conductor', 'Founding Engineer', 'San Francisco, ONSITE', False, None)),
    (46467492, 'Hiring: Fullstack Engineer and UI Designer (Remote, LATAM) – BudgetSimple',
     ('BudgetSimple', 'Fullstack Engineer and UI Designer (Remote, LATAM)', None, True, None)),
    (46610239, 'Wolf Games — Director of Engineering, Creative Automation — Remote (US/Canada) — Contract',
     ('Wolf Games', 'Director of Engineering, Creative Automation', 'Remote (US/Canada)', True, 'Contract')),
    (46857529, 'PrairieLearn (Remote US) — Full-Stack Software Engineer — TypeScript / Postgres / React / AI',
     ('PrairieLearn', 'Full-Stack Software Engineer', None, True, None)),
    (47975795, 'Karma (pre-seed) | Senior Backend / Full-Stack Engineer (Founding Team) | London, UK | ONSITE (3-5 '
              'days London) | careers@karmapt.com',
     ('Karma',
      'Senior Backend / Full-Stack Engineer (Founding Team)',
      'London, UK; ONSITE (3-5 days London)',
      False,
      None)),
    (47604566, 'Stellar | Amsterdam, the Netherlands | Onsite (2 days remote OK) | €70-100k + equity | '
              'https://stellarcs.ai',
     ('Stellar', None, 'Amsterdam, the Netherlands; Onsite (2 days remote OK)', False, None)),
    (46471318, 'IPinfo.io | Various Roles | Remote (Anywhere) | Fulltime / Partime / Contract | https://ipinfo.io',
     ('IPinfo.io', 'Various Roles', 'Remote (Anywhere)', True, 'Full-time, Contract')),
    (47977930, 'Krea; Fulltime; Onsite, San Francisco, CA, USA.',
     ('Krea', None, 'Onsite, San Francisco, CA, USA', False, 'Full-time')),
    (48011307, 'AirOps | Engineering, GTM | SF · NYC · Montevideo',
     ('AirOps', 'Engineering, GTM', 'SF · NYC · Montevideo', None, None)),
    (47981106, 'COVU | Data Engineer, Full Stack Engineers (Sr & Staff/Lead), Sr. Product Manager | San Francisco '
              '(Hybrid) or REMOTE (US) | Full-time',
     ('COVU',
      'Data Engineer, Full Stack Engineers (Sr & Staff/Lead), Sr. Product Manager',
      'San Francisco (Hybrid) or REMOTE (US)',
      True,
      'Full-time')),
    (46515639, 'Gaia AI | Fullstack Platform Engineer | Robotic Perception Engineer | Full-Time | Boston',
     ('Gaia AI', 'Fullstack Platform Engineer; Robotic Perception Engineer', 'Boston', None, 'Full-time')),
    (47603400, 'Addepar/ Softare Engineering Manager/ NYC-Hybrid/ Full-time',
     ('Addepar', 'Softare Engineering Manager', 'NYC-Hybrid', False, 'Full-time')),
    (46469686, "Microsoft Research is hiring Senior MLE's in Cambridge, MA (ONSITE).",
     ('Microsoft Research', "Senior MLE's", 'Cambridge, MA', False, None)),
    (46858941, 'Crowdstrike|Senior platform data engineer|Bucharest, hybrid|',
     ('Crowdstrike', 'Senior platform data engineer', 'Bucharest, hybrid', False, None)),
    (47220989, 'Impinj | Hybrid in Seattle, WA | Intern (Summer 2026) | https://www.impinj.com/',
     ('Impinj', None, 'Hybrid in Seattle, WA', False, 'Internship')),
    (47241776, 'Substantial | Senior/Staff Software Developer | REMOTE (US) | Contract (potential for full-time)',
     ('Substantial', 'Senior/Staff Software Developer', 'REMOTE (US)', True, 'Full-time, Contract')),
    (46469865, 'Ionworks | Founding Systems Engineer | Remote (US) or Pittsburgh, PA | Full-time',
     ('Ionworks', 'Founding Systems Engineer', 'Remote (US) or Pittsburgh, PA', True, 'Full-time')),
    (47234131, 'Rover | Barcelona, Spain & Seattle, USA | Analytics (Multiple Roles) | Full-time',
     ('Rover', 'Analytics (Multiple Roles)', 'Barcelona, Spain & Seattle, USA', None, 'Full-time')),
    (47976607, 'Scholarly | Senior Software Engineer | Seattle, On-Site | Full-Time | $160k - $200k + equity + '
              'health benefits + equipment budget',
     ('Scholarly', 'Senior Software Engineer', 'Seattle, On-Site', False, 'Full-time')),
    (46466130, 'Clever Benefits | Scottsdale, AZ (Hybrid — 2 days/week onsite, North Scottsdale) | Full-time | '
              '$140k–$180k | Senior Full Stack (React/React Native/Node/AWS)',
     ('Clever Benefits',
      'Senior Full Stack (React/React Native/Node/AWS)',
      'Scottsdale, AZ (Hybrid — 2 days/week onsite, North Scottsdale)',
      False,
      'Full-time')),
    (47221453, 'RINSE | REMOTE or San Francisco, Los Angeles, Chicago, Boston, New York, New Jersey, Seattle, '
              'Austin, Toronto, or Washington DC | Software Engineer | Full-Time | Salary: $80k-$200k USD | '
              'https://www.rinse.com',
     ('RINSE',
      'Software Engineer',
      'REMOTE or San Francisco, Los Angeles, Chicago, Boston, New York, New Jersey, Seattle, Austin, Toronto, or '
      'Washington DC',
      True,
      'Full-time')),
    (46640078, 'Splasy Sports is hiring for Senior Typescript Engineers - REMOTE (US). We are a rapidly growing '
              'fantasy sports and casual gaming sports products operator.',
     ('Splasy Sports', 'Senior Typescript Engineers', 'REMOTE (US)', True, None)),
    (47975944, 'Project Debug | General Engineer | Singapore (HYBRID) | Full-time | debug.com',
     ('Project Debug', 'General Engineer', 'Singapore (HYBRID)', False, 'Full-time')),
    (48027869, 'Capital Technology Group (CTG) | Senior AI/ML Engineer | Remote (US Only) | $150K–$200K',
     ('Capital Technology Group', 'Senior AI/ML Engineer', 'Remote (US Only)', True, None)),
    (46472440, 'Aggregated for easier reading: https://hn-discussions.top/who-is-hiring-jan-2026/',
     (None, None, None, None, None)),
    (46502788, 'BetterBugs | Remote | Full-time | https://betterbugs.io',
     ('BetterBugs', None, None, True, 'Full-time')),
]


@pytest.mark.parametrize(("comment_id", "line", "expected"), REAL_LINES, ids=[str(c[0]) for c in REAL_LINES])
def test_real_first_lines(comment_id, line, expected):
    parsed = parse_first_line(line)
    assert (parsed.company, parsed.title, parsed.location, parsed.remote, parsed.employment_type) == expected


@pytest.mark.parametrize(("line", "fields"), [
    ("Crowdstrike|Senior platform data engineer|Bucharest, hybrid|",
     ["Crowdstrike", "Senior platform data engineer", "Bucharest, hybrid"]),
    ("AirOps | Engineering, GTM | SF · NYC · Montevideo", ["AirOps", "Engineering, GTM", "SF · NYC · Montevideo"]),
    ("Acme AI · ML Engineer · Berlin", ["Acme AI", "ML Engineer", "Berlin"]),
    ("Wolf Games — Director of Engineering — Remote (US/Canada) — Contract",
     ["Wolf Games", "Director of Engineering", "Remote (US/Canada)", "Contract"]),
    ("Portland, OR - Rails Developer - Kongregate", ["Portland, OR", "Rails Developer", "Kongregate"]),
    ("Planet Earth -- operations engineers", ["Planet Earth", "operations engineers"]),
    ("Krea; Fulltime; Onsite, San Francisco, CA, USA.", ["Krea", "Fulltime", "Onsite, San Francisco, CA, USA"]),
    ("Addepar/ Softare Engineering Manager/ NYC-Hybrid/ Full-time",
     ["Addepar", "Softare Engineering Manager", "NYC-Hybrid", "Full-time"]),
    ("Mclean, Virginia - On-site | Software Engineers", ["Mclean, Virginia - On-site", "Software Engineers"]),
    ("Senior/Staff Engineer", ["Senior/Staff Engineer"]),
])
def test_separators_in_order_of_precedence(line, fields):
    assert split_fields(line) == fields


@pytest.mark.parametrize(("line", "fields"), [
    ("Ionworks | Founding Systems Engineer | Full-time Ionworks builds battery simulation software",
     ["Ionworks", "Founding Systems Engineer", "Full-time"]),
    ("Aqora | Paris (HQ) or Remote (Europe) We're building the go-to hub", ["Aqora", "Paris (HQ) or Remote (Europe)"]),
    ("Splasy Sports is hiring - REMOTE (US). We are a rapidly growing operator.",
     ["Splasy Sports is hiring", "REMOTE (US)"]),
    ("Deep Labs | Remote Deep is a lab | Deep Labs builds", ["Deep Labs", "Remote", "Deep Labs builds"]),  # first word
    ("Acme | Berlin Acme-ish is fine Our team", ["Acme", "Berlin Acme-ish is fine"]),  # a verb must follow the name
    ("Acme | Berlin Acme  helps Hi there", ["Acme", "Berlin"]),  # the earliest cut wins
    ("Acme | AcmeAcme is here", ["Acme", "AcmeAcme is here"]),  # the name must follow whitespace
])
def test_a_field_running_on_into_the_description_is_cut(line, fields):
    assert split_fields(line) == fields


@pytest.mark.parametrize(("line", "remote"), [
    ("Acme | REMOTE (US)", True),
    ("Acme | Remote OK", True),
    ("Acme | Berlin or Remote", True),
    ("Acme | Hybrid/Remote", True),
    ("PrairieLearn (Remote US) — Engineer", True),
    ("Acme | ONSITE", False),
    ("Acme | On-site in Stockholm", False),
    ("Acme | In-office", False),
    ("Acme | HYBRID", False),
    ("Stellar | Onsite (2 days remote OK)", False),
    ("Bangalore, India (Sorry, no remote).", False),
    ("Acme | Not remote", False),
    ("Acme | Berlin | Full-time", None),
    ("Tangible Materials | Senior Engineers | Remove US/Canada", None),
])
def test_remote_flag(line, remote):
    assert remote_flag(line) is remote


@pytest.mark.parametrize(("line", "urls", "emails"), [
    ("Redpanda Data | REMOTE | https://www.redpanda.com/careers", ["https://www.redpanda.com/careers"], []),
    ("Kinelo | kinelo.com | Onsite", ["kinelo.com"], []),
    ("Karma | London, UK | careers@karmapt.com", [], ["careers@karmapt.com"]),
    ("Acme | Berlin | jobs (at) acme (dot) ai", [], ["jobs (at) acme (dot) ai"]),
    ("CoPlane ( https://coplane.com/ ) | Design Engineer", ["https://coplane.com/"], []),
])
def test_links_and_emails_are_kept_apart(line, urls, emails):
    parsed = parse_first_line(line)
    assert (parsed.urls, parsed.emails) == (urls, emails)
    assert parsed.company in {"Redpanda Data", "Kinelo", "Karma", "Acme", "CoPlane"}


def test_a_line_with_nothing_to_read_gives_nothing():
    assert parse_first_line("") == FirstLine()


@pytest.mark.parametrize(("html", "line"), [
    ("Acme AI | ML Engineer &amp; MLOps | Berlin<p>We build things.", "Acme AI | ML Engineer & MLOps | Berlin"),
    ("<p>Montreal - PHP/MySQL Developer</p><p>Adult company, many positions.</p>", "Montreal - PHP/MySQL Developer"),
    ("Redpanda | <a href=\"https:&#x2F;&#x2F;www.redpanda.com&#x2F;careers\" rel=\"nofollow\">https:&#x2F;&#x2F;"
     "www.redpanda.com&#x2F;care...</a><p>Text", "Redpanda | https://www.redpanda.com/careers"),
    ("<i>Stellar Science</i> | Hybrid (USA)<p>More", "Stellar Science | Hybrid (USA)"),
    ("Austin, TX - Ruby Programmer\nAcademicWorks - Scholarship Management", "Austin, TX - Ruby Programmer"),
    ("--------------<p>NYC ONSITE<p>More", "NYC ONSITE"),
    ("", ""),
])
def test_first_line_of_comment_html(html, line):
    assert first_line_of(html) == line


def recorded_comments() -> dict[int, str]:
    """Every top-level comment's HTML in the recorded threads, as the spider reads it."""
    folder = REPLAY / "api" / "v1" / "items"
    threads = [json.loads(gzip.decompress(path.read_bytes())) for path in folder.glob("*.json.gz")]
    return {c["id"]: comment_html(c["text"]) for t in threads for c in t["children"] if c["text"]}


def test_every_real_line_is_the_first_line_of_its_recorded_comment():
    comments = recorded_comments()
    assert [first_line_of(comments[comment_id]) for comment_id, _, _ in REAL_LINES] == [
        line for _, line, _ in REAL_LINES]
