"""Where a country's chargers can be: rough bounding boxes (with overseas parts as boxes of
their own) of the countries AFIR covers and their neighbours, keyed by ISO 3166 alpha-3 as
in OCPI `Location.country`.

Boxes over-approximate a country (they include bits of its neighbours and the sea), so a
point outside its box is certainly misplaced, while a point inside may still be wrong:
the rule using them reports only the certain cases.
"""
from __future__ import annotations

# alpha-3 -> [(min_lat, max_lat, min_lon, max_lon), ...]
COUNTRY_BOXES: dict[str, list[tuple[float, float, float, float]]] = {
    "AUT": [(46.3, 49.1, 9.5, 17.2)],
    "BEL": [(49.4, 51.6, 2.5, 6.5)],
    "BGR": [(41.2, 44.3, 22.3, 28.7)],
    "HRV": [(42.3, 46.6, 13.4, 19.5)],
    "CYP": [(34.5, 35.8, 32.2, 34.7)],
    "CZE": [(48.5, 51.1, 12.0, 18.9)],
    "DNK": [(54.5, 57.8, 8.0, 15.2)],
    "EST": [(57.5, 59.8, 21.7, 28.3)],
    "FIN": [(59.7, 70.1, 19.0, 31.6)],
    "FRA": [(41.3, 51.1, -5.2, 9.6),      # metropolitan France and Corsica
            (15.8, 16.6, -61.9, -61.0),   # Guadeloupe
            (14.3, 14.9, -61.3, -60.8),   # Martinique
            (2.1, 5.8, -54.6, -51.6),     # French Guiana
            (-21.4, -20.8, 55.2, 55.9),   # La Réunion
            (-13.1, -12.6, 45.0, 45.3)],  # Mayotte
    "DEU": [(47.2, 55.1, 5.8, 15.1)],
    "GRC": [(34.8, 41.8, 19.3, 29.7)],
    "HUN": [(45.7, 48.6, 16.1, 22.9)],
    "IRL": [(51.4, 55.4, -10.7, -5.9)],
    "ITA": [(35.4, 47.1, 6.6, 18.6)],
    "LVA": [(55.6, 58.1, 20.9, 28.3)],
    "LTU": [(53.8, 56.5, 20.9, 26.9)],
    "LUX": [(49.4, 50.2, 5.7, 6.6)],
    "MLT": [(35.8, 36.1, 14.1, 14.6)],
    "NLD": [(50.7, 53.6, 3.3, 7.3),
            (12.0, 17.7, -68.5, -62.9)],  # Caribbean Netherlands
    "POL": [(49.0, 54.9, 14.1, 24.2)],
    "PRT": [(36.9, 42.2, -9.6, -6.1),
            (32.4, 33.2, -17.3, -16.2),   # Madeira
            (36.9, 39.8, -31.3, -24.9)],  # Azores
    "ROU": [(43.6, 48.3, 20.2, 29.8)],
    "SVK": [(47.7, 49.7, 16.8, 22.6)],
    "SVN": [(45.4, 46.9, 13.3, 16.6)],
    "ESP": [(35.9, 43.8, -9.4, 4.4),      # mainland and the Balearic Islands
            (27.6, 29.5, -18.2, -13.3),   # Canary Islands
            (35.2, 35.95, -5.4, -2.9)],   # Ceuta and Melilla
    "SWE": [(55.3, 69.1, 10.9, 24.2)],
    "NOR": [(57.9, 71.2, 4.5, 31.2)],
    "ISL": [(63.3, 66.6, -24.6, -13.4)],
    "LIE": [(47.0, 47.3, 9.47, 9.64)],
    "CHE": [(45.8, 47.9, 5.9, 10.5)],
    "GBR": [(49.8, 60.9, -8.7, 1.8)],
}

# Coordinates are compared with this tolerance (degrees): rounding and boxes drawn tight.
MARGIN = 0.05


def inside_country(country: str, latitude: float, longitude: float) -> bool | None:
    """True or False for a known country; None when we have no box for it."""
    boxes = COUNTRY_BOXES.get(str(country).upper())
    if not boxes:
        return None
    return any(min_lat - MARGIN <= latitude <= max_lat + MARGIN and min_lon - MARGIN <= longitude <= max_lon + MARGIN
               for min_lat, max_lat, min_lon, max_lon in boxes)


def country_box(country: str) -> tuple[float, float, float, float] | None:
    """The main box of a country (min_lat, max_lat, min_lon, max_lon), e.g. to centre a map."""
    boxes = COUNTRY_BOXES.get(str(country).upper())
    return boxes[0] if boxes else None
