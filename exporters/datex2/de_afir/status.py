"""The German profile's dynamic publication: a `messageContainer` holding one payload with an
aegiEnergyInfrastructureStatusPublication, and its exchangeInformation: snapshotPush (every
published charging point) or deltaPush (only those whose status or ad hoc price changed).

Each site status is the 3.7 AFIR one (exporters/datex2/status.py: the table's ids and
versions, the status mapping, one energyRateUpdate per ad hoc rate the table publishes at the
charging point, referring to that EnergyRate's idG), converted to the profile's JSON.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import BinaryIO, TYPE_CHECKING

import orjson
from lxml import etree
from sqlalchemy.orm import Session

from exporters.datex2 import source as datex2_source
from exporters.datex2.namespaces import AFIR
from exporters.datex2.publication import utc, write_sites
from exporters.datex2.selection import PartyOperators, PublishedSite
from exporters.datex2.status import build_site_status
from exporters.datex2.tariffs import TariffCatalogue, TariffCounts, TariffsByKey
from exporters.datex2.de_afir import envelope, source
from exporters.datex2.de_afir.convert import Converter
from exporters.datex2.de_afir.shapes import load
from exporters.datex2.de_afir.versioning import content_version, known_site_versions
from exporters.datex2.de_afir.table import TABLE_ID, catalogue_for, log_conversion
from nap.store.status_history import SeenChanges

if TYPE_CHECKING:  # annotations only: the export's child processes do without pydantic-settings
    from nap.config import Settings


def site_status_element(published: PublishedSite, catalogue: TariffCatalogue | None, at: datetime) -> etree._Element:
    """The 3.7 AFIR site status, with markers where the shared rate updates go (splices.py)."""
    if catalogue is None:
        return build_site_status(published, AFIR, at)
    catalogue.splices.clear()
    return build_site_status(published, AFIR, at, catalogue)


def write_status_document(out: BinaryIO, locations: Iterable[dict], settings: Settings, *, now: datetime,
                          table_version: str, delta: bool, tariffs_by_key: TariffsByKey | None = None,
                          party_operators: PartyOperators | None = None,
                          narrow: Callable[[PublishedSite], PublishedSite] | None = None) -> int:
    """The messageContainer over `locations` (for a delta, `narrow` keeps the charging
    points to publish of each site); the number of charging point statuses written."""
    at = utc(now)
    # Its drops are the table's to count and log: the status repeats the table's choice of rates.
    catalogue = catalogue_for(tariffs_by_key, at)
    converter = Converter(load()["status"], envelope.LANGUAGE, catalogue.splices if catalogue is not None else None)

    def build(published: PublishedSite) -> bytes:
        converter.local_offset = published.utc_offset or "Z"
        return orjson.dumps(converter.convert(site_status_element(published, catalogue, at),
                                              "EnergyInfrastructureSiteStatus"))

    publication = {**envelope.payload_header(settings, now),
                   "tableReference": [{"targetClass": "EnergyInfrastructureTable", "idG": TABLE_ID,
                                       "versionG": table_version}],
                   "energyInfrastructureSiteStatus": envelope.items()}
    document = {"messageContainer": {
        "payload": [envelope.payload("aegiEnergyInfrastructureStatusPublication", publication)],
        "exchangeInformation": envelope.exchange_information(settings, now,
                                                             envelope.DELTA if delta else envelope.SNAPSHOT)}}
    with envelope.streamed(out, document) as write:
        written = write_sites(locations, AFIR, build, "de-afir status", write, party_operators, at, narrow)
    log_conversion("status", converter, TariffCounts())
    return written


def write_status(out: BinaryIO, session: Session, settings: Settings, *, now: datetime,
                 since: datetime | None = None, parties: source.Parties | None = None,
                 seen: SeenChanges = SeenChanges()) -> int:
    """since=None: a snapshotPush of every published charging point; else a deltaPush of
    those whose status or ad hoc price changed after `since`, but for the changes `seen`
    (a subscriber's last delivery had them). Returns the
    number of charging point statuses written (0 with a `since`: nothing changed)."""
    version = content_version(session, now)
    # The site versions content_version has just brought up to date spare a delta reading
    # whole locations (source.ChangedStatuses).
    site_versions = partial(known_site_versions, session)
    documents, narrow = (source.changed_documents(session, since, parties, seen, site_versions) if since is not None
                         else (source.location_documents(session, parties), None))
    return write_status_document(out, documents, settings, now=now, table_version=version, delta=since is not None,
                                 tariffs_by_key=datex2_source.tariff_lookup(session),
                                 party_operators=datex2_source.party_operators(session), narrow=narrow)
