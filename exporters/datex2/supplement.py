"""The CPOs' supplements (nap/supplements.py) merged into the DATEX II publication.

What OCPI cannot carry and a CPO supplied for its party or one of its locations goes into
the sites it describes; the OCPI publication never sees it. The supplements travel with the
parties' operators (`party_operators`, read once per publication by source.py and handed to
the table, the status and every process of a parallel table): `attach` hangs them on it,
`merged` puts a location's effective values into a copy of the location document under
SUPPLEMENT_KEY, so the site version (a fingerprint of that document) changes with them, in
the table and in the status publication alike. What goes where: docs/supplement.md (the
AFIR model takes every field; the generic model, which lacks most elements, the names).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from exporters.datex2 import identity, ocpi, sequences
from exporters.datex2.namespaces import LOC, Profile, q
from exporters.datex2.xmlbuild import Element, single_language, sub, typed, write_in_order
from nap import supplements as store
from nap.ocpi.ids import id_key

# The key, in a copy of a location document, of the supplement values that hold for it: no
# OCPI object has it (OCPI field names are lower-case words), so it cannot clash.
SUPPLEMENT_KEY = "_nap_supplement"


class OperatorsWithSupplements(dict):
    """The parties' operators (source.party_operators) and, in `supplements`, the verified
    parties' supplements: {(COUNTRY, PARTY): {"party": values, "locations": {folded id: values}}},
    plain data so that it pickles to the processes of a parallel table."""

    supplements: dict[tuple[str, str], dict]

    def __init__(self, operators: Mapping, supplements: dict[tuple[str, str], dict]) -> None:
        super().__init__(operators)
        self.supplements = supplements


def attach(session: Session, operators: dict[tuple[str, str], dict]) -> OperatorsWithSupplements:
    """The operators with the current supplements of the parties among them (the verified
    ones: an unverified claim supplies nothing)."""
    supplements = {}
    for (country, party), current in store.current_supplements(session).items():
        if (country.upper(), party.upper()) in operators and (current.values or current.locations):
            supplements[country.upper(), party.upper()] = {"party": current.values, "locations": current.locations}
    return OperatorsWithSupplements(operators, supplements)


def table_state(session: Session) -> tuple[datetime | None, tuple[int, int]]:
    """(latest change, what changes with any new version): part of the table's version."""
    latest, newest, count = store.state(session)
    return latest, (newest, count)


def merged(location: dict, party_operators: Mapping | None) -> dict:
    """The location, or a copy with its effective supplement values under SUPPLEMENT_KEY."""
    supplements = getattr(party_operators, "supplements", None)
    if not supplements:
        return location
    country, party = ocpi.text(location.get("country_code")), ocpi.text(location.get("party_id"))
    found = supplements.get((country.upper(), party.upper())) if country and party else None
    if found is None:
        return location
    location_id = ocpi.text(location.get("id"))
    own = found["locations"].get(id_key(location_id), {}) if location_id else {}
    values = {**found["party"], **own}
    return {**location, SUPPLEMENT_KEY: values} if values else location


def values_of(location: dict) -> dict:
    values = location.get(SUPPLEMENT_KEY)
    return values if isinstance(values, dict) else {}


# -- writing ----------------------------------------------------------------------------------


def name_operator(operator, location: dict) -> None:
    """A1: the legal name the CPO supplied, instead of the one OCPI name."""
    legal_name = ocpi.text(values_of(location).get("legal_name"))
    if operator is not None and legal_name:
        operator.legal_name = legal_name


def _equipment(parent: Element, profile: Profile, site_id: str, version: str, kind: str, present: bool) -> None:
    element = typed(parent, profile.f("supplementalFacility"), profile.ftype("SupplementalEquipment"),
                    {"id": identity.facility_id(site_id, kind), "version": version})
    write_in_order(element, sequences.SUPPLEMENTAL_EQUIPMENT[profile.name], {
        "availability": [lambda e: sub(e, profile.f("availability"), "available" if present else "notAvailable")],
        "equipmentType": [lambda e: sub(e, profile.f("equipmentType"), kind)],
    })


def write_payment(payment: Element, profile: Profile, means=(), other_means=(), brands=(), other_brands=()) -> None:
    """The lists of a fac:Payment, in its order: the site's (below) and an AFIR ad hoc rate's
    (tariff_afir.py)."""
    for value in means:
        sub(payment, profile.f("paymentMeans"), value)
    for text in other_means:
        single_language(payment, profile.f("otherPaymentMeans"), text)
    for brand in brands:
        sub(payment, profile.f("brandsAccepted"), brand)
    for text in other_brands:
        sub(payment, profile.f("otherBrandsAccepted"), text)


def _payment(parent: Element, profile: Profile, values: dict) -> None:
    rates = typed(parent, profile.f("rates"), profile.ftype("GeneralRateInformation"))
    write_payment(sub(rates, profile.f("payment")), profile, values.get("payment_means", ()),
                  values.get("other_payment_means", ()), values.get("payment_brands", ()),
                  values.get("other_payment_brands", ()))


def _nuts(point_location: Element | None, profile: Profile, code: str) -> None:
    """nutsArea, the last child of afirFacilityLocation (made when the site has none)."""
    if point_location is None:
        return
    extension = point_location.find(f"{q(LOC, '_locationExtension')}/{q(LOC, 'afirFacilityLocation')}")
    if extension is None:
        holder = point_location.makeelement(q(LOC, "_locationExtension"), {})
        after = point_location.find(q(LOC, "coordinatesForDisplay"))
        # _locationExtension follows coordinatesForDisplay and precedes pointByCoordinates.
        point_location.insert(point_location.index(after) + 1 if after is not None else 0, holder)
        extension = sub(holder, q(LOC, "afirFacilityLocation"))
    area = sub(extension, profile.f("nutsArea"))
    sub(area, profile.f("nutsCodeType"), "nuts1Code")
    sub(area, profile.f("nutsCode"), code)


def add_site_slots(slots: dict, profile: Profile, published) -> None:
    """The site's supplement elements, added to the slots build_site fills."""
    values = values_of(published.location)
    if not values:
        return
    brand = ocpi.text(values.get("brand_name"))
    if brand:
        slots["brand"] = [lambda e: single_language(e, profile.e("brand"), brand)]
    if not profile.is_afir:
        return
    if values.get("service_type"):
        def service(e: Element) -> None:
            sub(sub(e, profile.e("serviceType")), profile.e("serviceType"), values["service_type"])
        slots["serviceType"] = [service]
    for name, kind in (("toilets", "toilet"), ("rest_area", "restingFacilities")):
        if isinstance(values.get(name), bool):
            slots.setdefault("supplementalFacility", []).append(
                lambda e, kind=kind, present=values[name]: _equipment(e, profile, published.id, published.version,
                                                                    kind, present))
    if any(values.get(name) for name in store.LISTS):
        slots["rates"] = [lambda e: _payment(e, profile, values)]
    nuts = ocpi.text(values.get("nuts1"))
    if nuts and slots.get("locationReference"):
        writers = slots["locationReference"]
        slots["locationReference"] = [lambda e, w=w: _nuts(w(e), profile, nuts) for w in writers]


def add_station_slots(slots: dict, profile: Profile, published) -> None:
    """B5: the grid connection's power, the station's totalMaximumPower (W)."""
    power = values_of(published.location).get("grid_power_kw")
    if profile.is_afir and isinstance(power, (int, float)) and not isinstance(power, bool) and power > 0:
        watts = ocpi.xml_number(round(power * 1000, 3))
        slots["totalMaximumPower"] = [lambda e: sub(e, profile.e("totalMaximumPower"), watts)]

