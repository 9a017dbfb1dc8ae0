"""Validate a DATEX II document against the official 3.7 XSDs (DATEXII_3_D2Payload.xsd).

The XSD folder is $NAP_DATEX2_XSD_DIR, else the `shared/spec/datex2-3.7` folder found by
walking up from this file (the repository clone and `shared/` sit side by side, wherever
the clone lives). Schemas are read offline: every schemaLocation in the set is local.
"""
from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

from lxml import etree

ENTRY_POINT = "DATEXII_3_D2Payload.xsd"
_SPEC_FOLDER = Path("shared") / "spec" / "datex2-3.7"
# lxml schema objects keep their error log on the instance: one validation at a time.
_lock = threading.Lock()


def xsd_dir() -> Path:
    configured = os.environ.get("NAP_DATEX2_XSD_DIR")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / _SPEC_FOLDER
        if (candidate / ENTRY_POINT).is_file():
            return candidate
    raise FileNotFoundError(f"no {_SPEC_FOLDER} above {Path(__file__).parent}; set NAP_DATEX2_XSD_DIR")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True)


@functools.lru_cache(maxsize=1)
def load_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(xsd_dir() / ENTRY_POINT), _parser()))


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
