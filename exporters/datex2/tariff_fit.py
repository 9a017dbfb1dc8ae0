"""Which elements of a tariff one charging point publishes, in one DATEX II model.

Three steps, each of which keeps the tariff's meaning exactly or refuses it with a Drop:

1. Power and current restrictions. Neither model has an element for them, but at a given
   charging point they can often be decided: the session can never exceed the connectors'
   maximum. An element whose minimum lies above that maximum never applies there and is left
   out (as is one with a maximum of 0 or less, in any dimension); a maximum above it always
   holds and is removed. Anything else drops the tariff.
2. What the model can state (see `_afir_problem` and `_generic_problem`).
3. Elements that cannot change the price are left out: reservation prices (neither model
   has one), and components shadowed by an earlier unrestricted element of the same
   dimension (OCPI uses the first matching element per dimension, so those never apply).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from exporters.datex2 import mapping, ocpi
from exporters.datex2.tariff_model import Drop, Element, Tariff

_DAY_SECONDS = 24 * 3600
# (minimum, maximum, Limits attribute, unit)
_ELECTRICAL = (("min_power", "max_power", "power_kw", "kW"), ("min_current", "max_current", "current_a", "A"))

OMITTED_RESERVATION = "reservation"
OMITTED_NEVER = "never applies at this charging point"
OMITTED_SHADOWED = "shadowed by an earlier unrestricted element"


@dataclass(frozen=True)
class Limits:
    """The most a session can reach on the connectors that use a tariff (None: unknown)."""
    power_kw: float | None
    current_a: float | None


def connector_limits(connectors: Iterable[dict]) -> Limits:
    powers, currents = [], []
    for connector in connectors:
        power = ocpi.connector_power_w(connector)
        powers.append(power / 1000 if power is not None else None)
        amperage, phases = (ocpi.positive(connector.get("max_amperage")),
                            mapping.PHASES.get(ocpi.code(connector.get("power_type"))))
        # OCPI current restrictions are "summed over all phases".
        currents.append(amperage * phases if amperage is not None and phases is not None else None)
    return Limits(power_kw=None if not powers or None in powers else max(powers),
                  current_a=None if not currents or None in currents else max(currents))


@dataclass(frozen=True)
class Fitted:
    tariff: Tariff
    elements: tuple[Element, ...]           # OCPI order, each keeping its OCPI index
    omitted: tuple[tuple[str, int], ...]    # (why, element index) left out without changing the price

    @property
    def free(self) -> bool:
        return all(c.price == 0 for element in self.elements for c in element.components)

    @property
    def dimensions(self) -> set[str]:
        return {c.dimension for element in self.elements for c in element.components}


def _never(element: Element, limits: Limits) -> bool:
    """True when the element cannot apply here: a maximum of 0 or less (kWh, duration, power,
    current: "valid until this value, exclusive") or a minimum the connectors never reach."""
    restrictions = element.restrictions
    if any(value is not None and value <= 0 for value in (
            restrictions.max_kwh, restrictions.max_duration, restrictions.max_power, restrictions.max_current)):
        return True
    return any(getattr(restrictions, low) is not None and getattr(limits, attribute) is not None
               and getattr(limits, attribute) < getattr(restrictions, low) for low, _, attribute, _ in _ELECTRICAL)


def _electrical(element: Element, limits: Limits) -> Element | Drop:
    """The element with power/current restrictions decided (it can apply here)."""
    restrictions = element.restrictions
    for low, high, attribute, unit in _ELECTRICAL:
        bound, minimum, maximum = getattr(limits, attribute), getattr(restrictions, low), getattr(restrictions, high)
        reach = f"the connectors reach {ocpi.xml_number(bound)} {unit}" if bound is not None else "unknown maximum"
        if minimum is not None:  # > 0 (smaller minimums are removed when reading)
            return Drop(low, f"{low} {ocpi.xml_number(minimum)} {unit} has no DATEX II element ({reach})")
        if maximum is not None:
            if bound is None or bound >= maximum:
                return Drop(high, f"{high} {ocpi.xml_number(maximum)} {unit} has no DATEX II element ({reach})")
            restrictions = restrictions.without(high)  # never reached here: always holds
    return replace(element, restrictions=restrictions)


def _afir_problem(element: Element) -> Drop | None:
    """aegi:EnergyPrice states calendar periods, whole kWh and whole minutes."""
    restrictions = element.restrictions
    for key in ("min_kwh", "max_kwh"):
        value = getattr(restrictions, key)
        if value is not None and value != int(value):
            return Drop(key, f"{key} {value} is not whole kWh (energyBasedApplicability counts whole kWh)")
    for key in ("min_duration", "max_duration"):
        value = getattr(restrictions, key)
        if value is not None and value % 60:
            return Drop(key, f"{key} {value} s is not whole minutes (timeBasedApplicability counts minutes)")
    return None


def _generic_problem(element: Element) -> Drop | None:
    """fac:RateLineCollection/RateLine state dates, one time window per line (time of day
    or time since the session started, per collection) and nothing else."""
    restrictions = element.restrictions
    if restrictions.days:
        return Drop("day_of_week", "the generic rate model has no day-of-week applicability")
    for key in ("min_kwh", "max_kwh"):
        if getattr(restrictions, key) is not None:
            return Drop(key, "the generic rate model has no energy-based applicability")
    for key in ("min_duration", "max_duration"):
        value = getattr(restrictions, key)
        if value is None:
            continue
        if restrictions.time_of_day:
            return Drop(key, "a rate line collection counts times either from the session start or by the "
                             "clock (relativeTimes), not both")
        if value > _DAY_SECONDS:
            return Drop(key, f"{key} {value} s exceeds the 24 hours a rate line time can hold")
    return None


def fit(tariff: Tariff, limits: Limits, profile_name: str) -> Fitted | Drop:
    if profile_name == "afir" and tariff.last_updated is None:
        return Drop("last_updated", "aegi:EnergyRate requires lastUpdated")
    problem_of = _afir_problem if profile_name == "afir" else _generic_problem
    kept, omitted, covered = [], [], set()
    for element in tariff.elements:
        if element.restrictions.reservation:
            omitted.append((OMITTED_RESERVATION, element.index))
            continue
        if _never(element, limits):
            omitted.append((OMITTED_NEVER, element.index))
            continue
        decided = _electrical(element, limits)
        if isinstance(decided, Drop):
            return decided
        problem = problem_of(decided)
        if problem is not None:
            return problem
        components = tuple(c for c in decided.components if c.dimension not in covered)
        if len(components) < len(decided.components):
            omitted.append((OMITTED_SHADOWED, element.index))
        if decided.restrictions.empty:
            covered.update(c.dimension for c in decided.components)
        if components:
            kept.append(replace(decided, components=components))
    if not kept:
        field = "reservation" if all(why == OMITTED_RESERVATION for why, _ in omitted) else "elements"
        return Drop(field, "no charging price left to publish at this charging point")
    return Fitted(tariff=tariff, elements=tuple(kept), omitted=tuple(omitted))
