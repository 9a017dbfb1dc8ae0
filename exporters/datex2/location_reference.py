"""OCPI position and address -> loc:PointLocation.

The two models put the address in different extension points (see README of the spec
folder): generic under loc:_locationReferenceExtension/loc:facilityLocation/locx:address,
AFIR under loc:_locationExtension/loc:afirFacilityLocation/afac:address. Both keep the
coordinates in loc:pointByCoordinates; AFIR also repeats them as coordinatesForDisplay.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from exporters.datex2 import ocpi
from exporters.datex2.namespaces import LOC, LOCX, Profile, q
from exporters.datex2.xmlbuild import Element, single_language, sub, typed


@dataclass
class Address:
    postcode: str | None = None
    city: str | None = None
    country: str | None = None                                    # ISO alpha-2
    lines: list[tuple[str, str]] = field(default_factory=list)    # (AddressLineTypeEnum, text)

    def __bool__(self) -> bool:
        return bool(self.postcode or self.city or self.country or self.lines)


def location_address(location: dict) -> Address:
    lines = []
    street = ocpi.text(location.get("address"))
    if street:
        # OCPI has one "street and house number" field; splitting it would be guesswork.
        lines.append(("street", street))
    state = ocpi.text(location.get("state"))
    if state:
        lines.append(("region", state))
    return Address(postcode=ocpi.text(location.get("postal_code")), city=ocpi.text(location.get("city")),
                   country=ocpi.country_alpha2(location.get("country")), lines=lines)


def evse_address(evse: dict) -> Address:
    floor = ocpi.text(evse.get("floor_level"))
    return Address(lines=[("floor", floor)] if floor else [])


def _write_address(parent: Element, tag: str, address: Address) -> None:
    element = sub(parent, tag)
    if address.postcode:
        sub(element, q(LOCX, "postcode"), address.postcode)
    single_language(element, q(LOCX, "city"), address.city)
    if address.country:
        sub(element, q(LOCX, "countryCode"), address.country)
    for order, (line_type, content) in enumerate(address.lines, start=1):
        line = sub(element, q(LOCX, "addressLine"), attrib={"order": str(order)})
        sub(line, q(LOCX, "type"), line_type)
        single_language(line, q(LOCX, "text"), content)


def _write_coordinates(parent: Element, tag: str, point: tuple[float, float]) -> None:
    element = sub(parent, tag)
    sub(element, q(LOC, "latitude"), ocpi.xml_number(point[0]))
    sub(element, q(LOC, "longitude"), ocpi.xml_number(point[1]))


def write_point_location(parent: Element, tag: str, profile: Profile, point: tuple[float, float] | None,
                         address: Address, time_zone: str | None = None) -> Element | None:
    """`time_zone`: a UTC offset ("+01:00", see time_zones.py); it shares the address's
    extension, before it."""
    if point is None and not address:
        return None
    element = typed(parent, tag, "loc:PointLocation")
    if profile.is_afir:
        if point is not None:
            _write_coordinates(element, q(LOC, "coordinatesForDisplay"), point)
        if address or time_zone:
            extension = sub(sub(element, q(LOC, "_locationExtension")), q(LOC, "afirFacilityLocation"))
            if time_zone:
                sub(extension, profile.f("timeZone"), time_zone)
            if address:
                _write_address(extension, profile.f("address"), address)
    elif address or time_zone:
        extension = sub(sub(element, q(LOC, "_locationReferenceExtension")), q(LOC, "facilityLocation"))
        if time_zone:
            sub(extension, q(LOCX, "timeZone"), time_zone)
        if address:
            _write_address(extension, q(LOCX, "address"), address)
    if point is not None:
        _write_coordinates(sub(element, q(LOC, "pointByCoordinates")), q(LOC, "pointCoordinates"), point)
    return element
