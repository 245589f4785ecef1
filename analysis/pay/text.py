"""Pay ranges written in a posting's text or a Hacker News first line.

An amount is a number with a currency (``$150k``, ``CA$140,000``, ``€70.000``, ``556€``, ``EUR 70``, ``200,000
USD``, ``P100K`` in a peso posting), or a bare number that shares a range with one (``180-220K USD``, ``EUR
70-90k``). Two amounts joined by a dash, "to" or "and" are a range; "up to X" has no minimum; "from X",
"starts at X" and "X+" no maximum. A k written once applies to both ends (``$125-200k``). A single amount counts
only next to a pay word (salary, base, compensation, pay, OTE, rate) or an interval (``/hr``, "a year").

What is read around each candidate decides the rest:

- refused as **not pay** (counted by kind): funding ("raised", "Series B", "investors"), valuation, revenue and
  ARR, market sizes, volumes ("in freight", "under management"), 401k matches, stipends, budgets and allowances,
  prizes, and figures in millions or billions;
- the **interval**: written after the figures ("/hr", "per month", "annually", "a year") or before ("hourly
  rate", "monthly salary"), else from the size: below 300 an hour, below 20,000 a month, else a year;
- the **component**: on-target earnings ("OTE", "earning potential") ``ote``; a figure said to include equity
  ("total comp", "includes salary + equity") ``total``; per hour ``hourly``; else ``base``;
- the **currency**: the symbol or code written (``$`` alone is USD, as docs/labelling-pay.md says), else the
  posting's location (London GBP, Berlin EUR, Toronto CAD, ...), else USD.

Ranges of numbers without any currency or k ("4-6 years", "5-10 engineers", "10-12 hours") are never read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.pay.ranges import PER_YEAR, Pay, Refusal

SYMBOLS = {"US$": "USD", "CA$": "CAD", "C$": "CAD", "A$": "AUD", "AU$": "AUD", "NZ$": "NZD", "S$": "SGD",
           "R$": "BRL", "HK$": "HKD", "MX$": "MXN", "$": "USD", "£": "GBP", "€": "EUR", "₹": "INR", "₱": "PHP",
           "¥": "JPY", "₩": "KRW", "₪": "ILS", "zł": "PLN"}
CODES = ("USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SGD", "INR", "PHP", "BRL", "MXN", "PLN", "SEK", "NOK", "DKK",
         "CZK", "HUF", "RON", "JPY", "CNY", "HKD", "ILS", "AED", "ZAR", "TRY", "ARS", "CLP", "COP", "UAH", "NGN", "KES",
         "EGP", "PKR", "IDR", "MYR", "THB", "VND", "KRW", "TWD")
_SYMBOL = "|".join(re.escape(s) for s in sorted(SYMBOLS, key=len, reverse=True))
_CODE = "|".join(CODES)
NUMBER = r"\d{1,3}(?:[,.\u00a0\u202f']\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d+)?"
AMOUNT = re.compile(
    rf"(?P<pre>(?:(?<![A-Za-z])(?:{_CODE})\s?(?:{_SYMBOL})?\s?)|(?:{_SYMBOL})\s?|(?<![A-Za-z0-9])P(?=\d))?"
    rf"(?P<num>{NUMBER})"
    rf"(?P<mult>\s?[kK](?![a-zA-Z])|\s?(?:L(?:PA)?|lakhs?)(?![a-zA-Z])|\s?(?:[mM]{{1,2}}|mn|million|[bB]n?|billion|[tT]|trillion)(?![a-zA-Z]))?"
    rf"(?P<post>\s?(?:{_SYMBOL})|\s?(?:{_CODE})(?![A-Za-z]))?")
SEPARATOR = re.compile(r"\s*(?:-|–|—|−|~|to|and|bis|through)\s*$", re.I)
# a lone figure opening a segment of a "Company | Role | Place | $200K USD+" first line is that job's pay
PLUS_EQUITY = re.compile(r"^\s*(?:[A-Z]{3})?\s*\+\s*(?:offers |meaningful |significant |strong )?equity", re.I)
HEADER_SEGMENT = re.compile(r"\|\s*(?:up to|from|~)?\s*$", re.I)
MIN_LONE_ANNUAL = 15_000  # a lone figure with only an interval ("$500/month") must reach this in a year
NOTE = re.compile(r"[\[(][^\])\n]{0,120}[\])]")
MAX_GAP = 6  # characters between two amounts of one range ("$150k - $200k", "$190,000 USD and $258,000")

PAY_WORDS = re.compile(
    r"salary|salaries|\bbase\b|compensation|\bcomp\b|\bpay\b|\bpaid\b|\bOTE\b|on-target|earning|\bwage|\brate\b|"
    r"\bTC\b|remuneration|\bgehalt|\bsueldo|\bsalaire|\bsalario|\brange\b|/\s?(?:yr|year|hr|hour|month|mo)\b|"
    r"per (?:year|annum|hour|month)|annually|\bp\.?a\.?(?![a-z])", re.I)
PAY_NOUN = re.compile(r"salary|compensation|\bbase\b|\bOTE\b|\bpay\b|\bwage", re.I)  # after a lone figure
NOT_PAY = (
    ("funding", re.compile(r"\brais(?:e|ed|ing)\b|\bseries [a-f]\b|\bseed\b|\bfunding\b|\bfunded\b|\binvest|"
                           r"\bcapital\b|\bbacked\b|\bround\b|\bventure\b", re.I)),
    ("valuation", re.compile(r"valuation|\bvalued\b|-valued", re.I)),
    ("revenue", re.compile(r"revenue|\bARR\b|\bMRR\b|\bGMV\b|\bGSV\b|\bbookings\b|run[- ]rate|profit|\bsales\b(?! "
                           r"(?:role|team|rep))", re.I)),
    ("market size", re.compile(r"\bmarket (?:size|cap|opportunity)|\bindustry\b|\bTAM\b|opportunity", re.I)),
    ("volume", re.compile(r"under management|\bAUM\b|in freight|traded|processed|transactions|\bloans?\b|"
                          r"\bassets\b|\bsaved\b|\bsavings\b|\bspend\b|\bin (?:claims|payments|volume)", re.I)),
    ("401k", re.compile(r"401\s?\(?k\)?|\bmatch", re.I)),
    ("benefit", re.compile(r"stipend|budget|allowance|credit|reimburs|per diem|wellness|learning|commuter|cash[- ]out|"
                           r"\bgym\b|home office|equipment|\bworth\b|valued at|\bperk|insurance|\bcover", re.I)),
    ("prize", re.compile(r"\bprize|\bbounty|\baward|\bgets\b|\bwin\b|referral", re.I)),
)
INTERVAL_AFTER = (
    ("hour", re.compile(r"^[\s,(]{0,3}(?:/\s?h(?:ou)?r\b|per hour|an hour|hourly|/h\b|ph\b|p/h)", re.I)),
    ("day", re.compile(r"^[\s,(]{0,3}(?:/\s?day\b|per day|a day|daily)", re.I)),
    ("week", re.compile(r"^[\s,(]{0,3}(?:/\s?(?:wk|week)\b|per week|a week|weekly)", re.I)),
    ("month", re.compile(r"^[\s,(]{0,3}(?:/\s?(?:mo|month)\b|per month|a month|monthly|pm\b|p/m)", re.I)),
    ("year", re.compile(r"^[\s,(]{0,3}(?:/\s?(?:yr|year|annum|y)\b|per (?:year|annum)|a year|annual|yearly|p\.?a\b)",
                        re.I)),
)
INTERVAL_BEFORE = (("hour", re.compile(r"hourly|per hour", re.I)), ("month", re.compile(r"monthly|per month", re.I)),
                   ("year", re.compile(r"annual|yearly|per year", re.I)))
OTE = re.compile(r"\bOTE\b|on[- ]target|earning potential|\bwith commission", re.I)
TOTAL = re.compile(r"total comp|total compensation|total cash|\bTC\b", re.I)
INCLUDES_EQUITY = re.compile(r"(?:range|figure|amount)s? (?:above )?includes? (?:both )?(?:salary|base|cash)? ?"
                             r"(?:\+|and|plus|,)? ?equity|includes? (?:salary|base) (?:\+|and|plus) equity|"
                             r"base (?:\+|plus|and) equity", re.I)
BASE = re.compile(r"\bbase\b", re.I)
UP_TO = re.compile(r"(?:up to|upto|max(?:imum)?|as much as|≤)\s*$", re.I)
FROM = re.compile(r"(?:from|starts? at|starting at|minimum of|at least|≥)\s*$", re.I)
NOT_MONEY_AFTER = re.compile(r"^\s*\+?\s*(?:years?|yrs?|y/o/e|yoe|hours?|hrs|people|engineers|employees|"
                             r"minutes|days|weeks|months|users|customers|members|countries)\b", re.I)
LOCATION_CURRENCIES = (
    ("GBP", re.compile(r"\bUK\b|United Kingdom|London|England|Scotland|Manchester|Edinburgh|Cambridge, UK", re.I)),
    ("EUR", re.compile(r"German|Berlin|Munich|München|Hamburg|France|Paris|Netherlands|Amsterdam|Spain|Madrid|"
                       r"Barcelona|Ireland|Dublin|Ital|Milan|Portugal|Lisbon|Austria|Vienna|Belgi|Finland|Helsinki|"
                       r"Estonia|Tallinn|Greece|Athens", re.I)),
    ("CAD", re.compile(r"Canada|Toronto|Vancouver|Montreal|Montréal|Ottawa|Calgary|Waterloo", re.I)),
    ("AUD", re.compile(r"Australia|Sydney|Melbourne|Brisbane", re.I)),
    ("CHF", re.compile(r"Switzerland|Zurich|Zürich|Geneva|Lausanne", re.I)),
    ("INR", re.compile(r"India|Bangalore|Bengaluru|Hyderabad|Pune|Mumbai|Delhi", re.I)),
)
LAKH = re.compile(r"L(?:PA)?|lakhs?")
MILLIONS = re.compile(r"[mM]{1,2}|mn|million|[bB]n?|billion|[tT]|trillion")
LINE_BREAK = re.compile(r"[\n•|]")


@dataclass(frozen=True)
class Amount:
    """One number as written, with what was written around it."""

    start: int
    end: int
    value: float
    currency: str | None
    thousands: bool  # a k was written
    millions: bool  # m, bn, million, ... was written


@dataclass
class TextResult:
    """The ranges found in one text and the candidates refused, with their reasons."""

    ranges: list[Pay]
    refused: list[Refusal]


def read_text(text: str, location: str | None = None) -> TextResult:
    """Every pay range stated in ``text`` (a posting's description, a first line, a structured free-text field),
    in reading order, and every candidate refused (see the module docstring)."""
    amounts = [a for a in (_amount(m, text) for m in AMOUNT.finditer(text or "")) if a is not None]
    ranges: list[Pay] = []
    refused: list[Refusal] = []
    at = 0
    while at < len(amounts):
        first = amounts[at]
        second = amounts[at + 1] if at + 1 < len(amounts) else None
        if second is not None and _joined(text, first, second):
            candidate = (first, second)
            at += 2
        else:
            candidate = (first,)
            at += 1
        outcome = _judge(text, candidate, location)
        if isinstance(outcome, Pay):
            ranges.append(outcome)
        elif isinstance(outcome, Refusal):
            refused.append(outcome)
    return TextResult(ranges=ranges, refused=refused)


def _amount(match: re.Match, text: str) -> Amount | None:
    number = match.group("num")
    value = _parse_number(number)
    if value is None:
        return None
    pre, post, mult = (match.group(g) or "" for g in ("pre", "post", "mult"))
    mult = mult.strip()
    if number == "401" and mult.lower() == "k" and not pre:
        return None  # a 401(k) plan
    currency = _currency(post.strip()) if post.strip() in CODES else _currency(pre.strip()) or _currency(post.strip())
    if mult.lower() == "k":
        value *= 1000
    elif LAKH.fullmatch(mult):
        value *= 100_000  # Indian lakh: "₹40L"
    start = match.start() if not pre else match.start("pre")
    return Amount(start=start, end=match.end(), value=value, currency=currency, thousands=mult.lower() == "k",
                  millions=bool(mult) and bool(MILLIONS.fullmatch(mult)))


def _parse_number(number: str) -> float | None:
    """"150,000" 150000, "70.000" 70000, "39.3" 39.3, "1,5" 1.5; None when unreadable."""
    groups = re.split(r"[,.\u00a0\u202f']", number)
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]):
        return float("".join(groups))
    if len(groups) > 2 and all(len(g) == 3 for g in groups[1:-1]):  # "150,000.00"
        return float("".join(groups[:-1]) + "." + groups[-1])
    try:
        return float(number.replace(",", "."))
    except ValueError:
        return None


def _currency(written: str) -> str | None:
    if not written:
        return None
    if written == "P":
        return "PHP"
    code = re.match(rf"(?:{_CODE})", written)
    if code:
        return code.group(0)
    return SYMBOLS.get(written)


def _joined(text: str, first: Amount, second: Amount) -> bool:
    """Whether two amounts are the ends of one range: a dash, "to" or "and" between them, once a bracketed note
    is left out ("$131,500 CAD [minimum salary in our lowest market] to $174,500 CAD")."""
    gap = text[first.end:second.start]
    if "\n" in gap:
        return False
    gap = NOTE.sub("", gap)
    return len(gap) <= MAX_GAP + 3 and bool(SEPARATOR.search(gap))


def _judge(text: str, amounts: tuple[Amount, ...], location: str | None) -> Pay | Refusal | None:
    """The range ``amounts`` state, a refusal with its reason, or None when they are no money at all."""
    start, end = amounts[0].start, amounts[-1].end
    evidence = text[start:end]
    currency = next((a.currency for a in reversed(amounts) if a.currency), None)
    currency = _trailing_code(text, end) or currency
    thousands = any(a.thousands for a in amounts)
    before, after = _before(text, start), _after(text, end)
    if currency is None and not (thousands and PAY_WORDS.search(before + " " + after[:30])):
        return None  # a bare number: a year, a count, a version
    if NOT_MONEY_AFTER.search(after):
        return Refusal("not money: a count", evidence)
    if any(a.millions for a in amounts):
        return Refusal(f"not pay: {_not_pay_kind(before, after, pay_first=False) or 'millions'}", evidence)
    single = len(amounts) == 1
    kind = _not_pay_kind(before, after, pay_first=not single)
    if kind:
        return Refusal(f"not pay: {kind}", evidence)
    values = _values(amounts)
    interval = _interval(before, after, max(v for v in values if v is not None))
    if single and not (_pay_word_before(before) is not None or PAY_NOUN.search(after[:20]) or PLUS_EQUITY.search(after)
                       or HEADER_SEGMENT.search(before)
                       or _written_interval(after) and values[0] * PER_YEAR[interval] >= MIN_LONE_ANNUAL):
        return Refusal("not pay: a lone figure", evidence) if currency else None
    low, high = values
    if single:
        low, high = _bounds(before, after, values[0])
    component = _component(before, after, text[end:end + 200], interval)
    return Pay(component=component, minimum=low, maximum=high, currency=currency or _local_currency(location),
               interval=interval, source="text", evidence=evidence.strip())


def _values(amounts: tuple[Amount, ...]) -> tuple[float, float]:
    """The two ends, a k written on one end applied to the other when it is below 1,000."""
    low, high = amounts[0].value, amounts[-1].value
    if len(amounts) == 2:
        if 0 < low < 1000 <= high and (amounts[1].thousands and not amounts[0].thousands or high / low > 100):
            low *= 1000  # "$125-200k"; "$168,00 -$210,000" (a comma typed for a thousands separator)
        if amounts[0].thousands and not amounts[1].thousands and high < 1000 <= low:
            high *= 1000
    return low, high


def _bounds(before: str, after: str, value: float) -> tuple[float | None, float | None]:
    if UP_TO.search(before):
        return None, value
    if FROM.search(before) or after.startswith("+"):
        return value, None
    return value, value


def _before(text: str, start: int) -> str:
    """The text of the same line before ``start``, at most 120 characters."""
    line_start = max(text.rfind("\n", 0, start) + 1, start - 120)
    return text[line_start:start]


def _after(text: str, end: int) -> str:
    """The text after ``end`` up to the end of the line, at most 120 characters."""
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return text[end:min(line_end, end + 120)]


def _trailing_code(text: str, end: int) -> str | None:
    match = re.match(rf"\s?(?:{_CODE})(?![A-Za-z])", text[end:end + 5])
    return match.group(0).strip() if match else None


def _pay_word_before(before: str) -> int | None:
    """Where the last pay word of the sentence before an amount ends, or None."""
    sentence = re.split(r"[.;!?]\s", before)[-1][-60:]
    found = [m.end() for m in PAY_WORDS.finditer(sentence)]
    return (len(before) - len(sentence) + found[-1]) if found else None


def _not_pay_kind(before: str, after: str, *, pay_first: bool) -> str | None:
    """The kind of non-pay figure the words right around an amount say it is, or None. A non-pay word before
    counts unless a pay word stands between it and the amount; one right after counts unless ``pay_first`` (a
    range) and a pay word precedes ("Salary $150k-$200k + 401k match")."""
    sentence = re.split(r"[.;!?]\s", before)[-1][-60:]
    offset = len(before) - len(sentence)
    pay_at = _pay_word_before(before)
    for kind, pattern in NOT_PAY:
        if pattern.search(after[:25]) and not (pay_first and pay_at is not None):
            return kind
        hits = [offset + m.end() for m in pattern.finditer(sentence)]
        if hits and (pay_at is None or hits[-1] > pay_at):
            return kind
    return None


def _written_interval(after: str) -> str | None:
    tail = re.sub(r"^\s*(?:USD|EUR|GBP|CAD|AUD|CHF)\b", "", after)
    for interval, pattern in INTERVAL_AFTER:
        if pattern.search(tail):
            return interval
    return None


def _interval(before: str, after: str, largest: float) -> str:
    written = _written_interval(after)
    if written:
        return written
    said = [(m.end(), interval) for interval, pattern in INTERVAL_BEFORE for m in pattern.finditer(before[-60:])]
    if said:
        return max(said)[1]  # the closest to the figures ("hourly rate equivalent to an annualized range of")
    if largest < 300:
        return "hour"
    if largest < 20_000:
        return "month"
    return "year"


def _component(before: str, after: str, following: str, interval: str) -> str:
    """``following``: the 200 characters after the range, across lines ("The above range includes equity")."""
    near = before[-80:] + " " + after[:80]
    if interval == "hour":
        return "hourly"
    if BASE.search(before[-40:]) or BASE.search(after[:15]):
        return "base"
    if OTE.search(near):
        return "ote"
    if TOTAL.search(before[-50:]) or TOTAL.search(after[:30]) or INCLUDES_EQUITY.search(following):
        return "total"
    return "base"


def _local_currency(location: str | None) -> str:
    for code, pattern in LOCATION_CURRENCIES:
        if location and pattern.search(location):
            return code
    return "USD"
