"""Currencies: the ISO 4217 codes a contract may bill in, and each one's minor unit.

The list and the minor units come from the `iso4217` package (the ISO 4217 maintenance agency's list, republished
with each amendment; its version names the list's date). A code the list gives no minor unit (gold XAU, the
testing code XTS, "no currency" XXX, the SDR XDR, ...) cannot be billed: money is rounded to a minor unit.
`outcomes.pricing.money.minor_unit` reads the same table, so validation and rounding never disagree.
"""

from __future__ import annotations

import functools


@functools.cache
def _exponents() -> dict[str, int | None]:
    from iso4217 import Currency  # parses the list (about 30 ms): only when a currency is checked

    return {c.code: c.exponent for c in Currency}


def list_date() -> str:
    """The publication date of the ISO 4217 list in use."""
    import iso4217

    return iso4217.__published__.date().isoformat()


def minor_unit(code: str) -> int | None:
    """Decimal places of the currency's minor unit (JPY 0, USD 2, KWD 3); None for a code that is not an
    ISO 4217 currency, or that has no minor unit."""
    return _exponents().get(code)


def problem(code: str) -> str | None:
    """Why `code` cannot be a contract's currency, or None when it can."""
    exponents = _exponents()
    if code not in exponents:
        return f"{code!r} is not an ISO 4217 currency code"
    if exponents[code] is None:
        return (
            f"{code!r} is an ISO 4217 code without a minor unit (a metal, a fund or a test code): money in it "
            "cannot be rounded"
        )
    return None
