"""Telephone numbers in the form AFIR's Annex asks for: "+CC" and the number, written as
E.164 ("+498005523240", as in Germany's AFIR profile): one spelling for every consumer,
whatever the CPO typed ("0800 552 3240", "+49 (0)800-5523240", "0049 800 5523240").

The maintained phonenumbers library (Google's libphonenumber metadata) decides what a valid
number is; a number written without its country code is read as one of the location's
country. A number it cannot read, or reads as a number no country assigns, is left as the
CPO sent it: the exporter publishes it as given and the quality rule
`help-phone-malformed` tells the CPO.
"""
from __future__ import annotations

from functools import lru_cache

import phonenumbers
import pycountry


def help_phone(number: object, country: object) -> str | None:
    """OCPI Location.help_phone as "+CCnumber" (E.164), a number without its country code
    read as one of the location's `country` (ISO alpha-3, as OCPI gives it; alpha-2
    tolerated); None when it is no valid telephone number."""
    if not isinstance(number, str) or not number.strip():
        return None
    return _international(number.strip(), _region(country if isinstance(country, str) else ""))


@lru_cache(maxsize=512)
def _region(country: str) -> str | None:
    code = country.strip().upper()
    if len(code) == 2:
        return code
    if code == "XKX":  # Kosovo: a user-assigned code pycountry leaves out
        return "XK"
    found = pycountry.countries.get(alpha_3=code) if len(code) == 3 else None
    return found.alpha_2 if found else None


@lru_cache(maxsize=1024)  # a CPO gives most of its locations one helpdesk number
def _international(number: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
