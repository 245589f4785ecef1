"""Read the customary first line of a Hacker News "Who is hiring?" post into company, roles, location and terms.

The convention is ``Company | Role(s) | Location | REMOTE/ONSITE/HYBRID | Full-time | URL``, but nothing enforces
it: fields are missing or reordered, separators may be ``|``, `` - ``, ``·`` or ``—``, one post lists several
roles, and 2011-era posts lead with the location (``Montreal - PHP/MySQL Developer``). :func:`parse_first_line`
splits the line into fields and classifies each one; the remote flag and the employment type are read from the
whole line. Anything it cannot place is left out rather than guessed.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

# --- the first line of a comment's HTML -------------------------------------------------------------------------

ANCHOR_RE = re.compile(r"<a\s[^>]*?href=\"([^\"]*)\"[^>]*>.*?</a>", re.I | re.S)
TAG_RE = re.compile(r"<[^>]+>")
BLOCK_RE = re.compile(r"</?p>|<pre>|\n", re.I)

# --- splitting into fields ----------------------------------------------------------------------------------------

SEPARATORS = (
    re.compile(r"\|"),
    re.compile(r"\s+[·•]\s+"),
    re.compile(r"\s*;\s+"),
    re.compile(r"\s+(?:—|–|--|-)\s+"),
    re.compile(r"(?<=\S)/ (?=\S)"),  # "Addepar/ Engineering Manager/ NYC" (only when nothing else splits)
)
LABEL_RE = re.compile(r"^(company|role|roles|position|positions|title|hiring|we're hiring|location|locations|website|"
                      r"url|email)\s*:\s*", re.I)
PROSE_LENGTH = 150  # a longer field is the description running on, not a field
FIELD_STRIP = " ,;:.[]"
COMPANY_MAX_WORDS = 5  # a longer first field is a sentence, not a name

# --- what a field holds -------------------------------------------------------------------------------------------

SENTENCE_END_RE = re.compile(r"(?:(?<=[a-z]{3})|(?<=\)))[.!?]\s+(?=[A-Z])")
# where a field after the first runs on into the description: "... We're a ...", "Full-time Ionworks builds ..."
# (the company named again as a sentence's subject)
# where a field runs on into the description: a space before "We ...", or before the company's name and a verb
RUN_ON_RE = re.compile(r"\s(?=(?:We|We're|We’re|Our|I'm|I’m|Hi|Hello)\b)")
SUBJECT_VERBS = (r"(?:is|are|was|has|builds|helps|makes|provides|equips|connects|develops|creates|offers|powers|"
                 r"enables|delivers|designs|serves|brings|turns|uses|works|combines|raises|operates|transforms)\b")
VERB_AFTER_RE = re.compile(r"\s+" + SUBJECT_VERBS)
NOTE_RE = re.compile(r"\b(citizenship|sponsorship|visa|clearance|required|authori[sz]ation|relocation|benefits|"
                     r"series [a-e]|funding|funded|yc)\b", re.I)
URL_RE = re.compile(r"https?://\S+|\bwww\.\S+", re.I)
DOMAIN_RE = re.compile(r"^[a-z0-9][\w-]*(\.[\w-]+)*\.[a-z]{2,}(/\S*)?$", re.I)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
OBFUSCATED_EMAIL_RE = re.compile(
    r"\w\s*[\[({<]\s*at\s*[\])}>]\s*\w|\w\s+at\s+\w+\s*(?:[\[({<]\s*)?dot(?:\s*[\])}>])?\s+\w", re.I)
SALARY_RE = re.compile(r"[$€£]\s?\d|\d\s?[kK]\b|\b(salary|equity|compensation|comp|usd|eur|gbp)\b", re.I)
REMOTE_RE = re.compile(r"\bremote(?:ly)?\b", re.I)
NO_REMOTE_RE = re.compile(r"\b(?:no|not|non)[- ](?:\w+ )?remote\b|\bremote\s+(?:is\s+)?not\b", re.I)
ONSITE_RE = re.compile(r"\bon[- ]?site\b|\bin[- ](?:the[- ])?office\b|\bin[- ]person\b", re.I)
HYBRID_RE = re.compile(r"\bhybrid\b", re.I)
ARRANGEMENT_FILLER_RE = re.compile(
    r"\b(remote(ly)?|on[- ]?site|in[- ](the[- ])?office|in[- ]person|hybrid|ok|okay|only|or|and|friendly|first|"
    r"preferred|possible|available|considered|welcome|allowed|also|fully|full|partially|part|optional)\b|[^\w]+|\d+",
    re.I)
EMPLOYMENT_TERMS = (
    ("Full-time", re.compile(r"\bfull[- ]?time\b|\bfte\b|\bpermanent\b", re.I)),
    ("Part-time", re.compile(r"\bpart[- ]?time\b", re.I)),
    ("Contract", re.compile(r"(?<!smart )\bcontract(or|ors|s)?\b|\bfreelance(r|rs)?\b|\b1099\b", re.I)),
    ("Internship", re.compile(r"\bintern(s|ship|ships)?\b|\bco-ops?\b", re.I)),
)
EMPLOYMENT_ANY_RE = re.compile("|".join(p.pattern for _, p in EMPLOYMENT_TERMS), re.I)
EMPLOYMENT_FILLER_RE = re.compile(
    r"\b(full[- ]?time|fte|permanent|perm|part[- ]?time|contract(or|ors|s)?|freelance(r|rs)?|1099|intern(s|ship|"
    r"ships)?|co-ops?|to|hire|hiring|or|and|only|also|possible|available|positions?|roles?|flexible|w2|summer|"
    r"fall|spring|winter|potential|for|welcome)\b|[^\w]+|\d+", re.I)
ROLE_RE = re.compile(
    r"\b(engineer(s|ing)?|developers?|devs?|programmers?|scientists?|science|designers?|design|architects?|"
    r"researchers?|research|analysts?|analytics|managers?|management|leads?|heads? of|directors?|vp|cto|"
    r"swes?|sres?|devops|devrel|mlops|qa|sdets?|tpms?|pms?|gtm|founding|generalists?|hackers?|specialists?|"
    r"consultants?|administrators?|admins?|sysadmins?|technicians?|operations|ops|sales|marketing|recruiters?|"
    r"writers?|product|roles|positions|openings|fellows?|full[- ]?stack|front[- ]?end|back[- ]?end|data|"
    r"infra|infrastructure|business development|accountants?|editors?|android|ios|mobile|mles?|technical staff|"
    r"mts)\b", re.I)
STRONG_ROLE_RE = re.compile(
    r"\b(engineers?|developers?|programmers?|scientists?|designers?|architects?|researchers?|analysts?|swes?|"
    r"sres?|cto)\b", re.I)
ROLE_AT_RE = re.compile(r"^(?P<role>.+?)\s+(?:@|at)\s+(?P<company>[A-Z0-9][^,;()]*?)(?:\s*\((?P<rest>[^)]*)\))?$")
HIRING_RE = re.compile(
    r"^(?P<company>[A-Z0-9][\w.&'’ -]{0,60}?)\s+(?:is|are)\s+(?:now\s+|also\s+|still\s+)?hiring\b(?:\s+for)?"
    r"(?P<roles>.*?)(?:\s+in\s+(?P<location>[A-Z][^.!:]*))?[.!:]?$")
NOT_COMPANIES = frozenset({"we", "i", "you", "they", "our team", "my team", "my company", "our company"})
PARENS_RE = re.compile(r"\s*[(\[][^)\]]*[)\]]?")
EMPTY_PARENS_RE = re.compile(r"\s*[(\[]\s*[)\]]")

# --- places -------------------------------------------------------------------------------------------------------

US_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DC|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|"
             "ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|ON|BC|QC|AB|MB|NS")  # and Canadian provinces
PLACE_ABBREVIATIONS = ("SF", "SFBA", "NYC", "NY", "LA", "ATX", "DC", "LON", "US", "USA", "U.S.", "U.S", "UK", "EU",
                       "EMEA", "APAC", "LATAM", "UAE")
PLACE_NAMES = (
    # regions and catch-alls
    "anywhere", "worldwide", "global", "international", "europe", "european union", "north america",
    "south america", "latin america", "americas", "asia", "africa", "middle east", "oceania", "bay area",
    "sf bay area", "silicon valley", "east coast", "west coast", "midwest", "planet earth", "nordics",
    "scandinavia", "benelux", "dach",
    # US states
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut", "delaware", "florida",
    "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas", "kentucky", "louisiana", "maine",
    "maryland", "massachusetts", "michigan", "minnesota", "mississippi", "missouri", "montana", "nebraska",
    "nevada", "new hampshire", "new jersey", "new mexico", "north carolina", "north dakota", "ohio",
    "oklahoma", "oregon", "pennsylvania", "rhode island", "south carolina", "south dakota", "tennessee",
    "texas", "utah", "vermont", "virginia", "west virginia", "wisconsin", "wyoming", "ontario", "quebec",
    "british columbia", "alberta",
    # countries
    "united states", "america", "canada", "mexico", "brazil", "argentina", "chile", "colombia", "peru", "uruguay",
    "united kingdom", "england", "scotland", "wales", "ireland", "france", "germany", "spain", "portugal", "italy",
    "netherlands", "holland", "belgium", "luxembourg", "switzerland", "austria", "denmark", "sweden", "norway",
    "finland", "iceland", "poland", "czech republic", "czechia", "slovakia", "hungary", "romania", "bulgaria",
    "greece", "croatia", "serbia", "slovenia", "estonia", "latvia", "lithuania", "ukraine", "turkey", "israel",
    "saudi arabia", "egypt", "nigeria", "kenya", "south africa", "india", "pakistan", "bangladesh", "sri lanka",
    "china", "hong kong", "taiwan", "japan", "korea", "south korea", "singapore", "malaysia", "indonesia",
    "philippines", "vietnam", "thailand", "australia", "new zealand",
    # cities
    "new york", "new york city", "manhattan", "brooklyn", "queens", "long island", "jersey city", "hoboken",
    "stamford", "new haven", "providence", "san francisco", "oakland", "berkeley", "emeryville", "palo alto",
    "mountain view", "menlo park", "sunnyvale", "san jose", "santa clara", "cupertino", "redwood city",
    "san mateo", "foster city", "san carlos", "south san francisco", "los angeles", "santa monica", "venice",
    "pasadena", "hawthorne", "san diego", "irvine", "santa barbara", "sacramento", "seattle", "bellevue",
    "redmond", "kirkland", "portland", "boston", "cambridge", "somerville", "chicago", "austin", "dallas",
    "houston", "san antonio", "denver", "boulder", "atlanta", "miami", "tampa", "orlando", "washington",
    "arlington", "mclean", "tysons", "reston", "philadelphia", "blue bell", "pittsburgh", "baltimore",
    "columbia", "raleigh", "durham", "chapel hill", "charlotte", "nashville", "minneapolis", "st. paul",
    "detroit", "ann arbor", "salt lake city", "lehi", "phoenix", "scottsdale", "tempe", "las vegas", "columbus",
    "cincinnati", "cleveland", "st. louis", "kansas city", "new orleans", "memphis", "madison", "milwaukee",
    "indianapolis", "albuquerque", "dayton", "shelburne", "burlington", "toronto", "vancouver", "montreal",
    "ottawa", "gatineau", "waterloo", "kitchener", "calgary", "edmonton", "halifax", "london", "manchester",
    "edinburgh", "glasgow", "oxford", "bristol", "leeds", "belfast", "dublin", "cork", "paris", "lyon",
    "berlin", "munich", "hamburg", "frankfurt", "cologne", "stuttgart", "amsterdam", "rotterdam", "eindhoven",
    "utrecht", "delft", "brussels", "ghent", "antwerp", "zurich", "zürich", "geneva", "lausanne", "basel",
    "vienna", "prague", "brno", "warsaw", "krakow", "kraków", "wroclaw", "budapest", "bucharest", "cluj",
    "sofia", "athens", "belgrade", "novi sad", "zagreb", "ljubljana", "tallinn", "riga", "vilnius", "kyiv",
    "kiev", "lviv", "stockholm", "gothenburg", "malmö", "malmo", "copenhagen", "aarhus", "oslo", "helsinki",
    "reykjavik", "madrid", "barcelona", "valencia", "bilbao", "lisbon", "porto", "milan", "rome", "turin",
    "tel aviv", "jerusalem", "haifa", "bangalore", "bengaluru", "mumbai", "delhi", "new delhi", "gurgaon",
    "noida", "hyderabad", "pune", "chennai", "beijing", "shanghai", "shenzhen", "hangzhou", "tokyo", "osaka",
    "kyoto", "seoul", "taipei", "sydney", "melbourne", "brisbane", "perth", "auckland", "wellington",
    "sao paulo", "são paulo", "rio de janeiro", "buenos aires", "mexico city", "guadalajara", "bogota",
    "bogotá", "medellin", "medellín", "santiago", "lima", "montevideo", "florianopolis", "florianópolis",
    "kuala lumpur", "jakarta", "bangkok", "manila", "ho chi minh", "hanoi", "cape town", "johannesburg",
    "lagos", "nairobi", "cairo", "dubai", "abu dhabi", "doha", "riyadh",
)
STATE_RE = re.compile(r",\s*(?:" + US_STATES + r")\b")
CITY_STATE_RE = re.compile(r"^(?:[A-Z][\w.'-]*\s?){1,3},\s*(?:" + US_STATES + r")\.?$")
ABBREVIATION_RE = re.compile(r"(?<![\w.])(?:" + "|".join(re.escape(a) for a in PLACE_ABBREVIATIONS) + r")(?![\w])")
PLACE_RE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in sorted(PLACE_NAMES, key=len, reverse=True))
                      + r")\b", re.I)
PLACE_FILLER_RE = re.compile(r"\b(and|or|area|greater|metro|city|the|only|remote|anywhere)\b|[^\w]+", re.I)


@dataclass
class FirstLine:
    """What the first line of a hiring post says; a field it does not state is None (``remote``: unknown)."""

    company: str | None = None
    title: str | None = None
    location: str | None = None
    remote: bool | None = None
    employment_type: str | None = None
    urls: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)


def first_line_of(comment_html: str) -> str:
    """The first line of a comment as plain text: links become their targets, entities are decoded."""
    text = ANCHOR_RE.sub(lambda m: " " + html.unescape(m.group(1)) + " ", comment_html or "")
    for block in BLOCK_RE.split(text):
        line = " ".join(html.unescape(TAG_RE.sub("", block)).split())
        if any(ch.isalnum() for ch in line):  # not a rule of dashes
            return line
    return ""


def parse_first_line(line: str) -> FirstLine:
    """Company, roles, location, remote flag, employment type, URLs and emails of one first line."""
    result = FirstLine(remote=remote_flag(line), employment_type=employment_type(line))
    roles: list[str] = []
    places: list[str] = []
    company_later = False  # the first field was no company: the first unclassified field may be
    for position, raw in enumerate(split_fields(line)):
        result.urls += URL_RE.findall(raw)
        text = strip_links(raw)
        if not text:
            continue
        kind, value = lead_field(text) if position == 0 else classify(text)
        if kind == "role" and result.company is None and (role_at := ROLE_AT_RE.match(text)):
            kind, value = "role_at", role_and_company(role_at)
        if kind == "company":
            result.company = value
        elif kind == "role":
            roles.append(value)
        elif kind == "place":
            places.append(value)
        elif kind == "url":
            result.urls.append(value)
        elif kind == "email":
            result.emails += EMAIL_RE.findall(value) or [value]
        elif kind in ("sentence", "role_at"):
            company, role, place = value
            result.company = result.company or company
            roles += [role] if role else []
            places += [place] if place else []
        elif kind == "other" and company_later and result.company is None:
            result.company = company_name(text)
        company_later = company_later or (position == 0 and result.company is None)
    result.title = "; ".join(dict.fromkeys(r for r in roles if r)) or None
    result.location = "; ".join(dict.fromkeys(p for p in places if p)) or None
    return result


def split_fields(line: str) -> list[str]:
    """The line cut at the first separator kind that occurs in it (``|`` before ``·`` before dashes); a field
    where the description runs on ("... We're building ...") is cut there."""
    parts = [line]
    for separator in SEPARATORS:
        pieces = separator.split(line)
        if len(pieces) > 1 and (separator is not SEPARATORS[-1] or len(pieces) > 2):
            parts = pieces
            break
    name = PARENS_RE.sub("", parts[0]).strip()
    names = {name, name.split()[0]} if name else set()
    fields = []
    for position, part in enumerate(parts):
        part = SENTENCE_END_RE.split(part.strip(), maxsplit=1)[0]
        if position > 0:
            part = part[:run_on_at(part, names)]
        fields.append(part.strip(FIELD_STRIP))
    return [f for f in fields if f]


def run_on_at(part: str, names: set[str]) -> int:
    """Where ``part`` runs on into the description: the first whitespace before "We", "Our", "Hi", ... or
    before one of ``names`` followed by a verb ("Acme builds ..."); ``len(part)`` when it does not. Plain
    string search for the names: a pattern per line would be compiled per line (Python caches 512)."""
    pronoun = RUN_ON_RE.search(part)
    cut = pronoun.start() if pronoun else len(part)
    for name in names:
        start = part.find(name, 1)
        while 0 < start < cut:
            if part[start - 1].isspace() and VERB_AFTER_RE.match(part, start + len(name)):
                cut = start - 1
                break
            start = part.find(name, start + 1)
    return cut


def strip_links(text: str) -> str:
    """The field without its http(s)/www links and the brackets left empty by them."""
    return EMPTY_PARENS_RE.sub("", URL_RE.sub("", text)).strip(FIELD_STRIP)


def lead_field(text: str) -> tuple[str, object]:
    """The first field: the company, unless it is a sentence ("X is hiring ..."), "Role @ Company", only places,
    a role, or the terms."""
    hiring = HIRING_RE.match(PARENS_RE.sub("", text))
    if hiring and hiring.group("company").lower() not in NOT_COMPANIES:
        roles = hiring.group("roles").strip(" ,.:-")
        return "sentence", (company_name(hiring.group("company")), roles if ROLE_RE.search(roles) else None,
                            hiring.group("location"))
    role_at = ROLE_AT_RE.match(text)
    if role_at and STRONG_ROLE_RE.search(role_at.group("role")):
        return "role_at", role_and_company(role_at)
    if DOMAIN_RE.match(text):  # "Steel.dev", "IPinfo.io": the company goes by its domain
        return "company", text
    kind, value = classify(text)
    strong_role = kind == "role" and STRONG_ROLE_RE.search(PARENS_RE.sub("", text))
    if kind in ("url", "email", "salary", "employment", "arrangement") or strong_role:
        return kind, value
    if is_place_only(text):
        return "place", text
    return "company", company_name(text)


def classify(text: str) -> tuple[str, object]:
    """The kind of a field after the first ("url", "email", "salary", "employment", "arrangement", "role",
    "place", "prose" or "other") and the value to keep."""
    label = LABEL_RE.match(text)
    if label:
        return labelled(label.group(1).lower(), text[label.end():].strip(FIELD_STRIP))
    if is_prose(text):
        return "prose", text
    if DOMAIN_RE.match(text):
        return "url", text
    if "@" in text and EMAIL_RE.search(text) or OBFUSCATED_EMAIL_RE.search(text):
        return "email", text
    if SALARY_RE.search(text) and not ROLE_RE.search(text):
        return "salary", text
    if EMPLOYMENT_ANY_RE.search(text) and not EMPLOYMENT_FILLER_RE.sub("", text):
        return "employment", text
    arrangement = bool(REMOTE_RE.search(text) or ONSITE_RE.search(text) or HYBRID_RE.search(text))
    if arrangement and not ARRANGEMENT_FILLER_RE.sub("", text):
        return "arrangement", text
    if ROLE_RE.search(text):
        return "role", text
    if NOTE_RE.search(PARENS_RE.sub("", text)):
        return "other", text
    if arrangement or is_place(text):
        return "place", text
    return "other", text


def role_and_company(match: re.Match) -> tuple[str | None, str, str | None]:
    """(company, role, place) from "Role @ Company (Place)"."""
    rest = match.group("rest") or ""
    place = rest if rest and (is_place(rest) or REMOTE_RE.search(rest) or ONSITE_RE.search(rest)) else None
    return company_name(match.group("company")), match.group("role").strip(), place


def labelled(label: str, value: str) -> tuple[str, object]:
    """A field that names itself ("Location: Berlin")."""
    if label == "company":
        return "company", company_name(value)
    if label in ("role", "roles", "position", "positions", "title", "hiring", "we're hiring"):
        return "role", value
    if label in ("location", "locations"):
        return "place", value
    return ("email", value) if label == "email" else ("url", value)


def company_name(text: str) -> str | None:
    """The company name without bracketed asides ("(YC S17)", "(FKA Timescale)"); None for a sentence."""
    name = " ".join(PARENS_RE.sub("", text).strip(FIELD_STRIP + "-–—/").split())
    words = name.split()
    lowercase = sum(1 for word in words[1:] if word[0].islower())
    if not words or len(words) > COMPANY_MAX_WORDS or (len(words) >= 3 and 2 * lowercase > len(words) - 1):
        return None  # a sentence ("Aggregated for easier reading"), not a name
    return name


def is_prose(text: str) -> bool:
    return len(text) > PROSE_LENGTH


def is_place(text: str) -> bool:
    """True when a field names a city, region or country, or has a "City, ST" pair."""
    return bool(STATE_RE.search(text) or ABBREVIATION_RE.search(text) or PLACE_RE.search(text))


def is_place_only(text: str) -> bool:
    """True when a field is nothing but places ("Edinburgh/Cambridge, UK", "Cedar Rapid, IA")."""
    bare = PARENS_RE.sub("", text).strip()
    if CITY_STATE_RE.match(bare):
        return True
    rest = PLACE_FILLER_RE.sub("", ABBREVIATION_RE.sub("", PLACE_RE.sub("", STATE_RE.sub("", bare))))
    return is_place(bare) and not rest


def remote_flag(line: str) -> bool | None:
    """True when the line offers remote work, False when it says onsite, hybrid or "no remote", else None.

    Remote work named only in brackets after ONSITE or HYBRID ("Onsite (2 days remote OK)") qualifies them: False.
    """
    offered = NO_REMOTE_RE.sub("", line)
    outside = PARENS_RE.sub(" ", offered)
    onsite_outside = ONSITE_RE.search(outside) or HYBRID_RE.search(outside)
    if REMOTE_RE.search(outside) or (REMOTE_RE.search(offered) and not onsite_outside):
        return True
    if NO_REMOTE_RE.search(line) or ONSITE_RE.search(line) or HYBRID_RE.search(line):
        return False
    return None


def employment_type(line: str) -> str | None:
    """The employment types the line names, in a fixed order ("Full-time, Contract"), or None."""
    found = [name for name, pattern in EMPLOYMENT_TERMS if pattern.search(URL_RE.sub("", line))]
    return ", ".join(found) or None
