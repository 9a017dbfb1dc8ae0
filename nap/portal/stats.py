"""The national picture for the public pages: how many operators (verified OCPI parties
that publish something), locations and EVSEs NAP publishes, their power classes and the
share available right now.

Counts follow the publication rules for an anonymous reader, so the overview agrees with
the public API: current locations with `publish: true`, and their EVSEs except REMOVED
ones. Everything is aggregated in SQL; only a few grouped rows come back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from nap.parties import VERIFIED
from nap.store.tables import Connector, Evse, FeedParty, Location

# Power classes by the EVSE's maximum power (the highest of its connectors), after the
# categories of AFIR Annex III; upper bounds exclusive, in watts.
POWER_CLASSES = (
    ("slow", "Slow: under 7.4 kW", 7_400),
    ("medium", "Medium: 7.4 to 22 kW", 22_001),
    ("fast", "Fast: over 22 and under 50 kW", 50_000),
    ("ultra_fast_1", "Ultra-fast: 50 to under 150 kW", 150_000),
    ("ultra_fast_2", "Ultra-fast: 150 to under 350 kW", 350_000),
    ("ultra_fast_3", "Ultra-fast: 350 kW and more", None),
)
UNKNOWN_POWER = ("unknown", "Maximum power not given")


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


def power_class(watts: float | None) -> tuple[str, str]:
    if not watts or watts <= 0:
        return UNKNOWN_POWER
    for key, label, below in POWER_CLASSES:
        if below is None or watts < below:
            return key, label
    return POWER_CLASSES[-1][:2]


def _published_locations(feed_id: int | None):
    condition = [Location.removed_at.is_(None), Location.publish.is_(True)]
    if feed_id is not None:
        condition.append(Location.feed_id == feed_id)
    return condition


def _evse_power_watts():
    """Per EVSE: its highest connector power; max_voltage x max_amperage (x phases) when
    the CPO gave no max_electric_power."""
    phases = case((Connector.power_type == "AC_3_PHASE", 3),
                  (Connector.power_type.in_(("AC_2_PHASE", "AC_2_PHASE_SPLIT")), 2), else_=1)
    derived = Connector.data["max_voltage"].as_float() * Connector.data["max_amperage"].as_float() * phases
    watts = func.coalesce(Connector.max_electric_power, derived)
    return (select(Connector.evse_pk.label("evse_pk"), func.max(watts).label("watts"))
            .group_by(Connector.evse_pk).subquery())


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
    power = _evse_power_watts()
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
