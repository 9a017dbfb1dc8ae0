"""The German profile's static publication: a `payload` with an
aegiEnergyInfrastructureTablePublication, streamed site by site.

Each site is the 3.7 AFIR site that exporters/datex2 builds (same selection, ids, versions,
tariffs, opening hours, supplements) in the profile's JSON: written directly (sites.py) or,
for a site with a CPO supplement, built and converted (convert.py); then completed where the
profile asks for more (completion.py), serialised with orjson and dropped before the next
location is read.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import BinaryIO, TYPE_CHECKING

import orjson
from lxml import etree
from sqlalchemy.orm import Session, sessionmaker

from exporters.datex2 import parallel, source as datex2_source
from exporters.datex2.namespaces import AFIR
from exporters.datex2.publication import utc, write_sites
from exporters.datex2.selection import PartyOperators, PublishedSite, VersionDigest
from exporters.datex2.site import build_site
from exporters.datex2.tariffs import TariffCatalogue, TariffCounts, TariffsByKey
from exporters.datex2.de_afir import envelope, source
from exporters.datex2.de_afir.completion import complete_site
from exporters.datex2.de_afir.convert import Converter
from exporters.datex2.de_afir.shapes import load
from exporters.datex2.de_afir.sites import SiteWriter, has_supplement
from exporters.datex2.de_afir.versioning import content_version, version_of
from exporters.datex2.de_afir.splices import RecordingSplices

if TYPE_CHECKING:  # annotations only: the export's child processes do without pydantic-settings
    from nap.config import Settings

log = logging.getLogger("exporters.datex2")

TEMPLATES_KEPT = 1024  # tariff templates per publication; a national table has a few hundred
TABLE_ID = "NAP"  # as the 3.7 table's: one table, whose version says when it changed


def catalogue_for(tariffs_by_key: TariffsByKey | None, at: datetime,
                  counts: TariffCounts | None = None) -> TariffCatalogue | None:
    """The publication's tariffs (tariffs.py), with splices the converter can read."""
    if tariffs_by_key is None:
        return None
    # A quarter of the 3.7 writers' memory for templates: the converter keeps the JSON of as
    # many besides (convert.py), and both stay within the table's memory target per process.
    catalogue = TariffCatalogue(tariffs_by_key, AFIR, at, counts, capacity=TEMPLATES_KEPT)
    catalogue.splices = RecordingSplices()
    return catalogue


def site_element(published: PublishedSite, catalogue: TariffCatalogue | None, at: datetime) -> etree._Element:
    """The 3.7 AFIR site, with markers where the shared tariff XML goes (splices.py)."""
    if catalogue is not None:
        catalogue.splices.clear()
    return build_site(published, AFIR, catalogue=catalogue, at=at)


def converted_site(published: PublishedSite, catalogue: TariffCatalogue | None, at: datetime,
                   converter: Converter) -> dict:
    """The 3.7 AFIR site converted (before complete_site): what SiteWriter writes directly."""
    return converter.convert(site_element(published, catalogue, at), "EnergyInfrastructureSite")


def write_sites_json(write: Callable[[bytes], object], locations: Iterable[dict], *, now: datetime, tariffs_by_key: TariffsByKey | None,
                     party_operators: PartyOperators | None, converter: Converter,
                     tariff_counts: TariffCounts | None = None, site_versions: VersionDigest | None = None) -> int:
    at = utc(now)
    catalogue = catalogue_for(tariffs_by_key, at, tariff_counts)
    converter.splices = catalogue.splices if catalogue is not None else None

    sites = SiteWriter(converter, catalogue, at)

    def build(published: PublishedSite) -> bytes:
        converter.local_offset = published.utc_offset or "Z"
        site = converted_site(published, catalogue, at, converter) if has_supplement(published) else sites.site(published)
        return orjson.dumps(complete_site(site, published.location))

    return write_sites(locations, AFIR, build, "de-afir table", write, party_operators, at, versions=site_versions)


def write_table_sites(write: Callable[[bytes], object], locations: Iterable[dict], *, now: datetime,
                      tariffs_by_key: TariffsByKey | None, party_operators: PartyOperators | None,
                      tariff_counts: TariffCounts, site_versions: VersionDigest | None = None) -> int:
    """Only the sites (one JSON object each) of a table: what one part of a table written
    in parallel holds (exporters/datex2/parallel.py, in a child process)."""
    converter = Converter(load()["table"], envelope.LANGUAGE)
    written = write_sites_json(write, locations, now=now, tariffs_by_key=tariffs_by_key,
                               party_operators=party_operators, converter=converter, tariff_counts=tariff_counts,
                               site_versions=site_versions)
    log_conversion("table part", converter, TariffCounts())  # the tariffs' drops: the whole table's, logged once
    return written


def write_table_document(out: BinaryIO, locations: Iterable[dict], settings: Settings, *, now: datetime,
                         table_version: str | Callable[[VersionDigest], str], tariffs_by_key: TariffsByKey | None = None,
                         party_operators: PartyOperators | None = None, tariff_counts: TariffCounts | None = None,
                         more_sites: Callable[[Callable], int] | None = None,
                         site_versions: VersionDigest | None = None) -> int:
    """The table over `locations` (OCPI 2.3.0 documents); the number of charging points.
    `more_sites(write)`, if given, adds sites written elsewhere after those of `locations`
    (parallel.py), their tariff counts to `tariff_counts` and their versions to
    `site_versions`. `table_version`: the versionG, or what makes it from the digest of the
    sites' versions once they are written (it follows them in the table then)."""
    converter = Converter(load()["table"], envelope.LANGUAGE)
    counts = tariff_counts if tariff_counts is not None else TariffCounts()
    versions = site_versions if site_versions is not None else VersionDigest()
    deferred = callable(table_version)
    table = {"idG": TABLE_ID, "versionG": table_version, "energyInfrastructureSite": envelope.items()}
    if deferred:  # JSON objects are unordered: the version after the sites it is made from
        table = {"idG": TABLE_ID, "energyInfrastructureSite": envelope.items(), "versionG": envelope.later()}
    publication = {**envelope.payload_header(settings, now), "energyInfrastructureTable": [table]}
    with envelope.streamed(out, {"payload": envelope.payload("aegiEnergyInfrastructureTablePublication",
                                                             publication)},
                           (lambda: table_version(versions)) if deferred else None) as write:
        written = write_sites_json(write, locations, now=now, tariffs_by_key=tariffs_by_key,
                                   party_operators=party_operators, converter=converter, tariff_counts=counts,
                                   site_versions=versions)
        if more_sites is not None:
            written += more_sites(write)
    log_conversion("table", converter, counts)
    return written


def log_conversion(kind: str, converter: Converter, counts: TariffCounts) -> None:
    if converter.dropped:
        log.debug("DATEX II de-afir %s: 3.7 elements the profile has no place for: %s", kind,
                  dict(converter.dropped))
    if converter.extended:
        log.info("DATEX II de-afir %s: values written as extendedG: %s", kind, dict(converter.extended))
    dropped: Counter = +counts.dropped
    if dropped:
        log.warning("DATEX II de-afir %s: tariffs not published at %d charging point(s), by reason: %s", kind,
                    sum(dropped.values()), {field: n for (_, field), n in dropped.items()})


def write_table(out: BinaryIO, session: Session, settings: Settings, *, now: datetime,
                parties: source.Parties | None = None) -> int:
    """The UTF-8 JSON `payload` of the German profile into the binary file `out`; the number
    of charging points written. `parties`: (country_code, party_id) pairs to keep, None: all.
    Note: the profile requires at least one site, so a table of nothing (0) is well-formed
    but not schema-valid; the caller publishes nothing then."""
    version = content_version(session, now)
    return write_table_document(out, source.location_documents(session, parties), settings, now=now,
                                table_version=version, tariffs_by_key=datex2_source.tariff_lookup(session),
                                party_operators=datex2_source.party_operators(session))


def write_table_in_parallel(out: BinaryIO, sessions: sessionmaker[Session], settings: Settings, *, now: datetime,
                            jobs: int, temp_dir: str | None = None,
                            state: Callable[[Session, str], object] | None = None) -> int:
    """The table of all published locations, as write_table writes it, its sites written by
    `jobs` processes from one snapshot of the store (exporters/datex2/parallel.py).
    `state(session, version)`, if given, is called with the snapshot's session and the
    table's versionG once it is made (what table_version gives for that state)."""
    def document(out: BinaryIO, session: Session, locations: Iterable[dict], **parts) -> int:
        # The version from the sites as they are written: the same content_version gives
        # (versioning.py), without reading every location before the first site. Its tariff
        # state is read in the snapshot the sites come from.
        def version(versions: VersionDigest) -> str:
            made = version_of(session, versions)
            if state is not None:
                state(session, made)
            return made
        return write_table_document(out, locations, settings, now=now, table_version=version, **parts)
    return parallel.write_in_parallel(out, sessions, jobs=jobs, sites=partial(write_table_sites, now=now),
                                      document=document, separator=b",", temp_dir=temp_dir)
