"""OCPI Connector -> egi:connector / aegi:connector."""
from __future__ import annotations

from exporters.datex2 import mapping, ocpi
from exporters.datex2.namespaces import Profile
from exporters.datex2.xmlbuild import Element, sub


def connector_type(standard: object, profile: Profile) -> tuple[str, str | None]:
    """(ConnectorTypeEnum value, otherConnector text). Unknown standards stay visible as
    "other" plus the OCPI value, instead of dropping the connector and its power."""
    table = mapping.CONNECTOR_TYPE_AFIR if profile.is_afir else mapping.CONNECTOR_TYPE_GENERIC
    value = table.get(ocpi.code(standard))
    if value is not None:
        return value, None
    return mapping.CONNECTOR_TYPE_FALLBACK, ocpi.text(standard, 1024)


def charging_mode(connector: dict) -> str | None:
    power_type = connector.get("power_type")
    if power_type == "DC":
        return mapping.CHARGING_MODE_DC
    if power_type == "AC_3_PHASE" and ocpi.code(connector.get("standard")) in mapping.CABLE_MODE3_STANDARDS:
        return mapping.CHARGING_MODE_AC3_IEC62196
    return None


def connector_format(connector: dict) -> str | None:
    value = ocpi.code(connector.get("format"))
    if value in mapping.CONNECTOR_FORMAT_SOCKET:
        return mapping.CONNECTOR_FORMAT_SOCKET[value]
    if value == "CABLE":
        ac_mode3 = (ocpi.code(connector.get("standard")) in mapping.CABLE_MODE3_STANDARDS
                    and ocpi.current_type(connector) == "ac")
        return "cableMode3" if ac_mode3 else "otherCable"
    return None


def is_plug_and_charge(connector: dict) -> bool:
    return any(capability in mapping.PLUG_AND_CHARGE for capability in ocpi.strings(connector.get("capabilities")))


def write_connector(parent: Element, profile: Profile, connector: dict, power_w: float) -> Element:
    """`power_w` is ocpi.connector_power_w(connector): maxPowerAtSocket is mandatory."""
    element = sub(parent, profile.e("connector"))
    value, other = connector_type(connector.get("standard"), profile)
    sub(element, profile.e("connectorType"), value)
    if other:
        sub(element, profile.e("otherConnector"), other)
    mode = charging_mode(connector)
    if mode and not profile.is_afir:  # AFIR has chargingMode on the charging point instead
        sub(element, profile.e("chargingMode"), mode)
    connector_form = connector_format(connector)
    if connector_form:
        sub(element, profile.e("connectorFormat"), connector_form)
    sub(element, profile.e("maxPowerAtSocket"), ocpi.xml_number(power_w))
    voltage, amperage = ocpi.positive(connector.get("max_voltage")), ocpi.positive(connector.get("max_amperage"))
    if voltage is not None:
        sub(element, profile.e("voltage"), ocpi.xml_number(voltage))
    if amperage is not None:
        sub(element, profile.e("maximumCurrent"), ocpi.xml_number(amperage))
    return element
