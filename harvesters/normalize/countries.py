"""Country facts the repairs need: ISO 3166 alpha-2 -> alpha-3 for the countries AFIR
covers and their neighbours, and the IANA time zone of countries that have only one."""

ALPHA2_TO_ALPHA3 = {
    "AT": "AUT", "BE": "BEL", "BG": "BGR", "HR": "HRV", "CY": "CYP", "CZ": "CZE", "DK": "DNK",
    "EE": "EST", "FI": "FIN", "FR": "FRA", "DE": "DEU", "GR": "GRC", "HU": "HUN", "IE": "IRL",
    "IT": "ITA", "LV": "LVA", "LT": "LTU", "LU": "LUX", "MT": "MLT", "NL": "NLD", "PL": "POL",
    "PT": "PRT", "RO": "ROU", "SK": "SVK", "SI": "SVN", "ES": "ESP", "SE": "SWE", "CH": "CHE",
    "NO": "NOR", "IS": "ISL", "LI": "LIE", "GB": "GBR", "TR": "TUR", "UA": "UKR", "RS": "SRB",
    "AL": "ALB", "BA": "BIH", "ME": "MNE", "MK": "MKD", "MD": "MDA", "AD": "AND", "MC": "MCO",
    "SM": "SMR",
}

# Countries with a single IANA zone; elsewhere (PRT, ESP: islands) the CPO has to say.
SINGLE_TIME_ZONE = {
    "AUT": "Europe/Vienna", "BEL": "Europe/Brussels", "BGR": "Europe/Sofia", "HRV": "Europe/Zagreb",
    "CZE": "Europe/Prague", "DNK": "Europe/Copenhagen", "EST": "Europe/Tallinn",
    "FIN": "Europe/Helsinki", "FRA": "Europe/Paris", "DEU": "Europe/Berlin", "GRC": "Europe/Athens",
    "HUN": "Europe/Budapest", "IRL": "Europe/Dublin", "ITA": "Europe/Rome", "LVA": "Europe/Riga",
    "LTU": "Europe/Vilnius", "LUX": "Europe/Luxembourg", "MLT": "Europe/Malta",
    "NLD": "Europe/Amsterdam", "POL": "Europe/Warsaw", "ROU": "Europe/Bucharest",
    "SVK": "Europe/Bratislava", "SVN": "Europe/Ljubljana", "SWE": "Europe/Stockholm",
    "CHE": "Europe/Zurich", "NOR": "Europe/Oslo", "GBR": "Europe/London", "ISL": "Atlantic/Reykjavik",
    "TUR": "Europe/Istanbul", "CYP": "Asia/Nicosia", "LIE": "Europe/Vaduz",
}
