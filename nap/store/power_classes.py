"""Power classes of EVSEs by their maximum power, for every floor that groups by them.

The classes follow the categories of AFIR Annex III. The portal's overview, the map's
filters and clusters, and the statistics (which store each EVSE's class with its day) all
group by them, so they live on the store's floor, below all three.
"""
from __future__ import annotations

from sqlalchemy import case, func, select

from nap.store.tables import Connector, Evse

# Upper bounds exclusive, in watts.
POWER_CLASSES = (
    ("slow", "Slow: under 7.4 kW", 7_400),
    ("medium", "Medium: 7.4 to 22 kW", 22_001),
    ("fast", "Fast: over 22 and under 50 kW", 50_000),
    ("ultra_fast_1", "Ultra-fast: 50 to under 150 kW", 150_000),
    ("ultra_fast_2", "Ultra-fast: 150 to under 350 kW", 350_000),
    ("ultra_fast_3", "Ultra-fast: 350 kW and more", None),
)
UNKNOWN_POWER = ("unknown", "Maximum power not given")
LABELS = {key: label for key, label, _ in POWER_CLASSES} | {UNKNOWN_POWER[0]: UNKNOWN_POWER[1]}


def power_class(watts: float | None) -> tuple[str, str]:
    if not watts or watts <= 0:
        return UNKNOWN_POWER
    for key, label, below in POWER_CLASSES:
        if below is None or watts < below:
            return key, label
    return POWER_CLASSES[-1][:2]


def evse_power_watts(*evse_conditions):
    """Per EVSE: its highest connector power; max_voltage x max_amperage (x phases) when
    the CPO gave no max_electric_power. A subquery with columns evse_pk and watts.
    `evse_conditions` on Evse limit it to those EVSEs' connectors: a join to the subquery
    does not (PostgreSQL groups every connector of the store first)."""
    phases = case((Connector.power_type == "AC_3_PHASE", 3),
                  (Connector.power_type.in_(("AC_2_PHASE", "AC_2_PHASE_SPLIT")), 2), else_=1)
    derived = Connector.data["max_voltage"].as_float() * Connector.data["max_amperage"].as_float() * phases
    watts = func.coalesce(Connector.max_electric_power, derived)
    query = select(Connector.evse_pk.label("evse_pk"), func.max(watts).label("watts"))
    if evse_conditions:
        query = query.join(Evse, Evse.id == Connector.evse_pk).where(*evse_conditions)
    return query.group_by(Connector.evse_pk).subquery()
