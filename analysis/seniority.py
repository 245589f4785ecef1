"""Seniority read from a posting's title, by the rules of docs/labelling-pay.md ("Seniority from the title").

Levels: ``intern``, ``junior``, ``mid``, ``senior``, ``staff``, ``principal``, ``manager``, ``director``,
``executive``, or None when the title names no role (an HN first line with only company, place and terms; a
sentence; a job seeker's post). The first rule that matches wins:

1. no role in the title: None;
2. intern, internship, Praktikum, working student, Duales Studium, co-op: intern;
3. VP, Vice President, Chief ..., CTO, CEO, ..., President: executive (not Executive Assistant, Account
   Executive, Business Development Executive);
4. Director, Head of: director;
5. Manager as the head noun: manager, except the individual-contributor titles (Product, Program, Project,
   Account, Partnerships, Customer Success, Implementation, Onboarding, Product Marketing Manager), which go on;
6-9. Principal/Distinguished/Fellow, then Staff/IV, then Senior/Sr/III/Lead, then Junior/Associate/Apprentice/
   Assistant/New Grad/Graduate/Entry level/I; two levels joined ("Senior/Staff", "Mid-Level & Senior") take the
   first one written;
10. anything else: mid.

A title listing several roles ("A / B", "A + B", HN's "Company | Role | Place") is read for its first role.
"""

from __future__ import annotations

import re

LEVELS = ("intern", "junior", "mid", "senior", "staff", "principal", "manager", "director", "executive")

NO_ROLE_START = re.compile(r"^(?:I'?m\b|I am\b|Location:|COMPANY:|[a-z])")
NO_ROLE_TITLES = re.compile(r"^(?:general inquiry|general application|multiple positions|two openings|"
                            r"open application|several positions)\b", re.I)
ROLE_NOUN = re.compile(
    r"engineer|developer|scientist|manager|designer|marketer|marketing|\blead|director|head of|intern|\bswes?\b|"
    r"\bsres?\b|writer|specialist|analyst|recruiter|sourcer|architect|accountant|representative|executive|"
    r"assistant|\bc[a-z]o\b|researcher|research|technician|operator|counsel|therapist|instructor|tutor|artist|"
    r"carpenter|controller|launcher|program|operations|development|devops|\bqa\b|\bml\b|\bai\b|founding|"
    r"staff|senior|\bsr\b|junior|principal|mid\b|praktikum|studium|roles?\b|openings?:|consultant|nurse|"
    r"physician|pharmacist|coordinator|administrator|associate|apprentice|officer|president|\bvp\b|hacker|"
    r"programmer|strateg|product|sales", re.I)

INTERN = re.compile(r"\bintern(?:s|ship)?\b|praktik|working student|werkstudent|duales studium|\bco-?op\b", re.I)
EXECUTIVE = re.compile(r"\bVP\b|vice president|\bchief\b|\bC[ETFOPIR]O\b|\bpresident\b", re.I)
NOT_EXECUTIVE = re.compile(r"executive assistant|account executive|business development executive", re.I)
DIRECTOR = re.compile(r"\bdirector\b|\bhead of\b", re.I)
MANAGER = re.compile(r"(\b[\w-]+\s+)?(\b[\w-]+\s+)?\bmanager\b", re.I)
IC_MANAGER_WORDS = {"product", "program", "project", "account", "partnerships", "partnership", "partner",
                    "success", "implementation", "onboarding", "happiness"}
MARKERS = (
    ("principal", r"\bprincip(?:al|le)\b|\bdistinguished\b|\bfellow\b"),
    ("staff", r"\bstaff\b(?<!technical staff)|\bIV\b"),
    ("senior", r"\bsenior\b|\bsr\b\.?|\bIII\b|\blead\b|\bleader\b"),
    ("junior", r"\bjunior\b|\bjr\b\.?|\bassociate\b|\bapprentice\b|\bassistant\b|\bnew grad|\bgraduate\b|"
               r"\bentry[- ]level\b|\bI\b"),
    ("mid", r"\bmid(?:-level)?\b|\bII\b"),
)
MARKER = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in MARKERS), re.I)
JOINED = re.compile(r"^\s*(?:/|&|and|or|,)\s*$", re.I)
SENTENCE_WORDS = 12  # an HN title longer than this without "|" is a sentence, not a role
ROLE_SPLIT = re.compile(r"\s+/\s+|\s+\+\s+|\s+•\s+")


def seniority(title: str | None, source_kind: str | None = None) -> str | None:
    """The seniority the title states (see the module docstring); ``source_kind`` "hn" reads the title as a
    Hacker News first line, where a title that names no role is common."""
    role = first_role(title or "", hn=source_kind == "hn")
    if role is None:
        return None
    if INTERN.search(role):
        return "intern"
    if EXECUTIVE.search(role) and not NOT_EXECUTIVE.search(role):
        return "executive"
    if DIRECTOR.search(role):
        return "director"
    if _people_manager(role):
        return "manager"
    return _level(role)


def first_role(title: str, *, hn: bool = False) -> str | None:
    """The part of ``title`` naming its first role, or None when it names none."""
    title = title.strip()
    if not title or NO_ROLE_START.search(title) or NO_ROLE_TITLES.search(title):
        return None
    if "|" in title:
        segments = [s.strip() for s in title.split("|")]
        title = next((s for s in segments[1:] if ROLE_NOUN.search(s)), "") or (
            segments[0] if len(segments) == 1 else "")
        if not title:
            return None
    elif hn and (not ROLE_NOUN.search(title) or (len(title.split()) > SENTENCE_WORDS
                                                    and ":" not in title)):
        return None
    return ROLE_SPLIT.split(title)[0]


def _people_manager(role: str) -> bool:
    for match in MANAGER.finditer(role):
        before = [w.strip().lower() for w in (match.group(1), match.group(2)) if w]
        if before[-2:] == ["product", "marketing"]:
            continue
        if not before or before[-1] not in IC_MANAGER_WORDS:
            return True
    return False


def _level(role: str) -> str:
    markers = list(MARKER.finditer(role))
    if not markers:
        return "mid"
    for first, second in zip(markers, markers[1:], strict=False):
        if JOINED.match(role[first.end():second.start()]):
            return _name(first)
    names = {_name(m) for m in markers}
    if "senior" in names and "staff" in names and re.search(r"senior\s+staff", role, re.I):
        return "staff"
    return next(level for level in ("principal", "staff", "senior", "junior", "mid") if level in names)


def _name(match: re.Match) -> str:
    return next(name for name, value in match.groupdict().items() if value is not None)
