"""A normalized object turned into the values of its rows: for a Location its location,
EVSE and connector rows, for a Tariff its one row (JSON texts, content hash, parsed times).
Pure computation, no database: the writer (nap/store/writer.py) plans and inserts what this
gives. Both take what the normalizer gives (harvesters/normalize: the 2.3.0 document and
the object as served, each as JSON text).

A Location is stored as three layers so that an EVSE status update touches one small row;
each EVSE's and connector's `position` keeps the CPO's order.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import NamedTuple, Union

from nap.jsonutil import canonical_bytes, dumps_text, loads_exact
from nap.ocpi.values import parse_datetime


def content_hash(document: dict) -> str:
    """Equal documents, equal hashes: a harvest compares it to skip unchanged objects."""
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


class ConnectorRow(NamedTuple):
    ocpi_id: str
    standard: str
    power_type: str
    max_electric_power: int | None
    data: str  # JSON text of the connector


class EvseRow(NamedTuple):
    uid: str
    evse_id: str | None
    status: str
    last_updated: datetime
    data: str  # JSON text of the EVSE without its connectors
    connectors: tuple[ConnectorRow, ...]


class PreparedLocation(NamedTuple):
    key: tuple[str, str, str]  # country_code, party_id, id
    content_hash: str
    publish: bool
    latitude: float
    longitude: float
    last_updated: datetime
    data: str  # JSON text of the location without its EVSEs
    raw: str  # JSON text of the object as the CPO sent it
    evses: tuple[EvseRow, ...]


class PreparedTariff(NamedTuple):
    key: tuple[str, str, str]  # country_code, party_id, id
    content_hash: str
    last_updated: datetime
    data: str  # JSON text of the tariff
    raw: str  # JSON text of the object as the CPO sent it


Prepared = Union[PreparedLocation, PreparedTariff]


def prepare(kind: str, document: bytes, raw: bytes) -> Prepared:
    """`document`: a normalized 2.3.0 Location or Tariff; `raw`: the object as served."""
    return (prepare_location if kind == "location" else prepare_tariff)(document, raw)


def prepare_tariff(document: bytes, raw: bytes) -> PreparedTariff:
    tariff = loads_exact(document)
    return PreparedTariff(
        key=(tariff["country_code"], tariff["party_id"], tariff["id"]),
        content_hash=content_hash(tariff),
        last_updated=parse_datetime(tariff["last_updated"]),
        data=document.decode(),
        raw=raw.decode(),
    )


def prepare_location(text: bytes, raw: bytes) -> PreparedLocation:
    return prepare_location_document(loads_exact(text), raw)


def prepare_location_document(document: dict, raw: bytes) -> PreparedLocation:
    """prepare_location of a document already decoded (a merge's, nap/store/sources.py)."""
    location = {key: value for key, value in document.items() if key != "evses"}
    evses = []
    for evse in document.get("evses") or []:
        connectors = tuple(
            ConnectorRow(c["id"], c["standard"], c["power_type"], c.get("max_electric_power"), dumps_text(c))
            for c in evse.get("connectors") or ())
        without_connectors = {key: value for key, value in evse.items() if key != "connectors"}
        evses.append(EvseRow(evse["uid"], evse.get("evse_id"), evse["status"], parse_datetime(evse["last_updated"]),
                             dumps_text(without_connectors), connectors))
    coordinates = document["coordinates"]
    return PreparedLocation(
        key=(document["country_code"], document["party_id"], document["id"]),
        content_hash=content_hash(document),
        publish=document["publish"],
        latitude=float(coordinates["latitude"]),
        longitude=float(coordinates["longitude"]),
        last_updated=parse_datetime(document["last_updated"]),
        data=dumps_text(location),
        raw=raw.decode(),
        evses=tuple(evses),
    )
