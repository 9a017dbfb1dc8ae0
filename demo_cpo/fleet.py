"""Deterministic data for the demo CPO: OCPI 2.3.0 Locations and Tariffs of a fictitious German operator.

Everything is derived from ``random.Random`` instances seeded from the caller's seed (never the global
generator) and from fixed base timestamps (never ``now()``), so a seed always yields the same fleet.
Each location gets its own generator seeded with ``(seed, index)``: location ``i`` is identical whatever the
fleet size, which lets the server add "new" locations later (``grow_while_paging``) without disturbing the
existing ones.

Field names, enum values and formats follow ``mod_locations.asciidoc`` / ``mod_tariffs.asciidoc`` of OCPI 2.3.0.
"""

from __future__ import annotations

import gc
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import accumulate

# All generated ``last_updated`` values of locations lie in [FLEET_START, FLEET_END).
FLEET_START = datetime(2023, 1, 1, tzinfo=timezone.utc)
FLEET_END = datetime(2024, 7, 1, tzinfo=timezone.utc)
_START_EPOCH = int(FLEET_START.timestamp())
_SPAN_SECONDS = int((FLEET_END - FLEET_START).total_seconds())
_DAY = 86400

TIME_ZONE = "Europe/Berlin"
COUNTRY_ALPHA3 = "DEU"  # all demo locations are in Germany, whatever the CPO's own country_code


@dataclass
class Fleet:
    locations: list[dict] = field(default_factory=list)  # OCPI 2.3.0 Location objects (EVSEs, connectors nested)
    tariffs: list[dict] = field(default_factory=list)  # OCPI 2.3.0 Tariff objects


def ocpi_timestamp(when: datetime | int | float) -> str:
    """Format as OCPI DateTime in UTC with a 'Z' suffix (types.asciidoc forbids '+00:00')."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)  # OCPI: no designator means UTC
        when = when.timestamp()
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(when)))


# ---------------------------------------------------------------------------------------------------------
# Geography. Real city centres, inland and away from borders and coasts, so that a jitter of a few km keeps
# every point in Germany (and on land). Weight: population in 100k, so big cities get more chargers.
# name, latitude, longitude, lowest and highest postal code of the city, weight
CITIES = [
    ("Berlin", 52.520008, 13.404954, 10115, 14199, 37),
    ("Hamburg", 53.551086, 9.993682, 20095, 22769, 19),
    ("München", 48.137154, 11.576124, 80331, 81929, 15),
    ("Köln", 50.937531, 6.960279, 50667, 51149, 11),
    ("Frankfurt am Main", 50.110924, 8.682127, 60306, 60599, 7.6),
    ("Stuttgart", 48.775846, 9.182932, 70173, 70629, 6.3),
    ("Düsseldorf", 51.227741, 6.773456, 40210, 40629, 6.2),
    ("Leipzig", 51.339695, 12.373075, 4103, 4357, 6.0),
    ("Dortmund", 51.513587, 7.465298, 44135, 44388, 5.9),
    ("Essen", 51.455643, 7.011555, 45127, 45359, 5.8),
    ("Bremen", 53.079296, 8.801694, 28195, 28779, 5.6),
    ("Dresden", 51.050407, 13.737262, 1067, 1328, 5.6),
    ("Hannover", 52.375892, 9.732010, 30159, 30669, 5.4),
    ("Nürnberg", 49.452030, 11.076750, 90402, 90491, 5.2),
    ("Bielefeld", 52.030228, 8.532471, 33602, 33739, 3.3),
    ("Bonn", 50.737430, 7.098207, 53111, 53229, 3.3),
    ("Münster", 51.960665, 7.626135, 48143, 48167, 3.2),
    ("Mannheim", 49.487459, 8.466039, 68159, 68309, 3.1),
    ("Augsburg", 48.370545, 10.897790, 86150, 86199, 3.0),
    ("Magdeburg", 52.120533, 11.627624, 39104, 39130, 2.4),
    ("Lübeck", 53.865467, 10.686559, 23552, 23570, 2.2),
    ("Erfurt", 50.984768, 11.029880, 99084, 99099, 2.1),
    ("Kassel", 51.312711, 9.479746, 34117, 34134, 2.0),
    ("Oldenburg", 53.143450, 8.214552, 26121, 26135, 1.7),
    ("Regensburg", 49.013430, 12.101624, 93047, 93059, 1.5),
    ("Würzburg", 49.791304, 9.953355, 97070, 97084, 1.3),
]
_CITY_CUM_WEIGHTS = list(accumulate(c[5] for c in CITIES))

STREETS = [
    "Hauptstraße", "Bahnhofstraße", "Schulstraße", "Gartenstraße", "Lindenstraße", "Kirchstraße",
    "Waldstraße", "Ringstraße", "Bergstraße", "Goethestraße", "Schillerstraße", "Friedrichstraße",
    "Am Markt", "Parkstraße", "Industriestraße", "Mühlenweg", "Rathausplatz", "Kaiserstraße",
    "Beethovenstraße", "Poststraße", "Wilhelmstraße", "Feldstraße", "Uhlandstraße", "Rosenweg",
]
MOTORWAYS = ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "A10", "A45", "A61", "A81", "A93", "A96"]
COMPASS = ["Nord", "Ost", "Süd", "West"]
HOTEL_NAMES = ["Stadtblick", "Am Park", "Zur Post", "Lindenhof", "Residenz", "Am Ring"]
RETAILERS = [
    ("Frischmarkt", "Frischmarkt Handels GmbH", "SUPERMARKET"),
    ("Baumarkt Nord", "Baumarkt Nord GmbH & Co. KG", "MALL"),
    ("Einkaufszentrum", "EKZ Betriebsgesellschaft mbH", "MALL"),
    ("Biomarkt", "Biomarkt Einzelhandel GmbH", "SUPERMARKET"),
]
# Fictitious eMSPs whose contracts are accepted (EVSE.accepted_service_providers, String[50]).
SERVICE_PROVIDERS = ["Ladefuchs Mobility", "VoltPass", "eRoam Card", "Stadtwerke Ladekarte", "PlugPay", "Fahrstrom"]

# Site archetypes -> OCPI 2.3.0 ParkingType (None: the CPO leaves the optional field out).
SITES = ["street", "retail", "garage", "underground", "motorway", "hotel", "street_untyped"]
_SITE_CUM_WEIGHTS = list(accumulate([38, 22, 10, 7, 8, 5, 5]))
PARKING_TYPE = {
    "street": "ON_STREET", "retail": "PARKING_LOT", "garage": "PARKING_GARAGE",
    "underground": "UNDERGROUND_GARAGE", "motorway": "ALONG_MOTORWAY", "hotel": "ON_DRIVEWAY",
    "street_untyped": None,
}

# EVSE status (2.3.0 Status enum): mostly AVAILABLE, some CHARGING, a few broken or unknown.
STATUSES = ["AVAILABLE", "CHARGING", "OUTOFORDER", "UNKNOWN", "INOPERATIVE", "BLOCKED", "RESERVED", "PLANNED"]
_STATUS_CUM_WEIGHTS = list(accumulate([760, 150, 30, 20, 10, 10, 10, 10]))

# Order in which EVSE capabilities are listed, so lists are stable and readable.
CAPABILITY_ORDER = [
    "CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT", "CONTACTLESS_CARD_SUPPORT",
    "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "PED_TERMINAL", "REMOTE_START_STOP_CAPABLE", "RESERVABLE",
    "RFID_READER", "START_SESSION_CONNECTOR_REQUIRED", "TOKEN_GROUP_CAPABLE", "UNLOCK_CAPABLE",
]

# ---------------------------------------------------------------------------------------------------------
# Hardware. max_voltage of AC_3_PHASE is line to neutral (2.3.0 Connector.max_voltage), i.e. 230 V in Germany.
# Each entry: standard, format, power_type, max_voltage, max_amperage, max_electric_power (W).
AC11_SOCKET = ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 230, 16, 11000)
AC11_CABLE = ("IEC_62196_T2", "CABLE", "AC_3_PHASE", 230, 16, 11000)
AC22_SOCKET = ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 230, 32, 22000)
SCHUKO = ("DOMESTIC_F", "SOCKET", "AC_1_PHASE", 230, 16, 3680)
AC43_CABLE = ("IEC_62196_T2", "CABLE", "AC_3_PHASE", 230, 63, 43000)
CCS_50 = ("IEC_62196_T2_COMBO", "CABLE", "DC", 920, 125, 50000)
CHADEMO_50 = ("CHADEMO", "CABLE", "DC", 500, 125, 50000)
CCS_150 = ("IEC_62196_T2_COMBO", "CABLE", "DC", 920, 200, 150000)
CCS_300 = ("IEC_62196_T2_COMBO", "CABLE", "DC", 920, 500, 300000)
CCS_350 = ("IEC_62196_T2_COMBO", "CABLE", "DC", 1000, 500, 350000)
CCS_400 = ("IEC_62196_T2_COMBO", "CABLE", "DC", 1000, 500, 400000)
MCS_1000 = ("MCS", "CABLE", "DC", 1250, 1000, 1000000)

# Tariff ids. Every EVSE class has its own AD_HOC_PAYMENT tariff; REGULAR (contract) tariffs are shared.
ADHOC_BY_CLASS = {
    "AC11": "ADHOC-AC11", "AC22": "ADHOC-AC22", "DC50": "ADHOC-DC50",
    "DC150": "ADHOC-DC150", "DC300": "ADHOC-DC300", "TRUCK": "ADHOC-TRUCK",
}
ADHOC_RETAIL = "ADHOC-RETAIL-FREE1H"  # retail customers charge the first hour for free
REGULAR_AC = "REG-AC"
REGULAR_AC_NIGHT = "REG-AC-NIGHT"  # garages: cheaper overnight, parking fee by day
REGULAR_DC = "REG-DC"


def generate_fleet(locations: int = 200, seed: int = 1, country_code: str = "DE", party_id: str = "ABC") -> Fleet:
    """Generate ``locations`` OCPI 2.3.0 Locations plus the Tariffs their connectors reference."""
    country_code, party_id = country_code.upper(), party_id.upper()
    # EVSE IDs are built from both (eMI3: 2 letters country, 3 characters operator).
    if not (len(country_code) == 2 and country_code.isalpha() and len(party_id) == 3 and party_id.isalnum()):
        raise ValueError("country_code needs 2 letters and party_id 3 letters or digits")
    # Millions of small dicts make the cyclic garbage collector run over and over although none of them
    # can be garbage yet; pausing it halves the time for 25 000 locations.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return Fleet(
            locations=[make_location(i, seed, country_code, party_id) for i in range(locations)],
            tariffs=make_tariffs(country_code, party_id),
        )
    finally:
        if collecting:
            gc.enable()


def location_id(index: int) -> str:
    return f"LOC{index + 1:06d}"


# ---------------------------------------------------------------------------------------------------------
# Locations


# The first RING_LOCATIONS locations (about 95,000 EVSEs) fill each city's centre; every
# further RING_LOCATIONS go to a ring around what is already filled, of the same area. So the
# density of chargers (at most ~170 locations per km2 in Berlin, like the densest real
# city centres) stays the same at a million EVSEs, where one square would hold ten times more
# than any real city does and a map box would measure that.
RING_LOCATIONS = 30_000


def _position(rng: random.Random, index: int, city_lat: float, city_lon: float, motorway: bool) -> tuple[float, float]:
    """Motorway service areas lie outside the town; the rest within ~3.5 km of the centre
    (ring 0), or in the ring of the location's index, between the squares of half-width
    sqrt(ring) and sqrt(ring + 1) times that: ten rings reach ~11 km, still in town."""
    spread_lat, spread_lon = (0.06, 0.09) if motorway else (0.03, 0.045)
    ring = index // RING_LOCATIONS
    if ring == 0:
        return city_lat + rng.uniform(-spread_lat, spread_lat), city_lon + rng.uniform(-spread_lon, spread_lon)
    inner, outer = ring ** 0.5, (ring + 1) ** 0.5
    while True:  # uniform over the ring: draw in the outer square until outside the inner one
        north, east = rng.uniform(-outer, outer), rng.uniform(-outer, outer)
        if max(abs(north), abs(east)) >= inner:
            return city_lat + north * spread_lat, city_lon + east * spread_lon


def make_location(index: int, seed: int = 1, country_code: str = "DE", party_id: str = "ABC") -> dict:
    """Location number ``index`` of the fleet for ``seed``; independent of how many locations there are."""
    rng = random.Random(f"{seed}/location/{index}")
    site = rng.choices(SITES, cum_weights=_SITE_CUM_WEIGHTS)[0]
    city, city_lat, city_lon, postal_low, postal_high, _ = rng.choices(CITIES, cum_weights=_CITY_CUM_WEIGHTS)[0]
    latitude, longitude = _position(rng, index, city_lat, city_lon, site == "motorway")
    # Back ends differ in precision: 2.3.0 allows 5 to 7 decimals; most send 6.
    decimals = 7 if rng.random() < 0.15 else 6

    slug = party_id.lower()
    street = rng.choice(STREETS)
    house_number = rng.randint(1, 180)
    name, owner, facilities, address = _describe_site(rng, site, city, street, house_number)

    updated = _START_EPOCH + rng.randrange(_SPAN_SECONDS)
    location: dict = {
        "country_code": country_code,
        "party_id": party_id,
        "id": location_id(index),
        "publish": True,
        "name": name,
        "address": address,
        "city": city,
        "postal_code": f"{rng.randint(postal_low, postal_high):05d}",
        "country": COUNTRY_ALPHA3,
        "coordinates": _geo(latitude, longitude, decimals),
    }
    if site in ("garage", "underground"):
        location["related_locations"] = [{
            **_geo(latitude + rng.uniform(-0.0004, 0.0004), longitude + rng.uniform(-0.0006, 0.0006), decimals),
            "name": {"language": "de", "text": f"Einfahrt {street}"},
        }]
    if PARKING_TYPE[site]:
        location["parking_type"] = PARKING_TYPE[site]

    evses, parking_places = _build_evses(rng, site, index, country_code, party_id, latitude, longitude,
                                         decimals, updated, slug)
    location["evses"] = evses
    location["parking_places"] = parking_places
    if site in ("garage", "underground"):
        level = "-1" if site == "underground" else "2"
        location["directions"] = [
            {"language": "de", "text": f"Ladeplätze auf Ebene {level}, den Schildern 'E-Laden' folgen."},
            {"language": "en", "text": f"Charging bays on level {level}, follow the 'E-Laden' signs."},
        ]
    location["operator"] = _operator(party_id, slug)
    if rng.random() < 0.1:
        location["suboperator"] = {"name": "Ladeservice Mitte GmbH",
                                   "website": "https://www.ladeservice-mitte.example"}
    if owner:
        location["owner"] = {"name": owner}
    if facilities:
        location["facilities"] = facilities
    location["time_zone"] = TIME_ZONE
    opening_times, charging_when_closed = _opening_times(rng, site)
    location["opening_times"] = opening_times
    if charging_when_closed is not None:
        location["charging_when_closed"] = charging_when_closed
    if rng.random() < 0.3:
        location["images"] = [{
            "url": f"https://img.{slug}-laden.example/locations/{location['id']}.jpg",
            "thumbnail": f"https://img.{slug}-laden.example/locations/{location['id']}_thumb.jpg",
            "category": "LOCATION", "type": "jpeg", "width": 1024, "height": 768,
        }]
    location["energy_mix"] = _energy_mix(rng)
    location["help_phone"] = "+49 800 5523240"
    location["last_updated"] = ocpi_timestamp(updated)
    return location


def _geo(latitude: float, longitude: float, decimals: int) -> dict:
    return {"latitude": f"{latitude:.{decimals}f}", "longitude": f"{longitude:.{decimals}f}"}


def _operator(party_id: str, slug: str) -> dict:
    return {
        "name": f"{party_id} Ladenetz GmbH",
        "website": f"https://www.{slug}-laden.example",
        "logo": {
            "url": f"https://img.{slug}-laden.example/logo.png",
            "thumbnail": f"https://img.{slug}-laden.example/logo_128.png",
            "category": "OPERATOR", "type": "png", "width": 512, "height": 512,
        },
    }


def _describe_site(rng: random.Random, site: str, city: str, street: str, house_number: int):
    """Display name, owner, facilities and address typical for the kind of site."""
    address = f"{street} {house_number}"
    if site == "retail":
        brand, owner, facility = rng.choice(RETAILERS)
        return f"{brand} {city} {street}", owner, [facility, "PARKING_LOT"], address
    if site in ("garage", "underground"):
        kind = "Parkhaus" if site == "garage" else "Tiefgarage"
        nearby = rng.choice([["TRAIN_STATION"], ["MALL"], ["MUSEUM"], []])
        return f"{kind} {street}", f"Parkhausgesellschaft {city} mbH", nearby, address
    if site == "motorway":
        motorway, side = rng.choice(MOTORWAYS), rng.choice(COMPASS)
        return (f"Rastanlage {city} {side}", "Autobahn Rastanlagen GmbH",
                ["RESTAURANT", "CAFE", "FUEL_STATION", "WIFI"], f"BAB {motorway}, Rastanlage {side}")
    if site == "hotel":
        hotel = f"Hotel {rng.choice(HOTEL_NAMES)} {city}"
        return hotel, hotel, ["HOTEL", "RESTAURANT"], address
    # Kerbside chargers, often run for the municipality.
    nearby = rng.choice([[], [], ["BUS_STOP"], ["TRAM_STOP"], ["METRO_STATION"], ["BIKE_SHARING"], ["CAFE"]])
    owner = f"Stadtwerke {city}" if rng.random() < 0.6 else None
    return f"Ladesäule {street}", owner, nearby, address


def _opening_times(rng: random.Random, site: str) -> tuple[dict, bool | None]:
    """Hours object (2.3.0: twentyfourseven always present) and charging_when_closed, if relevant."""
    if site == "retail" and rng.random() < 0.5:
        days = [{"weekday": d, "period_begin": "07:00", "period_end": "22:00"} for d in range(1, 7)]
        return {"twentyfourseven": False, "regular_hours": days}, False  # barrier closes the car park
    if site in ("garage", "underground") and rng.random() < 0.4:
        days = [{"weekday": d, "period_begin": "06:00", "period_end": "23:30"} for d in range(1, 8)]
        hours = {"twentyfourseven": False, "regular_hours": days}
        if rng.random() < 0.5:
            # Closed on Christmas Day (local midnight to midnight, expressed in UTC).
            hours["exceptional_closings"] = [
                {"period_begin": "2024-12-24T23:00:00Z", "period_end": "2024-12-25T23:00:00Z"}]
        return hours, True  # cars left overnight keep charging
    return {"twentyfourseven": True}, None


def _energy_mix(rng: random.Random) -> dict:
    if rng.random() < 0.7:
        return {
            "is_green_energy": True,
            "energy_sources": [{"source": "WIND", "percentage": 60.0}, {"source": "SOLAR", "percentage": 25.0},
                               {"source": "WATER", "percentage": 15.0}],
            "environ_impact": [{"category": "CARBON_DIOXIDE", "amount": 0.0},
                               {"category": "NUCLEAR_WASTE", "amount": 0.0}],
            "supplier_name": "Nordwind Energie eG",
            "energy_product_name": "Ökostrom Plus",
        }
    # Grid mix, roughly Germany 2023 (no nuclear after April 2023).
    return {
        "is_green_energy": False,
        "energy_sources": [{"source": "GENERAL_GREEN", "percentage": 56.0}, {"source": "COAL", "percentage": 26.0},
                           {"source": "GAS", "percentage": 14.0}, {"source": "GENERAL_FOSSIL", "percentage": 4.0}],
        "environ_impact": [{"category": "CARBON_DIOXIDE", "amount": 380.0},
                           {"category": "NUCLEAR_WASTE", "amount": 0.0}],
        "supplier_name": "Stadtwerke Strom GmbH",
    }


# ---------------------------------------------------------------------------------------------------------
# EVSEs, connectors and the parking places they use


def _evse_classes(rng: random.Random, site: str) -> list[str]:
    """The charging hardware installed at a site, as a list of EVSE classes."""
    if site in ("street", "street_untyped"):
        return [rng.choice(["AC22", "AC22", "AC22", "AC11"])] * rng.choice([1, 2, 2])
    if site == "retail":
        ac = [rng.choice(["AC11", "AC22"])] * rng.randint(2, 4)
        return ac + [rng.choice(["DC50", "DC150"])] * rng.choice([0, 0, 1, 2])
    if site in ("garage", "underground"):
        return ["AC11"] * rng.randint(2, 8)
    if site == "motorway":
        hpc = [rng.choice(["DC150", "DC300", "DC300"]) for _ in range(rng.randint(4, 8))]
        legacy = ["DC50"] if rng.random() < 0.3 else []
        trucks = ["TRUCK"] * 2 if rng.random() < 0.3 else []
        return legacy + hpc + trucks
    return ["AC11"] * rng.randint(1, 2)  # hotel


def _connector_specs(rng: random.Random, evse_class: str) -> list[tuple]:
    if evse_class == "AC11":
        return [AC11_CABLE if rng.random() < 0.2 else AC11_SOCKET]
    if evse_class == "AC22":
        return [AC22_SOCKET, SCHUKO] if rng.random() < 0.15 else [AC22_SOCKET]
    if evse_class == "DC50":
        # Classic triple charger: one EVSE, three connectors, one usable at a time.
        return [CCS_50, CHADEMO_50, AC43_CABLE] if rng.random() < 0.6 else [CCS_50, CHADEMO_50]
    if evse_class == "DC150":
        return [CCS_150, CHADEMO_50] if rng.random() < 0.2 else [CCS_150]
    if evse_class == "DC300":
        return [CCS_350 if rng.random() < 0.4 else CCS_300]
    return [CCS_400, MCS_1000]  # TRUCK


def _tariff_ids(site: str, evse_class: str, retail_free_hour: bool) -> list[str]:
    """AD_HOC_PAYMENT tariff first (at most one tariff per TariffType per connector, as 2.3.0 requires)."""
    if evse_class == "TRUCK":
        return [ADHOC_BY_CLASS["TRUCK"]]
    if evse_class.startswith("DC"):
        return [ADHOC_BY_CLASS[evse_class], REGULAR_DC]
    adhoc = ADHOC_RETAIL if retail_free_hour else ADHOC_BY_CLASS[evse_class]
    return [adhoc, REGULAR_AC_NIGHT if site in ("garage", "underground") else REGULAR_AC]


def _capabilities(rng: random.Random, evse_class: str, connectors: list[tuple]) -> list[str]:
    caps = {"RFID_READER", "REMOTE_START_STOP_CAPABLE"}
    if rng.random() < 0.6:
        caps.add("CHARGING_PROFILE_CAPABLE")
    if evse_class.startswith("DC") or evse_class == "TRUCK" or rng.random() < 0.2:
        # AFIR: new DC chargers need a card terminal for ad-hoc payment.
        caps |= {"CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "CONTACTLESS_CARD_SUPPORT"}
        if rng.random() < 0.4:
            caps |= {"CHIP_CARD_SUPPORT", "PED_TERMINAL"}
    if any(c[1] == "SOCKET" for c in connectors):
        caps.add("UNLOCK_CAPABLE")
    if len(connectors) > 1:
        caps.add("START_SESSION_CONNECTOR_REQUIRED")  # OCPP 1.6 box behind it
    if rng.random() < 0.15:
        caps.add("RESERVABLE")
    if rng.random() < 0.1:
        caps.add("TOKEN_GROUP_CAPABLE")
    if evse_class in ("DC300", "TRUCK") and rng.random() < 0.3:
        caps.add("CHARGING_PREFERENCES_CAPABLE")
    return [c for c in CAPABILITY_ORDER if c in caps]


def _build_evses(rng, site, index, country_code, party_id, latitude, longitude, decimals, location_updated, slug):
    number = index + 1
    classes = _evse_classes(rng, site)
    retail_free_hour = site == "retail" and rng.random() < 0.5
    evses, parking_places = [], []
    # Larger car parks reserve their first bay for disabled drivers.
    disabled_bay = site in ("retail", "garage", "underground") and len(classes) >= 3
    for n, evse_class in enumerate(classes, start=1):
        evse_updated = location_updated - (0 if n == 1 else rng.randrange(30 * _DAY))
        specs = _connector_specs(rng, evse_class)
        tariff_ids = _tariff_ids(site, evse_class, retail_free_hour)
        connectors = []
        for c, (standard, fmt, power_type, voltage, amperage, power) in enumerate(specs, start=1):
            connector = {
                "id": str(c),
                "standard": standard,
                "format": fmt,
                "power_type": power_type,
                "max_voltage": voltage,
                "max_amperage": amperage,
                "max_electric_power": power,
                "tariff_ids": list(tariff_ids),
                "terms_and_conditions": f"https://www.{slug}-laden.example/agb",
            }
            if standard == "IEC_62196_T2_COMBO" and rng.random() < 0.4:
                connector["capabilities"] = ["ISO_15118_2_PLUG_AND_CHARGE"]
                if power >= 300000 and rng.random() < 0.5:
                    connector["capabilities"].append("ISO_15118_20_PLUG_AND_CHARGE")
            connector["last_updated"] = ocpi_timestamp(evse_updated - rng.randrange(90 * _DAY))
            connectors.append(connector)

        status = rng.choices(STATUSES, cum_weights=_STATUS_CUM_WEIGHTS)[0]
        evse: dict = {
            "uid": f"{location_id(index)}-{n}",
            "evse_id": f"{country_code}*{party_id}*E{number:06d}*{n}",
            "status": status,
        }
        if status == "PLANNED":
            evse["status_schedule"] = [{"period_begin": "2024-09-01T00:00:00Z", "status": "AVAILABLE"}]
        evse["capabilities"] = _capabilities(rng, evse_class, specs)
        evse["connectors"] = connectors
        if site in ("garage", "underground"):
            evse["floor_level"] = "-1" if site == "underground" else "2"
        if site in ("garage", "underground", "motorway") and rng.random() < 0.5:
            evse["coordinates"] = _geo(latitude + rng.uniform(-0.0003, 0.0003),
                                       longitude + rng.uniform(-0.0003, 0.0003), decimals)
        evse["physical_reference"] = f"LP {n:02d}"

        photo = f"https://img.{slug}-laden.example/parking/{location_id(index)}-{n}.jpg"
        parking, restrictions, position = _parking_place(rng, site, evse_class, n, disabled_bay and n == 1, photo)
        if restrictions:
            evse["parking_restrictions"] = restrictions
        parking_places.append(parking)
        evse["parking"] = [{"parking_id": parking["id"], "evse_position": position}]
        evse["accepted_service_providers"] = rng.sample(SERVICE_PROVIDERS, rng.randint(1, 4))
        evse["last_updated"] = ocpi_timestamp(evse_updated)
        evses.append(evse)
    return evses, parking_places


def _parking_place(rng, site, evse_class, n, disabled, photo_url) -> tuple[dict, list[str], str]:
    """A 2.3.0 Parking object for EVSE ``n``, its EVSE.parking_restrictions and the EVSEPosition."""
    parking: dict = {"id": f"P{n}", "physical_reference": f"{n:02d}"}
    restrictions = ["EV_ONLY"]
    if evse_class == "TRUCK":
        # Dimensions are in cm and kg; they should be given when heavier vehicle types are allowed.
        parking.update({
            "vehicle_types": ["RIGID", "TRUCK_WITH_TRAILER", "SEMI_TRACTOR", "BUS"],
            "max_vehicle_weight": 40000, "max_vehicle_height": 400, "max_vehicle_length": 1875,
            "max_vehicle_width": 255, "parking_space_length": 2500, "parking_space_width": 450,
            "dangerous_goods_allowed": False, "direction": "PARALLEL", "drive_through": True,
            "restricted_to_type": True, "reservation_required": rng.random() < 0.5, "time_limit": 120,
            "roofed": False, "lighting": True, "refrigeration_outlet": rng.random() < 0.5,
        })
        return parking, restrictions, "LEFT"
    if site == "motorway":
        # Pull-through bays so cars with a trailer or a caravan need not unhitch.
        parking.update({
            "vehicle_types": ["PERSONAL_VEHICLE", "PERSONAL_VEHICLE_WITH_TRAILER", "VAN"],
            "max_vehicle_weight": 3500, "max_vehicle_height": 420, "max_vehicle_length": 1800,
            "max_vehicle_width": 255, "parking_space_length": 2000, "parking_space_width": 350,
            "dangerous_goods_allowed": False, "direction": "PARALLEL", "drive_through": True,
            "restricted_to_type": False, "reservation_required": False, "time_limit": 60,
            "roofed": True, "lighting": True,
        })
        return parking, ["EV_ONLY", "PLUGGED"], "RIGHT"
    if disabled:
        # DISABLED is not exempt from the "should be provided" dimension fields (only PERSONAL_VEHICLE and
        # MOTORCYCLE are), so they are all given.
        covered = site != "retail"
        parking.update({
            "vehicle_types": ["DISABLED"], "max_vehicle_weight": 3500, "max_vehicle_height": 200 if covered else 300,
            "max_vehicle_length": 500, "max_vehicle_width": 220, "parking_space_length": 500,
            "parking_space_width": 350, "dangerous_goods_allowed": False, "direction": "PERPENDICULAR",
            "restricted_to_type": True, "reservation_required": False, "roofed": covered, "lighting": True,
            # 2.3.0: at least one photo should be given for parking that lists DISABLED.
            "images": [{"url": photo_url, "category": "LOCATION", "type": "jpeg", "width": 1024, "height": 768}],
            "standards": ["DIN 18040-3"],
        })
        return parking, ["DISABLED"], "CENTER"
    if site in ("street", "street_untyped"):
        parking.update({
            "vehicle_types": ["PERSONAL_VEHICLE"], "parking_space_length": 550, "parking_space_width": 200,
            "direction": "PARALLEL", "restricted_to_type": False, "reservation_required": False,
            "roofed": False, "lighting": True,
        })
        if rng.random() < 0.6:
            parking["time_limit"] = 240  # many cities allow four hours at kerbside chargers
        # Right-hand traffic: kerbside EVSEs are to the right of the car.
        return parking, restrictions, "RIGHT"
    covered = site in ("garage", "underground")
    parking.update({
        "vehicle_types": ["PERSONAL_VEHICLE"], "parking_space_length": 500, "parking_space_width": 250,
        "direction": "PERPENDICULAR", "restricted_to_type": False, "reservation_required": False,
        "roofed": covered, "lighting": True,
    })
    if covered:
        parking["max_vehicle_height"] = 200  # garage clearance
    if site == "retail":
        parking["time_limit"] = 90
        restrictions = ["EV_ONLY", "CUSTOMERS"]
    if site == "hotel":
        restrictions = ["CUSTOMERS"]
    return parking, restrictions, "CENTER"


# ---------------------------------------------------------------------------------------------------------
# Tariffs. German ad-hoc prices are shown to consumers gross (Preisangabenverordnung), so AD_HOC_PAYMENT
# tariffs say tax_included "YES"; contract (REGULAR) prices between businesses are net, tax_included "NO".
# 2.3.0 PriceComponent.price is gross or net according to Tariff.tax_included; vat is the rate in percent.


def _component(dimension: str, price: float, step_size: int = 1, vat: float | None = 19.0) -> dict:
    component = {"type": dimension, "price": price}
    if vat is not None:
        component["vat"] = vat
    component["step_size"] = step_size
    return component


def _blocking_fee(after_seconds: int) -> dict:
    """'Blockiergebühr': from ``after_seconds`` into the session every minute costs, charging or not."""
    return {
        "price_components": [_component("TIME", 6.00, 60), _component("PARKING_TIME", 6.00, 60)],
        "restrictions": {"min_duration": after_seconds},
    }


def make_tariffs(country_code: str = "DE", party_id: str = "ABC") -> list[dict]:
    slug = party_id.lower()
    green = {"is_green_energy": True, "supplier_name": "Nordwind Energie eG", "energy_product_name": "Ökostrom Plus"}
    payment_text = [
        {"language": "de", "text": "Bezahlung per Kredit- oder Debitkarte am Terminal oder per QR-Code."},
        {"language": "en", "text": "Pay by credit or debit card at the terminal or via the QR code."},
    ]

    def tariff(tariff_id, tariff_type, tax_included, elements, updated, **extra) -> dict:
        body = {
            "country_code": country_code,
            "party_id": party_id,
            "id": tariff_id,
            "currency": "EUR",
            "type": tariff_type,
        }
        if tariff_type == "AD_HOC_PAYMENT":
            # 2.3.0: tariff_alt_text must not repeat prices that are in elements; only extra information.
            body["tariff_alt_text"] = payment_text
        body["tariff_alt_url"] = f"https://www.{slug}-laden.example/tarife/{tariff_id.lower()}"
        body.update({k: v for k, v in extra.items() if k in ("min_price", "max_price", "preauthorize_amount")})
        body["elements"] = elements
        body["tax_included"] = tax_included
        body["energy_mix"] = green
        body["last_updated"] = updated
        return body

    energy = lambda price, **restrictions: (  # noqa: E731 - tiny local builder keeps the table readable
        {"price_components": [_component("ENERGY", price)], **({"restrictions": restrictions} if restrictions else {})})

    return [
        tariff("ADHOC-AC11", "AD_HOC_PAYMENT", "YES", [energy(0.59), _blocking_fee(4 * 3600)],
               "2024-02-01T08:00:00Z", preauthorize_amount=30.0),
        tariff("ADHOC-AC22", "AD_HOC_PAYMENT", "YES", [energy(0.59), _blocking_fee(4 * 3600)],
               "2024-02-01T08:00:00Z", preauthorize_amount=30.0),
        tariff("ADHOC-DC50", "AD_HOC_PAYMENT", "YES", [energy(0.69), _blocking_fee(45 * 60)],
               "2024-02-01T08:00:00Z", preauthorize_amount=50.0),
        tariff("ADHOC-DC150", "AD_HOC_PAYMENT", "YES", [energy(0.79), _blocking_fee(60 * 60)],
               "2024-02-01T08:00:00Z", preauthorize_amount=50.0),
        # Night discount: first matching ENERGY element wins, the unrestricted one is the fallback.
        tariff("ADHOC-DC300", "AD_HOC_PAYMENT", "YES",
               [energy(0.69, start_time="22:00", end_time="06:00"), energy(0.79), _blocking_fee(60 * 60)],
               "2024-03-15T08:00:00Z", preauthorize_amount=80.0),
        # Trucks are business customers: net prices, with a minimum charge per session.
        tariff("ADHOC-TRUCK", "AD_HOC_PAYMENT", "NO", [energy(0.55)], "2024-04-01T08:00:00Z",
               min_price={"before_taxes": 5.00, "after_taxes": 5.95}, preauthorize_amount=300.0),
        tariff(ADHOC_RETAIL, "AD_HOC_PAYMENT", "YES",
               [energy(0.00, max_duration=3600), energy(0.49)], "2023-11-20T08:00:00Z", preauthorize_amount=20.0),
        tariff(REGULAR_AC, "REGULAR", "NO",
               [{"price_components": [_component("FLAT", 0.35), _component("ENERGY", 0.42)]}],
               "2024-01-10T08:00:00Z"),
        # Faster charging costs more: the min_power element applies from 100 kW on.
        tariff(REGULAR_DC, "REGULAR", "NO",
               [energy(0.59, min_power=100.0),
                {"price_components": [_component("FLAT", 0.35), _component("ENERGY", 0.49)]}],
               "2024-01-10T08:00:00Z", min_price={"before_taxes": 1.00, "after_taxes": 1.19}),
        tariff(REGULAR_AC_NIGHT, "REGULAR", "NO",
               [energy(0.32, start_time="20:00", end_time="07:00"), energy(0.42),
                {"price_components": [_component("PARKING_TIME", 1.50, 900)],
                 "restrictions": {"start_time": "07:00", "end_time": "20:00"}}],
               "2024-01-10T08:00:00Z", max_price={"before_taxes": 25.00, "after_taxes": 29.75}),
    ]


# ---------------------------------------------------------------------------------------------------------
# Changes after generation (used by the server and by tests)

STATUS_CYCLE = {"AVAILABLE": "CHARGING", "CHARGING": "AVAILABLE"}


def touch_evse_status(location: dict, when: datetime | str, evse_index: int = 0) -> dict:
    """Flip the status of one EVSE and bump last_updated of that EVSE and of the location.

    The Location's last_updated must move too, otherwise a date_from harvest would miss the change
    (mod_locations: "If an EVSE is updated, also the 'parent' Location's last_updated field needs to be updated").
    """
    stamp = when if isinstance(when, str) else ocpi_timestamp(when)
    evse = location["evses"][evse_index]
    evse["status"] = STATUS_CYCLE.get(evse["status"], "AVAILABLE")
    evse["last_updated"] = stamp
    location["last_updated"] = stamp
    return location


def restamp(location: dict, when: datetime | str) -> dict:
    """Give a location and everything inside it the same last_updated (a freshly commissioned site)."""
    stamp = when if isinstance(when, str) else ocpi_timestamp(when)
    for evse in location.get("evses", []):
        for connector in evse.get("connectors", []):
            connector["last_updated"] = stamp
        evse["last_updated"] = stamp
    location["last_updated"] = stamp
    return location


# A roaming hub: several parties' locations in one feed

@dataclass(frozen=True)
class HubParty:
    """One party a demo hub carries: its locations `start` to `start + count` of the fleet
    `generate_fleet` makes for it (a CPO feed of the same party and seed serves 0 to its
    size: the two overlap where the ranges do)."""

    country_code: str
    party_id: str
    count: int
    start: int = 0


#: What a hub's copy of a location may say otherwise than the CPO's own (perturb_location).
PERTURBED_FIELDS = ("status", "power", "coordinates")


def generate_hub_fleet(parties: list[HubParty], seed: int = 1, perturb: float = 0.0) -> Fleet:
    """The locations and tariffs of every carried party, as a hub passes them on. A share
    `perturb` of the locations (chosen by seed) differs from the party's own copy in one of
    PERTURBED_FIELDS (perturb_location), for showing how sources disagree."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        fleet = Fleet()
        chooser = random.Random(f"{seed}/hub-perturb")
        for party in parties:
            for index in range(party.start, party.start + party.count):
                location = make_location(index, seed, party.country_code.upper(), party.party_id.upper())
                if perturb and chooser.random() < perturb:
                    perturb_location(location, PERTURBED_FIELDS[index % len(PERTURBED_FIELDS)])
                fleet.locations.append(location)
            fleet.tariffs.extend(make_tariffs(party.country_code.upper(), party.party_id.upper()))
        return fleet
    finally:
        if collecting:
            gc.enable()


def perturb_location(location: dict, field_name: str) -> dict:
    """Make the hub's copy differ in one field, as relayed data does: the first EVSE's
    status reported later and otherwise ("status"), its first connector's power rounded
    down to a lower class ("power"), or the site placed about 30 m north ("coordinates")."""
    evse = location["evses"][0]
    if field_name == "status":
        evse["status"] = "OUTOFORDER" if evse["status"] != "OUTOFORDER" else "AVAILABLE"
        later = ocpi_timestamp(_parse_stamp(evse["last_updated"]) + 300)
        evse["last_updated"] = later
        location["last_updated"] = max(location["last_updated"], later)
    elif field_name == "power":
        connector = evse["connectors"][0]
        connector["max_electric_power"] = max(1000, int(connector.get("max_electric_power") or 11000) // 2)
    elif field_name == "coordinates":
        coordinates = location["coordinates"]
        coordinates["latitude"] = f"{float(coordinates['latitude']) + 0.00027:.6f}"
    else:
        raise ValueError(f"cannot perturb {field_name!r}; one of {PERTURBED_FIELDS}")
    return location


def _parse_stamp(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
