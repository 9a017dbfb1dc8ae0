"""The static data AFIR Art. 20(2) requires for every publicly accessible recharging point,
expressed as checks on the stored OCPI 2.3.0 data.

One definition serves two purposes: the "missing" rules (one finding per object that
lacks a field) and the coverage score (the share of a CPO's EVSEs that have it). A
recharging point is an OCPI EVSE; location-level fields count for each of its EVSEs, and
connector-level fields are present only when every connector of the EVSE has them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from nap.ocpi.ids import id_key
from nap.quality.snapshot import EvseView, FeedSnapshot, LocationView

POWER_TYPES = {"AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"}
# Tariffs a driver without a contract pays: AD_HOC_PAYMENT ones, and those without a
# type (mod_tariffs: a tariff without type applies to every kind of session).
AD_HOC_TYPES = {"AD_HOC_PAYMENT", None}

# missing(location, evse or None, snapshot) -> paths of what is missing (empty: all there).
Check = Callable[[LocationView, EvseView | None, FeedSnapshot], list[str]]


@dataclass(frozen=True)
class AfirField:
    key: str
    label: str
    noun: str  # for sentences: "every recharging point needs its <noun>"
    level: str  # "location", "evse" or "connector": whom a finding names
    ocpi_fields: str
    missing: Check


def _coordinates(location: LocationView, evse, snapshot) -> list[str]:
    # Stored coordinates always parse (the schema checks them); (0, 0) is the usual
    # placeholder of a back end that has none, in the Gulf of Guinea.
    if location.latitude == 0 and location.longitude == 0:
        return ["coordinates"]
    return []


def _address(location: LocationView, evse, snapshot) -> list[str]:
    # OCPI requires address and city but not their content (a repaired location may have
    # them empty) and leaves postal_code optional; AFIR wants all three.
    return [name for name in ("address", "postal_code", "city") if not str(location.data.get(name) or "").strip()]


def _opening_hours(location: LocationView, evse, snapshot) -> list[str]:
    return [] if location.data.get("opening_times") else ["opening_times"]


def _operator(location: LocationView, evse, snapshot) -> list[str]:
    operator = location.data.get("operator") or {}
    return [] if str(operator.get("name") or "").strip() else ["operator.name"]


def _helpdesk(location: LocationView, evse, snapshot) -> list[str]:
    return [] if str(location.data.get("help_phone") or "").strip() else ["help_phone"]


def _connectors(location, evse: EvseView, snapshot) -> list[str]:
    return [] if evse.connectors else ["connectors"]


def _evse_id(location, evse: EvseView, snapshot) -> list[str]:
    return [] if evse.evse_id else ["evse_id"]


def _each_connector(test: Callable[[dict, LocationView, FeedSnapshot], bool], name: str) -> Check:
    def missing(location: LocationView, evse: EvseView, snapshot: FeedSnapshot) -> list[str]:
        if not evse.connectors:
            return [f"connectors[].{name}"]
        return [f"connectors[{n}].{name}" for n, connector in enumerate(evse.connectors)
                if not test(connector, location, snapshot)]
    return missing


def _has_current_type(connector: dict, location, snapshot) -> bool:
    return connector.get("power_type") in POWER_TYPES


def _has_max_power(connector: dict, location, snapshot) -> bool:
    # AFIR asks for the maximum power itself; max_voltage x max_amperage is only an upper
    # bound of what the charger delivers, so it does not count.
    power = connector.get("max_electric_power")
    return isinstance(power, (int, float)) and power > 0


def _has_ad_hoc_price(connector: dict, location: LocationView, snapshot: FeedSnapshot) -> bool:
    for tariff_id in connector.get("tariff_ids") or []:
        key = (location.country_code, location.party_id, id_key(tariff_id))
        if key in snapshot.tariffs and snapshot.tariffs[key] in AD_HOC_TYPES:
            return True
    return False


AFIR_FIELDS: tuple[AfirField, ...] = (
    AfirField("coordinates", "Geographic coordinates", "geographic coordinates", "location", "coordinates", _coordinates),
    AfirField("connectors", "Connectors", "connectors", "evse", "connectors", _connectors),
    AfirField("current_type", "Current type (AC/DC)", "current type (AC or DC)", "connector", "connectors[].power_type",
              _each_connector(_has_current_type, "power_type")),
    AfirField("max_power", "Maximum power", "maximum power", "connector", "connectors[].max_electric_power",
              _each_connector(_has_max_power, "max_electric_power")),
    AfirField("address", "Address", "address (street, postal code, city)", "location", "address, postal_code, city",
              _address),
    AfirField("opening_hours", "Opening hours", "opening hours", "location", "opening_times", _opening_hours),
    AfirField("operator", "Operator", "operator", "location", "operator.name", _operator),
    AfirField("helpdesk", "Helpdesk contact", "helpdesk contact", "location", "help_phone", _helpdesk),
    AfirField("evse_id", "EVSE id", "EVSE id", "evse", "evse_id", _evse_id),
    AfirField("ad_hoc_price", "Ad hoc price", "ad hoc price", "connector", "connectors[].tariff_ids",
              _each_connector(_has_ad_hoc_price, "tariff_ids")),
)
