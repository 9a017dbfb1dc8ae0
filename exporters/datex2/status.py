"""DATEX II 3.7 EnergyInfrastructureStatusPublication (dynamic data), streamed.

    from exporters.datex2.status import write_status
    count = write_status(out, locations, profile="generic", publication_time=now)

One siteStatus per location, one stationStatus (the synthesized station, see site.py), one
refillPointStatus per EVSE. References use the ids and versions of the table publication
(same selection, same fingerprints) and the schema's fixed targetClass strings.

AFIR makes the ad hoc price dynamic data (Annex F3): given `tariffs_by_key` (the table's),
each AFIR refillPointStatus carries an energyRateUpdate per ad hoc rate the table publishes
at that refill point, referring to the table's aegi:EnergyRate by its id. The rates are
chosen and fitted by the table's code (tariffs.py), so a rate the table leaves out is left
out here too. The generic model has no rate update (and no energy rate): its status carries
no price.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import BinaryIO

from lxml import etree

from exporters.datex2 import mapping, ocpi, tariff_afir
from exporters.datex2.namespaces import COM, Profile, profile_named, q
from exporters.datex2.opening_hours import opening_status
from exporters.datex2.publication import payload, utc, write_sites, writer_into
from exporters.datex2.scoped_xml import ScopedXml
from exporters.datex2.selection import PartyOperators, PublishedEvse, PublishedSite
from exporters.datex2.tariffs import TariffCatalogue, TariffsByKey, TariffSource
from exporters.datex2.xmlbuild import Element, bool_text, sub, typed


def _reference(parent: Element, profile: Profile, object_id: str, version: str) -> None:
    # The value is fixed by the schema and compared as a string: the prefix must be literal.
    sub(parent, profile.f("reference"),
        attrib={"targetClass": f"{profile.fac}:FacilityObject", "id": object_id, "version": version})


def _evse_status(evse: dict) -> str:
    return mapping.EVSE_STATUS.get(ocpi.code(evse.get("status")), mapping.EVSE_STATUS_FALLBACK)


def _is_available(evses: list[PublishedEvse]) -> bool | None:
    """True if any EVSE is available, False if none is and all statuses are known, else unknown."""
    statuses = [ocpi.code(cp.evse.get("status")) for cp in evses]
    if "AVAILABLE" in statuses:
        return True
    if statuses and all(s in mapping.EVSE_STATUS and s != "UNKNOWN" for s in statuses):
        return False
    return None


def _write_planned(parent: Element, profile: Profile, evse: dict, at: datetime) -> None:
    """AFIR: OCPI status_schedule -> plannedRefillPointStatus (current and future periods)."""
    for entry in ocpi.dicts(evse.get("status_schedule")):
        status = mapping.EVSE_STATUS.get(ocpi.code(entry.get("status")))
        begin, end = ocpi.timestamp(entry.get("period_begin")), ocpi.timestamp(entry.get("period_end"))
        if status is None or begin is None or (end is not None and (end <= at or end <= begin)):
            continue
        planned = sub(parent, profile.e("plannedRefillPointStatus"))
        sub(planned, profile.e("status"), status)
        period = sub(planned, profile.e("overallPeriod"))
        sub(period, q(COM, "overallStartTime"), ocpi.xml_datetime(begin))
        if end is not None:
            sub(period, q(COM, "overallEndTime"), ocpi.xml_datetime(end))


def _write_rate_updates(parent: Element, profile: Profile, charge_point: PublishedEvse,
                        tariffs: TariffSource) -> None:
    """AFIR: the current ad hoc prices of the refill point, one energyRateUpdate per ad hoc
    rate of the table (contract prices are no AFIR dynamic data and stay in the table).
    Thousands of refill points share a few rates, whose updates differ only in the refill
    point's id: they are written once per publication and spliced in (scoped_xml.py)."""
    rates = [rate for rate in tariffs.rates(charge_point.evse)
             if rate.fitted.tariff.policy == mapping.RATE_POLICY_AD_HOC]
    if not rates:
        return

    def builder(container: Element, scope: str) -> None:
        for rate in rates:
            tariff_afir.write_energy_rate_update(container, profile, rate.fitted, rate_id=rate.id_in(scope))

    catalogue = tariffs.catalogue
    key = ("afir rate updates", tuple((rate.tariff_id, rate.version) for rate in rates))
    catalogue.splices.insert(parent, catalogue.products.get(key, lambda: ScopedXml.build(profile, builder)),
                             charge_point.id)


def _write_refill_point_status(parent: Element, profile: Profile, charge_point: PublishedEvse, at: datetime,
                               tariffs: TariffSource | None = None) -> None:
    evse = charge_point.evse
    element = typed(parent, profile.e("refillPointStatus"), profile.etype("ElectricChargingPointStatus"))
    _reference(element, profile, charge_point.id, charge_point.version)
    last_updated = ocpi.xml_timestamp(evse.get("last_updated"))
    if last_updated:
        sub(element, profile.f("lastUpdated"), last_updated)
    operation = mapping.OPERATION_STATUS.get(ocpi.code(evse.get("status")))
    if profile.is_afir and operation:
        sub(element, profile.f("operationStatus"), operation)
    sub(element, profile.e("status"), _evse_status(evse))
    if profile.is_afir and tariffs is not None:
        _write_rate_updates(element, profile, charge_point, tariffs)
    if profile.is_afir:
        _write_planned(element, profile, evse, at)


def build_site_status(published: PublishedSite, profile: Profile, at: datetime,
                      catalogue: TariffCatalogue | None = None) -> Element:
    """`catalogue`: the tariffs of the publication (AFIR: the ad hoc prices), or None."""
    location = published.location
    site = etree.Element(profile.e("energyInfrastructureSiteStatus"), nsmap=profile.nsmap)
    _reference(site, profile, published.id, published.version)
    last_updated = ocpi.xml_timestamp(location.get("last_updated"))
    if last_updated:
        sub(site, profile.f("lastUpdated"), last_updated)
    opening = opening_status(location.get("opening_times"), location.get("time_zone"), at)
    if opening:
        sub(site, profile.f("openingStatus"), opening)
    if published.evses:
        station = sub(site, profile.e("energyInfrastructureStationStatus"))
        _reference(station, profile, published.station_id, published.version)
        if last_updated:
            sub(station, profile.f("lastUpdated"), last_updated)
        available = _is_available(published.evses)
        if available is not None:
            sub(station, profile.e("isAvailable"), bool_text(available))
        tariffs = TariffSource(catalogue, location, published.id) if catalogue is not None else None
        for charge_point in published.evses:
            _write_refill_point_status(station, profile, charge_point, at, tariffs)
    return site


def _site_status(site: PublishedSite, profile: Profile, at: datetime,
                 catalogue: TariffCatalogue | None) -> etree._Element | bytes:
    if catalogue is None:
        return build_site_status(site, profile, at)
    catalogue.splices.clear()
    return catalogue.splices.serialize(build_site_status(site, profile, at, catalogue))


def _catalogue(tariffs_by_key: TariffsByKey | None, profile: Profile, at: datetime) -> TariffCatalogue | None:
    # Its drops and omissions are the table's to count and log: the status repeats its choice.
    return TariffCatalogue(tariffs_by_key, profile, at) if tariffs_by_key is not None and profile.is_afir else None


@contextmanager
def _envelope(out: BinaryIO, profile: Profile, at: datetime, table_id: str, table_version: str, country: str,
              national_identifier: str, preamble: str | None) -> Iterator[etree.xmlfile]:
    with payload(out, profile, "EnergyInfrastructureStatusPublication", publication_time=at, country=country,
                 national_identifier=national_identifier, preamble=preamble) as xf:
        with xf.element(profile.e("tableReference"), targetClass=f"{profile.egi}:EnergyInfrastructureTable",
                        id=table_id, version=table_version):
            pass  # an empty element: all its information is in the attributes
        yield xf


def write_status(out: BinaryIO, locations: Iterable[dict], *, profile: str = "generic", publication_time: datetime,
                 table_id: str = "NAP", table_version: str = "1", country: str = "de",
                 national_identifier: str = "NAP", preamble: str | None = None,
                 party_operators: PartyOperators | None = None, tariffs_by_key: TariffsByKey | None = None,
                 narrow: Callable[[PublishedSite], PublishedSite] | None = None) -> int:
    """Write the status publication to the binary file `out`; return the number of refill
    point statuses written. `party_operators`: as given to write_table, so that the
    references carry the table's site versions. `tariffs_by_key`: as given to write_table;
    with it an AFIR status carries the ad hoc prices (energyRateUpdate). `narrow`: a delta's
    (source.ChangedStatuses), which keeps the charging points that changed."""
    chosen = profile_named(profile)
    at = utc(publication_time)
    catalogue = _catalogue(tariffs_by_key, chosen, at)
    with _envelope(out, chosen, at, table_id, table_version, country, national_identifier, preamble) as xf:
        return write_sites(locations, chosen, lambda site: _site_status(site, chosen, at, catalogue), "status",
                           writer_into(xf, out), party_operators, at, narrow)


def status_envelope(*, profile: str, publication_time: datetime, table_id: str = "NAP", table_version: str = "1",
                    country: str = "de", national_identifier: str = "NAP") -> tuple[bytes, bytes]:
    """The status publication without its site statuses: (what comes before them, what
    comes after), for a delta joined from site statuses written apart (status_segments.py)."""
    chosen = profile_named(profile)
    out = io.BytesIO()
    with _envelope(out, chosen, utc(publication_time), table_id, table_version, country, national_identifier,
                   None) as xf:
        xf.flush()
        split = out.tell()
    document = out.getvalue()
    return document[:split], document[split:]


def write_site_statuses(out: BinaryIO, locations: Iterable[dict], *, profile: str, publication_time: datetime,
                        party_operators: PartyOperators | None = None, tariffs_by_key: TariffsByKey | None = None,
                        narrow: Callable[[PublishedSite], PublishedSite] | None = None) -> int:
    """The site statuses write_status would write, without the envelope, each serialised
    whole (its namespaces declared on it, so that it reads the same wherever it is put
    into an envelope of status_envelope's); returns the refill point statuses written."""
    chosen = profile_named(profile)
    at = utc(publication_time)
    catalogue = _catalogue(tariffs_by_key, chosen, at)

    def write(element: etree._Element | bytes) -> None:
        out.write(element if isinstance(element, bytes) else etree.tostring(element))
    return write_sites(locations, chosen, lambda site: _site_status(site, chosen, at, catalogue), "status", write,
                       party_operators, at, narrow)
