"""OCPI 2.3.0 value -> DATEX II 3.7 value tables.

Plain dicts, one per enumeration, so docs/datex2-mapping.md can mirror them line by line.
Every right-hand value is spelled exactly as in the XSD enumeration it targets; where the
generic (egi/fac) and AFIR (aegi/afac) enumerations differ there are two tables.
An OCPI value missing from a table has no DATEX II counterpart: the element is left out
rather than filled with a guess (except connectors, see CONNECTOR_TYPE_FALLBACK).
"""
from __future__ import annotations

# --- Connector -------------------------------------------------------------------------

# OCPI ConnectorType -> egi:ConnectorTypeEnum (generic model).
CONNECTOR_TYPE_GENERIC = {
    "CHADEMO": "chademo",
    "DOMESTIC_A": "domesticA",
    "DOMESTIC_B": "domesticB",
    "DOMESTIC_C": "domesticC",
    "DOMESTIC_D": "domesticD",
    "DOMESTIC_E": "domesticE",
    "DOMESTIC_F": "domesticF",
    "DOMESTIC_G": "domesticG",
    "DOMESTIC_H": "domesticH",
    "DOMESTIC_I": "domesticI",
    "DOMESTIC_J": "domesticJ",
    "DOMESTIC_K": "domesticK",
    "DOMESTIC_L": "domesticL",
    "DOMESTIC_M": "domesticM",
    "DOMESTIC_N": "domesticN",
    "DOMESTIC_O": "domesticO",
    "IEC_60309_2_single_16": "iec60309x2single16",
    "IEC_60309_2_three_16": "iec60309x2three16",
    "IEC_60309_2_three_32": "iec60309x2three32",
    "IEC_60309_2_three_64": "iec60309x2three64",
    "IEC_62196_T1": "iec62196T1",
    "IEC_62196_T1_COMBO": "iec62196T1COMBO",
    "IEC_62196_T2": "iec62196T2",
    "IEC_62196_T2_COMBO": "iec62196T2COMBO",
    "IEC_62196_T3A": "iec62196T3A",
    "IEC_62196_T3C": "iec62196T3C",
    "PANTOGRAPH_BOTTOM_UP": "pantographBottomUp",
    "PANTOGRAPH_TOP_DOWN": "pantographTopDown",
    # SAE J3400 is the standardised Tesla/NACS connector.
    "SAE_J3400": "teslaConnectorAmerica",
    "TESLA_R": "teslaR",
    "TESLA_S": "teslaS",
}

# OCPI ConnectorType -> aegi:ConnectorTypeEnum (AFIR model): domestic types are spelled
# "domesticAType" there, and MCS exists.
CONNECTOR_TYPE_AFIR = {
    **{ocpi: (f"{value}Type" if ocpi.startswith("DOMESTIC_") else value)
       for ocpi, value in CONNECTOR_TYPE_GENERIC.items()},
    "MCS": "mcs",
}

# OCPI types without a DATEX II value (CHAOJI, GBT_AC, GBT_DC, NEMA_*, MCS in the generic
# model, and any future OpenEnum value) become "other", with the OCPI value in
# otherConnector, so the connector (and its power) is still published.
CONNECTOR_TYPE_FALLBACK = "other"

# OCPI ConnectorFormat -> ConnectorFormatTypeEnum. An attached cable is only "cableMode3"
# when the connector is an AC IEC 62196 one (mode 3); other attached cables are "otherCable".
CONNECTOR_FORMAT_SOCKET = {"SOCKET": "socket"}
CABLE_MODE3_STANDARDS = frozenset({"IEC_62196_T1", "IEC_62196_T2", "IEC_62196_T3A", "IEC_62196_T3C"})

# OCPI PowerType -> number of phases used to compute power from voltage * amperage.
# OCPI max_voltage is line-to-neutral, so three phases deliver 3 * U * I.
PHASES = {"AC_1_PHASE": 1, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2, "AC_3_PHASE": 3, "DC": 1}

# OCPI PowerType -> aegi:CurrentTypeEnum.
CURRENT_TYPE = {"AC_1_PHASE": "ac", "AC_2_PHASE": "ac", "AC_2_PHASE_SPLIT": "ac", "AC_3_PHASE": "ac", "DC": "dc"}

# ChargingModeEnum: only the cases that follow from OCPI data alone. DC charging is mode 4;
# three-phase AC on an IEC 62196 connector is mode 3. Single-phase mode 3 has no enum value,
# and domestic/industrial sockets can be mode 1 or 2 depending on the driver's cable.
CHARGING_MODE_DC = "mode4DC"
CHARGING_MODE_AC3_IEC62196 = "mode3AC3p"

# --- EVSE ------------------------------------------------------------------------------

# OCPI EVSE Status -> RefillPointStatusEnum (same spelling in both models).
EVSE_STATUS = {
    "AVAILABLE": "available",
    "BLOCKED": "blocked",
    "CHARGING": "charging",
    "INOPERATIVE": "inoperative",
    "OUTOFORDER": "outOfOrder",
    "PLANNED": "planned",
    "REMOVED": "removed",
    "RESERVED": "reserved",
    "UNKNOWN": "unknown",
}
EVSE_STATUS_FALLBACK = "unknown"  # status is mandatory in DATEX II; a missing one is unknown.

# OCPI EVSE Status -> afac:OperationStatusEnum (AFIR model only).
OPERATION_STATUS = {
    "AVAILABLE": "inOperation",
    "BLOCKED": "inOperation",
    "CHARGING": "inOperation",
    "RESERVED": "inOperation",
    "INOPERATIVE": "notInOperation",
    "OUTOFORDER": "technicalDefect",
    "PLANNED": "notInOperation",
    "REMOVED": "notInOperation",
    "UNKNOWN": "unknown",
}

# OCPI Capability -> AuthenticationAndIdentificationEnum (station level, union over EVSEs).
AUTHENTICATION = {
    "RFID_READER": "rfid",
    "CREDIT_CARD_PAYABLE": "creditCard",
    "DEBIT_CARD_PAYABLE": "debitCard",
    "CONTACTLESS_CARD_SUPPORT": "nfc",
    "PED_TERMINAL": "pinpad",
    # Remote start/stop is what eMSP apps use to authorise a session.
    "REMOTE_START_STOP_CAPABLE": "apps",
}
# OCPI ConnectorCapability values that mean ISO 15118 Plug & Charge.
PLUG_AND_CHARGE = frozenset({"ISO_15118_2_PLUG_AND_CHARGE", "ISO_15118_20_PLUG_AND_CHARGE"})
AUTHENTICATION_PLUG_AND_CHARGE = "plc"
V2G_COMMUNICATION_PLUG_AND_CHARGE = "iso15118"
SMART_RECHARGING_PLUG_AND_CHARGE = "plugAndCharge"  # AFIR only
# OCPI Capability -> aegi:SmartRechargingServicesEnum (AFIR only), read with the enum's
# definitions in the DATEX II dictionary. Charging profiles (OCPI ChargingProfiles module)
# let the driver's eMSP set and read the power of the session from its app: "remote
# monitoring and control of recharging (e.g. by app)". Charging preferences (departure
# time, energy needed, FAST/CHEAP/GREEN) are "user preference configuration for recharging
# power optimisation". REMOTE_START_STOP_CAPABLE is not smart recharging: starting and
# stopping does not adjust the power. Nothing in OCPI says an EVSE can discharge
# (bidirectionalRecharging): a preference's discharge_allowed is the driver's wish.
SMART_RECHARGING = {
    "CHARGING_PROFILE_CAPABLE": "remoteMonitoring",
    "CHARGING_PREFERENCES_CAPABLE": "powerOptimisationByUser",
}

# OCPI Capability -> afac:MeansOfPaymentEnum, for ad hoc energy rates (AFIR model only).
PAYMENT_MEANS_AFIR = {
    "CREDIT_CARD_PAYABLE": "paymentCreditCard",
    "DEBIT_CARD_PAYABLE": "paymentDebitCard",
    "CONTACTLESS_CARD_SUPPORT": "nfc",
    "CHIP_CARD_SUPPORT": "emv",
}

# OCPI Capability RESERVABLE -> ReservationTypeEnum.
RESERVATION = {"RESERVABLE": "optional"}

# --- Location --------------------------------------------------------------------------

# OCPI ParkingType -> EnergyInfrastructureSiteTypeEnum (values exist in both models).
SITE_TYPE = {
    "ALONG_MOTORWAY": "openSpace",  # rest-area parking; "along a motorway" itself has no value
    "PARKING_GARAGE": "inBuilding",
    "UNDERGROUND_GARAGE": "inBuilding",
    "PARKING_LOT": "openSpace",
    "ON_STREET": "onstreet",
    "ON_DRIVEWAY": "other",
}

# OCPI Facility -> one of three DATEX II homes on the site.
FACILITY_SERVICE = {  # supplementalFacility xsi:type SupplementalServiceFacility/serviceFacilityType
    "HOTEL": "hotel",
    "RESTAURANT": "restaurant",
    "CAFE": "cafe",
    "SUPERMARKET": "foodShopping",
    "SPORT": "leisureActivities",
    "RECREATION_AREA": "leisureActivities",
    "MUSEUM": "leisureActivities",
    "BIKE_SHARING": "bikeSharing",
}
FACILITY_EQUIPMENT = {  # supplementalFacility xsi:type SupplementalEquipment/equipmentType
    "WIFI": "internetWireless",
}
FACILITY_ASSOCIATED = {  # associatedFacility/type (FacilityTypeEnum)
    "MALL": "shoppingCentre",
    "AIRPORT": "airport",
    "TRAIN_STATION": "trainStation",
    "METRO_STATION": "publicTransportHub",
    "TRAM_STOP": "publicTransportHub",
    "BUS_STOP": "publicTransportHub",
    "PARKING_LOT": "carPark",
    "CARPOOL_PARKING": "parkingSite",
    "FUEL_STATION": "petrolStation",
}
# Not mapped: NATURE, TAXI_STAND (no DATEX II value).

# OCPI ImageCategory values that show the place (published as photoUrl); logos are not photos.
PHOTO_CATEGORIES = frozenset({"CHARGER", "ENTRANCE", "LOCATION", "OTHER"})

# OCPI EnergySourceCategory -> ElectricEnergySourceTypeEnum.
ENERGY_SOURCE = {
    "NUCLEAR": "nuclear",
    "GENERAL_FOSSIL": "generalFossil",
    "COAL": "coal",
    "GAS": "gas",
    "GENERAL_GREEN": "generalGreen",
    "SOLAR": "solar",
    "WIND": "wind",
    "WATER": "water",
}

# OCPI RegularHours.weekday (1 = Monday) -> com:DayEnum.
WEEKDAY = {1: "monday", 2: "tuesday", 3: "wednesday", 4: "thursday", 5: "friday", 6: "saturday", 7: "sunday"}

# --- Parking ---------------------------------------------------------------------------

# OCPI VehicleType -> com:VehicleTypeEnum. DISABLED is a permit, not a vehicle: see below.
VEHICLE_TYPE = {
    "MOTORCYCLE": "motorcycle",
    "PERSONAL_VEHICLE": "car",
    "PERSONAL_VEHICLE_WITH_TRAILER": "carWithTrailer",
    "VAN": "van",
    "SEMI_TRACTOR": "heavyGoodsVehicle",
    "RIGID": "lorry",
    "TRUCK_WITH_TRAILER": "heavyGoodsVehicleWithTrailer",
    "BUS": "bus",
}
# VehicleType DISABLED -> accessibility of the parking space, and (AFIR) userSpecific.
DISABLED_VEHICLE_TYPE = "DISABLED"
DISABLED_ACCESSIBILITY = "disabilityAccessible"

# OCPI ParkingRestriction -> UserTypeEnum (site exclusiveUsers, AFIR parking userSpecific).
PARKING_RESTRICTION_USER = {
    "CUSTOMERS": "customers",
    "EMPLOYEES": "employees",
    "TENANTS": "residents",
    "DISABLED": "personsWithDisabilities",
}
# ParkingRestriction PLUGGED -> vehicleSpace/parkingAllowedAfterCharging = false (generic).
PARKING_ONLY_WHILE_CHARGING = "PLUGGED"

# --- Tariffs (AFIR aegi:energyRate, generic fac:RateTable) ----------------------------------

# OCPI Tariff.type -> aegi:RatePolicyEnum. A tariff without type applies to every session,
# ad hoc ones included. REGULAR is the price of RFID (contract) sessions. PROFILE_* types
# are missing on purpose: they apply only when the driver chose that charging preference,
# a condition DATEX II cannot state, so such tariffs are dropped (see tariff_model.py).
RATE_POLICY = {None: "adHoc", "AD_HOC_PAYMENT": "adHoc", "REGULAR": "contract"}
RATE_POLICY_AD_HOC = "adHoc"
# Generic model: fac:RateTypeEnum has "contract"; ad hoc rates carry no rateType.
RATE_TYPE_GENERIC = {"contract": "contract"}

# OCPI TariffDimensionType -> aegi:PriceTypeEnum. TIME is priced per hour in OCPI and per
# minute in DATEX II: converted only when hour/60 is a whole cent, else kept per hour as
# "other" with PRICE_NOTE_HOURLY. PARKING_TIME (time connected but not charging) has no
# price type: always "other", per hour, with PRICE_NOTE_PARKING. Never rounded.
PRICE_TYPE = {"ENERGY": "pricePerKWh", "TIME": "pricePerMinute", "FLAT": "basePrice"}
PRICE_TYPE_FREE = "free"
PRICE_TYPE_OTHER = "other"
PARKING_DIMENSION = "PARKING_TIME"
TIME_DIMENSIONS = frozenset({"TIME", "PARKING_TIME"})
PRICE_NOTE_HOURLY = "Price per hour of charging time"
PRICE_NOTE_PARKING = "Price per hour of parking time (connected, not charging)"

# OCPI TariffDimensionType -> fac:RateLineTypeEnum (generic model). The unit of "perUnit"
# is the refill point's deliveryUnit (kWh); time is priced per incrementPeriod PT1H, the
# OCPI value unchanged. TIME and PARKING_TIME share a line type: RATE_LINE_NOTE tells them apart.
RATE_LINE_TYPE = {"ENERGY": "perUnit", "TIME": "incrementingRate", "PARKING_TIME": "incrementingRate",
                  "FLAT": "flatRate"}
RATE_LINE_NOTE = {"ENERGY": "Price per kWh", "TIME": PRICE_NOTE_HOURLY, "PARKING_TIME": PRICE_NOTE_PARKING,
                  "FLAT": "Flat fee per session"}
HOURLY_INCREMENT = "PT1H"
# OCPI TariffDimensionType -> egi:PricingPolicyEnum (generic EnergyPricingPolicy, one per
# dimension present). PARKING_TIME sets combinationWithParkingFee instead.
PRICING_POLICY = {"ENERGY": "pricePerDeliveryUnit", "TIME": "pricePerChargingTime", "FLAT": "flatRate"}
PRICING_POLICY_FREE = "free"

# OCPI step_size unit per dimension (FLAT has none), for the human-readable billing note.
STEP_UNIT = {"ENERGY": "Wh", "TIME": "s", "PARKING_TIME": "s"}

# OCPI TaxIncluded -> taxIncluded. N/A ("no taxes applicable") is written as taxIncluded
# true with taxRate 0: the price is final and no tax applies.
TAX_INCLUDED = {"YES": "true", "NO": "false", "N/A": "true"}
TAX_NOT_APPLICABLE = "N/A"

# OCPI DayOfWeek -> com:DayEnum.
DAY_OF_WEEK = {"MONDAY": "monday", "TUESDAY": "tuesday", "WEDNESDAY": "wednesday", "THURSDAY": "thursday",
               "FRIDAY": "friday", "SATURDAY": "saturday", "SUNDAY": "sunday"}

# OCPI Capability -> fac:MeansOfPaymentEnum, for ad hoc rates in the generic model.
PAYMENT_MEANS_GENERIC = {
    "CREDIT_CARD_PAYABLE": "paymentCreditCard",
    "DEBIT_CARD_PAYABLE": "paymentDebitCard",
}

# --- Countries -------------------------------------------------------------------------

# ISO 3166-1 alpha-3 (OCPI Location.country) -> alpha-2 (DATEX II CountryCode, max 2 chars).
_ALPHA3_TO_ALPHA2 = """
AFG AF ALA AX ALB AL DZA DZ ASM AS AND AD AGO AO AIA AI ATA AQ ATG AG ARG AR ARM AM ABW AW
AUS AU AUT AT AZE AZ BHS BS BHR BH BGD BD BRB BB BLR BY BEL BE BLZ BZ BEN BJ BMU BM BTN BT
BOL BO BES BQ BIH BA BWA BW BVT BV BRA BR IOT IO BRN BN BGR BG BFA BF BDI BI CPV CV KHM KH
CMR CM CAN CA CYM KY CAF CF TCD TD CHL CL CHN CN CXR CX CCK CC COL CO COM KM COG CG COD CD
COK CK CRI CR CIV CI HRV HR CUB CU CUW CW CYP CY CZE CZ DNK DK DJI DJ DMA DM DOM DO ECU EC
EGY EG SLV SV GNQ GQ ERI ER EST EE SWZ SZ ETH ET FLK FK FRO FO FJI FJ FIN FI FRA FR GUF GF
PYF PF ATF TF GAB GA GMB GM GEO GE DEU DE GHA GH GIB GI GRC GR GRL GL GRD GD GLP GP GUM GU
GTM GT GGY GG GIN GN GNB GW GUY GY HTI HT HMD HM VAT VA HND HN HKG HK HUN HU ISL IS IND IN
IDN ID IRN IR IRQ IQ IRL IE IMN IM ISR IL ITA IT JAM JM JPN JP JEY JE JOR JO KAZ KZ KEN KE
KIR KI PRK KP KOR KR KWT KW KGZ KG LAO LA LVA LV LBN LB LSO LS LBR LR LBY LY LIE LI LTU LT
LUX LU MAC MO MDG MG MWI MW MYS MY MDV MV MLI ML MLT MT MHL MH MTQ MQ MRT MR MUS MU MYT YT
MEX MX FSM FM MDA MD MCO MC MNG MN MNE ME MSR MS MAR MA MOZ MZ MMR MM NAM NA NRU NR NPL NP
NLD NL NCL NC NZL NZ NIC NI NER NE NGA NG NIU NU NFK NF MKD MK MNP MP NOR NO OMN OM PAK PK
PLW PW PSE PS PAN PA PNG PG PRY PY PER PE PHL PH PCN PN POL PL PRT PT PRI PR QAT QA REU RE
ROU RO RUS RU RWA RW BLM BL SHN SH KNA KN LCA LC MAF MF SPM PM VCT VC WSM WS SMR SM STP ST
SAU SA SEN SN SRB RS SYC SC SLE SL SGP SG SXM SX SVK SK SVN SI SLB SB SOM SO ZAF ZA SGS GS
SSD SS ESP ES LKA LK SDN SD SUR SR SJM SJ SWE SE CHE CH SYR SY TWN TW TJK TJ TZA TZ THA TH
TLS TL TGO TG TKL TK TON TO TTO TT TUN TN TUR TR TKM TM TCA TC TUV TV UGA UG UKR UA ARE AE
GBR GB USA US UMI UM URY UY UZB UZ VUT VU VEN VE VNM VN VGB VG VIR VI WLF WF ESH EH YEM YE
ZMB ZM ZWE ZW XKX XK
""".split()
COUNTRY_ALPHA2 = dict(zip(_ALPHA3_TO_ALPHA2[0::2], _ALPHA3_TO_ALPHA2[1::2]))
