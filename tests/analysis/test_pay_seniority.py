"""Seniority from the title (analysis/seniority.py), by the rules of docs/labelling-pay.md."""

from __future__ import annotations

import pytest

from analysis.seniority import seniority


@pytest.mark.parametrize(("title", "level"), [
    ("AI/ML Research Internship", "intern"), ("Praktikum im Start-up", "intern"),
    ("Starte dein Abenteuer: Duales Studium Outdoor Studies", "intern"),
    ("CTO", "executive"), ("VP of Engineering", "executive"), ("Chief Scientist", "executive"),
    ("Senior Executive Assistant to the CEO", "senior"), ("Enterprise Account Executive", "mid"),
    ("Head of Marketing", "director"), ("Senior Director of Product", "director"), ("Medical Director", "director"),
    ("Engineering Manager, Navigation SDK", "manager"), ("Manager, Strategic Partnerships", "manager"),
    ("Senior Sales Manager - Gaming Partnerships", "manager"), ("Product Support Manager", "manager"),
    ("Principal Product Manager", "principal"), ("Principle Product Manager", "principal"),
    ("Senior Account Manager", "senior"), ("Product Manager", "mid"), ("Technical Customer Success Manager", "mid"),
    ("Senior Staff Product Marketing Manager, EMEA", "staff"), ("Staff Research Engineer", "staff"),
    ("Member of Technical Staff, MLE", "mid"), ("Engineer IV", "staff"),
    ("Senior Software Engineer II", "senior"), ("Android Engineer III", "senior"), ("Tech Lead - Applied ML", "senior"),
    ("Lead Product Designer", "senior"), ("Sr. Localization Program Manager", "senior"),
    ("Associate 3D Artist", "junior"), ("Apprentice Carpenter", "junior"), ("Junior Data Analyst", "junior"),
    ("Software Engineer I", "junior"), ("Software Engineer II", "mid"), ("Founding Engineer", "mid"),
    ("Senior/Staff Robotics Engineer", "senior"), ("Staff/Senior Security Engineer", "staff"),
    ("Mid-Level & Senior Software Engineers", "mid"), ("Senior/Lead Data Engineer", "senior"),
    ("Founding Research Scientist + Founding Engineering Lead", "mid"),
    ("General Inquiry", None), ("", None),
])
def test_title_rules(title, level):
    assert seniority(title) == level


@pytest.mark.parametrize(("title", "level"), [
    ("Freetrade | London, Budapest (ONSITE) | Full-time | | £75k-£140k", None),
    ("Redpanda Data | REMOTE | Full-time", None),
    ("Baton | Senior/Staff Software Engineer - ML / Senior Manager, Technical Support", "senior"),
    ("Impinj | Hybrid in Seattle, WA | Intern (Summer 2026)", "intern"),
    ("Civic Roundtable | Growth Marketer | Full-time | Remote (US)", "mid"),
    ("NYC ONSITE", None), ("COMPANY: Wildkind", None), ("Location: Rawalpindi, Pakistan", None),
    ("I'm a full-stack developer with 3 years of experience building web apps", None),
    ("is revolutionizing life for hourly workers with shift schedules", None),
    ("Bild AI (YC W25) Is Hiring Interns to Make Housing Affordable", "intern"),
    ("Senior Engineer (3+ YoE)", "senior"),
])
def test_hacker_news_first_lines(title, level):
    assert seniority(title, "hn") == level
