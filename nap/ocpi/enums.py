"""OCPI 2.3.0 enumerations.

Closed enums (`_enum_` in the spec) are Literals: an unknown value is an error.
OpenEnums (`_OpenEnum_`) allow values the spec does not list, so an unknown value is kept
and only reported as a warning.
"""
from typing import Literal, get_args

ConnectorFormat = Literal["SOCKET", "CABLE"]
PowerType = Literal["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"]
Status = Literal[
    "AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER",
    "PLANNED", "REMOVED", "RESERVED", "UNKNOWN",
]
EnergySourceCategory = Literal[
    "NUCLEAR", "GENERAL_FOSSIL", "COAL", "GAS", "GENERAL_GREEN", "SOLAR", "WIND", "WATER",
]
ParkingDirection = Literal["PARALLEL", "PERPENDICULAR", "ANGLE"]
EvsePosition = Literal["LEFT", "RIGHT", "CENTER"]
DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
TariffDimensionType = Literal["ENERGY", "FLAT", "PARKING_TIME", "TIME"]
ReservationRestrictionType = Literal["RESERVATION", "RESERVATION_EXPIRES"]
TariffType = Literal["AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"]
TaxIncluded = Literal["YES", "NO", "N/A"]
TokenType = Literal["AD_HOC_USER", "APP_USER", "EMAID", "OTHER", "RFID"]

OPEN_ENUMS: dict[str, frozenset[str]] = {
    "Capability": frozenset({
        "CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT",
        "CONTACTLESS_CARD_SUPPORT", "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "PED_TERMINAL",
        "REMOTE_START_STOP_CAPABLE", "RESERVABLE", "RFID_READER",
        "START_SESSION_CONNECTOR_REQUIRED", "TOKEN_GROUP_CAPABLE", "UNLOCK_CAPABLE",
    }),
    "ConnectorCapability": frozenset({"ISO_15118_2_PLUG_AND_CHARGE", "ISO_15118_20_PLUG_AND_CHARGE"}),
    "ConnectorType": frozenset({
        "CHADEMO", "CHAOJI", *(f"DOMESTIC_{c}" for c in "ABCDEFGHIJKLMNO"), "GBT_AC", "GBT_DC",
        "IEC_60309_2_single_16", "IEC_60309_2_three_16", "IEC_60309_2_three_32",
        "IEC_60309_2_three_64", "IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2",
        "IEC_62196_T2_COMBO", "IEC_62196_T3A", "IEC_62196_T3C", "MCS", "NEMA_5_20", "NEMA_6_30",
        "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50",
        "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "SAE_J3400", "TESLA_R", "TESLA_S",
    }),
    "EnvironmentalImpactCategory": frozenset({"NUCLEAR_WASTE", "CARBON_DIOXIDE"}),
    "Facility": frozenset({
        "HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "SPORT", "RECREATION_AREA", "NATURE",
        "MUSEUM", "BIKE_SHARING", "BUS_STOP", "TAXI_STAND", "TRAM_STOP", "METRO_STATION",
        "TRAIN_STATION", "AIRPORT", "PARKING_LOT", "CARPOOL_PARKING", "FUEL_STATION", "WIFI",
    }),
    "ImageCategory": frozenset({"CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"}),
    "ParkingRestriction": frozenset({
        "CUSTOMERS", "DISABLED", "EMPLOYEES", "EV_ONLY", "MOTORCYCLES", "PLUGGED", "TAXIS", "TENANTS",
    }),
    "ParkingType": frozenset({
        "ALONG_MOTORWAY", "PARKING_GARAGE", "PARKING_LOT", "ON_DRIVEWAY", "ON_STREET", "UNDERGROUND_GARAGE",
    }),
    "VehicleType": frozenset({
        "MOTORCYCLE", "PERSONAL_VEHICLE", "PERSONAL_VEHICLE_WITH_TRAILER", "VAN", "SEMI_TRACTOR",
        "RIGID", "TRUCK_WITH_TRAILER", "BUS", "DISABLED",
    }),
}


CLOSED_ENUMS: dict[str, frozenset[str]] = {
    name: frozenset(get_args(literal)) for name, literal in {
        "ConnectorFormat": ConnectorFormat, "PowerType": PowerType, "Status": Status,
        "EnergySourceCategory": EnergySourceCategory, "ParkingDirection": ParkingDirection,
        "EvsePosition": EvsePosition, "DayOfWeek": DayOfWeek, "TariffDimensionType": TariffDimensionType,
        "ReservationRestrictionType": ReservationRestrictionType, "TariffType": TariffType,
        "TaxIncluded": TaxIncluded, "TokenType": TokenType,
    }.items()
}
