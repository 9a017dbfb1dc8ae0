"""What the German publication reads from the store: the 3.7 publication's readers
(exporters/datex2/source.py), narrowed to the parties a subscriber asked for."""
from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import Session

from exporters.datex2 import ocpi, source
from exporters.datex2.selection import PublishedSite
from nap.store.documents import iter_location_documents
from nap.store.status_history import SeenChanges
from nap.store.tables import Location

Parties = Collection[tuple[str, str]]


def party_keys(parties: Parties | None) -> frozenset[tuple[str, str]] | None:
    """(COUNTRY, PARTY), upper-case: OCPI country codes and party ids are case-insensitive."""
    if parties is None:
        return None
    return frozenset((str(country).upper(), str(party).upper()) for country, party in parties)


def published_locations(parties: Parties | None = None):
    """The published locations, of the given parties only (None: all)."""
    query = source.published_locations()
    keys = party_keys(parties)
    if keys is None:
        return query
    if not keys:
        return query.where(Location.id.is_(None))  # no party asked for: nothing
    return query.where(or_(*(and_(func.upper(Location.country_code) == country, func.upper(Location.party_id) == party)
                             for country, party in sorted(keys))))


def of_parties(documents: Iterable[dict], parties: Parties | None) -> Iterator[dict]:
    keys = party_keys(parties)
    for document in documents:
        if keys is None or ((ocpi.text(document.get("country_code")) or "").upper(),
                            (ocpi.text(document.get("party_id")) or "").upper()) in keys:
            yield document


def location_documents(session: Session, parties: Parties | None = None) -> Iterator[dict]:
    return iter_location_documents(session, published_locations(parties))


def changed_documents(session: Session, since: datetime, parties: Parties | None = None,
                      seen: SeenChanges = SeenChanges(), site_versions: source.SiteVersions | None = None
                      ) -> tuple[Iterator[dict], Callable[[PublishedSite], PublishedSite]]:
    """The locations whose charging points' status or ad hoc price changed after `since`
    (but for the changes `seen`), and what to keep of each selected site
    (source.ChangedStatuses)."""
    delta = source.ChangedStatuses(session, since, prices=True, seen=seen, site_versions=site_versions)
    return of_parties(delta, parties), delta.narrow
