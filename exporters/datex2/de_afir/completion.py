"""What the German profile asks of a converted site beyond the 3.7 AFIR publication.

The 3.7 publication says these things once, on the site; the profile wants them on the
station as well (its annotated example marks them mandatory there), and NAP's station is
the location's only one (exporters/datex2/site.py), so they are the same objects:
  * locationReference (coordinates, address with the time zone, NUTS1 when supplied),
  * operator and helpdesk.
The operator gets its eMI3 operator id, "{COUNTRY}*{PARTY}" (mandatory in the profile): the
CPO's OCPI party is that id.

Two station properties are required and OCPI has no value for them:
  * totalMaximumPower: the CPO's supplement (grid_power_kw) when it gave one, which the 3.7
    builder already wrote; else the sum of the charging points' maximum power, the station's
    nominal power (what the station can deliver at most if the grid connection allows);
  * serviceType: the supplement's when given (written on the site by 3.7), else "unattended":
    a charging station reached over OCPI is operated remotely; staffed ones are the
    exception the CPO states in its supplement.
"""
from __future__ import annotations

from exporters.datex2 import identity

DEFAULT_SERVICE_TYPE = "unattended"
_SHARED_WITH_STATION = ("locationReference", "operator", "helpdesk")


def _operator_id(operator: dict | None, party: str | None) -> None:
    organisation = (operator or {}).get("afacAnOrganisation")
    if organisation is None or not party:
        return
    identifiers = organisation.setdefault("externalIdentifier", [])
    identifiers.insert(0, {"identifier": party,
                           "typeOfIdentifier": {"value": "extendedG", "extendedValueG": "operatorId"}})


def _station_power(station: dict) -> float | int:
    total = 0
    for point in station.get("refillPoint", ()):
        powers = point.get("aegiElectricChargingPoint", {}).get("availableChargingPower")
        if powers:
            total += max(powers)
    return total


def complete_site(site: dict, location: dict) -> dict:
    _operator_id(site.get("operator"), identity.party(location))
    for station in site.get("energyInfrastructureStation", ()):
        for key in _SHARED_WITH_STATION:
            if key in site and key not in station:
                station[key] = site[key]
        if "totalMaximumPower" not in station:
            station["totalMaximumPower"] = _station_power(station)
        if "serviceType" not in station:
            station["serviceType"] = site.get("serviceType") or [{"serviceType": {"value": DEFAULT_SERVICE_TYPE}}]
    return site
