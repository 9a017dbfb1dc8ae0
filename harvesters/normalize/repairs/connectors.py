"""A connector's technical facts: what can be derived from the others, and values in the
wrong unit. The conventions (docs/repairs.md):

- max_voltage of AC is line to neutral (OCPI): 230 V for one, two and three phases in
  Europe, 120 V for North American split phase.
- max_electric_power = phases x voltage x amperage for AC, voltage x amperage for DC.
- A standard fixes the format where it only exists one way: combo (CCS), CHAdeMO, GB/T DC,
  Type 1 and the Tesla and J3400 plugs are cables; domestic, IEC 60309, NEMA and Type 3
  outlets are sockets. A Type 2 connector is a cable when it is DC or above 22 kW, and
  otherwise taken as a socket, the usual public AC point.
"""
from __future__ import annotations

from harvesters.normalize.repairs import walk
from harvesters.normalize.repairs.log import RepairLog
from harvesters.normalize.repairs.numbers import missing, number
from nap.ocpi.schemas import AMPERES, VOLTS, WATTS
from nap.ocpi.spellings import spec_value

DC_STANDARDS = frozenset({"IEC_62196_T1_COMBO", "IEC_62196_T2_COMBO", "CHADEMO", "GBT_DC", "CHAOJI", "MCS"})
ONE_PHASE_STANDARDS = frozenset({"IEC_62196_T1", "IEC_60309_2_single_16", "NEMA_5_20",
                                 *(f"DOMESTIC_{letter}" for letter in "ABCDEFGHIJKLMNO")})
THREE_PHASE_STANDARDS = frozenset({"IEC_60309_2_three_16", "IEC_60309_2_three_32", "IEC_60309_2_three_64"})
CABLE_STANDARDS = DC_STANDARDS | {"IEC_62196_T1", "TESLA_R", "TESLA_S", "SAE_J3400"}
SOCKET_STANDARDS = frozenset({"IEC_62196_T3A", "IEC_62196_T3C", *(s for s in ONE_PHASE_STANDARDS | THREE_PHASE_STANDARDS
                                                                  if s != "IEC_62196_T1")} |
                             {"NEMA_6_30", "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50"})
# Line-to-neutral voltage and the number of phases it is counted for, per AC power type.
AC_VOLTAGE = {"AC_1_PHASE": (230, 1), "AC_2_PHASE": (230, 2), "AC_3_PHASE": (230, 3), "AC_2_PHASE_SPLIT": (120, 2)}
TYPE2_SOCKET_MAX_WATTS = 22_000


def _standard(connector: dict) -> str | None:
    value = connector.get("standard")
    return spec_value("ConnectorType", value) if isinstance(value, str) else None


def _power_type(connector: dict) -> str | None:
    value = connector.get("power_type")
    return spec_value("PowerType", value) if isinstance(value, str) else None


def _in(value: float | None, bounds: tuple[int, int]) -> bool:
    return value is not None and bounds[0] <= value <= bounds[1]


def _phases_from_figures(connector: dict) -> str | None:
    """AC one or three phases, from voltage, amperage and power where they tell."""
    voltage, amperage = number(connector.get("max_voltage")), number(connector.get("max_amperage"))
    power = number(connector.get("max_electric_power"))
    if voltage is not None and 380 <= voltage <= 480:
        return "AC_3_PHASE"  # line to line: only three phases have it
    if voltage and amperage and power:
        ratio = power / (voltage * amperage)
        return "AC_3_PHASE" if 2.5 <= ratio <= 3.5 else "AC_1_PHASE" if 0.8 <= ratio <= 1.2 else None
    if voltage is not None and 200 <= voltage <= 250 and power is None:
        return "AC_1_PHASE"
    return None


def power_type_from_standard(location: dict, log: RepairLog) -> None:
    for path, _evse, connector in walk.connectors(location):
        given = connector.get("power_type")
        if _power_type(connector):
            continue
        standard = _standard(connector)
        if standard in DC_STANDARDS:
            derived, why = "DC", f"the standard {standard} is DC only"
        elif standard in ONE_PHASE_STANDARDS:
            derived, why = "AC_1_PHASE", f"the standard {standard} is single phase"
        elif standard in THREE_PHASE_STANDARDS:
            derived, why = "AC_3_PHASE", f"the standard {standard} is three phase"
        else:
            derived, why = _phases_from_figures(connector), "from its voltage, amperage and power"
        if derived:
            connector["power_type"] = derived
            reason = "missing" if missing(given) else f"{given!r} is not a PowerType"
            log.note(f"{path}.power_type", f"{reason}; {derived}, {why}", discarded=not missing(given))


def _unknown(value: object) -> bool:
    """Missing, or 0, which CPOs send for "not known"."""
    return missing(value) or number(value) == 0


def units(location: dict, log: RepairLog) -> None:
    """Figures in another unit: kW for W, kV for V, mA for A; a kW figure in max_voltage
    (below any charger's voltage) moves to max_electric_power. A negative figure, or one
    beyond reading, is left out for the rules below to derive. Only figures the schemas
    refuse are touched: a plausible one is the CPO's word."""
    for path, _evse, connector in walk.connectors(location):
        power = number(connector.get("max_electric_power"))
        if power is not None and power != 0 and not _in(power, WATTS):
            if power > 0 and _in(power * 1000, WATTS):
                connector["max_electric_power"] = round(power * 1000)
                log.note(f"{path}.max_electric_power", f"{power:g} read as kW: {round(power * 1000)} W")
            else:
                del connector["max_electric_power"]
                log.note(f"{path}.max_electric_power", f"{power:g} W is not a plausible power; left out",
                         discarded=True)
        voltage = number(connector.get("max_voltage"))
        plausible = VOLTS
        if voltage is not None and voltage != 0 and not _in(voltage, plausible):
            if 0 < voltage < 2 and _in(voltage * 1000, plausible):
                connector["max_voltage"] = round(voltage * 1000)
                log.note(f"{path}.max_voltage", f"{voltage:g} read as kV: {round(voltage * 1000)} V")
            elif voltage > plausible[1] and _in(voltage / 1000, plausible):
                connector["max_voltage"] = round(voltage / 1000)
                log.note(f"{path}.max_voltage", f"{voltage:g} read as mV: {round(voltage / 1000)} V")
            else:
                del connector["max_voltage"]
                if 2 <= voltage < plausible[0] and _unknown(connector.get("max_electric_power")):
                    connector["max_electric_power"] = round(voltage * 1000)
                    log.note(f"{path}.max_voltage", f"{voltage:g} is no voltage but a power in kW: "
                                                    f"moved to max_electric_power as {round(voltage * 1000)} W")
                else:
                    log.note(f"{path}.max_voltage", f"{voltage:g} V is not a plausible voltage; left out",
                             discarded=True)
        amperage = number(connector.get("max_amperage"))
        if amperage is not None and amperage != 0 and not _in(amperage, AMPERES):
            if amperage > AMPERES[1] and _in(amperage / 1000, AMPERES):
                connector["max_amperage"] = round(amperage / 1000)
                log.note(f"{path}.max_amperage", f"{amperage:g} read as mA: {round(amperage / 1000)} A")
            else:
                del connector["max_amperage"]
                log.note(f"{path}.max_amperage", f"{amperage:g} A is not a plausible current; left out",
                         discarded=True)


def voltage_from_power_type(location: dict, log: RepairLog) -> None:
    for path, _evse, connector in walk.connectors(location):
        given = connector.get("max_voltage")
        if not _unknown(given):
            continue
        power_type = _power_type(connector)
        if power_type in AC_VOLTAGE:
            voltage, why = AC_VOLTAGE[power_type][0], f"the line-to-neutral voltage of {power_type}"
        else:
            power, amperage = number(connector.get("max_electric_power")), number(connector.get("max_amperage"))
            voltage = round(power / amperage) if power and amperage else None
            why = "max_electric_power / max_amperage"
            if not _in(voltage, VOLTS):
                if missing(given) and power_type == "DC":
                    connector["max_voltage"] = 0
                    log.note(f"{path}.max_voltage", "missing and not derivable; published as 0 (not known)")
                continue
        connector["max_voltage"] = voltage
        log.note(f"{path}.max_voltage", f"{'missing' if missing(given) else '0'}; {voltage} V, {why}")


def amperage_from_power(location: dict, log: RepairLog) -> None:
    for path, _evse, connector in walk.connectors(location):
        given = connector.get("max_amperage")
        power = number(connector.get("max_electric_power"))
        if not _unknown(given):
            continue
        power_type, voltage = _power_type(connector), number(connector.get("max_voltage"))
        phases = AC_VOLTAGE[power_type][1] if power_type in AC_VOLTAGE else 1
        amperage = round(power / (phases * voltage)) if power and voltage else None
        if _in(amperage, AMPERES):
            connector["max_amperage"] = amperage
            log.note(f"{path}.max_amperage", f"{'missing' if missing(given) else '0'}; {amperage} A from "
                                             f"max_electric_power / ({'phases x ' if phases > 1 else ''}max_voltage)")
        elif missing(given) and power:
            connector["max_amperage"] = 0
            log.note(f"{path}.max_amperage", "missing and not derivable; published as 0 (not known)")


def format_from_standard(location: dict, log: RepairLog) -> None:
    for path, _evse, connector in walk.connectors(location):
        given = connector.get("format")
        if isinstance(given, str) and spec_value("ConnectorFormat", given):
            continue
        standard = _standard(connector)
        power = number(connector.get("max_electric_power"))
        if standard in CABLE_STANDARDS:
            derived, why = "CABLE", f"the standard {standard} is a cable"
        elif standard in SOCKET_STANDARDS:
            derived, why = "SOCKET", f"the standard {standard} is a socket"
        elif standard == "IEC_62196_T2" and _power_type(connector) == "DC":
            derived, why = "CABLE", "a DC Type 2 connector is a cable"
        elif standard == "IEC_62196_T2" and power is not None and power > TYPE2_SOCKET_MAX_WATTS:
            derived, why = "CABLE", f"a Type 2 connector above {TYPE2_SOCKET_MAX_WATTS // 1000} kW is a cable"
        elif standard == "IEC_62196_T2":
            derived, why = "SOCKET", "taken as the usual public Type 2 socket (send CABLE if it is tethered)"
        else:
            continue
        connector["format"] = derived
        reason = "missing" if missing(given) else f"{given!r} is not a ConnectorFormat"
        log.note(f"{path}.format", f"{reason}; {derived}: {why}", discarded=not missing(given))
