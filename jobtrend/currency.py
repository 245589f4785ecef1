"""The shipped, dated currency table: US dollars per unit of a currency, for USD-equivalent pay figures.

``jobtrend/data/currency_rates.toml`` holds one rate per ISO 4217 code, the date the rates are of and their
source: either US dollars per unit (``[usd_per_unit]``) or, as shipped, the IMF's published SDR value of each
currency (``[sdr_per_unit]``), from which US dollars per unit are derived. Nothing is fetched: the same database
gives the same figures on any machine, and every output that shows a USD figure prints
:attr:`CurrencyTable.date`. :attr:`CurrencyTable.digest` changes with any rate, so the pay extractor's version
(and with it every derived ``compensation`` row) follows a refreshed table.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

RATES_PATH = Path(__file__).resolve().parent / "data" / "currency_rates.toml"


class CurrencyTableError(ValueError):
    """The currency table cannot be read or is malformed; the message is one line."""


@dataclass(frozen=True)
class CurrencyTable:
    """USD per unit by currency code, with the date and source of the rates."""

    date: str
    source: str
    usd_per_unit: dict[str, float]

    @property
    def digest(self) -> str:
        """A short hash of the date and every rate."""
        canonical = json.dumps([self.date, sorted(self.usd_per_unit.items())])
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def to_usd(self, amount: float | None, currency: str | None) -> float | None:
        """``amount`` in US dollars, rounded to the dollar; None when either is unknown."""
        rate = self.usd_per_unit.get(currency or "")
        if amount is None or rate is None:
            return None
        return round(amount * rate)


def load_rates(path: Path = RATES_PATH) -> CurrencyTable:
    """Read and check the table at ``path``; :class:`CurrencyTableError` when it is unreadable or malformed."""
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CurrencyTableError(f"{path}: cannot read the currency table: {exc}") from None
    date, source = raw.get("date"), raw.get("source")
    tables = [name for name in ("usd_per_unit", "sdr_per_unit") if name in raw]
    if not isinstance(date, str) or not isinstance(source, str) or len(tables) != 1 \
            or not isinstance(raw[tables[0]], dict):
        raise CurrencyTableError(f"{path}: needs a date, a source and one [usd_per_unit] or [sdr_per_unit] table")
    name, rates = tables[0], raw[tables[0]]
    bad = [code for code, rate in rates.items()
           if len(code) != 3 or not code.isupper() or isinstance(rate, bool) or not isinstance(rate, int | float)
           or rate <= 0]
    if bad:
        raise CurrencyTableError(f"{path}: [{name}] {bad[0]} is not a 3-letter code with a positive rate")
    if name == "sdr_per_unit":  # the IMF's published values: USD per unit = SDR per unit / SDR per US dollar
        if "USD" not in rates:
            raise CurrencyTableError(f"{path}: [sdr_per_unit] needs USD to convert the others to US dollars")
        rates = {code: rate / rates["USD"] for code, rate in rates.items()}
    return CurrencyTable(date=date, source=source, usd_per_unit={k: float(v) for k, v in rates.items()})


@lru_cache(maxsize=1)
def shipped_rates() -> CurrencyTable:
    """The table shipped with jobtrend (read once)."""
    return load_rates()
