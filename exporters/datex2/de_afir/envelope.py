"""The JSON around the sites: the profile's `payload` and `messageContainer`, written in two
halves around a streamed array, so that a national table is never held in memory."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import BinaryIO, TYPE_CHECKING

import orjson

from exporters.datex2 import ocpi
from exporters.datex2.publication import utc

if TYPE_CHECKING:  # annotations only: the export's child processes do without pydantic-settings
    from nap.config import Settings

PROFILE_NAME = "AFIR Energy Infrastructure"
PROFILE_VERSION = "01-00-00"
MODEL_BASE_VERSION = "3"
# The language of the publication, and of every text whose language OCPI does not state
# (names, addresses): the profile requires one on each text, and this is Germany's profile.
LANGUAGE = "de"
# DATEX II exchange: the version of the exchange specification the profile's example names.
EXCHANGE_SPECIFICATION_VERSION = "3.0"
SNAPSHOT, DELTA = "snapshotPush", "deltaPush"

_MARKER = f"nap-items-{secrets.token_hex(8)}"


def timestamp(moment: datetime) -> str:
    return ocpi.xml_datetime(utc(moment))


def payload_header(settings: Settings, now: datetime) -> dict:
    """What a table and a status publication both begin with."""
    return {
        "lang": LANGUAGE,
        "publicationTime": timestamp(now),
        "publicationCreator": {"country": (ocpi.text(settings.country_code, 2) or "").upper(),
                               "nationalIdentifier": ocpi.text(settings.party_id) or ""},
        "headerInformation": {"confidentiality": {"value": "noRestriction"}, "informationStatus": {"value": "real"}},
    }


def payload(publication_key: str, publication: dict) -> dict:
    return {"modelBaseVersionG": MODEL_BASE_VERSION, "profileNameG": PROFILE_NAME,
            "profileVersionG": PROFILE_VERSION, publication_key: publication}


def exchange_information(settings: Settings, now: datetime, protocol: str) -> dict:
    """The messageContainer's exchangeInformation: a complete snapshot or a delta, supplied
    by this NAP (its party, name and address)."""
    return {
        "exchangeContext": {
            "codedExchangeProtocol": {"value": protocol},
            "exchangeSpecificationVersion": EXCHANGE_SPECIFICATION_VERSION,
            "supplierOrCisRequester": {
                "name": ocpi.text(settings.operator_name) or "NAP",
                "serviceURL": settings.public_base_url,
                "internationalIdentifier": {"country": (ocpi.text(settings.country_code, 2) or "").upper(),
                                            "nationalIdentifier": ocpi.text(settings.party_id) or ""},
            },
        },
        "dynamicInformation": {"exchangeStatus": {"value": "online"}, "messageGenerationTimestamp": timestamp(now)},
    }


_LATER = f"nap-later-{secrets.token_hex(8)}"


def items() -> list[str]:
    """The place holder of the streamed array in a document given to `streamed`."""
    return [_MARKER]


def later() -> str:
    """The place holder of a value known once the items are written (`streamed`'s `later`);
    it must come after the items() list in the document."""
    return _LATER


@contextmanager
def streamed(out: BinaryIO, document: dict,
             later: Callable[[], object] | None = None) -> Iterator[Callable[[bytes], None]]:
    """Write `document` to `out`, with the one list made by items() filled by the serialised
    items handed to the yielded function, one at a time, and the value later() stands for,
    if any, made by `later` once they are all written."""
    head, marker, tail = orjson.dumps(document).partition(orjson.dumps(_MARKER))
    if not marker:
        raise ValueError("the document holds no items() list")
    if (orjson.dumps(_LATER) in tail) != (later is not None):
        raise ValueError("later() and its value go together, after the items() list")
    out.write(head)
    first = True

    def write(item: bytes) -> None:
        nonlocal first
        if not first:
            out.write(b",")
        first = False
        out.write(item)

    yield write
    out.write(tail.replace(orjson.dumps(_LATER), orjson.dumps(later())) if later is not None else tail)
