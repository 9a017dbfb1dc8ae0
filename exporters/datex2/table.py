"""DATEX II 3.7 EnergyInfrastructureTablePublication (static data), streamed.

    from exporters.datex2.table import write_table
    count = write_table(out, locations, profile="afir", publication_time=now, tariffs_by_key=lookup,
                        party_operators=operators)

`locations` may be a generator over millions of OCPI 2.3.0 Locations: each site is built,
written and dropped before the next location is read. A location that cannot be written
validly is skipped with a warning (see selection.published_site); it never aborts the file.
Note: DATEX II requires at least one site per table, so a table over zero publishable
locations is well-formed but not schema-valid; callers can tell by the returned count.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import BinaryIO

from lxml import etree

from exporters.datex2 import tariffs
from exporters.datex2.namespaces import Profile, profile_named
from exporters.datex2.publication import payload, utc, write_sites, writer_into
from exporters.datex2.selection import PartyOperators, PublishedSite, VersionDigest
from exporters.datex2.site import build_site
from exporters.datex2.tariffs import TariffCounts, TariffsByKey

log = logging.getLogger("exporters.datex2")


def _site_bytes(site: PublishedSite, profile: Profile, catalogue: tariffs.TariffCatalogue | None,
                at: datetime) -> etree._Element | bytes:
    if catalogue is None:
        return build_site(site, profile, catalogue=None, at=at)
    catalogue.splices.clear()
    return catalogue.splices.serialize(build_site(site, profile, catalogue=catalogue, at=at))


def write_table_sites(write: Callable[[etree._Element | bytes], object], locations: Iterable[dict], *,
                      profile: str, publication_time: datetime, tariffs_by_key: TariffsByKey | None,
                      party_operators: PartyOperators | None = None, tariff_counts: TariffCounts | None = None,
                      site_versions: VersionDigest | None = None) -> int:
    """Only the sites of a table, each handed to `write` (bytes, or an element when there
    are no tariffs to splice): what one part of a table written in parallel holds. What the
    tariffs left out is counted into `tariff_counts`."""
    chosen = profile_named(profile)
    at = utc(publication_time)
    catalogue = (tariffs.TariffCatalogue(tariffs_by_key, chosen, at, tariff_counts)
                 if tariffs_by_key is not None else None)
    return write_sites(locations, chosen, lambda site: _site_bytes(site, chosen, catalogue, at), "table", write,
                       party_operators, at, versions=site_versions)


def write_table(out: BinaryIO, locations: Iterable[dict], *, profile: str = "generic", publication_time: datetime,
                table_id: str = "NAP", table_version: str = "1", country: str = "de",
                national_identifier: str = "NAP", tariffs_by_key: TariffsByKey | None = None,
                preamble: str | None = None, more_sites: Callable[[Callable], int] | None = None,
                party_operators: PartyOperators | None = None, tariff_counts: TariffCounts | None = None,
                site_versions: VersionDigest | None = None) -> int:
    """Write the table publication to the binary file `out`; return the number of refill
    points (charging points, i.e. OCPI EVSEs) written. `more_sites(write)`, if given, adds
    sites written elsewhere after those of `locations` (parallel.py), and their tariff
    counts to `tariff_counts`.
    `party_operators`: the operator of each party's locations that name none (pass the same
    to write_status: it is part of the site versions).
    `tariff_counts`: where this publication counts the tariffs it leaves out (a fresh
    TariffCounts when not given); a WARNING sums up the drops.
    `site_versions`: gets the sites' versions (parallel.py's protocol; the 3.7 table's
    version comes from the store's change times instead)."""
    chosen = profile_named(profile)
    at = utc(publication_time)
    counts = tariff_counts if tariff_counts is not None else TariffCounts()
    with payload(out, chosen, "EnergyInfrastructureTablePublication", publication_time=at, country=country,
                 national_identifier=national_identifier, preamble=preamble) as xf:
        with xf.element(chosen.e("energyInfrastructureTable"), id=table_id, version=table_version):
            write = writer_into(xf, out)
            written = write_table_sites(write, locations, profile=profile, publication_time=at,
                                        tariffs_by_key=tariffs_by_key, party_operators=party_operators,
                                        tariff_counts=counts, site_versions=site_versions)
            if more_sites is not None:
                written += more_sites(write)
    dropped = +counts.dropped
    if dropped:
        log.warning("DATEX II %s table: tariffs not published at %d charging point(s), by reason: %s",
                    profile, sum(dropped.values()), {field: n for (_, field), n in dropped.items()})
    return written
