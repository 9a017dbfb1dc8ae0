"""How real feeds spell OCPI enum values, and what they mean.

A value that differs from the spec only in case, surrounding whitespace or separators
(`socket`, `ac_3_phase`, `"CHARGING "`, `OUT_OF_ORDER`) is the spec's value: compared with
everything but letters and digits squeezed out. Beyond that, only aliases in wide use are
mapped: names printed on chargers and in apps (`Type 2`, `CCS`, `Schuko`), and OCPP's
connector statuses, which many back ends pass through to OCPI unchanged. An alias is listed
only where it names one value without doubt (`AC` alone could be one or three phases: it is
not an alias).
"""
from __future__ import annotations

import re
from functools import lru_cache

from nap.ocpi.enums import CLOSED_ENUMS, OPEN_ENUMS

_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def squeeze(text: str) -> str:
    """The spelling-free form of an enum value: upper case, letters and digits only."""
    return _NOT_ALNUM.sub("", text.upper())


# Squeezed alias -> the spec's value, per enum.
ALIASES: dict[str, dict[str, str]] = {
    "ConnectorType": {
        "TYPE1": "IEC_62196_T1", "T1": "IEC_62196_T1", "J1772": "IEC_62196_T1", "SAEJ1772": "IEC_62196_T1",
        "TYPE2": "IEC_62196_T2", "T2": "IEC_62196_T2", "MENNEKES": "IEC_62196_T2", "TYPE2SOCKET": "IEC_62196_T2",
        "TYPE2CABLE": "IEC_62196_T2", "TYPE2PLUG": "IEC_62196_T2",
        "CCS": "IEC_62196_T2_COMBO", "CCS2": "IEC_62196_T2_COMBO", "COMBO2": "IEC_62196_T2_COMBO",
        "CCSCOMBO2": "IEC_62196_T2_COMBO", "TYPE2COMBO": "IEC_62196_T2_COMBO", "CCSTYPE2": "IEC_62196_T2_COMBO",
        "CCS1": "IEC_62196_T1_COMBO", "COMBO1": "IEC_62196_T1_COMBO", "CCSCOMBO1": "IEC_62196_T1_COMBO",
        "TYPE1COMBO": "IEC_62196_T1_COMBO", "CCSTYPE1": "IEC_62196_T1_COMBO",
        "TYPE3A": "IEC_62196_T3A", "TYPE3C": "IEC_62196_T3C",
        "GBTDC": "GBT_DC", "GBDC": "GBT_DC", "GBTAC": "GBT_AC", "GBAC": "GBT_AC",
        "SCHUKO": "DOMESTIC_F", "CEE77": "DOMESTIC_F", "TYPEF": "DOMESTIC_F", "TYPEE": "DOMESTIC_E",
        "TYPEG": "DOMESTIC_G", "BS1363": "DOMESTIC_G", "TYPEJ": "DOMESTIC_J", "TYPEK": "DOMESTIC_K",
        "NACS": "SAE_J3400", "J3400": "SAE_J3400",
    },
    "Status": {
        # OCPP 1.6 ChargePointStatus / 2.0.1 ConnectorStatus values.
        "OCCUPIED": "CHARGING", "PREPARING": "CHARGING", "SUSPENDEDEV": "CHARGING", "SUSPENDEDEVSE": "CHARGING",
        "FINISHING": "CHARGING", "INUSE": "CHARGING", "FAULTED": "OUTOFORDER", "UNAVAILABLE": "INOPERATIVE",
    },
    "ConnectorFormat": {"TETHERED": "CABLE", "TETHEREDCABLE": "CABLE", "ATTACHEDCABLE": "CABLE"},
    "PowerType": {"AC1": "AC_1_PHASE", "AC3": "AC_3_PHASE", "AC1P": "AC_1_PHASE", "AC3P": "AC_3_PHASE",
                  "SINGLEPHASE": "AC_1_PHASE", "THREEPHASE": "AC_3_PHASE"},
    "DayOfWeek": {"MON": "MONDAY", "TUE": "TUESDAY", "WED": "WEDNESDAY", "THU": "THURSDAY", "FRI": "FRIDAY",
                  "SAT": "SATURDAY", "SUN": "SUNDAY"},
}


@lru_cache(maxsize=None)
def _by_squeezed(name: str) -> dict[str, str]:
    values = CLOSED_ENUMS.get(name) or OPEN_ENUMS[name]
    table = {squeeze(value): value for value in values}
    table.update(ALIASES.get(name, {}))
    return table


def spec_value(name: str, text: str) -> str | None:
    """The spec's value of enum `name` that `text` spells, or None."""
    return _by_squeezed(name).get(squeeze(text))
