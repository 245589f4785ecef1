"""Checking the values of a TOML table: the helpers every configuration file is read with.

A table is declared once, as a dict of its keys to :class:`Key` (type, default, what is expected, an optional
check); :func:`read_table` rejects unknown keys, checks each value's type and check, and fills in the defaults.
:func:`typed` and :func:`reject_unknown` check one value or one table's key names, for the rules a declaration
does not cover. Every failure is a :class:`ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from jobtrend.config.errors import ConfigError


class _Required:
    """The default of a :class:`Key` that must be given: without it, the key's ``expected`` is the error."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
              dict: "a table"}


class Key(NamedTuple):
    """One key of a table: its type (or types), its default (:data:`REQUIRED`: none, the key must be given),
    what is expected of its value (said when the check fails, or when a required key is missing), and a check
    the value must pass (a predicate; only given values are checked, the defaults are valid)."""

    kind: type | tuple[type, ...]
    default: Any
    expected: str = ""
    check: Callable[[Any], Any] | None = None


Table = dict[str, Key]


def typed(path: Path, table: dict, key: str, kind: type | tuple, default: Any, prefix: str) -> Any:
    """Return ``table[key]`` checked against ``kind``, or ``default`` when absent."""
    if key not in table:
        return default
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int subclass: never accept it where a number is expected.
    if isinstance(value, bool) and bool not in kinds:
        raise ConfigError(path, prefix + key, type_names(kinds), value)
    if not isinstance(value, kinds):
        raise ConfigError(path, prefix + key, type_names(kinds), value)
    return value


def type_names(kinds: tuple[type, ...]) -> str:
    """What a value of one of ``kinds`` is called in an error message: "an integer or a number"."""
    return " or ".join(TYPE_NAMES.get(k, k.__name__) for k in kinds)


def reject_unknown(path: Path, table: dict, allowed: Iterable[str], prefix: str) -> None:
    """Fail on the first key of ``table`` not in ``allowed``, listing the allowed keys."""
    allowed = set(allowed)
    for key in table:
        if key not in allowed:
            raise ConfigError(path, prefix + key, "one of " + ", ".join(sorted(allowed)), "unknown key")


def sub_table(path: Path, data: dict, name: str, prefix: str = "") -> dict:
    """The table ``name`` of ``data`` (a key that is not a table is an error), or an empty one when absent."""
    return typed(path, data, name, dict, {}, prefix)


def array_of_tables(path: Path, data: dict, name: str, expected: str) -> Iterator[tuple[str, dict]]:
    """The ``[[name]]`` tables of a file that holds nothing else, each with its key prefix (``name[i].``), in
    order (``expected``: what an item that is not a table should be)."""
    reject_unknown(path, data, {name}, "")
    for i, entry in enumerate(typed(path, data, name, list, [], "")):
        if not isinstance(entry, dict):
            raise ConfigError(path, f"{name}[{i}]", expected, entry)
        yield f"{name}[{i}].", entry


def read_fields(path: Path, table: dict, keys: Table, prefix: str) -> dict[str, Any]:
    """The value of each of ``keys`` in ``table``, checked, or its default; other keys of ``table`` are left
    to the caller (see :func:`read_table`)."""
    values = {}
    for key, spec in keys.items():
        if key not in table and spec.default is REQUIRED:
            raise ConfigError(path, prefix + key, spec.expected)
        values[key] = typed(path, table, key, spec.kind, spec.default, prefix)
        if key in table and spec.check is not None and not spec.check(values[key]):
            raise ConfigError(path, prefix + key, spec.expected, values[key])
    return values


def read_table(path: Path, table: dict, keys: Table, prefix: str, build: Callable[..., Any] = dict) -> Any:
    """Read the table declared by ``keys``: unknown keys refused, every value checked, defaults filled in;
    returns ``build(**values)``, a dict unless a settings class is given."""
    reject_unknown(path, table, keys, prefix)
    return build(**read_fields(path, table, keys, prefix))


def check_items(path: Path, values: list, key: str, prefix: str, check: Callable[[Any], Any], expected: str,
                shown: Callable[[Any], Any] = lambda value: value) -> None:
    """Fail on the first item of the list ``values`` that does not pass ``check``, as ``key[i]``
    (``shown``: what of the item the message shows)."""
    for i, value in enumerate(values):
        if not check(value):
            raise ConfigError(path, f"{prefix}{key}[{i}]", expected, shown(value))


def at_least(low: float) -> Callable[[float], bool]:
    """A check: the value is ``low`` or more."""
    return lambda value: value >= low


def between(low: float, high: float) -> Callable[[float], bool]:
    """A check: the value is ``low`` or more and ``high`` or less (a sane upper bound: a typo such as ``1e9``
    seconds is refused rather than crawled with)."""
    return lambda value: low <= value <= high


def more_than(low: float) -> Callable[[float], bool]:
    """A check: the value is more than ``low``."""
    return lambda value: value > low


def one_of(choices: Iterable[str]) -> Callable[[Any], bool]:
    """A check: the value is one of ``choices``."""
    choices = tuple(choices)
    return lambda value: value in choices


def nonblank(value: str) -> bool:
    """A check: a string with something besides white space."""
    return bool(value.strip())
