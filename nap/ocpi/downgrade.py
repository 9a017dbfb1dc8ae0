"""Convert OCPI 2.3.0 objects down to 2.2.1 or 2.1.1: the one place that knows how, used by the
demo CPO (to serve as an older CPO would) and by the 2.2.1 view of the publication API.

``to_version(obj, kind, version)`` returns a new object (the input is never modified); ``kind`` is one of
"location", "evse", "connector", "tariff". Sources: mod_locations / mod_tariffs of 2.3.0, 2.2.1 (d2) and
2.1.1 (d2). Each version is derived from the next newer one, so 2.1.1 gets every 2.2.1 rule plus its own.

2.3.0 -> 2.2.1
  Location   drop ``parking_places`` and ``help_phone`` (new in 2.3.0).
  EVSE       drop ``parking`` (EVSEParking) and ``accepted_service_providers`` (new in 2.3.0).
             parking_restrictions: ``EMPLOYEES`` and ``TENANTS`` become ``CUSTOMERS`` (the closest 2.2.1
             value: parking only for people linked to the site); ``TAXIS`` has no counterpart and is dropped.
  Connector  drop ``capabilities`` (ConnectorCapability is new in 2.3.0).
             standard ``SAE_J3400`` becomes ``TESLA_S`` (2.3.0: "mechanically compatible with SAE J3400");
             ``MCS`` has no 2.2.1 value, so that connector is left out, and an EVSE left without connectors
             is left out too (2.2.1 requires at least one connector).
  Enums      2.3.0 turned most enums into OpenEnums; a value outside the 2.2.1 list (an extension) is removed
             from lists (capabilities, facilities, parking_restrictions) and an optional single field
             (parking_type) is left out. Where the enum sits in a required field, the object holding it goes:
             an Image (location, EVSE, business logo) with an unknown ``category``, an EnvironmentalImpact
             with an unknown ``category`` (locations and tariffs), and a connector whose ``standard`` is an
             extension value (like MCS above). A ``publish_allowed_to`` entry with TokenType ``EMAID`` (new in
             2.3.0; 2.2.1 requires a type with a uid) is left out.
  Tariff     drop ``tax_included`` and ``preauthorize_amount``.
             ``min_price``/``max_price``: 2.3.0 PriceLimit {before_taxes, after_taxes} becomes the 2.2.1 Price
             {excl_vat, incl_vat}.
             PriceComponent.price: in 2.3.0 it is gross or net as ``tax_included`` says, in 2.2.1 always
             excl. VAT. With ``tax_included`` "YES" the price is divided by (1 + vat/100) and rounded to 4
             decimals (types: numbers use 4 decimals). With "N/A" the ``vat`` field is dropped, because in
             2.2.1 an absent vat means "no VAT applicable".

2.2.1 -> 2.1.1 (on top of the above)
  Location   drop ``country_code``, ``party_id``, ``publish``, ``publish_allowed_to``, ``state``.
             ``parking_type`` becomes the required ``type`` (LocationType): ON_STREET, PARKING_GARAGE,
             UNDERGROUND_GARAGE, PARKING_LOT keep their names; ALONG_MOTORWAY becomes PARKING_LOT (a rest area
             car park); ON_DRIVEWAY becomes OTHER; absent becomes UNKNOWN (2.1.1: "not known (default)").
             Coordinates (location, related_locations, EVSE) get exactly 6 decimals: the 2.1.1 regex is
             ``-?[0-9]{1,2}\\.[0-9]{6}`` (2.2.1+ allow 5 to 7). Values that are not numbers are passed on as
             they are: fixing bad data is not the converter's job.
             ``opening_times``: 2.1.1 Hours is a choice of ``regular_hours`` or ``twentyfourseven``; when
             twentyfourseven is false only regular_hours is sent.
             facilities: METRO_STATION becomes TRAIN_STATION; BIKE_SHARING, PARKING_LOT and TRAM_STOP do not
             exist in 2.1.1 and are dropped.
             energy_mix: EnvironmentalImpact's ``category`` is called ``source`` in 2.1.1.
  EVSE       capabilities limited to the six 2.1.1 values; the payment-terminal details added in 2.2
             (CHIP_CARD_SUPPORT, CONTACTLESS_CARD_SUPPORT, DEBIT_CARD_PAYABLE, PED_TERMINAL) are dropped rather
             than guessed into CREDIT_CARD_PAYABLE. ``evse_id`` is kept unchanged.
  Connector  ``max_voltage`` -> ``voltage``, ``max_amperage`` -> ``amperage``, ``max_electric_power`` dropped.
             ``tariff_ids`` (list) -> ``tariff_id`` (single, optional): the first id. The demo fleet lists the
             AD_HOC_PAYMENT tariff first, so a 2.1.1 client sees the ad-hoc price.
             power_type AC_2_PHASE / AC_2_PHASE_SPLIT become AC_1_PHASE (2.1.1 has only 1 or 3 phases; this
             understates rather than overstates the power). Connector types added after 2.1.1 (CHAOJI, GB/T,
             NEMA, DOMESTIC_M/N/O, PANTOGRAPH_*) leave the connector out, as for MCS above.
  Tariff     keep only id, currency, tariff_alt_text, tariff_alt_url, elements, energy_mix, last_updated
             (no country_code, party_id, type, min_price, max_price, start/end_date_time).
             PriceComponent has no ``vat`` (price excl. VAT). TariffRestrictions has no ``reservation``,
             ``min_current``, ``max_current``: a TariffElement using them is left out, since keeping it
             without the restriction would make it apply always and change the price.
"""

from __future__ import annotations

from nap.ocpi.versions import CONVERTIBLE

KINDS = ("location", "evse", "connector", "tariff")

# --- enum value sets of the older versions (for dropping extension values) ---
CAPABILITIES_221 = {
    "CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT", "CONTACTLESS_CARD_SUPPORT",
    "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "PED_TERMINAL", "REMOTE_START_STOP_CAPABLE", "RESERVABLE",
    "RFID_READER", "START_SESSION_CONNECTOR_REQUIRED", "TOKEN_GROUP_CAPABLE", "UNLOCK_CAPABLE",
}
CAPABILITIES_211 = {
    "CHARGING_PROFILE_CAPABLE", "CREDIT_CARD_PAYABLE", "REMOTE_START_STOP_CAPABLE", "RESERVABLE", "RFID_READER",
    "UNLOCK_CAPABLE",
}
FACILITIES_211 = {
    "HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "SPORT", "RECREATION_AREA", "NATURE", "MUSEUM",
    "BUS_STOP", "TAXI_STAND", "TRAIN_STATION", "AIRPORT", "CARPOOL_PARKING", "FUEL_STATION", "WIFI",
}
FACILITIES_221 = FACILITIES_211 | {"BIKE_SHARING", "PARKING_LOT", "TRAM_STOP", "METRO_STATION"}
PARKING_RESTRICTIONS_221 = {"EV_ONLY", "PLUGGED", "DISABLED", "CUSTOMERS", "MOTORCYCLES"}  # same in 2.1.1
PARKING_TYPES_221 = {"ALONG_MOTORWAY", "PARKING_GARAGE", "PARKING_LOT", "ON_DRIVEWAY", "ON_STREET",
                     "UNDERGROUND_GARAGE"}
CONNECTOR_TYPES_211 = {
    "CHADEMO", "DOMESTIC_A", "DOMESTIC_B", "DOMESTIC_C", "DOMESTIC_D", "DOMESTIC_E", "DOMESTIC_F", "DOMESTIC_G",
    "DOMESTIC_H", "DOMESTIC_I", "DOMESTIC_J", "DOMESTIC_K", "DOMESTIC_L", "IEC_60309_2_single_16",
    "IEC_60309_2_three_16", "IEC_60309_2_three_32", "IEC_60309_2_three_64", "IEC_62196_T1", "IEC_62196_T1_COMBO",
    "IEC_62196_T2", "IEC_62196_T2_COMBO", "IEC_62196_T3A", "IEC_62196_T3C", "TESLA_R", "TESLA_S",
}
CONNECTOR_TYPES_221 = CONNECTOR_TYPES_211 | {
    "CHAOJI", "DOMESTIC_M", "DOMESTIC_N", "DOMESTIC_O", "GBT_AC", "GBT_DC", "NEMA_5_20", "NEMA_6_30", "NEMA_6_50",
    "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50", "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN",
}

IMAGE_CATEGORIES_221 = {"CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"}  # = 2.1.1
ENVIRONMENTAL_IMPACT_CATEGORIES_221 = {"NUCLEAR_WASTE", "CARBON_DIOXIDE"}  # = 2.1.1
TOKEN_TYPES_221 = {"AD_HOC_USER", "APP_USER", "OTHER", "RFID"}

# --- closest older values ---
PARKING_RESTRICTION_TO_221 = {"EMPLOYEES": "CUSTOMERS", "TENANTS": "CUSTOMERS"}
CONNECTOR_TYPE_TO_221 = {"SAE_J3400": "TESLA_S"}
FACILITY_TO_211 = {"METRO_STATION": "TRAIN_STATION"}
LOCATION_TYPE_211 = {
    "ON_STREET": "ON_STREET", "PARKING_GARAGE": "PARKING_GARAGE", "UNDERGROUND_GARAGE": "UNDERGROUND_GARAGE",
    "PARKING_LOT": "PARKING_LOT", "ALONG_MOTORWAY": "PARKING_LOT", "ON_DRIVEWAY": "OTHER",
}
POWER_TYPE_TO_211 = {"AC_2_PHASE": "AC_1_PHASE", "AC_2_PHASE_SPLIT": "AC_1_PHASE"}
RESTRICTIONS_NOT_IN_211 = ("reservation", "min_current", "max_current")
TARIFF_FIELDS_211 = ("id", "currency", "tariff_alt_text", "tariff_alt_url", "elements", "energy_mix", "last_updated")


def to_version(obj: dict, kind: str, version: str) -> dict | None:
    """Convert a 2.3.0 object to ``version``; None if it cannot exist there (an EVSE or connector that only
    had connector types the older version lacks)."""
    if version not in CONVERTIBLE:
        raise ValueError(f"unsupported OCPI version {version!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown object kind {kind!r}")
    converted = _clone(obj)
    if version == "2.3.0":
        return converted
    converted = _TO_221[kind](converted)
    if version == "2.2.1" or converted is None:
        return converted
    return _TO_211[kind](converted)


def _clone(value):
    """Deep copy for JSON-shaped data; much cheaper than copy.deepcopy (no memo, no reduce protocol)."""
    if type(value) is dict:
        return {k: _clone(v) for k, v in value.items()}
    if type(value) is list:
        return [_clone(v) for v in value]
    return value


def _map_list(values: list, mapping: dict, allowed: set) -> list:
    """Map values to the older enum, drop those without a counterpart, keep the first of duplicates."""
    result = []
    for value in values:
        if not isinstance(value, str):
            continue
        value = mapping.get(value, value)
        if value in allowed and value not in result:
            result.append(value)
    return result


def _set_or_drop(obj: dict, key: str, values: list) -> None:
    if values:
        obj[key] = values
    else:
        obj.pop(key, None)


# ---------------------------------------------------------------------------------------------------------
# 2.3.0 -> 2.2.1


def _location_to_221(location: dict) -> dict:
    location.pop("parking_places", None)
    location.pop("help_phone", None)
    if "parking_type" in location and str(location["parking_type"]) not in PARKING_TYPES_221:
        del location["parking_type"]
    if "facilities" in location:
        _set_or_drop(location, "facilities", _map_list(location["facilities"], {}, FACILITIES_221))
    _images_to_221(location)
    if isinstance(location.get("publish_allowed_to"), list):
        _set_or_drop(location, "publish_allowed_to", [
            token for token in location["publish_allowed_to"]
            if isinstance(token, dict) and token.get("type", "RFID") in TOKEN_TYPES_221])
    for key in ("operator", "suboperator", "owner"):
        business = location.get(key)
        if isinstance(business, dict) and isinstance(business.get("logo"), dict) \
                and business["logo"].get("category") not in IMAGE_CATEGORIES_221:
            del business["logo"]
    _energy_mix_to_221(location)
    if "evses" in location:
        location["evses"] = [e for e in (_evse_to_221(e) for e in location["evses"]) if e is not None]
    return location


def _images_to_221(obj: dict) -> None:
    if isinstance(obj.get("images"), list):
        _set_or_drop(obj, "images", [image for image in obj["images"]
                                     if isinstance(image, dict) and image.get("category") in IMAGE_CATEGORIES_221])


def _energy_mix_to_221(obj: dict) -> None:
    mix = obj.get("energy_mix")
    if isinstance(mix, dict) and isinstance(mix.get("environ_impact"), list):
        _set_or_drop(mix, "environ_impact", [impact for impact in mix["environ_impact"] if isinstance(impact, dict)
                                             and impact.get("category") in ENVIRONMENTAL_IMPACT_CATEGORIES_221])


def _evse_to_221(evse: dict) -> dict | None:
    evse.pop("parking", None)
    evse.pop("accepted_service_providers", None)
    _images_to_221(evse)
    if "capabilities" in evse:
        evse["capabilities"] = _map_list(evse["capabilities"], {}, CAPABILITIES_221)
    if "parking_restrictions" in evse:
        _set_or_drop(evse, "parking_restrictions", _map_list(
            evse["parking_restrictions"], PARKING_RESTRICTION_TO_221, PARKING_RESTRICTIONS_221))
    return _convert_connectors(evse, _connector_to_221)


def _convert_connectors(evse: dict, convert) -> dict | None:
    if not isinstance(evse.get("connectors"), list) or not evse["connectors"]:
        return evse  # nothing to convert (or already invalid): pass on as is
    connectors = [c for c in (convert(c) for c in evse["connectors"]) if c is not None]
    if not connectors:
        return None  # every connector was of a type this version cannot express
    evse["connectors"] = connectors
    return evse


def _connector_to_221(connector: dict) -> dict | None:
    connector.pop("capabilities", None)
    standard = connector.get("standard")
    if isinstance(standard, str):
        standard = CONNECTOR_TYPE_TO_221.get(standard, standard)
        if standard not in CONNECTOR_TYPES_221:
            return None  # MCS, or an extension value of the 2.3.0 OpenEnum
        connector["standard"] = standard
    return connector


def _tariff_to_221(tariff: dict) -> dict:
    tax_included = tariff.pop("tax_included", None)
    tariff.pop("preauthorize_amount", None)
    _energy_mix_to_221(tariff)
    for key in ("min_price", "max_price"):
        if isinstance(tariff.get(key), dict):
            tariff[key] = _price_limit_to_price(tariff[key])
    for element in tariff.get("elements", []):
        for component in element.get("price_components", []):
            _component_to_net(component, tax_included)
    return tariff


def _price_limit_to_price(limit: dict) -> dict:
    price = {"excl_vat": limit.get("before_taxes")}
    if "after_taxes" in limit:
        price["incl_vat"] = limit["after_taxes"]
    return price


def _component_to_net(component: dict, tax_included: str | None) -> None:
    if tax_included == "N/A":
        component.pop("vat", None)
    elif tax_included == "YES":
        vat, price = component.get("vat"), component.get("price")
        if isinstance(vat, (int, float)) and isinstance(price, (int, float)):
            component["price"] = round(price / (1 + vat / 100), 4)


# ---------------------------------------------------------------------------------------------------------
# 2.2.1 -> 2.1.1


def _location_to_211(location: dict) -> dict:
    converted = {}
    for key, value in location.items():
        if key in ("country_code", "party_id", "publish", "publish_allowed_to", "state", "parking_type"):
            continue
        if key == "id":
            converted["id"] = value
            # LocationType sits right after id in the 2.1.1 table; it is required there.
            converted["type"] = LOCATION_TYPE_211.get(str(location.get("parking_type")), "UNKNOWN")
        elif key == "coordinates":
            converted[key] = _six_decimals(value)
        elif key == "related_locations":
            converted[key] = [_six_decimals(r) for r in value]
        elif key == "opening_times":
            converted[key] = _hours_to_211(value)
        elif key == "facilities":
            facilities = _map_list(value, FACILITY_TO_211, FACILITIES_211)
            if facilities:
                converted[key] = facilities
        elif key == "energy_mix":
            converted[key] = _energy_mix_to_211(value)
        elif key == "evses":
            converted[key] = [e for e in (_evse_to_211(e) for e in value) if e is not None]
        else:
            converted[key] = value
    if "type" not in converted:  # a location without id (broken data) still needs its type
        converted["type"] = LOCATION_TYPE_211.get(str(location.get("parking_type")), "UNKNOWN")
    return converted


def _six_decimals(geo):
    if not isinstance(geo, dict):
        return geo
    result = dict(geo)
    for axis in ("latitude", "longitude"):
        value = geo.get(axis)
        try:
            result[axis] = f"{float(value):.6f}"
        except (TypeError, ValueError):
            pass  # not a number: leave the flaw visible
    return result


def _hours_to_211(hours):
    if not isinstance(hours, dict):
        return hours
    result = dict(hours)
    if result.get("twentyfourseven") is False and result.get("regular_hours"):
        del result["twentyfourseven"]  # "Choice: one of two"
    elif result.get("twentyfourseven") is True:
        result.pop("regular_hours", None)
    return result


def _energy_mix_to_211(mix):
    if not isinstance(mix, dict) or "environ_impact" not in mix:
        return mix
    mix["environ_impact"] = [
        {("source" if k == "category" else k): v for k, v in impact.items()} for impact in mix["environ_impact"]
    ]
    return mix


def _evse_to_211(evse: dict) -> dict | None:
    if "capabilities" in evse:
        evse["capabilities"] = _map_list(evse["capabilities"], {}, CAPABILITIES_211)
    if "coordinates" in evse:
        evse["coordinates"] = _six_decimals(evse["coordinates"])
    return _convert_connectors(evse, _connector_to_211)


def _connector_to_211(connector: dict) -> dict | None:
    standard = connector.get("standard")
    if isinstance(standard, str) and standard in CONNECTOR_TYPES_221 and standard not in CONNECTOR_TYPES_211:
        return None
    converted = {}
    for key, value in connector.items():
        if key == "max_voltage":
            converted["voltage"] = value
        elif key == "max_amperage":
            converted["amperage"] = value
        elif key == "max_electric_power":
            continue
        elif key == "power_type":
            converted[key] = POWER_TYPE_TO_211.get(value, value) if isinstance(value, str) else value
        elif key == "tariff_ids":
            if value:
                converted["tariff_id"] = value[0]
        else:
            converted[key] = value
    return converted


def _tariff_to_211(tariff: dict) -> dict:
    converted = {key: tariff[key] for key in TARIFF_FIELDS_211 if key in tariff}
    if "energy_mix" in converted:
        converted["energy_mix"] = _energy_mix_to_211(converted["energy_mix"])
    elements = []
    for element in converted.get("elements", []):
        restrictions = element.get("restrictions") or {}
        if any(key in restrictions for key in RESTRICTIONS_NOT_IN_211):
            continue
        for component in element.get("price_components", []):
            component.pop("vat", None)
        elements.append(element)
    if "elements" in converted:
        converted["elements"] = elements
    return converted


_TO_221 = {"location": _location_to_221, "evse": _evse_to_221, "connector": _connector_to_221,
           "tariff": _tariff_to_221}
_TO_211 = {"location": _location_to_211, "evse": _evse_to_211, "connector": _connector_to_211,
           "tariff": _tariff_to_211}
