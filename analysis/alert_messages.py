"""The notifications of one alerts run: source failures as one digest, and a cap with a summary of the rest.

One network outage makes every source fail at once; a message per source would bury the one line that matters
("is the network up?"). So :func:`plan_notifications` turns the new alerts of a run into messages:

1. every new ``source_health`` alert goes into **one digest** (a single one is sent as it is): the sources grouped
   by the code of their last error, each group with its plain words (``DNS lookup failed``), the sources listed
   compactly by kind (hosts, when the failure is a network one and the hosts are known), each list capped;
2. the other alerts, one message each, in the order they fired;
3. at most ``max_messages`` messages in all: when there are more, the last one is a **summary** of the rest
   ("37 more alerts: see jobtrend alerts --list").

Each alert is still stored on its own (``alerts`` table); only the messages are grouped. A digest's and a
summary's dedupe key is derived from the alerts they cover, so a run killed after queueing and run again
queues nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jobtrend.health import FAILURE_STATES, explain_error
from jobtrend.reasons import error_code, is_network_error

if TYPE_CHECKING:
    from analysis.alerts import FiredAlert

LIST_IN_TITLE = 3  # sources (or hosts) named in a digest's subject line
LIST_IN_BODY = 20  # sources named per kind in a digest's body
SUMMARY_TITLES = 50  # alert titles listed in a summary's body
LIST_COMMAND = "jobtrend alerts --list"


@dataclass(frozen=True)
class Notification:
    """One message to queue for every recipient."""

    subject: str
    body: str
    dedupe_key: str
    payload: dict[str, Any]
    alerts: int = 1  # how many alerts it tells of


def plan_notifications(alerts: Sequence[FiredAlert], *, max_messages: int,
                       hosts: Mapping[str, str] | None = None) -> list[Notification]:
    """The messages for the new ``alerts`` of one run (see the module docstring). ``hosts``: source kind -> the
    host its boards are read from (``ashby`` -> ``api.ashbyhq.com``), named when a network failure is grouped."""
    new = [alert for alert in alerts if alert.new]
    health = [alert for alert in new if alert.details.get("kind") == "source_health"]
    messages = [digest(health, hosts or {})] if len(health) > 1 else [single(alert) for alert in health]
    messages += [single(alert) for alert in new if alert.details.get("kind") != "source_health"]
    if len(messages) <= max_messages:
        return messages
    kept, rest = messages[:max_messages - 1], messages[max_messages - 1:]
    return [*kept, summary(rest)]


def single(alert: FiredAlert) -> Notification:
    """The message of one alert: its title, body and JSON."""
    return Notification(alert.title, alert.body, alert.dedupe_key, alert.as_json())


# --- the digest of failing sources ------------------------------------------------------------------------------


def digest(alerts: Sequence[FiredAlert], hosts: Mapping[str, str]) -> Notification:
    """One message for many ``source_health`` alerts, grouped by the code of the source's last error."""
    groups = _groups(alerts)
    subject = _digest_subject(alerts, groups, hosts)
    lines = [subject, ""]
    for code, members in groups:
        lines.append(f"{_reason(code)}: {_count(len(members), 'source')}{_hint(code, members)}")
        lines += [f"  {line}" for line in _by_kind(members)]
        lines.append("")
    lines += [f"Each source's alert: `{LIST_COMMAND}`; every source's health and last error: `jobtrend sources`.",
              "A source counts as broken after its rule's min_failures failed crawls in a row (config/alerts.toml)."]
    rules = sorted({alert.rule for alert in alerts})
    lines.append(f"Rule: {', '.join(rules)} (source_health, config/alerts.toml)")
    payload = {"kind": "source_health_digest", "title": subject, "sources": len(alerts),
               "groups": [{"reason": code, "words": explain_error(code), "subjects": [a.subject for a in members]}
                          for code, members in groups],
               "alerts": [alert.as_json() for alert in alerts]}
    return Notification(subject, "\n".join(lines), _key("alert-digest:source_health", alerts), payload, len(alerts))


def _groups(alerts: Sequence[FiredAlert]) -> list[tuple[str, list[FiredAlert]]]:
    """(error code, its alerts), the largest group first; a source without an error is grouped by its health."""
    groups: dict[str, list[FiredAlert]] = {}
    for alert in alerts:
        code = error_code(alert.details.get("last_error")) or alert.details.get("health", "")
        groups.setdefault(code, []).append(alert)
    return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))


def _digest_subject(alerts: Sequence[FiredAlert], groups: list, hosts: Mapping[str, str]) -> str:
    """``56 sources failing: DNS lookup failed for api.ashbyhq.com, boards-api.greenhouse.io - is the network
    up?``: the largest group, named compactly, and how many sources the others hold."""
    failing = all(alert.details.get("health") in FAILURE_STATES for alert in alerts)
    code, members = groups[0]
    names = _hosts(members, hosts) if is_network_error(code) else []
    names = names or [alert.subject for alert in members]
    listed = ", ".join(names[:LIST_IN_TITLE]) + (f" and {len(names) - LIST_IN_TITLE} more"
                                                  if len(names) > LIST_IN_TITLE else "")
    others = len(alerts) - len(members)
    tail = f"; {others} for other reasons" if others else ""
    return (f"{len(alerts)} sources {'failing' if failing else 'broken'}: {explain_error(code)} for {listed}"
            f"{tail}{_hint(code, members)}")


def _reason(code: str) -> str:
    words = explain_error(code)
    return words if words == code else f"{words} ({code})"


def _hint(code: str, members: Sequence[FiredAlert]) -> str:
    return " - is the network up?" if is_network_error(code) and len(members) > 1 else ""


def _hosts(alerts: Sequence[FiredAlert], hosts: Mapping[str, str]) -> list[str]:
    """The hosts the sources are read from, most sources first ([] when one of them is unknown)."""
    counts: dict[str, int] = {}
    for alert in alerts:
        host = _host(alert.subject, hosts)
        if not host:
            return []
        counts[host] = counts.get(host, 0) + 1
    return sorted(counts, key=lambda host: (-counts[host], host))


def _host(subject: str, hosts: Mapping[str, str]) -> str | None:
    kind, _, key = subject.partition(":")
    if key.startswith(("http://", "https://")):  # a career site: its key is its URL
        return urlsplit(key).hostname
    return hosts.get(kind)


def _by_kind(alerts: Sequence[FiredAlert]) -> list[str]:
    """``ashby (40): openai, anthropic, ... and 20 more``, one line per source kind."""
    kinds: dict[str, list[str]] = {}
    for alert in alerts:
        kind, _, key = alert.subject.partition(":")
        kinds.setdefault(kind, []).append(key)
    lines = []
    for kind, keys in sorted(kinds.items()):
        shown = ", ".join(keys[:LIST_IN_BODY])
        more = f" and {len(keys) - LIST_IN_BODY} more" if len(keys) > LIST_IN_BODY else ""
        lines.append(f"{kind} ({len(keys)}): {shown}{more}")
    return lines


# --- the summary past the cap -----------------------------------------------------------------------------------


def summary(messages: Sequence[Notification]) -> Notification:
    """One message standing for ``messages``, which the cap leaves out."""
    count = sum(message.alerts for message in messages)
    subject = f"{_count(count, 'more alert')}: see {LIST_COMMAND}"
    titles = [message.subject for message in messages]
    lines = [subject, "", f"This run fired more alerts than alerts.toml's max_messages lets it send; the "
             f"{_count(count, 'alert')} below are stored but not sent one by one.", ""]
    lines += [f"- {title}" for title in titles[:SUMMARY_TITLES]]
    if len(titles) > SUMMARY_TITLES:
        lines.append(f"- ... and {len(titles) - SUMMARY_TITLES} more")
    lines += ["", f"Every alert, newest first: `{LIST_COMMAND}`."]
    keys = sorted(message.dedupe_key for message in messages)
    payload = {"kind": "summary", "title": subject, "alerts": count, "titles": titles}
    return Notification(subject, "\n".join(lines), "alert-summary:" + _digest(keys), payload, count)


def _key(prefix: str, alerts: Sequence[FiredAlert]) -> str:
    return f"{prefix}:{_digest(sorted(alert.dedupe_key for alert in alerts))}"


def _digest(keys: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()[:32]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
