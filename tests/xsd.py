"""Validate a DATEX II document against the official 3.7 XSDs (DATEXII_3_D2Payload.xsd)
in ../shared (tests.conftest.DATEX2_XSD_DIR). Schemas are read offline: every
schemaLocation in the set is local."""
from __future__ import annotations

import functools
import os
import threading

from lxml import etree

from tests.conftest import DATEX2_XSD_DIR

ENTRY_POINT = "DATEXII_3_D2Payload.xsd"
# lxml schema objects keep their error log on the instance: one validation at a time.
_lock = threading.Lock()


def _parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True)


@functools.lru_cache(maxsize=1)
def load_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATEX2_XSD_DIR / ENTRY_POINT), _parser()))


def validate(path_or_bytes: str | os.PathLike | bytes) -> list[str]:
    """Schema errors as "line N: message"; an empty list means valid."""
    try:
        if isinstance(path_or_bytes, (bytes, bytearray)):
            document = etree.fromstring(bytes(path_or_bytes), _parser()).getroottree()
        else:
            document = etree.parse(os.fspath(path_or_bytes), _parser())
    except (etree.XMLSyntaxError, OSError) as error:
        return [f"not well-formed: {error}"]
    schema = load_schema()
    with _lock:
        if schema.validate(document):
            return []
        return [f"line {entry.line}: {entry.message}" for entry in schema.error_log]
