"""The static data AFIR Art. 20(2) requires for every publicly accessible recharging point,
expressed as checks on the stored OCPI 2.3.0 data.

One definition serves two purposes: the "missing" rules (one finding per object that
lacks a field) and the coverage score (the share of a CPO's EVSEs that have it). A
recharging point is an OCPI EVSE; location-level fields count for each of its EVSEs, and
connector-level fields are present only when every connector of the EVSE has them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable
from zoneinfo import ZoneInfo

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
    # "error": AFIR requires it of every recharging point; "warning": the Annex asks for it
    # where it applies, so its absence may be true (no facilities, no parking restriction).
    severity: str = "error"


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


def _country(location: LocationView, evse, snapshot) -> list[str]:
    country = location.data.get("country")
    return [] if isinstance(country, str) and len(country.strip()) == 3 else ["country"]


@lru_cache(maxsize=512)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # unknown zone (ZoneInfoNotFoundError), or no zone key at all
        return False
    return True


def _time_zone(location: LocationView, evse, snapshot) -> list[str]:
    # DATEX II writes the zone's UTC offset, so a zone the time zone database does not know
    # is as good as none (docs/datex2-mapping.md, Time zone).
    zone = location.data.get("time_zone")
    return [] if isinstance(zone, str) and zone and _known_zone(zone) else ["time_zone"]


def _facilities(location: LocationView, evse, snapshot) -> list[str]:
    return [] if location.data.get("facilities") else ["facilities"]


def _renewable(location: LocationView, evse, snapshot) -> list[str]:
    mix = location.data.get("energy_mix") or {}
    return [] if isinstance(mix, dict) and isinstance(mix.get("is_green_energy"), bool) else [
        "energy_mix.is_green_energy"]


def _location_details(location: LocationView, evse: EvseView, snapshot) -> list[str]:
    # The Annex's "additional geographic location information": the level in a car park
    # or directions to the point.
    if evse.data.get("floor_level") or evse.data.get("directions") or location.data.get("directions"):
        return []
    return ["floor_level"]


def _parking(location, evse: EvseView, snapshot) -> list[str]:
    # OCPI 2.3.0 says vehicle types, vehicle limits and the parking space itself in the
    # Parking objects an EVSE refers to.
    return [] if evse.data.get("parking") else ["parking"]


def _capabilities(location, evse: EvseView, snapshot) -> list[str]:
    # An EVSE that lists its capabilities says what it lacks too (no card reader, no
    # Plug & Charge); one without the list says nothing about payment or smart charging.
    return [] if isinstance(evse.data.get("capabilities"), list) else ["capabilities"]


def _service_providers(location, evse: EvseView, snapshot) -> list[str]:
    return [] if evse.data.get("accepted_service_providers") else ["accepted_service_providers"]


def _status(location, evse: EvseView, snapshot) -> list[str]:
    return [] if evse.status and evse.status != "UNKNOWN" else ["status"]


def _has_format(connector: dict, location, snapshot) -> bool:
    return connector.get("format") in ("SOCKET", "CABLE")


def _address_part(name: str) -> Check:
    def missing(location: LocationView, evse, snapshot) -> list[str]:
        return [] if str(location.data.get(name) or "").strip() else [name]
    return missing


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
    # The other Annex items OCPI can carry (nap/afir_annex.py names each field's items).
    AfirField("country", "Country", "country", "location", "country", _country),
    AfirField("time_zone", "Time zone", "time zone (a known IANA zone)", "location", "time_zone", _time_zone),
    AfirField("connector_format", "Connector format", "connector format (socket or cable)", "connector",
              "connectors[].format", _each_connector(_has_format, "format")),
    AfirField("facilities", "Facilities", "facilities, where there are any", "location", "facilities",
              _facilities, "warning"),
    AfirField("location_details", "Additional location information", "floor level or directions, where useful",
              "evse", "floor_level, directions", _location_details, "warning"),
    AfirField("parking", "Parking (vehicle types, limits, spaces)", "parking places", "evse", "parking",
              _parking, "warning"),
    AfirField("capabilities", "Payment, authentication and smart charging", "capabilities", "evse",
              "capabilities", _capabilities, "warning"),
    AfirField("service_providers", "Accepted e-mobility service providers", "accepted service providers",
              "evse", "accepted_service_providers", _service_providers, "warning"),
    AfirField("renewable", "100 % renewable energy", "energy mix (100 % renewable or not)", "location",
              "energy_mix.is_green_energy", _renewable, "warning"),
    AfirField("status", "Operational status and availability", "known status", "evse", "status", _status,
              "warning"),
)

# Checks the coverage report uses beyond the rules' fields: the address parts, which one
# rule (afir-address-missing) judges together and the Annex counts one by one.
ANNEX_CHECKS: dict[str, Check] = {
    **{afir.key: afir.missing for afir in AFIR_FIELDS},
    "street": _address_part("address"),
    "postal_code": _address_part("postal_code"),
    "city": _address_part("city"),
}
