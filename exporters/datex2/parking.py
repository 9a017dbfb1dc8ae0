"""OCPI 2.3.0 Parking (Location.parking_places, EVSE.parking) -> DATEX II parking spaces.

Generic model: egi:vehicleSpace on the charging point. AFIR model: afac:dedicatedParkingSpaces
(aegi:DedicatedParkingSpaces, numberOfSpaces = 1 per OCPI Parking) on the charging point;
parking places no EVSE refers to go on the site (the generic site has no home for them).
OCPI sizes are centimetres/kilograms, DATEX II uses metres/tonnes.
"""
from __future__ import annotations

from typing import NamedTuple

from exporters.datex2 import identity, mapping, ocpi, sequences
from exporters.datex2.namespaces import COM, Profile, q
from exporters.datex2.xmlbuild import Element, bool_text, single_language, sub, url_link, write_in_order


class VehicleLimits(NamedTuple):
    """What a parking place says of the vehicles it takes: types, and maxima in tonnes and
    metres ((characteristic, its value's name, the value) for the sizes)."""
    types: list[str]
    weight: float | None
    sizes: list[tuple[str, str, float]]

    def __bool__(self) -> bool:
        return bool(self.types) or self.weight is not None or bool(self.sizes)


def vehicle_limits(place: dict) -> VehicleLimits:
    """OCPI centimetres and kilograms as DATEX II metres and tonnes."""
    types = [mapping.VEHICLE_TYPE[v] for v in ocpi.strings(place.get("vehicle_types")) if v in mapping.VEHICLE_TYPE]
    weight = ocpi.positive(place.get("max_vehicle_weight"))
    sizes = [(tag, value_tag, centimetres / 100) for tag, value_tag, centimetres in (
        ("heightCharacteristic", "vehicleHeight", ocpi.positive(place.get("max_vehicle_height"))),
        ("lengthCharacteristic", "vehicleLength", ocpi.positive(place.get("max_vehicle_length"))),
        ("widthCharacteristic", "vehicleWidth", ocpi.positive(place.get("max_vehicle_width")))) if centimetres is not None]
    return VehicleLimits(list(dict.fromkeys(types)), weight / 1000 if weight is not None else None, sizes)


def parking_dimension(place: dict) -> tuple[float | None, float | None]:
    """(length, width) in metres."""
    length, width = ocpi.positive(place.get("parking_space_length")), ocpi.positive(place.get("parking_space_width"))
    return (length / 100 if length is not None else None, width / 100 if width is not None else None)


def parking_users(restrictions: list[str], vehicle_types: list[str]) -> list[str]:
    """AFIR userSpecific: the EVSE's parking restrictions, and disabled drivers where the
    place is for their vehicles."""
    users = [mapping.PARKING_RESTRICTION_USER[r] for r in restrictions if r in mapping.PARKING_RESTRICTION_USER]
    if mapping.DISABLED_VEHICLE_TYPE in vehicle_types:
        users.append(mapping.PARKING_RESTRICTION_USER["DISABLED"])
    return list(dict.fromkeys(users))


def _write_vehicles(parent: Element, profile: Profile, place: dict) -> None:
    """applicableForVehicles: vehicle types plus the maximum size/weight limits."""
    limits = vehicle_limits(place)
    if not limits:
        return
    vehicles = sub(parent, profile.f("applicableForVehicles"))
    for vehicle_type in limits.types:
        sub(vehicles, q(COM, "vehicleType"), vehicle_type)
    if limits.weight is not None:
        characteristic = sub(vehicles, q(COM, "grossWeightCharacteristic"))
        sub(characteristic, q(COM, "comparisonOperator"), "lessThanOrEqualTo")
        sub(characteristic, q(COM, "grossVehicleWeight"), ocpi.xml_number(limits.weight))
        sub(characteristic, q(COM, "typeOfWeight"), "maximumPermitted")
    for tag, value_tag, metres in limits.sizes:
        characteristic = sub(vehicles, q(COM, tag))
        sub(characteristic, q(COM, "comparisonOperator"), "lessThanOrEqualTo")
        sub(characteristic, q(COM, value_tag), ocpi.xml_number(metres))


def _write_dimension(parent: Element, profile: Profile, place: dict) -> None:
    length, width = parking_dimension(place)
    if length is None and width is None:
        return
    dimension = sub(parent, profile.f("dimension"))
    if length is not None:
        sub(dimension, profile.f("length"), ocpi.xml_number(length))
    if width is not None:
        sub(dimension, profile.f("width"), ocpi.xml_number(width))


def parking_amenities(place: dict) -> dict[str, bool]:
    """AFIR amenities (illuminated, roofed) of the OCPI lighting and roofed that are stated."""
    return {name: value for name, value in (("illuminated", place.get("lighting")), ("roofed", place.get("roofed")))
            if isinstance(value, bool)}


def parking_photo_urls(place: dict) -> list[str]:
    return [url for url in (ocpi.url(image.get("url")) for image in ocpi.dicts(place.get("images"))) if url]


def _write_amenities(parent: Element, profile: Profile, place: dict) -> None:
    stated = parking_amenities(place)
    if not stated:
        return
    amenities = sub(parent, profile.f("amenities"))
    for name, value in stated.items():
        sub(amenities, profile.f(name), bool_text(value))


def write_parking_space(parent: Element, tag: str, profile: Profile, *, site_id: str, parking_id: str,
                        place: dict, restrictions: list[str]) -> Element:
    """One OCPI Parking; `restrictions` are the parking_restrictions of the EVSE using it."""
    element = sub(parent, tag, attrib={
        "id": identity.parking_space_id(site_id, parking_id),
        "version": identity.parking_space_version(place, restrictions)})
    vehicle_types = ocpi.strings(place.get("vehicle_types"))
    slots = {
        "name": [lambda e: single_language(e, profile.f("name"), ocpi.text(place.get("physical_reference")))],
        "photoUrl": [lambda e, url=url: url_link(e, profile.f("photoUrl"), url, "image")
                     for url in parking_photo_urls(place)],
        "applicableForVehicles": [lambda e: _write_vehicles(e, profile, place)],
        "dimension": [lambda e: _write_dimension(e, profile, place)],
    }
    if mapping.DISABLED_VEHICLE_TYPE in vehicle_types:
        slots["accessibility"] = [lambda e: sub(e, profile.f("accessibility"), mapping.DISABLED_ACCESSIBILITY)]
    if profile.is_afir:
        users = parking_users(restrictions, vehicle_types)
        slots["amenities"] = [lambda e: _write_amenities(e, profile, place)]
        slots["numberOfSpaces"] = [lambda e: sub(e, profile.e("numberOfSpaces"), "1")]
        slots["userSpecific"] = [lambda e, user=user: sub(e, profile.e("userSpecific"), user)
                                 for user in users]
        write_in_order(element, sequences.DEDICATED_PARKING_SPACES, slots)
    else:
        if mapping.PARKING_ONLY_WHILE_CHARGING in restrictions:
            slots["parkingAllowedAfterCharging"] = [
                lambda e: sub(e, profile.e("parkingAllowedAfterCharging"), "false")]
        write_in_order(element, sequences.VEHICLE_SPACE, slots)
    return element
