"""The national picture for the public pages: how many operators (verified OCPI parties
that publish something), locations and EVSEs NAP publishes, their power classes and the
share available right now.

Counts follow the publication rules for an anonymous reader, so the overview agrees with
the public API: current locations with `publish: true`, and their EVSEs except REMOVED
ones. Everything is aggregated in SQL; only a few grouped rows come back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from nap.parties import VERIFIED
from nap.store.power_classes import POWER_CLASSES, UNKNOWN_POWER, evse_power_watts, power_class
from nap.store.tables import Evse, FeedParty, Location



@dataclass
class NetworkStats:
    cpos: int  # operators: verified parties with published locations
    locations: int
    evses: int
    available: int
    power_classes: list[tuple[str, str, int]] = field(default_factory=list)  # key, label, EVSEs
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def available_percent(self) -> float | None:
        return round(100 * self.available / self.evses, 1) if self.evses else None


def _published_locations(feed_id: int | None):
    condition = [Location.removed_at.is_(None), Location.publish.is_(True)]
    if feed_id is not None:
        condition.append(Location.feed_id == feed_id)
    return condition


def network_stats(session: Session, feed_id: int | None = None) -> NetworkStats:
    published = _published_locations(feed_id)
    locations = session.scalar(select(func.count()).select_from(Location).where(*published))
    # Operators, not feeds: one feed may publish for several parties (a back-end provider),
    # and only under a verified claim does a party count.
    operators = (select(Location.country_code, Location.party_id)
                 .join(FeedParty, and_(FeedParty.feed_id == Location.feed_id,
                                       FeedParty.country_code == Location.country_code,
                                       FeedParty.party_id == Location.party_id, FeedParty.state == VERIFIED))
                 .where(*published).distinct().subquery())
    cpos = session.scalar(select(func.count()).select_from(operators))
    statuses = dict(session.execute(
        select(Evse.status, func.count()).join(Location, Location.id == Evse.location_pk)
        .where(*published, Evse.status != "REMOVED").group_by(Evse.status)).all())
    power = evse_power_watts()
    counts: dict[str, int] = {}
    for watts, number in session.execute(
            select(power.c.watts, func.count()).select_from(Evse)
            .join(Location, Location.id == Evse.location_pk)
            .outerjoin(power, power.c.evse_pk == Evse.id)
            .where(*published, Evse.status != "REMOVED").group_by(power.c.watts)):
        key, _label = power_class(watts)
        counts[key] = counts.get(key, 0) + number
    classes = [(key, label, counts.get(key, 0)) for key, label, _ in POWER_CLASSES]
    if counts.get(UNKNOWN_POWER[0]):
        classes.append((*UNKNOWN_POWER, counts[UNKNOWN_POWER[0]]))
    return NetworkStats(cpos=cpos, locations=locations, evses=sum(statuses.values()),
                        available=statuses.get("AVAILABLE", 0), power_classes=classes, statuses=statuses)


def published_bounds(session: Session) -> tuple[float, float, float, float] | None:
    """(min_lat, max_lat, min_lon, max_lon) of the published locations, to frame the map."""
    row = session.execute(select(func.min(Location.latitude), func.max(Location.latitude),
                                 func.min(Location.longitude), func.max(Location.longitude))
                          .where(*_published_locations(None))).one()
    return None if row[0] is None else tuple(row)
